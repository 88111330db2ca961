// The streaming validator. One pass, memory bounded by the rules that need state: `unique` and
// `max_duplicate_rows` keep an 8-byte hash per distinct value/row, `regex` caches up to kRegexCacheLimit
// distinct values' results (std::regex is slow; RE2 is not installed here), and each failing rule
// keeps a few example rows and a bounded sample of failing values for its message.
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <regex>
#include <unordered_map>
#include <unordered_set>

#include "slipway/core/hash.h"
#include "detail/format_value.h"
#include "slipway/data/validate.h"

namespace slipway::data {
namespace {

using table::DataType;

constexpr size_t kMaxExamples = 5;
constexpr size_t kShownValues = 3;
constexpr size_t kMaxTrackedDistinct = 10000;
constexpr size_t kRegexCacheLimit = 100000;
constexpr size_t kShownAllowed = 8;

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return xxh3_64(s); }
};
using StringSet = std::unordered_set<std::string, StringHash, std::equal_to<>>;

// An exact set of 64-bit hashes: open addressing, linear probing, 8 bytes per slot, at most 3/4
// full (so 10.7 to 21 bytes per element) - a node-based std::unordered_set costs ~40.
class HashSet {
 public:
  // False when `h` was already present.
  bool insert(uint64_t h) {
    if (h == 0) h = 1;  // 0 marks an empty slot; folding it into 1 is one more 2^-64 collision
    if ((size_ + 1) * 4 > slots_.size() * 3) grow();
    const size_t mask = slots_.size() - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      if (slots_[i] == h) return false;
      if (slots_[i] == 0) {
        slots_[i] = h;
        ++size_;
        return true;
      }
    }
  }

 private:
  void grow() {
    std::vector<uint64_t> old = std::move(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, 0);
    size_ = 0;
    for (uint64_t h : old) {
      if (h != 0) insert(h);
    }
  }
  std::vector<uint64_t> slots_;
  size_t size_ = 0;
};

struct Tally {
  uint64_t failing = 0;
  std::vector<uint64_t> examples;
  void fail(uint64_t row) {
    ++failing;
    if (examples.size() < kMaxExamples) examples.push_back(row);
  }
};

// Distinct failing values: the first few are shown, the rest only counted (up to a bound).
struct ValueSample {
  std::vector<std::string> shown;
  std::unordered_set<uint64_t> hashes;
  bool overflow = false;
  void add(std::string_view v) {
    const uint64_t h = xxh3_64(v);
    if (hashes.size() >= kMaxTrackedDistinct) {
      overflow = overflow || !hashes.count(h);
      return;
    }
    if (hashes.insert(h).second && shown.size() < kShownValues) shown.emplace_back(v);
  }
};

std::string quote(std::string_view v) {
  constexpr size_t kMaxShown = 24;
  if (v.size() > kMaxShown) return fmt::format("'{}...'", v.substr(0, kMaxShown));
  return fmt::format("'{}'", v);
}

std::string describe(const ValueSample& s) {
  std::string out;
  for (size_t i = 0; i < s.shown.size(); ++i) out += (i ? ", " : "") + quote(s.shown[i]);
  return fmt::format("{} ({}{} distinct)", out, s.hashes.size(), s.overflow ? "+" : "");
}

struct Range {
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  bool nan = false;
  void add(double v) {
    if (std::isnan(v)) {
      nan = true;
      return;
    }
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
};

std::string describe(const Range& r, std::optional<DataType> type) {
  std::string out;
  if (r.lo <= r.hi) {
    out = r.lo == r.hi ? detail::format_value(r.lo, type) : detail::format_value(r.lo, type) + " .. " + detail::format_value(r.hi, type);
  }
  if (r.nan) out += out.empty() ? "nan" : ", nan";
  return out;
}

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
  return n;
}

// Passes when at least `mostly` of the `looked_at` rows satisfy the rule.
bool holds(uint64_t failing, uint64_t looked_at, double mostly) {
  if (failing == 0) return true;
  const double n = static_cast<double>(looked_at);
  return n - static_cast<double>(failing) >= mostly * n - 1e-9 * n;
}

