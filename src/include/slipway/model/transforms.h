// Turns named raw inputs into the dense float32 feature rows the engine reads, running the model's
// InputColumn steps (impute, standardize, one-hot, ...). The same code runs in training, batch
// scoring and serving, so there is no train/serve skew.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "slipway/core/status.h"
#include "slipway/model/model.h"
#include "slipway/table/reader.h"

namespace slipway::model {

class FeatureEncoder {
 public:
  explicit FeatureEncoder(const Model& model);  // the model must outlive the encoder

  size_t n_inputs() const;
  size_t n_features() const;

  // Maps a table's columns to the model's inputs by name. Missing inputs are a kInvalidArgument
  // naming them; extra columns are ignored. Returns, per model input, the column index in `names`.
  Result<std::vector<size_t>> bind(const std::vector<std::string>& names) const;

  // Encodes rows of raw text fields (as readers produce them; a null or empty field is missing) into
  // out[r * n_features + f]. A numeric input that does not parse is kInvalidArgument naming the row
  // and column. `column_of_input` comes from bind().
  Status encode_batch(const table::RecordBatch& batch, const std::vector<size_t>& column_of_input,
                      float* out) const;

  // One row, values in input order (no allocation; for serving). A numeric input reads `number`
  // (NaN = missing), a categorical one reads `text`; `missing` marks either as missing.
  struct RawValue {
    double number = 0;
    std::string_view text;
    bool missing = false;
  };
  void encode_row(const RawValue* values, float* out) const;

 private:
  struct Vocabulary;  // category -> index, one per categorical input
  void encode_numeric(size_t input, double value, float* out) const;
  void encode_category(size_t input, std::string_view text, bool missing, float* out) const;

  const Model& model_;
  std::vector<size_t> offsets_;  // first feature column of each input
  std::vector<std::shared_ptr<const Vocabulary>> vocabularies_;  // null for numeric inputs
};

// Fits steps on training data (used by the trainer; also by tests): mean/median imputation,
// standardization, min-max, one-hot/ordinal vocabularies (categories sorted by frequency, then name).
struct FitRequest {
  std::string input;
  std::vector<StepKind> steps;
  std::vector<double> clip;     // for kClip: {lo, hi}
  std::vector<double> buckets;  // for kBucketize: edges
  bool impute_median = false;   // else mean
  bool unknown_bucket = true;
};

// Reads `reader` to the end and fits one InputColumn per request, in request order. An input whose
// steps include kOrdinal or kOneHot is categorical (that must be its only step); others are numeric.
// Each step is fitted on the values as the steps before it left them (impute, then standardize sees
// the imputed values), as a scikit-learn Pipeline does. Standardize: mean and population standard
// deviation (scale 1 when it is 0); min-max: scale 1 / (max - min) (1 when max == min), offset 0;
// impute of an all-missing column: 0. Ordinal: unknown categories map to NaN (missing).
// Errors: an input the data does not have, a value that is not a number (naming row and column).
Result<std::vector<InputColumn>> fit_inputs(table::RecordReader& reader, const std::vector<FitRequest>& requests);

}  // namespace slipway::model
