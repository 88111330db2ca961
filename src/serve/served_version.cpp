// Compiling a served version, and the tensor <-> signature mapping described in inference.h.
#include <cmath>
#include <string_view>

#include <fmt/format.h>

#include "detail/served_version.h"

namespace slipway::serve::detail {
namespace {

std::string shape_text(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

// "a, b, c" (at most 10 names, then "... (N in all)").
template <typename Range, typename Name>
std::string name_list(const Range& range, Name name) {
  std::string out;
  size_t i = 0;
  for (const auto& item : range) {
    if (i == 10) {
      out += fmt::format(", ... ({} in all)", range.size());
      break;
    }
    if (i++ > 0) out += ", ";
    out += name(item);
  }
  return out;
}

std::string input_names(const ServedVersion& v) {
  return name_list(v.model.inputs, [](const model::InputColumn& c) { return c.name; });
}

std::string output_names(const ServedVersion& v) {
  std::string names = name_list(v.model.output_names, [](const std::string& s) { return s; });
  return names + ", " + kPackedOutputName;
}

Status check_input_tensor(const Tensor& t, bool categorical, size_t expected_columns, size_t& rows) {
  const bool packed = expected_columns > 1;
  if (categorical) {
    if (t.datatype != DataType::kBytes) {
      return make_error(ErrorCode::kInvalidArgument, "input '{}' has datatype {}, expected BYTES (a categorical input)",
                        t.name, datatype_name(t.datatype));
    }
  } else if (t.datatype == DataType::kBytes) {
    return make_error(ErrorCode::kInvalidArgument,
                      "input '{}' has datatype BYTES, expected a number type (FP32, FP64, INT32, INT64, ...)", t.name);
  }
  bool shape_ok = packed ? (t.shape.size() == 2 && t.shape[1] == static_cast<int64_t>(expected_columns))
                         : (t.shape.size() == 1 || (t.shape.size() == 2 && t.shape[1] == 1));
  if (!shape_ok || t.shape[0] < 0) {
    if (packed) {
      return make_error(ErrorCode::kInvalidArgument, "input '{}' has shape {}, expected [-1, {}] (one column per input)",
                        t.name, shape_text(t.shape), expected_columns);
    }
    return make_error(ErrorCode::kInvalidArgument, "input '{}' has shape {}, expected [-1] or [-1, 1]", t.name,
                      shape_text(t.shape));
  }
  int64_t count = t.element_count();
  if (count < 0) {
    return make_error(ErrorCode::kInvalidArgument, "input '{}' has shape {}: more than {} elements", t.name,
                      shape_text(t.shape), kMaxTensorElements);
  }
  if (t.datatype == DataType::kBytes) {
    if (t.strings.size() != static_cast<size_t>(count)) {
      return make_error(ErrorCode::kInvalidArgument, "input '{}' has {} values, shape {} needs {}", t.name,
                        t.strings.size(), shape_text(t.shape), count);
    }
  } else {
    size_t need = static_cast<size_t>(count) * datatype_size(t.datatype);
    if (t.raw.size() != need) {
      return make_error(ErrorCode::kInvalidArgument, "input '{}' has {} bytes of data, shape {} of {} needs {}", t.name,
                        t.raw.size(), shape_text(t.shape), datatype_name(t.datatype), need);
    }
  }
  rows = static_cast<size_t>(t.shape[0]);
  return {};
}

}  // namespace

Result<std::shared_ptr<const ServedVersion>> make_served_version(const std::string& name, const SourceVersion& version,
                                                                  model::Model model) {
  SLIPWAY_RETURN_IF_ERROR(model::validate_model(model));
  auto v = std::make_shared<ServedVersion>();
  v->model_name = name;
  v->source_version = version;
  v->model = std::move(model);
  v->encoder = std::make_unique<model::FeatureEncoder>(v->model);
  model::PredictorOptions options;
  options.threads = 1;
  SLIPWAY_ASSIGN_OR_RETURN(v->predictor, model::Predictor::create(v->model, options));
  if (v->encoder->n_features() != v->predictor->n_features()) {
    return make_error(ErrorCode::kInvalidArgument, "the inputs give {} features but the model reads {}",
                      v->encoder->n_features(), v->predictor->n_features());
  }
  const size_t n_outputs = v->predictor->n_outputs();
  if (v->model.output_names.size() != n_outputs) {
    v->model.output_names.clear();
    for (size_t k = 0; k < n_outputs; ++k) v->model.output_names.push_back(fmt::format("output_{}", k));
  }
  v->identity_encoding = v->encoder->n_features() == v->model.inputs.size();
  for (const auto& input : v->model.inputs) {
    if (input.kind == model::InputKind::kCategorical) v->all_numeric = false;
    if (input.name == kPackedInputName) v->all_numeric = false;  // the packed name would be ambiguous
    if (input.kind != model::InputKind::kNumeric || !input.steps.empty()) v->identity_encoding = false;
  }

  // Probe: one row of all-missing inputs must predict finite outputs.
  std::vector<model::FeatureEncoder::RawValue> raw(v->model.inputs.size());
  for (auto& value : raw) {
    value.number = std::nan("");
    value.missing = true;
  }
  std::vector<float> features(v->n_features());
  std::vector<float> out(n_outputs);
  v->encoder->encode_row(raw.data(), features.data());
  v->predictor->predict_row(features.data(), out.data());
  for (size_t k = 0; k < n_outputs; ++k) {
    if (!std::isfinite(out[k])) {
      return make_error(ErrorCode::kInvalidArgument, "probe prediction of a row of missing values gave {} for output '{}'",
                        out[k], v->model.output_names[k]);
    }
  }

  ModelMetadata& md = v->metadata;
  md.name = name;
  md.versions = {version.label};
  md.platform = std::string("slipway_") + model::body_kind_name(v->model.body);
  for (const auto& input : v->model.inputs) {
    bool categorical = input.kind == model::InputKind::kCategorical;
    md.inputs.push_back({input.name, categorical ? DataType::kBytes : DataType::kFp32, {-1}});
  }
  for (const auto& output : v->model.output_names) md.outputs.push_back({output, DataType::kFp32, {-1}});
  v->stats = std::make_shared<VersionStats>(version.label);
  return std::shared_ptr<const ServedVersion>(std::move(v));
}

Status encode_request(const ServedVersion& v, const InferRequest& request, std::vector<float>& features, size_t& rows,
                      OutputPlan& plan) {
  const auto& inputs = v.model.inputs;
  const size_t n_inputs = inputs.size();
  thread_local std::vector<const Tensor*> bound;
  bound.assign(n_inputs, nullptr);
  const Tensor* packed = nullptr;
  size_t n_bound = 0;
  size_t position = 0;
  for (const Tensor& t : request.inputs) {
    const size_t guess = position++;  // clients usually send the inputs in signature order
    if (v.all_numeric && t.name == kPackedInputName) {
      if (packed != nullptr) return make_error(ErrorCode::kInvalidArgument, "input '{}' is given twice", t.name);
      packed = &t;
      continue;
    }
    size_t i = 0;
    if (guess < n_inputs && inputs[guess].name == t.name) {
      i = guess;
    } else {
      while (i < n_inputs && inputs[i].name != t.name) ++i;
    }
    if (i == n_inputs) {
      return make_error(ErrorCode::kInvalidArgument, "unknown input '{}': model '{}' takes {}", t.name, v.model_name,
                        input_names(v));
    }
    if (bound[i] != nullptr) return make_error(ErrorCode::kInvalidArgument, "input '{}' is given twice", t.name);
    bound[i] = &t;
    ++n_bound;
  }
  if (packed != nullptr && n_bound > 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "input '{}' (every input in one tensor) cannot be combined with per-input tensors", kPackedInputName);
  }
  rows = 0;
  if (packed != nullptr) {
    SLIPWAY_RETURN_IF_ERROR(check_input_tensor(*packed, false, n_inputs, rows));
  } else {
    bool first = true;
    for (size_t i = 0; i < n_inputs; ++i) {
      if (bound[i] == nullptr) {
        return make_error(ErrorCode::kInvalidArgument, "missing input '{}': model '{}' takes {}", inputs[i].name,
                          v.model_name, input_names(v));
      }
      size_t r = 0;
      SLIPWAY_RETURN_IF_ERROR(
          check_input_tensor(*bound[i], inputs[i].kind == model::InputKind::kCategorical, 1, r));
      if (first) {
        rows = r;
        first = false;
      } else if (r != rows) {
        return make_error(ErrorCode::kInvalidArgument, "input '{}' has {} rows but input '{}' has {}", inputs[i].name, r,
                          inputs[0].name, rows);
      }
    }
  }
  if (rows == 0) return make_error(ErrorCode::kInvalidArgument, "the request has no rows (batch size 0)");

