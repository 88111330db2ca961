// The model registry over HTTP: slipway's own routes under /api/v1/models (docs/api/
// tracking.openapi.yaml, docs/registry.md) and MLflow's model-registry routes beside its tracking
// routes under /api/2.0/mlflow/ and /ajax-api/2.0/mlflow/ (mlflow/protos/model_registry.proto in
// its JSON mapping), so MlflowClient's registry calls work unmodified. Both translate to
// slipway/registry/registry.h at the edge. Who made a change: the user of HTTP Basic auth (what
// MLFLOW_TRACKING_USERNAME sends), else "anonymous"; why: the "reason" parameter, else the
// X-Slipway-Reason header, else "METHOD PATH".
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include <nlohmann/json.hpp>

#include "detail/errors.h"
#include "detail/tracking_pool.h"
#include "slipway/registry/registry.h"

namespace slipway::server::detail {

namespace {

using nlohmann::json;
using registry::Registry;

// ---- Who and why ----

std::string base64_decode_lenient(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : in) {
    int v = value(c);
    if (v < 0) break;
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return out;
}

registry::Actor actor_for(const Request& request, const Params& params) {
  registry::Actor actor{"anonymous", ""};
  std::string_view auth = request.header("Authorization");
  if (auth.size() > 6 && (auth.substr(0, 6) == "Basic " || auth.substr(0, 6) == "basic ")) {
    std::string decoded = base64_decode_lenient(auth.substr(6));
    std::string user = decoded.substr(0, decoded.find(':'));
    if (!user.empty()) actor.user = user;
  }
  auto reason = params.optional_string("reason");
  if (reason.ok() && *reason && !(*reason)->empty()) {
    actor.reason = **reason;
  } else if (std::string_view header = request.header("X-Slipway-Reason"); !header.empty()) {
    actor.reason = std::string(header);
  } else {
    actor.reason = std::string(method_name(request.method)) + " " + request.path;
  }
  return actor;
}

// ---- Glue: lease a store, take the write lock for writes, map errors once ----

using RegistryBody = std::function<Result<std::string>(const Request&, const Params&, Registry&)>;

// tracking_raw_handler hands out a Tracking, not the store the registry needs: lease directly.
Handler leased(TrackingPool& pool, Access access, RegistryBody body, bool raw_body = false) {
  return [&pool, access, body = std::move(body), raw_body](const Request& request, Response& response) {
    // A raw body (an uploaded bundle) leaves the parameters to the query string.
    auto query_params = [&request] {
      json query = json::object();
      for (auto& [k, v] : parse_query(request.query)) query[k] = v;
      return Params(std::move(query));
    };
    Result<Params> params = raw_body ? Result<Params>(query_params()) : Params::from_request(request);
    if (!params.ok()) {
      response = error_response(params.status());
      return;
    }
    auto lease = pool.acquire();
    if (!lease.ok()) {
      response = error_response(lease.status());
      return;
    }
    std::unique_lock<std::mutex> writing;
    if (access == Access::kWrite) writing = std::unique_lock<std::mutex>(pool.write_mutex());
    Registry reg(lease->store());
    Result<std::string> out = body(request, *params, reg);
    if (!out.ok()) {
      response = error_response(out.status());
      return;
    }
    response = ok_json(std::move(*out));
  };
}

// ---- Shared parameter readers ----

Result<int64_t> version_param(const Params& p, std::string_view name = "version") {
  SLIPWAY_ASSIGN_OR_RETURN(int64_t v, p.required_int64(name));
  if (v <= 0) return make_error(ErrorCode::kInvalidArgument, "'{}' must be a positive version number, got {}", name, v);
  return v;
}

Result<int64_t> path_version(const Request& request) {
  const std::string& text = request.param("version");
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || v <= 0) {
    return make_error(ErrorCode::kInvalidArgument, "model version '{}' in the path is not a positive integer", text);
  }
  return v;
}

Result<std::map<std::string, std::string>> tag_map(const Params& p) {
  SLIPWAY_ASSIGN_OR_RETURN(auto list, p.key_values("tags"));
  return std::map<std::string, std::string>(list.begin(), list.end());
}

// ======================= MLflow's registry routes =======================

json mlflow_tags(const std::map<std::string, std::string>& tags) {
  json out = json::array();
  for (const auto& [k, v] : tags) out.push_back({{"key", k}, {"value", v}});
  return out;
}

json mlflow_version(const registry::ModelVersion& v) {
  json j = {{"name", v.name},
            {"version", std::to_string(v.version)},
            {"creation_timestamp", v.creation_time_ms},
            {"last_updated_timestamp", v.last_updated_time_ms},
            {"user_id", v.user},
            {"current_stage", v.archived ? "Archived" : "None"},
            {"description", v.description},
            {"source", v.source},
            {"run_id", v.run_id.value_or("")},
            {"status", "READY"},
            {"tags", mlflow_tags(v.tags)},
            {"aliases", v.aliases}};
  if (v.bundle_object_id.empty()) j["status_message"] = "no slipway model bundle: this version cannot be served";
  return j;
}

// Latest version per stage ("None", "Archived"), as MLflow's latest_versions.
Result<json> mlflow_latest(Registry& r, const std::string& name, const std::vector<std::string>& stages) {
  registry::SearchVersionsRequest request;
  request.name = name;
  request.max_results = 1000000;
  SLIPWAY_ASSIGN_OR_RETURN(auto page, r.search_versions(request));
  std::vector<std::string> wanted;
  for (const auto& s : stages) {
    std::string lower = s;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower == "none") wanted.push_back("None");
    else if (lower == "archived") wanted.push_back("Archived");
    else if (lower == "staging" || lower == "production") continue;  // slipway has aliases instead: never matches
    else return make_error(ErrorCode::kInvalidArgument, "Invalid Model Version stage: {}", s);
  }
  if (stages.empty()) wanted = {"None", "Archived"};
  json out = json::array();
  for (const auto& stage : wanted) {
    // Versions come highest first.
    for (const auto& v : page.versions) {
      if ((v.archived ? "Archived" : "None") == stage) {
        out.push_back(mlflow_version(v));
        break;
      }
    }
  }
  return out;
}

