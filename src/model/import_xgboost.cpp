// XGBoost JSON / UBJSON models (format of XGBoost 1.0 to 3.x, doc/model.schema in XGBoost's repo)
// -> Model. What XGBoost computes and how it maps:
//   margin[k] = ProbToMargin(base_score) + sum of leaf values of the trees with tree_info == k
//   (float32 thresholds, left when x < t, NaN follows default_left; DART scales tree i by
//   weight_drop[i]); categorical splits send the listed categories RIGHT, everything else
//   (unknown, negative) left, NaN to the default side.
// ProbToMargin is logit for logistic objectives and log for Poisson / Gamma / Tweedie, computed in
// float32 as XGBoost does, so the margins agree to the last bit before the trees are added.
#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "detail/import_common.h"
#include "detail/ubjson.h"
#include "slipway/model/importers.h"

namespace slipway::model {
namespace {

using json = nlohmann::json;

constexpr int64_t kMaxFeatures = int64_t{1} << 24;
constexpr int64_t kMaxClasses = int64_t{1} << 16;
constexpr int64_t kMaxCategory = int64_t{1} << 24;       // largest category code a split may list
constexpr size_t kMaxCategoryWords = size_t{1} << 24;     // all categorical bitsets together (64 MiB)

enum class BaseTransform { kIdentity, kLogit, kLog };

struct Objective {
  Task task;
  OutputTransform transform;
  BaseTransform base;
};

// Objectives that matter in production; anything else is refused by name.
bool lookup_objective(std::string_view name, Objective& out) {
  struct Entry {
    std::string_view name;
    Objective objective;
  };
  static constexpr Entry kEntries[] = {
      {"reg:squarederror", {Task::kRegression, OutputTransform::kIdentity, BaseTransform::kIdentity}},
      {"reg:linear", {Task::kRegression, OutputTransform::kIdentity, BaseTransform::kIdentity}},
      {"reg:squaredlogerror", {Task::kRegression, OutputTransform::kIdentity, BaseTransform::kIdentity}},
      {"reg:pseudohubererror", {Task::kRegression, OutputTransform::kIdentity, BaseTransform::kIdentity}},
      {"reg:absoluteerror", {Task::kRegression, OutputTransform::kIdentity, BaseTransform::kIdentity}},
      {"reg:quantileerror", {Task::kRegression, OutputTransform::kIdentity, BaseTransform::kIdentity}},
      {"reg:logistic", {Task::kRegression, OutputTransform::kSigmoid, BaseTransform::kLogit}},
      {"binary:logistic", {Task::kBinary, OutputTransform::kSigmoid, BaseTransform::kLogit}},
      // logitraw predicts the margin itself; its base_score is still a probability.
      {"binary:logitraw", {Task::kRegression, OutputTransform::kIdentity, BaseTransform::kLogit}},
      {"count:poisson", {Task::kRegression, OutputTransform::kExp, BaseTransform::kLog}},
      {"reg:gamma", {Task::kRegression, OutputTransform::kExp, BaseTransform::kLog}},
      {"reg:tweedie", {Task::kRegression, OutputTransform::kExp, BaseTransform::kLog}},
      {"multi:softprob", {Task::kMulticlass, OutputTransform::kSoftmax, BaseTransform::kIdentity}},
      // softmax predicts the argmax class; the model gives its probabilities (same argmax).
      {"multi:softmax", {Task::kMulticlass, OutputTransform::kSoftmax, BaseTransform::kIdentity}},
      {"rank:pairwise", {Task::kRegression, OutputTransform::kIdentity, BaseTransform::kIdentity}},
      {"rank:ndcg", {Task::kRegression, OutputTransform::kIdentity, BaseTransform::kIdentity}},
      {"rank:map", {Task::kRegression, OutputTransform::kIdentity, BaseTransform::kIdentity}},
  };
  for (const auto& e : kEntries) {
    if (e.name == name) {
      out = e.objective;
      return true;
    }
  }
  return false;
}

class XgboostImporter {
 public:
  XgboostImporter(const std::string& source, std::string producer) : source_(source), producer_(std::move(producer)) {}

  Result<Model> run(const json& root);

 private:
  Status fail(std::string_view path, const std::string& what) const {
    return make_error(ErrorCode::kParseError, "{}: {}: {}", source_, path, what);
  }
  Status unsupported(const std::string& what) const {
    return make_error(ErrorCode::kInvalidArgument, "{}: {}", source_, what);
  }