  plan.columns.clear();
  if (request.outputs.empty()) {
    for (size_t k = 0; k < v.model.output_names.size(); ++k) plan.columns.push_back(static_cast<int>(k));
  } else {
    for (const auto& wanted : request.outputs) {
      if (wanted.name == kPackedOutputName) {
        plan.columns.push_back(-1);
        continue;
      }
      size_t k = 0;
      while (k < v.model.output_names.size() && v.model.output_names[k] != wanted.name) ++k;
      if (k == v.model.output_names.size()) {
        return make_error(ErrorCode::kInvalidArgument, "unknown output '{}': model '{}' has {}", wanted.name,
                          v.model_name, output_names(v));
      }
      plan.columns.push_back(static_cast<int>(k));
    }
  }

  const size_t n_features = v.n_features();
  features.resize(rows * n_features);
  if (v.identity_encoding) {
    // Numbers straight into the feature rows: one pass per tensor, the type switch outside the loop.
    auto fill = [&](const Tensor& t, size_t column, size_t stride) {
      float* dst = features.data() + column;
      const size_t count = stride == 1 ? rows * n_inputs : rows;
      const size_t step = stride == 1 ? 1 : n_features;
      if (t.datatype == DataType::kFp32 && stride == 1) {
        std::memcpy(features.data(), t.raw.data(), count * sizeof(float));
      } else if (t.datatype == DataType::kFp32) {
        for (size_t r = 0; r < count; ++r) dst[r * step] = t.at<float>(r);
      } else if (t.datatype == DataType::kFp64) {
        for (size_t r = 0; r < count; ++r) dst[r * step] = static_cast<float>(t.at<double>(r));
      } else {
        for (size_t r = 0; r < count; ++r) dst[r * step] = static_cast<float>(t.number_at(r));
      }
    };
    if (packed != nullptr) {
      fill(*packed, 0, 1);
    } else {
      for (size_t i = 0; i < n_inputs; ++i) fill(*bound[i], i, 0);
    }
    for (size_t k = 0; k < features.size(); ++k) {
      if (std::isinf(features[k])) {
        // Only a value too large for float32 turns infinite here; name it as the slow path would.
        const size_t r = k / n_features, i = k % n_features;
        return make_error(ErrorCode::kInvalidArgument,
                          "input '{}' row {} is infinite; send NaN (or null in JSON) for a missing value",
                          inputs[i].name, r);
      }
    }
    return {};
  }
  thread_local std::vector<model::FeatureEncoder::RawValue> raw;
  raw.resize(n_inputs);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t i = 0; i < n_inputs; ++i) {
      auto& value = raw[i];
      if (inputs[i].kind == model::InputKind::kCategorical) {
        value.text = bound[i]->strings[r];
        value.missing = value.text.empty();
        value.number = 0;
        continue;
      }
      double x = packed != nullptr ? packed->number_at(r * n_inputs + i) : bound[i]->number_at(r);
      if (std::isinf(x)) {
        return make_error(ErrorCode::kInvalidArgument,
                          "input '{}' row {} is infinite; send NaN (or null in JSON) for a missing value",
                          inputs[i].name, r);
      }
      value.number = x;
      value.missing = std::isnan(x);
      value.text = {};
    }
    v.encoder->encode_row(raw.data(), features.data() + r * n_features);
  }
  return {};
}

void fill_outputs(const ServedVersion& v, const OutputPlan& plan, const float* out, size_t rows,
                  InferResponse& response) {
  const size_t n_outputs = v.n_outputs();
  response.outputs.resize(plan.columns.size());
  for (size_t j = 0; j < plan.columns.size(); ++j) {
    Tensor& t = response.outputs[j];
    int column = plan.columns[j];
    t.datatype = DataType::kFp32;
    t.strings.clear();
    if (column < 0) {
      t.name = kPackedOutputName;
      t.shape = {static_cast<int64_t>(rows), static_cast<int64_t>(n_outputs)};
      t.raw.assign(reinterpret_cast<const char*>(out), rows * n_outputs * sizeof(float));
      continue;
    }
    t.name = v.model.output_names[static_cast<size_t>(column)];
    t.shape = {static_cast<int64_t>(rows)};
    t.raw.resize(rows * sizeof(float));
    char* dst = t.raw.data();
    for (size_t r = 0; r < rows; ++r) {
      std::memcpy(dst + r * sizeof(float), out + r * n_outputs + static_cast<size_t>(column), sizeof(float));
    }
  }
}

}  // namespace slipway::serve::detail
