// Importers for models users already have. Each produces a validated Model whose predictions
// equal the originating library's (tests compare against the library's own outputs).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "slipway/core/status.h"
#include "slipway/model/model.h"

namespace slipway::model {

enum class SourceFormat { kAuto, kXgboostJson, kXgboostUbjson, kLightgbmText, kOnnx, kBundle };
const char* source_format_name(SourceFormat f);
Result<SourceFormat> parse_source_format(std::string_view name);  // "xgboost", "xgboost-ubj", "lightgbm", "onnx", "bundle"
// From the magic bytes / first characters; kAuto when unknown.
SourceFormat detect_format(std::string_view bytes);

Result<Model> import_xgboost_json(std::string_view text, const std::string& source_name);
Result<Model> import_xgboost_ubjson(std::string_view bytes, const std::string& source_name);
Result<Model> import_lightgbm_text(std::string_view text, const std::string& source_name);
Result<Model> import_onnx(std::string_view bytes, const std::string& source_name);

// Reads the file, detects (or uses the given) format, imports, fills provenance (source file,
// SHA-256, producer), validates.
Result<Model> import_model(const std::filesystem::path& path, SourceFormat format = SourceFormat::kAuto);

}  // namespace slipway::model
