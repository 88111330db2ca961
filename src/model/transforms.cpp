// FeatureEncoder: raw named inputs -> dense float32 feature rows, running each input's steps in
// double precision and rounding once at the end. Also fit_inputs, which learns those steps.
#include "slipway/model/transforms.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <unordered_map>

#include "slipway/table/types.h"

namespace slipway::model {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// One numeric step. NaN (missing) passes through every step except impute.
double apply_numeric_step(const TransformStep& step, double x) {
  const auto& p = step.params;
  switch (step.kind) {
    case StepKind::kImpute: return std::isnan(x) ? p[0] : x;
    case StepKind::kStandardize: return (x - p[0]) / p[1];
    case StepKind::kMinMax: return (x - p[0]) * p[1] + p[2];
    case StepKind::kLog1p: return std::log1p(x);
    case StepKind::kClip: return std::isnan(x) ? x : std::clamp(x, p[0], p[1]);
    case StepKind::kBucketize:
      if (std::isnan(x)) return x;
      return static_cast<double>(std::upper_bound(p.begin(), p.end(), x) - p.begin());
    case StepKind::kOrdinal:
    case StepKind::kOneHot: break;  // validate_model keeps these off numeric inputs
  }
  return x;
}

std::string join_names(const std::vector<std::string>& names, size_t limit) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < limit; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > limit) out += fmt::format(", ... ({} in all)", names.size());
  return out;
}

}  // namespace

struct FeatureEncoder::Vocabulary {
  std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> index;
};

FeatureEncoder::FeatureEncoder(const Model& model) : model_(model) {
  size_t offset = 0;
  for (const auto& input : model.inputs) {
    offsets_.push_back(offset);
    offset += input.width();
    if (input.kind == InputKind::kCategorical && !input.steps.empty()) {
      auto vocab = std::make_shared<Vocabulary>();
      const auto& cats = input.steps.back().categories;
      vocab->index.reserve(cats.size());
      for (size_t i = 0; i < cats.size(); ++i) vocab->index.emplace(cats[i], static_cast<uint32_t>(i));
      vocabularies_.push_back(std::move(vocab));
    } else {
      vocabularies_.push_back(nullptr);
    }
  }
}

size_t FeatureEncoder::n_inputs() const { return model_.inputs.size(); }
size_t FeatureEncoder::n_features() const { return model_.n_features(); }

Result<std::vector<size_t>> FeatureEncoder::bind(const std::vector<std::string>& names) const {
  std::unordered_map<std::string_view, size_t> position;
  for (size_t i = 0; i < names.size(); ++i) position.emplace(names[i], i);  // first of duplicates wins
  std::vector<size_t> columns;
  std::vector<std::string> absent;
  for (const auto& input : model_.inputs) {
    auto it = position.find(input.name);
    if (it == position.end()) {
      absent.push_back(input.name);
    } else {
      columns.push_back(it->second);
    }
  }
  if (!absent.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "the model needs input(s) {} that the data does not have (columns: {})",
                      join_names(absent, 20), join_names(names, 20));
  }
  return columns;
}

void FeatureEncoder::encode_numeric(size_t input, double value, float* out) const {
  for (const auto& step : model_.inputs[input].steps) value = apply_numeric_step(step, value);
  out[offsets_[input]] = static_cast<float>(value);
}

void FeatureEncoder::encode_category(size_t input, std::string_view text, bool missing, float* out) const {
  const TransformStep& step = model_.inputs[input].steps.back();
  float* dst = out + offsets_[input];
  const auto& index = vocabularies_[input]->index;
  auto it = missing ? index.end() : index.find(text);
  if (step.kind == StepKind::kOrdinal) {
    if (missing) {
      *dst = std::numeric_limits<float>::quiet_NaN();
    } else {
      *dst = it != index.end() ? static_cast<float>(it->second) : static_cast<float>(step.params[0]);
    }
    return;
  }
  // One-hot: a missing value is treated like an unknown category.
  const size_t width = model_.inputs[input].width();
  std::fill(dst, dst + width, 0.0f);
  if (it != index.end()) {
    dst[it->second] = 1.0f;
  } else if (step.unknown_bucket) {
    dst[width - 1] = 1.0f;
  }
}

