#include "slipway/data/dataset.h"

#include <fstream>

#include "slipway/core/fs.h"
#include "slipway/core/hash.h"

namespace slipway::data {

namespace {

std::string now_iso8601() {
  auto now = std::chrono::system_clock::now();
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  return table::format_timestamp(micros);
}

Result<bool> dataset_exists(store::Database& db, std::string_view name) {
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("SELECT 1 FROM datasets WHERE name = ?"));
  stmt.bind(1, name);
  return stmt.step();
}

Status no_such_dataset(store::Database& db, std::string_view name) {
  std::string known;
  auto stmt = db.prepare("SELECT name FROM datasets ORDER BY name");
  if (stmt.ok()) {
    while (true) {
      auto row = stmt->step();
      if (!row.ok() || !*row) break;
      known += (known.empty() ? "" : ", ") + stmt->column_text(0);
    }
  }
  if (known.empty()) {
    return make_error(ErrorCode::kNotFound, "no dataset named '{}' (the store has none yet; create one with `slipway data ingest FILE --dataset {}`)", name, name);
  }
  return make_error(ErrorCode::kNotFound, "no dataset named '{}' (datasets: {})", name, known);
}

VersionSummary read_summary(const store::Statement& s) {
  VersionSummary v;
  v.id = s.column_text(0);
  v.dataset = s.column_text(1);
  v.parent = s.column_optional_text(2);
  v.created_at = s.column_text(3);
  v.author = s.column_text(4);
  v.message = s.column_text(5);
  v.source = s.column_text(6);
  v.rows = static_cast<uint64_t>(s.column_int64(7));
  v.bytes = static_cast<uint64_t>(s.column_int64(8));
  v.files = static_cast<uint64_t>(s.column_int64(9));
  return v;
}

constexpr const char* kSummaryColumns =
    "id, dataset, parent, created_at, author, message, source, rows, bytes, files";

Status attach_refs(store::Database& db, VersionSummary& v) {
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt,
                           db.prepare("SELECT name FROM dataset_refs WHERE version_id = ? ORDER BY kind, name"));
  stmt.bind(1, v.id);
  while (true) {
    SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    v.refs.push_back(stmt.column_text(0));
  }
  return {};
}

}  // namespace

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-';
    if (!ok) return false;
  }
  return name != "." && name != "..";
}

Result<std::string> Datasets::resolve(std::string_view spec) {
  auto at = spec.find('@');
  std::string_view name = spec.substr(0, at);
  std::string_view ref = at == std::string_view::npos ? std::string_view("main") : spec.substr(at + 1);
  if (!valid_name(name)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "'{}' is not a dataset reference (expected NAME or NAME@REF, where REF is a branch, a tag or a "
                      "version id)",
                      spec);
  }
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(bool exists, dataset_exists(db, name));
  if (!exists) return no_such_dataset(db, name);
  if (ref.empty()) return make_error(ErrorCode::kInvalidArgument, "'{}': empty ref after '@'", spec);

  SLIPWAY_ASSIGN_OR_RETURN(auto by_ref, db.prepare("SELECT version_id FROM dataset_refs WHERE dataset = ? AND name = ?"));
  by_ref.bind(1, name).bind(2, ref);
  SLIPWAY_ASSIGN_OR_RETURN(bool found, by_ref.step());
  if (found) return by_ref.column_text(0);

  bool hexish = ref.size() >= 4 && ref.size() <= 64 &&
                ref.find_first_not_of("0123456789abcdef") == std::string_view::npos;
  if (hexish) {
    SLIPWAY_ASSIGN_OR_RETURN(auto by_id, db.prepare("SELECT id FROM dataset_versions WHERE dataset = ? AND "
                                                    "substr(id, 1, ?) = ? ORDER BY seq LIMIT 3"));
    by_id.bind(1, name).bind(2, static_cast<int64_t>(ref.size())).bind(3, ref);
    std::vector<std::string> ids;
    while (true) {
      SLIPWAY_ASSIGN_OR_RETURN(bool row, by_id.step());
      if (!row) break;
      ids.push_back(by_id.column_text(0));
    }
    if (ids.size() == 1) return ids[0];
    if (ids.size() > 1) {
      return make_error(ErrorCode::kInvalidArgument,
                        "'{}' matches more than one version of '{}' ({}, {}, ...); give more characters", ref, name,
                        ids[0].substr(0, 12), ids[1].substr(0, 12));
    }
  }
  std::string known;
  SLIPWAY_ASSIGN_OR_RETURN(auto refs_list, refs(name));
  for (const auto& r : refs_list) known += (known.empty() ? "" : ", ") + r.name;
  return make_error(ErrorCode::kNotFound, "dataset '{}' has no branch, tag or version '{}' (refs: {})", name, ref,
                    known.empty() ? "none" : known);
}

