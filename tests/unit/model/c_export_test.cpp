// C export round trip: export random and golden models, compile each with `cc -O2 -std=c99 -lm`
// together with a small driver that reads rows from a file and writes outputs, run it, and compare
// with reference_predict. Bound: 1e-5 absolute (in practice the outputs are identical: the C code
// does the same float comparisons and double arithmetic in the same order).
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine_test_models.h"
#include "slipway/model/engine.h"
#include "slipway/model/exporters.h"
#include "slipway/model/importers.h"
#include "slipway/model/transforms.h"

namespace slipway::model {
namespace {

namespace fs = std::filesystem;

// Reads tab-separated rows from stdin. "features" mode: each field is a feature ("nan" or empty =
// missing). "raw" mode: each field is an input; numbers parse with strtod, an empty field is
// missing, and a categorical input gets the text. Writes each row's outputs, %.9g, tab-separated.
constexpr const char* kDriver = R"(#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
int m_n_inputs(void);
int m_n_features(void);
int m_n_outputs(void);
void m_encode(const double* numbers, const char* const* texts, float* features);
void m_predict(const float* features, float* out);
static char line[1 << 20];
int main(int argc, char** argv) {
  int raw = argc > 1 && strcmp(argv[1], "raw") == 0;
  int n_in = raw ? m_n_inputs() : m_n_features(), n_f = m_n_features(), n_out = m_n_outputs(), i;
  double* numbers = malloc(sizeof(double) * (n_in + 1));
  const char** texts = malloc(sizeof(char*) * (n_in + 1));
  float* features = malloc(sizeof(float) * (n_f + 1));
  float* out = malloc(sizeof(float) * (n_out + 1));
  while (fgets(line, sizeof line, stdin)) {
    char* p = line;
    line[strcspn(line, "\r\n")] = 0;
    for (i = 0; i < n_in; ++i) {
      char* end = strchr(p, '\t');
      if (end) *end = 0;
      texts[i] = *p ? p : NULL;
      numbers[i] = *p ? strtod(p, NULL) : NAN;
      if (!raw) features[i] = (float)numbers[i];
      p = end ? end + 1 : p + strlen(p);
    }
    if (raw) m_encode(numbers, texts, features);
    m_predict(features, out);
    for (i = 0; i < n_out; ++i) printf(i ? "\t%.9g" : "%.9g", out[i]);
    printf("\n");
  }
  return 0;
}
)";

class CExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) / ("slipway_c_export_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    std::ofstream(dir_ / "driver.c") << kDriver;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Exports, compiles, runs the driver over `rows` (tab-separated lines); returns its outputs.
  std::vector<float> run(const Model& model, const std::string& name, const std::string& rows, bool raw) {
    CExportOptions options;
    options.prefix = "m";
    auto source = export_c_source(model, options);
    EXPECT_TRUE(source.ok()) << source.status().message();
    if (!source.ok()) return {};
    const fs::path c = dir_ / (name + ".c"), exe = dir_ / name, in = dir_ / (name + ".in"), out = dir_ / (name + ".out");
    std::ofstream(c) << *source;
    std::ofstream(in) << rows;
    const std::string compile = "cc -O2 -std=c99 -o " + exe.string() + " " + c.string() + " " +
                                (dir_ / "driver.c").string() + " -lm";
    EXPECT_EQ(std::system(compile.c_str()), 0) << compile;
    const std::string command = exe.string() + (raw ? " raw" : " features") + " < " + in.string() + " > " + out.string();
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    std::vector<float> values;
    std::ifstream result(out);
    for (std::string token; result >> token;) values.push_back(std::strtof(token.c_str(), nullptr));
    return values;
  }

  static std::string feature_rows(const std::vector<float>& x, size_t n_features) {
    std::ostringstream s;
    s.precision(9);
    for (size_t i = 0; i < x.size(); ++i) {
      s << x[i] << ((i + 1) % n_features == 0 ? "\n" : "\t");
    }
    return s.str();
  }

  static void expect_close(const std::vector<float>& got, const std::vector<float>& expected, const std::string& what) {
    ASSERT_EQ(got.size(), expected.size()) << what;
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_NEAR(got[i], expected[i], 1e-5) << what << " value " << i;
      worst = std::max(worst, std::fabs(static_cast<double>(got[i]) - expected[i]));
    }
    RecordProperty(what + "_max_abs_diff", std::to_string(worst));
  }

  fs::path dir_;
};

