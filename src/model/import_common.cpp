// Helpers shared by the XGBoost and LightGBM importers (declared in detail/import_common.h).
#include "detail/import_common.h"

#include <cstdint>
#include <string>

namespace slipway::model::detail {

void set_outputs(Model& model, size_t n_classes) {
  model.class_labels.clear();
  model.output_names.clear();
  switch (model.task) {
    case Task::kRegression:
      model.output_names = {"value"};
      break;
    case Task::kBinary:
      model.class_labels = {"0", "1"};
      model.output_names = {"probability"};
      break;
    case Task::kMulticlass:
      for (size_t k = 0; k < n_classes; ++k) {
        model.class_labels.push_back(std::to_string(k));
        model.output_names.push_back("prob_" + std::to_string(k));
      }
      break;
  }
}

InputColumn numeric_input(std::string name) {
  InputColumn input;
  input.name = std::move(name);
  input.kind = InputKind::kNumeric;
  return input;
}

size_t invalid_utf8_at(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<uint8_t>(text[i]);
    size_t len = 0;
    uint32_t min = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, min = 0x10000;
    } else {
      return i;
    }
    if (i + len > text.size()) return i;
    uint32_t code = c & (0xFF >> (len + 1));
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<uint8_t>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      code = (code << 6) | (cc & 0x3F);
    }
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

}  // namespace slipway::model::detail
