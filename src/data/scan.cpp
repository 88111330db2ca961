// Reading a stored version back as rows: each file is restored to the store's temp folder
// (bounded memory whatever its size), read with the options it was ingested with, then removed.
#include <unistd.h>

#include <fstream>

#include "slipway/core/fs.h"
#include "slipway/data/dataset.h"
#include "detail/bad_rows.h"

namespace slipway::data {

Status scan_version(store::Store& store, const VersionManifest& manifest,
                    const std::function<Status(const table::RecordBatch&)>& on_batch) {
  for (const auto& file : manifest.files) {
    std::filesystem::path tmp =
        store.temp_dir() / fmt::format("scan-{}-{}-{}", ::getpid(), file.sha256.substr(0, 16),
                                       std::filesystem::path(file.name).filename().string());
    struct Remove {
      std::filesystem::path p;
      ~Remove() {
        std::error_code ec;
        std::filesystem::remove(p, ec);
      }
    } remove{tmp};
    {
      std::ofstream os(tmp, std::ios::binary | std::ios::trunc);
      if (!os) return make_error(ErrorCode::kIoError, "cannot write {}", tmp.string());
      for (const auto& chunk : file.chunks) {
        SLIPWAY_ASSIGN_OR_RETURN(std::string bytes, store.objects().get(chunk.id));
        os.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      }
      if (!os) return make_error(ErrorCode::kIoError, "cannot write {}", tmp.string());
    }
    // A version ingested with --on-error skip|quarantine has bad records: the reader skips the
    // malformed ones and rows whose values break the recorded types are dropped, exactly as at ingest.
    const bool skip_bad = file.bad_records > 0;
    table::BadRecordHandler ignore;
    if (skip_bad) ignore = [](const table::BadRecord&) {};
    std::unique_ptr<table::RecordReader> reader;
    if (file.format == "jsonl") {
      table::JsonlOptions jsonl;
      jsonl.on_bad_record = ignore;
      SLIPWAY_ASSIGN_OR_RETURN(reader, table::open_jsonl(tmp, jsonl));
    } else {
      table::CsvOptions csv = manifest.read.csv;
      csv.on_bad_record = ignore;
      SLIPWAY_ASSIGN_OR_RETURN(reader, table::open_csv(tmp, csv));
    }
    detail::PinnedTypes types;
    if (skip_bad) {
      for (const auto& name : reader->column_names()) {
        auto idx = manifest.schema.index_of(name);
        types.by_column.push_back(idx ? std::optional(manifest.schema.columns[*idx].type) : std::nullopt);
        types.any |= idx.has_value();
      }
    }
    table::RecordBatch batch;
    while (true) {
      SLIPWAY_ASSIGN_OR_RETURN(bool more, reader->next(batch, 65536));
      if (!more) break;
      if (skip_bad) detail::drop_rows_with_bad_values(batch, types, [](size_t, size_t) {});
      if (batch.num_rows > 0) SLIPWAY_RETURN_IF_ERROR(on_batch(batch));
    }
  }
  return {};
}

}  // namespace slipway::data
