// ONNX import and export: the golden skl2onnx / onnx.helper models against onnxruntime's own
// outputs, hand-built graphs (GELU, plumbing), exact errors for unsupported or damaged input, and
// export -> import round trips.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine_test_models.h"
#include "slipway/model/engine.h"
#include "slipway/model/exporters.h"
#include "slipway/model/importers.h"
#include "slipway/model/transforms.h"

namespace slipway::model {
namespace {

const std::string kModels = std::string(SLIPWAY_TEST_DATA) + "/models/";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  int column(const std::string& name) const {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return static_cast<int>(i);
    }
    return -1;
  }
};

// The golden CSVs hold plain fields (no quoting needed).
Csv read_csv(const std::string& path) {
  Csv csv;
  std::ifstream in(path);
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::stringstream ss(line);
    std::string f;
    while (std::getline(ss, f, ',')) fields.push_back(f);
    if (!line.empty() && line.back() == ',') fields.emplace_back();
    if (first) {
      csv.header = fields;
      first = false;
    } else {
      fields.resize(csv.header.size());
      csv.rows.push_back(fields);
    }
  }
  return csv;
}

// Encodes the input rows: by name when every model input is a CSV column, else by position
// (skl2onnx's single [N, k] input gets inputs f0..f{k-1}; the CSV has the real feature names).
std::vector<float> encode(const Model& model, const Csv& csv) {
  std::vector<int> col(model.inputs.size());
  bool by_name = true;
  for (size_t i = 0; i < model.inputs.size(); ++i) {
    col[i] = csv.column(model.inputs[i].name);
    by_name = by_name && col[i] >= 0;
  }
  if (!by_name) {
    EXPECT_EQ(model.inputs.size(), csv.header.size());
    for (size_t i = 0; i < col.size(); ++i) col[i] = static_cast<int>(i);
  }
  FeatureEncoder encoder(model);
  std::vector<float> x(csv.rows.size() * model.n_features());
  std::vector<FeatureEncoder::RawValue> raw(model.inputs.size());
  for (size_t r = 0; r < csv.rows.size(); ++r) {
    for (size_t i = 0; i < model.inputs.size(); ++i) {
      const std::string& f = csv.rows[r][static_cast<size_t>(col[i])];
      raw[i].missing = f.empty();
      raw[i].text = f;
      raw[i].number = f.empty() ? std::numeric_limits<double>::quiet_NaN() : std::strtod(f.c_str(), nullptr);
    }
    encoder.encode_row(raw.data(), x.data() + r * model.n_features());
  }
  return x;
}

std::vector<float> predict(const Model& model, const std::vector<float>& x) {
  const size_t rows = x.size() / std::max<size_t>(model.n_features(), 1);
  std::vector<float> out(rows * model.n_outputs());
  reference_predict(model, x.data(), rows, out.data());
  return out;
}

size_t decision(const float* p, size_t width) {
  if (width == 1) return p[0] > 0.5f ? 1 : 0;
  return static_cast<size_t>(std::max_element(p, p + width) - p);
}

struct Golden {
  std::string name;
  Model model;
  Csv inputs, expected;
  double onnxruntime_vs_sklearn = 0;  // the manifest's max_abs_diff_sklearn_vs_onnxruntime
};

std::vector<Golden> load_goldens() {
  std::vector<Golden> out;
  auto manifest = nlohmann::json::parse(read_file(kModels + "MANIFEST.json"));
  for (const auto& m : manifest["models"]) {
    if (m.value("format", "") != "onnx") continue;
    auto bytes = read_file(kModels + m["file"].get<std::string>());
    auto model = import_onnx(bytes, m["file"].get<std::string>());
    EXPECT_TRUE(model.ok()) << m["name"] << ": " << model.status().message();
    if (!model.ok()) continue;
    out.push_back({m["name"], std::move(*model), read_csv(kModels + m["inputs"].get<std::string>()),
                   read_csv(kModels + m["expected"].get<std::string>()),
                   m.value("max_abs_diff_sklearn_vs_onnxruntime", 0.0)});
  }
  return out;
}

// The expected column for output k: onnxruntime's where both libraries are listed.
int expected_column(const Golden& g, size_t k) {
  const Model& m = g.model;
  std::vector<std::string> names;
  if (m.task == Task::kRegression) names = {"value"};
  if (m.task == Task::kBinary) names = {"prob"};
  if (m.task == Task::kMulticlass) names = {"prob_" + m.class_labels[k]};
  int c = g.expected.column("onnxruntime_" + names[0]);
  return c >= 0 ? c : g.expected.column(names[0]);
}

