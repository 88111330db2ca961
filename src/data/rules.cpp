// The schema file: YAML in, checked rules out; rules back to canonical YAML; rules inferred from a
// profile. The format is documented key by key in docs/validation.md; bump kRulesFormat (and keep
// reading the old one) when a key changes meaning.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "detail/format_value.h"
#include "slipway/data/validate.h"

namespace slipway::data {
namespace {

using table::DataType;

constexpr const char* kColumnKeys[] = {"type",   "nullable", "min",        "max",        "allowed_values",
                                       "max_missing_fraction", "unique", "regex", "min_length",
                                       "max_length", "mostly"};
constexpr const char* kDatasetKeys[] = {"row_count", "max_duplicate_rows", "allow_extra_columns"};
constexpr const char* kTopKeys[] = {"format", "dataset", "columns"};

template <size_t N>
std::string join_keys(const char* const (&keys)[N]) {
  std::string out;
  for (size_t i = 0; i < N; ++i) out += (i ? ", " : "") + std::string(keys[i]);
  return out;
}

template <size_t N>
bool is_known(const char* const (&keys)[N], const std::string& key) {
  return std::any_of(std::begin(keys), std::end(keys), [&](const char* k) { return key == k; });
}

bool is_ranged_type(DataType t) { return table::is_numeric(t) || t == DataType::kTimestamp; }

bool parses_as(DataType type, const std::string& text) {
  bool b;
  int64_t i;
  double d;
  switch (type) {
    case DataType::kBool: return table::parse_bool(text, &b);
    case DataType::kInt64: return table::parse_int64(text, &i);
    case DataType::kFloat64: return table::parse_float64(text, &d);
    case DataType::kTimestamp: return table::parse_timestamp(text, &i);
    case DataType::kString: return true;
  }
  return false;
}

// Text other YAML readers (YAML 1.1 included) would take for a bool or a number; quoted when it
// is a string column's value so that the file means the same to every reader.
bool looks_like_non_string(const std::string& v) {
  std::string lower(v);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
  for (const char* word : {"yes", "no", "on", "off", "y", "n", ".inf", "-.inf", "+.inf", ".nan"}) {
    if (lower == word) return true;
  }
  return parses_as(DataType::kBool, v) || parses_as(DataType::kFloat64, v);
}

// A semantic problem with one column's rules: which key it is about, and the message.
struct RuleProblem {
  std::string key;
  std::string message;
};

std::optional<RuleProblem> check_column(const ColumnRules& c) {
  const std::string& n = c.name;
  for (const char* key : {"min", "max"}) {
    const auto& bound = std::string_view(key) == "min" ? c.min : c.max;
    if (!bound) continue;
    if (!c.type) {
      return RuleProblem{key, fmt::format("{} for column '{}' needs a type (int64, float64 or timestamp)", key, n)};
    }
    if (!is_ranged_type(*c.type)) {
      return RuleProblem{key, fmt::format("{} for column '{}' applies to int64, float64 and timestamp columns, not {}",
                                          key, n, table::data_type_name(*c.type))};
    }
    if (std::isnan(*bound)) return RuleProblem{key, fmt::format("{} for column '{}' must be a number", key, n)};
  }
  if (c.min && c.max && *c.min > *c.max) {
    return RuleProblem{"max", fmt::format("max {} is less than min {} for column '{}'", detail::format_value(*c.max, c.type),
                                          detail::format_value(*c.min, c.type), n)};
  }
  if (c.allowed_values && c.type) {
    for (const auto& v : *c.allowed_values) {
      if (!parses_as(*c.type, v)) {
        return RuleProblem{"allowed_values", fmt::format("allowed_values entry '{}' for column '{}' is not a {}", v, n,
                                                         table::data_type_name(*c.type))};
      }
    }
  }
  if (c.max_missing_fraction && !(*c.max_missing_fraction >= 0 && *c.max_missing_fraction <= 1)) {
    return RuleProblem{"max_missing_fraction",
                       fmt::format("max_missing_fraction for column '{}' must be in [0, 1]", n)};
  }
  if (c.regex) {
    try {
      std::regex re(*c.regex, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return RuleProblem{"regex", fmt::format("regex for column '{}' is not a valid ECMAScript regular expression: {}",
                                              n, e.what())};
    }
  }
  if (c.min_length && c.max_length && *c.min_length > *c.max_length) {
    return RuleProblem{"max_length",
                       fmt::format("max_length {} is less than min_length {} for column '{}'", *c.max_length,
                                   *c.min_length, n)};
  }
  if (!(c.mostly > 0 && c.mostly <= 1)) {
    return RuleProblem{"mostly", fmt::format("mostly for column '{}' must be in (0, 1]", n)};
  }
  return std::nullopt;
}

// --- YAML reading -------------------------------------------------------------------------------

class RulesParser {
 public:
  explicit RulesParser(std::string source) : source_(std::move(source)) {}

  Result<DatasetRules> parse(std::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      return error_at(e.mark, "invalid YAML: {}", e.msg);
    }
    if (!root.IsMap()) {
      return make_error(ErrorCode::kParseError, "{}: a schema is a mapping with keys {}", source_,
                        join_keys(kTopKeys));
    }
    SLIPWAY_RETURN_IF_ERROR(check_keys(root, kTopKeys, "top-level key", ""));
    DatasetRules rules;
    YAML::Node format = root["format"];
    if (!format) {
      return make_error(ErrorCode::kParseError, "{}: missing 'format' (this slipway writes format {})", source_,
                        kRulesFormat);
    }
    int64_t version = 0;
    if (!format.IsScalar() || !table::parse_int64(format.Scalar(), &version) || version < 1) {
      return error_at(format.Mark(), "format must be a positive integer");
    }
    if (version > kRulesFormat) {
      return make_error(ErrorCode::kParseError,
                        "{} was written by a newer slipway (format {}); this slipway reads format {}", source_,
                        version, kRulesFormat);
    }
    rules.format = static_cast<int>(version);
    if (YAML::Node dataset = root["dataset"]) SLIPWAY_RETURN_IF_ERROR(parse_dataset(dataset, rules));
    if (YAML::Node columns = root["columns"]) {
      if (columns.IsNull()) return rules;
      if (!columns.IsMap()) return error_at(columns.Mark(), "columns must be a mapping of column name to rules");
      for (auto it = columns.begin(); it != columns.end(); ++it) {
        ColumnRules column;
        if (!it->first.IsScalar()) return error_at(it->first.Mark(), "a column name must be text");
        column.name = it->first.Scalar();
        if (rules.find(column.name)) {
          return error_at(it->first.Mark(), "column '{}' is listed twice", column.name);
        }
        SLIPWAY_RETURN_IF_ERROR(parse_column(it->second, it->first.Mark(), column));
        rules.columns.push_back(std::move(column));
      }
    }
    return rules;
  }

 private:
  template <typename... Args>
  Status error_at(const YAML::Mark& mark, fmt::format_string<Args...> format, Args&&... args) const {
    return Status(ErrorCode::kParseError, fmt::format("{}:{}:{}: ", source_, mark.line + 1, mark.column + 1) +
                                              fmt::format(format, std::forward<Args>(args)...));
  }

  template <size_t N>
  Status check_keys(const YAML::Node& map, const char* const (&known)[N], const char* what,
                    const std::string& suffix) const {
    std::set<std::string> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      const std::string key = it->first.IsScalar() ? it->first.Scalar() : std::string("?");
      if (!is_known(known, key)) {
        return error_at(it->first.Mark(), "unknown {} '{}'{} (known: {})", what, key, suffix, join_keys(known));
      }
      if (!seen.insert(key).second) return error_at(it->first.Mark(), "duplicate key '{}'{}", key, suffix);
    }
    return {};
  }

