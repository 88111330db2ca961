// The prediction log as columns: records decoded into Frames chunk by chunk (log_window.h).
#include "slipway/monitor/log_window.h"

#include <algorithm>
#include <cstdint>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <optional>

#include <fmt/format.h>

#include "slipway/monitor/time_text.h"
#include "slipway/serve/prediction_log.h"

namespace slipway::monitor {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A tolerant reader of the KServe v2 tensor arrays the log keeps: [{"name", "datatype", "shape",
// "data"}, ...] in any key order, with any whitespace. Unknown keys are skipped.
class TensorJson {
 public:
  struct Tensor {
    std::string name;
    bool bytes = false;
    std::vector<double> numbers;
    std::vector<std::string> strings;
    std::vector<bool> null;  // per element (BYTES only)
    size_t count() const { return bytes ? strings.size() : numbers.size(); }
  };

  explicit TensorJson(std::string_view text) : s_(text) {}

  // Reuses the tensors (and their buffers) already in `out`: records of one model have the same
  // shape, so reading one allocates nothing after the first.
  bool parse(std::vector<Tensor>& out) {
    size_t used = 0;
    auto finish = [&](bool ok) {
      out.resize(used);
      return ok;
    };
    ws();
    if (!eat('[')) return finish(false);
    ws();
    if (eat(']')) return finish(true);
    for (;;) {
      if (used == out.size()) out.emplace_back();
      Tensor& t = out[used];
      t.name.clear();
      t.bytes = false;
      t.numbers.clear();
      t.strings.clear();
      t.null.clear();
      if (!tensor(t)) return finish(false);
      ++used;
      ws();
      if (eat(']')) return finish(true);
      if (!eat(',')) return finish(false);
    }
  }

 private:
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool string(std::string& out) {
    out.clear();
    if (!eat('"')) return false;
    {
      // No escape before the closing quote (the usual case): one copy.
      const char* start = s_.data() + i_;
      const auto left = static_cast<size_t>(s_.size() - i_);
      const auto* quote = static_cast<const char*>(std::memchr(start, '"', left));
      if (quote == nullptr) return false;
      if (std::memchr(start, '\\', static_cast<size_t>(quote - start)) == nullptr) {
        out.assign(start, quote);
        i_ += static_cast<size_t>(quote - start) + 1;
        return true;
      }
    }
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '"') return true;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) return false;
      char e = s_[i_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          if (i_ + 4 > s_.size()) return false;
          unsigned cp = 0;
          auto [p, ec] = std::from_chars(s_.data() + i_, s_.data() + i_ + 4, cp, 16);
          if (ec != std::errc() || p != s_.data() + i_ + 4) return false;
          i_ += 4;
          if (cp < 0x80) {
            out += static_cast<char>(cp);
          } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
          } else {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
          }
          break;
        }
        default: out += e;
      }
    }
    return false;
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }
  bool number(double& out) {
    ws();
    const char* begin = s_.data() + i_;
    const char* end = s_.data() + s_.size();
    auto [p, ec] = std::from_chars(begin, end, out);
    if (ec != std::errc() || p == begin) return false;
    i_ += static_cast<size_t>(p - begin);
    return true;
  }
  // Skips any JSON value.
  bool skip() {
    ws();
    if (i_ >= s_.size()) return false;
    char c = s_[i_];
    if (c == '"') {
      std::string ignored;
      return string(ignored);
    }
    if (c == '[' || c == '{') {
      const char close = c == '[' ? ']' : '}';
      ++i_;
      if (eat(close)) return true;
      for (;;) {
        if (close == '}') {
          std::string key;
          if (!string(key) || !eat(':')) return false;
        }
        if (!skip()) return false;
        if (eat(close)) return true;
        if (!eat(',')) return false;
      }
    }
    if (literal("true") || literal("false") || literal("null")) return true;
    double ignored = 0;
    return number(ignored);
  }
  bool data(Tensor& t) {
    if (!eat('[')) return false;
    if (eat(']')) return true;
    for (;;) {
      ws();
      if (i_ >= s_.size()) return false;
      char c = s_[i_];
      if (c == '[') {  // nested (shape [n, k] written as rows): flatten
        if (!data(t)) return false;
      } else if (c == '"') {
        std::string v;
        if (!string(v)) return false;
        t.bytes = true;
        t.strings.push_back(std::move(v));
        t.null.push_back(false);
      } else if (literal("null")) {
        t.numbers.push_back(kNaN);
        t.strings.emplace_back();
        t.null.push_back(true);
      } else if (literal("true")) {
        t.numbers.push_back(1.0);
      } else if (literal("false")) {
        t.numbers.push_back(0.0);
      } else {
        double v = 0;
        if (!number(v)) return false;
        t.numbers.push_back(v);
      }
      if (eat(']')) return true;
      if (!eat(',')) return false;
    }
  }
  bool tensor(Tensor& t) {
    if (!eat('{')) return false;
    if (eat('}')) return true;
    thread_local std::string key;
    thread_local std::string datatype;
    datatype.clear();
    for (;;) {
      if (!string(key) || !eat(':')) return false;
      if (key == "name") {
        if (!string(t.name)) return false;
      } else if (key == "datatype") {
        if (!string(datatype)) return false;
      } else if (key == "data") {
        if (!data(t)) return false;
      } else if (!skip()) {
        return false;
      }
      if (eat('}')) break;
      if (!eat(',')) return false;
    }
    if (datatype == "BYTES") {
      t.bytes = true;
      // Nulls were pushed to both vectors; keep strings/null only.
      t.numbers.clear();
    } else {
      t.bytes = false;
      t.strings.clear();
      t.null.clear();
    }
    return true;
  }

  std::string_view s_;
  size_t i_ = 0;
};