TEST(OnnxImport, GoldenModelsMatchOnnxruntime) {
  auto goldens = load_goldens();
  EXPECT_GE(goldens.size(), 17u);
  for (const auto& g : goldens) {
    SCOPED_TRACE(g.name);
    EXPECT_EQ(g.model.provenance.producer, "import:onnx");
    const auto x = encode(g.model, g.inputs);
    const auto y = predict(g.model, x);
    const size_t width = g.model.n_outputs();
    ASSERT_EQ(g.expected.rows.size(), g.inputs.rows.size());
    std::vector<int> cols;
    for (size_t k = 0; k < width; ++k) {
      cols.push_back(expected_column(g, k));
      ASSERT_GE(cols.back(), 0) << "no expected column for output " << k;
    }
    const int label_col = g.expected.column("onnxruntime_label");
    // The originating library's float64 column, where there is one (scikit-learn).
    const int sk_col = g.model.task == Task::kRegression ? g.expected.column("sklearn_value")
                       : g.model.task == Task::kBinary   ? g.expected.column("sklearn_prob")
                                                         : -1;
    double max_diff_sklearn = 0;
    double max_diff = 0, max_rel = 0;
    size_t decisions_differ = 0;
    for (size_t r = 0; r < g.expected.rows.size(); ++r) {
      std::vector<float> want(width);
      for (size_t k = 0; k < width; ++k) {
        want[k] = static_cast<float>(std::stod(g.expected.rows[r][static_cast<size_t>(cols[k])]));
        const double d = std::fabs(static_cast<double>(y[r * width + k]) - want[k]);
        max_diff = std::max(max_diff, d);
        max_rel = std::max(max_rel, d / std::max(1.0, std::fabs(static_cast<double>(want[k]))));
      }
      if (sk_col >= 0) {
        const double want_sk = std::stod(g.expected.rows[r][static_cast<size_t>(sk_col)]);
        max_diff_sklearn = std::max(max_diff_sklearn, std::fabs(static_cast<double>(y[r * width]) - want_sk));
      }
      if (g.model.task != Task::kRegression) {
        const size_t ours = decision(&y[r * width], width);
        decisions_differ += ours != decision(want.data(), width);
        if (label_col >= 0) {
          EXPECT_EQ(g.model.class_labels[ours], g.expected.rows[r][static_cast<size_t>(label_col)]);
        }
      }
    }
    // onnxruntime accumulates in float32, slipway in double: for outputs in the hundreds (the
    // diabetes regressors, float32 spacing 3e-5 there) the two cannot agree to 1e-5, so there
    // slipway must be at least as close to scikit-learn's float64 predictions as onnxruntime is.
    std::printf("[ onnx     ] %-46s max |slipway - onnxruntime| = %.3g (relative %.3g)", g.name.c_str(), max_diff,
                max_rel);
    if (sk_col >= 0) std::printf(", |slipway - sklearn| = %.3g", max_diff_sklearn);
    std::printf(", %zu rows\n", g.expected.rows.size());
    EXPECT_TRUE(max_diff <= 1e-5 || (sk_col >= 0 && max_diff_sklearn <= g.onnxruntime_vs_sklearn))
        << max_diff << " vs onnxruntime, " << max_diff_sklearn << " vs sklearn (onnxruntime vs sklearn: "
        << g.onnxruntime_vs_sklearn << ")";
    EXPECT_EQ(decisions_differ, 0u);
  }
}

