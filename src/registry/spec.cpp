// Model specs ("NAME@ALIAS", "NAME/N", "NAME") and the naming rules for models and aliases.
#include <charconv>

#include "slipway/registry/registry.h"

namespace slipway::registry {

inline constexpr size_t kMaxNameBytes = 256;
inline constexpr size_t kMaxAliasBytes = 255;

Status validate_model_name(std::string_view name) {
  if (name.empty()) return make_error(ErrorCode::kInvalidArgument, "model name must not be empty");
  if (name.size() > kMaxNameBytes) {
    return make_error(ErrorCode::kInvalidArgument, "model name '{}...' is {} bytes; the limit is {}",
                      name.substr(0, 32), name.size(), kMaxNameBytes);
  }
  for (char c : name) {
    if (c == '/' || c == '@') {
      return make_error(ErrorCode::kInvalidArgument,
                        "invalid model name '{}': names must not contain '/' or '@' (they separate the version "
                        "and the alias: NAME/N, NAME@ALIAS)",
                        name);
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return make_error(ErrorCode::kInvalidArgument, "invalid model name '{}': names must not contain control characters",
                        name);
    }
  }
  if (name.front() == ' ' || name.back() == ' ') {
    return make_error(ErrorCode::kInvalidArgument, "invalid model name '{}': names must not start or end with a space",
                      name);
  }
  return {};
}

Status validate_alias(std::string_view alias) {
  if (alias.empty()) return make_error(ErrorCode::kInvalidArgument, "alias must not be empty");
  if (alias.size() > kMaxAliasBytes) {
    return make_error(ErrorCode::kInvalidArgument, "alias '{}...' is {} bytes; the limit is {}", alias.substr(0, 32),
                      alias.size(), kMaxAliasBytes);
  }
  for (char c : alias) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) {
      return make_error(ErrorCode::kInvalidArgument,
                        "invalid alias '{}': aliases may contain only letters, digits, '_' and '-'", alias);
    }
  }
  if (alias == "latest") {
    return make_error(ErrorCode::kInvalidArgument,
                      "invalid alias 'latest': it is reserved (NAME@latest means the latest version that is not "
                      "archived)");
  }
  if (alias.size() > 1 && (alias[0] == 'v' || alias[0] == 'V') &&
      alias.find_first_not_of("0123456789", 1) == std::string_view::npos) {
    return make_error(ErrorCode::kInvalidArgument,
                      "invalid alias '{}': aliases of the form v<number> are reserved for versions", alias);
  }
  return {};
}

Result<ModelSpec> parse_model_spec(std::string_view spec) {
  ModelSpec out;
  const size_t at = spec.rfind('@');
  const size_t slash = spec.rfind('/');
  if (at != std::string_view::npos) {
    out.name = std::string(spec.substr(0, at));
    std::string alias(spec.substr(at + 1));
    if (Status s = validate_model_name(out.name); !s.ok()) return s.with_context(fmt::format("in '{}'", spec));
    if (alias != "latest") {
      if (Status s = validate_alias(alias); !s.ok()) return s.with_context(fmt::format("in '{}'", spec));
      out.alias = std::move(alias);
    }
    return out;
  }
  if (slash != std::string_view::npos) {
    out.name = std::string(spec.substr(0, slash));
    std::string_view number = spec.substr(slash + 1);
    if (Status s = validate_model_name(out.name); !s.ok()) return s.with_context(fmt::format("in '{}'", spec));
    int64_t version = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), version);
    if (number.empty() || ec != std::errc() || end != number.data() + number.size() || version <= 0) {
      return make_error(ErrorCode::kInvalidArgument, "model version '{}' in '{}' is not a positive integer", number,
                        spec);
    }
    out.version = version;
    return out;
  }
  out.name = std::string(spec);
  SLIPWAY_RETURN_IF_ERROR(validate_model_name(out.name));
  return out;
}

std::string spec_text(const ModelSpec& spec) {
  if (spec.alias) return spec.name + "@" + *spec.alias;
  if (spec.version) return fmt::format("{}/{}", spec.name, *spec.version);
  return spec.name;
}

}  // namespace slipway::registry
