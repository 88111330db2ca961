// The bundle file (formats 1 and 2, see bundle.h and docs/model-format.md): a fixed 64-byte header, a JSON
// manifest, then a blob of little-endian arrays that the manifest references by offset and length.
// The reader trusts nothing: every size is checked against the file before anything is allocated,
// the SHA-256 is checked before the manifest is parsed, and the result goes through validate_model.
#include "slipway/model/bundle.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "slipway/core/fs.h"
#include "slipway/core/hash.h"

namespace slipway::model {

static_assert(std::endian::native == std::endian::little, "the bundle blob is little-endian");

namespace {

using nlohmann::json;

constexpr char kMagic[8] = {'S', 'L', 'W', 'M', 'O', 'D', 'E', 'L'};
constexpr size_t kHeaderSize = 64;  // magic 8 + version 4 + reserved 4 + sizes 16 + sha256 32
constexpr size_t kAlign = 64;

Status corrupt(const std::string& source, const std::string& message) {
  return Status(ErrorCode::kCorrupt, source + ": " + message);
}

// ---- values that JSON cannot hold directly ----

json number_json(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

json numbers_json(const std::vector<double>& v) {
  json out = json::array();
  for (double x : v) out.push_back(number_json(x));
  return out;
}

// ---- enum names ----

template <typename E, size_t N>
const char* name_of(const std::pair<E, const char*> (&table)[N], E value) {
  for (const auto& [e, name] : table) {
    if (e == value) return name;
  }
  return "unknown";
}

constexpr std::pair<InputKind, const char*> kInputKinds[] = {{InputKind::kNumeric, "numeric"},
                                                             {InputKind::kCategorical, "categorical"}};
constexpr std::pair<Comparison, const char*> kComparisons[] = {{Comparison::kLess, "less"},
                                                               {Comparison::kLessEqual, "less_equal"}};
constexpr std::pair<RowNormalization, const char*> kRowNormalizations[] = {{RowNormalization::kNone, "none"},
                                                                           {RowNormalization::kMax, "max"},
                                                                           {RowNormalization::kL1, "l1"},
                                                                           {RowNormalization::kL2, "l2"}};

// The oldest format that holds the model, so that older readers keep reading every model they can
// compute correctly: 2 only for a row normalization (which a format-1 reader would silently skip).
uint32_t format_for(const Model& model) { return model.row_normalization == RowNormalization::kNone ? 1 : 2; }

// ---- writing ----

class BlobWriter {
 public:
  template <typename T>
  json add(const std::vector<T>& v, const char* dtype) {
    blob_.resize((blob_.size() + kAlign - 1) / kAlign * kAlign, '\0');
    const size_t offset = blob_.size();
    blob_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
    return {{"offset", offset}, {"length", v.size()}, {"dtype", dtype}};
  }
  std::string take() { return std::move(blob_); }

 private:
  std::string blob_;
};

json step_json(const TransformStep& step) {
  json j = {{"kind", step_kind_name(step.kind)}, {"params", numbers_json(step.params)}};
  if (step.kind == StepKind::kOrdinal || step.kind == StepKind::kOneHot) j["categories"] = step.categories;
  if (step.kind == StepKind::kOneHot) j["unknown_bucket"] = step.unknown_bucket;
  if (!step.fitted_from.empty()) j["fitted_from"] = step.fitted_from;
  return j;
}

json provenance_json(const Provenance& p) {
  return {{"producer", p.producer},
          {"producer_version", p.producer_version},
          {"source_file", p.source_file},
          {"source_sha256", p.source_sha256},
          {"run_id", p.run_id ? json(*p.run_id) : json(nullptr)},
          {"dataset_versions", p.dataset_versions},
          {"created_at", p.created_at},
          {"extra", p.extra}};
}

// Everything but the body.
json manifest_common(const Model& model) {
  json inputs = json::array();
  for (const auto& input : model.inputs) {
    json steps = json::array();
    for (const auto& s : input.steps) steps.push_back(step_json(s));
    inputs.push_back({{"name", input.name}, {"kind", name_of(kInputKinds, input.kind)}, {"steps", steps}});
  }
  json j = {{"format_version", format_for(model)},
            {"task", task_name(model.task)},
            {"inputs", inputs},
            {"feature_names", model.feature_names},
            {"output_transform", output_transform_name(model.output_transform)},
            {"class_labels", model.class_labels},
            {"output_names", model.output_names},
            {"provenance", provenance_json(model.provenance)}};
  if (model.row_normalization != RowNormalization::kNone) {
    j["row_normalization"] = name_of(kRowNormalizations, model.row_normalization);
  }
  return j;
}

json tree_body_json(const TreeEnsemble& ens, BlobWriter& blob) {
  std::vector<uint32_t> node_counts;
  std::vector<int32_t> left, right, feature;
  std::vector<float> threshold, leaf_values;
  std::vector<uint8_t> default_left, is_categorical;
  std::vector<uint32_t> cat_offset, cat_size;
  bool any_categorical = false;
  for (const auto& t : ens.trees) any_categorical = any_categorical || !t.is_categorical.empty();
  for (const auto& t : ens.trees) {
    node_counts.push_back(static_cast<uint32_t>(t.size()));
    left.insert(left.end(), t.left.begin(), t.left.end());
    right.insert(right.end(), t.right.begin(), t.right.end());
    feature.insert(feature.end(), t.feature.begin(), t.feature.end());
    threshold.insert(threshold.end(), t.threshold.begin(), t.threshold.end());
    default_left.insert(default_left.end(), t.default_left.begin(), t.default_left.end());
    leaf_values.insert(leaf_values.end(), t.leaf_values.begin(), t.leaf_values.end());
    if (!any_categorical) continue;
    // Trees without categorical splits get zeros, so the concatenation stays aligned with the nodes.
    if (t.is_categorical.empty()) {
      is_categorical.resize(is_categorical.size() + t.size(), 0);
      cat_offset.resize(cat_offset.size() + t.size(), 0);
      cat_size.resize(cat_size.size() + t.size(), 0);
    } else {
      is_categorical.insert(is_categorical.end(), t.is_categorical.begin(), t.is_categorical.end());
      cat_offset.insert(cat_offset.end(), t.cat_offset.begin(), t.cat_offset.end());
      cat_size.insert(cat_size.end(), t.cat_size.begin(), t.cat_size.end());
    }
  }
  return {{"kind", "tree_ensemble"},
          {"comparison", name_of(kComparisons, ens.comparison)},
          {"leaf_width", ens.leaf_width},
          {"average", ens.average},
          {"category_in_set_goes_left", ens.category_in_set_goes_left},
          {"base_score", numbers_json(ens.base_score)},
          {"trees", ens.trees.size()},
          {"node_counts", blob.add(node_counts, "u32")},
          {"left", blob.add(left, "i32")},
          {"right", blob.add(right, "i32")},
          {"feature", blob.add(feature, "i32")},
          {"threshold", blob.add(threshold, "f32")},
          {"default_left", blob.add(default_left, "u8")},
          {"is_categorical", blob.add(is_categorical, "u8")},
          {"cat_offset", blob.add(cat_offset, "u32")},
          {"cat_size", blob.add(cat_size, "u32")},
          {"leaf_values", blob.add(leaf_values, "f32")},
          {"tree_output", blob.add(ens.tree_output, "i32")},
          {"category_bits", blob.add(ens.category_bits, "u32")}};
}

json body_json(const Body& body, BlobWriter& blob) {
  if (const auto* linear = std::get_if<LinearModel>(&body)) {
    return {{"kind", "linear"}, {"weights", blob.add(linear->weights, "f32")}, {"bias", blob.add(linear->bias, "f32")}};
  }
  if (const auto* mlp = std::get_if<Mlp>(&body)) {
    json layers = json::array();
    for (const auto& l : mlp->layers) {
      layers.push_back({{"in", l.in},
                        {"out", l.out},
                        {"activation", activation_name(l.activation)},
                        {"weights", blob.add(l.weights, "f32")},
                        {"bias", blob.add(l.bias, "f32")}});
    }
    return {{"kind", "mlp"}, {"layers", layers}};
  }
  return tree_body_json(std::get<TreeEnsemble>(body), blob);
}

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

// ---- reading ----

// Reads one manifest; every failure is a kCorrupt naming the field. Throws nothing: nlohmann
// accessors are only reached after the type was checked.
class ManifestReader {
 public:
  ManifestReader(std::string source, std::string_view blob) : source_(std::move(source)), blob_(blob) {}

  Status fail(const std::string& message) const { return corrupt(source_, message); }
  Status error(const std::string& field, const std::string& what) const {
    return corrupt(source_, fmt::format("manifest field '{}' {}", field, what));
  }

  Result<const json*> member(const json& obj, const std::string& key, const std::string& path) const {
    if (!obj.is_object()) return error(path, "is not an object");
    auto it = obj.find(key);
    if (it == obj.end()) return error(path.empty() ? key : path + "." + key, "is missing");
    return &*it;
  }

  Result<std::string> string(const json& obj, const std::string& key, const std::string& path) const {
    SLIPWAY_ASSIGN_OR_RETURN(const json* v, member(obj, key, path));
    if (!v->is_string()) return error(join(path, key), "is not a string");
    return v->get<std::string>();
  }

  Result<uint64_t> uint(const json& obj, const std::string& key, const std::string& path, uint64_t max) const {
    SLIPWAY_ASSIGN_OR_RETURN(const json* v, member(obj, key, path));
    if (!v->is_number_unsigned() || v->get<uint64_t>() > max) {
      return error(join(path, key), fmt::format("is not a whole number from 0 to {}", max));
    }
    return v->get<uint64_t>();
  }

  Result<bool> boolean(const json& obj, const std::string& key, const std::string& path) const {
    SLIPWAY_ASSIGN_OR_RETURN(const json* v, member(obj, key, path));
    if (!v->is_boolean()) return error(join(path, key), "is not true or false");
    return v->get<bool>();
  }

  Result<std::vector<std::string>> strings(const json& obj, const std::string& key, const std::string& path) const {
    SLIPWAY_ASSIGN_OR_RETURN(const json* v, member(obj, key, path));
    if (!v->is_array()) return error(join(path, key), "is not an array");
    std::vector<std::string> out;
    out.reserve(v->size());
    for (const auto& e : *v) {
      if (!e.is_string()) return error(join(path, key), "holds something that is not a string");
      out.push_back(e.get<std::string>());
    }
    return out;
  }

  Result<std::vector<double>> numbers(const json& obj, const std::string& key, const std::string& path) const {
    SLIPWAY_ASSIGN_OR_RETURN(const json* v, member(obj, key, path));
    if (!v->is_array()) return error(join(path, key), "is not an array");
    std::vector<double> out;
    out.reserve(v->size());
    for (const auto& e : *v) {
      if (e.is_number()) {
        out.push_back(e.get<double>());
      } else if (e == "nan") {
        out.push_back(std::numeric_limits<double>::quiet_NaN());
      } else if (e == "inf" || e == "-inf") {
        out.push_back(e == "inf" ? HUGE_VAL : -HUGE_VAL);
      } else {
        return error(join(path, key), "holds something that is not a number");
      }
    }
    return out;
  }

  template <typename E, size_t N>
  Result<E> enumerated(const json& obj, const std::string& key, const std::string& path,
                       const std::pair<E, const char*> (&table)[N]) const {
    SLIPWAY_ASSIGN_OR_RETURN(std::string name, string(obj, key, path));
    std::string options;
    for (const auto& [e, n] : table) {
      if (name == n) return e;
      options += (options.empty() ? "" : ", ") + std::string(n);
    }
    return error(join(path, key), fmt::format("is '{}', expected one of {}", name, options));
  }

  // A {"offset", "length", "dtype"} reference into the blob; checks it lies inside the blob.
  struct ArrayRef {
    const char* data = nullptr;
    uint64_t length = 0;
  };
  Result<ArrayRef> array_ref(const json& obj, const std::string& key, const std::string& path, const char* dtype,
                             size_t elem_size) const {
    const std::string field = join(path, key);
    SLIPWAY_ASSIGN_OR_RETURN(const json* ref, member(obj, key, path));
    SLIPWAY_ASSIGN_OR_RETURN(uint64_t offset, uint(*ref, "offset", field, blob_.size()));
    SLIPWAY_ASSIGN_OR_RETURN(uint64_t length, uint(*ref, "length", field, blob_.size()));
    SLIPWAY_ASSIGN_OR_RETURN(std::string type, string(*ref, "dtype", field));
    if (type != dtype) return error(field, fmt::format("has dtype '{}', expected '{}'", type, dtype));
    if (length * elem_size > blob_.size() - offset) {
      return error(field, fmt::format("refers to bytes [{}, {}) beyond the {}-byte blob", offset,
                                      offset + length * elem_size, blob_.size()));
    }
    return ArrayRef{blob_.data() + offset, length};
  }

  template <typename T>
  Result<std::vector<T>> array(const json& obj, const std::string& key, const std::string& path, const char* dtype) const {
    SLIPWAY_ASSIGN_OR_RETURN(ArrayRef ref, array_ref(obj, key, path, dtype, sizeof(T)));
    std::vector<T> out(ref.length);
    if (ref.length > 0) std::memcpy(out.data(), ref.data, ref.length * sizeof(T));
    return out;
  }

  static std::string join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

 private:
  std::string source_;
  std::string_view blob_;
};

constexpr std::pair<Task, const char*> kTasks[] = {
    {Task::kRegression, "regression"}, {Task::kBinary, "binary"}, {Task::kMulticlass, "multiclass"}};
constexpr std::pair<OutputTransform, const char*> kTransforms[] = {{OutputTransform::kIdentity, "identity"},
                                                                   {OutputTransform::kSigmoid, "sigmoid"},
                                                                   {OutputTransform::kSoftmax, "softmax"},
                                                                   {OutputTransform::kExp, "exp"}};
constexpr std::pair<StepKind, const char*> kStepKinds[] = {
    {StepKind::kImpute, "impute"}, {StepKind::kStandardize, "standardize"}, {StepKind::kMinMax, "min_max"},
    {StepKind::kLog1p, "log1p"},   {StepKind::kClip, "clip"},               {StepKind::kBucketize, "bucketize"},
    {StepKind::kOrdinal, "ordinal"}, {StepKind::kOneHot, "one_hot"}};
constexpr std::pair<Activation, const char*> kActivations[] = {{Activation::kIdentity, "identity"},
                                                               {Activation::kRelu, "relu"},
                                                               {Activation::kTanh, "tanh"},
                                                               {Activation::kSigmoid, "sigmoid"},
                                                               {Activation::kGelu, "gelu"}};

Result<InputColumn> read_input(const ManifestReader& r, const json& j, const std::string& path) {
  InputColumn input;
  SLIPWAY_ASSIGN_OR_RETURN(input.name, r.string(j, "name", path));
  SLIPWAY_ASSIGN_OR_RETURN(input.kind, r.enumerated(j, "kind", path, kInputKinds));
  SLIPWAY_ASSIGN_OR_RETURN(const json* steps, r.member(j, "steps", path));
  if (!steps->is_array()) return r.error(path + ".steps", "is not an array");
  for (size_t s = 0; s < steps->size(); ++s) {
    const json& sj = (*steps)[s];
    const std::string sp = fmt::format("{}.steps[{}]", path, s);
    TransformStep step;
    SLIPWAY_ASSIGN_OR_RETURN(step.kind, r.enumerated(sj, "kind", sp, kStepKinds));
    SLIPWAY_ASSIGN_OR_RETURN(step.params, r.numbers(sj, "params", sp));
    if (sj.contains("categories")) {
      SLIPWAY_ASSIGN_OR_RETURN(step.categories, r.strings(sj, "categories", sp));
    }
    if (sj.contains("unknown_bucket")) {
      SLIPWAY_ASSIGN_OR_RETURN(step.unknown_bucket, r.boolean(sj, "unknown_bucket", sp));
    }
    if (sj.contains("fitted_from")) {
      SLIPWAY_ASSIGN_OR_RETURN(step.fitted_from, r.string(sj, "fitted_from", sp));
    }
    input.steps.push_back(std::move(step));
  }
  return input;
}

template <typename T>
void take_slice(const ManifestReader::ArrayRef& ref, uint64_t start, uint64_t count, std::vector<T>& out) {
  out.resize(count);
  if (count > 0) std::memcpy(out.data(), ref.data + start * sizeof(T), count * sizeof(T));
}

Result<TreeEnsemble> read_trees(const ManifestReader& r, const json& j) {
  const std::string p = "body";
  TreeEnsemble ens;
  SLIPWAY_ASSIGN_OR_RETURN(ens.comparison, r.enumerated(j, "comparison", p, kComparisons));
  SLIPWAY_ASSIGN_OR_RETURN(uint64_t leaf_width, r.uint(j, "leaf_width", p, 1'000'000));
  ens.leaf_width = static_cast<uint32_t>(leaf_width);
  SLIPWAY_ASSIGN_OR_RETURN(ens.average, r.boolean(j, "average", p));
  SLIPWAY_ASSIGN_OR_RETURN(ens.category_in_set_goes_left, r.boolean(j, "category_in_set_goes_left", p));
  SLIPWAY_ASSIGN_OR_RETURN(ens.base_score, r.numbers(j, "base_score", p));
  SLIPWAY_ASSIGN_OR_RETURN(ens.tree_output, r.array<int32_t>(j, "tree_output", p, "i32"));
  SLIPWAY_ASSIGN_OR_RETURN(ens.category_bits, r.array<uint32_t>(j, "category_bits", p, "u32"));
  SLIPWAY_ASSIGN_OR_RETURN(auto counts, r.array_ref(j, "node_counts", p, "u32", 4));
  SLIPWAY_ASSIGN_OR_RETURN(uint64_t n_trees, r.uint(j, "trees", p, counts.length));
  if (n_trees != counts.length) {
    return r.error("body.node_counts", fmt::format("has {} entries for {} trees", counts.length, n_trees));
  }
  uint64_t total = 0;
  for (uint64_t t = 0; t < n_trees; ++t) {
    uint32_t c;
    std::memcpy(&c, counts.data + t * 4, 4);
    total += c;
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto left, r.array_ref(j, "left", p, "i32", 4));
  SLIPWAY_ASSIGN_OR_RETURN(auto right, r.array_ref(j, "right", p, "i32", 4));
  SLIPWAY_ASSIGN_OR_RETURN(auto feature, r.array_ref(j, "feature", p, "i32", 4));
  SLIPWAY_ASSIGN_OR_RETURN(auto threshold, r.array_ref(j, "threshold", p, "f32", 4));
  SLIPWAY_ASSIGN_OR_RETURN(auto default_left, r.array_ref(j, "default_left", p, "u8", 1));
  SLIPWAY_ASSIGN_OR_RETURN(auto is_categorical, r.array_ref(j, "is_categorical", p, "u8", 1));
  SLIPWAY_ASSIGN_OR_RETURN(auto cat_offset, r.array_ref(j, "cat_offset", p, "u32", 4));
  SLIPWAY_ASSIGN_OR_RETURN(auto cat_size, r.array_ref(j, "cat_size", p, "u32", 4));
  SLIPWAY_ASSIGN_OR_RETURN(auto leaf_values, r.array_ref(j, "leaf_values", p, "f32", 4));
  // Every node array must cover exactly the nodes the counts add up to; the blob bounds `total`,
  // so nothing below allocates more than the file holds.
  for (const auto& [name, ref] : {std::pair{"left", left}, {"right", right}, {"feature", feature},
                                   {"threshold", threshold}, {"default_left", default_left}}) {
    if (ref.length != total) {
      return r.error(std::string("body.") + name, fmt::format("has {} entries but the trees have {} nodes", ref.length, total));
    }
  }
  const bool categorical = is_categorical.length > 0;
  if (categorical && (is_categorical.length != total || cat_offset.length != total || cat_size.length != total)) {
    return r.error("body.is_categorical", fmt::format("and cat_offset, cat_size need {} entries each", total));
  }
  if (leaf_values.length != total * leaf_width) {
    return r.error("body.leaf_values", fmt::format("has {} entries, expected {} ({} nodes x leaf width {})",
                                                   leaf_values.length, total * leaf_width, total, leaf_width));
  }
  ens.trees.resize(n_trees);
  uint64_t start = 0;
  for (uint64_t t = 0; t < n_trees; ++t) {
    uint32_t n;
    std::memcpy(&n, counts.data + t * 4, 4);
    Tree& tree = ens.trees[t];
    take_slice(left, start, n, tree.left);
    take_slice(right, start, n, tree.right);
    take_slice(feature, start, n, tree.feature);
    take_slice(threshold, start, n, tree.threshold);
    take_slice(default_left, start, n, tree.default_left);
    if (categorical) {
      take_slice(is_categorical, start, n, tree.is_categorical);
      take_slice(cat_offset, start, n, tree.cat_offset);
      take_slice(cat_size, start, n, tree.cat_size);
    }
    take_slice(leaf_values, start * leaf_width, uint64_t{n} * leaf_width, tree.leaf_values);
    start += n;
  }
  return ens;
}

Result<Body> read_body(const ManifestReader& r, const json& j) {
  SLIPWAY_ASSIGN_OR_RETURN(std::string kind, r.string(j, "kind", "body"));
  if (kind == "linear") {
    LinearModel linear;
    SLIPWAY_ASSIGN_OR_RETURN(linear.weights, r.array<float>(j, "weights", "body", "f32"));
    SLIPWAY_ASSIGN_OR_RETURN(linear.bias, r.array<float>(j, "bias", "body", "f32"));
    return Body(std::move(linear));
  }
  if (kind == "mlp") {
    Mlp mlp;
    SLIPWAY_ASSIGN_OR_RETURN(const json* layers, r.member(j, "layers", "body"));
    if (!layers->is_array()) return r.error("body.layers", "is not an array");
    for (size_t l = 0; l < layers->size(); ++l) {
      const std::string p = fmt::format("body.layers[{}]", l);
      const json& lj = (*layers)[l];
      DenseLayer layer;
      SLIPWAY_ASSIGN_OR_RETURN(uint64_t in, r.uint(lj, "in", p, std::numeric_limits<uint32_t>::max()));
      SLIPWAY_ASSIGN_OR_RETURN(uint64_t out, r.uint(lj, "out", p, std::numeric_limits<uint32_t>::max()));
      layer.in = static_cast<uint32_t>(in);
      layer.out = static_cast<uint32_t>(out);
      SLIPWAY_ASSIGN_OR_RETURN(layer.activation, r.enumerated(lj, "activation", p, kActivations));
      SLIPWAY_ASSIGN_OR_RETURN(layer.weights, r.array<float>(lj, "weights", p, "f32"));
      SLIPWAY_ASSIGN_OR_RETURN(layer.bias, r.array<float>(lj, "bias", p, "f32"));
      mlp.layers.push_back(std::move(layer));
    }
    return Body(std::move(mlp));
  }
  if (kind == "tree_ensemble") {
    SLIPWAY_ASSIGN_OR_RETURN(TreeEnsemble ens, read_trees(r, j));
    return Body(std::move(ens));
  }
  return r.error("body.kind", fmt::format("is '{}', expected one of linear, tree_ensemble, mlp", kind));
}

Result<Provenance> read_provenance(const ManifestReader& r, const json& j) {
  const std::string p = "provenance";
  Provenance prov;
  SLIPWAY_ASSIGN_OR_RETURN(prov.producer, r.string(j, "producer", p));
  SLIPWAY_ASSIGN_OR_RETURN(prov.producer_version, r.string(j, "producer_version", p));
  SLIPWAY_ASSIGN_OR_RETURN(prov.source_file, r.string(j, "source_file", p));
  SLIPWAY_ASSIGN_OR_RETURN(prov.source_sha256, r.string(j, "source_sha256", p));
  SLIPWAY_ASSIGN_OR_RETURN(const json* run_id, r.member(j, "run_id", p));
  if (run_id->is_string()) {
    prov.run_id = run_id->get<std::string>();
  } else if (!run_id->is_null()) {
    return r.error("provenance.run_id", "is neither a string nor null");
  }
  SLIPWAY_ASSIGN_OR_RETURN(prov.dataset_versions, r.strings(j, "dataset_versions", p));
  SLIPWAY_ASSIGN_OR_RETURN(prov.created_at, r.string(j, "created_at", p));
  SLIPWAY_ASSIGN_OR_RETURN(const json* extra, r.member(j, "extra", p));
  prov.extra = *extra;
  return prov;
}

// `version` is the header's format version.
Result<Model> read_manifest(const ManifestReader& r, const json& m, uint32_t version) {
  Model model;
  if (!m.is_object()) return r.fail("the manifest is not a JSON object");
  SLIPWAY_ASSIGN_OR_RETURN(model.task, r.enumerated(m, "task", "", kTasks));
  SLIPWAY_ASSIGN_OR_RETURN(const json* inputs, r.member(m, "inputs", ""));
  if (!inputs->is_array()) return r.error("inputs", "is not an array");
  for (size_t i = 0; i < inputs->size(); ++i) {
    SLIPWAY_ASSIGN_OR_RETURN(InputColumn input, read_input(r, (*inputs)[i], fmt::format("inputs[{}]", i)));
    model.inputs.push_back(std::move(input));
  }
  SLIPWAY_ASSIGN_OR_RETURN(model.feature_names, r.strings(m, "feature_names", ""));
  if (m.contains("row_normalization")) {  // format 2; absent means none
    SLIPWAY_ASSIGN_OR_RETURN(model.row_normalization, r.enumerated(m, "row_normalization", "", kRowNormalizations));
    if (model.row_normalization != RowNormalization::kNone && version < 2) {
      return r.error("row_normalization", fmt::format("needs bundle format 2, but the header says {}", version));
    }
  }
  SLIPWAY_ASSIGN_OR_RETURN(model.output_transform, r.enumerated(m, "output_transform", "", kTransforms));
  SLIPWAY_ASSIGN_OR_RETURN(model.class_labels, r.strings(m, "class_labels", ""));
  SLIPWAY_ASSIGN_OR_RETURN(model.output_names, r.strings(m, "output_names", ""));
  SLIPWAY_ASSIGN_OR_RETURN(const json* body, r.member(m, "body", ""));
  SLIPWAY_ASSIGN_OR_RETURN(model.body, read_body(r, *body));
  SLIPWAY_ASSIGN_OR_RETURN(const json* prov, r.member(m, "provenance", ""));
  SLIPWAY_ASSIGN_OR_RETURN(model.provenance, read_provenance(r, *prov));
  return model;
}

template <typename T>
T get(std::string_view bytes, size_t offset) {
  T v;
  std::memcpy(&v, bytes.data() + offset, sizeof(T));
  return v;
}

}  // namespace

Result<std::string> serialize_bundle(const Model& model) {
  SLIPWAY_RETURN_IF_ERROR(validate_model(model));
  BlobWriter blob;
  json manifest = manifest_common(model);
  manifest["body"] = body_json(model.body, blob);
  // Invalid UTF-8 in a name (from an importer) is replaced rather than thrown on.
  std::string text = manifest.dump(-1, ' ', false, json::error_handler_t::replace);
  // Pad the manifest with spaces (valid JSON white space) so the blob starts 64-byte aligned in the
  // file and each array can be used in place from a memory map.
  text.resize((kHeaderSize + text.size() + kAlign - 1) / kAlign * kAlign - kHeaderSize, ' ');
  const std::string data = blob.take();
  Sha256 sha;
  sha.update(text);
  sha.update(data);
  const Sha256Digest digest = sha.finish();
  std::string out;
  out.reserve(kHeaderSize + text.size() + data.size());
  out.append(kMagic, sizeof(kMagic));
  put<uint32_t>(out, format_for(model));
  put<uint32_t>(out, 0);
  put<uint64_t>(out, text.size());
  put<uint64_t>(out, data.size());
  out.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  out += text;
  out += data;
  return out;
}

Result<Model> parse_bundle(std::string_view bytes, const std::string& source_name) {
  const std::string& src = source_name;
  if (bytes.size() < sizeof(kMagic) || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return corrupt(src, "not a slipway model bundle");
  }
  if (bytes.size() < kHeaderSize) {
    return corrupt(src, fmt::format("truncated: the header needs {} bytes but the file has {}", kHeaderSize, bytes.size()));
  }
  const auto version = get<uint32_t>(bytes, 8);
  if (version > kBundleFormatVersion) {
    return Status(ErrorCode::kUnsupportedVersion,
                  fmt::format("{}: written by a newer slipway (bundle format {}; this one reads {})", src, version,
                              kBundleFormatVersion));
  }
  if (version == 0) return corrupt(src, "bundle format 0 does not exist (the header is damaged)");
  const auto manifest_size = get<uint64_t>(bytes, 16);
  const auto blob_size = get<uint64_t>(bytes, 24);
  // Compare piecewise so absurd sizes cannot overflow the sum.
  const uint64_t room = bytes.size() - kHeaderSize;
  if (manifest_size > room || blob_size > room - manifest_size) {
    const uint64_t claimed = manifest_size > UINT64_MAX - kHeaderSize - blob_size ? UINT64_MAX
                                                                                  : kHeaderSize + manifest_size + blob_size;
    return corrupt(src, fmt::format("truncated: manifest says {} bytes but the file has {}", claimed, bytes.size()));
  }
  if (manifest_size + blob_size != room) {
    return corrupt(src, fmt::format("{} unexpected bytes after the end of the model (the file is damaged)",
                                    room - manifest_size - blob_size));
  }
  const std::string_view manifest_text = bytes.substr(kHeaderSize, manifest_size);
  const std::string_view blob = bytes.substr(kHeaderSize + manifest_size, blob_size);
  Sha256 sha;
  sha.update(manifest_text);
  sha.update(blob);
  const Sha256Digest digest = sha.finish();
  if (std::memcmp(digest.data(), bytes.data() + 32, digest.size()) != 0) {
    return corrupt(src, "checksum mismatch (the file is damaged)");
  }
  json manifest = json::parse(manifest_text.begin(), manifest_text.end(), nullptr, /*allow_exceptions=*/false);
  if (manifest.is_discarded()) return corrupt(src, "the manifest is not valid JSON");
  ManifestReader reader(src, blob);
  Result<Model> model = [&]() -> Result<Model> {
    try {
      return read_manifest(reader, manifest, version);
    } catch (const std::exception& e) {  // a json accessor reached on an unexpected shape
      return corrupt(src, fmt::format("malformed manifest: {}", e.what()));
    }
  }();
  if (!model.ok()) return model.status();
  Status valid = validate_model(*model);
  if (!valid.ok()) return corrupt(src, valid.message());
  return model;
}

Status save_bundle(const Model& model, const std::filesystem::path& path) {
  SLIPWAY_ASSIGN_OR_RETURN(std::string bytes, serialize_bundle(model));
  return write_file_atomic(path, bytes);
}

Result<Model> load_bundle(const std::filesystem::path& path) {
  SLIPWAY_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(path));
  return parse_bundle(file.view(), path.string());
}

nlohmann::json describe(const Model& model) {
  json j = manifest_common(model);
  j["row_normalization"] = name_of(kRowNormalizations, model.row_normalization);
  j["n_features"] = model.n_features();
  j["n_outputs"] = model.n_outputs();
  json body = {{"kind", body_kind_name(model.body)}};
  if (const auto* linear = std::get_if<LinearModel>(&model.body)) {
    body["parameters"] = linear->weights.size() + linear->bias.size();
  } else if (const auto* mlp = std::get_if<Mlp>(&model.body)) {
    json layers = json::array();
    uint64_t params = 0;
    for (const auto& l : mlp->layers) {
      layers.push_back({{"in", l.in}, {"out", l.out}, {"activation", activation_name(l.activation)}});
      params += l.weights.size() + l.bias.size();
    }
    body["layers"] = layers;
    body["parameters"] = params;
  } else {
    const auto& ens = std::get<TreeEnsemble>(model.body);
    uint64_t nodes = 0, leaves = 0, categorical = 0;
    size_t max_depth = 0;
    for (const auto& tree : ens.trees) {
      nodes += tree.size();
      // Depth by walking from the root (validated trees have no cycles).
      std::vector<std::pair<int32_t, size_t>> stack;
      if (tree.size() > 0) stack.push_back({0, 0});
      while (!stack.empty()) {
        auto [node, depth] = stack.back();
        stack.pop_back();
        if (node < 0 || static_cast<size_t>(node) >= tree.size() || depth > tree.size()) continue;
        if (tree.left[node] < 0) {
          ++leaves;
          max_depth = std::max(max_depth, depth);
          continue;
        }
        if (!tree.is_categorical.empty() && tree.is_categorical[node]) ++categorical;
        stack.push_back({tree.left[node], depth + 1});
        stack.push_back({tree.right[node], depth + 1});
      }
    }
    body["trees"] = ens.trees.size();
    body["nodes"] = nodes;
    body["leaves"] = leaves;
    body["max_depth"] = max_depth;
    body["categorical_splits"] = categorical;
    body["leaf_width"] = ens.leaf_width;
    body["comparison"] = ens.comparison == Comparison::kLess ? "<" : "<=";
    body["average"] = ens.average;
    body["category_in_set_goes_left"] = ens.category_in_set_goes_left;
    body["base_score"] = numbers_json(ens.base_score);
  }
  j["body"] = body;
  return j;
}

}  // namespace slipway::model
