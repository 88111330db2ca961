// C source exporter: one dependency-free C99 file (only <math.h> and <string.h>) that computes what
// reference_predict computes — the same float comparisons, double accumulation in the same order,
// the same output functions — plus the model's input transforms. Every float constant is written
// as a hexadecimal literal, so the C file holds exactly the model's values. A row normalization runs
// in <prefix>_predict, in float, as the engine does it. See the "C export" section of
// docs/model-format.md for the generated interface.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "slipway/model/exporters.h"

namespace slipway::model {
namespace {

std::string literal(float v) {
  if (std::isnan(v)) return "NAN";
  if (std::isinf(v)) return v > 0 ? "INFINITY" : "(-INFINITY)";
  return fmt::format("{:a}f", v);
}

std::string literal(double v) {
  if (std::isnan(v)) return "(double)NAN";
  if (std::isinf(v)) return v > 0 ? "HUGE_VAL" : "(-HUGE_VAL)";
  return fmt::format("{:a}", v);
}

std::string literal(int v) { return std::to_string(v); }
std::string literal(unsigned v) { return std::to_string(v) + "u"; }

// C string literal with every byte outside printable ASCII escaped (octal, so no digit run-on).
std::string c_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f && c != '?') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\{:03o}", c);
    }
  }
  return out + "\"";
}

template <typename T>
void array(std::string& out, const char* type, const std::string& name, const std::vector<T>& values) {
  out += fmt::format("static const {} {}[{}] = {{", type, name, values.empty() ? 1 : values.size());
  if (values.empty()) out += "0";
  for (size_t i = 0; i < values.size(); ++i) {
    out += i % 8 == 0 ? "\n  " : " ";
    out += literal(values[i]);
    out += ',';
  }
  out += "\n};\n";
}

// Text placed inside a C comment must not end it.
std::string comment_safe(std::string text) {
  for (size_t at; (at = text.find("*/")) != std::string::npos;) text.replace(at, 2, "* /");
  return text;
}

