// LightGBM text models (model.txt, format v2-v4) -> Model, matching LightGBM's Tree::Decision
// (include/LightGBM/tree.h) exactly on float32 inputs:
//   numeric split: left when x <= threshold (a double). We store the largest float32 t' <= t, so that
//     for every float x: x <= t' iff (double)x <= t.
//   missing type None: NaN is replaced by 0 -> NaN goes where 0 goes (default_left = 0 <= t).
//   missing type NaN:  NaN goes to the default side.
//   missing type Zero: NaN and every |x| <= 1e-35f go to the default side. When the threshold already
//     sends [-1e-35, 1e-35] to the default side this is a plain split; otherwise the node becomes
//     three splits (x < -1e-35 ? ordinary : x <= 1e-35 ? default : ordinary) with the subtrees copied.
//   categorical split: a code in the bitset goes LEFT; NaN, negative and unknown codes go right.
//     (LightGBM truncates a non-integer code, 2.5 -> 2; our trees send non-integers right. Category
//     codes from pandas_categorical / kOrdinal are always integers.)
// Leaf values already include shrinkage and the init score; binary's sigmoid:<s> is folded into the
// leaves (sigmoid(s * m) = sigmoid of the scaled leaves), and average_output (rf) averages the trees.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "detail/import_common.h"
#include "slipway/model/importers.h"

namespace slipway::model {
namespace {

using json = nlohmann::json;

constexpr int64_t kMaxFeatures = int64_t{1} << 24;
constexpr int64_t kMaxClasses = int64_t{1} << 16;
constexpr int64_t kMaxLeaves = int64_t{1} << 24;
constexpr size_t kMaxNodesPerTree = size_t{1} << 21;  // after zero-as-missing expansion
constexpr size_t kMaxCategoryWords = size_t{1} << 24;
const double kZeroThreshold = 1e-35f;  // LightGBM's kZeroThreshold: a float literal widened to double

float float_at_or_below(double t) {
  constexpr double kMax = std::numeric_limits<float>::max();
  if (t > kMax) return t == std::numeric_limits<double>::infinity() ? std::numeric_limits<float>::infinity()
                                                                    : std::numeric_limits<float>::max();
  if (t < -kMax) return -std::numeric_limits<float>::infinity();
  float f = static_cast<float>(t);
  if (static_cast<double>(f) > t) f = std::nextafter(f, -std::numeric_limits<float>::infinity());
  return f;
}

struct Line {
  std::string_view text;
  size_t number;  // 1-based
};

std::vector<Line> split_lines(std::string_view text) {
  std::vector<Line> lines;
  size_t begin = 0, number = 1;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(begin, end - begin);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back({line, number++});
    begin = end + 1;
  }
  return lines;
}

struct Field {
  std::string_view value;
  size_t line = 0;
};
using Fields = std::unordered_map<std::string_view, Field>;

class LightgbmImporter {
 public:
  explicit LightgbmImporter(const std::string& source) : source_(source) {}
  Result<Model> run(std::string_view text);

 private:
  Status fail(size_t line, const std::string& what) const {
    return make_error(ErrorCode::kParseError, "{}:{}: {}", source_, line, what);
  }
  Status fail(const std::string& what) const { return make_error(ErrorCode::kParseError, "{}: {}", source_, what); }
  Status unsupported(const std::string& what) const {
    return make_error(ErrorCode::kInvalidArgument, "{}: {}", source_, what);
  }