// Tensors stored as raw bytes (format version 2) into the reader's form, reusing its buffers.
void from_binary(const std::vector<serve::Tensor>& in, std::vector<TensorJson::Tensor>& out) {
  out.resize(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const serve::Tensor& t = in[i];
    TensorJson::Tensor& o = out[i];
    o.name.assign(t.name);
    o.numbers.clear();
    o.strings.clear();
    o.null.clear();
    o.bytes = t.datatype == serve::DataType::kBytes;
    if (o.bytes) {
      o.strings.assign(t.strings.begin(), t.strings.end());
      o.null.assign(t.strings.size(), false);
      continue;
    }
    const size_t width = serve::datatype_size(t.datatype);
    const size_t n = width == 0 ? 0 : t.raw.size() / width;
    o.numbers.resize(n);
    if (t.datatype == serve::DataType::kFp32) {
      const char* p = t.raw.data();
      for (size_t k = 0; k < n; ++k) {
        float f;
        std::memcpy(&f, p + 4 * k, 4);
        o.numbers[k] = f;
      }
    } else if (t.datatype == serve::DataType::kFp64) {
      std::memcpy(o.numbers.data(), t.raw.data(), 8 * n);
    } else {
      for (size_t k = 0; k < n; ++k) o.numbers[k] = t.number_at(k);
    }
  }
}

// A record's tensors in the reader's form, from whichever form the record holds. False: they are
// not KServe v2 tensors.
bool decode_tensors(const serve::PredictionRecord& r, std::vector<TensorJson::Tensor>& inputs,
                    std::vector<TensorJson::Tensor>& outputs) {
  if (!r.outputs.empty() || r.outputs_json.empty()) {
    from_binary(r.outputs, outputs);
  } else if (!TensorJson(r.outputs_json).parse(outputs)) {
    return false;
  }
  if (!r.inputs.empty() || r.inputs_json.empty()) {
    from_binary(r.inputs, inputs);
    return true;
  }
  return TensorJson(r.inputs_json).parse(inputs);
}

// Builds a chunk's columns as records arrive; a column first seen late is back-filled as missing.
// One builder serves a whole walk: it remembers the last record's tensor layout (names, widths) and
// the columns they went to, so the records of one model — which share a layout — are appended
// without looking any column up by name.
class ChunkBuilder {
 public:
  explicit ChunkBuilder(LogChunk& chunk) : chunk_(chunk) {}