TEST(OnnxImport, GoldenModelsMapToTheExpectedKinds) {
  std::map<std::string, Golden> by_name;
  for (auto& g : load_goldens()) by_name.emplace(g.name, std::move(g));
  const auto& rf = by_name.at("onnx_random_forest_breast_cancer").model;
  EXPECT_EQ(rf.task, Task::kBinary);
  EXPECT_EQ(rf.class_labels, (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(std::get<TreeEnsemble>(rf.body).comparison, Comparison::kLessEqual);
  EXPECT_EQ(rf.inputs.size(), 30u);
  EXPECT_EQ(rf.inputs[0].name, "f0");
  const auto& pipe = by_name.at("onnx_pipeline_impute_onehot_logistic_flights").model;
  EXPECT_EQ(pipe.inputs[0].name, "dep_time");
  ASSERT_EQ(pipe.inputs[0].steps.size(), 2u);
  EXPECT_EQ(pipe.inputs[0].steps[0].kind, StepKind::kImpute);
  EXPECT_EQ(pipe.inputs[0].steps[1].kind, StepKind::kMinMax);
  EXPECT_EQ(pipe.inputs.back().kind, InputKind::kCategorical);
  EXPECT_EQ(pipe.inputs.back().steps.back().kind, StepKind::kOneHot);
  EXPECT_TRUE(std::holds_alternative<LinearModel>(pipe.body));
  const auto& mlp = by_name.at("onnx_mlp_classifier_relu_breast_cancer").model;
  ASSERT_TRUE(std::holds_alternative<Mlp>(mlp.body));
  EXPECT_EQ(mlp.output_transform, OutputTransform::kSigmoid);
  EXPECT_EQ(by_name.at("onnx_logistic_multinomial_iris").model.output_transform, OutputTransform::kSoftmax);
  EXPECT_EQ(rf.row_normalization, RowNormalization::kNone);
  // scikit-learn's Normalizer before the model: the model's row normalization, for every norm.
  for (const auto& [norm, kind] : {std::pair{"max", RowNormalization::kMax}, std::pair{"l1", RowNormalization::kL1},
                                   std::pair{"l2", RowNormalization::kL2}}) {
    const auto& lr = by_name.at(fmt::format("onnx_normalizer_{}_logistic_breast_cancer", norm)).model;
    EXPECT_EQ(lr.row_normalization, kind) << norm;
    EXPECT_TRUE(std::holds_alternative<LinearModel>(lr.body));
    EXPECT_EQ(lr.n_features(), 30u);
    const auto& gb = by_name.at(fmt::format("onnx_normalizer_{}_gradient_boosting_breast_cancer", norm)).model;
    EXPECT_EQ(gb.row_normalization, kind) << norm;
    EXPECT_TRUE(std::holds_alternative<TreeEnsemble>(gb.body));
  }
}

TEST(OnnxExport, RoundTripKeepsPredictions) {
  for (const auto& g : load_goldens()) {
    SCOPED_TRACE(g.name);
    auto bytes = export_onnx(g.model);
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();
    auto back = import_onnx(*bytes, "exported.onnx");
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(back->task, g.model.task);
    EXPECT_EQ(back->n_features(), g.model.n_features());
    ASSERT_EQ(back->inputs.size(), g.model.inputs.size());
    for (size_t i = 0; i < back->inputs.size(); ++i) EXPECT_EQ(back->inputs[i].name, g.model.inputs[i].name);
    const auto a = predict(g.model, encode(g.model, g.inputs));
    const auto b = predict(*back, encode(*back, g.inputs));
    ASSERT_EQ(a.size(), b.size());
    double max_diff = 0;
    for (size_t i = 0; i < a.size(); ++i) max_diff = std::max(max_diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    EXPECT_LE(max_diff, 1e-6);
  }
}

// ---- hand-built graphs ----

onnx::ModelProto graph_with_input(size_t width) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* ml = m.add_opset_import();
  ml->set_domain("ai.onnx.ml");
  ml->set_version(3);
  auto* in = m.mutable_graph()->add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_param("N");
  tt->mutable_shape()->add_dim()->set_dim_value(static_cast<int64_t>(width));
  return m;
}

void add_output(onnx::ModelProto& m, const std::string& name) {
  auto* out = m.mutable_graph()->add_output();
  out->set_name(name);
  out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
}

onnx::NodeProto* add_node(onnx::ModelProto& m, const std::string& op, const std::string& name,
                          std::vector<std::string> inputs, const std::string& output, const std::string& domain = "") {
  auto* n = m.mutable_graph()->add_node();
  n->set_op_type(op);
  n->set_name(name);
  n->set_domain(domain);
  for (auto& i : inputs) n->add_input(i);
  n->add_output(output);
  return n;
}

void add_floats(onnx::ModelProto& m, const std::string& name, std::vector<int64_t> dims, std::vector<float> v) {
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (auto d : dims) t->add_dims(d);
  for (float f : v) t->add_float_data(f);  // float_data here; raw_data in the golden files
}

template <typename T>
void set_attr(onnx::NodeProto* n, const std::string& name, const std::vector<T>& v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  for (const auto& x : v) {
    if constexpr (std::is_same_v<T, float>) {
      a->set_type(onnx::AttributeProto::FLOATS), a->add_floats(x);
    } else if constexpr (std::is_same_v<T, std::string>) {
      a->set_type(onnx::AttributeProto::STRINGS), a->add_strings(x);
    } else {
      a->set_type(onnx::AttributeProto::INTS), a->add_ints(x);
    }
  }
}

Result<Model> import(const onnx::ModelProto& m) { return import_onnx(m.SerializeAsString(), "model.onnx"); }

TEST(OnnxImport, TorchStyleGeluMlp) {
  // Gemm(transB) -> x * 0.5 * (1 + erf(x / sqrt 2)) -> Gemm -> Sigmoid, as torch.onnx.export writes nn.GELU.
  auto m = graph_with_input(2);
  add_floats(m, "w1", {2, 2}, {1.0f, -1.0f, 0.5f, 2.0f});  // [out, in]
  add_floats(m, "b1", {2}, {0.1f, -0.2f});
  add_floats(m, "w2", {1, 2}, {1.5f, -0.5f});
  add_floats(m, "b2", {1}, {0.25f});
  add_floats(m, "sqrt2", {}, {1.4142135f});
  add_floats(m, "one", {}, {1.0f});
  add_floats(m, "half", {}, {0.5f});
  auto* g1 = add_node(m, "Gemm", "fc1", {"x", "w1", "b1"}, "h");
  auto* t1 = g1->add_attribute();
  t1->set_name("transB");
  t1->set_type(onnx::AttributeProto::INT);
  t1->set_i(1);
  add_node(m, "Div", "div", {"h", "sqrt2"}, "d");
  add_node(m, "Erf", "erf", {"d"}, "e");
  add_node(m, "Add", "add", {"e", "one"}, "a");
  add_node(m, "Mul", "mul", {"h", "a"}, "p");
  add_node(m, "Mul", "mul2", {"p", "half"}, "g");
  auto* g2 = add_node(m, "Gemm", "fc2", {"g", "w2", "b2"}, "z");
  auto* t = g2->add_attribute();
  t->set_name("transB");
  t->set_type(onnx::AttributeProto::INT);
  t->set_i(1);
  add_node(m, "Sigmoid", "sig", {"z"}, "y");
  add_output(m, "y");
  auto model = import(m);
  ASSERT_TRUE(model.ok()) << model.status().message();
  EXPECT_EQ(model->task, Task::kBinary);
  const auto& mlp = std::get<Mlp>(model->body);
  ASSERT_EQ(mlp.layers.size(), 2u);
  EXPECT_EQ(mlp.layers[0].activation, Activation::kGelu);
  auto gelu = [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); };
  const double x0 = 0.3, x1 = -1.2;
  const double h0 = gelu(0.1 + 1.0 * x0 - 1.0 * x1), h1 = gelu(-0.2 + 0.5 * x0 + 2.0 * x1);
  const double want = 1 / (1 + std::exp(-(0.25 + 1.5 * h0 - 0.5 * h1)));
  auto y = predict(*model, {static_cast<float>(x0), static_cast<float>(x1)});
  EXPECT_NEAR(y[0], want, 1e-6);
}

TEST(OnnxImport, UnsupportedOperatorIsNamed) {
  auto m = graph_with_input(3);
  add_node(m, "LSTM", "lstm_1", {"x"}, "y");
  add_output(m, "y");
  auto r = import(m);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "model.onnx: operator 'LSTM' (node 'lstm_1') is not supported; supported: Add, ArgMax, "
            "ArrayFeatureExtractor, Cast, Concat, Constant, Div, Dropout, Erf, Exp, Flatten, Gather, Gemm, Identity, "
            "Imputer, LinearClassifier, LinearRegressor, MatMul, Mul, Normalizer, OneHotEncoder, Relu, Reshape, "
            "Scaler, Sigmoid, Softmax, Sub, Tanh, TreeEnsembleClassifier, TreeEnsembleRegressor, ZipMap");
}