  template <typename T>
  Status parse_number(std::string_view token, size_t line, std::string_view key, T& out) const {
    auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), out);
    if (ec != std::errc() || end != token.data() + token.size()) {
      return fail(line, fmt::format("{}: '{}' is not a valid number", key, token));
    }
    return {};
  }

  template <typename T>
  Status array(const Fields& fields, size_t block_line, std::string_view key, size_t expected, std::vector<T>& out) const {
    out.clear();
    auto it = fields.find(key);
    if (it == fields.end()) return fail(block_line, fmt::format("tree is missing '{}'", key));
    std::string_view s = it->second.value;
    size_t pos = 0;
    while (pos < s.size()) {
      while (pos < s.size() && s[pos] == ' ') ++pos;
      if (pos == s.size()) break;
      size_t end = s.find(' ', pos);
      if (end == std::string_view::npos) end = s.size();
      if (out.size() == expected) {
        return fail(it->second.line, fmt::format("{} has more than the expected {} values", key, expected));
      }
      T value{};
      SLIPWAY_RETURN_IF_ERROR(parse_number(s.substr(pos, end - pos), it->second.line, key, value));
      out.push_back(value);
      pos = end;
    }
    if (out.size() != expected) {
      return fail(it->second.line, fmt::format("{} has {} values, expected {}", key, out.size(), expected));
    }
    return {};
  }

  Status int_field(const Fields& fields, size_t block_line, std::string_view key, int64_t lo, int64_t hi,
                   std::optional<int64_t> fallback, int64_t& out) const {
    auto it = fields.find(key);
    if (it == fields.end()) {
      if (fallback) {
        out = *fallback;
        return {};
      }
      return fail(block_line, fmt::format("missing '{}'", key));
    }
    auto [end, ec] = std::from_chars(it->second.value.data(), it->second.value.data() + it->second.value.size(), out);
    if (ec == std::errc::result_out_of_range) {
      return fail(it->second.line, fmt::format("{}={} is out of range [{}, {}]", key, it->second.value, lo, hi));
    }
    if (ec != std::errc() || end != it->second.value.data() + it->second.value.size()) {
      return fail(it->second.line, fmt::format("{}: '{}' is not an integer", key, it->second.value));
    }
    if (out < lo || out > hi) return fail(it->second.line, fmt::format("{}={} is out of range [{}, {}]", key, out, lo, hi));
    return {};
  }

  Status convert_tree(const Fields& fields, size_t block_line, size_t tree_index, double leaf_scale, Tree& out,
                      std::vector<uint32_t>& category_bits) const;
  Status set_inputs(const Fields& header, const std::vector<Line>& lines, size_t tail_begin, Model& model) const;

  const std::string& source_;
  int64_t n_features_ = 0;
};

