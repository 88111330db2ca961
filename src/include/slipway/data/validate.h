// Dataset validation: declared rules (a YAML schema file a person reads and edits, or rules
// inferred from a profile) checked in one streaming pass over record batches. Every broken rule is
// reported with how many rows broke it and where, not just the first. The file format, every rule
// and the inference policy are documented in docs/validation.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "slipway/core/status.h"
#include "slipway/data/profile.h"
#include "slipway/table/reader.h"
#include "slipway/table/types.h"

namespace slipway::data {

// The schema file format this slipway writes; it reads this and older.
inline constexpr int kRulesFormat = 1;

// Rules for one column. Unset optionals are not checked. Value rules (everything except
// max_missing_fraction) may fail on up to (1 - mostly) of the rows they look at.
struct ColumnRules {
  std::string name;
  std::optional<table::DataType> type;  // a non-missing value must parse as this type
  bool nullable = true;                 // false: a missing value breaks the rule
  // Inclusive bounds for int64/float64 (the number) and timestamp (micros since the epoch, UTC).
  std::optional<double> min, max;
  // Exact values allowed. Compared after parsing as `type` (so int64 "07" equals 7).
  std::optional<std::vector<std::string>> allowed_values;
  std::optional<double> max_missing_fraction;  // of all rows, in [0, 1]
  bool unique = false;                          // no non-missing value occurs twice
  std::optional<std::string> regex;             // ECMAScript; a value must contain a match (search)
  std::optional<uint64_t> min_length, max_length;  // in characters (UTF-8 code points)
  double mostly = 1.0;                          // in (0, 1]
  bool operator==(const ColumnRules&) const = default;
};

// A limit on duplicate rows (rows whose every field equals an earlier row's): a count, or a
// fraction of all rows.
struct DuplicateLimit {
  bool is_fraction = false;
  double value = 0;  // a count when !is_fraction, else a fraction in [0, 1]
  bool operator==(const DuplicateLimit&) const = default;
};

struct DatasetRules {
  int format = kRulesFormat;
  std::optional<uint64_t> min_rows, max_rows;
  std::optional<DuplicateLimit> max_duplicate_rows;
  bool allow_extra_columns = true;  // every listed column is required; are others allowed?
  std::vector<ColumnRules> columns;  // in file order
  const ColumnRules* find(std::string_view name) const;
  bool operator==(const DatasetRules&) const = default;
};

// Reads a schema file. Errors name FILE:LINE:COLUMN and the offending key; a file written in a
// newer format is kUnsupportedVersion.
Result<DatasetRules> load_rules(const std::filesystem::path& path);
// Same, from text; `source_name` is used in messages.
Result<DatasetRules> parse_rules(std::string_view yaml_text, const std::string& source_name);
// Canonical YAML: comment header, fixed key order, columns in rule order. parse_rules reads it back
// to equal rules.
std::string rules_to_yaml(const DatasetRules& rules);
// Checks what the YAML reader checks (bounds, regex syntax, allowed values parse as the type) for
// rules built in code. Messages name the column.
Status check_rules(const DatasetRules& rules);

struct InferOptions {
  size_t max_allowed_values = 50;  // string/bool columns with at most this many distinct values
  double row_count_low = 0.5;      // row_count min = floor(low * observed)
  double row_count_high = 2.0;     // row_count max = ceil(high * observed)
  // Duplicate rows observed in the profiled data (a profile does not carry them); unset: no rule.
  std::optional<uint64_t> duplicate_rows;
};

// Rules a dataset like the profiled one satisfies; a starting point for a person to tighten.
DatasetRules infer_rules(const DatasetProfile& profile, const InferOptions& options = {});

struct Violation {
  std::string column;  // empty for dataset-level rules
  std::string rule;    // the schema key: "min", "allowed_values", "type", "required", ...
  std::string expected;
  std::string observed;
  uint64_t failing_count = 0;
  std::vector<uint64_t> example_rows;  // first failing 1-based data rows, at most 5
};

struct ValidationReport {
  uint64_t rows = 0;
  bool passed = true;
  std::vector<Violation> violations;
};

nlohmann::json to_json(const ValidationReport& report);
// A text table, one violation per line, for people; "passed: N rows, all rules hold" when clean.
std::string render_text(const ValidationReport& report);

// Counts rows equal to an earlier row (field by field, as text, missing != empty) by an exact set
// of 64-bit XXH3 hashes of whole rows: 8-byte slots kept at most 3/4 full, so 11 to 21 bytes of
// memory per distinct row. Two different rows collide with probability ~n^2 / 2^65.
class DuplicateRowCounter {
 public:
  DuplicateRowCounter();
  ~DuplicateRowCounter();
  DuplicateRowCounter(DuplicateRowCounter&&) noexcept;
  DuplicateRowCounter& operator=(DuplicateRowCounter&&) noexcept;
  // Calls `on_duplicate(r)` for each row r of the batch that repeats an earlier row.
  template <typename F>
  void add(const table::RecordBatch& batch, F&& on_duplicate) {
    const std::vector<uint64_t>& hashes = hash_rows(batch);
    for (size_t r = 0; r < batch.num_rows; ++r) {
      if (!insert(hashes[r])) on_duplicate(r);
    }
  }
  void add(const table::RecordBatch& batch) {
    add(batch, [](size_t) {});
  }
  uint64_t duplicates() const { return duplicates_; }

 private:
  const std::vector<uint64_t>& hash_rows(const table::RecordBatch& batch);  // one hash per row
  bool insert(uint64_t row_hash);  // false: seen before
  struct State;
  std::unique_ptr<State> state_;
  uint64_t duplicates_ = 0;
};

// Checks rules over batches as they stream past. Columns are matched by name.
class Validator {
 public:
  // kInvalidArgument when the rules are malformed (see check_rules).
  static Result<Validator> create(const DatasetRules& rules, const std::vector<std::string>& column_names);
  ~Validator();
  Validator(Validator&&) noexcept;
  Validator& operator=(Validator&&) noexcept;

  // kInvalidArgument when the batch does not have one column per name given to create().
  Status add(const table::RecordBatch& batch);
  ValidationReport finish();

 private:
  Validator();
  struct State;
  std::unique_ptr<State> state_;
};

// Reads everything from `reader` and validates it.
Result<ValidationReport> validate(table::RecordReader& reader, const DatasetRules& rules,
                                  size_t batch_rows = 65536);

}  // namespace slipway::data