onnx::ModelProto stump_regressor(const std::string& mode) {
  auto m = graph_with_input(2);
  auto* n = add_node(m, "TreeEnsembleRegressor", "trees", {"x"}, "y", "ai.onnx.ml");
  set_attr<int64_t>(n, "nodes_treeids", {0, 0, 0});
  set_attr<int64_t>(n, "nodes_nodeids", {0, 1, 2});
  set_attr<int64_t>(n, "nodes_featureids", {1, 0, 0});
  set_attr<std::string>(n, "nodes_modes", {mode, "LEAF", "LEAF"});
  set_attr<float>(n, "nodes_values", {0.5f, 0, 0});
  set_attr<int64_t>(n, "nodes_truenodeids", {1, 0, 0});
  set_attr<int64_t>(n, "nodes_falsenodeids", {2, 0, 0});
  set_attr<int64_t>(n, "nodes_missing_value_tracks_true", {1, 0, 0});
  set_attr<int64_t>(n, "target_treeids", {0, 0});
  set_attr<int64_t>(n, "target_nodeids", {1, 2});
  set_attr<int64_t>(n, "target_ids", {0, 0});
  set_attr<float>(n, "target_weights", {-3.0f, 7.0f});
  set_attr<float>(n, "base_values", {1.0f});
  add_output(m, "y");
  return m;
}