Result<json> mlflow_model(Registry& r, const registry::RegisteredModel& m) {
  json aliases = json::array();
  for (const auto& [alias, version] : m.aliases) aliases.push_back({{"alias", alias}, {"version", std::to_string(version)}});
  SLIPWAY_ASSIGN_OR_RETURN(json latest, mlflow_latest(r, m.name, {}));
  return json{{"name", m.name},
              {"creation_timestamp", m.creation_time_ms},
              {"last_updated_timestamp", m.last_updated_time_ms},
              {"description", m.description},
              {"latest_versions", latest},
              {"tags", mlflow_tags(m.tags)},
              {"aliases", aliases}};
}

Result<std::string> model_response(Registry& r, const std::string& name) {
  SLIPWAY_ASSIGN_OR_RETURN(auto m, r.get_model(name));
  SLIPWAY_ASSIGN_OR_RETURN(json j, mlflow_model(r, m));
  return json{{"registered_model", j}}.dump();
}

Result<std::string> version_response(Registry& r, const std::string& name, int64_t version) {
  SLIPWAY_ASSIGN_OR_RETURN(auto v, r.get_version(name, version));
  return json{{"model_version", mlflow_version(v)}}.dump();
}

// MLflow's search filters, the part slipway supports: clauses joined by AND, each
//   name = 'x' | name != 'x' | name LIKE 'x%' | name ILIKE 'x%' | run_id = 'x' | run_id IN ('a', 'b')
//   | tags.key = 'v' (also tags.`key`) | source_path = 'x'
struct Clause {
  std::string field;  // "name", "run_id", "source_path", "tags.<key>"
  std::string op;     // "=", "!=", "LIKE", "ILIKE", "IN"
  std::vector<std::string> values;
};

Result<std::vector<Clause>> parse_filter(std::string_view text) {
  std::vector<Clause> out;
  size_t i = 0;
  auto skip = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  auto bad = [&](std::string_view what) {
    return make_error(ErrorCode::kInvalidArgument, "Invalid filter '{}': {} at position {}", text, what, i);
  };
  auto quoted = [&](std::string& value) -> bool {
    skip();
    if (i >= text.size() || (text[i] != '\'' && text[i] != '"')) return false;
    char q = text[i++];
    size_t end = text.find(q, i);
    if (end == std::string_view::npos) return false;
    value = std::string(text.substr(i, end - i));
    i = end + 1;
    return true;
  };
  skip();
  if (i == text.size()) return out;
  while (true) {
    skip();
    Clause c;
    size_t start = i;
    while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_' || text[i] == '.'))
      ++i;
    c.field = std::string(text.substr(start, i - start));
    if (c.field == "tags." || c.field == "tag.") {
      std::string key;
      if (i < text.size() && text[i] == '`') {
        size_t end = text.find('`', i + 1);
        if (end == std::string_view::npos) return bad("unterminated `");
        key = std::string(text.substr(i + 1, end - i - 1));
        i = end + 1;
      } else if (!quoted(key)) {
        return bad("expected a tag key");
      }
      c.field = "tags." + key;
    } else if (c.field.starts_with("tag.")) {
      c.field = "tags." + c.field.substr(4);
    }
    if (c.field != "name" && c.field != "run_id" && c.field != "source_path" && !c.field.starts_with("tags.")) {
      return bad(fmt::format("unsupported attribute '{}' (name, run_id, source_path and tags.KEY are)", c.field));
    }
    skip();
    start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i])) && text[i] != '\'' &&
           text[i] != '"' && text[i] != '(')
      ++i;
    c.op = std::string(text.substr(start, i - start));
    std::transform(c.op.begin(), c.op.end(), c.op.begin(), [](unsigned char ch) { return std::toupper(ch); });
    if (c.op == "IN") {
      skip();
      if (i >= text.size() || text[i] != '(') return bad("expected '(' after IN");
      ++i;
      while (true) {
        std::string v;
        if (!quoted(v)) return bad("expected a quoted value");
        c.values.push_back(v);
        skip();
        if (i < text.size() && text[i] == ',') {
          ++i;
          continue;
        }
        if (i < text.size() && text[i] == ')') {
          ++i;
          break;
        }
        return bad("expected ',' or ')'");
      }
    } else if (c.op == "=" || c.op == "!=" || c.op == "LIKE" || c.op == "ILIKE") {
      std::string v;
      if (!quoted(v)) return bad("expected a quoted value");
      c.values.push_back(v);
    } else {
      return bad(fmt::format("unsupported operator '{}'", c.op));
    }
    out.push_back(std::move(c));
    skip();
    if (i == text.size()) break;
    if (text.size() - i >= 4 && (text.substr(i, 3) == "AND" || text.substr(i, 3) == "and") &&
        std::isspace(static_cast<unsigned char>(text[i + 3]))) {
      i += 3;
      continue;
    }
    return bad("expected AND");
  }
  return out;
}