bool valid_prefix(const std::string& p) {
  if (p.empty() || std::isdigit(static_cast<unsigned char>(p[0]))) return false;
  for (char c : p) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

void emit_trees(std::string& s, const std::string& P, const Model& model, const TreeEnsemble& ens) {
  std::vector<int> feature, left, right, root, output;
  std::vector<float> threshold, leaf;
  std::vector<unsigned> flags, cat_offset, cat_size;
  bool categorical = false;
  for (size_t t = 0; t < ens.trees.size(); ++t) {
    const Tree& tree = ens.trees[t];
    const int base = static_cast<int>(feature.size());
    root.push_back(base);
    output.push_back(ens.tree_output.empty() ? 0 : ens.tree_output[t]);
    for (size_t n = 0; n < tree.size(); ++n) {
      const bool is_leaf = tree.left[n] < 0;
      const bool cat = !is_leaf && !tree.is_categorical.empty() && tree.is_categorical[n];
      categorical |= cat;
      feature.push_back(is_leaf ? 0 : tree.feature[n]);
      threshold.push_back(is_leaf || cat ? 0.0f : tree.threshold[n]);
      left.push_back(is_leaf ? -1 : base + tree.left[n]);
      right.push_back(is_leaf ? -1 : base + tree.right[n]);
      flags.push_back((tree.default_left[n] ? 1u : 0u) | (cat ? 2u : 0u) | (is_leaf ? 4u : 0u));
      cat_offset.push_back(cat ? tree.cat_offset[n] : 0u);
      cat_size.push_back(cat ? tree.cat_size[n] : 0u);
      for (uint32_t k = 0; k < ens.leaf_width; ++k) leaf.push_back(is_leaf ? tree.leaf_values[n * ens.leaf_width + k] : 0.0f);
    }
  }
  const size_t n_margins = model.n_margins();
  std::vector<double> count(n_margins, 0.0);
  for (size_t t = 0; t < ens.trees.size(); ++t) {
    if (ens.leaf_width == 1) {
      count[static_cast<size_t>(output[t])] += 1;
    } else {
      for (auto& c : count) c += 1;
    }
  }
  array(s, "int", P + "_feature", feature);
  array(s, "float", P + "_threshold", threshold);
  array(s, "int", P + "_left", left);
  array(s, "int", P + "_right", right);
  array(s, "unsigned char", P + "_flags", flags);
  array(s, "float", P + "_leaf", leaf);
  array(s, "int", P + "_root", root);
  array(s, "int", P + "_output", output);
  array(s, "double", P + "_base", ens.base_score);
  if (ens.average) array(s, "double", P + "_count", count);
  if (categorical) {
    array(s, "unsigned", P + "_cat_offset", cat_offset);
    array(s, "unsigned", P + "_cat_size", cat_size);
    array(s, "unsigned", P + "_cat_bits", std::vector<unsigned>(ens.category_bits.begin(), ens.category_bits.end()));
    s += fmt::format(R"(
/* Is the category code v (an integer >= 0 below the set's size) in node n's set? */
static int {0}_in_set(int n, float v) {{
  unsigned long bit;
  if (!(v >= 0) || (double)v != floor((double)v)) return 0;
  if ((double)v >= (double){0}_cat_size[n]) return 0;
  bit = (unsigned long){0}_cat_offset[n] + (unsigned long)v;
  return (int)(({0}_cat_bits[bit / 32] >> (bit % 32)) & 1u);
}}
)",
                     P);
  }
  const char* cmp = ens.comparison == Comparison::kLess ? "<" : "<=";
  s += fmt::format(R"(
static int {0}_find_leaf(int n, const float* x) {{
  while (!({0}_flags[n] & 4)) {{
    float v = x[{0}_feature[n]];
    int go_left;
    if (isnan(v)) go_left = {0}_flags[n] & 1;
)",
                   P);
  if (categorical) {
    s += fmt::format("    else if ({0}_flags[n] & 2) go_left = {0}_in_set(n, v) == {1};\n", P,
                     ens.category_in_set_goes_left ? 1 : 0);
  }
  s += fmt::format(R"(    else go_left = v {1} {0}_threshold[n];
    n = go_left ? {0}_left[n] : {0}_right[n];
  }}
  return n;
}}

static void {0}_margins(const float* x, double* m) {{
  double sum[{2}];
  int t, o;
  for (o = 0; o < {2}; ++o) sum[o] = 0.0;
  for (t = 0; t < {3}; ++t) {{
    int leaf = {0}_find_leaf({0}_root[t], x);
)",
                   P, cmp, n_margins, ens.trees.size());
  if (ens.leaf_width == 1) {
    s += fmt::format("    sum[{0}_output[t]] += {0}_leaf[leaf];\n", P);
  } else {
    s += fmt::format("    for (o = 0; o < {1}; ++o) sum[o] += {0}_leaf[leaf * {1} + o];\n", P, ens.leaf_width);
  }
  s += fmt::format("  }}\n  for (o = 0; o < {1}; ++o) m[o] = {0}_base[o] + {2};\n}}\n", P, n_margins,
                   ens.average ? fmt::format("sum[o] / {}_count[o]", P) : std::string("sum[o]"));
}

void emit_linear(std::string& s, const std::string& P, const Model& model, const LinearModel& lin) {
  array(s, "float", P + "_weight", lin.weights);
  array(s, "float", P + "_bias", lin.bias);
  s += fmt::format(R"(
static void {0}_margins(const float* x, double* m) {{
  int o, j;
  for (o = 0; o < {1}; ++o) {{
    double acc = {0}_bias[o];
    for (j = 0; j < {2}; ++j)
      if (!isnan(x[j])) acc += (double){0}_weight[o * {2} + j] * x[j];
    m[o] = acc;
  }}
}}
)",
                   P, model.n_margins(), model.n_features());
}

void emit_mlp(std::string& s, const std::string& P, const Mlp& mlp) {
  size_t width = 0;
  for (size_t l = 0; l < mlp.layers.size(); ++l) {
    array(s, "float", fmt::format("{}_w{}", P, l), mlp.layers[l].weights);
    array(s, "float", fmt::format("{}_b{}", P, l), mlp.layers[l].bias);
    width = std::max<size_t>({width, mlp.layers[l].in, mlp.layers[l].out});
  }
  s += fmt::format(R"(
static void {0}_margins(const float* x, double* m) {{
  double a[{1}], b[{1}];
  int o, j;
  for (j = 0; j < {2}; ++j) a[j] = isnan(x[j]) ? 0.0 : x[j];
)",
                   P, width, mlp.layers.front().in);
  for (size_t l = 0; l < mlp.layers.size(); ++l) {
    const DenseLayer& layer = mlp.layers[l];
    const char* act = "acc";
    switch (layer.activation) {
      case Activation::kIdentity: break;
      case Activation::kRelu: act = "(acc > 0 ? acc : 0.0)"; break;
      case Activation::kTanh: act = "tanh(acc)"; break;
      case Activation::kSigmoid: act = "1.0 / (1.0 + exp(-acc))"; break;
      case Activation::kGelu: act = "0.5 * acc * (1.0 + erf(acc / sqrt(2.0)))"; break;
    }
    s += fmt::format(R"(  for (o = 0; o < {2}; ++o) {{
    double acc = {0}_b{1}[o];
    for (j = 0; j < {3}; ++j) acc += (double){0}_w{1}[o * {3} + j] * a[j];
    b[o] = {4};
  }}
  for (o = 0; o < {2}; ++o) a[o] = b[o];
)",
                     P, l, layer.out, layer.in, act);
  }
  s += fmt::format("  for (o = 0; o < {}; ++o) m[o] = a[o];\n}}\n", mlp.layers.back().out);
}

