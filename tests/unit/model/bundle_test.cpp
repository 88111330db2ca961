// The bundle file: round trips for each body kind, describe(), the exact error for each kind of
// damage, a mutation sweep that must never crash, and golden files of each released format that
// HEAD must keep reading (tests/data/models/bundles/).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>

#include <unistd.h>

#include "slipway/core/fs.h"
#include "slipway/core/hash.h"
#include "slipway/model/bundle.h"
#include "slipway/model/engine.h"

namespace slipway::model {
namespace {

using nlohmann::json;
const std::string kGoldenDir = std::string(SLIPWAY_TEST_DATA) + "/models/bundles";

TransformStep step(StepKind kind, std::vector<double> params = {}, std::vector<std::string> categories = {},
                   bool unknown_bucket = false, std::string fitted_from = {}) {
  TransformStep s;
  s.kind = kind;
  s.params = std::move(params);
  s.categories = std::move(categories);
  s.unknown_bucket = unknown_bucket;
  s.fitted_from = std::move(fitted_from);
  return s;
}

Provenance provenance(const std::string& producer) {
  Provenance p;
  p.producer = producer;
  p.producer_version = "1.0";
  p.source_file = "source.bin";
  p.source_sha256 = std::string(64, 'a');
  p.run_id = "run-42";
  p.dataset_versions = {"flights@abc123"};
  p.created_at = "2024-01-02T03:04:05Z";
  p.extra = {{"objective", "binary:logistic"}, {"eta", 0.3}};
  return p;
}

// Binary logistic regression over a standardized number, an imputed number and a one-hot category.
Model golden_linear() {
  Model m;
  m.task = Task::kBinary;
  m.inputs = {{"dep_delay", InputKind::kNumeric, {step(StepKind::kImpute, {0}, {}, false, "mean"), step(StepKind::kStandardize, {3.5, 40})}},
              {"distance", InputKind::kNumeric, {step(StepKind::kLog1p, {}), step(StepKind::kClip, {0, 10})}},
              {"carrier", InputKind::kCategorical, {step(StepKind::kOneHot, {}, {"UA", "AA"}, true)}}};
  m.feature_names = {"dep_delay", "distance", "carrier=UA", "carrier=AA", "carrier=?"};
  m.body = LinearModel{{0.5f, -0.25f, 1, 2, -3}, {0.125f}};
  m.output_transform = OutputTransform::kSigmoid;
  m.class_labels = {"on_time", "late"};
  m.output_names = {"probability"};
  m.provenance = provenance("train:linear");
  return m;
}

// Two trees, XGBoost conventions, one categorical split, ordinal + bucketized inputs.
Model golden_trees() {
  Model m;
  m.task = Task::kRegression;
  m.inputs = {{"hour", InputKind::kNumeric, {step(StepKind::kBucketize, {6, 12, 18})}},
              {"origin", InputKind::kCategorical, {step(StepKind::kOrdinal, {std::nan("")}, {"EWR", "JFK", "LGA"})}},
              {"temp", InputKind::kNumeric, {step(StepKind::kMinMax, {-10, 0.02, 0})}}};
  m.feature_names = {"hour", "origin", "temp"};
  TreeEnsemble ens;
  Tree a;
  a.left = {1, -1, 3, -1, -1};
  a.right = {2, -1, 4, -1, -1};
  a.feature = {0, 0, 1, 0, 0};
  a.threshold = {2, 0, 0, 0, 0};
  a.default_left = {1, 0, 0, 0, 0};
  a.is_categorical = {0, 0, 1, 0, 0};
  a.cat_offset = {0, 0, 0, 0, 0};
  a.cat_size = {0, 0, 3, 0, 0};
  a.leaf_values = {0, 1.5f, 0, -2, 4};
  Tree b;  // numeric only: categorical arrays left empty
  b.left = {1, -1, -1};
  b.right = {2, -1, -1};
  b.feature = {2, 0, 0};
  b.threshold = {0.5f, 0, 0};
  b.default_left = {0, 0, 0};
  b.leaf_values = {0, -0.5f, 0.75f};
  ens.trees = {a, b};
  ens.category_bits = {0b101};  // EWR, LGA
  ens.base_score = {10};
  m.body = ens;
  m.output_names = {"value"};
  m.provenance = provenance("import:xgboost-json");
  return m;
}

// Three-class MLP with every hidden activation kind.
Model golden_mlp() {
  Model m;
  m.task = Task::kMulticlass;
  m.inputs = {{"a", InputKind::kNumeric, {}}, {"b", InputKind::kNumeric, {}}};
  m.feature_names = {"a", "b"};
  Mlp mlp;
  mlp.layers.push_back(DenseLayer{2, 4, {1, 0, 0, 1, 1, 1, 1, -1}, {0, 0.5f, -0.5f, 0}, Activation::kGelu});
  mlp.layers.push_back(DenseLayer{4, 2, {1, 0, 0, 1, 0, 1, 1, 0}, {0, 0}, Activation::kTanh});
  mlp.layers.push_back(DenseLayer{2, 2, {1, 1, 1, -1}, {0.1f, 0.2f}, Activation::kSigmoid});
  mlp.layers.push_back(DenseLayer{2, 3, {1, 0, 0, 1, 1, 1}, {0, 0, -1}, Activation::kRelu});
  m.body = mlp;
  m.output_transform = OutputTransform::kSoftmax;
  m.class_labels = {"setosa", "versicolor", "virginica"};
  m.output_names = {"prob_setosa", "prob_versicolor", "prob_virginica"};
  m.provenance = provenance("import:onnx");
  m.provenance.run_id.reset();
  return m;
}

std::string bytes_of(const Model& m) {
  auto s = serialize_bundle(m);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? *s : std::string();
}

std::vector<float> reference(const Model& m, const std::vector<float>& x) {
  std::vector<float> out(x.size() / m.n_features() * m.n_outputs());
  reference_predict(m, x.data(), x.size() / m.n_features(), out.data());
  return out;
}

const std::vector<float> kRows2 = {1, 2, -1, 0.5f, NAN, 3, 0, NAN};
const std::vector<float> kRows3 = {0, 0, 0.1f, 1, 2, 0.9f, NAN, NAN, NAN, 3, 1, 0.5f};
const std::vector<float> kRows5 = {1, 2, 1, 0, 0, -1, 0, 0, 0, 1, NAN, NAN, 0, 1, 0};

struct Case {
  const char* name;
  Model (*build)();
  const std::vector<float>* rows;
};
const Case kCases[] = {{"linear", golden_linear, &kRows5}, {"tree_ensemble", golden_trees, &kRows3}, {"mlp", golden_mlp, &kRows2}};

TEST(Bundle, RoundTripEachBodyKind) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.name);
    const Model original = c.build();
    const std::string bytes = bytes_of(original);
    auto parsed = parse_bundle(bytes, "m.slw");
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    EXPECT_EQ(bytes_of(*parsed), bytes);  // the writer is deterministic, so equal bytes = equal model
    EXPECT_EQ(body_kind_name(parsed->body), std::string(c.name));
    EXPECT_EQ(parsed->provenance.extra, original.provenance.extra);
    EXPECT_EQ(parsed->provenance.run_id, original.provenance.run_id);
    EXPECT_EQ(reference(*parsed, *c.rows), reference(original, *c.rows));
  }
}

