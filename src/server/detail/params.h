// Reading request parameters the way MLflow's server does: a JSON object in the body for POST,
// PUT and PATCH; the query string for GET and DELETE (a JSON body too when the query is empty).
// int64 fields accept a JSON number or a decimal string (protobuf's JSON mapping sends int64 as
// strings); doubles accept numbers and "NaN", "Infinity", "-Infinity" or a numeric string.
// Every error names the field as a client wrote it, nested ones too: 'metrics[3].value'.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "slipway/core/status.h"
#include "slipway/server/http.h"

namespace slipway::server::detail {

class Params {
 public:
  static Result<Params> from_request(const Request& request);
  static Result<Params> from_json_text(std::string_view text);  // kParseError / kInvalidArgument
  explicit Params(nlohmann::json object);

  bool has(std::string_view name) const;  // present and not null
  // Missing, null or "" -> "Missing value for required parameter 'NAME'."
  Result<std::string> required_string(std::string_view name) const;
  Result<std::optional<std::string>> optional_string(std::string_view name) const;
  Result<int64_t> required_int64(std::string_view name) const;
  Result<std::optional<int64_t>> optional_int64(std::string_view name) const;
  Result<double> required_double(std::string_view name) const;
  Result<std::optional<bool>> optional_bool(std::string_view name) const;
  // An array of objects (missing: empty); each element reads with the prefix "NAME[i].".
  Result<std::vector<Params>> objects(std::string_view name) const;
  // A nested object (nullopt when missing); it reads with the prefix "NAME.".
  Result<std::optional<Params>> object(std::string_view name) const;
  // An array of strings (missing: empty); a single string counts as a one-element array.
  Result<std::vector<std::string>> strings(std::string_view name) const;
  // Either [{"key": k, "value": v}, ...] (MLflow) or {"k": "v", ...} (slipway's API).
  Result<std::vector<std::pair<std::string, std::string>>> key_values(std::string_view name) const;

  // The full name of a field for messages: prefix + name.
  std::string path(std::string_view name) const { return prefix_ + std::string(name); }
  const nlohmann::json& json() const { return *object_; }

 private:
  Params(std::shared_ptr<const nlohmann::json> root, const nlohmann::json* object, std::string prefix)
      : root_(std::move(root)), object_(object), prefix_(std::move(prefix)) {}
  const nlohmann::json* find(std::string_view name) const;
  Status invalid(std::string_view name, const nlohmann::json& value, std::string_view expected) const;

  std::shared_ptr<const nlohmann::json> root_;
  const nlohmann::json* object_;
  std::string prefix_;
};

Status missing_value(std::string_view path);
// Parses "123", "-4" fully; nullopt otherwise.
std::optional<int64_t> parse_int64(std::string_view text);
// "NaN", "Infinity", "-Infinity", "inf", or a decimal number; nullopt otherwise.
std::optional<double> parse_double(std::string_view text);

}  // namespace slipway::server::detail