  Result<double> number(const YAML::Node& node, const std::string& what) const {
    double v = 0;
    std::string text = node.IsScalar() ? node.Scalar() : std::string();
    if (text == ".inf" || text == "+.inf") text = "inf";
    if (text == "-.inf") text = "-inf";
    if (!node.IsScalar() || !table::parse_float64(text, &v) || std::isnan(v)) {
      return error_at(node.Mark(), "{} must be a number", what);
    }
    return v;
  }

  Result<uint64_t> count(const YAML::Node& node, const std::string& what) const {
    int64_t v = 0;
    if (!node.IsScalar() || !table::parse_int64(node.Scalar(), &v) || v < 0) {
      return error_at(node.Mark(), "{} must be a non-negative integer", what);
    }
    return static_cast<uint64_t>(v);
  }

  Result<bool> boolean(const YAML::Node& node, const std::string& what) const {
    bool v = false;
    if (!node.IsScalar() || !table::parse_bool(node.Scalar(), &v)) {
      return error_at(node.Mark(), "{} must be true or false", what);
    }
    return v;
  }

  Status parse_dataset(const YAML::Node& node, DatasetRules& rules) const {
    if (node.IsNull()) return {};
    if (!node.IsMap()) return error_at(node.Mark(), "dataset must be a mapping of rule to value");
    SLIPWAY_RETURN_IF_ERROR(check_keys(node, kDatasetKeys, "dataset rule", ""));
    if (YAML::Node rc = node["row_count"]) {
      if (!rc.IsMap()) return error_at(rc.Mark(), "row_count must be a mapping like {{min: 1, max: 100}}");
      static constexpr const char* kBoundKeys[] = {"min", "max"};
      SLIPWAY_RETURN_IF_ERROR(check_keys(rc, kBoundKeys, "key", " in row_count"));
      if (rc["min"]) { SLIPWAY_ASSIGN_OR_RETURN(rules.min_rows, count(rc["min"], "row_count min")); }
      if (rc["max"]) { SLIPWAY_ASSIGN_OR_RETURN(rules.max_rows, count(rc["max"], "row_count max")); }
      if (rules.min_rows && rules.max_rows && *rules.min_rows > *rules.max_rows) {
        return error_at(rc["max"].Mark(), "row_count max {} is less than min {}", *rules.max_rows, *rules.min_rows);
      }
    }
    if (YAML::Node dup = node["max_duplicate_rows"]) {
      // An integer literal is a count of rows; a literal with a fraction part is a fraction of rows.
      int64_t n = 0;
      double f = 0;
      const std::string text = dup.IsScalar() ? dup.Scalar() : std::string();
      if (dup.IsScalar() && table::parse_int64(text, &n) && n >= 0) {
        rules.max_duplicate_rows = DuplicateLimit{false, static_cast<double>(n)};
      } else if (dup.IsScalar() && table::parse_float64(text, &f) && f >= 0 && f <= 1) {
        rules.max_duplicate_rows = DuplicateLimit{true, f};
      } else {
        return error_at(dup.Mark(), "max_duplicate_rows must be a count (0, 1, ...) or a fraction of rows in [0, 1]");
      }
    }
    if (YAML::Node extra = node["allow_extra_columns"]) {
      SLIPWAY_ASSIGN_OR_RETURN(rules.allow_extra_columns, boolean(extra, "allow_extra_columns"));
    }
    return {};
  }