  Status member(const json& obj, const std::string& path, const char* key, const json*& out) const {
    if (!obj.is_object()) return fail(path, "expected an object");
    auto it = obj.find(key);
    if (it == obj.end()) return fail(path, fmt::format("missing field '{}'", key));
    out = &*it;
    return {};
  }
  static const json* optional_member(const json& obj, const char* key) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
  }

  Status string_of(const json& v, const std::string& path, std::string& out) const {
    if (!v.is_string()) return fail(path, fmt::format("expected a string, found {}", v.type_name()));
    out = v.get<std::string>();
    return {};
  }

  // XGBoost writes its parameters as strings ("num_class": "3"); accept numbers as well.
  Status param_int(const json& obj, const std::string& path, const char* key, int64_t lo, int64_t hi,
                   int64_t fallback, int64_t& out) const {
    const json* v = optional_member(obj, key);
    const std::string where = path + "." + key;
    if (v == nullptr) {
      out = fallback;
      return {};
    }
    if (v->is_number_integer()) {
      out = v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : v->get<int64_t>();
    } else if (v->is_string()) {
      const auto& s = v->get_ref<const std::string&>();
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
      if (ec == std::errc::result_out_of_range) {
        out = INT64_MAX;
      } else if (ec != std::errc() || end != s.data() + s.size()) {
        return fail(where, fmt::format("'{}' is not an integer", s));
      }
    } else {
      return fail(where, fmt::format("expected an integer, found {}", v->type_name()));
    }
    if (out < lo || out > hi) return fail(where, fmt::format("{} is out of range [{}, {}]", out, lo, hi));
    return {};
  }

  // Integer arrays; booleans count as 0/1 (XGBoost 1.0 wrote default_left as booleans).
  Status int_array(const json& obj, const std::string& path, const char* key, std::vector<int64_t>& out,
                   bool required = true) const {
    out.clear();
    const json* v = optional_member(obj, key);
    const std::string where = path + "." + key;
    if (v == nullptr) return required ? fail(path, fmt::format("missing field '{}'", key)) : Status{};
    if (!v->is_array()) return fail(where, fmt::format("expected an array, found {}", v->type_name()));
    out.reserve(v->size());
    for (size_t i = 0; i < v->size(); ++i) {
      const json& e = (*v)[i];
      if (e.is_boolean()) {
        out.push_back(e.get<bool>() ? 1 : 0);
      } else if (e.is_number_unsigned() && e.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)) {
        out.push_back(static_cast<int64_t>(e.get<uint64_t>()));
      } else if (e.is_number_integer() && !e.is_number_unsigned()) {
        out.push_back(e.get<int64_t>());
      } else {
        return fail(fmt::format("{}[{}]", where, i), fmt::format("expected an integer, found {}", e.type_name()));
      }
    }
    return {};
  }

  Status number_array(const json& obj, const std::string& path, const char* key, std::vector<double>& out) const {
    out.clear();
    const json* v = nullptr;
    SLIPWAY_RETURN_IF_ERROR(member(obj, path, key, v));
    const std::string where = path + "." + key;
    if (!v->is_array()) return fail(where, fmt::format("expected an array, found {}", v->type_name()));
    out.reserve(v->size());
    for (size_t i = 0; i < v->size(); ++i) {
      const json& e = (*v)[i];
      if (!e.is_number()) {
        return fail(fmt::format("{}[{}]", where, i), fmt::format("expected a number, found {}", e.type_name()));
      }
      out.push_back(e.get<double>());
    }
    return {};
  }

  Status base_margins(const json& model_param, const std::string& path, const Objective& objective,
                      size_t n_margins, std::vector<double>& out) const;
  Status read_features(const json& learner, int64_t num_feature, const json* cats, Model& model) const;
  Status read_categories(const json& cats, int64_t num_feature, std::vector<std::vector<std::string>>& out) const;
  Status convert_tree(const json& tree, const std::string& path, int64_t num_feature, double weight, Tree& out,
                      std::vector<uint32_t>& category_bits) const;
  Status read_trees(const json& gbtree_model, const std::string& path, int64_t num_feature, size_t n_margins,
                    const std::vector<double>* weight_drop, TreeEnsemble& ensemble) const;
  Status read_linear(const json& model, const std::string& path, int64_t num_feature, size_t n_margins,
                     const std::vector<double>& base, LinearModel& linear) const;