  // The chunk was handed over and emptied: forget the columns remembered for it.
  void restart() {
    for (auto& layout : layouts_) layout.valid = false;
  }

  void add(const serve::PredictionRecord& r, std::vector<TensorJson::Tensor>& inputs,
           std::vector<TensorJson::Tensor>& outputs) {
    const size_t rows = r.rows();
    const size_t base = chunk_.rows();
    for (size_t k = 0; k < rows; ++k) {
      chunk_.row_ids.push_back(rows == 1 ? r.request_id : fmt::format("{}#{}", r.request_id, k));
      chunk_.time_us.push_back(r.time_us);
      chunk_.version.push_back(r.version);
      chunk_.latency_us.push_back(r.latency_us);
    }
    const size_t end = base + rows;
    Frame* frames[2] = {&chunk_.inputs, &chunk_.outputs};
    std::vector<TensorJson::Tensor>* tensors[2] = {&inputs, &outputs};
    for (int i = 0; i < 2; ++i) {
      const size_t filled = put(*frames[i], *tensors[i], base, rows, layouts_[i]);
      frames[i]->rows = end;
      // Columns this record has no tensor for are padded as missing.
      if (filled != frames[i]->columns.size()) {
        for (auto& c : frames[i]->columns) pad(c, end);
      }
    }
    for (const auto& [key, value] : r.tags) {
      Column& c = column(chunk_.tags, key, ColumnKind::kCategorical, base);
      for (size_t k = 0; k < rows; ++k) {
        c.strings.push_back(value);
        c.missing.push_back(false);
      }
    }
    chunk_.tags.rows = end;
    for (auto& c : chunk_.tags.columns) pad(c, end);
  }

 private:
  // Where the previous record's tensors went: per tensor its name, kind and width (columns of a
  // packed tensor), and the column indices, flattened.
  struct Layout {
    struct Entry {
      std::string name;
      bool bytes = false;
      size_t width = 0;
    };
    bool valid = false;
    std::vector<Entry> entries;
    std::vector<size_t> columns;  // kSkip: a repeated name
    size_t filled = 0;            // distinct columns
  };
  static constexpr size_t kSkip = SIZE_MAX;

  static bool packed(const std::string& name) { return name == "input__0" || name == "output__0"; }