Result<VersionManifest> Datasets::load(std::string_view version_id) {
  SLIPWAY_ASSIGN_OR_RETURN(std::string text, store_.objects().get(version_id));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error(ErrorCode::kCorrupt, "manifest of version {} is not valid JSON", version_id);
  return manifest_from_json(j);
}

Result<VersionSummary> Datasets::summary(std::string_view version_id) {
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt,
                           db.prepare(fmt::format("SELECT {} FROM dataset_versions WHERE id = ?", kSummaryColumns)));
  stmt.bind(1, version_id);
  SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (!row) return make_error(ErrorCode::kNotFound, "no dataset version {}", version_id);
  VersionSummary v = read_summary(stmt);
  SLIPWAY_RETURN_IF_ERROR(attach_refs(db, v));
  return v;
}

Result<std::string> Datasets::commit(VersionManifest& manifest, const std::string& branch) {
  if (!valid_name(manifest.dataset)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "'{}' is not a valid dataset name (use letters, digits, '.', '_' and '-', at most 128)",
                      manifest.dataset);
  }
  if (!valid_name(branch)) return make_error(ErrorCode::kInvalidArgument, "'{}' is not a valid branch name", branch);
  auto& db = store_.db();
  // The write lock is taken before reading the branch head, so two concurrent ingests into one
  // branch serialise and each records the other as parent instead of losing a version.
  SLIPWAY_ASSIGN_OR_RETURN(auto txn, db.begin());
  SLIPWAY_ASSIGN_OR_RETURN(auto head_stmt,
                           db.prepare("SELECT version_id, kind FROM dataset_refs WHERE dataset = ? AND name = ?"));
  head_stmt.bind(1, manifest.dataset).bind(2, branch);
  SLIPWAY_ASSIGN_OR_RETURN(bool has_head, head_stmt.step());
  if (has_head) {
    if (head_stmt.column_text(1) != "branch") {
      return make_error(ErrorCode::kInvalidArgument, "'{}' is a tag of dataset '{}', not a branch; tags never move",
                        branch, manifest.dataset);
    }
    manifest.parent = head_stmt.column_text(0);
  } else {
    manifest.parent.reset();
  }
  if (manifest.created_at.empty()) manifest.created_at = now_iso8601();

  std::string text = canonical_manifest_text(manifest);
  SLIPWAY_ASSIGN_OR_RETURN(auto put, store_.objects().put(text));
  const std::string& id = put.id;
  // Every chunk, the quarantine and the manifest become durable before the version is recorded.
  SLIPWAY_RETURN_IF_ERROR(store_.objects().sync());

  std::string now = now_iso8601();
  SLIPWAY_ASSIGN_OR_RETURN(auto ds, db.prepare("INSERT OR IGNORE INTO datasets(name, created_at) VALUES (?, ?)"));
  SLIPWAY_RETURN_IF_ERROR(ds.bind(1, manifest.dataset).bind(2, now).run());

  SLIPWAY_ASSIGN_OR_RETURN(auto exists, db.prepare("SELECT 1 FROM dataset_versions WHERE id = ?"));
  exists.bind(1, id);
  SLIPWAY_ASSIGN_OR_RETURN(bool already, exists.step());
  if (!already) {
    SLIPWAY_ASSIGN_OR_RETURN(
        auto ins, db.prepare("INSERT INTO dataset_versions(id, dataset, parent, created_at, author, message, source, "
                             "rows, bytes, files, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                             "(SELECT COALESCE(MAX(seq), 0) + 1 FROM dataset_versions))"));
    ins.bind(1, id)
        .bind(2, manifest.dataset)
        .bind(3, manifest.parent)
        .bind(4, manifest.created_at)
        .bind(5, manifest.author)
        .bind(6, manifest.message)
        .bind(7, manifest.source)
        .bind(8, static_cast<int64_t>(manifest.rows))
        .bind(9, static_cast<int64_t>(manifest.bytes))
        .bind(10, static_cast<int64_t>(manifest.files.size()));
    SLIPWAY_RETURN_IF_ERROR(ins.run());
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto ref, db.prepare("INSERT INTO dataset_refs(dataset, name, kind, version_id, updated_at) "
                                                "VALUES (?, ?, 'branch', ?, ?) ON CONFLICT(dataset, name) DO UPDATE "
                                                "SET version_id = excluded.version_id, updated_at = excluded.updated_at"));
  SLIPWAY_RETURN_IF_ERROR(ref.bind(1, manifest.dataset).bind(2, branch).bind(3, id).bind(4, now).run());
  SLIPWAY_RETURN_IF_ERROR(txn.commit());
  return id;
}