  const std::string& source_;
  std::string producer_;
};

Status XgboostImporter::base_margins(const json& model_param, const std::string& path, const Objective& objective,
                                     size_t n_margins, std::vector<double>& out) const {
  const std::string where = path + ".base_score";
  std::vector<float> scores;
  const json* v = optional_member(model_param, "base_score");
  if (v == nullptr) {
    scores.push_back(0.5f);  // XGBoost's default
  } else if (v->is_number()) {
    scores.push_back(detail::saturate_to_float(v->get<double>()));
  } else if (v->is_string()) {
    // "5E-1" (1.x, 2.x) or "[5E-1]" / "[1E0,2E0]" (3.x vector intercepts).
    std::string_view s = v->get_ref<const std::string&>();
    if (!s.empty() && s.front() == '[') {
      if (s.back() != ']') return fail(where, fmt::format("'{}' is not a number or a [list]", s));
      s = s.substr(1, s.size() - 2);
    }
    size_t begin = 0;
    while (begin <= s.size()) {
      size_t end = s.find(',', begin);
      if (end == std::string_view::npos) end = s.size();
      std::string_view item = s.substr(begin, end - begin);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      float value = 0;
      auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
      if (item.empty() || ec != std::errc() || p != item.data() + item.size()) {
        return fail(where, fmt::format("'{}' is not a number", v->get_ref<const std::string&>()));
      }
      scores.push_back(value);
      if (scores.size() > n_margins) break;
      begin = end + 1;
    }
  } else {
    return fail(where, fmt::format("expected a string, found {}", v->type_name()));
  }
  if (scores.size() != 1 && scores.size() != n_margins) {
    return fail(where, fmt::format("has {} values but the model has {} outputs", scores.size(), n_margins));
  }
  out.assign(n_margins, 0.0);
  for (size_t k = 0; k < n_margins; ++k) {
    const float p = scores.size() == 1 ? scores[0] : scores[k];
    float margin = p;
    if (objective.base == BaseTransform::kLogit) {
      if (!(p > 0.0f && p < 1.0f)) return fail(where, fmt::format("{} is not a probability in (0, 1)", p));
      margin = -std::log(1.0f / p - 1.0f);
    } else if (objective.base == BaseTransform::kLog) {
      if (!(p > 0.0f)) return fail(where, fmt::format("{} must be positive for a log-link objective", p));
      margin = std::log(p);
    }
    if (!std::isfinite(margin)) return fail(where, fmt::format("{} is not a finite number", p));
    out[k] = margin;
  }
  return {};
}

// XGBoost 3.1+ keeps the training categories of each categorical feature ("cats": per feature
// "offsets" into "values", the UTF-8 bytes of the names; numeric categories have values only).
// A category's code is its position in that list.
Status XgboostImporter::read_categories(const json& cats, int64_t num_feature,
                                        std::vector<std::vector<std::string>>& out) const {
  const std::string path = "learner.gradient_booster.model.cats";
  const json* enc = nullptr;
  SLIPWAY_RETURN_IF_ERROR(member(cats, path, "enc", enc));
  if (!enc->is_array()) return fail(path + ".enc", fmt::format("expected an array, found {}", enc->type_name()));
  if (enc->empty()) return {};
  if (enc->size() != static_cast<size_t>(num_feature)) {
    return fail(path + ".enc", fmt::format("has {} entries but the model has {} features", enc->size(), num_feature));
  }
  out.assign(enc->size(), {});
  for (size_t f = 0; f < enc->size(); ++f) {
    const std::string where = fmt::format("{}.enc[{}]", path, f);
    std::vector<int64_t> offsets;
    SLIPWAY_RETURN_IF_ERROR(int_array((*enc)[f], where, "offsets", offsets, false));
    const json* values = optional_member((*enc)[f], "values");
    if (values == nullptr || !values->is_array() || values->empty()) continue;
    if (offsets.empty()) {
      for (const json& v : *values) {
        if (v.is_number_integer()) {
          out[f].push_back(v.dump());
        } else if (v.is_number()) {
          out[f].push_back(fmt::format("{}", v.get<double>()));
        } else {
          return fail(where + ".values", fmt::format("expected numbers, found {}", v.type_name()));
        }
      }
      continue;
    }
    std::string bytes;
    bytes.reserve(values->size());
    for (const json& v : *values) {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 255) {
        return fail(where + ".values", "expected the bytes (0-255) of the category names");
      }
      bytes.push_back(static_cast<char>(v.get<int64_t>()));
    }
    for (size_t i = 0; i + 1 < offsets.size(); ++i) {
      if (offsets[i] < 0 || offsets[i] > offsets[i + 1] || static_cast<uint64_t>(offsets[i + 1]) > bytes.size()) {
        return fail(where + ".offsets", fmt::format("offset {} is out of order or past the {} bytes of names", i, bytes.size()));
      }
      out[f].push_back(bytes.substr(static_cast<size_t>(offsets[i]), static_cast<size_t>(offsets[i + 1] - offsets[i])));
    }
  }
  return {};
}