TEST(OnnxImport, TreeModesAndMissingValues) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto leq = import(stump_regressor("BRANCH_LEQ"));
  ASSERT_TRUE(leq.ok()) << leq.status().message();
  // x1 <= 0.5 -> -3 (+1 base); NaN tracks the true branch.
  EXPECT_EQ(predict(*leq, {0, 0.5f, 0, 0.6f, 0, nan}), (std::vector<float>{-2.0f, 8.0f, -2.0f}));
  auto lt = import(stump_regressor("BRANCH_LT"));
  ASSERT_TRUE(lt.ok()) << lt.status().message();
  EXPECT_EQ(predict(*lt, {0, 0.5f, 0, 0.4f}), (std::vector<float>{8.0f, -2.0f}));
  auto gte = import(stump_regressor("BRANCH_GTE"));
  ASSERT_FALSE(gte.ok());
  EXPECT_EQ(gte.status().message(),
            "model.onnx: attribute nodes_modes=BRANCH_GTE (supported: BRANCH_LEQ, BRANCH_LT) of operator "
            "'TreeEnsembleRegressor' (node 'trees') is not supported");
}

TEST(OnnxImport, UnsupportedAttributesAndShapesAreNamed) {
  auto m = stump_regressor("BRANCH_LEQ");
  set_attr<std::string>(m.mutable_graph()->mutable_node(0), "aggregate_function", {});
  auto* agg = m.mutable_graph()->mutable_node(0)->mutable_attribute(m.graph().node(0).attribute_size() - 1);
  agg->set_type(onnx::AttributeProto::STRING);
  agg->set_s("MAX");
  auto r = import(m);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "model.onnx: attribute aggregate_function=MAX of operator 'TreeEnsembleRegressor' (node 'trees') is not "
            "supported");


  auto bad_tree = stump_regressor("BRANCH_LEQ");
  bad_tree.mutable_graph()->mutable_node(0)->mutable_attribute(2)->set_ints(0, 7);  // nodes_featureids
  r = import(bad_tree);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "model.onnx: tree 0 node 0 splits on feature 7, but the input has 2 columns (node 'trees')");

  auto cyclic = stump_regressor("BRANCH_LEQ");
  cyclic.mutable_graph()->mutable_node(0)->mutable_attribute(5)->set_ints(0, 0);  // truenode -> root
  r = import(cyclic);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "model.onnx: tree 0 reaches node 0 twice (node 'trees')");
}

// ---- Normalizer on the feature row ----

void set_string_attr(onnx::NodeProto* n, const std::string& name, const std::string& value) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(value);
}

// x [N, 2] -> (optional nodes) -> Normalizer(norm) -> "normalized" -> (optional) -> LinearRegressor
// (coefficients 1, 2 over the columns it reads) -> y.
onnx::ModelProto normalized_linear(const std::string& norm, bool gather_before = false, bool scaler_after = false) {
  auto m = graph_with_input(2);
  std::string x = "x";
  if (gather_before) {
    add_floats(m, "cols", {1}, {1});
    add_node(m, "ArrayFeatureExtractor", "pick", {"x", "cols"}, "picked", "ai.onnx.ml");
    x = "picked";
  }
  set_string_attr(add_node(m, "Normalizer", "norm", {x}, "normalized", "ai.onnx.ml"), "norm", norm);
  std::string body_in = "normalized";
  if (scaler_after) {
    auto* sc = add_node(m, "Scaler", "scale", {"normalized"}, "scaled", "ai.onnx.ml");
    set_attr<float>(sc, "scale", {2.0f});
    body_in = "scaled";
  }
  auto* lin = add_node(m, "LinearRegressor", "lin", {body_in}, "y", "ai.onnx.ml");
  set_attr<float>(lin, "coefficients", gather_before ? std::vector<float>{1} : std::vector<float>{1, 2});
  set_attr<float>(lin, "intercepts", {0.5f});
  add_output(m, "y");
  return m;
}

