// Run artifacts: content in the object store (deduplicated, verified on read), an index of
// relative paths per run in the `artifacts` table.
#include "slipway/core/fs.h"
#include "slipway/track/tracking.h"
#include "detail/tracking_internal.h"

namespace slipway::track {

namespace {

Status validate_artifact_path(const std::string& path, bool allow_empty) {
  auto bad = [&](std::string_view why) {
    return make_error(ErrorCode::kInvalidArgument, "invalid artifact path '{}': {}", path, why);
  };
  if (path.empty()) return allow_empty ? Status() : bad("it must not be empty");
  if (path.size() > 1024) return bad("it is longer than 1024 bytes");
  if (path.front() == '/') return bad("it must be relative (no leading '/')");
  if (path.find('\\') != std::string::npos || path.find('\0') != std::string::npos) {
    return bad("it must not contain '\\' or NUL");
  }
  size_t start = 0;
  while (true) {
    size_t end = path.find('/', start);
    std::string_view part = std::string_view(path).substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (part.empty()) return bad("it must not contain empty parts ('//' or a trailing '/')");
    if (part == "..") return bad("it must not contain '..'");
    if (part == ".") return bad("it must not contain '.' parts");
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return {};
}

}  // namespace

Status Tracking::put_artifact(const std::string& run_id, const std::string& path, std::string_view content) {
  SLIPWAY_RETURN_IF_ERROR(validate_artifact_path(path, false));
  auto& db = store_.db();
  {
    // Fail before writing the object when the run cannot take it (the check is repeated below,
    // inside the transaction, for the race).
    detail::ReadSnapshot snapshot(db);
    SLIPWAY_RETURN_IF_ERROR(detail::writable_run(db, run_id).status());
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto put, store_.objects().put(content));
  // Durable before the index refers to it.
  if (put.written) SLIPWAY_RETURN_IF_ERROR(store_.objects().sync());

  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_RETURN_IF_ERROR(detail::writable_run(db, run_id).status());
  // A path is either a file or a folder: no file may sit at one of its parent folders, and it
  // may not name a folder that holds files.
  SLIPWAY_ASSIGN_OR_RETURN(auto file_at, db.prepare("SELECT 1 FROM artifacts WHERE run_id = ? AND path = ?"));
  for (size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    const std::string parent = path.substr(0, slash);
    file_at.bind(1, run_id).bind(2, parent);
    SLIPWAY_ASSIGN_OR_RETURN(bool row, file_at.step());
    file_at.reset();
    if (row) {
      return make_error(ErrorCode::kInvalidArgument, "artifact path '{}': '{}' is already a file of run {}", path,
                        parent, run_id);
    }
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto folder, db.prepare("SELECT 1 FROM artifacts WHERE run_id = ? AND path > ? AND path < ? LIMIT 1"));
  folder.bind(1, run_id).bind(2, path + "/").bind(3, path + "0");  // '0' is the character after '/'
  SLIPWAY_ASSIGN_OR_RETURN(bool is_folder, folder.step());
  if (is_folder) {
    return make_error(ErrorCode::kInvalidArgument, "artifact path '{}' is a folder of run {}", path, run_id);
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto upsert, db.prepare("INSERT INTO artifacts (run_id, path, object_id, size) VALUES (?, ?, ?, ?) "
                                                   "ON CONFLICT (run_id, path) DO UPDATE SET object_id = excluded.object_id, "
                                                   "size = excluded.size"));
  upsert.bind(1, run_id).bind(2, path).bind(3, put.id).bind(4, static_cast<int64_t>(content.size()));
  SLIPWAY_RETURN_IF_ERROR(upsert.run());
  SLIPWAY_RETURN_IF_ERROR(detail::touch_run(db, run_id, detail::now_ms()));
  return txn.commit();
}

Status Tracking::put_artifact_file(const std::string& run_id, const std::string& path, const std::filesystem::path& file) {
  SLIPWAY_ASSIGN_OR_RETURN(auto mapped, MappedFile::open(file));
  return put_artifact(run_id, path, mapped.view());
}

Result<std::string> Tracking::get_artifact(const std::string& run_id, const std::string& path) {
  SLIPWAY_RETURN_IF_ERROR(validate_artifact_path(path, false));
  auto& db = store_.db();
  std::string object_id;
  {
    detail::ReadSnapshot snapshot(db);
    SLIPWAY_RETURN_IF_ERROR(detail::load_run_info(db, run_id).status());
    SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("SELECT object_id FROM artifacts WHERE run_id = ? AND path = ?"));
    stmt.bind(1, run_id).bind(2, path);
    SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) return make_error(ErrorCode::kNotFound, "run {} has no artifact '{}'", run_id, path);
    object_id = stmt.column_text(0);
  }
  return store_.objects().get(object_id);
}

Result<std::vector<ArtifactEntry>> Tracking::list_artifacts(const std::string& run_id, const std::string& dir) {
  std::string folder = dir;
  while (!folder.empty() && folder.back() == '/') folder.pop_back();
  SLIPWAY_RETURN_IF_ERROR(validate_artifact_path(folder, true));
  auto& db = store_.db();
  detail::ReadSnapshot snapshot(db);
  SLIPWAY_RETURN_IF_ERROR(detail::load_run_info(db, run_id).status());
  const std::string prefix = folder.empty() ? "" : folder + "/";
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare(folder.empty()
                                                     ? "SELECT path, size FROM artifacts WHERE run_id = ? ORDER BY path"
                                                     : "SELECT path, size FROM artifacts WHERE run_id = ? AND path > ? "
                                                       "AND path < ? ORDER BY path"));
  stmt.bind(1, run_id);
  if (!folder.empty()) stmt.bind(2, prefix).bind(3, folder + "0");
  std::vector<ArtifactEntry> out;
  while (true) {
    SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    std::string path = stmt.column_text(0);
    std::string_view rest = std::string_view(path).substr(prefix.size());
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos) {
      out.push_back({path, false, stmt.column_int64(1)});
    } else {
      std::string sub = prefix + std::string(rest.substr(0, slash));
      if (out.empty() || out.back().path != sub || !out.back().is_dir) out.push_back({sub, true, 0});
    }
  }
  return out;
}

}  // namespace slipway::track