TEST(Bundle, LayoutIsAligned) {
  const std::string bytes = bytes_of(golden_trees());
  EXPECT_EQ(bytes.substr(0, 8), "SLWMODEL");
  uint64_t manifest_size;
  std::memcpy(&manifest_size, bytes.data() + 16, 8);
  EXPECT_EQ((64 + manifest_size) % 64, 0u);
  const json manifest = json::parse(bytes.substr(64, manifest_size));
  EXPECT_EQ(manifest["format_version"], 1);
  EXPECT_EQ(manifest["body"]["left"]["offset"].get<uint64_t>() % 64, 0u);
  EXPECT_EQ(manifest["body"]["threshold"]["dtype"], "f32");
  EXPECT_TRUE(std::isnan(parse_bundle(bytes, "m").value().inputs[1].steps[0].params[0]));  // NaN survives JSON
}

TEST(Bundle, TreesWithoutCategoricalSplitsKeepEmptyArrays) {
  Model m = golden_trees();
  auto& t = std::get<TreeEnsemble>(m.body).trees[0];
  t.is_categorical.clear();
  t.cat_offset.clear();
  t.cat_size.clear();
  auto parsed = parse_bundle(bytes_of(m), "m.slw");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_TRUE(std::get<TreeEnsemble>(parsed->body).trees[0].is_categorical.empty());
}

