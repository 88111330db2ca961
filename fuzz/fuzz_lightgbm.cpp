// Feeds arbitrary bytes to the LightGBM text importer: any input must give a model that validates
// or a clean error, never a crash, a hang or an unbounded allocation.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "slipway/model/importers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto model = slipway::model::import_lightgbm_text(text, "fuzz.txt");
  if (model.ok() && !slipway::model::validate_model(*model).ok()) __builtin_trap();
  return 0;
}