Status XgboostImporter::read_features(const json& learner, int64_t num_feature, const json* cats, Model& model) const {
  std::vector<std::vector<std::string>> categories;
  if (cats != nullptr && !cats->is_null()) SLIPWAY_RETURN_IF_ERROR(read_categories(*cats, num_feature, categories));
  std::vector<std::string> names, types;
  for (auto [key, dest] : {std::pair{"feature_names", &names}, std::pair{"feature_types", &types}}) {
    const json* v = optional_member(learner, key);
    if (v == nullptr || v->is_null()) continue;
    const std::string where = std::string("learner.") + key;
    if (!v->is_array()) return fail(where, fmt::format("expected an array, found {}", v->type_name()));
    if (!v->empty() && v->size() != static_cast<size_t>(num_feature)) {
      return fail(where, fmt::format("has {} entries but the model has {} features", v->size(), num_feature));
    }
    for (size_t i = 0; i < v->size(); ++i) {
      std::string s;
      SLIPWAY_RETURN_IF_ERROR(string_of((*v)[i], fmt::format("{}[{}]", where, i), s));
      dest->push_back(std::move(s));
    }
  }
  model.inputs.reserve(static_cast<size_t>(num_feature));
  model.feature_names.reserve(static_cast<size_t>(num_feature));
  std::vector<std::string> as_codes;
  for (int64_t f = 0; f < num_feature; ++f) {
    const auto fi = static_cast<size_t>(f);
    std::string name = names.empty() ? fmt::format("f{}", f) : names[fi];
    model.feature_names.push_back(name);
    InputColumn input = detail::numeric_input(name);
    if (fi < categories.size() && !categories[fi].empty()) {
      // Strings map to their code; an unseen category becomes missing, as XGBoost's pandas path does.
      TransformStep ordinal;
      ordinal.kind = StepKind::kOrdinal;
      ordinal.params = {std::numeric_limits<double>::quiet_NaN()};
      ordinal.categories = std::move(categories[fi]);
      ordinal.fitted_from = "XGBoost model categories";
      input.kind = InputKind::kCategorical;
      input.steps.push_back(std::move(ordinal));
    } else if (!types.empty() && types[fi] == "c") {
      as_codes.push_back(name);
    }
    model.inputs.push_back(std::move(input));
  }
  // Before XGBoost 3.1 the model keeps no category names: those inputs take the integer codes
  // (pandas' cat.codes) the model was trained on.
  if (!as_codes.empty()) model.provenance.extra["categorical_features_as_codes"] = as_codes;
  return {};
}

