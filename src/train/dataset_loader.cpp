// Reading training data into memory (a dataset version or a file), left joins, and a RecordReader
// over chosen rows so the feature transforms fit on the training split only.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <unordered_map>

#include <fmt/format.h>

#include "detail/pipeline_data.h"
#include "slipway/core/hash.h"
#include "slipway/data/dataset.h"
#include "slipway/data/ingest.h"
#include "slipway/table/infer.h"

namespace slipway::train::detail {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void append_batch(LoadedTable& t, const table::RecordBatch& batch) {
  for (size_t c = 0; c < t.columns.size() && c < batch.columns.size(); ++c) {
    auto& col = t.columns[c];
    const auto& fields = batch.columns[c];
    const auto& nulls = batch.nulls[c];
    for (size_t r = 0; r < batch.num_rows; ++r) col.append(fields[r], nulls[r] != 0 || fields[r].empty());
  }
  t.rows += batch.num_rows;
}

// Fills `numbers` of numeric and timestamp columns from their text. A value that does not parse
// (which the schema or the inference rules out) counts as missing.
void convert_numbers(LoadedTable& t) {
  for (auto& col : t.columns) {
    const bool numeric = col.numeric(), timestamp = col.type == table::DataType::kTimestamp;
    if (!numeric && !timestamp) continue;
    col.numbers.assign(t.rows, kNaN);
    for (size_t r = 0; r < t.rows; ++r) {
      if (col.missing[r]) continue;
      const std::string_view s = col.text(r);
      double v = kNaN;
      if (numeric) {
        if (!table::parse_float64(s, &v)) v = kNaN;
      } else {
        int64_t micros = 0;
        if (table::parse_timestamp(s, &micros)) v = static_cast<double>(micros);
      }
      col.numbers[r] = v;
    }
  }
}

Result<std::string> file_sha256(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, "{}: no such file", path.string());
  Sha256 hash;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    hash.update(buffer.data(), static_cast<size_t>(in.gcount()));
  }
  return to_hex(hash.finish());
}

Result<LoadedTable> load_dataset(store::Store& store, const std::string& spec) {
  data::Datasets datasets(store);
  SLIPWAY_ASSIGN_OR_RETURN(std::string id, datasets.resolve(spec));
  SLIPWAY_ASSIGN_OR_RETURN(data::VersionManifest manifest, datasets.load(id));
  LoadedTable t;
  t.source = spec;
  t.dataset = manifest.dataset;
  t.version_id = id;
  for (const auto& c : manifest.schema.columns) {
    LoadedColumn col;
    col.name = c.name;
    col.type = c.type;
    t.columns.push_back(std::move(col));
  }
  for (auto& col : t.columns) {
    col.ends.reserve(manifest.rows);
    col.missing.reserve(manifest.rows);
  }
  SLIPWAY_RETURN_IF_ERROR(data::scan_version(store, manifest, [&](const table::RecordBatch& batch) -> Status {
    if (batch.columns.size() != t.columns.size()) {
      return make_error(ErrorCode::kCorrupt, "{}: a file has {} columns but the schema has {}", spec,
                        batch.columns.size(), t.columns.size());
    }
    append_batch(t, batch);
    return {};
  }));
  convert_numbers(t);
  return t;
}

Result<LoadedTable> load_file(const std::filesystem::path& path) {
  SLIPWAY_ASSIGN_OR_RETURN(auto reader, data::open_data_file(path));
  LoadedTable t;
  t.source = path.string();
  t.dataset = path.string();
  SLIPWAY_ASSIGN_OR_RETURN(std::string sha, file_sha256(path));
  t.version_id = "sha256:" + sha;
  for (const auto& name : reader->column_names()) {
    LoadedColumn col;
    col.name = name;
    t.columns.push_back(std::move(col));
  }
  table::TypeInferrer inferrer(reader->column_names(), path.string());
  table::RecordBatch batch;
  for (;;) {
    SLIPWAY_ASSIGN_OR_RETURN(bool more, reader->next(batch, 65536));
    if (!more) break;
    inferrer.add(batch);
    append_batch(t, batch);
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto inferred, inferrer.finish());
  for (size_t c = 0; c < t.columns.size() && c < inferred.size(); ++c) t.columns[c].type = inferred[c].spec.type;
  convert_numbers(t);
  return t;
}

}  // namespace

