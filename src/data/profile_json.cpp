// DatasetProfile <-> JSON. The layout is documented at the top of profile.cpp; it is stored in
// dataset manifests, so reading validates every field and names the one that is wrong.

#include <cmath>
#include <limits>

#include "slipway/data/profile.h"

namespace slipway::data {

using nlohmann::json;

namespace {

// JSON has no NaN or infinity; those are written as strings.
json double_to_json(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

json optional_to_json(const std::optional<double>& v) { return v ? double_to_json(*v) : json(nullptr); }
json optional_to_json(const std::optional<uint64_t>& v) { return v ? json(*v) : json(nullptr); }

json doubles_to_json(const std::vector<double>& values) {
  json out = json::array();
  for (double v : values) out.push_back(double_to_json(v));
  return out;
}

Status bad(const std::string& where, std::string_view problem) {
  return make_error(ErrorCode::kCorrupt, "profile: {}: {}", where, problem);
}

Result<const json*> field(const json& object, const char* key, const std::string& where) {
  if (!object.is_object()) return bad(where, "expected an object");
  auto it = object.find(key);
  if (it == object.end()) return bad(where, fmt::format("missing field '{}'", key));
  return &*it;
}

Result<double> to_double(const json& j, const char* key, const std::string& where) {
  if (j.is_number()) return j.get<double>();
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
  }
  return bad(where, fmt::format("field '{}' must be a number", key));
}

Result<double> get_double(const json& object, const char* key, const std::string& where) {
  SLIPWAY_ASSIGN_OR_RETURN(const json* j, field(object, key, where));
  return to_double(*j, key, where);
}

Result<std::optional<double>> get_optional_double(const json& object, const char* key, const std::string& where) {
  SLIPWAY_ASSIGN_OR_RETURN(const json* j, field(object, key, where));
  if (j->is_null()) return std::optional<double>();
  SLIPWAY_ASSIGN_OR_RETURN(double v, to_double(*j, key, where));
  return std::optional<double>(v);
}

Result<uint64_t> to_u64(const json& j, const char* key, const std::string& where) {
  // Parsed text gives unsigned numbers; a json built in memory may hold non-negative signed ones.
  const bool non_negative = j.is_number_unsigned() || (j.is_number_integer() && j.get<int64_t>() >= 0);
  if (!non_negative) return bad(where, fmt::format("field '{}' must be a non-negative integer", key));
  return j.get<uint64_t>();
}

Result<uint64_t> get_u64(const json& object, const char* key, const std::string& where) {
  SLIPWAY_ASSIGN_OR_RETURN(const json* j, field(object, key, where));
  return to_u64(*j, key, where);
}

Result<std::optional<uint64_t>> get_optional_u64(const json& object, const char* key, const std::string& where) {
  SLIPWAY_ASSIGN_OR_RETURN(const json* j, field(object, key, where));
  if (j->is_null()) return std::optional<uint64_t>();
  SLIPWAY_ASSIGN_OR_RETURN(uint64_t v, to_u64(*j, key, where));
  return std::optional<uint64_t>(v);
}

Result<bool> get_bool(const json& object, const char* key, const std::string& where) {
  SLIPWAY_ASSIGN_OR_RETURN(const json* j, field(object, key, where));
  if (!j->is_boolean()) return bad(where, fmt::format("field '{}' must be true or false", key));
  return j->get<bool>();
}

Result<std::string> get_string(const json& object, const char* key, const std::string& where) {
  SLIPWAY_ASSIGN_OR_RETURN(const json* j, field(object, key, where));
  if (!j->is_string()) return bad(where, fmt::format("field '{}' must be a string", key));
  return j->get<std::string>();
}

Result<const json*> get_array(const json& object, const char* key, const std::string& where) {
  SLIPWAY_ASSIGN_OR_RETURN(const json* j, field(object, key, where));
  if (!j->is_array()) return bad(where, fmt::format("field '{}' must be an array", key));
  return j;
}

Result<ColumnProfile> column_from_json(const json& j, size_t index) {
  ColumnProfile c;
  std::string where = fmt::format("columns[{}]", index);
  SLIPWAY_ASSIGN_OR_RETURN(c.name, get_string(j, "name", where));
  where = fmt::format("columns[{}] ('{}')", index, c.name);
  SLIPWAY_ASSIGN_OR_RETURN(std::string type, get_string(j, "type", where));
  auto parsed_type = table::parse_data_type(type);
  if (!parsed_type.ok()) return bad(where, fmt::format("unknown type '{}'", type));
  c.type = *parsed_type;
  SLIPWAY_ASSIGN_OR_RETURN(c.count, get_u64(j, "count", where));
  SLIPWAY_ASSIGN_OR_RETURN(c.missing, get_u64(j, "missing", where));
  SLIPWAY_ASSIGN_OR_RETURN(c.distinct, get_u64(j, "distinct", where));
  SLIPWAY_ASSIGN_OR_RETURN(c.distinct_exact, get_bool(j, "distinct_exact", where));
  SLIPWAY_ASSIGN_OR_RETURN(c.min, get_optional_double(j, "min", where));
  SLIPWAY_ASSIGN_OR_RETURN(c.max, get_optional_double(j, "max", where));
  SLIPWAY_ASSIGN_OR_RETURN(c.mean, get_optional_double(j, "mean", where));
  SLIPWAY_ASSIGN_OR_RETURN(c.stddev, get_optional_double(j, "stddev", where));
  SLIPWAY_ASSIGN_OR_RETURN(const json* quantiles, get_array(j, "quantiles", where));
  for (size_t i = 0; i < quantiles->size(); ++i) {
    const std::string at = fmt::format("{}: quantiles[{}]", where, i);
    SLIPWAY_ASSIGN_OR_RETURN(double q, get_double((*quantiles)[i], "q", at));
    SLIPWAY_ASSIGN_OR_RETURN(double v, get_double((*quantiles)[i], "value", at));
    c.quantiles.emplace_back(q, v);
  }
  SLIPWAY_ASSIGN_OR_RETURN(c.quantile_rank_error, get_double(j, "quantile_rank_error", where));
  SLIPWAY_ASSIGN_OR_RETURN(const json* histogram, field(j, "histogram", where));
  const std::string at_histogram = where + ": histogram";
  SLIPWAY_ASSIGN_OR_RETURN(const json* edges, get_array(*histogram, "edges", at_histogram));
  SLIPWAY_ASSIGN_OR_RETURN(const json* counts, get_array(*histogram, "counts", at_histogram));
  for (const json& e : *edges) {
    SLIPWAY_ASSIGN_OR_RETURN(double v, to_double(e, "edges", at_histogram));
    c.histogram.edges.push_back(v);
  }
  for (const json& n : *counts) {
    SLIPWAY_ASSIGN_OR_RETURN(uint64_t v, to_u64(n, "counts", at_histogram));
    c.histogram.counts.push_back(v);
  }
  if (!(c.histogram.edges.empty() && c.histogram.counts.empty()) &&
      c.histogram.edges.size() != c.histogram.counts.size() + 1) {
    return bad(at_histogram, fmt::format("{} edges for {} counts (expected one more edge than counts)",
                                         c.histogram.edges.size(), c.histogram.counts.size()));
  }
  SLIPWAY_ASSIGN_OR_RETURN(const json* top, get_array(j, "top_values", where));
  for (size_t i = 0; i < top->size(); ++i) {
    const std::string at = fmt::format("{}: top_values[{}]", where, i);
    ValueCount vc;
    SLIPWAY_ASSIGN_OR_RETURN(vc.value, get_string((*top)[i], "value", at));
    SLIPWAY_ASSIGN_OR_RETURN(vc.count, get_u64((*top)[i], "count", at));
    c.top_values.push_back(std::move(vc));
  }
  SLIPWAY_ASSIGN_OR_RETURN(c.top_values_exact, get_bool(j, "top_values_exact", where));
  SLIPWAY_ASSIGN_OR_RETURN(c.min_length, get_optional_u64(j, "min_length", where));
  SLIPWAY_ASSIGN_OR_RETURN(c.max_length, get_optional_u64(j, "max_length", where));
  return c;
}

}  // namespace

json to_json(const DatasetProfile& profile) {
  json columns = json::array();
  for (const ColumnProfile& c : profile.columns) {
    json quantiles = json::array();
    for (const auto& [q, v] : c.quantiles) quantiles.push_back({{"q", double_to_json(q)}, {"value", double_to_json(v)}});
    json top = json::array();
    for (const ValueCount& vc : c.top_values) top.push_back({{"value", vc.value}, {"count", vc.count}});
    json histogram_counts = json::array();
    for (uint64_t n : c.histogram.counts) histogram_counts.push_back(n);
    json column = json::object();
    column["name"] = c.name;
    column["type"] = table::data_type_name(c.type);
    column["count"] = c.count;
    column["missing"] = c.missing;
    column["distinct"] = c.distinct;
    column["distinct_exact"] = c.distinct_exact;
    column["min"] = optional_to_json(c.min);
    column["max"] = optional_to_json(c.max);
    column["mean"] = optional_to_json(c.mean);
    column["stddev"] = optional_to_json(c.stddev);
    column["quantiles"] = std::move(quantiles);
    column["quantile_rank_error"] = double_to_json(c.quantile_rank_error);
    column["histogram"] = {{"edges", doubles_to_json(c.histogram.edges)}, {"counts", std::move(histogram_counts)}};
    column["top_values"] = std::move(top);
    column["top_values_exact"] = c.top_values_exact;
    column["min_length"] = optional_to_json(c.min_length);
    column["max_length"] = optional_to_json(c.max_length);
    columns.push_back(std::move(column));
  }
  return {{"row_count", profile.row_count}, {"columns", std::move(columns)}};
}

Result<DatasetProfile> profile_from_json(const json& j) {
  DatasetProfile profile;
  const std::string where = "top level";
  SLIPWAY_ASSIGN_OR_RETURN(profile.row_count, get_u64(j, "row_count", where));
  SLIPWAY_ASSIGN_OR_RETURN(const json* columns, get_array(j, "columns", where));
  for (size_t i = 0; i < columns->size(); ++i) {
    SLIPWAY_ASSIGN_OR_RETURN(ColumnProfile c, column_from_json((*columns)[i], i));
    profile.columns.push_back(std::move(c));
  }
  return profile;
}

}  // namespace slipway::data