TEST_F(CExportTest, RandomModelsCompileAndMatchReference) {
  std::mt19937_64 rng(99);
  std::vector<std::pair<std::string, Model>> models;
  for (int i = 0; i < 4; ++i) {
    testing_models::TreeSpec spec;
    spec.n_features = 12;
    spec.n_trees = 20;
    spec.max_depth = 3 + i * 3;
    spec.p_categorical = i % 2 ? 0.2 : 0.0;
    spec.less_equal = i % 2 == 0;
    spec.task = static_cast<Task>(i % 3);
    spec.multi_output_leaves = i == 2;
    spec.average = i == 2;
    models.emplace_back("trees" + std::to_string(i), testing_models::random_trees(spec, rng));
  }
  models.emplace_back("linear", testing_models::random_linear(Task::kMulticlass, 9, 3, rng));
  models.emplace_back("mlp_gelu", testing_models::random_mlp(Task::kBinary, 7, 2, Activation::kGelu, rng));
  models.emplace_back("mlp_tanh", testing_models::random_mlp(Task::kRegression, 5, 2, Activation::kTanh, rng));
  // The row normalization runs inside <prefix>_predict, in float as the engine does it.
  const RowNormalization kinds[] = {RowNormalization::kMax, RowNormalization::kL1, RowNormalization::kL2};
  for (size_t k = 0; k < 3; ++k) {
    testing_models::TreeSpec spec;
    spec.n_features = 6;
    spec.n_trees = 10;
    spec.max_depth = 4;
    spec.p_categorical = 0.1;
    spec.task = Task::kBinary;
    Model trees = testing_models::random_trees(spec, rng);
    for (auto& t : std::get<TreeEnsemble>(trees.body).trees) {
      for (auto& v : t.threshold) v /= 8.0f;  // normalized values are small
    }
    trees.row_normalization = kinds[k];
    models.emplace_back(std::string("trees_") + row_normalization_name(kinds[k]), std::move(trees));
    Model linear = testing_models::random_linear(Task::kMulticlass, 5, 3, rng);
    linear.row_normalization = kinds[k];
    models.emplace_back(std::string("linear_") + row_normalization_name(kinds[k]), std::move(linear));
  }
  for (const auto& [name, model] : models) {
    const size_t n_rows = 200;
    auto x = testing_models::random_inputs(model.n_features(), n_rows, rng, /*infinities=*/false);
    std::vector<float> expected(n_rows * model.n_outputs());
    reference_predict(model, x.data(), n_rows, expected.data());
    expect_close(run(model, name, feature_rows(x, model.n_features()), false), expected, name);
  }
}

TEST_F(CExportTest, GoldenModelsWithTheirTransformsMatchReference) {
  const fs::path root = fs::path(SLIPWAY_TEST_DATA) / "models";
  std::ifstream manifest_file(root / "MANIFEST.json");
  ASSERT_TRUE(manifest_file) << "tests/data/models/MANIFEST.json";
  const auto manifest = nlohmann::json::parse(manifest_file);
  size_t exported = 0;
  for (const auto& entry : manifest.at("models")) {
    const std::string name = entry.at("name");
    auto model = import_model(root / entry.at("file").get<std::string>());
    ASSERT_TRUE(model.ok()) << name << ": " << model.status().message();
    // Inputs: CSV with a header, no quoted fields; encode with FeatureEncoder for the reference.
    std::ifstream csv(root / entry.at("inputs").get<std::string>());
    std::string header;
    std::getline(csv, header);
    auto split = [](const std::string& line) {
      std::vector<std::string> fields;
      std::stringstream s(line);
      for (std::string f; std::getline(s, f, ',');) fields.push_back(f);
      if (!line.empty() && line.back() == ',') fields.emplace_back();
      return fields;
    };
    FeatureEncoder encoder(*model);
    const auto columns = split(header);
    // A model saved without names (inputs f0, f1, ...) takes the columns in order.
    auto bound = encoder.bind(columns);
    if (!bound.ok() && columns.size() == model->inputs.size()) {
      std::vector<size_t> in_order(columns.size());
      for (size_t i = 0; i < in_order.size(); ++i) in_order[i] = i;
      bound = in_order;
    }
    ASSERT_TRUE(bound.ok()) << name << ": " << bound.status().message();
    std::vector<float> x;
    std::string raw_rows;
    size_t n_rows = 0;
    for (std::string line; std::getline(csv, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      auto fields = split(line);
      fields.resize(std::max(fields.size(), columns.size()));
      std::vector<FeatureEncoder::RawValue> values(model->inputs.size());
      std::string row;
      for (size_t i = 0; i < values.size(); ++i) {
        const std::string& field = fields[(*bound)[i]];
        values[i].missing = field.empty();
        values[i].text = field;
        values[i].number = field.empty() ? 0.0 : std::strtod(field.c_str(), nullptr);
        row += (i ? "\t" : "") + field;
      }
      raw_rows += row + "\n";
      x.resize((n_rows + 1) * model->n_features());
      encoder.encode_row(values.data(), x.data() + n_rows * model->n_features());
      ++n_rows;
    }
    std::vector<float> expected(n_rows * model->n_outputs());
    reference_predict(*model, x.data(), n_rows, expected.data());
    expect_close(run(*model, name, raw_rows, /*raw=*/true), expected, name);
    ++exported;
  }
  EXPECT_GE(exported, 10u);
}

TEST(CExport, RefusesAPrefixThatIsNotACIdentifier) {
  std::mt19937_64 rng(1);
  Model model = testing_models::random_linear(Task::kRegression, 3, 1, rng);
  CExportOptions options;
  options.prefix = "my-model";
  auto source = export_c_source(model, options);
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().message(), "C export: prefix 'my-model' is not a C identifier");
}

TEST(CExport, DeclaresTheDocumentedInterface) {
  std::mt19937_64 rng(2);
  Model model = testing_models::random_linear(Task::kBinary, 3, 1, rng);
  CExportOptions options;
  options.prefix = "churn";
  auto source = export_c_source(model, options);
  ASSERT_TRUE(source.ok());
  EXPECT_THAT(*source, ::testing::HasSubstr("int churn_n_features(void) { return 3; }"));
  EXPECT_THAT(*source, ::testing::HasSubstr("int churn_n_outputs(void) { return 1; }"));
  EXPECT_THAT(*source, ::testing::HasSubstr("void churn_predict(const float* features, float* out) {"));
  EXPECT_THAT(*source, ::testing::HasSubstr("void churn_encode(const double* numbers, const char* const* texts, float* features) {"));
}

}  // namespace
}  // namespace slipway::model
