// Reading a stored version back as rows: each file is restored to the store's temp folder
// (bounded memory whatever its size), read with the options it was ingested with, then removed.
#include <unistd.h>

#include <fstream>

#include "slipway/core/fs.h"
#include "slipway/data/dataset.h"

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
    std::unique_ptr<table::RecordReader> reader;
    if (file.format == "jsonl") {
      SLIPWAY_ASSIGN_OR_RETURN(reader, table::open_jsonl(tmp, table::JsonlOptions{}));
    } else {
      SLIPWAY_ASSIGN_OR_RETURN(reader, table::open_csv(tmp, manifest.read.csv));
    }
    table::RecordBatch batch;
    while (true) {
      SLIPWAY_ASSIGN_OR_RETURN(bool more, reader->next(batch, 65536));
      if (!more) break;
      SLIPWAY_RETURN_IF_ERROR(on_batch(batch));
    }
  }
  return {};
}

}  // namespace slipway::data