  Status parse_column(const YAML::Node& node, const YAML::Mark& name_mark, ColumnRules& c) const {
    if (node.IsNull()) return {};  // a column that must be present, with no other rule
    if (!node.IsMap()) return error_at(node.Mark(), "rules for column '{}' must be a mapping", c.name);
    const std::string suffix = fmt::format(" for column '{}'", c.name);
    SLIPWAY_RETURN_IF_ERROR(check_keys(node, kColumnKeys, "rule", suffix));
    auto what = [&](const char* key) { return std::string(key) + suffix; };
    if (YAML::Node t = node["type"]) {
      if (!t.IsScalar()) return error_at(t.Mark(), "type{} must be a type name", suffix);
      auto type = table::parse_data_type(t.Scalar());
      if (!type.ok()) {
        return error_at(t.Mark(), "unknown type '{}'{} (known: bool, int64, float64, timestamp, string)",
                        t.Scalar(), suffix);
      }
      c.type = *type;
    }
    if (YAML::Node v = node["nullable"]) { SLIPWAY_ASSIGN_OR_RETURN(c.nullable, boolean(v, what("nullable"))); }
    for (const char* key : {"min", "max"}) {
      YAML::Node v = node[key];
      if (!v) continue;
      std::optional<double>& bound = std::string_view(key) == "min" ? c.min : c.max;
      if (c.type == DataType::kTimestamp) {
        int64_t micros = 0;
        if (!v.IsScalar() || !table::parse_timestamp(v.Scalar(), &micros)) {
          return error_at(v.Mark(), "{} must be a timestamp (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)", what(key));
        }
        bound = static_cast<double>(micros);
      } else {
        SLIPWAY_ASSIGN_OR_RETURN(bound, number(v, what(key)));
      }
    }
    if (YAML::Node v = node["allowed_values"]) {
      if (!v.IsSequence()) return error_at(v.Mark(), "allowed_values{} must be a list like [a, b]", suffix);
      std::vector<std::string> values;
      for (const auto& item : v) {
        if (!item.IsScalar()) return error_at(item.Mark(), "allowed_values{} must list plain values", suffix);
        values.push_back(item.Scalar());
      }
      c.allowed_values = std::move(values);
    }
    if (YAML::Node v = node["max_missing_fraction"]) {
      SLIPWAY_ASSIGN_OR_RETURN(c.max_missing_fraction, number(v, what("max_missing_fraction")));
    }
    if (YAML::Node v = node["unique"]) { SLIPWAY_ASSIGN_OR_RETURN(c.unique, boolean(v, what("unique"))); }
    if (YAML::Node v = node["regex"]) {
      if (!v.IsScalar()) return error_at(v.Mark(), "regex{} must be text", suffix);
      c.regex = v.Scalar();
    }
    if (YAML::Node v = node["min_length"]) { SLIPWAY_ASSIGN_OR_RETURN(c.min_length, count(v, what("min_length"))); }
    if (YAML::Node v = node["max_length"]) { SLIPWAY_ASSIGN_OR_RETURN(c.max_length, count(v, what("max_length"))); }
    if (YAML::Node v = node["mostly"]) { SLIPWAY_ASSIGN_OR_RETURN(c.mostly, number(v, what("mostly"))); }
    if (auto problem = check_column(c)) {
      YAML::Node at = node[problem->key];
      return error_at(at ? at.Mark() : name_mark, "{}", problem->message);
    }
    return {};
  }