TEST(Bundle, SaveAndLoad) {
  const auto dir = std::filesystem::temp_directory_path() / ("slipway_bundle_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(save_bundle(golden_mlp(), dir / "m.slw").ok());
  auto loaded = load_bundle(dir / "m.slw");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(bytes_of(*loaded), bytes_of(golden_mlp()));
  EXPECT_FALSE(load_bundle(dir / "absent.slw").ok());
  Model bad = golden_mlp();
  bad.feature_names.push_back("c");
  Status s = save_bundle(bad, dir / "bad.slw");
  EXPECT_EQ(s.message(), "the inputs produce 2 feature column(s) but there are 3 feature names");
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.slw"));
  std::filesystem::remove_all(dir);
}

TEST(Bundle, Describe) {
  json d = describe(golden_trees());
  EXPECT_EQ(d["task"], "regression");
  EXPECT_EQ(d["n_features"], 3);
  EXPECT_EQ(d["n_outputs"], 1);
  EXPECT_EQ(d["body"]["kind"], "tree_ensemble");
  EXPECT_EQ(d["body"]["trees"], 2);
  EXPECT_EQ(d["body"]["nodes"], 8);
  EXPECT_EQ(d["body"]["leaves"], 5);
  EXPECT_EQ(d["body"]["max_depth"], 2);
  EXPECT_EQ(d["body"]["categorical_splits"], 1);
  EXPECT_EQ(d["body"]["comparison"], "<");
  EXPECT_FALSE(d["body"].contains("left"));
  EXPECT_EQ(d["inputs"][1]["steps"][0]["categories"], json({"EWR", "JFK", "LGA"}));
  EXPECT_EQ(d["inputs"][1]["steps"][0]["params"], json({"nan"}));
  EXPECT_EQ(d["provenance"]["producer"], "import:xgboost-json");
  json mlp = describe(golden_mlp())["body"];
  EXPECT_EQ(mlp["layers"].size(), 4u);
  EXPECT_EQ(mlp["layers"][0], json({{"in", 2}, {"out", 4}, {"activation", "gelu"}}));
  EXPECT_EQ(mlp["parameters"], 12 + 10 + 6 + 9);
  EXPECT_EQ(describe(golden_linear())["body"]["parameters"], 6);
}

// ---- damage ----

std::string error_of(std::string_view bytes, ErrorCode code = ErrorCode::kCorrupt) {
  auto r = parse_bundle(bytes, "m.slw");
  EXPECT_FALSE(r.ok());
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), code) << r.status().message();
  return r.status().message();
}

template <typename T>
void poke(std::string& bytes, size_t offset, T v) {
  std::memcpy(bytes.data() + offset, &v, sizeof(T));
}

// Rebuilds a file around an edited manifest and the original blob, with a correct checksum, so
// the reader's checks past the checksum can be reached.
std::string with_manifest(const std::string& bytes, const std::string& manifest) {
  uint64_t manifest_size, blob_size;
  std::memcpy(&manifest_size, bytes.data() + 16, 8);
  std::memcpy(&blob_size, bytes.data() + 24, 8);
  const std::string blob = bytes.substr(64 + manifest_size);
  std::string out = bytes.substr(0, 64) + manifest + blob;
  poke<uint64_t>(out, 16, manifest.size());
  Sha256 sha;
  sha.update(manifest);
  sha.update(blob);
  const auto digest = sha.finish();
  std::memcpy(out.data() + 32, digest.data(), 32);
  return out;
}

json manifest_of(const std::string& bytes) {
  uint64_t manifest_size;
  std::memcpy(&manifest_size, bytes.data() + 16, 8);
  return json::parse(bytes.substr(64, manifest_size));
}