  static void pad(Column& c, size_t rows) {
    if (c.kind == ColumnKind::kNumeric) {
      c.numbers.resize(rows, kNaN);
    } else {
      c.missing.resize(rows, true);
      c.strings.resize(rows);
    }
  }
  static size_t column_index(Frame& frame, const std::string& name, ColumnKind kind, size_t base) {
    for (size_t i = 0; i < frame.columns.size(); ++i) {
      if (frame.columns[i].name == name) return i;
    }
    Column c;
    c.name = name;
    c.kind = kind;
    pad(c, base);
    frame.columns.push_back(std::move(c));
    return frame.columns.size() - 1;
  }
  static Column& column(Frame& frame, const std::string& name, ColumnKind kind, size_t base) {
    return frame.columns[column_index(frame, name, kind, base)];
  }
  // "NAME[j]", formatted once per thread and name rather than once per record.
  static const std::string& packed_name(const std::string& base, size_t j) {
    thread_local std::map<std::string, std::vector<std::string>, std::less<>> names;
    auto& list = names[base];
    while (list.size() <= j) list.push_back(fmt::format("{}[{}]", base, list.size()));
    return list[j];
  }
  static size_t width_of(const TensorJson::Tensor& t, size_t rows) {
    return packed(t.name) ? (rows == 0 ? 0 : t.count() / rows) : 1;
  }
  static bool same_layout(const Layout& layout, const std::vector<TensorJson::Tensor>& tensors, size_t rows) {
    if (!layout.valid || layout.entries.size() != tensors.size()) return false;
    for (size_t i = 0; i < tensors.size(); ++i) {
      const auto& e = layout.entries[i];
      if (e.bytes != tensors[i].bytes || e.name != tensors[i].name || e.width != width_of(tensors[i], rows)) return false;
    }
    return true;
  }
  // Appends `rows` values of each tensor to its column(s); returns how many columns it filled.
  size_t put(Frame& frame, const std::vector<TensorJson::Tensor>& tensors, size_t base, size_t rows,
             Layout& layout) {
    if (!same_layout(layout, tensors, rows)) {
      layout.valid = true;
      layout.entries.clear();
      layout.columns.clear();
      for (const auto& t : tensors) {
        const size_t width = width_of(t, rows);
        layout.entries.push_back({t.name, t.bytes, width});
        if (packed(t.name)) {
          for (size_t j = 0; j < width; ++j) {
            layout.columns.push_back(column_index(frame, packed_name(t.name, j), ColumnKind::kNumeric, base));
          }
        } else {
          layout.columns.push_back(
              column_index(frame, t.name, t.bytes ? ColumnKind::kCategorical : ColumnKind::kNumeric, base));
        }
      }
      // A name given twice in one record: the first tensor fills the column, the others are ignored.
      layout.filled = 0;
      std::vector<bool> used(frame.columns.size(), false);
      for (size_t& index : layout.columns) {
        if (used[index]) {
          index = kSkip;
          continue;
        }
        used[index] = true;
        ++layout.filled;
        pad(frame.columns[index], base);
      }
    }
    size_t next = 0;
    for (const auto& t : tensors) {
      if (packed(t.name)) {
        // A packed [rows, k] tensor: columns named NAME[j].
        const size_t width = width_of(t, rows);
        for (size_t j = 0; j < width; ++j) {
          const size_t index = layout.columns[next++];
          if (index == kSkip) continue;
          Column& c = frame.columns[index];
          const size_t at = c.numbers.size();
          c.numbers.resize(at + rows);
          double* out = c.numbers.data() + at;
          if (t.bytes) {
            std::fill(out, out + rows, kNaN);
          } else {
            const double* in = t.numbers.data() + j;
            for (size_t k = 0; k < rows; ++k) out[k] = in[k * width];
          }
        }
        continue;
      }
      const size_t index = layout.columns[next++];
      if (index == kSkip) continue;
      Column& c = frame.columns[index];
      for (size_t k = 0; k < rows; ++k) {
        const bool have = k < t.count();
        if (c.kind == ColumnKind::kNumeric) {
          c.numbers.push_back(!have ? kNaN : t.bytes ? kNaN : t.numbers[k]);
        } else {
          c.strings.push_back(have && t.bytes ? t.strings[k] : (have ? fmt::format("{}", t.numbers[k]) : ""));
          c.missing.push_back(!have || (t.bytes && t.null[k]));
        }
      }
    }
    return layout.filled;
  }

  LogChunk& chunk_;
  Layout layouts_[2];
};

}  // namespace

Result<LogWindowSpec> parse_log_window(std::string_view text, int64_t now_us) {
  LogWindowSpec spec;
  std::string_view head = text.substr(0, text.find('?'));
  std::string_view query = head.size() < text.size() ? text.substr(head.size() + 1) : std::string_view{};
  if (auto slash = head.rfind('/'); slash != std::string_view::npos) {
    std::string_view v = head.substr(slash + 1);
    int64_t version = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), version);
    if (ec != std::errc() || p != v.data() + v.size() || version <= 0) {
      return make_error(ErrorCode::kInvalidArgument, "'{}': the version after '/' must be a positive number, got '{}'",
                        text, v);
    }
    spec.version = version;
    head = head.substr(0, slash);
  }
  if (head.empty()) return make_error(ErrorCode::kInvalidArgument, "'{}': name a model (MODEL[/VERSION][?last=N])", text);
  spec.model = std::string(head);
  while (!query.empty()) {
    std::string_view part = query.substr(0, query.find('&'));
    query = part.size() < query.size() ? query.substr(part.size() + 1) : std::string_view{};
    auto eq = part.find('=');
    if (eq == std::string_view::npos) {
      return make_error(ErrorCode::kInvalidArgument, "'{}': '{}' should be KEY=VALUE (last, since, until)", text, part);
    }
    std::string_view key = part.substr(0, eq);
    std::string value(part.substr(eq + 1));
    if (key == "last") {
      uint64_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || p != value.data() + value.size() || n == 0) {
        return make_error(ErrorCode::kInvalidArgument, "'{}': last={} must be a positive number of rows", text, value);
      }
      spec.last_rows = n;
    } else if (key == "since" || key == "until") {
      SLIPWAY_ASSIGN_OR_RETURN(int64_t t, parse_time_text(value, key == "since" ? "since" : "until", now_us));
      (key == "since" ? spec.since_us : spec.until_us) = t;
    } else {
      return make_error(ErrorCode::kInvalidArgument, "'{}': unknown window key '{}' (use last, since, until)", text, key);
    }
  }
  return spec;
}