// <prefix>_normalize: the row normalization, in float as detail::normalize_row (and onnxruntime's
// Normalizer) computes it; compile without -ffast-math and without FMA contraction flags.
void emit_normalize(std::string& s, const std::string& P, const Model& model) {
  const size_t f = model.n_features();
  s += fmt::format("\nstatic void {}_normalize(const float* x, float* y) {{\n  int j;\n", P);
  switch (model.row_normalization) {
    case RowNormalization::kNone: break;
    case RowNormalization::kMax:
      s += fmt::format(R"(  float top = -0x1.fffffep+127f; /* the lowest float; NaN values are skipped */
  for (j = 0; j < {0}; ++j) if (top < x[j]) top = x[j];
  for (j = 0; j < {0}; ++j) y[j] = top != 0.0f ? x[j] / top : x[j];
)",
                       f);
      break;
    case RowNormalization::kL1:
      s += fmt::format(R"(  float sum = 0.0f;
  for (j = 0; j < {0}; ++j) sum += fabsf(x[j]);
  for (j = 0; j < {0}; ++j) y[j] = sum != 0.0f ? x[j] / sum : x[j];
)",
                       f);
      break;
    case RowNormalization::kL2:
      s += fmt::format(R"(  float sum = 0.0f;
  for (j = 0; j < {0}; ++j) {{
    float square = x[j] * x[j];
    sum += square;
  }}
  for (j = 0; j < {0}; ++j) {{
    float square = x[j] * x[j], root;
    if (sum == 0.0f) {{
      y[j] = x[j];
      continue;
    }}
    root = sqrtf(square / sum);
    y[j] = x[j] < 0 ? -root : root;
  }}
)",
                       f);
      break;
  }
  s += "}\n";
}

void emit_output(std::string& s, const std::string& P, const Model& model) {
  const size_t n = model.n_margins();
  const bool normalize = model.row_normalization != RowNormalization::kNone;
  if (normalize) emit_normalize(s, P, model);
  s += fmt::format(R"(
void {0}_predict(const float* features, float* out) {{
  double m[{1}];
  int o;
)",
                   P, n);
  if (normalize) {
    s += fmt::format("  float row[{1}];\n  {0}_normalize(features, row);\n  {0}_margins(row, m);\n", P,
                     model.n_features());
  } else {
    s += fmt::format("  {0}_margins(features, m);\n", P);
  }
  switch (model.output_transform) {
    case OutputTransform::kIdentity:
      s += fmt::format("  for (o = 0; o < {}; ++o) out[o] = (float)m[o];\n", n);
      break;
    case OutputTransform::kSigmoid:
      s += fmt::format(R"(  for (o = 0; o < {}; ++o) {{
    if (m[o] >= 0) {{
      out[o] = (float)(1.0 / (1.0 + exp(-m[o])));
    }} else {{
      double e = exp(m[o]);
      out[o] = (float)(e / (1.0 + e));
    }}
  }}
)",
                       n);
      break;
    case OutputTransform::kExp:
      s += fmt::format("  for (o = 0; o < {}; ++o) out[o] = (float)exp(m[o]);\n", n);
      break;
    case OutputTransform::kSoftmax:
      s += fmt::format(R"(  {{
    double top = m[0], sum = 0.0;
    for (o = 1; o < {0}; ++o) if (m[o] > top) top = m[o];
    for (o = 0; o < {0}; ++o) sum += exp(m[o] - top);
    for (o = 0; o < {0}; ++o) out[o] = (float)(exp(m[o] - top) / sum);
  }}
)",
                       n);
      break;
  }
  s += "}\n";
}