  std::string source_;
};

// Rounds a fraction up to 3 decimals after adding headroom (see docs/validation.md).
double fraction_with_headroom(double observed) {
  const double padded = observed * 1.1 + 0.001;
  return std::min(1.0, std::ceil(padded * 1000.0 - 1e-9) / 1000.0);
}

}  // namespace

const ColumnRules* DatasetRules::find(std::string_view name) const {
  for (const auto& c : columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

Result<DatasetRules> parse_rules(std::string_view yaml_text, const std::string& source_name) {
  return RulesParser(source_name).parse(yaml_text);
}

Result<DatasetRules> load_rules(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, "{}: cannot open schema file", path.string());
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return make_error(ErrorCode::kIoError, "{}: cannot read schema file", path.string());
  return parse_rules(text.str(), path.string());
}

Status check_rules(const DatasetRules& rules) {
  if (rules.format < 1 || rules.format > kRulesFormat) {
    return make_error(ErrorCode::kInvalidArgument, "rules format {} is not one this slipway reads (1 .. {})",
                      rules.format, kRulesFormat);
  }
  if (rules.min_rows && rules.max_rows && *rules.min_rows > *rules.max_rows) {
    return make_error(ErrorCode::kInvalidArgument, "row_count max {} is less than min {}", *rules.max_rows,
                      *rules.min_rows);
  }
  if (const auto& d = rules.max_duplicate_rows) {
    if (d->value < 0 || (d->is_fraction && d->value > 1) || (!d->is_fraction && d->value != std::floor(d->value))) {
      return make_error(ErrorCode::kInvalidArgument,
                        "max_duplicate_rows must be a count (0, 1, ...) or a fraction of rows in [0, 1]");
    }
  }
  std::set<std::string_view> names;
  for (const auto& c : rules.columns) {
    if (!names.insert(c.name).second) {
      return make_error(ErrorCode::kInvalidArgument, "column '{}' is listed twice", c.name);
    }
    if (auto problem = check_column(c)) return Status(ErrorCode::kInvalidArgument, problem->message);
  }
  return {};
}

// --- YAML writing -------------------------------------------------------------------------------

std::string rules_to_yaml(const DatasetRules& rules) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "format" << YAML::Value << kRulesFormat;
  const bool has_dataset = rules.min_rows || rules.max_rows || rules.max_duplicate_rows || !rules.allow_extra_columns;
  if (has_dataset) {
    out << YAML::Key << "dataset" << YAML::Value << YAML::BeginMap;
    if (rules.min_rows || rules.max_rows) {
      out << YAML::Key << "row_count" << YAML::Value << YAML::Flow << YAML::BeginMap;
      if (rules.min_rows) out << YAML::Key << "min" << YAML::Value << *rules.min_rows;
      if (rules.max_rows) out << YAML::Key << "max" << YAML::Value << *rules.max_rows;
      out << YAML::EndMap;
    }
    if (const auto& d = rules.max_duplicate_rows) {
      std::string text = detail::format_number(d->value);
      // A fraction is always written with a decimal point so it reads back as a fraction.
      if (d->is_fraction && text.find_first_of(".e") == std::string::npos) text += ".0";
      out << YAML::Key << "max_duplicate_rows" << YAML::Value << text;
    }
    if (!rules.allow_extra_columns) out << YAML::Key << "allow_extra_columns" << YAML::Value << false;
    out << YAML::EndMap;
  }
  out << YAML::Key << "columns" << YAML::Value;
  if (rules.columns.empty()) {
    out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
  } else {
    out << YAML::BeginMap;
    for (const auto& c : rules.columns) {
      out << YAML::Key << c.name << YAML::Value << YAML::BeginMap;
      if (c.type) out << YAML::Key << "type" << YAML::Value << table::data_type_name(*c.type);
      out << YAML::Key << "nullable" << YAML::Value << c.nullable;
      if (c.min) out << YAML::Key << "min" << YAML::Value << detail::format_value(*c.min, c.type);
      if (c.max) out << YAML::Key << "max" << YAML::Value << detail::format_value(*c.max, c.type);
      if (c.allowed_values) {
        out << YAML::Key << "allowed_values" << YAML::Value << YAML::Flow << YAML::BeginSeq;
        const bool text_column = !c.type || *c.type == DataType::kString;
        for (const auto& v : *c.allowed_values) {
          if (text_column && looks_like_non_string(v)) out << YAML::DoubleQuoted;
          out << v;
        }
        out << YAML::EndSeq;
      }
      if (c.max_missing_fraction) {
        out << YAML::Key << "max_missing_fraction" << YAML::Value << detail::format_number(*c.max_missing_fraction);
      }
      if (c.unique) out << YAML::Key << "unique" << YAML::Value << true;
      if (c.regex) out << YAML::Key << "regex" << YAML::Value << YAML::SingleQuoted << *c.regex;
      if (c.min_length) out << YAML::Key << "min_length" << YAML::Value << *c.min_length;
      if (c.max_length) out << YAML::Key << "max_length" << YAML::Value << *c.max_length;
      if (c.mostly != 1.0) out << YAML::Key << "mostly" << YAML::Value << detail::format_number(c.mostly);
      out << YAML::EndMap;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  return fmt::format(
      "# slipway dataset schema (format {})\n"
      "# Every listed column is required. Rules and defaults: docs/validation.md\n"
      "{}\n",
      kRulesFormat, out.c_str());
}

// --- inference ----------------------------------------------------------------------------------

DatasetRules infer_rules(const DatasetProfile& profile, const InferOptions& options) {
  DatasetRules rules;
  const uint64_t rows = profile.row_count;
  rules.min_rows = static_cast<uint64_t>(std::floor(options.row_count_low * static_cast<double>(rows)));
  if (rows > 0) rules.max_rows = static_cast<uint64_t>(std::ceil(options.row_count_high * static_cast<double>(rows)));
  if (options.duplicate_rows) {
    if (*options.duplicate_rows == 0 || rows == 0) {
      rules.max_duplicate_rows = DuplicateLimit{false, 0};
    } else {
      rules.max_duplicate_rows =
          DuplicateLimit{true, fraction_with_headroom(static_cast<double>(*options.duplicate_rows) / rows)};
    }
  }
  for (const auto& p : profile.columns) {
    ColumnRules c;
    c.name = p.name;
    c.type = p.type;
    c.nullable = p.missing > 0;
    if (p.missing > 0 && rows > 0) {
      c.max_missing_fraction = fraction_with_headroom(static_cast<double>(p.missing) / static_cast<double>(rows));
    }
    if (is_ranged_type(p.type) && p.count > 0) {
      c.min = p.min;
      c.max = p.max;
    }
    if ((p.type == DataType::kString || p.type == DataType::kBool) && p.count > 0 && p.distinct_exact &&
        p.distinct <= options.max_allowed_values) {
      uint64_t listed = 0;
      std::vector<std::string> values;
      for (const auto& v : p.top_values) {
        listed += v.count;
        values.push_back(v.value);
      }
      // Only when the profile lists every value; otherwise the rule would reject real values.
      if (listed == p.count && values.size() == p.distinct) {
        std::sort(values.begin(), values.end());
        c.allowed_values = std::move(values);
      }
    }
    // Continuous measurements (float64) are often all distinct by chance, not by contract.
    if (p.distinct_exact && p.count > 0 && p.distinct == p.count && p.count == rows &&
        (p.type == DataType::kInt64 || p.type == DataType::kString || p.type == DataType::kTimestamp)) {
      c.unique = true;
    }
    rules.columns.push_back(std::move(c));
  }
  return rules;
}

}  // namespace slipway::data
