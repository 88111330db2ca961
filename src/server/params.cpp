#include "detail/params.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace slipway::server::detail {

namespace {

std::string describe(const nlohmann::json& value) {
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

const char* type_word(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::null: return "null";
    default: return "a number";
  }
}

// nlohmann's parse errors read "[json.exception.parse_error.101] parse error at line 1, column 2: what";
// keep "line 1, column 2: what".
std::string parse_error_text(const std::string& what) {
  size_t at = what.find("at line ");
  if (at == std::string::npos) return what;
  return what.substr(at + 3);
}

}  // namespace

Status missing_value(std::string_view path) {
  return make_error(ErrorCode::kInvalidArgument, "Missing value for required parameter '{}'.", path);
}

std::optional<int64_t> parse_int64(std::string_view text) {
  int64_t value = 0;
  if (text.empty()) return std::nullopt;
  const char* begin = text.data();
  if (*begin == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<double> parse_double(std::string_view text) {
  if (text == "NaN" || text == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (text == "Infinity" || text == "inf" || text == "+Infinity") return std::numeric_limits<double>::infinity();
  if (text == "-Infinity" || text == "-inf") return -std::numeric_limits<double>::infinity();
  if (text.empty()) return std::nullopt;
  double value = 0;
  const char* begin = text.data();
  if (*begin == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

Params::Params(nlohmann::json object) {
  auto root = std::make_shared<const nlohmann::json>(std::move(object));
  object_ = root.get();
  root_ = std::move(root);
}

Result<Params> Params::from_json_text(std::string_view text) {
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return Params(nlohmann::json::object());
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(text);
    // Old MLflow clients send the JSON document as a JSON string.
    if (parsed.is_string()) parsed = nlohmann::json::parse(parsed.get_ref<const std::string&>());
  } catch (const nlohmann::json::parse_error& e) {
    return make_error(ErrorCode::kParseError, "Malformed JSON in the request body at {}", parse_error_text(e.what()));
  } catch (const nlohmann::json::out_of_range& e) {
    // A number beyond double's range (1e400): nlohmann throws out_of_range, not parse_error.
    std::string what = e.what();
    size_t bracket = what.find("] ");
    return make_error(ErrorCode::kParseError, "Malformed JSON in the request body: {}",
                      bracket == std::string::npos ? what : what.substr(bracket + 2));
  }
  if (!parsed.is_object()) {
    return make_error(ErrorCode::kInvalidArgument, "Invalid request body: expected a JSON object, got {}",
                      type_word(parsed));
  }
  return Params(std::move(parsed));
}

Result<Params> Params::from_request(const Request& request) {
  bool query_method = request.method == Method::kGet || request.method == Method::kDelete ||
                      request.method == Method::kHead;
  if (query_method && !request.query.empty()) {
    nlohmann::json object = nlohmann::json::object();
    for (auto& [key, value] : parse_query(request.query)) {
      auto it = object.find(key);
      if (it == object.end()) {
        object.emplace(key, std::move(value));
      } else {
        if (!it->is_array()) *it = nlohmann::json::array({*it});
        it->push_back(std::move(value));
      }
    }
    return Params(std::move(object));
  }
  return from_json_text(request.body);
}

const nlohmann::json* Params::find(std::string_view name) const {
  auto it = object_->find(name);
  if (it == object_->end() || it->is_null()) return nullptr;
  return &*it;
}

bool Params::has(std::string_view name) const { return find(name) != nullptr; }

Status Params::invalid(std::string_view name, const nlohmann::json& value, std::string_view expected) const {
  return make_error(ErrorCode::kInvalidArgument, "Invalid value {} for parameter '{}' supplied: expected {}, got {}",
                    describe(value), path(name), expected, type_word(value));
}

Result<std::optional<std::string>> Params::optional_string(std::string_view name) const {
  const auto* v = find(name);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return invalid(name, *v, "a string");
  return std::optional<std::string>(v->get<std::string>());
}

Result<std::string> Params::required_string(std::string_view name) const {
  SLIPWAY_ASSIGN_OR_RETURN(auto value, optional_string(name));
  if (!value || value->empty()) return missing_value(path(name));
  return std::move(*value);
}

Result<std::optional<int64_t>> Params::optional_int64(std::string_view name) const {
  const auto* v = find(name);
  if (v == nullptr) return std::optional<int64_t>();
  if (v->is_number_integer() && !v->is_number_unsigned()) return std::optional<int64_t>(v->get<int64_t>());
  if (v->is_number_unsigned()) {
    uint64_t u = v->get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return std::optional<int64_t>(static_cast<int64_t>(u));
    }
  } else if (v->is_number_float()) {
    double d = v->get<double>();
    if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.2e18) {
      return std::optional<int64_t>(static_cast<int64_t>(d));
    }
  } else if (v->is_string()) {
    const auto& text = v->get_ref<const std::string&>();
    if (text.empty()) return std::optional<int64_t>();
    if (auto parsed = parse_int64(text)) return std::optional<int64_t>(*parsed);
  }
  return invalid(name, *v, "an integer");
}

Result<int64_t> Params::required_int64(std::string_view name) const {
  SLIPWAY_ASSIGN_OR_RETURN(auto value, optional_int64(name));
  if (!value) return missing_value(path(name));
  return *value;
}

Result<double> Params::required_double(std::string_view name) const {
  const auto* v = find(name);
  if (v == nullptr) return missing_value(path(name));
  if (v->is_number()) return v->get<double>();
  if (v->is_string()) {
    if (auto parsed = parse_double(v->get_ref<const std::string&>())) return *parsed;
  }
  return invalid(name, *v, "a number");
}

Result<std::optional<bool>> Params::optional_bool(std::string_view name) const {
  const auto* v = find(name);
  if (v == nullptr) return std::optional<bool>();
  if (v->is_boolean()) return std::optional<bool>(v->get<bool>());
  if (v->is_string()) {
    const auto& text = v->get_ref<const std::string&>();
    if (text == "true") return std::optional<bool>(true);
    if (text == "false") return std::optional<bool>(false);
  }
  return invalid(name, *v, "true or false");
}

Result<std::vector<Params>> Params::objects(std::string_view name) const {
  std::vector<Params> out;
  const auto* v = find(name);
  if (v == nullptr) return out;
  if (!v->is_array()) return invalid(name, *v, "an array");
  out.reserve(v->size());
  for (size_t i = 0; i < v->size(); ++i) {
    const auto& element = (*v)[i];
    std::string element_path = fmt::format("{}[{}]", path(name), i);
    if (!element.is_object()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "Invalid value {} for parameter '{}' supplied: expected an object, got {}", describe(element),
                        element_path, type_word(element));
    }
    out.push_back(Params(root_, &element, element_path + "."));
  }
  return out;
}

Result<std::optional<Params>> Params::object(std::string_view name) const {
  const auto* v = find(name);
  if (v == nullptr) return std::optional<Params>();
  if (!v->is_object()) return invalid(name, *v, "an object");
  return std::optional<Params>(Params(root_, v, path(name) + "."));
}

Result<std::vector<std::string>> Params::strings(std::string_view name) const {
  std::vector<std::string> out;
  const auto* v = find(name);
  if (v == nullptr) return out;
  if (v->is_string()) {
    out.push_back(v->get<std::string>());
    return out;
  }
  if (!v->is_array()) return invalid(name, *v, "an array of strings");
  for (size_t i = 0; i < v->size(); ++i) {
    const auto& element = (*v)[i];
    if (element.is_string()) {
      out.push_back(element.get<std::string>());
    } else if (element.is_number_integer()) {
      out.push_back(element.dump());  // experiment ids sent as numbers
    } else {
      return make_error(ErrorCode::kInvalidArgument,
                        "Invalid value {} for parameter '{}[{}]' supplied: expected a string, got {}",
                        describe(element), path(name), i, type_word(element));
    }
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> Params::key_values(std::string_view name) const {
  std::vector<std::pair<std::string, std::string>> out;
  const auto* v = find(name);
  if (v == nullptr) return out;
  if (v->is_object()) {
    for (auto it = v->begin(); it != v->end(); ++it) {
      if (!it->is_string()) {
        return make_error(ErrorCode::kInvalidArgument,
                          "Invalid value {} for parameter '{}.{}' supplied: expected a string, got {}", describe(*it),
                          path(name), it.key(), type_word(*it));
      }
      out.emplace_back(it.key(), it->get<std::string>());
    }
    return out;
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto items, objects(name));
  out.reserve(items.size());
  for (const auto& item : items) {
    SLIPWAY_ASSIGN_OR_RETURN(auto key, item.required_string("key"));
    SLIPWAY_ASSIGN_OR_RETURN(auto value, item.optional_string("value"));
    out.emplace_back(std::move(key), value.value_or(""));
  }
  return out;
}

}  // namespace slipway::server::detail