// SQL LIKE: '%' any run, '_' one character; ILIKE ignores ASCII case.
bool like(std::string_view s, std::string_view pattern, bool ignore_case) {
  auto eq = [&](char a, char b) {
    return ignore_case ? std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b))
                       : a == b;
  };
  size_t si = 0, pi = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < pattern.size() && (pattern[pi] == '_' || (pattern[pi] != '%' && eq(pattern[pi], s[si])))) {
      ++si;
      ++pi;
    } else if (pi < pattern.size() && pattern[pi] == '%') {
      star = pi++;
      mark = si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < pattern.size() && pattern[pi] == '%') ++pi;
  return pi == pattern.size();
}

bool matches(const Clause& c, const std::string* value) {
  if (c.op == "!=") return value == nullptr || *value != c.values[0];
  if (value == nullptr) return false;
  if (c.op == "=") return *value == c.values[0];
  if (c.op == "IN") return std::find(c.values.begin(), c.values.end(), *value) != c.values.end();
  return like(*value, c.values[0], c.op == "ILIKE");
}

struct SearchParams {
  std::vector<Clause> filter;
  size_t max_results;
  size_t offset = 0;
};

Result<SearchParams> search_params(const Params& p, size_t default_max) {
  SearchParams out;
  SLIPWAY_ASSIGN_OR_RETURN(auto filter, p.optional_string("filter"));
  SLIPWAY_ASSIGN_OR_RETURN(out.filter, parse_filter(filter.value_or("")));
  SLIPWAY_ASSIGN_OR_RETURN(auto max_results, p.optional_int64("max_results"));
  out.max_results = max_results && *max_results > 0 ? static_cast<size_t>(*max_results) : default_max;
  SLIPWAY_ASSIGN_OR_RETURN(auto token, p.optional_string("page_token"));
  if (token && !token->empty()) {
    auto offset = parse_int64(*token);
    if (!offset || *offset < 0) return make_error(ErrorCode::kInvalidArgument, "Invalid page token '{}'", *token);
    out.offset = static_cast<size_t>(*offset);
  }
  return out;
}

// One page of `all` (already filtered) as `key`, with next_page_token when more remain.
template <typename T, typename ToJson>
Result<std::string> page_of(const std::vector<T>& all, const SearchParams& s, const char* key, ToJson to_json) {
  json items = json::array();
  for (size_t i = s.offset; i < all.size() && i < s.offset + s.max_results; ++i) {
    SLIPWAY_ASSIGN_OR_RETURN(json j, to_json(all[i]));
    items.push_back(std::move(j));
  }
  json out = {{key, items}};
  if (s.offset + s.max_results < all.size()) out["next_page_token"] = std::to_string(s.offset + s.max_results);
  return out.dump();
}

// -- registered models --

Result<std::string> mlflow_create_model(const Request& request, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.required_string("name"));
  SLIPWAY_ASSIGN_OR_RETURN(auto description, p.optional_string("description"));
  SLIPWAY_ASSIGN_OR_RETURN(auto tags, tag_map(p));
  SLIPWAY_ASSIGN_OR_RETURN(auto m, r.create_model(name, description.value_or(""), tags, actor_for(request, p)));
  SLIPWAY_ASSIGN_OR_RETURN(json j, mlflow_model(r, m));
  return json{{"registered_model", j}}.dump();
}

Result<std::string> mlflow_get_model(const Request&, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.required_string("name"));
  return model_response(r, name);
}

Result<std::string> mlflow_search_models(const Request&, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto s, search_params(p, 100));
  registry::SearchModelsRequest request;
  request.max_results = 1000000;
  SLIPWAY_ASSIGN_OR_RETURN(auto page, r.search_models(request));
  std::vector<registry::RegisteredModel> kept;
  for (auto& m : page.models) {
    bool ok = true;
    for (const auto& c : s.filter) {
      const std::string* value = nullptr;
      if (c.field == "name") {
        value = &m.name;
      } else if (c.field.starts_with("tags.")) {
        auto it = m.tags.find(c.field.substr(5));
        if (it != m.tags.end()) value = &it->second;
      } else {
        return make_error(ErrorCode::kInvalidArgument, "Invalid filter: registered models cannot be filtered by {}",
                          c.field);
      }
      ok = ok && matches(c, value);
    }
    if (ok) kept.push_back(std::move(m));
  }
  return page_of(kept, s, "registered_models", [&](const registry::RegisteredModel& m) { return mlflow_model(r, m); });
}

Result<std::string> mlflow_update_model(const Request& request, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.required_string("name"));
  SLIPWAY_ASSIGN_OR_RETURN(auto description, p.optional_string("description"));
  if (description) SLIPWAY_RETURN_IF_ERROR(r.set_model_description(name, *description, actor_for(request, p)));
  return model_response(r, name);
}

