#include "slipway/table/infer.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace slipway::table {
namespace {

// Candidate types as bits; kString is implied (every value is a string).
constexpr unsigned kBool = 1u << 0;
constexpr unsigned kInt = 1u << 1;
constexpr unsigned kFloat = 1u << 2;
constexpr unsigned kTime = 1u << 3;
constexpr unsigned kAll = kBool | kInt | kFloat | kTime;
constexpr uint64_t kNoLine = std::numeric_limits<uint64_t>::max();

unsigned bit_of(DataType type) {
  switch (type) {
    case DataType::kBool: return kBool;
    case DataType::kInt64: return kInt;
    case DataType::kFloat64: return kFloat;
    case DataType::kTimestamp: return kTime;
    case DataType::kString: return 0;
  }
  return 0;
}

struct Range {
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  bool any = false;
  void add(double v) {
    if (std::isnan(v)) return;
    min = std::min(min, v);
    max = std::max(max, v);
    any = true;
  }
  void merge(const Range& o) {
    if (!o.any) return;
    min = std::min(min, o.min);
    max = std::max(max, o.max);
    any = true;
  }
};

struct Column {
  unsigned candidates = kAll;
  std::optional<DataType> pinned;
  uint64_t missing = 0;
  uint64_t non_missing = 0;
  Range ints, floats, times;
  // First value that broke the pinned type.
  uint64_t bad_line = kNoLine;
  std::string bad_value;
};

}  // namespace

struct TypeInferrer::State {
  std::vector<std::string> names;
  std::string source;
  std::vector<Column> columns;
  uint64_t rows = 0;
};

TypeInferrer::TypeInferrer(std::vector<std::string> column_names, std::string source_name, const TableSchema* fixed)
    : state_(std::make_unique<State>()) {
  state_->names = std::move(column_names);
  state_->source = std::move(source_name);
  state_->columns.resize(state_->names.size());
  if (fixed) {
    for (size_t c = 0; c < state_->names.size(); ++c) {
      if (auto i = fixed->index_of(state_->names[c])) {
        state_->columns[c].pinned = fixed->columns[*i].type;
        state_->columns[c].candidates = bit_of(fixed->columns[*i].type);
      }
    }
  }
}

TypeInferrer::~TypeInferrer() = default;
TypeInferrer::TypeInferrer(TypeInferrer&&) noexcept = default;
TypeInferrer& TypeInferrer::operator=(TypeInferrer&&) noexcept = default;

uint64_t TypeInferrer::rows() const { return state_->rows; }

namespace {

// Which of `candidates` the text parses as, updating the ranges of those types. The parsers are
// tried cheapest and most likely first; a bool or number is never a timestamp and vice versa.
unsigned classify(std::string_view text, unsigned candidates, Column& col) {
  if (candidates & kBool) {
    bool b;
    if (parse_bool(text, &b)) return kBool;
  }
  if (candidates & kInt) {
    int64_t i;
    if (parse_int64(text, &i)) {
      col.ints.add(static_cast<double>(i));
      col.floats.add(static_cast<double>(i));
      return kInt | kFloat;
    }
  }
  if (candidates & kFloat) {
    double d;
    if (parse_float64(text, &d)) {
      col.floats.add(d);
      return kFloat;
    }
  }
  if (candidates & kTime) {
    int64_t t;
    if (parse_timestamp(text, &t)) {
      col.times.add(static_cast<double>(t));
      return kTime;
    }
  }
  return 0;
}

}  // namespace

void TypeInferrer::add(const RecordBatch& batch) { add(batch, nullptr); }