Status XgboostImporter::convert_tree(const json& tree, const std::string& path, int64_t num_feature, double weight,
                                     Tree& out, std::vector<uint32_t>& category_bits) const {
  std::vector<int64_t> left, right, split_index, default_left, split_type;
  std::vector<int64_t> categories, cat_nodes, cat_segments, cat_sizes;
  std::vector<double> conditions;
  SLIPWAY_RETURN_IF_ERROR(int_array(tree, path, "left_children", left));
  SLIPWAY_RETURN_IF_ERROR(int_array(tree, path, "right_children", right));
  SLIPWAY_RETURN_IF_ERROR(int_array(tree, path, "split_indices", split_index));
  SLIPWAY_RETURN_IF_ERROR(int_array(tree, path, "default_left", default_left));
  SLIPWAY_RETURN_IF_ERROR(number_array(tree, path, "split_conditions", conditions));
  SLIPWAY_RETURN_IF_ERROR(int_array(tree, path, "split_type", split_type, false));
  SLIPWAY_RETURN_IF_ERROR(int_array(tree, path, "categories", categories, false));
  SLIPWAY_RETURN_IF_ERROR(int_array(tree, path, "categories_nodes", cat_nodes, false));
  SLIPWAY_RETURN_IF_ERROR(int_array(tree, path, "categories_segments", cat_segments, false));
  SLIPWAY_RETURN_IF_ERROR(int_array(tree, path, "categories_sizes", cat_sizes, false));

  const size_t n = left.size();
  if (const json* param = optional_member(tree, "tree_param")) {
    int64_t num_nodes = 0, leaf_vector = 0;
    SLIPWAY_RETURN_IF_ERROR(param_int(*param, path + ".tree_param", "num_nodes", 0, INT64_MAX, static_cast<int64_t>(n), num_nodes));
    if (static_cast<uint64_t>(num_nodes) != n) {
      return fail(path, fmt::format("tree_param.num_nodes = {} but left_children has {} entries", num_nodes, n));
    }
    SLIPWAY_RETURN_IF_ERROR(param_int(*param, path + ".tree_param", "size_leaf_vector", 0, INT64_MAX, 1, leaf_vector));
    if (leaf_vector > 1) {
      return unsupported(fmt::format("{}: multi-target trees (size_leaf_vector = {}) are not supported", path, leaf_vector));
    }
  }
  if (n == 0) return fail(path, "the tree has no nodes");
  for (auto [name, size] : {std::pair{"right_children", right.size()}, std::pair{"split_indices", split_index.size()},
                            std::pair{"split_conditions", conditions.size()}, std::pair{"default_left", default_left.size()}}) {
    if (size != n) return fail(path, fmt::format("{} has {} entries but left_children has {}", name, size, n));
  }
  if (!split_type.empty() && split_type.size() != n) {
    return fail(path, fmt::format("split_type has {} entries but left_children has {}", split_type.size(), n));
  }
  if (cat_segments.size() != cat_nodes.size() || cat_sizes.size() != cat_nodes.size()) {
    return fail(path, fmt::format("categories_nodes, categories_segments and categories_sizes differ in length ({}, {}, {})",
                                  cat_nodes.size(), cat_segments.size(), cat_sizes.size()));
  }
  // Node -> its slice of `categories`.
  std::vector<int64_t> cat_begin(n, -1), cat_count(n, 0);
  for (size_t i = 0; i < cat_nodes.size(); ++i) {
    const int64_t node = cat_nodes[i], seg = cat_segments[i], size = cat_sizes[i];
    if (node < 0 || static_cast<uint64_t>(node) >= n) {
      return fail(path, fmt::format("categories_nodes[{}] = {} is out of range (the tree has {} nodes)", i, node, n));
    }
    if (seg < 0 || size < 0 || static_cast<uint64_t>(seg) > categories.size() ||
        static_cast<uint64_t>(size) > categories.size() - static_cast<uint64_t>(seg)) {
      return fail(path, fmt::format("categories segment {} (offset {}, size {}) runs past the {} categories", i, seg,
                                    size, categories.size()));
    }
    cat_begin[static_cast<size_t>(node)] = seg;
    cat_count[static_cast<size_t>(node)] = size;
  }

  // Copy the nodes reachable from the root in depth-first order (XGBoost keeps pruned nodes in
  // its arrays); a node reached twice means a cycle or a shared child.
  std::vector<int32_t> new_index(n, -1);
  auto add_node = [&out] { return detail::append_empty_node(out); };
  new_index[0] = add_node();
  std::vector<size_t> stack{0};
  while (!stack.empty()) {
    const size_t src = stack.back();
    stack.pop_back();
    const int32_t dst = new_index[src];
    const int64_t l = left[src], r = right[src];
    if (l == -1) {
      out.leaf_values[static_cast<size_t>(dst)] = detail::saturate_to_float(conditions[src] * weight);
      continue;
    }
    for (auto [name, child] : {std::pair{"left_children", l}, std::pair{"right_children", r}}) {
      if (child < 0 || static_cast<uint64_t>(child) >= n) {
        return fail(path, fmt::format("{}[{}] = {} is out of range (the tree has {} nodes)", name, src, child, n));
      }
      if (new_index[static_cast<size_t>(child)] != -1) {
        return fail(path, fmt::format("node {} is reached twice (a cycle or a shared child)", child));
      }
    }
    if (l == r) return fail(path, fmt::format("node {} has the same left and right child {}", src, l));
    const int64_t f = split_index[src];
    if (f < 0 || f >= num_feature) {
      return fail(path, fmt::format("split_indices[{}] = {} is out of range (the model has {} features)", src, f, num_feature));
    }
    const size_t d = static_cast<size_t>(dst);
    out.feature[d] = static_cast<int32_t>(f);
    out.default_left[d] = default_left[src] != 0 ? 1 : 0;
    if (!split_type.empty() && split_type[src] == 1) {
      if (cat_begin[src] < 0) return fail(path, fmt::format("categorical split at node {} lists no categories", src));
      int64_t max_code = -1;
      for (int64_t i = 0; i < cat_count[src]; ++i) {
        const int64_t code = categories[static_cast<size_t>(cat_begin[src] + i)];
        if (code < 0 || code >= kMaxCategory) {
          return fail(path, fmt::format("category {} at node {} is out of range [0, {})", code, src, kMaxCategory));
        }
        max_code = std::max(max_code, code);
      }
      const size_t n_bits = static_cast<size_t>(max_code + 1);
      const size_t words = (n_bits + 31) / 32;
      if (category_bits.size() + words > kMaxCategoryWords) {
        return fail(path, "categorical splits need more than 64 MiB of category bitsets");
      }
      const size_t first_word = category_bits.size();
      category_bits.resize(first_word + words, 0u);
      for (int64_t i = 0; i < cat_count[src]; ++i) {
        const auto code = static_cast<size_t>(categories[static_cast<size_t>(cat_begin[src] + i)]);
        category_bits[first_word + code / 32] |= 1u << (code % 32);
      }
      out.is_categorical[d] = 1;
      out.cat_offset[d] = static_cast<uint32_t>(first_word * 32);
      out.cat_size[d] = static_cast<uint32_t>(n_bits);
    } else {
      if (!split_type.empty() && split_type[src] != 0) {
        return fail(path, fmt::format("split_type[{}] = {} is neither 0 (numeric) nor 1 (categorical)", src, split_type[src]));
      }
      out.threshold[d] = detail::saturate_to_float(conditions[src]);
    }
    const int32_t new_left = add_node();
    const int32_t new_right = add_node();
    new_index[static_cast<size_t>(l)] = new_left;
    new_index[static_cast<size_t>(r)] = new_right;
    out.left[d] = new_left;
    out.right[d] = new_right;
    stack.push_back(static_cast<size_t>(r));
    stack.push_back(static_cast<size_t>(l));
  }
  return {};
}

