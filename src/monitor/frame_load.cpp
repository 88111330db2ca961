// Frames from files and dataset versions (slipway/monitor/frame_load.h).
#include "slipway/monitor/frame_load.h"

#include <cmath>
#include <limits>
#include <memory>
#include <optional>

#include "slipway/data/dataset.h"
#include "slipway/table/infer.h"
#include "slipway/table/reader.h"
#include "slipway/table/types.h"

namespace slipway::monitor {

namespace {

namespace fs = std::filesystem;
using table::DataType;

constexpr size_t kBatchRows = 65536;

bool is_jsonl(const fs::path& path) {
  std::string name = path.filename().string();
  for (const char* suffix : {".gz", ".zst", ".zstd"}) {
    const std::string s = suffix;
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      name.resize(name.size() - s.size());
    }
  }
  auto ends = [&](const std::string& s) { return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0; };
  return ends(".jsonl") || ends(".ndjson");
}

// Which source columns become which Frame columns, with what conversion.
struct Target {
  size_t source;  // index in the batch
  DataType type;
  size_t frame_column;
};

Result<std::vector<Target>> choose(const std::vector<std::string>& names, const std::vector<DataType>& types,
                                   const FrameLoadOptions& options, const std::string& source, Frame& frame) {
  std::vector<Target> out;
  auto add = [&](size_t i) {
    Column c;
    c.name = names[i];
    c.kind = types[i] == DataType::kString ? ColumnKind::kCategorical : ColumnKind::kNumeric;
    out.push_back({i, types[i], frame.columns.size()});
    frame.columns.push_back(std::move(c));
  };
  if (options.columns.empty()) {
    for (size_t i = 0; i < names.size(); ++i) {
      if (types[i] != DataType::kTimestamp || options.include_timestamps) add(i);
    }
    return out;
  }
  for (const auto& want : options.columns) {
    size_t i = 0;
    while (i < names.size() && names[i] != want) ++i;
    if (i == names.size()) {
      std::string list;
      for (size_t k = 0; k < names.size() && k < 12; ++k) list += (k != 0 ? "," : "") + names[k];
      if (names.size() > 12) list += ",...";
      return make_error(ErrorCode::kInvalidArgument, "{}: no column '{}' (columns: {})", source, want, list);
    }
    add(i);
  }
  return out;
}

// Appends one batch's values; a value that does not parse as its type (possible only when the
// type came from a manifest and the row slipped through) counts as missing.
void append(const table::RecordBatch& batch, const std::vector<Target>& targets, Frame& frame) {
  for (const auto& t : targets) {
    Column& c = frame.columns[t.frame_column];
    const auto& values = batch.columns[t.source];
    const auto& nulls = batch.nulls[t.source];
    for (size_t r = 0; r < batch.num_rows; ++r) {
      const bool null = !nulls.empty() && nulls[r] != 0;
      if (c.kind == ColumnKind::kCategorical) {
        if (null) {
          if (c.missing.empty()) c.missing.assign(c.strings.size(), false);
          c.missing.push_back(true);
          c.strings.emplace_back();
        } else {
          if (!c.missing.empty()) c.missing.push_back(false);
          c.strings.emplace_back(values[r]);
        }
        continue;
      }
      double v = std::numeric_limits<double>::quiet_NaN();
      if (!null) {
        switch (t.type) {
          case DataType::kBool: {
            bool b = false;
            if (table::parse_bool(values[r], &b)) v = b ? 1.0 : 0.0;
            break;
          }
          case DataType::kInt64: {
            int64_t i = 0;
            if (table::parse_int64(values[r], &i)) v = static_cast<double>(i);
            break;
          }
          case DataType::kFloat64: {
            double d = 0;
            if (table::parse_float64(values[r], &d)) v = d;
            break;
          }
          case DataType::kTimestamp: {
            int64_t us = 0;
            if (table::parse_timestamp(values[r], &us)) v = static_cast<double>(us);
            break;
          }
          case DataType::kString: break;
        }
      }
      c.numbers.push_back(v);
    }
  }
  frame.rows += batch.num_rows;
}

Result<std::unique_ptr<table::RecordReader>> open_reader(const fs::path& path) {
  if (is_jsonl(path)) return table::open_jsonl(path, table::JsonlOptions{});
  return table::open_csv(path, table::CsvOptions{});
}

}  // namespace

Result<Frame> load_frame_file(const fs::path& path, const FrameLoadOptions& options) {
  // Types first (over the whole file, as ingest does), then the values: two streaming passes, so
  // memory holds the Frame and one batch, never the text.
  std::vector<DataType> types;
  std::vector<std::string> names;
  {
    SLIPWAY_ASSIGN_OR_RETURN(auto reader, open_reader(path));
    names = reader->column_names();
    table::TypeInferrer inferrer(names, reader->source_name());
    table::RecordBatch batch;
    while (true) {
      SLIPWAY_ASSIGN_OR_RETURN(bool more, reader->next(batch, kBatchRows));
      if (!more) break;
      inferrer.add(batch);
    }
    SLIPWAY_ASSIGN_OR_RETURN(auto inferred, inferrer.finish());
    for (const auto& col : inferred) types.push_back(col.spec.type);
  }
  Frame frame;
  SLIPWAY_ASSIGN_OR_RETURN(auto targets, choose(names, types, options, path.string(), frame));
  SLIPWAY_ASSIGN_OR_RETURN(auto reader, open_reader(path));
  table::RecordBatch batch;
  while (true) {
    SLIPWAY_ASSIGN_OR_RETURN(bool more, reader->next(batch, kBatchRows));
    if (!more) break;
    append(batch, targets, frame);
  }
  return frame;
}

Result<Frame> load_frame_dataset(store::Store& store, std::string_view spec, const FrameLoadOptions& options) {
  data::Datasets datasets(store);
  SLIPWAY_ASSIGN_OR_RETURN(std::string id, datasets.resolve(spec));
  SLIPWAY_ASSIGN_OR_RETURN(data::VersionManifest manifest, datasets.load(id));
  std::vector<std::string> names;
  std::vector<DataType> types;
  for (const auto& c : manifest.schema.columns) {
    names.push_back(c.name);
    types.push_back(c.type);
  }
  Frame frame;
  const std::string source = std::string(spec);
  SLIPWAY_ASSIGN_OR_RETURN(auto targets, choose(names, types, options, source, frame));
  SLIPWAY_RETURN_IF_ERROR(data::scan_version(store, manifest, [&](const table::RecordBatch& batch) -> Status {
    if (batch.columns.size() != names.size()) {
      return make_error(ErrorCode::kCorrupt, "{}: a file has {} columns but the version's schema has {}", source,
                        batch.columns.size(), names.size());
    }
    append(batch, targets, frame);
    return {};
  }));
  return frame;
}

}  // namespace slipway::monitor