Status LightgbmImporter::convert_tree(const Fields& fields, size_t block_line, size_t tree_index, double leaf_scale,
                                      Tree& out, std::vector<uint32_t>& category_bits) const {
  int64_t num_leaves = 0, num_cat = 0, is_linear = 0;
  SLIPWAY_RETURN_IF_ERROR(int_field(fields, block_line, "num_leaves", 1, kMaxLeaves, std::nullopt, num_leaves));
  SLIPWAY_RETURN_IF_ERROR(int_field(fields, block_line, "num_cat", 0, kMaxLeaves, 0, num_cat));
  SLIPWAY_RETURN_IF_ERROR(int_field(fields, block_line, "is_linear", 0, 1, 0, is_linear));
  if (is_linear != 0) return unsupported(fmt::format("tree {}: linear trees (linear_tree=true) are not supported", tree_index));
  const size_t n_leaves = static_cast<size_t>(num_leaves);
  const size_t n_inner = n_leaves - 1;
  std::vector<double> leaf_value, threshold;
  std::vector<int64_t> split_feature, decision_type, left_child, right_child, cat_boundaries;
  std::vector<uint32_t> cat_threshold;
  SLIPWAY_RETURN_IF_ERROR(array(fields, block_line, "leaf_value", n_leaves, leaf_value));
  auto add_node = [&out] { return detail::append_empty_node(out); };
  if (n_inner == 0) {
    add_node();
    out.leaf_values[0] = detail::saturate_to_float(leaf_value[0] * leaf_scale);
    return {};
  }
  if (static_cast<size_t>(num_cat) > n_inner) {
    return fail(block_line, fmt::format("num_cat={} exceeds the {} splits of the tree", num_cat, n_inner));
  }
  SLIPWAY_RETURN_IF_ERROR(array(fields, block_line, "split_feature", n_inner, split_feature));
  SLIPWAY_RETURN_IF_ERROR(array(fields, block_line, "threshold", n_inner, threshold));
  SLIPWAY_RETURN_IF_ERROR(array(fields, block_line, "decision_type", n_inner, decision_type));
  SLIPWAY_RETURN_IF_ERROR(array(fields, block_line, "left_child", n_inner, left_child));
  SLIPWAY_RETURN_IF_ERROR(array(fields, block_line, "right_child", n_inner, right_child));
  if (num_cat > 0) {
    SLIPWAY_RETURN_IF_ERROR(array(fields, block_line, "cat_boundaries", static_cast<size_t>(num_cat) + 1, cat_boundaries));
    for (size_t i = 0; i < cat_boundaries.size(); ++i) {
      if (cat_boundaries[i] < (i == 0 ? 0 : cat_boundaries[i - 1]) || cat_boundaries[i] > kMaxLeaves * 64) {
        return fail(fields.at("cat_boundaries").line, fmt::format("cat_boundaries are not ascending at position {}", i));
      }
    }
    SLIPWAY_RETURN_IF_ERROR(array(fields, block_line, "cat_threshold", static_cast<size_t>(cat_boundaries.back()), cat_threshold));
  }
  const size_t split_line = fields.at("split_feature").line;

  // Check the structure once: every child in range, every node and leaf reached exactly once.
  std::vector<uint8_t> seen_inner(n_inner, 0), seen_leaf(n_leaves, 0);
  std::vector<int64_t> stack{0};
  seen_inner[0] = 1;
  while (!stack.empty()) {
    const auto node = static_cast<size_t>(stack.back());
    stack.pop_back();
    for (auto [name, child] : {std::pair{"left_child", left_child[node]}, std::pair{"right_child", right_child[node]}}) {
      const size_t line = fields.at(name).line;
      if (child >= 0) {
        if (static_cast<uint64_t>(child) >= n_inner) {
          return fail(line, fmt::format("{}[{}] = {} is out of range (the tree has {} splits)", name, node, child, n_inner));
        }
        if (seen_inner[static_cast<size_t>(child)]++) {
          return fail(line, fmt::format("split {} is reached twice (a cycle or a shared child)", child));
        }
        stack.push_back(child);
      } else {
        const int64_t leaf = ~child;
        if (static_cast<uint64_t>(leaf) >= n_leaves) {
          return fail(line, fmt::format("{}[{}] = {} names leaf {}, but the tree has {} leaves", name, node, child, leaf, n_leaves));
        }
        if (seen_leaf[static_cast<size_t>(leaf)]++) return fail(line, fmt::format("leaf {} is reached twice", leaf));
      }
    }
    const int64_t f = split_feature[node];
    if (f < 0 || f >= n_features_) {
      return fail(split_line, fmt::format("split_feature[{}] = {} is out of range (the model has {} features)", node, f, n_features_));
    }
    const int64_t dt = decision_type[node];
    if (dt < 0 || dt > 15 || ((dt >> 2) & 3) == 3) {
      return fail(fields.at("decision_type").line, fmt::format("decision_type[{}] = {} is not a valid decision type", node, dt));
    }
    if (std::isnan(threshold[node])) return fail(fields.at("threshold").line, fmt::format("threshold[{}] is NaN", node));
    if ((dt & 1) != 0) {
      const double t = threshold[node];
      if (!(t >= 0 && t < static_cast<double>(num_cat)) || t != std::floor(t)) {
        return fail(fields.at("threshold").line,
                    fmt::format("threshold[{}] = {} is not a categorical split index below num_cat={}", node, t, num_cat));
      }
    }
  }

  // Emit the tree. A reference is an inner source node, a source leaf, or a synthetic split made
  // while expanding a zero-as-missing node; references are copied each time they are emitted.
  enum class Kind : uint8_t { kInner, kLeaf, kSynthetic };
  struct Ref {
    Kind kind;
    int32_t index;
  };
  struct Synthetic {
    int32_t feature;
    float threshold;
    uint8_t default_left;
    Ref left, right;
  };
  std::vector<Synthetic> synthetic;
  std::unordered_map<int64_t, std::pair<uint32_t, uint32_t>> bitset_of;  // cat_idx -> (bit offset, bits)
  auto child_ref = [](int64_t child) {
    return child >= 0 ? Ref{Kind::kInner, static_cast<int32_t>(child)} : Ref{Kind::kLeaf, static_cast<int32_t>(~child)};
  };
  const float zero_hi = static_cast<float>(kZeroThreshold);  // x <= zero_hi  iff  x <= 1e-35f
  const float zero_lo = std::nextafter(-zero_hi, -std::numeric_limits<float>::infinity());  // x <= zero_lo iff x < -1e-35f

  std::vector<std::pair<Ref, int32_t>> work{{Ref{Kind::kInner, 0}, add_node()}};
  while (!work.empty()) {
    auto [ref, dst] = work.back();
    work.pop_back();
    if (out.size() > kMaxNodesPerTree) {
      return fail(block_line, fmt::format("tree {}: zero-as-missing splits expand to more than {} nodes", tree_index, kMaxNodesPerTree));
    }
    const auto d = static_cast<size_t>(dst);
    if (ref.kind == Kind::kLeaf) {
      out.leaf_values[d] = detail::saturate_to_float(leaf_value[static_cast<size_t>(ref.index)] * leaf_scale);
      continue;
    }
    Synthetic split{};
    if (ref.kind == Kind::kSynthetic) {
      split = synthetic[static_cast<size_t>(ref.index)];
    } else {
      const auto node = static_cast<size_t>(ref.index);
      const int64_t dt = decision_type[node];
      const double t = threshold[node];
      const bool default_left = (dt & 2) != 0;
      const int missing_type = static_cast<int>((dt >> 2) & 3);  // 0 None, 1 Zero, 2 NaN
      const Ref l = child_ref(left_child[node]), r = child_ref(right_child[node]);
      split = {static_cast<int32_t>(split_feature[node]), float_at_or_below(t), 0, l, r};
      if ((dt & 1) != 0) {
        const auto cat_idx = static_cast<int64_t>(t);
        auto [it, inserted] = bitset_of.try_emplace(cat_idx);
        if (inserted) {
          const auto begin = static_cast<size_t>(cat_boundaries[static_cast<size_t>(cat_idx)]);
          const auto end = static_cast<size_t>(cat_boundaries[static_cast<size_t>(cat_idx) + 1]);
          if (category_bits.size() + (end - begin) > kMaxCategoryWords) {
            return fail(block_line, "categorical splits need more than 64 MiB of category bitsets");
          }
          it->second = {static_cast<uint32_t>(category_bits.size() * 32), static_cast<uint32_t>((end - begin) * 32)};
          category_bits.insert(category_bits.end(), cat_threshold.begin() + static_cast<std::ptrdiff_t>(begin),
                               cat_threshold.begin() + static_cast<std::ptrdiff_t>(end));
        }
        out.feature[d] = split.feature;
        out.is_categorical[d] = 1;
        out.cat_offset[d] = it->second.first;
        out.cat_size[d] = it->second.second;
        out.default_left[d] = 0;  // NaN goes right
        const int32_t nl = add_node(), nr = add_node();
        out.left[d] = nl;
        out.right[d] = nr;
        work.push_back({r, nr});
        work.push_back({l, nl});
        continue;
      }
      if (missing_type == 0) {
        split.default_left = 0.0 <= t ? 1 : 0;
      } else if (missing_type == 2) {
        split.default_left = default_left ? 1 : 0;
      } else {
        const bool plain = default_left ? kZeroThreshold <= t : t < -kZeroThreshold;
        split.default_left = default_left ? 1 : 0;
        if (!plain) {
          // A: x < -z ? N1 : B;  B: x <= z ? default side : N2;  N1, N2: the ordinary split.
          const Ref ordinary{Kind::kSynthetic, static_cast<int32_t>(synthetic.size())};
          synthetic.push_back({split.feature, split.threshold, 0, l, r});
          const Ref below = static_cast<double>(zero_lo) <= t ? l : ordinary;   // every x < -z is <= t
          const Ref above = t < kZeroThreshold ? r : ordinary;                  // every x > z is > t
          const Ref b{Kind::kSynthetic, static_cast<int32_t>(synthetic.size())};
          synthetic.push_back({split.feature, zero_hi, 1, default_left ? l : r, above});
          split = {split.feature, zero_lo, 0, below, b};
        }
      }
    }
    out.feature[d] = split.feature;
    out.threshold[d] = split.threshold;
    out.default_left[d] = split.default_left;
    const int32_t nl = add_node(), nr = add_node();
    out.left[d] = nl;
    out.right[d] = nr;
    work.push_back({split.right, nr});
    work.push_back({split.left, nl});
  }
  return {};
}

