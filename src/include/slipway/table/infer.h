// Type inference over the whole input (not a sample): a column's type is the first of
// bool < int64 < float64 < timestamp < string that every non-missing value parses as.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "slipway/core/status.h"
#include "slipway/table/reader.h"
#include "slipway/table/types.h"

namespace slipway::table {

struct InferredColumn {
  ColumnSpec spec;               // inferred type; nullable = any missing value seen
  uint64_t missing = 0;
  uint64_t non_missing = 0;
  std::optional<double> min;     // for int64/float64 (as double) and timestamp (micros)
  std::optional<double> max;
};

// Values of the columns that are float64 so far, parsed once by inference so that the same pass can
// profile them.
struct FloatValues {
  std::vector<std::vector<double>> columns;  // [column][row]; missing rows hold 0
  std::vector<uint8_t> valid;                // 1: columns[c] holds the batch's values
};

class TypeInferrer {
 public:
  // `fixed` (from a schema file) pins the type of the named columns: a non-missing value that does
  // not parse as the pinned type makes finish() return a kParseError naming file, line, column:
  // "FILE:LINE:FIELD: value 'abc' in column 'dep_time' is not a valid int64 (the schema says int64)"
  // where FIELD is the 1-based field index (batches carry no character positions). The earliest
  // line wins. A column with no non-missing values is inferred as string.
  TypeInferrer(std::vector<std::string> column_names, std::string source_name,
               const TableSchema* fixed = nullptr);
  ~TypeInferrer();
  TypeInferrer(TypeInferrer&&) noexcept;
  TypeInferrer& operator=(TypeInferrer&&) noexcept;

  void add(const RecordBatch& batch);
  // As add(), and fills `floats` for every unpinned column whose candidates after this batch are
  // exactly float64 (no longer bool or int64, not yet string): each non-missing value parsed with
  // parse_float64.
  void add(const RecordBatch& batch, FloatValues* floats);
  void merge(const TypeInferrer& other);  // for parallel inference over ranges of one input
  uint64_t rows() const;
  Result<std::vector<InferredColumn>> finish() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace slipway::table