// The text two values of one type compare equal by: "07" and "7" are one int64.
bool canonical_key(DataType type, std::string_view text, std::string& buffer, std::string_view* key) {
  char digits[32];
  switch (type) {
    case DataType::kString: *key = text; return true;
    case DataType::kBool: {
      bool b;
      if (!table::parse_bool(text, &b)) return false;
      *key = b ? "true" : "false";
      return true;
    }
    case DataType::kInt64:
    case DataType::kTimestamp: {
      int64_t v;
      if (!(type == DataType::kInt64 ? table::parse_int64(text, &v) : table::parse_timestamp(text, &v))) return false;
      auto res = std::to_chars(digits, digits + sizeof digits, v);
      buffer.assign(digits, res.ptr);
      *key = buffer;
      return true;
    }
    case DataType::kFloat64: {
      double d;
      if (!table::parse_float64(text, &d)) return false;
      if (d == 0) d = 0;  // -0 equals 0
      buffer = std::isnan(d) ? std::string("nan") : fmt::format("{}", d);
      *key = buffer;
      return true;
    }
  }
  return false;
}

struct ColumnCheck {
  ColumnRules rules;
  std::optional<size_t> index;
  uint64_t present = 0;
  Tally missing, type, min, max, allowed, regex, min_length, max_length, unique;
  ValueSample type_values, allowed_values, regex_values, unique_values;
  Range min_failing, max_failing, min_length_failing, max_length_failing;
  StringSet allowed_set;
  std::optional<std::regex> re;
  std::unordered_map<std::string, bool, StringHash, std::equal_to<>> regex_cache;
  HashSet unique_seen;
  std::string buffer;

  bool needs_key() const { return rules.allowed_values.has_value() || rules.unique; }

  bool matches(std::string_view text) {
    if (auto it = regex_cache.find(text); it != regex_cache.end()) return it->second;
    const bool ok = std::regex_search(text.begin(), text.end(), *re);
    if (regex_cache.size() < kRegexCacheLimit) regex_cache.emplace(std::string(text), ok);
    return ok;
  }

  void check(std::string_view text, uint64_t row) {
    ++present;
    const DataType t = rules.type.value_or(DataType::kString);
    double number = 0;
    bool parsed = true;
    if (t == DataType::kInt64 || t == DataType::kTimestamp) {
      int64_t v = 0;
      parsed = t == DataType::kInt64 ? table::parse_int64(text, &v) : table::parse_timestamp(text, &v);
      number = static_cast<double>(v);
    } else if (t == DataType::kFloat64) {
      parsed = table::parse_float64(text, &number);
    } else if (t == DataType::kBool) {
      bool b;
      parsed = table::parse_bool(text, &b);
    }
    if (!parsed) {  // reported only as a type violation, not again under each value rule
      type.fail(row);
      type_values.add(text);
      return;
    }
    if (rules.min && !(number >= *rules.min)) {
      min.fail(row);
      min_failing.add(number);
    }
    if (rules.max && !(number <= *rules.max)) {
      max.fail(row);
      max_failing.add(number);
    }
    std::string_view key = text;
    if (needs_key()) canonical_key(t, text, buffer, &key);
    if (rules.allowed_values && !allowed_set.count(key)) {
      allowed.fail(row);
      allowed_values.add(text);
    }
    if (re && !matches(text)) {
      regex.fail(row);
      regex_values.add(text);
    }
    if (rules.min_length || rules.max_length) {
      const double len = static_cast<double>(utf8_length(text));
      if (rules.min_length && len < static_cast<double>(*rules.min_length)) {
        min_length.fail(row);
        min_length_failing.add(len);
      }
      if (rules.max_length && len > static_cast<double>(*rules.max_length)) {
        max_length.fail(row);
        max_length_failing.add(len);
      }
    }
    if (rules.unique && !unique_seen.insert(xxh3_64(key))) {
      unique.fail(row);
      unique_values.add(text);
    }
  }
};