Result<std::string> mlflow_rename_model(const Request& request, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.required_string("name"));
  SLIPWAY_ASSIGN_OR_RETURN(auto new_name, p.required_string("new_name"));
  SLIPWAY_RETURN_IF_ERROR(r.rename_model(name, new_name, actor_for(request, p)));
  return model_response(r, new_name);
}

Result<std::string> mlflow_delete_model(const Request& request, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.required_string("name"));
  SLIPWAY_RETURN_IF_ERROR(r.delete_model(name, actor_for(request, p)));
  return std::string("{}");
}

Result<std::string> mlflow_latest_versions(const Request&, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.required_string("name"));
  SLIPWAY_ASSIGN_OR_RETURN(auto stages, p.strings("stages"));
  SLIPWAY_RETURN_IF_ERROR(r.get_model(name).status());
  SLIPWAY_ASSIGN_OR_RETURN(json latest, mlflow_latest(r, name, stages));
  return json{{"model_versions", latest}}.dump();
}

Result<std::string> mlflow_set_model_tag(const Request& request, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.required_string("name"));
  SLIPWAY_ASSIGN_OR_RETURN(auto key, p.required_string("key"));
  SLIPWAY_ASSIGN_OR_RETURN(auto value, p.optional_string("value"));
  SLIPWAY_RETURN_IF_ERROR(r.set_model_tag(name, key, value.value_or(""), actor_for(request, p)));
  return std::string("{}");
}

Result<std::string> mlflow_delete_model_tag(const Request& request, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.required_string("name"));
  SLIPWAY_ASSIGN_OR_RETURN(auto key, p.required_string("key"));
  SLIPWAY_RETURN_IF_ERROR(r.delete_model_tag(name, key, actor_for(request, p)));
  return std::string("{}");
}

// -- aliases --

Result<std::string> mlflow_set_alias(const Request& request, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.required_string("name"));
  SLIPWAY_ASSIGN_OR_RETURN(auto alias, p.required_string("alias"));
  SLIPWAY_ASSIGN_OR_RETURN(int64_t version, version_param(p));
  SLIPWAY_RETURN_IF_ERROR(r.set_alias(name, alias, version, actor_for(request, p)));
  return std::string("{}");
}

Result<std::string> mlflow_delete_alias(const Request& request, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.required_string("name"));
  SLIPWAY_ASSIGN_OR_RETURN(auto alias, p.required_string("alias"));
  SLIPWAY_RETURN_IF_ERROR(r.delete_alias(name, alias, actor_for(request, p)));
  return std::string("{}");
}

Result<std::string> mlflow_get_by_alias(const Request&, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.required_string("name"));
  SLIPWAY_ASSIGN_OR_RETURN(auto alias, p.required_string("alias"));
  SLIPWAY_RETURN_IF_ERROR(registry::validate_model_name(name));
  SLIPWAY_ASSIGN_OR_RETURN(auto ref, r.resolve(name + "@" + alias));
  return version_response(r, ref.name, ref.version);
}

// -- model versions --

Result<std::string> mlflow_create_version(const Request& request, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.required_string("name"));
  SLIPWAY_ASSIGN_OR_RETURN(auto source, p.required_string("source"));
  SLIPWAY_ASSIGN_OR_RETURN(auto run_id, p.optional_string("run_id"));
  SLIPWAY_ASSIGN_OR_RETURN(auto description, p.optional_string("description"));
  SLIPWAY_ASSIGN_OR_RETURN(auto tags, tag_map(p));
  // As MLflow: the registered model must exist first.
  SLIPWAY_RETURN_IF_ERROR(r.get_model(name).status());
  SLIPWAY_ASSIGN_OR_RETURN(auto v, r.version_from_mlflow_source(source, run_id));
  v.name = name;
  v.description = description.value_or("");
  v.tags = tags;
  SLIPWAY_ASSIGN_OR_RETURN(auto created, r.register_version(v, actor_for(request, p)));
  return json{{"model_version", mlflow_version(created)}}.dump();
}

Result<std::string> mlflow_get_version(const Request&, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.required_string("name"));
  SLIPWAY_ASSIGN_OR_RETURN(int64_t version, version_param(p));
  return version_response(r, name, version);
}

Result<std::string> mlflow_search_versions(const Request&, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto s, search_params(p, 10000));
  registry::SearchVersionsRequest request;
  request.max_results = 1000000;
  // Narrow in SQL where the filter allows; the rest is checked below.
  for (const auto& c : s.filter) {
    if (c.field == "name" && c.op == "=") request.name = c.values[0];
    if (c.field == "run_id" && c.op == "=") request.run_id = c.values[0];
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto page, r.search_versions(request));
  std::vector<registry::ModelVersion> kept;
  for (auto& v : page.versions) {
    bool ok = true;
    const std::string run = v.run_id.value_or("");
    for (const auto& c : s.filter) {
      const std::string* value = nullptr;
      if (c.field == "name") {
        value = &v.name;
      } else if (c.field == "run_id") {
        value = &run;
      } else if (c.field == "source_path") {
        value = &v.source;
      } else {
        auto it = v.tags.find(c.field.substr(5));
        if (it != v.tags.end()) value = &it->second;
      }
      ok = ok && matches(c, value);
    }
    if (ok) kept.push_back(std::move(v));
  }
  return page_of(kept, s, "model_versions", [](const registry::ModelVersion& v) -> Result<json> {
    return mlflow_version(v);
  });
}