TEST(OnnxImport, NormalizerBeforeTheModelIsTheRowNormalization) {
  for (const auto& [norm, kind] : {std::pair{"MAX", RowNormalization::kMax}, std::pair{"L1", RowNormalization::kL1},
                                   std::pair{"L2", RowNormalization::kL2}}) {
    auto r = import(normalized_linear(norm));
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->row_normalization, kind);
    // (3, 4): MAX -> (0.75, 1), L1 -> (3/7, 4/7), L2 -> (0.6, 0.8); y = 0.5 + a + 2b.
    const float a = kind == RowNormalization::kMax ? 0.75f : kind == RowNormalization::kL1 ? 3.0f / 7.0f : 0.6f;
    const float b = kind == RowNormalization::kMax ? 1.0f : kind == RowNormalization::kL1 ? 4.0f / 7.0f : 0.8f;
    const auto y = predict(*r, {3, 4});
    EXPECT_NEAR(y[0], 0.5 + a + 2.0 * b, 1e-6) << norm;
    // Export writes the Normalizer back; importing the export gives the same model.
    auto bytes = export_onnx(*r);
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();
    auto back = import_onnx(*bytes, "exported.onnx");
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(back->row_normalization, kind);
    EXPECT_EQ(predict(*back, {3, 4, -1, 2, 0, 0}), predict(*r, {3, 4, -1, 2, 0, 0}));
  }
}

TEST(OnnxImport, NormalizerElsewhereIsRefusedByName) {
  auto r = import(normalized_linear("L3"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "model.onnx: attribute norm=L3 (supported: MAX, L1, L2) of operator 'Normalizer' (node 'norm') is not "
            "supported");
  r = import(normalized_linear("L2", /*gather_before=*/false, /*scaler_after=*/true));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "model.onnx: operator 'Scaler' after a Normalizer is not supported: the row normalization must come right "
            "before the model operator (node 'scale')");
  r = import(normalized_linear("L1", /*gather_before=*/true));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "model.onnx: the Normalizer before operator 'LinearRegressor' covers 1 of the 2 feature columns or "
            "reorders them; only a normalization of every input column, in graph-input order, is supported (node "
            "'lin')");
  // Alone it computes no model output.
  auto alone = graph_with_input(2);
  set_string_attr(add_node(alone, "Normalizer", "norm", {"x"}, "y", "ai.onnx.ml"), "norm", "L2");
  add_output(alone, "y");
  r = import(alone);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "model.onnx: output 'y' is not computed by a supported model operator");
}

TEST(OnnxImport, DamagedBytesGiveClearErrors) {
  auto r = import_onnx("this is not an onnx file", "junk.onnx");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kParseError);
  EXPECT_EQ(r.status().message(), "junk.onnx: not a valid ONNX model (the protobuf message cannot be parsed)");
  r = import_onnx("", "empty.onnx");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "empty.onnx: not a valid ONNX model (no graph with nodes and outputs)");

  // Every truncation and a sweep of byte flips of a real model: an error or a valid model, never a crash.
  const std::string bytes = read_file(kModels + "onnx_pipeline_impute_onehot_logistic_flights.onnx");
  ASSERT_FALSE(bytes.empty());
  size_t rejected = 0;
  for (size_t len = 0; len < bytes.size(); len += 7) {
    auto t = import_onnx(std::string_view(bytes).substr(0, len), "cut.onnx");
    rejected += !t.ok();
    if (t.ok()) {
      EXPECT_TRUE(validate_model(*t).ok());
    }
  }
  EXPECT_GT(rejected, 0u);
  for (size_t i = 0; i < bytes.size(); i += 13) {
    std::string flipped = bytes;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x5A);
    auto t = import_onnx(flipped, "flip.onnx");
    if (t.ok()) {
      EXPECT_TRUE(validate_model(*t).ok());
    }
  }
}