Result<std::vector<VersionSummary>> Datasets::log(std::string_view dataset, std::string_view ref) {
  SLIPWAY_ASSIGN_OR_RETURN(std::string head, resolve(fmt::format("{}@{}", dataset, ref)));
  std::vector<VersionSummary> out;
  std::optional<std::string> cur = head;
  while (cur) {
    SLIPWAY_ASSIGN_OR_RETURN(auto v, summary(*cur));
    cur = v.parent;
    out.push_back(std::move(v));
  }
  return out;
}

Result<std::vector<RefInfo>> Datasets::refs(std::string_view dataset) {
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, store_.db().prepare("SELECT name, kind, version_id FROM dataset_refs WHERE "
                                                          "dataset = ? ORDER BY kind, name"));
  stmt.bind(1, dataset);
  std::vector<RefInfo> out;
  while (true) {
    SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    out.push_back({stmt.column_text(0), stmt.column_text(1), stmt.column_text(2)});
  }
  return out;
}

Result<std::vector<DatasetSummary>> Datasets::list() {
  auto& db = store_.db();
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("SELECT d.name, (SELECT COUNT(*) FROM dataset_versions v WHERE "
                                                 "v.dataset = d.name) FROM datasets d ORDER BY d.name"));
  std::vector<DatasetSummary> out;
  while (true) {
    SLIPWAY_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    DatasetSummary d;
    d.name = stmt.column_text(0);
    d.versions = static_cast<uint64_t>(stmt.column_int64(1));
    out.push_back(std::move(d));
  }
  for (auto& d : out) {
    SLIPWAY_ASSIGN_OR_RETURN(d.refs, refs(d.name));
    for (const auto& r : d.refs) {
      if (r.name == "main") {
        SLIPWAY_ASSIGN_OR_RETURN(auto head, summary(r.version_id));
        d.head = std::move(head);
      }
    }
  }
  return out;
}

namespace {

// A new branch or tag of `dataset` at the version `spec` resolves to; names are unique per dataset.
Status create_ref(Datasets& datasets, store::Database& db, std::string_view dataset, std::string_view name,
                  std::string_view kind, std::string_view spec) {
  if (!valid_name(name)) return make_error(ErrorCode::kInvalidArgument, "'{}' is not a valid {} name", name, kind);
  SLIPWAY_ASSIGN_OR_RETURN(std::string id, datasets.resolve(spec));
  SLIPWAY_ASSIGN_OR_RETURN(auto stmt, db.prepare("INSERT INTO dataset_refs(dataset, name, kind, version_id, "
                                                 "updated_at) VALUES (?, ?, ?, ?, ?)"));
  Status st = stmt.bind(1, dataset).bind(2, name).bind(3, kind).bind(4, id).bind(5, now_iso8601()).run();
  if (st.code() == ErrorCode::kAlreadyExists) {
    return make_error(ErrorCode::kAlreadyExists, "dataset '{}' already has a ref named '{}'{}", dataset, name,
                      kind == "tag" ? " (tags never move)" : "");
  }
  return st;
}

}  // namespace

Status Datasets::create_branch(std::string_view dataset, std::string_view branch, std::string_view from_spec) {
  return create_ref(*this, store_.db(), dataset, branch, "branch", from_spec);
}

Status Datasets::create_tag(std::string_view dataset, std::string_view tag, std::string_view spec) {
  return create_ref(*this, store_.db(), dataset, tag, "tag", spec);
}

