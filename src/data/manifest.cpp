// Version manifest <-> JSON. The JSON is canonical (nlohmann orders object keys) so the version id,
// the SHA-256 of this text, is a function of the manifest's content alone.
#include "slipway/data/dataset.h"

#include "slipway/core/hash.h"

namespace slipway::data {

namespace {

using nlohmann::json;

json schema_to_json(const table::TableSchema& schema) {
  json cols = json::array();
  for (const auto& c : schema.columns) {
    cols.push_back({{"name", c.name}, {"type", table::data_type_name(c.type)}, {"nullable", c.nullable}});
  }
  return cols;
}

json read_options_to_json(const ReadOptions& r) {
  return {{"format", r.format},
          {"delimiter", std::string(1, r.csv.delimiter)},
          {"quote", std::string(1, r.csv.quote)},
          {"header", r.csv.header},
          {"null_tokens", r.csv.null_tokens}};
}

// Typed field access with messages that name the field.
template <typename T>
Status get_field(const json& j, const char* key, T* out, const char* where) {
  auto it = j.find(key);
  if (it == j.end()) return make_error(ErrorCode::kCorrupt, "{}: missing field '{}'", where, key);
  try {
    *out = it->get<T>();
  } catch (const json::exception&) {
    return make_error(ErrorCode::kCorrupt, "{}: field '{}' has the wrong type", where, key);
  }
  return {};
}

}  // namespace

Result<std::string> file_id_from_chunks(const std::vector<ChunkRef>& chunks) {
  static constexpr std::string_view kPrefix = "slipway.file.v2\n";
  Sha256 hash;
  hash.update(kPrefix);
  for (const ChunkRef& c : chunks) {
    SLIPWAY_ASSIGN_OR_RETURN(Sha256Digest digest, digest_from_hex(c.id));
    unsigned char size[8];
    for (int i = 0; i < 8; ++i) size[i] = static_cast<unsigned char>(c.size >> (8 * i));
    hash.update(digest.data(), digest.size());
    hash.update(size, sizeof size);
  }
  return to_hex(hash.finish());
}

json to_json(const VersionManifest& m) {
  json files = json::array();
  for (const auto& f : m.files) {
    json chunks = json::array();
    for (const auto& c : f.chunks) chunks.push_back(json::array({c.id, c.size}));
    files.push_back({{"name", f.name},
                     {"format", f.format},
                     {"compression", f.compression},
                     {"size", f.size},
                     {m.format_version >= 2 ? "id" : "sha256", f.sha256},
                     {"chunks", chunks},
                     {"rows", f.rows},
                     {"bad_records", f.bad_records}});
  }
  json j = {{"format_version", m.format_version},
            {"kind", "slipway.dataset_version"},
            {"dataset", m.dataset},
            {"parent", m.parent ? json(*m.parent) : json(nullptr)},
            {"created_at", m.created_at},
            {"author", m.author},
            {"message", m.message},
            {"source", m.source},
            {"command", m.command},
            {"slipway_version", m.slipway_version},
            {"read", read_options_to_json(m.read)},
            {"files", files},
            {"quarantine", m.quarantine ? json(*m.quarantine) : json(nullptr)},
            {"rows", m.rows},
            {"bytes", m.bytes},
            {"schema", schema_to_json(m.schema)},
            {"profile", to_json(m.profile)}};
  return j;
}

std::string canonical_manifest_text(const VersionManifest& manifest) { return to_json(manifest).dump(); }

Result<VersionManifest> manifest_from_json(const json& j) {
  const char* where = "dataset manifest";
  VersionManifest m;
  if (!j.is_object()) return make_error(ErrorCode::kCorrupt, "{}: not a JSON object", where);
  SLIPWAY_RETURN_IF_ERROR(get_field(j, "format_version", &m.format_version, where));
  if (m.format_version > kManifestFormatVersion) {
    return make_error(ErrorCode::kUnsupportedVersion,
                      "dataset manifest format {} was written by a newer slipway (this one reads up to {}); "
                      "upgrade slipway",
                      m.format_version, kManifestFormatVersion);
  }
  SLIPWAY_RETURN_IF_ERROR(get_field(j, "dataset", &m.dataset, where));
  if (j.contains("parent") && !j["parent"].is_null()) m.parent = j["parent"].get<std::string>();
  SLIPWAY_RETURN_IF_ERROR(get_field(j, "created_at", &m.created_at, where));
  SLIPWAY_RETURN_IF_ERROR(get_field(j, "author", &m.author, where));
  SLIPWAY_RETURN_IF_ERROR(get_field(j, "message", &m.message, where));
  SLIPWAY_RETURN_IF_ERROR(get_field(j, "source", &m.source, where));
  SLIPWAY_RETURN_IF_ERROR(get_field(j, "command", &m.command, where));
  SLIPWAY_RETURN_IF_ERROR(get_field(j, "slipway_version", &m.slipway_version, where));
  SLIPWAY_RETURN_IF_ERROR(get_field(j, "rows", &m.rows, where));
  SLIPWAY_RETURN_IF_ERROR(get_field(j, "bytes", &m.bytes, where));
  if (j.contains("quarantine") && !j["quarantine"].is_null()) m.quarantine = j["quarantine"].get<std::string>();

  try {
    const json& r = j.at("read");
    m.read.format = r.at("format").get<std::string>();
    auto delim = r.at("delimiter").get<std::string>();
    auto quote = r.at("quote").get<std::string>();
    if (delim.size() != 1 || quote.size() != 1) return make_error(ErrorCode::kCorrupt, "{}: bad read options", where);
    m.read.csv.delimiter = delim[0];
    m.read.csv.quote = quote[0];
    m.read.csv.header = r.at("header").get<bool>();
    m.read.csv.null_tokens = r.at("null_tokens").get<std::vector<std::string>>();

    for (const auto& f : j.at("files")) {
      FileEntry e;
      e.name = f.at("name").get<std::string>();
      e.format = f.at("format").get<std::string>();
      e.compression = f.at("compression").get<std::string>();
      e.size = f.at("size").get<uint64_t>();
      e.sha256 = f.at(m.format_version >= 2 ? "id" : "sha256").get<std::string>();
      e.rows = f.at("rows").get<uint64_t>();
      e.bad_records = f.at("bad_records").get<uint64_t>();
      for (const auto& c : f.at("chunks")) e.chunks.push_back({c.at(0).get<std::string>(), c.at(1).get<uint64_t>()});
      m.files.push_back(std::move(e));
    }
    for (const auto& c : j.at("schema")) {
      table::ColumnSpec spec;
      spec.name = c.at("name").get<std::string>();
      auto type = table::parse_data_type(c.at("type").get<std::string>());
      if (!type.ok()) return make_error(ErrorCode::kCorrupt, "{}: {}", where, type.status().message());
      spec.type = *type;
      spec.nullable = c.at("nullable").get<bool>();
      m.schema.columns.push_back(std::move(spec));
    }
  } catch (const json::exception& e) {
    return make_error(ErrorCode::kCorrupt, "{}: {}", where, e.what());
  }
  auto profile = profile_from_json(j.at("profile"));
  if (!profile.ok()) return profile.status().with_context(where);
  m.profile = std::move(profile).value();
  return m;
}

}  // namespace slipway::data