Status XgboostImporter::read_trees(const json& gbtree_model, const std::string& path, int64_t num_feature,
                                   size_t n_margins, const std::vector<double>* weight_drop,
                                   TreeEnsemble& ensemble) const {
  const json* trees = nullptr;
  SLIPWAY_RETURN_IF_ERROR(member(gbtree_model, path, "trees", trees));
  if (!trees->is_array()) return fail(path + ".trees", fmt::format("expected an array, found {}", trees->type_name()));
  const size_t n_trees = trees->size();
  if (const json* param = optional_member(gbtree_model, "gbtree_model_param")) {
    int64_t num_trees = 0;
    SLIPWAY_RETURN_IF_ERROR(param_int(*param, path + ".gbtree_model_param", "num_trees", 0, INT64_MAX,
                                      static_cast<int64_t>(n_trees), num_trees));
    if (static_cast<uint64_t>(num_trees) != n_trees) {
      return fail(path, fmt::format("gbtree_model_param.num_trees = {} but the model holds {} trees", num_trees, n_trees));
    }
  }
  std::vector<int64_t> tree_info;
  SLIPWAY_RETURN_IF_ERROR(int_array(gbtree_model, path, "tree_info", tree_info));
  if (tree_info.size() != n_trees) {
    return fail(path, fmt::format("tree_info has {} entries but the model holds {} trees", tree_info.size(), n_trees));
  }
  if (weight_drop != nullptr && weight_drop->size() != n_trees) {
    return fail("learner.gradient_booster", fmt::format("weight_drop has {} entries but the model holds {} trees",
                                                        weight_drop->size(), n_trees));
  }
  ensemble.trees.resize(n_trees);
  ensemble.tree_output.resize(n_trees);
  for (size_t i = 0; i < n_trees; ++i) {
    const std::string tree_path = fmt::format("{}.trees[{}]", path, i);
    if (tree_info[i] < 0 || static_cast<uint64_t>(tree_info[i]) >= n_margins) {
      return fail(path, fmt::format("tree_info[{}] = {} is out of range (the model has {} outputs)", i, tree_info[i], n_margins));
    }
    ensemble.tree_output[i] = static_cast<int32_t>(tree_info[i]);
    const double weight = weight_drop != nullptr ? (*weight_drop)[i] : 1.0;
    SLIPWAY_RETURN_IF_ERROR(convert_tree((*trees)[i], tree_path, num_feature, weight, ensemble.trees[i], ensemble.category_bits));
  }
  return {};
}

