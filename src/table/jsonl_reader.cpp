// JSON Lines reader. Each line is parsed with nlohmann's SAX interface so numbers keep their
// literal text and nested values can be written back compactly without building a DOM.
//
// Messages: "FILE:LINE:COLUMN: invalid JSON: ..." (COLUMN: 1-based character column of the byte
// where the JSON parser stopped), "FILE:LINE: expected a JSON object, got an array",
// "FILE:LINE: key 'x' not seen in the first N rows", "FILE:LINE: line is longer than N bytes".
#include <algorithm>
#include <cstring>
#include <optional>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "detail/arena.h"
#include "detail/byte_source.h"
#include "detail/reader_testing.h"
#include "slipway/table/reader.h"

namespace slipway::table {
namespace {

using Json = nlohmann::json;
constexpr size_t kDefaultBlock = 4u << 20;

// Splits a byte stream into lines; a view stays valid until the next call.
class LineSource {
 public:
  LineSource(std::unique_ptr<detail::ByteSource> source, std::string name, size_t block, size_t max_line)
      : source_(std::move(source)), name_(std::move(name)), buf_(std::max<size_t>(block, 1)), max_line_(max_line) {}

  // Sets *line (without the line break) and *number (1-based); false at the end of the input.
  Result<bool> next(std::string_view* line, uint64_t* number) {
    for (;;) {
      const void* hit = scanned_ < end_ ? std::memchr(buf_.data() + scanned_, '\n', end_ - scanned_) : nullptr;
      size_t stop;
      if (hit) {
        stop = static_cast<size_t>(static_cast<const char*>(hit) - buf_.data());
      } else if (eof_) {
        if (pos_ == end_) return false;
        stop = end_;
      } else {
        scanned_ = end_;
        if (end_ - pos_ > max_line_) {
          return make_error(ErrorCode::kParseError, "{}:{}: line is longer than {} bytes", name_, line_, max_line_);
        }
        SLIPWAY_RETURN_IF_ERROR(fill());
        continue;
      }
      size_t length = stop - pos_;
      if (length > max_line_) {
        return make_error(ErrorCode::kParseError, "{}:{}: line is longer than {} bytes", name_, line_, max_line_);
      }
      *line = std::string_view(buf_.data() + pos_, length);
      if (line_ == 1 && line->substr(0, 3) == "\xEF\xBB\xBF") line->remove_prefix(3);
      if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
      *number = line_++;
      pos_ = scanned_ = std::min(stop + 1, end_);
      return true;
    }
  }

  uint64_t bytes_consumed() const { return consumed_base_ + pos_; }

 private:
  Status fill() {
    if (pos_ > 0) {
      std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
      consumed_base_ += pos_;
      end_ -= pos_;
      scanned_ -= pos_;
      pos_ = 0;
    }
    if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
    SLIPWAY_ASSIGN_OR_RETURN(size_t n, detail::read_fully(*source_, buf_.data() + end_, buf_.size() - end_));
    end_ += n;
    if (end_ < buf_.size()) eof_ = true;
    return Status::ok_status();
  }

  std::unique_ptr<detail::ByteSource> source_;
  std::string name_;
  std::vector<char> buf_;
  size_t max_line_;
  size_t pos_ = 0, scanned_ = 0, end_ = 0;
  bool eof_ = false;
  uint64_t line_ = 1;
  uint64_t consumed_base_ = 0;
};

// Receives one line's SAX events and fills `values` (one slot per column).
class ObjectHandler : public nlohmann::json_sax<Json> {
 public:
  std::vector<std::optional<std::string_view>>* values = nullptr;
  std::unordered_map<std::string, size_t>* index = nullptr;
  std::vector<std::string>* names = nullptr;
  detail::Arena* arena = nullptr;
  bool allow_new_keys = true;

  // Outcome of the last line.
  const char* not_object = nullptr;  // "an array", ... when the line was not an object
  std::optional<std::string> unknown_key;
  std::optional<size_t> error_byte;
  std::string error_text;

  void reset() {
    depth_ = 0;
    after_key_ = false;
    first_.clear();
    not_object = nullptr;
    unknown_key.reset();
    error_byte.reset();
    error_text.clear();
  }

  bool null() override { return scalar("null", "null", true); }
  bool boolean(bool v) override { return scalar(v ? "true" : "false", "a boolean", false); }
  bool number_integer(number_integer_t v) override { return number(fmt::format_int(v).str()); }
  bool number_unsigned(number_unsigned_t v) override { return number(fmt::format_int(v).str()); }
  bool number_float(number_float_t, const string_t& literal) override { return number(literal); }
  bool binary(binary_t&) override { return false; }

