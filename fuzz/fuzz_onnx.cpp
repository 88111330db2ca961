// Feeds arbitrary bytes to the ONNX importer; whatever it accepts must validate and export again.
// Corpus: fuzz/corpus/onnx (the golden skl2onnx / onnx.helper models).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "slipway/model/exporters.h"
#include "slipway/model/importers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto model = slipway::model::import_onnx(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.onnx");
  if (!model.ok()) return 0;
  if (!slipway::model::validate_model(*model).ok()) __builtin_trap();
  auto bytes = slipway::model::export_onnx(*model);
  if (!bytes.ok()) return 0;
  auto back = slipway::model::import_onnx(*bytes, "fuzz-export.onnx");
  if (back.ok() && back->n_features() != model->n_features()) __builtin_trap();
  return 0;
}