Status XgboostImporter::read_linear(const json& model, const std::string& path, int64_t num_feature, size_t n_margins,
                                    const std::vector<double>& base, LinearModel& linear) const {
  std::vector<double> weights;
  SLIPWAY_RETURN_IF_ERROR(number_array(model, path, "weights", weights));
  const size_t nf = static_cast<size_t>(num_feature);
  if (weights.size() != (nf + 1) * n_margins) {
    return fail(path, fmt::format("weights has {} entries but {} features and {} outputs need {}", weights.size(), nf,
                                  n_margins, (nf + 1) * n_margins));
  }
  // XGBoost's layout: weights[f * n_outputs + k], then the biases; ours is weights[k * n_features + f].
  linear.weights.assign(nf * n_margins, 0.0f);
  linear.bias.assign(n_margins, 0.0f);
  for (size_t k = 0; k < n_margins; ++k) {
    for (size_t f = 0; f < nf; ++f) linear.weights[k * nf + f] = detail::saturate_to_float(weights[f * n_margins + k]);
    linear.bias[k] = detail::saturate_to_float(weights[nf * n_margins + k] + base[k]);
  }
  return {};
}

Result<Model> XgboostImporter::run(const json& root) {
  Model model;
  const json* learner = nullptr;
  SLIPWAY_RETURN_IF_ERROR(member(root, "model", "learner", learner));
  if (const json* version = optional_member(root, "version"); version != nullptr && version->is_array()) {
    std::string text;
    for (const json& part : *version) {
      if (!part.is_number_integer()) break;
      text += (text.empty() ? "" : ".") + std::to_string(part.get<int64_t>());
    }
    model.provenance.producer_version = text;
  }

  const json* objective_json = nullptr;
  const json* objective_name = nullptr;
  std::string objective_text;
  SLIPWAY_RETURN_IF_ERROR(member(*learner, "learner", "objective", objective_json));
  SLIPWAY_RETURN_IF_ERROR(member(*objective_json, "learner.objective", "name", objective_name));
  SLIPWAY_RETURN_IF_ERROR(string_of(*objective_name, "learner.objective.name", objective_text));
  Objective objective{};
  if (!lookup_objective(objective_text, objective)) {
    return unsupported(fmt::format("unsupported XGBoost objective '{}'", objective_text));
  }

  const json* model_param = nullptr;
  SLIPWAY_RETURN_IF_ERROR(member(*learner, "learner", "learner_model_param", model_param));
  int64_t num_feature = 0, num_class = 0, num_target = 0;
  SLIPWAY_RETURN_IF_ERROR(param_int(*model_param, "learner.learner_model_param", "num_feature", 0, kMaxFeatures, 0, num_feature));
  SLIPWAY_RETURN_IF_ERROR(param_int(*model_param, "learner.learner_model_param", "num_class", 0, kMaxClasses, 0, num_class));
  SLIPWAY_RETURN_IF_ERROR(param_int(*model_param, "learner.learner_model_param", "num_target", 0, kMaxClasses, 1, num_target));
  if (num_target > 1) return unsupported(fmt::format("multi-target models (num_target = {}) are not supported", num_target));
  size_t n_margins = 1;
  if (objective.task == Task::kMulticlass) {
    if (num_class < 2) {
      return fail("learner.learner_model_param", fmt::format("objective '{}' needs num_class >= 2, found {}", objective_text, num_class));
    }
    n_margins = static_cast<size_t>(num_class);
  } else if (num_class > 1) {
    return fail("learner.learner_model_param", fmt::format("num_class = {} with the non-multiclass objective '{}'", num_class, objective_text));
  }
  std::vector<double> base;
  SLIPWAY_RETURN_IF_ERROR(base_margins(*model_param, "learner.learner_model_param", objective, n_margins, base));

  const json* booster = nullptr;
  const json* booster_name_json = nullptr;
  std::string booster_name;
  SLIPWAY_RETURN_IF_ERROR(member(*learner, "learner", "gradient_booster", booster));
  SLIPWAY_RETURN_IF_ERROR(member(*booster, "learner.gradient_booster", "name", booster_name_json));
  SLIPWAY_RETURN_IF_ERROR(string_of(*booster_name_json, "learner.gradient_booster.name", booster_name));
  size_t n_trees = 0;
  if (booster_name == "gbtree" || booster_name == "dart") {
    TreeEnsemble ensemble;
    ensemble.comparison = Comparison::kLess;
    ensemble.category_in_set_goes_left = false;
    ensemble.base_score = base;
    const json* gbtree_model = nullptr;
    std::string path = "learner.gradient_booster.model";
    std::vector<double> weight_drop;
    if (booster_name == "dart") {
      const json* inner = nullptr;
      SLIPWAY_RETURN_IF_ERROR(member(*booster, "learner.gradient_booster", "gbtree", inner));
      SLIPWAY_RETURN_IF_ERROR(member(*inner, "learner.gradient_booster.gbtree", "model", gbtree_model));
      SLIPWAY_RETURN_IF_ERROR(number_array(*booster, "learner.gradient_booster", "weight_drop", weight_drop));
      path = "learner.gradient_booster.gbtree.model";
    } else {
      SLIPWAY_RETURN_IF_ERROR(member(*booster, "learner.gradient_booster", "model", gbtree_model));
    }
    SLIPWAY_RETURN_IF_ERROR(read_features(*learner, num_feature, optional_member(*gbtree_model, "cats"), model));
    SLIPWAY_RETURN_IF_ERROR(read_trees(*gbtree_model, path, num_feature, n_margins,
                                       booster_name == "dart" ? &weight_drop : nullptr, ensemble));
    n_trees = ensemble.trees.size();
    model.body = std::move(ensemble);
  } else if (booster_name == "gblinear") {
    const json* linear_model = nullptr;
    SLIPWAY_RETURN_IF_ERROR(member(*booster, "learner.gradient_booster", "model", linear_model));
    SLIPWAY_RETURN_IF_ERROR(read_features(*learner, num_feature, nullptr, model));
    LinearModel linear;
    SLIPWAY_RETURN_IF_ERROR(read_linear(*linear_model, "learner.gradient_booster.model", num_feature, n_margins, base, linear));
    model.body = std::move(linear);
  } else {
    return unsupported(fmt::format("unsupported XGBoost booster '{}'", booster_name));
  }

  model.task = objective.task;
  model.output_transform = objective.transform;
  detail::set_outputs(model, objective.task == Task::kMulticlass ? n_margins : 0);
  model.provenance.producer = producer_;
  model.provenance.extra["library"] = "xgboost";
  model.provenance.extra["objective"] = objective_text;
  model.provenance.extra["booster"] = booster_name;
  if (booster_name != "gblinear") model.provenance.extra["num_trees"] = n_trees;
  SLIPWAY_RETURN_IF_ERROR(validate_model(model).with_context(source_));
  return model;
}

}  // namespace

Result<Model> import_xgboost_json(std::string_view text, const std::string& source_name) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, column 5: ..." -> from "line" on.
    std::string what = e.what();
    const auto at = what.find("at line");
    return make_error(ErrorCode::kParseError, "{}: invalid JSON {}", source_name,
                      at == std::string::npos ? what : what.substr(at));
  }
  return XgboostImporter(source_name, "import:xgboost-json").run(root);
}

Result<Model> import_xgboost_ubjson(std::string_view bytes, const std::string& source_name) {
  SLIPWAY_ASSIGN_OR_RETURN(json root, detail::parse_ubjson(bytes, source_name));
  return XgboostImporter(source_name, "import:xgboost-ubjson").run(root);
}

}  // namespace slipway::model