  bool string(string_t& v) override {
    if (depth_ == 0) return top_level("a string");
    if (depth_ == 1) return set(arena->copy(v));
    separator();
    nested_ += Json(v).dump();
    return true;
  }

  bool start_object(std::size_t) override { return open('{'); }
  bool end_object() override { return close('}'); }
  bool start_array(std::size_t) override {
    if (depth_ == 0) return top_level("an array");
    return open('[');
  }
  bool end_array() override { return close(']'); }

  bool key(string_t& k) override {
    if (depth_ == 1) {
      auto it = index->find(k);
      if (it == index->end()) {
        if (!allow_new_keys) {
          unknown_key = k;
          return false;
        }
        it = index->emplace(k, names->size()).first;
        names->push_back(k);
        values->resize(names->size());
      }
      column_ = it->second;
      return true;
    }
    separator();
    nested_ += Json(k).dump();
    nested_ += ':';
    after_key_ = true;
    return true;
  }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
    error_byte = position;
    // Drop nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 6: " prefix;
    // the position is reported in our own FILE:LINE:COLUMN form.
    std::string_view what = ex.what();
    size_t at = what.find("column ");
    if (at != std::string_view::npos) {
      size_t colon = what.find(": ", at);
      if (colon != std::string_view::npos) what.remove_prefix(colon + 2);
    }
    error_text = std::string(what);
    return false;
  }

 private:
  bool top_level(const char* kind) {
    not_object = kind;
    return false;
  }

  bool set(std::string_view value) {
    (*values)[column_] = value;
    return true;
  }

  bool number(const std::string& text) {
    if (depth_ == 0) return top_level("a number");
    if (depth_ == 1) return set(arena->copy(text));
    separator();
    nested_ += text;
    return true;
  }

  bool scalar(const char* text, const char* kind, bool is_null) {
    if (depth_ == 0) return top_level(kind);
    if (depth_ == 1) {
      if (is_null) {
        (*values)[column_].reset();
        return true;
      }
      return set(text);  // static storage
    }
    separator();
    nested_ += text;
    return true;
  }

  bool open(char bracket) {
    if (depth_ == 1) {
      nested_.clear();
    } else if (depth_ > 1) {
      separator();
    }
    if (depth_ >= 1) {
      nested_ += bracket;
      first_.push_back(true);
    }
    ++depth_;
    return true;
  }

  bool close(char bracket) {
    --depth_;
    if (depth_ == 0) return true;
    nested_ += bracket;
    first_.pop_back();
    if (depth_ == 1) return set(arena->copy(nested_));
    return true;
  }

  void separator() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.back()) nested_ += ',';
    first_.back() = false;
  }

  int depth_ = 0;
  size_t column_ = 0;
  bool after_key_ = false;
  std::vector<bool> first_;
  std::string nested_;
};

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

class JsonlReader final : public RecordReader {
 public:
  JsonlReader(std::unique_ptr<detail::ByteSource> source, std::string name, const JsonlOptions& options,
              size_t block)
      : lines_(std::move(source), name, block, options.max_line_bytes), name_(std::move(name)), options_(options) {
    handler_.values = &values_;
    handler_.index = &index_;
    handler_.names = &names_;
    handler_.arena = &scan_arena_;
  }

  // Reads the first header_scan_rows objects to learn the columns; they are kept for next().
  Status scan() {
    while (pending_.size() < std::max<size_t>(options_.header_scan_rows, 1)) {
      SLIPWAY_ASSIGN_OR_RETURN(bool more, read_object());
      if (!more) break;
      pending_.push_back(Pending{values_, line_});
    }
    if (names_.empty() && pending_.empty()) {
      return make_error(ErrorCode::kParseError, "{}: the file is empty (expected JSON objects, one per line)", name_);
    }
    handler_.allow_new_keys = false;
    return Status::ok_status();
  }

  const std::vector<std::string>& column_names() const override { return names_; }
  const std::string& source_name() const override { return name_; }
  uint64_t bytes_consumed() const override { return lines_.bytes_consumed(); }

  Result<bool> next(RecordBatch& batch, size_t max_rows) override {
    if (!status_.ok()) return status_;
    batch.clear();
    batch.columns.resize(names_.size());
    batch.nulls.resize(names_.size());
    if (pending_done_ && !pending_.empty()) {
      // The scanned rows were handed out by the previous call; their text can go now.
      pending_.clear();
      scan_arena_.reset();
    }
    arena_.reset();
    handler_.arena = &arena_;
    size_t rows = 0;
    while (rows < max_rows && pending_next_ < pending_.size()) {
      Pending& p = pending_[pending_next_++];
      p.values.resize(names_.size());
      append(batch, p.values, p.line);
      ++rows;
    }
    if (pending_next_ == pending_.size()) pending_done_ = true;
    while (rows < max_rows) {
      auto more = read_object();
      if (!more.ok()) {
        status_ = more.status();
        return status_;
      }
      if (!*more) break;
      append(batch, values_, line_);
      ++rows;
    }
    batch.num_rows = rows;
    return rows > 0;
  }