Result<std::string> mlflow_update_version(const Request& request, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.required_string("name"));
  SLIPWAY_ASSIGN_OR_RETURN(int64_t version, version_param(p));
  SLIPWAY_ASSIGN_OR_RETURN(auto description, p.optional_string("description"));
  if (description) {
    SLIPWAY_RETURN_IF_ERROR(r.set_version_description(name, version, *description, actor_for(request, p)));
  }
  return version_response(r, name, version);
}

Result<std::string> mlflow_transition_stage(const Request& request, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.required_string("name"));
  SLIPWAY_ASSIGN_OR_RETURN(int64_t version, version_param(p));
  SLIPWAY_ASSIGN_OR_RETURN(auto stage, p.required_string("stage"));
  std::string lower = stage;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  SLIPWAY_ASSIGN_OR_RETURN(auto v, r.get_version(name, version));
  if (lower == "archived") {
    if (!v.archived) SLIPWAY_RETURN_IF_ERROR(r.archive_version(name, version, actor_for(request, p)));
  } else if (lower == "none") {
    if (v.archived) SLIPWAY_RETURN_IF_ERROR(r.unarchive_version(name, version, actor_for(request, p)));
  } else {
    return make_error(ErrorCode::kInvalidArgument,
                      "stage '{}' is not supported: slipway versions are 'None' or 'Archived'; use aliases "
                      "(set_registered_model_alias) for staging and production",
                      stage);
  }
  return version_response(r, name, version);
}

Result<std::string> mlflow_delete_version(const Request& request, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.required_string("name"));
  SLIPWAY_ASSIGN_OR_RETURN(int64_t version, version_param(p));
  SLIPWAY_RETURN_IF_ERROR(r.delete_version(name, version, actor_for(request, p)));
  return std::string("{}");
}

Result<std::string> mlflow_download_uri(const Request&, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.required_string("name"));
  SLIPWAY_ASSIGN_OR_RETURN(int64_t version, version_param(p));
  SLIPWAY_ASSIGN_OR_RETURN(auto v, r.get_version(name, version));
  return json{{"artifact_uri", v.source}}.dump();
}

Result<std::string> mlflow_set_version_tag(const Request& request, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.required_string("name"));
  SLIPWAY_ASSIGN_OR_RETURN(int64_t version, version_param(p));
  SLIPWAY_ASSIGN_OR_RETURN(auto key, p.required_string("key"));
  SLIPWAY_ASSIGN_OR_RETURN(auto value, p.optional_string("value"));
  SLIPWAY_RETURN_IF_ERROR(r.set_version_tag(name, version, key, value.value_or(""), actor_for(request, p)));
  return std::string("{}");
}

Result<std::string> mlflow_delete_version_tag(const Request& request, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.required_string("name"));
  SLIPWAY_ASSIGN_OR_RETURN(int64_t version, version_param(p));
  SLIPWAY_ASSIGN_OR_RETURN(auto key, p.required_string("key"));
  SLIPWAY_RETURN_IF_ERROR(r.delete_version_tag(name, version, key, actor_for(request, p)));
  return std::string("{}");
}

// ======================= slipway's /api/v1/models =======================

json v1_version(const registry::ModelVersion& v) {
  json inputs = json::array();
  for (const auto& in : v.signature.inputs) inputs.push_back({{"name", in.name}, {"kind", in.kind}});
  json metrics = json::object();
  for (const auto& [k, value] : v.metrics) {
    if (std::isnan(value)) metrics[k] = "NaN";
    else if (std::isinf(value)) metrics[k] = value > 0 ? "Infinity" : "-Infinity";
    else metrics[k] = value;
  }
  json datasets = json::array();
  for (const auto& d : v.datasets) {
    datasets.push_back({{"dataset", d.dataset}, {"version_id", d.version_id}, {"context", d.context}});
  }
  return {{"name", v.name},
          {"version", v.version},
          {"bundle_object_id", v.bundle_object_id.empty() ? json(nullptr) : json(v.bundle_object_id)},
          {"source", v.source},
          {"run_id", v.run_id ? json(*v.run_id) : json(nullptr)},
          {"description", v.description},
          {"tags", v.tags},
          {"aliases", v.aliases},
          {"archived", v.archived},
          {"user", v.user},
          {"creation_time_ms", v.creation_time_ms},
          {"last_updated_time_ms", v.last_updated_time_ms},
          {"signature", {{"task", v.signature.task}, {"inputs", inputs}, {"outputs", v.signature.outputs}}},
          {"metrics", metrics},
          {"datasets", datasets}};
}

json v1_model(const registry::RegisteredModel& m) {
  return {{"name", m.name},
          {"description", m.description},
          {"tags", m.tags},
          {"aliases", m.aliases},
          {"latest_version", m.latest_version ? json(*m.latest_version) : json(nullptr)},
          {"version_count", m.version_count},
          {"creation_time_ms", m.creation_time_ms},
          {"last_updated_time_ms", m.last_updated_time_ms}};
}

json v1_deployment(const registry::Deployment& d) {
  return {{"name", d.name}, {"version", d.version}, {"endpoint", d.endpoint},
          {"host", d.host}, {"pid", d.pid},         {"started_ms", d.started_ms}};
}