TEST(BundleDamage, HeaderErrors) {
  const std::string good = bytes_of(golden_linear());
  EXPECT_EQ(error_of(""), "m.slw: not a slipway model bundle");
  EXPECT_EQ(error_of("{\"learner\": {}}"), "m.slw: not a slipway model bundle");
  EXPECT_EQ(error_of(good.substr(0, 40)), "m.slw: truncated: the header needs 64 bytes but the file has 40");
  EXPECT_EQ(error_of(good.substr(0, 1200)),
            fmt::format("m.slw: truncated: manifest says {} bytes but the file has 1200", good.size()));
  std::string big = good;
  uint64_t blob_size;
  std::memcpy(&blob_size, good.data() + 24, 8);
  poke<uint64_t>(big, 16, uint64_t{1} << 20);
  EXPECT_EQ(error_of(big), fmt::format("m.slw: truncated: manifest says {} bytes but the file has {}",
                                       64 + (uint64_t{1} << 20) + blob_size, good.size()));
  std::string absurd = good;
  poke<uint64_t>(absurd, 16, UINT64_MAX);
  poke<uint64_t>(absurd, 24, UINT64_MAX);
  EXPECT_EQ(error_of(absurd), fmt::format("m.slw: truncated: manifest says 18446744073709551615 bytes but the file has {}",
                                          good.size()));
  EXPECT_EQ(error_of(good + "abc"), "m.slw: 3 unexpected bytes after the end of the model (the file is damaged)");
  std::string newer = good;
  poke<uint32_t>(newer, 8, 3);
  EXPECT_EQ(error_of(newer, ErrorCode::kUnsupportedVersion),
            "m.slw: written by a newer slipway (bundle format 3; this one reads 2)");
  std::string zero = good;
  poke<uint32_t>(zero, 8, 0);
  EXPECT_EQ(error_of(zero), "m.slw: bundle format 0 does not exist (the header is damaged)");
}

// ---- format 2: the row normalization ----

Model normalized(Model m, RowNormalization kind) {
  m.row_normalization = kind;
  return m;
}

TEST(Bundle, RowNormalizationNeedsFormat2AndOnlyIt) {
  for (const auto& c : kCases) {
    for (RowNormalization kind : {RowNormalization::kMax, RowNormalization::kL1, RowNormalization::kL2}) {
      SCOPED_TRACE(std::string(c.name) + " " + row_normalization_name(kind));
      const Model original = normalized(c.build(), kind);
      const std::string bytes = bytes_of(original);
      uint32_t version;
      std::memcpy(&version, bytes.data() + 8, 4);
      EXPECT_EQ(version, 2u);
      const json manifest = manifest_of(bytes);
      EXPECT_EQ(manifest["format_version"], 2);
      EXPECT_EQ(manifest["row_normalization"], row_normalization_name(kind));
      auto parsed = parse_bundle(bytes, "m.slw");
      ASSERT_TRUE(parsed.ok()) << parsed.status().message();
      EXPECT_EQ(parsed->row_normalization, kind);
      EXPECT_EQ(bytes_of(*parsed), bytes);
      EXPECT_EQ(reference(*parsed, *c.rows), reference(original, *c.rows));
      EXPECT_NE(reference(*parsed, *c.rows), reference(c.build(), *c.rows));
      EXPECT_EQ(describe(original)["row_normalization"], row_normalization_name(kind));
    }
    // Without one, the file is format 1 as before (older readers keep reading it) and names none.
    const std::string plain = bytes_of(c.build());
    uint32_t version;
    std::memcpy(&version, plain.data() + 8, 4);
    EXPECT_EQ(version, 1u);
    EXPECT_FALSE(manifest_of(plain).contains("row_normalization"));
    EXPECT_EQ(describe(c.build())["row_normalization"], "none");
  }
}

TEST(BundleDamage, RowNormalizationErrors) {
  const std::string good = bytes_of(normalized(golden_linear(), RowNormalization::kL2));
  // A format-1 header cannot carry it: an older writer never wrote it, so the file is damaged.
  std::string old = good;
  poke<uint32_t>(old, 8, 1);
  EXPECT_EQ(error_of(old), "m.slw: manifest field 'row_normalization' needs bundle format 2, but the header says 1");
  json m = manifest_of(good);
  m["row_normalization"] = "l3";
  EXPECT_EQ(error_of(with_manifest(good, m.dump())),
            "m.slw: manifest field 'row_normalization' is 'l3', expected one of none, max, l1, l2");
  m["row_normalization"] = "none";  // spelled out: the same as absent
  auto none = parse_bundle(with_manifest(good, m.dump()), "m.slw");
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_EQ(none->row_normalization, RowNormalization::kNone);
}

TEST(BundleDamage, ChecksumCatchesAnyFlippedByte) {
  const std::string good = bytes_of(golden_trees());
  for (size_t i = 32; i < good.size(); i += 7) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x10);
    EXPECT_EQ(error_of(bad), "m.slw: checksum mismatch (the file is damaged)") << "byte " << i;
  }
}