std::string join_allowed(const std::vector<std::string>& values) {
  std::string out;
  for (size_t i = 0; i < values.size() && i < kShownAllowed; ++i) out += (i ? ", " : "") + values[i];
  if (values.size() > kShownAllowed) out += fmt::format(", ... ({} values)", values.size());
  return out;
}

}  // namespace

// --- duplicate rows -----------------------------------------------------------------------------

struct DuplicateRowCounter::State {
  HashSet seen;
  std::vector<uint64_t> hashes;
};

DuplicateRowCounter::DuplicateRowCounter() : state_(std::make_unique<State>()) {}
DuplicateRowCounter::~DuplicateRowCounter() = default;
DuplicateRowCounter::DuplicateRowCounter(DuplicateRowCounter&&) noexcept = default;
DuplicateRowCounter& DuplicateRowCounter::operator=(DuplicateRowCounter&&) noexcept = default;

const std::vector<uint64_t>& DuplicateRowCounter::hash_rows(const table::RecordBatch& batch) {
  // Each field is hashed with the previous fields' hash as seed, so field boundaries and order
  // matter; a missing value hashes differently from an empty string. Column by column, for
  // sequential memory access.
  constexpr uint64_t kMissingSalt = 0x9E3779B97F4A7C15ull;
  std::vector<uint64_t>& h = state_->hashes;
  h.assign(batch.num_rows, 0);
  for (size_t c = 0; c < batch.columns.size(); ++c) {
    const auto& values = batch.columns[c];
    const uint8_t* nulls =
        c < batch.nulls.size() && batch.nulls[c].size() >= batch.num_rows ? batch.nulls[c].data() : nullptr;
    for (size_t r = 0; r < batch.num_rows; ++r) {
      h[r] = nulls && nulls[r] ? xxh3_64(std::string_view(), h[r] ^ kMissingSalt) : xxh3_64(values[r], h[r]);
    }
  }
  return h;
}

bool DuplicateRowCounter::insert(uint64_t row_hash) {
  if (state_->seen.insert(row_hash)) return true;
  ++duplicates_;
  return false;
}

// --- validator ----------------------------------------------------------------------------------

struct Validator::State {
  DatasetRules rules;
  std::vector<std::string> names;
  std::vector<ColumnCheck> columns;
  std::vector<std::string> extra_columns;
  uint64_t rows = 0;
  std::optional<DuplicateRowCounter> duplicates;
  Tally duplicate_tally;
};

Validator::Validator() : state_(std::make_unique<State>()) {}
Validator::~Validator() = default;
Validator::Validator(Validator&&) noexcept = default;
Validator& Validator::operator=(Validator&&) noexcept = default;

Result<Validator> Validator::create(const DatasetRules& rules, const std::vector<std::string>& column_names) {
  SLIPWAY_RETURN_IF_ERROR(check_rules(rules));
  Validator v;
  State& s = *v.state_;
  s.rules = rules;
  s.names = column_names;
  s.columns.resize(rules.columns.size());
  for (size_t i = 0; i < rules.columns.size(); ++i) {
    ColumnCheck& c = s.columns[i];
    c.rules = rules.columns[i];
    auto it = std::find(column_names.begin(), column_names.end(), c.rules.name);
    if (it != column_names.end()) c.index = static_cast<size_t>(it - column_names.begin());
    if (c.rules.allowed_values) {
      const DataType t = c.rules.type.value_or(DataType::kString);
      for (const auto& value : *c.rules.allowed_values) {
        std::string_view key;
        if (canonical_key(t, value, c.buffer, &key)) c.allowed_set.emplace(key);
      }
    }
    if (c.rules.regex) c.re.emplace(*c.rules.regex, std::regex::ECMAScript | std::regex::optimize);
  }
  if (!rules.allow_extra_columns) {
    for (const auto& name : column_names) {
      if (!rules.find(name)) s.extra_columns.push_back(name);
    }
  }
  if (rules.max_duplicate_rows) s.duplicates.emplace();
  return v;
}