Result<std::string> v1_list_models(const Request&, const Params& p, Registry& r) {
  registry::SearchModelsRequest request;
  SLIPWAY_ASSIGN_OR_RETURN(auto like_pattern, p.optional_string("like"));
  request.name_like = like_pattern.value_or("");
  SLIPWAY_ASSIGN_OR_RETURN(auto max_results, p.optional_int64("max_results"));
  if (max_results && *max_results > 0) request.max_results = static_cast<size_t>(*max_results);
  SLIPWAY_ASSIGN_OR_RETURN(auto token, p.optional_string("page_token"));
  request.page_token = token.value_or("");
  SLIPWAY_ASSIGN_OR_RETURN(auto page, r.search_models(request));
  json models = json::array();
  for (const auto& m : page.models) models.push_back(v1_model(m));
  return json{{"models", models}, {"next_page_token", page.next_page_token}}.dump();
}

Result<std::string> v1_create_model(const Request& request, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto name, p.required_string("name"));
  SLIPWAY_ASSIGN_OR_RETURN(auto description, p.optional_string("description"));
  SLIPWAY_ASSIGN_OR_RETURN(auto tags, tag_map(p));
  SLIPWAY_ASSIGN_OR_RETURN(auto m, r.create_model(name, description.value_or(""), tags, actor_for(request, p)));
  return v1_model(m).dump();
}

Result<std::string> v1_get_model(const Request& request, const Params&, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto m, r.get_model(request.param("name")));
  return v1_model(m).dump();
}

Result<std::string> v1_update_model(const Request& request, const Params& p, Registry& r) {
  std::string name = request.param("name");
  const auto who = actor_for(request, p);
  SLIPWAY_ASSIGN_OR_RETURN(auto description, p.optional_string("description"));
  SLIPWAY_ASSIGN_OR_RETURN(auto new_name, p.optional_string("new_name"));
  SLIPWAY_RETURN_IF_ERROR(r.get_model(name).status());
  if (description) SLIPWAY_RETURN_IF_ERROR(r.set_model_description(name, *description, who));
  if (new_name && *new_name != name) {
    SLIPWAY_RETURN_IF_ERROR(r.rename_model(name, *new_name, who));
    name = *new_name;
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto m, r.get_model(name));
  return v1_model(m).dump();
}

Result<std::string> v1_delete_model(const Request& request, const Params& p, Registry& r) {
  SLIPWAY_RETURN_IF_ERROR(r.delete_model(request.param("name"), actor_for(request, p)));
  return std::string("{}");
}

Result<std::string> v1_put_model_tag(const Request& request, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto value, p.optional_string("value"));
  SLIPWAY_RETURN_IF_ERROR(
      r.set_model_tag(request.param("name"), request.param("key"), value.value_or(""), actor_for(request, p)));
  return std::string("{}");
}

Result<std::string> v1_delete_model_tag(const Request& request, const Params& p, Registry& r) {
  SLIPWAY_RETURN_IF_ERROR(r.delete_model_tag(request.param("name"), request.param("key"), actor_for(request, p)));
  return std::string("{}");
}

Result<std::string> v1_list_versions(const Request& request, const Params& p, Registry& r) {
  registry::SearchVersionsRequest search;
  search.name = request.param("name");
  SLIPWAY_RETURN_IF_ERROR(r.get_model(search.name).status());
  SLIPWAY_ASSIGN_OR_RETURN(auto archived, p.optional_bool("include_archived"));
  search.include_archived = archived.value_or(true);
  SLIPWAY_ASSIGN_OR_RETURN(auto max_results, p.optional_int64("max_results"));
  if (max_results && *max_results > 0) search.max_results = static_cast<size_t>(*max_results);
  SLIPWAY_ASSIGN_OR_RETURN(auto token, p.optional_string("page_token"));
  search.page_token = token.value_or("");
  SLIPWAY_ASSIGN_OR_RETURN(auto page, r.search_versions(search));
  json versions = json::array();
  for (const auto& v : page.versions) versions.push_back(v1_version(v));
  return json{{"versions", versions}, {"next_page_token", page.next_page_token}}.dump();
}

// POST /models/{name}/versions: {"run_id": ...} | {"source": ...} (MLflow-style), or the bundle
// itself as an application/octet-stream body with description/alias/reason in the query.
Result<std::string> v1_register(const Request& request, const Params& p, Registry& r) {
  const std::string name = request.param("name");
  SLIPWAY_RETURN_IF_ERROR(registry::validate_model_name(name));
  const bool upload = request.header("Content-Type").starts_with("application/octet-stream");
  registry::NewVersion v;
  if (upload) {
    if (request.body.empty()) return make_error(ErrorCode::kInvalidArgument, "the request body (the bundle) is empty");
    SLIPWAY_ASSIGN_OR_RETURN(auto source, p.optional_string("source"));
    SLIPWAY_ASSIGN_OR_RETURN(v, r.version_from_bundle_bytes(request.body, source.value_or("upload")));
  } else {
    SLIPWAY_ASSIGN_OR_RETURN(auto run_id, p.optional_string("run_id"));
    SLIPWAY_ASSIGN_OR_RETURN(auto source, p.optional_string("source"));
    if (run_id && !source) {
      SLIPWAY_ASSIGN_OR_RETURN(v, r.version_from_run(*run_id));
    } else if (source) {
      SLIPWAY_ASSIGN_OR_RETURN(v, r.version_from_mlflow_source(*source, run_id));
    } else {
      return make_error(ErrorCode::kInvalidArgument,
                        "Missing value for required parameter 'run_id' (or 'source', or a bundle as an "
                        "application/octet-stream body)");
    }
  }
  v.name = name;
  SLIPWAY_ASSIGN_OR_RETURN(auto description, p.optional_string("description"));
  v.description = description.value_or("");
  if (!upload) {
    SLIPWAY_ASSIGN_OR_RETURN(v.tags, tag_map(p));
  }
  SLIPWAY_ASSIGN_OR_RETURN(v.aliases, p.strings(upload ? "alias" : "aliases"));
  SLIPWAY_ASSIGN_OR_RETURN(auto created, r.register_version(v, actor_for(request, p)));
  return v1_version(created).dump();
}

