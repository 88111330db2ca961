// Shared by the XGBoost and LightGBM importer tests: imports every golden model of one library
// listed in tests/data/models/MANIFEST.json, encodes its inputs CSV with the model's own
// FeatureEncoder, runs reference_predict and compares outputs and margins with what the library
// itself predicted (the expected CSV), printing the largest difference seen.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "slipway/core/fs.h"
#include "slipway/model/engine.h"
#include "slipway/model/importers.h"
#include "slipway/model/transforms.h"
#include "slipway/table/reader.h"

namespace slipway::model::testing {

inline const std::string kModelsDir = std::string(SLIPWAY_TEST_DATA) + "/models/";

struct Csv {
  std::vector<std::string> names;
  std::vector<std::vector<std::string>> rows;
  size_t column(const std::string& name) const {
    auto it = std::find(names.begin(), names.end(), name);
    return it == names.end() ? names.size() : static_cast<size_t>(it - names.begin());
  }
};

// Reads a whole CSV, and also encodes it when `model` is given (into `features`).
inline Csv read_csv(const std::string& path, const Model* model = nullptr, std::vector<float>* features = nullptr) {
  Csv csv;
  auto reader = table::open_csv(path, table::CsvOptions{});
  EXPECT_TRUE(reader.ok()) << reader.status().message();
  if (!reader.ok()) return csv;
  csv.names = (*reader)->column_names();
  std::vector<size_t> binding;
  if (model != nullptr) {
    auto bound = FeatureEncoder(*model).bind(csv.names);
    EXPECT_TRUE(bound.ok()) << bound.status().message();
    if (!bound.ok()) return csv;
    binding = *bound;
  }
  table::RecordBatch batch;
  for (;;) {
    auto more = (*reader)->next(batch, 1024);
    EXPECT_TRUE(more.ok()) << more.status().message();
    if (!more.ok() || !*more) break;
    for (size_t r = 0; r < batch.num_rows; ++r) {
      std::vector<std::string> row;
      for (size_t c = 0; c < batch.columns.size(); ++c) {
        row.emplace_back(batch.nulls[c][r] ? std::string_view{} : batch.columns[c][r]);
      }
      csv.rows.push_back(std::move(row));
    }
    if (model != nullptr) {
      const size_t at = features->size();
      features->resize(at + batch.num_rows * model->n_features());
      Status s = FeatureEncoder(*model).encode_batch(batch, binding, features->data() + at);
      EXPECT_TRUE(s.ok()) << s.message();
    }
  }
  return csv;
}

// Columns of the expected CSV: outputs first (prob / value / score / prob_<k>), then "label" for
// classifiers, then the margins (margin / raw, margin_<k> / raw_<k>).
inline void check_golden_models(const std::string& library, size_t expected_count) {
  auto manifest_text = read_file(kModelsDir + "MANIFEST.json");
  ASSERT_TRUE(manifest_text.ok()) << manifest_text.status().message();
  const auto manifest = nlohmann::json::parse(*manifest_text);
  size_t checked = 0;
  for (const auto& entry : manifest.at("models")) {
    if (entry.at("source").at("library") != library) continue;
    const std::string name = entry.at("name");
    SCOPED_TRACE(name);
    auto model = import_model(kModelsDir + entry.at("file").get<std::string>());
    ASSERT_TRUE(model.ok()) << model.status().message();
    EXPECT_FALSE(model->provenance.source_sha256.empty());
    EXPECT_EQ(model->provenance.source_sha256, entry.at("sha256").get<std::string>());

    std::vector<float> x;
    read_csv(kModelsDir + entry.at("inputs").get<std::string>(), &*model, &x);
    const Csv expected = read_csv(kModelsDir + entry.at("expected").get<std::string>());
    const size_t n_rows = expected.rows.size();
    ASSERT_EQ(x.size(), n_rows * model->n_features());
    ASSERT_EQ(n_rows, entry.at("n_rows").get<size_t>());

    const size_t n_out = model->n_outputs();
    std::vector<float> out(n_rows * n_out), margins(n_rows * model->n_margins());
    reference_predict(*model, x.data(), n_rows, out.data());
    reference_predict(*model, x.data(), n_rows, margins.data(), /*margins=*/true);

    const size_t label_col = expected.column("label");
    const size_t first_margin = label_col < expected.names.size() ? label_col + 1 : n_out;
    ASSERT_EQ(expected.names.size(), first_margin + model->n_margins());
    double max_out = 0, max_margin = 0;
    size_t decisions = 0;
    for (size_t r = 0; r < n_rows; ++r) {
      const auto& row = expected.rows[r];
      for (size_t k = 0; k < n_out; ++k) {
        const double want = std::stod(row[k]);
        // Absolute for probabilities; relative above 1, where float32 itself (which both libraries
        // predict in) cannot resolve 1e-5: a diabetes value near 300 has an ulp of 3e-5.
        max_out = std::max(max_out, std::abs(want - out[r * n_out + k]) / std::max(1.0, std::abs(want)));
      }
      for (size_t k = 0; k < model->n_margins(); ++k) {
        const double want = std::stod(row[first_margin + k]);
        // Margins are compared relative to their size: Poisson margins are logs of counts.
        max_margin = std::max(max_margin, std::abs(want - margins[r * model->n_margins() + k]) / std::max(1.0, std::abs(want)));
      }
      if (label_col < expected.names.size()) {
        const float* o = out.data() + r * n_out;
        const long ours = n_out == 1 ? (o[0] > 0.5f ? 1 : 0) : static_cast<long>(std::max_element(o, o + n_out) - o);
        EXPECT_EQ(ours, std::stol(row[label_col])) << "row " << r;
        ++decisions;
      }
    }
    std::printf("[golden] %-36s rows=%zu outputs max|diff| (rel. above 1)=%.3g margins max rel|diff|=%.3g decisions=%zu\n", name.c_str(),
                n_rows, max_out, max_margin, decisions);
    EXPECT_LE(max_out, 1e-5);
    EXPECT_LE(max_margin, 1e-5);
    ++checked;
  }
  EXPECT_EQ(checked, expected_count);
}

}  // namespace slipway::model::testing