// Inputs: one per feature; a pandas categorical feature becomes a categorical input whose kOrdinal
// step maps the category strings to LightGBM's codes (unknown -> NaN, which LightGBM sends right).
Status LightgbmImporter::set_inputs(const Fields& header, const std::vector<Line>& lines, size_t tail_begin,
                                    Model& model) const {
  const size_t n = static_cast<size_t>(n_features_);
  std::vector<std::string> names;
  if (auto it = header.find("feature_names"); it != header.end()) {
    size_t pos = 0;
    std::string_view s = it->second.value;
    while (pos <= s.size() && !s.empty()) {
      size_t end = s.find(' ', pos);
      if (end == std::string_view::npos) end = s.size();
      names.emplace_back(s.substr(pos, end - pos));
      pos = end + 1;
    }
    if (names.size() != n) {
      return fail(it->second.line, fmt::format("feature_names has {} names but max_feature_idx gives {} features", names.size(), n));
    }
  }
  for (size_t f = 0; f < n; ++f) {
    std::string name = names.empty() ? fmt::format("Column_{}", f) : names[f];
    model.feature_names.push_back(name);
    model.inputs.push_back(detail::numeric_input(std::move(name)));
  }

  std::vector<size_t> categorical;  // feature indices, ascending
  bool from_parameters = false;
  json pandas = nullptr;
  size_t pandas_line = 0;
  for (size_t i = tail_begin; i < lines.size(); ++i) {
    std::string_view line = lines[i].text;
    if (line.starts_with("[categorical_feature: ") && line.ends_with("]")) {
      from_parameters = true;
      std::string_view list = line.substr(22, line.size() - 23);
      size_t pos = 0;
      while (pos < list.size()) {
        size_t end = list.find(',', pos);
        if (end == std::string_view::npos) end = list.size();
        int64_t f = -1;
        auto [p, ec] = std::from_chars(list.data() + pos, list.data() + end, f);
        if (ec == std::errc() && p == list.data() + end && f >= 0 && static_cast<size_t>(f) < n) {
          categorical.push_back(static_cast<size_t>(f));
        }
        pos = end + 1;
      }
    } else if (line.starts_with("pandas_categorical:")) {
      pandas_line = lines[i].number;
      try {
        pandas = json::parse(line.substr(19), nullptr, /*allow_exceptions=*/false);
      } catch (const json::exception&) {
        pandas = json::value_t::discarded;
      }
      if (pandas.is_discarded()) return fail(pandas_line, "pandas_categorical is not valid JSON");
    }
  }
  if (pandas.is_null()) return {};
  if (!pandas.is_array()) return fail(pandas_line, "pandas_categorical is not a list");
  if (pandas.empty()) return {};
  if (!from_parameters) {
    // Older files without a parameters section: categorical features have "a:b:c" infos instead
    // of "[min:max]".
    if (auto it = header.find("feature_infos"); it != header.end()) {
      size_t pos = 0, f = 0;
      std::string_view s = it->second.value;
      while (pos < s.size() && f < n) {
        size_t end = s.find(' ', pos);
        if (end == std::string_view::npos) end = s.size();
        std::string_view info = s.substr(pos, end - pos);
        if (!info.empty() && info.front() != '[' && info != "none") categorical.push_back(f);
        pos = end + 1;
        ++f;
      }
    }
  }
  std::sort(categorical.begin(), categorical.end());
  categorical.erase(std::unique(categorical.begin(), categorical.end()), categorical.end());
  if (categorical.size() != pandas.size()) {
    model.provenance.extra["warnings"].push_back(fmt::format(
        "pandas_categorical lists {} columns but the model has {} categorical features; categorical inputs take integer codes",
        pandas.size(), categorical.size()));
    return {};
  }
  for (size_t i = 0; i < categorical.size(); ++i) {
    const json& list = pandas[i];
    if (!list.is_array()) return fail(pandas_line, fmt::format("pandas_categorical[{}] is not a list", i));
    TransformStep ordinal;
    ordinal.kind = StepKind::kOrdinal;
    ordinal.params = {std::numeric_limits<double>::quiet_NaN()};
    ordinal.fitted_from = "LightGBM pandas_categorical";
    for (const json& category : list) {
      ordinal.categories.push_back(category.is_string() ? category.get<std::string>() : category.dump());
    }
    InputColumn& input = model.inputs[categorical[i]];
    input.kind = InputKind::kCategorical;
    input.steps.push_back(std::move(ordinal));
  }
  return {};
}

