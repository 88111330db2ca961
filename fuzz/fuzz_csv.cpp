// Feeds arbitrary bytes to the CSV reader (whole-buffer and split into ranges) and the type
// inferrer. The first byte picks options so delimiters, quoting and headers vary.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "slipway/table/infer.h"
#include "slipway/table/reader.h"

using namespace slipway::table;

namespace {

void drain(RecordReader& reader) {
  TypeInferrer inferrer(reader.column_names(), reader.source_name());
  RecordBatch batch;
  for (;;) {
    auto more = reader.next(batch, 7);
    if (!more.ok() || !*more) break;
    for (size_t c = 0; c < batch.columns.size(); ++c) {
      if (batch.columns[c].size() != batch.num_rows || batch.nulls[c].size() != batch.num_rows) __builtin_trap();
    }
    inferrer.add(batch);
  }
  (void)inferrer.finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  CsvOptions options;
  options.delimiter = (flags & 1) ? ';' : ',';
  options.quote = (flags & 2) ? '\0' : '"';
  options.header = (flags & 4) == 0;
  options.validate_utf8 = (flags & 8) == 0;
  options.max_field_bytes = (flags & 16) ? 8 : 1024;

  auto whole = open_csv_buffer(text, "fuzz.csv", options);
  if (!whole.ok()) return 0;
  drain(**whole);

  std::vector<std::string> names = (*whole)->column_names();
  for (const auto& split_count : {2u, 5u}) {
    auto splits = csv_split_points(text, split_count, options);
    for (size_t i = 0; i < splits.size(); ++i) {
      size_t end = i + 1 < splits.size() ? splits[i + 1].offset : text.size();
      if (splits[i].offset > end || end > text.size()) __builtin_trap();
      auto part = open_csv_buffer(text.substr(splits[i].offset, end - splits[i].offset), "fuzz.csv", options, &names,
                                  splits[i].first_line, splits[i].first_row);
      if (part.ok()) drain(**part);
    }
  }
  return 0;
}