Status Datasets::checkout(std::string_view version_id, const std::filesystem::path& dir) {
  SLIPWAY_ASSIGN_OR_RETURN(auto manifest, load(version_id));
  for (const auto& file : manifest.files) {
    std::filesystem::path out = dir / file.name;
    SLIPWAY_RETURN_IF_ERROR(make_directories(out.parent_path()));
    std::filesystem::path tmp = out;
    tmp += ".slipway-partial";
    {
      std::ofstream os(tmp, std::ios::binary | std::ios::trunc);
      if (!os) return make_error(ErrorCode::kIoError, "cannot write {}", tmp.string());
      // Every chunk is verified against its id as it is read (ObjectStore::get), so format 2 checks
      // the sizes and recomputes the file id from the chunk list; format 1 hashes the whole file.
      const bool whole_file_hash = manifest.format_version < 2;
      Sha256 hash;
      bool sizes_match = true;
      for (const auto& chunk : file.chunks) {
        SLIPWAY_ASSIGN_OR_RETURN(std::string bytes, store_.objects().get(chunk.id));
        if (whole_file_hash) hash.update(bytes);
        sizes_match &= bytes.size() == chunk.size;
        os.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      }
      os.flush();
      if (!os) return make_error(ErrorCode::kIoError, "cannot write {}", tmp.string());
      bool matches = sizes_match;
      if (whole_file_hash) {
        matches &= to_hex(hash.finish()) == file.sha256;
      } else {
        auto id = file_id_from_chunks(file.chunks);
        matches &= id.ok() && *id == file.sha256;
      }
      if (!matches) {
        std::filesystem::remove(tmp);
        return make_error(ErrorCode::kCorrupt, "{}: restored bytes do not match the recorded {}", file.name,
                          whole_file_hash ? "SHA-256" : "file id");
      }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, out, ec);
    if (ec) return make_error(ErrorCode::kIoError, "cannot rename {} to {}: {}", tmp.string(), out.string(), ec.message());
  }
  if (manifest.quarantine) {
    SLIPWAY_ASSIGN_OR_RETURN(std::string bad, store_.objects().get(*manifest.quarantine));
    SLIPWAY_RETURN_IF_ERROR(write_file_atomic(dir / "_quarantine.jsonl", bad));
  }
  return {};
}

std::vector<store::FsckProblem> Datasets::fsck() {
  std::vector<store::FsckProblem> problems;
  auto& db = store_.db();
  auto stmt = db.prepare("SELECT id, dataset, rows FROM dataset_versions ORDER BY seq");
  if (!stmt.ok()) return {{stmt.status().message(), "metadata.db"}};
  while (true) {
    auto row = stmt->step();
    if (!row.ok()) {
      problems.push_back({row.status().message(), "metadata.db"});
      break;
    }
    if (!*row) break;
    std::string id = stmt->column_text(0);
    std::string where = fmt::format("dataset {} version {}", stmt->column_text(1), id.substr(0, 12));
    auto manifest = load(id);
    if (!manifest.ok()) {
      problems.push_back({manifest.status().message(), where});
      continue;
    }
    if (manifest->rows != static_cast<uint64_t>(stmt->column_int64(2))) {
      problems.push_back({"row count in the database differs from the manifest", where});
    }
    for (const auto& file : manifest->files) {
      uint64_t total = 0;
      for (const auto& chunk : file.chunks) {
        total += chunk.size;
        if (!store_.objects().contains(chunk.id)) {
          problems.push_back({fmt::format("chunk {} of {} is missing", chunk.id, file.name), where});
        }
      }
      if (total != file.size) problems.push_back({fmt::format("chunks of {} do not add up to its size", file.name), where});
      if (manifest->format_version >= 2) {
        auto file_id = file_id_from_chunks(file.chunks);
        if (!file_id.ok() || *file_id != file.sha256) {
          problems.push_back({fmt::format("id of {} does not match its chunk list", file.name), where});
        }
      }
    }
    if (manifest->quarantine && !store_.objects().contains(*manifest->quarantine)) {
      problems.push_back({"quarantine object is missing", where});
    }
  }
  auto refs_stmt = db.prepare(
      "SELECT r.dataset, r.name FROM dataset_refs r LEFT JOIN dataset_versions v ON v.id = r.version_id WHERE v.id IS "
      "NULL");
  if (refs_stmt.ok()) {
    while (true) {
      auto row = refs_stmt->step();
      if (!row.ok() || !*row) break;
      problems.push_back({fmt::format("ref {}@{} points at a missing version", refs_stmt->column_text(0),
                                      refs_stmt->column_text(1)),
                          "metadata.db"});
    }
  }
  return problems;
}

}  // namespace slipway::data