Result<std::string> v1_get_version(const Request& request, const Params&, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(int64_t version, path_version(request));
  SLIPWAY_ASSIGN_OR_RETURN(auto v, r.get_version(request.param("name"), version));
  return v1_version(v).dump();
}

Result<std::string> v1_update_version(const Request& request, const Params& p, Registry& r) {
  const std::string name = request.param("name");
  SLIPWAY_ASSIGN_OR_RETURN(int64_t version, path_version(request));
  const auto who = actor_for(request, p);
  SLIPWAY_ASSIGN_OR_RETURN(auto current, r.get_version(name, version));
  SLIPWAY_ASSIGN_OR_RETURN(auto description, p.optional_string("description"));
  SLIPWAY_ASSIGN_OR_RETURN(auto archived, p.optional_bool("archived"));
  if (description) SLIPWAY_RETURN_IF_ERROR(r.set_version_description(name, version, *description, who));
  if (archived && *archived != current.archived) {
    SLIPWAY_RETURN_IF_ERROR(*archived ? r.archive_version(name, version, who)
                                      : r.unarchive_version(name, version, who));
  }
  SLIPWAY_ASSIGN_OR_RETURN(auto v, r.get_version(name, version));
  return v1_version(v).dump();
}

Result<std::string> v1_delete_version(const Request& request, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(int64_t version, path_version(request));
  SLIPWAY_RETURN_IF_ERROR(r.delete_version(request.param("name"), version, actor_for(request, p)));
  return std::string("{}");
}

Result<std::string> v1_put_version_tag(const Request& request, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(int64_t version, path_version(request));
  SLIPWAY_ASSIGN_OR_RETURN(auto value, p.optional_string("value"));
  SLIPWAY_RETURN_IF_ERROR(r.set_version_tag(request.param("name"), version, request.param("key"), value.value_or(""),
                                            actor_for(request, p)));
  return std::string("{}");
}

Result<std::string> v1_delete_version_tag(const Request& request, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(int64_t version, path_version(request));
  SLIPWAY_RETURN_IF_ERROR(
      r.delete_version_tag(request.param("name"), version, request.param("key"), actor_for(request, p)));
  return std::string("{}");
}

Result<std::string> v1_get_alias(const Request& request, const Params&, Registry& r) {
  const std::string name = request.param("name");
  SLIPWAY_RETURN_IF_ERROR(registry::validate_model_name(name));
  SLIPWAY_ASSIGN_OR_RETURN(auto v, r.resolve_version(name + "@" + request.param("alias")));
  return v1_version(v).dump();
}

Result<std::string> v1_put_alias(const Request& request, const Params& p, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(int64_t version, version_param(p));
  SLIPWAY_RETURN_IF_ERROR(r.set_alias(request.param("name"), request.param("alias"), version, actor_for(request, p)));
  return json{{"name", request.param("name")}, {"alias", request.param("alias")}, {"version", version}}.dump();
}

Result<std::string> v1_delete_alias(const Request& request, const Params& p, Registry& r) {
  SLIPWAY_RETURN_IF_ERROR(r.delete_alias(request.param("name"), request.param("alias"), actor_for(request, p)));
  return std::string("{}");
}

Result<std::string> v1_history(const Request& request, const Params&, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto entries, r.history(request.param("name")));
  json out = json::array();
  for (const auto& e : entries) {
    out.push_back({{"seq", e.seq},
                   {"time_ms", e.time_ms},
                   {"user", e.user},
                   {"action", e.action},
                   {"name", e.name},
                   {"version", e.version ? json(*e.version) : json(nullptr)},
                   {"detail", e.detail},
                   {"reason", e.reason}});
  }
  return json{{"history", out}}.dump();
}

Result<std::string> v1_deployments(const Request& request, const Params&, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto deps, r.deployments(request.param("name")));
  json out = json::array();
  for (const auto& d : deps) out.push_back(v1_deployment(d));
  return json{{"deployments", out}}.dump();
}

Result<std::string> v1_resolve(const Request& request, const Params&, Registry& r) {
  SLIPWAY_ASSIGN_OR_RETURN(auto ref, r.resolve(request.param("spec")));
  return json{{"name", ref.name},
              {"version", ref.version},
              {"bundle_object_id", ref.bundle_object_id.empty() ? json(nullptr) : json(ref.bundle_object_id)}}
      .dump();
}

}  // namespace