namespace {

// Walks the records of the window in order; `fn(record, row_count)` per matching record.
Status walk(const std::filesystem::path& store_root, const LogWindowSpec& spec,
            const std::function<Status(const serve::PredictionRecord&)>& fn) {
  serve::PredictionLogFilter filter;
  filter.version = spec.version;
  filter.since_us = spec.since_us;
  filter.until_us = spec.until_us;
  SLIPWAY_ASSIGN_OR_RETURN(auto reader,
                           serve::PredictionLogReader::open(serve::prediction_log_dir(store_root), spec.model, filter));
  serve::PredictionRecord record;
  for (;;) {
    SLIPWAY_ASSIGN_OR_RETURN(bool more, reader.next(record));
    if (!more) break;
    SLIPWAY_RETURN_IF_ERROR(fn(record));
  }
  return {};
}


}  // namespace

Status visit_log_chunks(const std::filesystem::path& store_root, const LogWindowSpec& spec, size_t chunk_rows,
                        const std::function<Status(const LogChunk&)>& fn) {
  chunk_rows = std::max<size_t>(chunk_rows, 1);
  uint64_t skip_rows = 0;
  if (spec.last_rows) {
    uint64_t total = 0;
    SLIPWAY_RETURN_IF_ERROR(walk(store_root, spec, [&](const serve::PredictionRecord& r) {
      total += r.rows();
      return Status{};
    }));
    skip_rows = total > *spec.last_rows ? total - *spec.last_rows : 0;
  }
  LogChunk chunk;
  ChunkBuilder builder(chunk);
  std::vector<TensorJson::Tensor> inputs, outputs;
  uint64_t seen = 0;
  SLIPWAY_RETURN_IF_ERROR(walk(store_root, spec, [&](const serve::PredictionRecord& r) -> Status {
    if (!decode_tensors(r, inputs, outputs)) {
      return make_error(ErrorCode::kCorrupt,
                        "prediction log of '{}': request '{}' has inputs or outputs that are not KServe v2 tensors",
                        spec.model, r.request_id);
    }
    const size_t rows = r.rows();
    if (seen + rows <= skip_rows) {
      seen += rows;
      return Status{};
    }
    seen += rows;
    builder.add(r, inputs, outputs);
    if (chunk.rows() >= chunk_rows) {
      SLIPWAY_RETURN_IF_ERROR(fn(chunk));
      chunk = LogChunk{};
      builder.restart();
    }
    return Status{};
  }));
  if (chunk.rows() > 0) SLIPWAY_RETURN_IF_ERROR(fn(chunk));
  return {};
}

struct LogTail::State {
  std::filesystem::path store_root;
  std::string model;
  int64_t start_us = 0;
  bool inputs_wanted = true;
  std::optional<serve::PredictionLogReader> reader;
};

void LogTail::set_inputs_wanted(bool wanted) { state_->inputs_wanted = wanted; }

LogTail::LogTail(std::filesystem::path store_root, std::string model, int64_t start_us)
    : state_(std::make_unique<State>()) {
  state_->store_root = std::move(store_root);
  state_->model = std::move(model);
  state_->start_us = start_us;
}
LogTail::~LogTail() = default;
LogTail::LogTail(LogTail&&) noexcept = default;
LogTail& LogTail::operator=(LogTail&&) noexcept = default;