void TypeInferrer::add(const RecordBatch& batch, FloatValues* floats) {
  const size_t n = batch.num_rows;
  state_->rows += n;
  if (floats) {
    floats->columns.resize(state_->columns.size());
    floats->valid.assign(state_->columns.size(), 0);
  }
  for (size_t c = 0; c < state_->columns.size() && c < batch.columns.size(); ++c) {
    Column& col = state_->columns[c];
    const auto& values = batch.columns[c];
    const auto& nulls = batch.nulls[c];
    uint64_t missing = 0;
    if (col.pinned) {
      const unsigned want = col.candidates;
      const bool check = want != 0 && col.bad_line == kNoLine;
      for (size_t r = 0; r < n; ++r) {
        if (nulls[r]) {
          ++missing;
          continue;
        }
        if (!check) continue;
        if ((classify(values[r], want, col) & want) == 0 && col.bad_line == kNoLine) {
          col.bad_line = batch.line_numbers[r];
          col.bad_value = std::string(values[r]);
        }
      }
    } else if (floats && col.candidates == kFloat) {
      // The common case of a numeric column: one parse serves inference and the profile.
      std::vector<double>& out = floats->columns[c];
      out.resize(n);
      unsigned candidates = kFloat;
      for (size_t r = 0; r < n; ++r) {
        if (nulls[r]) {
          ++missing;
          out[r] = 0;
          continue;
        }
        if (candidates == 0) continue;
        double d;
        if (parse_float64(values[r], &d)) {
          col.floats.add(d);
          out[r] = d;
        } else {
          candidates = 0;  // what classify() says of a non-number when only float64 is left
        }
      }
      col.candidates = candidates;
      floats->valid[c] = candidates == kFloat;
    } else {
      unsigned candidates = col.candidates;
      for (size_t r = 0; r < n; ++r) {
        if (nulls[r]) {
          ++missing;
          continue;
        }
        if (candidates == 0) continue;  // already a string: nothing left to parse
        candidates &= classify(values[r], candidates, col);
      }
      col.candidates = candidates;
      if (floats && candidates == kFloat) {
        // The column became float64 in this batch (its first values may have been integers).
        std::vector<double>& out = floats->columns[c];
        out.resize(n);
        for (size_t r = 0; r < n; ++r) {
          if (nulls[r] || !parse_float64(values[r], &out[r])) out[r] = 0;
        }
        floats->valid[c] = 1;
      }
    }
    col.missing += missing;
    col.non_missing += n - missing;
  }
}

void TypeInferrer::merge(const TypeInferrer& other) {
  state_->rows += other.state_->rows;
  for (size_t c = 0; c < state_->columns.size() && c < other.state_->columns.size(); ++c) {
    Column& a = state_->columns[c];
    const Column& b = other.state_->columns[c];
    if (!a.pinned) a.candidates &= b.candidates;
    a.missing += b.missing;
    a.non_missing += b.non_missing;
    a.ints.merge(b.ints);
    a.floats.merge(b.floats);
    a.times.merge(b.times);
    if (b.bad_line < a.bad_line) {
      a.bad_line = b.bad_line;
      a.bad_value = b.bad_value;
    }
  }
}

Result<std::vector<InferredColumn>> TypeInferrer::finish() const {
  // The earliest offending value in the input wins (then the leftmost column).
  size_t worst = state_->columns.size();
  for (size_t c = 0; c < state_->columns.size(); ++c) {
    const Column& col = state_->columns[c];
    if (col.bad_line != kNoLine && (worst == state_->columns.size() || col.bad_line < state_->columns[worst].bad_line)) {
      worst = c;
    }
  }
  if (worst < state_->columns.size()) {
    const Column& col = state_->columns[worst];
    const char* type = data_type_name(*col.pinned);
    return make_error(ErrorCode::kParseError, "{}:{}:{}: value '{}' in column '{}' is not a valid {} (the schema says {})",
                      state_->source, col.bad_line, worst + 1, col.bad_value, state_->names[worst], type, type);
  }
  std::vector<InferredColumn> out;
  out.reserve(state_->columns.size());
  for (size_t c = 0; c < state_->columns.size(); ++c) {
    const Column& col = state_->columns[c];
    InferredColumn ic;
    ic.spec.name = state_->names[c];
    ic.missing = col.missing;
    ic.non_missing = col.non_missing;
    ic.spec.nullable = col.missing > 0;
    if (col.pinned) {
      ic.spec.type = *col.pinned;
    } else if (col.non_missing == 0) {
      ic.spec.type = DataType::kString;  // nothing to go on
    } else if (col.candidates & kBool) {
      ic.spec.type = DataType::kBool;
    } else if (col.candidates & kInt) {
      ic.spec.type = DataType::kInt64;
    } else if (col.candidates & kFloat) {
      ic.spec.type = DataType::kFloat64;
    } else if (col.candidates & kTime) {
      ic.spec.type = DataType::kTimestamp;
    } else {
      ic.spec.type = DataType::kString;
    }
    const Range* range = nullptr;
    if (ic.spec.type == DataType::kInt64) range = &col.ints;
    if (ic.spec.type == DataType::kFloat64) range = &col.floats;
    if (ic.spec.type == DataType::kTimestamp) range = &col.times;
    if (range && range->any) {
      ic.min = range->min;
      ic.max = range->max;
    }
    out.push_back(std::move(ic));
  }
  return out;
}

}  // namespace slipway::table