Result<Model> LightgbmImporter::run(std::string_view text) {
  const std::vector<Line> lines = split_lines(text);
  // Names and the objective end up in the bundle's JSON manifest, which must be valid UTF-8.
  for (const Line& line : lines) {
    if (const size_t at = detail::invalid_utf8_at(line.text); at != std::string_view::npos) {
      return fail(line.number, fmt::format("invalid UTF-8 (byte 0x{:02x}) at column {}", static_cast<uint8_t>(line.text[at]), at + 1));
    }
  }
  if (lines.empty() || lines[0].text != "tree") {
    return fail("not a LightGBM text model (the first line is not 'tree')");
  }
  // Header: key=value lines up to the first tree.
  Fields header;
  bool average_output = false;
  size_t i = 1;
  for (; i < lines.size() && !lines[i].text.starts_with("Tree=") && lines[i].text != "end of trees"; ++i) {
    std::string_view line = lines[i].text;
    if (line == "average_output") average_output = true;
    const size_t eq = line.find('=');
    if (eq != std::string_view::npos) header[line.substr(0, eq)] = {line.substr(eq + 1), lines[i].number};
  }
  int64_t num_class = 0, per_iteration = 0, max_feature_idx = 0;
  SLIPWAY_RETURN_IF_ERROR(int_field(header, 1, "num_class", 1, kMaxClasses, std::nullopt, num_class));
  SLIPWAY_RETURN_IF_ERROR(int_field(header, 1, "num_tree_per_iteration", 1, kMaxClasses, num_class, per_iteration));
  SLIPWAY_RETURN_IF_ERROR(int_field(header, 1, "max_feature_idx", 0, kMaxFeatures - 1, std::nullopt, max_feature_idx));
  n_features_ = max_feature_idx + 1;

  // Objective: "binary sigmoid:1", "multiclass num_class:3", "regression", "poisson", ...
  std::string objective_text = "custom";
  if (auto it = header.find("objective"); it != header.end()) objective_text = std::string(it->second.value);
  std::string_view objective_name = std::string_view(objective_text).substr(0, objective_text.find(' '));
  Task task = Task::kRegression;
  OutputTransform transform = OutputTransform::kIdentity;
  double leaf_scale = 1.0;
  if (objective_text.find(" sqrt") != std::string::npos) {
    return unsupported(fmt::format("unsupported LightGBM objective '{}' (reg_sqrt)", objective_text));
  }
  if (objective_name == "binary") {
    task = Task::kBinary;
    transform = OutputTransform::kSigmoid;
    if (const auto p = objective_text.find(" sigmoid:"); p != std::string::npos) {
      std::string_view v = std::string_view(objective_text).substr(p + 9);
      v = v.substr(0, v.find(' '));
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), leaf_scale);
      if (ec != std::errc() || end != v.data() + v.size() || !(leaf_scale > 0) || !std::isfinite(leaf_scale)) {
        return fail(header.at("objective").line, fmt::format("objective '{}' has an invalid sigmoid parameter", objective_text));
      }
    }
  } else if (objective_name == "multiclass") {
    task = Task::kMulticlass;
    transform = OutputTransform::kSoftmax;
  } else if (objective_name == "cross_entropy") {
    transform = OutputTransform::kSigmoid;
  } else if (objective_name == "poisson" || objective_name == "gamma" || objective_name == "tweedie") {
    transform = OutputTransform::kExp;
  } else if (objective_name != "regression" && objective_name != "regression_l1" && objective_name != "huber" &&
             objective_name != "fair" && objective_name != "quantile" && objective_name != "mape" &&
             objective_name != "lambdarank" && objective_name != "rank_xendcg" && objective_name != "custom") {
    return unsupported(fmt::format("unsupported LightGBM objective '{}'", objective_text));
  }
  const size_t n_margins = task == Task::kMulticlass ? static_cast<size_t>(num_class) : 1;
  if (task == Task::kMulticlass ? (num_class < 2 || per_iteration != num_class) : (num_class != 1 || per_iteration != 1)) {
    return fail(fmt::format("objective '{}' does not fit num_class={} and num_tree_per_iteration={}", objective_text,
                            num_class, per_iteration));
  }

  TreeEnsemble ensemble;
  ensemble.comparison = Comparison::kLessEqual;
  ensemble.category_in_set_goes_left = true;
  ensemble.base_score.assign(n_margins, 0.0);
  ensemble.average = average_output;
  while (i < lines.size() && lines[i].text.starts_with("Tree=")) {
    const size_t block_line = lines[i].number;
    Fields fields;
    for (++i; i < lines.size() && !lines[i].text.empty() && !lines[i].text.starts_with("Tree=") &&
              lines[i].text != "end of trees";
         ++i) {
      const size_t eq = lines[i].text.find('=');
      if (eq != std::string_view::npos) fields[lines[i].text.substr(0, eq)] = {lines[i].text.substr(eq + 1), lines[i].number};
    }
    while (i < lines.size() && lines[i].text.empty()) ++i;
    const size_t index = ensemble.trees.size();
    ensemble.trees.emplace_back();
    ensemble.tree_output.push_back(static_cast<int32_t>(index % n_margins));
    SLIPWAY_RETURN_IF_ERROR(convert_tree(fields, block_line, index, leaf_scale, ensemble.trees.back(), ensemble.category_bits));
  }
  if (i >= lines.size() || lines[i].text != "end of trees") {
    return fail(i < lines.size() ? lines[i].number : lines.back().number,
                "expected 'Tree=N' or 'end of trees' (truncated or damaged file)");
  }
  if (ensemble.trees.size() % n_margins != 0) {
    return fail(fmt::format("{} trees is not a multiple of num_tree_per_iteration={}", ensemble.trees.size(), n_margins));
  }

  Model model;
  model.task = task;
  model.output_transform = transform;
  SLIPWAY_RETURN_IF_ERROR(set_inputs(header, lines, i, model));
  const size_t n_trees = ensemble.trees.size();
  model.body = std::move(ensemble);
  detail::set_outputs(model, task == Task::kMulticlass ? n_margins : 0);
  model.provenance.producer = "import:lightgbm-text";
  model.provenance.extra["library"] = "lightgbm";
  model.provenance.extra["objective"] = objective_text;
  model.provenance.extra["num_trees"] = n_trees;
  if (auto it = header.find("version"); it != header.end()) model.provenance.extra["format_version"] = std::string(it->second.value);
  if (average_output) model.provenance.extra["average_output"] = true;
  SLIPWAY_RETURN_IF_ERROR(validate_model(model).with_context(source_));
  return model;
}

}  // namespace

Result<Model> import_lightgbm_text(std::string_view text, const std::string& source_name) {
  return LightgbmImporter(source_name).run(text);
}

}  // namespace slipway::model