// ---- categorical splits exported as BRANCH_EQ chains ----

// Margins of the exported graph's TreeEnsembleRegressor, evaluated the way onnxruntime's kernel
// does (tree_ensemble_common.h): from each tree's first listed node, true branch when
// `v <mode> threshold || (missing_value_tracks_true && isnan(v))`, leaf weights summed in double
// onto base_values. Nodes may be reached by several true branches (the chains share the members'
// subtree), as onnxruntime allows. The models here have numeric inputs without steps, so the
// features are the graph's inputs.
std::vector<double> run_exported_trees(const std::string& bytes, const std::vector<float>& x, size_t n_features) {
  onnx::ModelProto proto;
  EXPECT_TRUE(proto.ParseFromString(bytes));
  const onnx::NodeProto* te = nullptr;
  for (const auto& n : proto.graph().node()) {
    if (n.op_type() == "TreeEnsembleRegressor") te = &n;
  }
  EXPECT_NE(te, nullptr);
  if (te == nullptr) return {};
  std::map<std::string, const onnx::AttributeProto*> attr;
  for (const auto& a : te->attribute()) attr[a.name()] = &a;
  auto ints = [&](const char* name) { return std::vector<int64_t>(attr[name]->ints().begin(), attr[name]->ints().end()); };
  auto floats = [&](const char* name) { return std::vector<float>(attr[name]->floats().begin(), attr[name]->floats().end()); };
  const auto tree = ints("nodes_treeids"), id = ints("nodes_nodeids"), feature = ints("nodes_featureids");
  const auto yes = ints("nodes_truenodeids"), no = ints("nodes_falsenodeids"), missing = ints("nodes_missing_value_tracks_true");
  const auto value = floats("nodes_values");
  std::vector<std::string> mode(attr["nodes_modes"]->strings().begin(), attr["nodes_modes"]->strings().end());
  const auto w_tree = ints("target_treeids"), w_node = ints("target_nodeids"), w_id = ints("target_ids");
  const auto w = floats("target_weights");
  const auto base = floats("base_values");
  std::map<std::pair<int64_t, int64_t>, size_t> at;  // (tree, node id) -> attribute position
  std::vector<size_t> roots;
  for (size_t i = 0; i < tree.size(); ++i) {
    if (roots.empty() || tree[roots.back()] != tree[i]) roots.push_back(i);
    EXPECT_TRUE(at.emplace(std::pair{tree[i], id[i]}, i).second) << "tree " << tree[i] << " lists node " << id[i] << " twice";
  }
  const size_t n_rows = x.size() / n_features;
  std::vector<double> out(n_rows * base.size());
  for (size_t r = 0; r < n_rows; ++r) {
    for (size_t k = 0; k < base.size(); ++k) out[r * base.size() + k] = base[k];
    for (size_t root : roots) {
      size_t i = root;
      for (int steps = 0; mode[i] != "LEAF"; ++steps) {
        EXPECT_LT(steps, 100000) << "cycle";
        const double v = x[r * n_features + static_cast<size_t>(feature[i])];
        const double t = value[i];
        const bool cmp = mode[i] == "BRANCH_EQ" ? v == t : mode[i] == "BRANCH_LEQ" ? v <= t : v < t;
        const bool go = cmp || (missing[i] == 1 && std::isnan(v));
        i = at.at({tree[i], go ? yes[i] : no[i]});
      }
      for (size_t j = 0; j < w.size(); ++j) {
        if (w_tree[j] == tree[i] && w_node[j] == id[i]) out[r * base.size() + static_cast<size_t>(w_id[j])] += w[j];
      }
    }
  }
  return out;
}