TEST(BundleDamage, ManifestErrors) {
  const std::string good = bytes_of(golden_linear());
  const json m = manifest_of(good);
  auto edited = [&](auto&& edit) {
    json copy = m;
    edit(copy);
    return error_of(with_manifest(good, copy.dump()));
  };
  EXPECT_EQ(error_of(with_manifest(good, "{\"task\": ")), "m.slw: the manifest is not valid JSON");
  EXPECT_EQ(error_of(with_manifest(good, "[1, 2]")), "m.slw: the manifest is not a JSON object");
  EXPECT_EQ(edited([](json& j) { j.erase("task"); }), "m.slw: manifest field 'task' is missing");
  EXPECT_EQ(edited([](json& j) { j["task"] = "ranking"; }),
            "m.slw: manifest field 'task' is 'ranking', expected one of regression, binary, multiclass");
  EXPECT_EQ(edited([](json& j) { j["task"] = 3; }), "m.slw: manifest field 'task' is not a string");
  EXPECT_EQ(edited([](json& j) { j["inputs"][2]["steps"][0]["kind"] = "hash"; }),
            "m.slw: manifest field 'inputs[2].steps[0].kind' is 'hash', expected one of impute, standardize, "
            "min_max, log1p, clip, bucketize, ordinal, one_hot");
  EXPECT_EQ(edited([](json& j) { j["inputs"][0]["steps"][1]["params"][0] = "x"; }),
            "m.slw: manifest field 'inputs[0].steps[1].params' holds something that is not a number");
  EXPECT_EQ(edited([](json& j) { j["feature_names"][0] = 1; }),
            "m.slw: manifest field 'feature_names' holds something that is not a string");
  EXPECT_EQ(edited([](json& j) { j["body"]["kind"] = "svm"; }),
            "m.slw: manifest field 'body.kind' is 'svm', expected one of linear, tree_ensemble, mlp");
  EXPECT_EQ(edited([](json& j) { j["body"]["weights"]["dtype"] = "f64"; }),
            "m.slw: manifest field 'body.weights' has dtype 'f64', expected 'f32'");
  EXPECT_EQ(edited([](json& j) { j["body"]["weights"]["offset"] = -1; }),
            "m.slw: manifest field 'body.weights.offset' is not a whole number from 0 to 68");
  EXPECT_EQ(edited([](json& j) { j["body"]["weights"]["length"] = 30; }),
            "m.slw: manifest field 'body.weights' refers to bytes [0, 120) beyond the 68-byte blob");
  EXPECT_EQ(edited([](json& j) { j["provenance"]["run_id"] = 5; }),
            "m.slw: manifest field 'provenance.run_id' is neither a string nor null");
  // Well-formed JSON, but a model that breaks validate_model: kCorrupt with the same message.
  EXPECT_EQ(edited([](json& j) { j["feature_names"].erase(0); }),
            "m.slw: the inputs produce 5 feature column(s) but there are 4 feature names");
}

TEST(BundleDamage, TreeCountsAreCheckedAgainstTheBlob) {
  const std::string good = bytes_of(golden_trees());
  const json m = manifest_of(good);
  auto edited = [&](auto&& edit) {
    json copy = m;
    edit(copy);
    return error_of(with_manifest(good, copy.dump()));
  };
  EXPECT_EQ(edited([](json& j) { j["body"]["trees"] = 1; }), "m.slw: manifest field 'body.node_counts' has 2 entries for 1 trees");
  EXPECT_EQ(edited([](json& j) { j["body"]["trees"] = 4000000000u; }),
            "m.slw: manifest field 'body.trees' is not a whole number from 0 to 2");
  EXPECT_EQ(edited([](json& j) { j["body"]["left"]["length"] = 7; }),
            "m.slw: manifest field 'body.left' has 7 entries but the trees have 8 nodes");
  EXPECT_EQ(edited([](json& j) { j["body"]["leaf_width"] = 3; }),
            "m.slw: manifest field 'body.leaf_values' has 8 entries, expected 24 (8 nodes x leaf width 3)");
  EXPECT_EQ(edited([](json& j) { j["body"]["cat_size"]["length"] = 2; }),
            "m.slw: manifest field 'body.is_categorical' and cat_offset, cat_size need 8 entries each");
}

TEST(BundleDamage, NodeCountsClaimingMoreNodesThanTheFileHolds) {
  Model model = golden_trees();
  std::string good = bytes_of(model);
  json m = manifest_of(good);
  // Point node_counts at the threshold array, whose float bits read as huge counts.
  m["body"]["node_counts"] = m["body"]["leaf_values"];
  m["body"]["node_counts"]["dtype"] = "u32";
  m["body"]["trees"] = 8;
  const std::string message = error_of(with_manifest(good, m.dump()));
  EXPECT_TRUE(message.starts_with("m.slw: manifest field 'body.left' has 8 entries but the trees have ")) << message;
}