Status Validator::add(const table::RecordBatch& batch) {
  State& s = *state_;
  if (batch.columns.size() != s.names.size()) {
    return make_error(ErrorCode::kInvalidArgument, "batch has {} columns; the validator was created for {}",
                      batch.columns.size(), s.names.size());
  }
  const bool numbered = batch.row_numbers.size() >= batch.num_rows;
  auto row_number = [&](size_t r) { return numbered ? batch.row_numbers[r] : s.rows + r + 1; };
  for (ColumnCheck& c : s.columns) {
    if (!c.index) continue;
    const auto& values = batch.columns[*c.index];
    const uint8_t* nulls = *c.index < batch.nulls.size() && batch.nulls[*c.index].size() >= batch.num_rows
                               ? batch.nulls[*c.index].data()
                               : nullptr;
    for (size_t r = 0; r < batch.num_rows; ++r) {
      if (nulls && nulls[r]) {
        c.missing.fail(row_number(r));
      } else {
        c.check(values[r], row_number(r));
      }
    }
  }
  if (s.duplicates) s.duplicates->add(batch, [&](size_t r) { s.duplicate_tally.fail(row_number(r)); });
  s.rows += batch.num_rows;
  return {};
}

ValidationReport Validator::finish() {
  State& s = *state_;
  ValidationReport report;
  report.rows = s.rows;
  auto& out = report.violations;
  const DatasetRules& rules = s.rules;

  if ((rules.min_rows && s.rows < *rules.min_rows) || (rules.max_rows && s.rows > *rules.max_rows)) {
    std::string expected = rules.min_rows && rules.max_rows
                               ? fmt::format("{} .. {}", *rules.min_rows, *rules.max_rows)
                               : rules.min_rows ? fmt::format(">= {}", *rules.min_rows)
                                                : fmt::format("<= {}", *rules.max_rows);
    out.push_back({"", "row_count", expected, fmt::format("{}", s.rows), 0, {}});
  }
  for (const auto& c : s.columns) {
    if (!c.index) out.push_back({c.rules.name, "required", "column present", "column missing", 0, {}});
  }
  for (const auto& name : s.extra_columns) {
    out.push_back({name, "allow_extra_columns", "only listed columns", "extra column", 0, {}});
  }
  if (const auto& limit = rules.max_duplicate_rows) {
    const uint64_t dups = s.duplicates->duplicates();
    const bool broken = limit->is_fraction ? static_cast<double>(dups) > limit->value * static_cast<double>(s.rows)
                                           : static_cast<double>(dups) > limit->value;
    if (broken) {
      std::string expected = limit->is_fraction ? fmt::format("<= {} of rows", detail::format_number(limit->value))
                                                : fmt::format("<= {}", detail::format_number(limit->value));
      out.push_back({"", "max_duplicate_rows", expected, fmt::format("{} duplicate rows", dups), dups,
                     s.duplicate_tally.examples});
    }
  }

  for (const auto& c : s.columns) {
    if (!c.index) continue;
    const ColumnRules& r = c.rules;
    const std::string mostly = r.mostly < 1 ? fmt::format(" (mostly {})", detail::format_number(r.mostly)) : "";
    auto add = [&](const char* rule, const Tally& t, uint64_t looked_at, std::string expected, std::string observed) {
      if (holds(t.failing, looked_at, r.mostly)) return;
      out.push_back({r.name, rule, std::move(expected) + mostly, std::move(observed), t.failing, t.examples});
    };
    if (r.type) add("type", c.type, c.present, table::data_type_name(*r.type), describe(c.type_values));
    if (!r.nullable) {
      add("nullable", c.missing, s.rows, "no missing values", fmt::format("{} missing", c.missing.failing));
    }
    if (r.max_missing_fraction && s.rows > 0) {
      const double fraction = static_cast<double>(c.missing.failing) / static_cast<double>(s.rows);
      if (fraction > *r.max_missing_fraction) {
        out.push_back({r.name, "max_missing_fraction", fmt::format("<= {}", detail::format_number(*r.max_missing_fraction)),
                       fmt::format("{:.4g} ({} of {} rows)", fraction, c.missing.failing, s.rows),
                       c.missing.failing, c.missing.examples});
      }
    }
    if (r.min) add("min", c.min, c.present, ">= " + detail::format_value(*r.min, r.type), describe(c.min_failing, r.type));
    if (r.max) add("max", c.max, c.present, "<= " + detail::format_value(*r.max, r.type), describe(c.max_failing, r.type));
    if (r.allowed_values) {
      add("allowed_values", c.allowed, c.present, join_allowed(*r.allowed_values), describe(c.allowed_values));
    }
    if (r.regex) add("regex", c.regex, c.present, "matches " + quote(*r.regex), describe(c.regex_values));
    if (r.min_length) {
      add("min_length", c.min_length, c.present, fmt::format(">= {} characters", *r.min_length),
          "length " + describe(c.min_length_failing, std::nullopt));
    }
    if (r.max_length) {
      add("max_length", c.max_length, c.present, fmt::format("<= {} characters", *r.max_length),
          "length " + describe(c.max_length_failing, std::nullopt));
    }
    if (r.unique) add("unique", c.unique, c.present, "no repeated values", "repeated " + describe(c.unique_values));
  }
  report.passed = out.empty();
  return report;
}