 private:
  struct Pending {
    std::vector<std::optional<std::string_view>> values;
    uint64_t line;
  };

  void append(RecordBatch& batch, const std::vector<std::optional<std::string_view>>& values, uint64_t line) {
    for (size_t c = 0; c < names_.size(); ++c) {
      const bool present = c < values.size() && values[c].has_value();
      batch.columns[c].push_back(present ? *values[c] : std::string_view());
      batch.nulls[c].push_back(!present);
    }
    batch.line_numbers.push_back(line);
    batch.row_numbers.push_back(row_++);
  }

  // Parses the next non-blank line into values_; false at the end of the input.
  Result<bool> read_object() {
    for (;;) {
      std::string_view line;
      for (;;) {
        SLIPWAY_ASSIGN_OR_RETURN(bool more, lines_.next(&line, &line_));
        if (!more) return false;
        if (!is_blank(line)) break;
      }
      Status st = parse_line(line);
      if (st.ok()) return true;
      if (!options_.on_bad_record) return st;
      BadRecord bad;
      bad.line = line_;
      bad.message = st.message();
      bad.text = line;
      options_.on_bad_record(bad);
    }
  }

  Status parse_line(std::string_view line) {
    values_.assign(names_.size(), std::nullopt);
    handler_.reset();
    bool ok = Json::sax_parse(line.begin(), line.end(), &handler_, nlohmann::detail::input_format_t::json, true);
    if (ok) return Status::ok_status();
    if (handler_.not_object) {
      return make_error(ErrorCode::kParseError, "{}:{}: expected a JSON object, got {}", name_, line_,
                        handler_.not_object);
    }
    if (handler_.unknown_key) {
      return make_error(ErrorCode::kParseError, "{}:{}: key '{}' not seen in the first {} rows", name_, line_,
                        *handler_.unknown_key, options_.header_scan_rows);
    }
    if (handler_.error_byte) {
      // nlohmann counts the byte it stopped at from 1.
      size_t byte = std::min(line.size(), *handler_.error_byte > 0 ? *handler_.error_byte - 1 : 0);
      return make_error(ErrorCode::kParseError, "{}:{}:{}: invalid JSON: {}", name_, line_,
                        detail::char_column(line.data(), byte), handler_.error_text);
    }
    return make_error(ErrorCode::kParseError, "{}:{}: invalid JSON", name_, line_);
  }

  LineSource lines_;
  std::string name_;
  JsonlOptions options_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, size_t> index_;
  std::vector<std::optional<std::string_view>> values_;
  ObjectHandler handler_;
  detail::Arena scan_arena_;  // text of the scanned rows, kept until they are handed out
  detail::Arena arena_;
  std::vector<Pending> pending_;
  size_t pending_next_ = 0;
  bool pending_done_ = false;
  uint64_t line_ = 0;
  uint64_t row_ = 1;
  Status status_;
};

Result<std::unique_ptr<RecordReader>> make_reader(std::unique_ptr<detail::ByteSource> source, std::string name,
                                                  const JsonlOptions& options, size_t block) {
  auto reader = std::make_unique<JsonlReader>(std::move(source), std::move(name), options, block);
  SLIPWAY_RETURN_IF_ERROR(reader->scan());
  return std::unique_ptr<RecordReader>(std::move(reader));
}

}  // namespace

namespace detail {

Result<std::unique_ptr<RecordReader>> open_jsonl_with_block_size(const std::filesystem::path& path,
                                                                 const JsonlOptions& options, size_t block_bytes) {
  std::string name = path.string();
  SLIPWAY_ASSIGN_OR_RETURN(auto source, ByteSource::open(path, name));
  return make_reader(std::move(source), std::move(name), options, block_bytes);
}

}  // namespace detail

Result<std::unique_ptr<RecordReader>> open_jsonl(const std::filesystem::path& path, const JsonlOptions& options) {
  return detail::open_jsonl_with_block_size(path, options, kDefaultBlock);
}

Result<std::unique_ptr<RecordReader>> open_jsonl_buffer(std::string_view data, std::string source_name,
                                                        const JsonlOptions& options) {
  // A small input needs no 4 MiB buffer (this also keeps fuzzing fast).
  return make_reader(detail::memory_source(data), std::move(source_name), options,
                     std::min(kDefaultBlock, data.size() + 1));
}

}  // namespace slipway::table
