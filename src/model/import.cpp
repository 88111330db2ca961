// Format detection and the import_model front door: read the file, pick the importer, record where
// the model came from (provenance), validate.
#include <chrono>

#include <fmt/chrono.h>
#include <string>

#include "slipway/core/fs.h"
#include "slipway/core/hash.h"
#include "slipway/model/bundle.h"
#include "slipway/model/importers.h"

namespace slipway::model {


const char* source_format_name(SourceFormat f) {
  switch (f) {
    case SourceFormat::kAuto: return "auto";
    case SourceFormat::kXgboostJson: return "xgboost";
    case SourceFormat::kXgboostUbjson: return "xgboost-ubj";
    case SourceFormat::kLightgbmText: return "lightgbm";
    case SourceFormat::kOnnx: return "onnx";
    case SourceFormat::kBundle: return "bundle";
  }
  return "unknown";
}

Result<SourceFormat> parse_source_format(std::string_view name) {
  if (name == "auto") return SourceFormat::kAuto;
  if (name == "xgboost" || name == "xgboost-json") return SourceFormat::kXgboostJson;
  if (name == "xgboost-ubj" || name == "xgboost-ubjson" || name == "ubj") return SourceFormat::kXgboostUbjson;
  if (name == "lightgbm" || name == "lightgbm-text") return SourceFormat::kLightgbmText;
  if (name == "onnx") return SourceFormat::kOnnx;
  if (name == "bundle") return SourceFormat::kBundle;
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown model format '{}' (expected one of: auto, xgboost, xgboost-ubj, lightgbm, onnx, bundle)", name);
}

SourceFormat detect_format(std::string_view bytes) {
  if (bytes.starts_with("SLWMODEL")) return SourceFormat::kBundle;
  // UBJSON: '{' then the first key's length marker (or an optimized container's '$' / '#').
  if (bytes.size() >= 2 && bytes[0] == '{') {
    const char c = bytes[1];
    if (c == 'i' || c == 'U' || c == 'I' || c == 'l' || c == 'L' || c == '$' || c == '#') {
      return SourceFormat::kXgboostUbjson;
    }
  }
  std::string_view text = bytes;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text[first] == '{') return SourceFormat::kXgboostJson;
  if (text == "tree" || text.starts_with("tree\n") || text.starts_with("tree\r\n")) return SourceFormat::kLightgbmText;
  // ONNX ModelProto: protobuf writes field 1 (ir_version, a small varint) first.
  if (bytes.size() >= 2 && static_cast<uint8_t>(bytes[0]) == 0x08 && static_cast<uint8_t>(bytes[1]) < 0x80) {
    return SourceFormat::kOnnx;
  }
  return SourceFormat::kAuto;
}

namespace {

std::string utc_now_iso8601() {
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::chrono::system_clock::to_time_t(now)));
}

}  // namespace

Result<Model> import_model(const std::filesystem::path& path, SourceFormat format) {
  const std::string source = path.string();
  SLIPWAY_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  if (format == SourceFormat::kAuto) {
    format = detect_format(bytes);
    if (format == SourceFormat::kAuto) {
      return make_error(ErrorCode::kInvalidArgument,
                        "{}: cannot tell the model format from its first bytes (give it: xgboost, xgboost-ubj, "
                        "lightgbm, onnx or bundle)",
                        source);
    }
  }
  if (format == SourceFormat::kBundle) {
    // A bundle already carries its own provenance; the file just read is parsed, not re-read.
    return parse_bundle(bytes, source);
  }
  Result<Model> imported = [&]() -> Result<Model> {
    switch (format) {
      case SourceFormat::kXgboostJson: return import_xgboost_json(bytes, source);
      case SourceFormat::kXgboostUbjson: return import_xgboost_ubjson(bytes, source);
      case SourceFormat::kLightgbmText: return import_lightgbm_text(bytes, source);
      case SourceFormat::kOnnx: return import_onnx(bytes, source);
      default: return make_error(ErrorCode::kInternal, "{}: no importer for format {}", source, source_format_name(format));
    }
  }();
  if (!imported.ok()) return imported.status();
  Model model = std::move(imported).value();
  Provenance& p = model.provenance;
  p.source_file = source;
  p.source_sha256 = sha256_hex(bytes);
  if (p.producer.empty()) p.producer = std::string("import:") + source_format_name(format);
  if (p.created_at.empty()) p.created_at = utc_now_iso8601();
  SLIPWAY_RETURN_IF_ERROR(validate_model(model).with_context(source));
  return model;
}

}  // namespace slipway::model