std::optional<size_t> LoadedTable::index_of(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) return i;
  }
  return std::nullopt;
}

std::string LoadedTable::column_list() const {
  std::string out;
  const size_t shown = std::min<size_t>(columns.size(), 30);
  for (size_t i = 0; i < shown; ++i) out += (i ? ", " : "") + columns[i].name;
  if (shown < columns.size()) out += fmt::format(", ... ({} in all)", columns.size());
  return out;
}

Result<LoadedTable> load_source(store::Store& store, const DataSource& source) {
  if (!source.dataset.empty()) return load_dataset(store, source.dataset);
  return load_file(source.file);
}

namespace {

// The text a key value is compared by.
void key_part(const LoadedColumn& col, bool as_number, size_t row, std::string& out) {
  if (as_number) {
    fmt::format_to(std::back_inserter(out), "{}", col.numbers[row]);
  } else {
    out.append(col.text(row));
  }
  out.push_back('\x1f');
}

bool key_missing(const LoadedTable& t, const std::vector<size_t>& cols, const std::vector<bool>& as_number, size_t row) {
  for (size_t k = 0; k < cols.size(); ++k) {
    const auto& col = t.columns[cols[k]];
    if (col.missing[row] || (as_number[k] && std::isnan(col.numbers[row]))) return true;
  }
  return false;
}

}  // namespace

Status left_join(LoadedTable& left, const LoadedTable& right, const JoinSpec& spec, const std::string& key,
                 const TrainConfig& config) {
  std::vector<size_t> lcols, rcols;
  std::vector<bool> as_number;
  for (const auto& name : spec.on) {
    auto l = left.index_of(name);
    if (!l) {
      return make_error(ErrorCode::kNotFound, "{}{}.on: column '{}' not found in {} (columns: {})", config.where(key + ".on"),
                        key, name, left.source, left.column_list());
    }
    auto r = right.index_of(name);
    if (!r) {
      return make_error(ErrorCode::kNotFound, "{}{}.on: column '{}' not found in {} (columns: {})", config.where(key + ".on"),
                        key, name, right.source, right.column_list());
    }
    lcols.push_back(*l);
    rcols.push_back(*r);
    const auto lt = left.columns[*l].type, rt = right.columns[*r].type;
    as_number.push_back((table::is_numeric(lt) && table::is_numeric(rt)) ||
                        (lt == table::DataType::kTimestamp && rt == table::DataType::kTimestamp));
  }
  std::vector<size_t> add;
  if (spec.columns.empty()) {
    for (size_t c = 0; c < right.columns.size(); ++c) {
      if (std::find(rcols.begin(), rcols.end(), c) == rcols.end()) add.push_back(c);
    }
  } else {
    for (const auto& name : spec.columns) {
      auto r = right.index_of(name);
      if (!r) {
        return make_error(ErrorCode::kNotFound, "{}{}.columns: column '{}' not found in {} (columns: {})",
                          config.where(key + ".columns"), key, name, right.source, right.column_list());
      }
      add.push_back(*r);
    }
  }
  // Right side: key -> row. Keys must be unique, or a left row would match several rows.
  std::unordered_map<std::string, uint32_t> index;
  index.reserve(right.rows);
  std::string k;
  for (size_t r = 0; r < right.rows; ++r) {
    if (key_missing(right, rcols, as_number, r)) continue;
    k.clear();
    for (size_t i = 0; i < rcols.size(); ++i) key_part(right.columns[rcols[i]], as_number[i], r, k);
    auto [it, inserted] = index.emplace(k, static_cast<uint32_t>(r));
    if (!inserted) {
      std::string shown;
      for (size_t i = 0; i < rcols.size(); ++i) {
        shown += fmt::format("{}{}={}", i ? ", " : "", spec.on[i], right.columns[rcols[i]].text(r));
      }
      return make_error(ErrorCode::kParseError,
                        "{}{}: {} has more than one row with {} (rows {} and {}); join keys must be unique on the "
                        "right side: add key columns to {}.on",
                        config.where(key), key, right.source, shown, it->second + 1, r + 1, key);
    }
  }
  std::vector<int64_t> match(left.rows, -1);
  for (size_t r = 0; r < left.rows; ++r) {
    if (key_missing(left, lcols, as_number, r)) continue;
    k.clear();
    for (size_t i = 0; i < lcols.size(); ++i) key_part(left.columns[lcols[i]], as_number[i], r, k);
    if (auto it = index.find(k); it != index.end()) match[r] = it->second;
  }
  // Right-side names already on the left get the right source's name as a suffix ("time_hour_weather").
  std::string suffix = right.dataset;
  if (auto slash = suffix.find_last_of('/'); slash != std::string::npos) suffix = suffix.substr(slash + 1);
  if (auto dot = suffix.find('.'); dot != std::string::npos) suffix.resize(dot);
  for (size_t c : add) {
    const LoadedColumn& src = right.columns[c];
    LoadedColumn col;
    col.name = src.name;
    if (left.index_of(col.name)) col.name += "_" + suffix;
    col.type = src.type;
    col.ends.reserve(left.rows);
    col.missing.reserve(left.rows);
    if (!src.numbers.empty()) col.numbers.assign(left.rows, kNaN);
    for (size_t r = 0; r < left.rows; ++r) {
      if (match[r] < 0) {
        col.append({}, true);
        continue;
      }
      const auto m = static_cast<size_t>(match[r]);
      col.append(src.text(m), src.missing[m] != 0);
      if (!src.numbers.empty()) col.numbers[r] = src.numbers[m];
    }
    left.columns.push_back(std::move(col));
  }
  return {};
}