Status FeatureEncoder::encode_batch(const table::RecordBatch& batch, const std::vector<size_t>& column_of_input,
                                    float* out) const {
  const size_t n_features = model_.n_features();
  for (size_t i = 0; i < model_.inputs.size(); ++i) {
    const auto& input = model_.inputs[i];
    const size_t c = column_of_input[i];
    const auto& fields = batch.columns[c];
    const auto& nulls = batch.nulls[c];
    for (size_t r = 0; r < batch.num_rows; ++r) {
      float* row = out + r * n_features;
      const bool missing = nulls[r] != 0 || fields[r].empty();
      if (input.kind == InputKind::kCategorical) {
        encode_category(i, fields[r], missing, row);
        continue;
      }
      double value = kNaN;
      if (!missing && !table::parse_float64(fields[r], &value)) {
        const uint64_t row_number = r < batch.row_numbers.size() ? batch.row_numbers[r] : r + 1;
        return make_error(ErrorCode::kInvalidArgument, "row {}, column '{}': '{}' is not a number", row_number,
                          input.name, fields[r].substr(0, 64));
      }
      encode_numeric(i, value, row);
    }
  }
  return {};
}

void FeatureEncoder::encode_row(const RawValue* values, float* out) const {
  for (size_t i = 0; i < model_.inputs.size(); ++i) {
    if (model_.inputs[i].kind == InputKind::kCategorical) {
      encode_category(i, values[i].text, values[i].missing, out);
    } else {
      encode_numeric(i, values[i].missing ? kNaN : values[i].number, out);
    }
  }
}

// ---- fitting ----

namespace {

bool is_encoding(StepKind k) { return k == StepKind::kOrdinal || k == StepKind::kOneHot; }

double mean_of(const std::vector<double>& v, size_t* count) {
  double sum = 0;
  *count = 0;
  for (double x : v) {
    if (!std::isnan(x)) {
      sum += x;
      ++*count;
    }
  }
  return *count ? sum / static_cast<double>(*count) : 0.0;
}

double median_of(const std::vector<double>& v) {
  std::vector<double> present;
  for (double x : v) {
    if (!std::isnan(x)) present.push_back(x);
  }
  if (present.empty()) return 0.0;
  const size_t mid = present.size() / 2;
  std::nth_element(present.begin(), present.begin() + mid, present.end());
  if (present.size() % 2 == 1) return present[mid];
  const double upper = present[mid];
  const double lower = *std::max_element(present.begin(), present.begin() + mid);
  return (lower + upper) / 2;  // numpy.median's convention for an even count
}

Result<TransformStep> fit_numeric_step(const FitRequest& req, StepKind kind, const std::vector<double>& values) {
  TransformStep step;
  step.kind = kind;
  size_t count = 0;
  switch (kind) {
    case StepKind::kImpute:
      if (req.impute_median) {
        step.params = {median_of(values)};
        step.fitted_from = fmt::format("median of {}", req.input);
      } else {
        step.params = {mean_of(values, &count)};
        step.fitted_from = fmt::format("mean of {}", req.input);
      }
      break;
    case StepKind::kStandardize: {
      const double mean = mean_of(values, &count);
      double ss = 0;
      for (double x : values) {
        if (!std::isnan(x)) ss += (x - mean) * (x - mean);
      }
      const double sd = count ? std::sqrt(ss / static_cast<double>(count)) : 0.0;
      step.params = {mean, sd > 0 ? sd : 1.0};
      step.fitted_from = fmt::format("mean and standard deviation of {}", req.input);
      break;
    }
    case StepKind::kMinMax: {
      double lo = std::numeric_limits<double>::infinity(), hi = -lo;
      for (double x : values) {
        if (!std::isnan(x)) {
          lo = std::min(lo, x);
          hi = std::max(hi, x);
        }
      }
      if (lo > hi) lo = hi = 0;  // all missing
      step.params = {lo, hi > lo ? 1.0 / (hi - lo) : 1.0, 0.0};
      step.fitted_from = fmt::format("min and max of {}", req.input);
      break;
    }
    case StepKind::kLog1p: break;
    case StepKind::kClip:
      if (req.clip.size() != 2) {
        return make_error(ErrorCode::kInvalidArgument, "input '{}': clip needs {{lo, hi}}", req.input);
      }
      step.params = req.clip;
      break;
    case StepKind::kBucketize:
      if (req.buckets.empty()) {
        return make_error(ErrorCode::kInvalidArgument, "input '{}': bucketize needs edges", req.input);
      }
      step.params = req.buckets;
      std::sort(step.params.begin(), step.params.end());
      step.params.erase(std::unique(step.params.begin(), step.params.end()), step.params.end());
      break;
    case StepKind::kOrdinal:
    case StepKind::kOneHot: break;
  }
  if (step.fitted_from.size() > 0) step.fitted_from += fmt::format(" over {} rows", values.size());
  return step;
}

}  // namespace