Status add_registry_routes(Router& router, TrackingPool& pool) {
  struct Route {
    Method method;
    const char* path;
    Access access;
    RegistryBody body;
  };
  const Route mlflow[] = {
      {Method::kPost, "/registered-models/create", Access::kWrite, mlflow_create_model},
      {Method::kGet, "/registered-models/get", Access::kRead, mlflow_get_model},
      {Method::kGet, "/registered-models/search", Access::kRead, mlflow_search_models},
      {Method::kPatch, "/registered-models/update", Access::kWrite, mlflow_update_model},
      {Method::kPost, "/registered-models/rename", Access::kWrite, mlflow_rename_model},
      {Method::kDelete, "/registered-models/delete", Access::kWrite, mlflow_delete_model},
      {Method::kPost, "/registered-models/get-latest-versions", Access::kRead, mlflow_latest_versions},
      {Method::kGet, "/registered-models/get-latest-versions", Access::kRead, mlflow_latest_versions},
      {Method::kPost, "/registered-models/set-tag", Access::kWrite, mlflow_set_model_tag},
      {Method::kDelete, "/registered-models/delete-tag", Access::kWrite, mlflow_delete_model_tag},
      {Method::kPost, "/registered-models/alias", Access::kWrite, mlflow_set_alias},
      {Method::kDelete, "/registered-models/alias", Access::kWrite, mlflow_delete_alias},
      {Method::kGet, "/registered-models/alias", Access::kRead, mlflow_get_by_alias},
      {Method::kPost, "/model-versions/create", Access::kWrite, mlflow_create_version},
      {Method::kGet, "/model-versions/get", Access::kRead, mlflow_get_version},
      {Method::kGet, "/model-versions/search", Access::kRead, mlflow_search_versions},
      {Method::kPatch, "/model-versions/update", Access::kWrite, mlflow_update_version},
      {Method::kPost, "/model-versions/transition-stage", Access::kWrite, mlflow_transition_stage},
      {Method::kDelete, "/model-versions/delete", Access::kWrite, mlflow_delete_version},
      {Method::kGet, "/model-versions/get-download-uri", Access::kRead, mlflow_download_uri},
      {Method::kPost, "/model-versions/set-tag", Access::kWrite, mlflow_set_version_tag},
      {Method::kDelete, "/model-versions/delete-tag", Access::kWrite, mlflow_delete_version_tag},
  };
  for (const char* prefix : {"/api/2.0/mlflow", "/ajax-api/2.0/mlflow"}) {
    for (const auto& r : mlflow) {
      SLIPWAY_RETURN_IF_ERROR(router.add(r.method, std::string(prefix) + r.path, leased(pool, r.access, r.body)));
    }
  }
  const Route v1[] = {
      {Method::kGet, "/models", Access::kRead, v1_list_models},
      {Method::kPost, "/models", Access::kWrite, v1_create_model},
      {Method::kGet, "/models/{name}", Access::kRead, v1_get_model},
      {Method::kPatch, "/models/{name}", Access::kWrite, v1_update_model},
      {Method::kDelete, "/models/{name}", Access::kWrite, v1_delete_model},
      {Method::kPut, "/models/{name}/tags/{key...}", Access::kWrite, v1_put_model_tag},
      {Method::kDelete, "/models/{name}/tags/{key...}", Access::kWrite, v1_delete_model_tag},
      {Method::kGet, "/models/{name}/versions", Access::kRead, v1_list_versions},
      {Method::kGet, "/models/{name}/versions/{version}", Access::kRead, v1_get_version},
      {Method::kPatch, "/models/{name}/versions/{version}", Access::kWrite, v1_update_version},
      {Method::kDelete, "/models/{name}/versions/{version}", Access::kWrite, v1_delete_version},
      {Method::kPut, "/models/{name}/versions/{version}/tags/{key...}", Access::kWrite, v1_put_version_tag},
      {Method::kDelete, "/models/{name}/versions/{version}/tags/{key...}", Access::kWrite, v1_delete_version_tag},
      {Method::kGet, "/models/{name}/aliases/{alias}", Access::kRead, v1_get_alias},
      {Method::kPut, "/models/{name}/aliases/{alias}", Access::kWrite, v1_put_alias},
      {Method::kDelete, "/models/{name}/aliases/{alias}", Access::kWrite, v1_delete_alias},
      {Method::kGet, "/models/{name}/history", Access::kRead, v1_history},
      {Method::kGet, "/models/{name}/deployments", Access::kRead, v1_deployments},
      {Method::kGet, "/model-refs/{spec...}", Access::kRead, v1_resolve},
  };
  for (const auto& r : v1) {
    SLIPWAY_RETURN_IF_ERROR(router.add(r.method, std::string("/api/v1") + r.path, leased(pool, r.access, r.body)));
  }
  // Registering from an uploaded bundle: the body is the bundle, not JSON.
  SLIPWAY_RETURN_IF_ERROR(router.add(Method::kPost, "/api/v1/models/{name}/versions",
                                     [json_route = leased(pool, Access::kWrite, v1_register),
                                      upload_route = leased(pool, Access::kWrite, v1_register, /*raw_body=*/true)](
                                         const Request& request, Response& response) {
                                       if (request.header("Content-Type").starts_with("application/octet-stream")) {
                                         upload_route(request, response);
                                       } else {
                                         json_route(request, response);
                                       }
                                     }));
  return {};
}

}  // namespace slipway::server::detail