RowsReader::RowsReader(const LoadedTable& table, std::vector<size_t> columns, const std::vector<uint32_t>& rows,
                       std::string source_name)
    : table_(table), columns_(std::move(columns)), rows_(rows), source_name_(std::move(source_name)) {
  for (size_t c : columns_) names_.push_back(table_.columns[c].name);
}

void fill_batch(const LoadedTable& table, const std::vector<size_t>& columns, const std::vector<uint32_t>& rows,
                size_t begin, size_t end, table::RecordBatch& batch) {
  const size_t n = end - begin;
  batch.num_rows = n;
  batch.columns.resize(columns.size());
  batch.nulls.resize(columns.size());
  for (size_t i = 0; i < columns.size(); ++i) {
    const LoadedColumn& col = table.columns[columns[i]];
    auto& fields = batch.columns[i];
    auto& nulls = batch.nulls[i];
    fields.resize(n);
    nulls.resize(n);
    for (size_t j = 0; j < n; ++j) {
      const uint32_t r = rows[begin + j];
      fields[j] = col.text(r);
      nulls[j] = col.missing[r];
    }
  }
  batch.line_numbers.resize(n);
  batch.row_numbers.resize(n);
  for (size_t j = 0; j < n; ++j) {
    batch.row_numbers[j] = rows[begin + j] + 1;
    batch.line_numbers[j] = rows[begin + j] + 2;  // a header line, then one line per row
  }
}

Result<bool> RowsReader::next(table::RecordBatch& batch, size_t max_rows) {
  if (position_ >= rows_.size()) return false;
  const size_t end = std::min(rows_.size(), position_ + std::max<size_t>(max_rows, 1));
  fill_batch(table_, columns_, rows_, position_, end, batch);
  position_ = end;
  return true;
}

}  // namespace slipway::train::detail