TEST(OnnxExport, CategoricalSplitsBecomeExactBranchEqChains) {
  std::mt19937_64 rng(424242);
  size_t chains = 0;
  for (int round = 0; round < 24; ++round) {
    testing_models::TreeSpec spec;
    spec.n_features = 1 + rng() % 6;
    spec.n_trees = 1 + rng() % 8;
    spec.max_depth = 1 + static_cast<int>(rng() % 6);
    spec.p_categorical = 0.6;
    spec.less_equal = round % 2 == 0;
    spec.task = static_cast<Task>(round % 3);
    spec.multi_output_leaves = round % 4 == 3;
    Model model = testing_models::random_trees(spec, rng);
    auto& ens = std::get<TreeEnsemble>(model.body);
    ens.category_in_set_goes_left = round % 4 < 2;  // XGBoost's and LightGBM's conventions
    if (round % 6 == 5) {  // empty sets too: only the missing direction is left to encode
      for (auto& w : ens.category_bits) w = 0;
    }
    ASSERT_TRUE(validate_model(model).ok()) << validate_model(model).message();
    auto bytes = export_onnx(model);
    ASSERT_TRUE(bytes.ok()) << bytes.status().message();
    onnx::ModelProto proto;
    ASSERT_TRUE(proto.ParseFromString(*bytes));
    for (const auto& n : proto.graph().node()) {
      for (const auto& a : n.attribute()) {
        if (a.name() == "nodes_modes") chains += static_cast<size_t>(std::count(a.strings().begin(), a.strings().end(), "BRANCH_EQ"));
      }
    }
    const size_t n_rows = 300;
    // Codes in and out of every set, negative, fractional, NaN and infinite.
    auto x = testing_models::random_inputs(model.n_features(), n_rows, rng);
    const auto got = run_exported_trees(*bytes, x, model.n_features());
    std::vector<float> want(n_rows * model.n_margins());
    reference_predict(model, x.data(), n_rows, want.data(), /*margins=*/true);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_NEAR(got[i], want[i], 1e-5 * std::max(1.0, std::fabs(static_cast<double>(want[i])))) << "round " << round << " value " << i;
    }
  }
  EXPECT_GT(chains, 100u);
}

TEST(OnnxExport, CategoricalChainLayout) {
  // One split on feature 0 with the set {1, 3} (bits 0b1010 of 4 codes), members left, missing right.
  Model m;
  m.inputs.push_back({"c", InputKind::kNumeric, {}});
  m.feature_names = {"c"};
  TreeEnsemble te;
  Tree t;
  t.left = {1, -1, -1};
  t.right = {2, -1, -1};
  t.feature = {0, 0, 0};
  t.threshold = {0, 0, 0};
  t.default_left = {0, 0, 0};
  t.is_categorical = {1, 0, 0};
  t.cat_offset = {0, 0, 0};
  t.cat_size = {4, 0, 0};
  t.leaf_values = {0, 1, 2};
  te.trees.push_back(t);
  te.category_bits = {0b1010};
  te.category_in_set_goes_left = true;
  te.base_score = {0};
  m.body = te;
  m.output_names = {"value"};
  auto bytes = export_onnx(m);
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromString(*bytes));
  const onnx::NodeProto* tree_node = nullptr;
  for (const auto& n : proto.graph().node()) {
    if (n.op_type() == "TreeEnsembleRegressor") tree_node = &n;
  }
  ASSERT_NE(tree_node, nullptr);
  std::map<std::string, std::string> seen;
  for (const auto& a : tree_node->attribute()) {
    std::string v;
    for (auto i : a.ints()) v += std::to_string(i) + " ";
    for (auto f : a.floats()) v += fmt::format("{} ", f);
    for (const auto& s : a.strings()) v += s + " ";
    seen[a.name()] = v;
  }
  // Node 0: x == 1 -> members (1), else node 3: x == 3 -> members (1), else non-members (2).
  EXPECT_EQ(seen["nodes_nodeids"], "0 3 1 2 ");
  EXPECT_EQ(seen["nodes_modes"], "BRANCH_EQ BRANCH_EQ LEAF LEAF ");
  EXPECT_EQ(seen["nodes_values"], "1 3 0 0 ");
  EXPECT_EQ(seen["nodes_truenodeids"], "1 1 0 0 ");
  EXPECT_EQ(seen["nodes_falsenodeids"], "3 2 0 0 ");
  EXPECT_EQ(seen["nodes_missing_value_tracks_true"], "0 0 0 0 ");
  EXPECT_EQ(run_exported_trees(*bytes, {1, 3, 2, 0, 4, -1, 1.5f, NAN}, 1),
            (std::vector<double>{1, 1, 2, 2, 2, 2, 2, 2}));
  // Missing to the members' side: the first chain node tracks it.
  std::get<TreeEnsemble>(m.body).trees[0].default_left = {1, 0, 0};
  bytes = export_onnx(m);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(run_exported_trees(*bytes, {NAN, 2}, 1), (std::vector<double>{1, 2}));
}

}  // namespace
}  // namespace slipway::model