Result<ValidationReport> validate(table::RecordReader& reader, const DatasetRules& rules, size_t batch_rows) {
  SLIPWAY_ASSIGN_OR_RETURN(Validator validator, Validator::create(rules, reader.column_names()));
  table::RecordBatch batch;
  while (true) {
    SLIPWAY_ASSIGN_OR_RETURN(bool more, reader.next(batch, batch_rows));
    if (!more) break;
    SLIPWAY_RETURN_IF_ERROR(validator.add(batch));
  }
  return validator.finish();
}

// --- rendering ----------------------------------------------------------------------------------

nlohmann::json to_json(const ValidationReport& report) {
  nlohmann::json violations = nlohmann::json::array();
  for (const auto& v : report.violations) {
    violations.push_back({{"column", v.column.empty() ? nlohmann::json(nullptr) : nlohmann::json(v.column)},
                          {"rule", v.rule},
                          {"expected", v.expected},
                          {"observed", v.observed},
                          {"failing_count", v.failing_count},
                          {"example_rows", v.example_rows}});
  }
  return {{"rows", report.rows}, {"passed", report.passed}, {"violations", std::move(violations)}};
}

std::string render_text(const ValidationReport& report) {
  if (report.passed) return fmt::format("passed: {} rows, every rule holds\n", report.rows);
  constexpr size_t kMaxCell = 48;
  auto cell = [](std::string s) {
    if (s.size() > kMaxCell) s = s.substr(0, kMaxCell - 3) + "...";
    return s;
  };
  std::vector<std::array<std::string, 6>> rows;
  rows.push_back({"column", "rule", "expected", "observed", "failing", "example rows"});
  for (const auto& v : report.violations) {
    std::string examples;
    for (size_t i = 0; i < v.example_rows.size(); ++i) examples += (i ? ", " : "") + std::to_string(v.example_rows[i]);
    rows.push_back({cell(v.column.empty() ? "(dataset)" : v.column), v.rule, cell(v.expected), cell(v.observed),
                    v.failing_count ? std::to_string(v.failing_count) : "-", examples});
  }
  std::array<size_t, 6> width{};
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out = fmt::format("failed: {} rule{} broken in {} rows\n\n", report.violations.size(),
                                report.violations.size() == 1 ? "" : "s", report.rows);
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += i + 1 < row.size() ? fmt::format("{:<{}}  ", row[i], width[i]) : row[i];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace slipway::data