Status LogTail::read_new(size_t chunk_rows, const std::function<Status(const LogChunk&)>& fn) {
  chunk_rows = std::max<size_t>(chunk_rows, 1);
  if (!state_->reader) {
    serve::PredictionLogFilter filter;
    filter.since_us = state_->start_us;
    auto reader =
        serve::PredictionLogReader::open(serve::prediction_log_dir(state_->store_root), state_->model, filter);
    if (!reader.ok()) return reader.status();  // kNotFound until the model's first record
    state_->reader.emplace(std::move(reader).value());
  }
  LogChunk chunk;
  ChunkBuilder builder(chunk);
  std::vector<TensorJson::Tensor> inputs, outputs;
  serve::PredictionRecord r;
  for (;;) {
    SLIPWAY_ASSIGN_OR_RETURN(bool more, state_->reader->next(r));
    if (!more) break;
    if (!state_->inputs_wanted) {
      r.inputs.clear();
      r.inputs_json.clear();
    }
    if (!decode_tensors(r, inputs, outputs)) continue;  // unreadable tensors: skipped, not fatal
    builder.add(r, inputs, outputs);
    if (chunk.rows() >= chunk_rows) {
      SLIPWAY_RETURN_IF_ERROR(fn(chunk));
      chunk = LogChunk{};
      builder.restart();
    }
  }
  if (chunk.rows() > 0) SLIPWAY_RETURN_IF_ERROR(fn(chunk));
  return {};
}

namespace {

void append_frame(Frame& into, const Frame& from) {
  const size_t base = into.rows;
  for (const auto& c : from.columns) {
    Column* dst = into.find(c.name);
    if (dst == nullptr) {
      Column fresh;
      fresh.name = c.name;
      fresh.kind = c.kind;
      if (c.kind == ColumnKind::kNumeric) {
        fresh.numbers.assign(base, kNaN);
      } else {
        fresh.strings.assign(base, "");
        fresh.missing.assign(base, true);
      }
      into.columns.push_back(std::move(fresh));
      dst = &into.columns.back();
    }
    if (c.kind == ColumnKind::kNumeric) {
      dst->numbers.insert(dst->numbers.end(), c.numbers.begin(), c.numbers.end());
    } else {
      dst->strings.insert(dst->strings.end(), c.strings.begin(), c.strings.end());
      if (c.missing.empty()) {
        dst->missing.resize(dst->strings.size(), false);
      } else {
        dst->missing.insert(dst->missing.end(), c.missing.begin(), c.missing.end());
      }
    }
  }
  into.rows = base + from.rows;
  for (auto& c : into.columns) {
    if (c.kind == ColumnKind::kNumeric) {
      c.numbers.resize(into.rows, kNaN);
    } else {
      c.strings.resize(into.rows);
      c.missing.resize(into.rows, true);
    }
  }
}

}  // namespace

Result<LogChunk> read_log_window(const std::filesystem::path& store_root, const LogWindowSpec& spec) {
  LogChunk all;
  SLIPWAY_RETURN_IF_ERROR(visit_log_chunks(store_root, spec, 65536, [&](const LogChunk& chunk) {
    append_frame(all.inputs, chunk.inputs);
    append_frame(all.outputs, chunk.outputs);
    append_frame(all.tags, chunk.tags);
    all.row_ids.insert(all.row_ids.end(), chunk.row_ids.begin(), chunk.row_ids.end());
    all.time_us.insert(all.time_us.end(), chunk.time_us.begin(), chunk.time_us.end());
    all.version.insert(all.version.end(), chunk.version.begin(), chunk.version.end());
    all.latency_us.insert(all.latency_us.end(), chunk.latency_us.begin(), chunk.latency_us.end());
    return Status{};
  }));
  // Tags seen only in later chunks were back-filled; make every frame as long as the window.
  for (Frame* f : {&all.inputs, &all.outputs, &all.tags}) {
    f->rows = all.rows();
    for (auto& c : f->columns) {
      if (c.kind == ColumnKind::kNumeric) {
        c.numbers.resize(f->rows, kNaN);
      } else {
        c.strings.resize(f->rows);
        c.missing.resize(f->rows, true);
      }
    }
  }
  return all;
}

}  // namespace slipway::monitor
