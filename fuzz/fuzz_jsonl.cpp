// Feeds arbitrary bytes to the JSON Lines reader and the type inferrer.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "slipway/table/infer.h"
#include "slipway/table/reader.h"

using namespace slipway::table;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  JsonlOptions options;
  options.header_scan_rows = 1 + data[0] % 4;
  options.max_line_bytes = 4096;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto reader = open_jsonl_buffer(text, "fuzz.jsonl", options);
  if (!reader.ok()) return 0;
  TypeInferrer inferrer((*reader)->column_names(), (*reader)->source_name());
  RecordBatch batch;
  for (;;) {
    auto more = (*reader)->next(batch, 3);
    if (!more.ok() || !*more) break;
    for (size_t c = 0; c < batch.columns.size(); ++c) {
      if (batch.columns[c].size() != batch.num_rows) __builtin_trap();
    }
    inferrer.add(batch);
  }
  (void)inferrer.finish();
  return 0;
}