TEST(BundleDamage, RandomMutationsNeverCrash) {
  std::mt19937 rng(7);
  for (const auto& c : kCases) {
    const std::string good = bytes_of(c.build());
    const std::string manifest = manifest_of(good).dump();
    for (int i = 0; i < 300; ++i) {
      std::string bad = good;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) bad[rng() % bad.size()] = static_cast<char>(rng());
      (void)parse_bundle(bad, "m.slw");
      // Mutate the manifest text but keep the checksum right, to get past it.
      std::string text = manifest;
      for (int f = 0; f < flips; ++f) text[rng() % text.size()] = "0123456789-\"[]{}:,e."[rng() % 20];
      auto r = parse_bundle(with_manifest(good, text), "m.slw");
      if (r.ok()) {
        EXPECT_TRUE(validate_model(*r).ok());
      }
    }
    for (size_t cut = 0; cut < good.size(); cut += 13) EXPECT_FALSE(parse_bundle(good.substr(0, cut), "m.slw").ok());
  }
}

// ---- golden files of released formats ----

// Format-2 golden files: each body kind with one of the row normalizations.
struct Case2 {
  const char* file;  // <file>_v2.slw
  const Case* base;
  RowNormalization kind;
};
const Case2 kCases2[] = {{"linear_l1", &kCases[0], RowNormalization::kL1},
                         {"tree_ensemble_max", &kCases[1], RowNormalization::kMax},
                         {"mlp_l2", &kCases[2], RowNormalization::kL2}};

// Checks that HEAD reads `<file>_v<version>.slw` and predicts what expected_v<version>.json says.
void check_golden_files(int version, const std::vector<std::pair<std::string, const Case*>>& files) {
  auto text = read_file(fmt::format("{}/expected_v{}.json", kGoldenDir, version));
  ASSERT_TRUE(text.ok()) << text.status().message();
  const json expected = json::parse(*text);
  for (const auto& [file, c] : files) {
    SCOPED_TRACE(file);
    auto m = load_bundle(fmt::format("{}/{}_v{}.slw", kGoldenDir, file, version));
    ASSERT_TRUE(m.ok()) << m.status().message();
    EXPECT_EQ(body_kind_name(m->body), std::string(c->name));
    // NaN is stored as null in the expectation file.
    std::vector<float> rows;
    for (const auto& v : expected[file]["rows"]) rows.push_back(v.is_null() ? NAN : v.get<float>());
    std::vector<float> want;
    for (const auto& v : expected[file]["outputs"]) want.push_back(v.get<float>());
    EXPECT_EQ(reference(*m, rows), want);
  }
}

// Format 1 is no longer the newest: its files are frozen (they stand for files users already have).
TEST(GoldenBundles, HeadReadsFormat1Files) {
  check_golden_files(1, {{"linear", &kCases[0]}, {"tree_ensemble", &kCases[1]}, {"mlp", &kCases[2]}});
}

// SLIPWAY_UPDATE_GOLDEN=1 rewrites the files of the *current* format (2). Never regenerate the
// files of an older format.
TEST(GoldenBundles, HeadReadsFormat2Files) {
  if (std::getenv("SLIPWAY_UPDATE_GOLDEN") != nullptr) {
    json expected = json::object();
    for (const auto& c : kCases2) {
      const Model m = normalized(c.base->build(), c.kind);
      ASSERT_TRUE(save_bundle(m, kGoldenDir + "/" + c.file + "_v2.slw").ok());
      expected[c.file] = {{"rows", *c.base->rows}, {"outputs", reference(m, *c.base->rows)}};
    }
    std::ofstream(kGoldenDir + "/expected_v2.json") << expected.dump(2) << "\n";
  }
  std::vector<std::pair<std::string, const Case*>> files;
  for (const auto& c : kCases2) files.emplace_back(c.file, c.base);
  check_golden_files(2, files);
  for (const auto& c : kCases2) {
    auto m = load_bundle(kGoldenDir + "/" + c.file + "_v2.slw");
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->row_normalization, c.kind) << c.file;
  }
}

}  // namespace
}  // namespace slipway::model