Result<std::vector<InputColumn>> fit_inputs(table::RecordReader& reader, const std::vector<FitRequest>& requests) {
  const auto& names = reader.column_names();
  std::vector<size_t> column(requests.size());
  std::vector<bool> categorical(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& req = requests[i];
    auto it = std::find(names.begin(), names.end(), req.input);
    if (it == names.end()) {
      return make_error(ErrorCode::kInvalidArgument, "{}: no column '{}' to fit (columns: {})", reader.source_name(),
                        req.input, join_names(names, 20));
    }
    column[i] = static_cast<size_t>(it - names.begin());
    categorical[i] = std::any_of(req.steps.begin(), req.steps.end(), is_encoding);
    if (categorical[i] && req.steps.size() != 1) {
      return make_error(ErrorCode::kInvalidArgument,
                        "input '{}': a categorical input takes exactly one step, ordinal or one_hot", req.input);
    }
  }
  std::vector<std::vector<double>> numbers(requests.size());
  std::vector<std::unordered_map<std::string, uint64_t, StringHash, std::equal_to<>>> counts(requests.size());
  table::RecordBatch batch;
  for (;;) {
    SLIPWAY_ASSIGN_OR_RETURN(bool more, reader.next(batch, 65536));
    if (!more) break;
    for (size_t i = 0; i < requests.size(); ++i) {
      const auto& fields = batch.columns[column[i]];
      const auto& nulls = batch.nulls[column[i]];
      for (size_t r = 0; r < batch.num_rows; ++r) {
        const bool missing = nulls[r] != 0 || fields[r].empty();
        if (categorical[i]) {
          if (missing) continue;
          auto it = counts[i].find(fields[r]);
          if (it == counts[i].end()) it = counts[i].emplace(std::string(fields[r]), 0).first;
          ++it->second;
          continue;
        }
        double v = kNaN;
        if (!missing && !table::parse_float64(fields[r], &v)) {
          return make_error(ErrorCode::kInvalidArgument, "{}: row {}, column '{}': '{}' is not a number",
                            reader.source_name(), batch.row_numbers[r], requests[i].input, fields[r].substr(0, 64));
        }
        numbers[i].push_back(v);
      }
    }
  }
  std::vector<InputColumn> out;
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& req = requests[i];
    InputColumn input;
    input.name = req.input;
    if (categorical[i]) {
      input.kind = InputKind::kCategorical;
      std::vector<std::pair<std::string_view, uint64_t>> sorted(counts[i].begin(), counts[i].end());
      std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
      });
      TransformStep step;
      step.kind = req.steps[0];
      for (const auto& [name, n] : sorted) step.categories.emplace_back(name);
      if (step.kind == StepKind::kOrdinal) step.params = {kNaN};
      step.unknown_bucket = step.kind == StepKind::kOneHot && req.unknown_bucket;
      step.fitted_from = fmt::format("categories of {} by frequency", req.input);
      input.steps.push_back(std::move(step));
    } else {
      auto& values = numbers[i];
      for (StepKind kind : req.steps) {
        SLIPWAY_ASSIGN_OR_RETURN(TransformStep step, fit_numeric_step(req, kind, values));
        for (double& v : values) v = apply_numeric_step(step, v);
        input.steps.push_back(std::move(step));
      }
    }
    out.push_back(std::move(input));
  }
  return out;
}

}  // namespace slipway::model