// <prefix>_encode: the model's input transforms, numbers[i] for a numeric input (NaN = missing),
// texts[i] for a categorical one (NULL = missing). Steps run in double and round once, like
// FeatureEncoder.
void emit_encode(std::string& s, const std::string& P, const Model& model) {
  s += fmt::format("\nvoid {}_encode(const double* numbers, const char* const* texts, float* features) {{\n", P);
  s += "  double v;\n  int k;\n  (void)numbers; (void)texts; (void)v; (void)k;\n";
  size_t column = 0;
  for (size_t i = 0; i < model.inputs.size(); ++i) {
    const InputColumn& input = model.inputs[i];
    if (input.kind == InputKind::kNumeric) {
      s += fmt::format("  v = numbers[{}];\n", i);
      for (const TransformStep& st : input.steps) {
        const auto& p = st.params;
        switch (st.kind) {
          case StepKind::kImpute: s += fmt::format("  if (isnan(v)) v = {};\n", literal(p[0])); break;
          case StepKind::kStandardize: s += fmt::format("  v = (v - {}) / {};\n", literal(p[0]), literal(p[1])); break;
          case StepKind::kMinMax:
            s += fmt::format("  v = (v - {}) * {} + {};\n", literal(p[0]), literal(p[1]), literal(p[2]));
            break;
          case StepKind::kLog1p: s += "  v = log1p(v);\n"; break;
          case StepKind::kClip:
            s += fmt::format("  if (!isnan(v)) v = v < {0} ? {0} : ({1} < v ? {1} : v);\n", literal(p[0]), literal(p[1]));
            break;
          case StepKind::kBucketize: {
            std::string edges;
            for (double e : p) edges += literal(e) + ", ";
            s += fmt::format("  if (!isnan(v)) {{\n    static const double edges[{}] = {{{}}};\n", p.size(), edges);
            s += fmt::format("    for (k = 0; k < {} && edges[k] <= v; ++k) {{}}\n    v = (double)k;\n  }}\n", p.size());
            break;
          }
          case StepKind::kOrdinal:
          case StepKind::kOneHot: break;
        }
      }
      s += fmt::format("  features[{}] = (float)v;\n", column);
      column += 1;
      continue;
    }
    const TransformStep& st = input.steps.back();
    std::string cats;
    for (const auto& c : st.categories) cats += "\n    " + c_string(c) + ",";
    s += fmt::format("  {{\n    static const char* const categories[{}] = {{{}{}}};\n    int found = -1;\n",
                     std::max<size_t>(st.categories.size(), 1), cats, st.categories.empty() ? "0" : "");
    s += fmt::format("    if (texts[{0}]) for (k = 0; k < {1}; ++k) if (strcmp(texts[{0}], categories[k]) == 0) {{ found = k; break; }}\n",
                     i, st.categories.size());
    const size_t width = input.width();
    if (st.kind == StepKind::kOrdinal) {
      s += fmt::format("    features[{0}] = !texts[{1}] ? NAN : found >= 0 ? (float)found : (float){2};\n", column, i,
                       literal(st.params[0]));
    } else {
      s += fmt::format("    for (k = 0; k < {}; ++k) features[{} + k] = 0.0f;\n", width, column);
      s += fmt::format("    if (found >= 0) features[{} + found] = 1.0f;\n", column);
      if (st.unknown_bucket) s += fmt::format("    else features[{}] = 1.0f;\n", column + width - 1);
    }
    s += "  }\n";
    column += width;
  }
  s += "}\n";
}

}  // namespace

Result<std::string> export_c_source(const Model& model, const CExportOptions& options) {
  SLIPWAY_RETURN_IF_ERROR(validate_model(model));
  const std::string& P = options.prefix;
  if (!valid_prefix(P)) {
    return make_error(ErrorCode::kInvalidArgument, "C export: prefix '{}' is not a C identifier", P);
  }
  std::string s = fmt::format(R"(/* Generated by slipway {} from a {} {} model ({}).
 * C99, no dependencies beyond the C library: cc -O2 -std=c99 -c {}.c, link with -lm.
 *
 *   int  {}_n_inputs(void);    raw inputs, in signature order
 *   int  {}_n_features(void);  encoded feature columns
 *   int  {}_n_outputs(void);   output columns
 *   void {}_encode(const double* numbers, const char* const* texts, float* features);
 *   void {}_predict(const float* features, float* out);
 */
#include <math.h>
#include <string.h>

int {}_n_inputs(void) {{ return {}; }}
int {}_n_features(void) {{ return {}; }}
int {}_n_outputs(void) {{ return {}; }}

)",
                              SLIPWAY_VERSION_STRING, task_name(model.task), body_kind_name(model.body),
                              comment_safe(model.provenance.producer.empty() ? "unknown producer" : model.provenance.producer), P, P,
                              P, P, P, P, P, model.inputs.size(), P, model.n_features(), P, model.n_outputs());
  if (const auto* ens = std::get_if<TreeEnsemble>(&model.body)) {
    emit_trees(s, P, model, *ens);
  } else if (const auto* lin = std::get_if<LinearModel>(&model.body)) {
    emit_linear(s, P, model, *lin);
  } else {
    emit_mlp(s, P, std::get<Mlp>(model.body));
  }
  emit_output(s, P, model);
  emit_encode(s, P, model);
  return s;
}

}  // namespace slipway::model
