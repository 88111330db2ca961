// Feeds arbitrary bytes to the XGBoost JSON and UBJSON importers: any input must give a model
// that validates or a clean error, never a crash, a hang or an unbounded allocation.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "slipway/model/importers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (auto import : {&slipway::model::import_xgboost_json, &slipway::model::import_xgboost_ubjson}) {
    auto model = import(bytes, "fuzz.json");
    if (model.ok() && !slipway::model::validate_model(*model).ok()) __builtin_trap();
  }
  return 0;
}
