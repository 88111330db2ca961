// Routing: a trie of path segments (literal children first, then one {param} child, then a
// {rest...} catch-all), so a request costs one pass over its path whatever the number of routes.
#include <algorithm>
#include <exception>
#include <map>

#include <nlohmann/json.hpp>

#include "slipway/server/http.h"

namespace slipway::server {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "/a/b/" -> ["a", "b", ""]; the leading '/' is required by the caller.
std::vector<std::string_view> split_segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 1;
  while (true) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(path.substr(start));
      break;
    }
    out.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

}  // namespace

const char* method_name(Method method) {
  switch (method) {
    case Method::kGet: return "GET";
    case Method::kHead: return "HEAD";
    case Method::kPost: return "POST";
    case Method::kPut: return "PUT";
    case Method::kDelete: return "DELETE";
    case Method::kPatch: return "PATCH";
    case Method::kOptions: return "OPTIONS";
    case Method::kOther: return "OTHER";
  }
  return "OTHER";
}

Method parse_method(std::string_view name) {
  if (name == "GET") return Method::kGet;
  if (name == "POST") return Method::kPost;
  if (name == "PUT") return Method::kPut;
  if (name == "DELETE") return Method::kDelete;
  if (name == "HEAD") return Method::kHead;
  if (name == "PATCH") return Method::kPatch;
  if (name == "OPTIONS") return Method::kOptions;
  return Method::kOther;
}

std::string_view Request::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) return h.value;
  }
  return {};
}

const std::string& Request::param(std::string_view name) const {
  static const std::string kEmpty;
  for (const auto& [key, value] : path_params) {
    if (key == name) return value;
  }
  return kEmpty;
}

const char* status_reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      int hi = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
      int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t start = 0;
  while (start <= query.size()) {
    size_t amp = query.find('&', start);
    std::string_view part = query.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    if (!part.empty()) {
      size_t eq = part.find('=');
      std::string_view key = part.substr(0, eq);
      std::string_view value = eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
      // A malformed escape keeps the raw text rather than failing the whole request.
      auto k = percent_decode(key, true);
      auto v = percent_decode(value, true);
      out.emplace_back(k ? std::move(*k) : std::string(key), v ? std::move(*v) : std::string(value));
    }
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  return out;
}

Responder::~Responder() {
  if (sink_) {
    sink_->complete(default_error_response(500, "INTERNAL_ERROR", "the handler finished without an answer"));
  }
}

void Responder::send(Response response) {
  if (!sink_) return;
  auto sink = std::move(sink_);
  sink_.reset();
  sink->complete(std::move(response));
}

Response default_error_response(int status, std::string_view code, std::string_view message) {
  nlohmann::json body = {{"error_code", code}, {"message", message}};
  return Response::json(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

struct Router::Impl {
  struct Target {
    Method method;
    Handler sync;
    AsyncHandler async;
  };
  struct Node {
    std::map<std::string, std::unique_ptr<Node>, std::less<>> literal;
    std::unique_ptr<Node> param;  // {name}
    std::string param_name;
    std::vector<Target> targets;       // routes ending here
    std::string rest_name;             // {name...} routes ending below this node
    std::vector<Target> rest_targets;
  };
  Node root;
  std::vector<Route> routes;
  std::vector<std::pair<std::string, ErrorFormatter>> formats;  // longest prefix first

  Status add(Method method, std::string_view pattern, Handler sync, AsyncHandler async) {
    if (pattern.empty() || pattern.front() != '/') {
      return make_error(ErrorCode::kInvalidArgument, "route pattern '{}' must start with '/'", pattern);
    }
    auto segments = split_segments(pattern);
    Node* node = &root;
    for (size_t i = 0; i < segments.size(); ++i) {
      std::string_view seg = segments[i];
      bool is_param = seg.size() >= 2 && seg.front() == '{' && seg.back() == '}';
      if (!is_param) {
        if (seg.find_first_of("{}") != std::string_view::npos) {
          return make_error(ErrorCode::kInvalidArgument, "route pattern '{}': a parameter must be a whole segment",
                            pattern);
        }
        auto it = node->literal.find(seg);
        if (it == node->literal.end()) it = node->literal.emplace(std::string(seg), std::make_unique<Node>()).first;
        node = it->second.get();
        continue;
      }
      std::string_view name = seg.substr(1, seg.size() - 2);
      if (name.ends_with("...")) {
        if (i + 1 != segments.size()) {
          return make_error(ErrorCode::kInvalidArgument, "route pattern '{}': '{}' must be the last segment", pattern,
                            seg);
        }
        name.remove_suffix(3);
        if (!node->rest_name.empty() && node->rest_name != name) {
          return make_error(ErrorCode::kInvalidArgument, "route pattern '{}': conflicting parameter names", pattern);
        }
        node->rest_name = std::string(name);
        return insert(node->rest_targets, method, pattern, std::move(sync), std::move(async));
      }
      if (name.empty()) return make_error(ErrorCode::kInvalidArgument, "route pattern '{}': empty parameter", pattern);
      if (!node->param) {
        node->param = std::make_unique<Node>();
        node->param_name = std::string(name);
      } else if (node->param_name != name) {
        return make_error(ErrorCode::kInvalidArgument,
                          "route pattern '{}': parameter '{{{}}}' conflicts with '{{{}}}' at the same place", pattern,
                          name, node->param_name);
      }
      node = node->param.get();
    }
    return insert(node->targets, method, pattern, std::move(sync), std::move(async));
  }

  Status insert(std::vector<Target>& targets, Method method, std::string_view pattern, Handler sync,
                AsyncHandler async) {
    for (const auto& t : targets) {
      if (t.method == method) {
        return make_error(ErrorCode::kInvalidArgument, "route {} {} is registered twice", method_name(method),
                          pattern);
      }
    }
    targets.push_back({method, std::move(sync), std::move(async)});
    routes.push_back({method, std::string(pattern)});
    return {};
  }

  // Finds the deepest node whose targets list is non-empty for this path; literal first.
  const std::vector<Target>* match(const std::vector<std::string_view>& segs, size_t i, const Node& node,
                                   std::vector<std::pair<const std::string*, std::string_view>>& params) const {
    if (i == segs.size()) return node.targets.empty() ? nullptr : &node.targets;
    std::string_view seg = segs[i];
    if (auto it = node.literal.find(seg); it != node.literal.end()) {
      if (auto* found = match(segs, i + 1, *it->second, params)) return found;
    }
    if (node.param && !seg.empty()) {
      params.emplace_back(&node.param_name, seg);
      if (auto* found = match(segs, i + 1, *node.param, params)) return found;
      params.pop_back();
    }
    if (!node.rest_targets.empty()) {
      // The rest of the path from this segment on, including its slashes.
      std::string_view rest(seg.data(), static_cast<size_t>(segs.back().data() + segs.back().size() - seg.data()));
      if (!rest.empty()) {
        params.emplace_back(&node.rest_name, rest);
        return &node.rest_targets;
      }
    }
    return nullptr;
  }
};

Router::Router() : impl_(std::make_unique<Impl>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

Status Router::add(Method method, std::string_view pattern, Handler handler) {
  return impl_->add(method, pattern, std::move(handler), nullptr);
}

Status Router::add_async(Method method, std::string_view pattern, AsyncHandler handler) {
  return impl_->add(method, pattern, nullptr, std::move(handler));
}

void Router::set_error_format(std::string prefix, ErrorFormatter formatter) {
  auto& formats = impl_->formats;
  std::erase_if(formats, [&](const auto& f) { return f.first == prefix; });
  formats.emplace_back(std::move(prefix), std::move(formatter));
  std::stable_sort(formats.begin(), formats.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

Response Router::error(std::string_view path, int status, std::string_view code, std::string_view message) const {
  for (const auto& [prefix, formatter] : impl_->formats) {
    if (path.starts_with(prefix)) return formatter(status, code, message);
  }
  return default_error_response(status, code, message);
}

std::vector<Router::Route> Router::routes() const { return impl_->routes; }

const AsyncHandler* Router::dispatch(Request& request, Response& response) const {
  request.path_params.clear();
  const std::string& path = request.path;
  if (path.empty() || path.front() != '/') {
    response = error(path, 400, "BAD_REQUEST", fmt::format("request target '{}' is not an absolute path", path));
    return nullptr;
  }
  auto segments = split_segments(path);
  // "/api/v1/runs/" is "/api/v1/runs".
  if (segments.size() > 1 && segments.back().empty()) segments.pop_back();
  std::vector<std::pair<const std::string*, std::string_view>> raw_params;
  const auto* targets = impl_->match(segments, 0, impl_->root, raw_params);
  if (targets == nullptr) {
    response = error(path, 404, "ENDPOINT_NOT_FOUND",
                     fmt::format("no endpoint {} {}", method_name(request.method), path));
    return nullptr;
  }
  const Impl::Target* target = nullptr;
  for (const auto& t : *targets) {
    if (t.method == request.method) target = &t;
  }
  if (target == nullptr && request.method == Method::kHead) {
    for (const auto& t : *targets) {
      if (t.method == Method::kGet) target = &t;
    }
  }
  if (target == nullptr) {
    std::string allow;
    for (const auto& t : *targets) allow += (allow.empty() ? "" : ", ") + std::string(method_name(t.method));
    response = error(path, 405, "METHOD_NOT_ALLOWED",
                     fmt::format("{} is not allowed on {} (allowed: {})", method_name(request.method), path, allow));
    response.headers.push_back({"Allow", allow});
    return nullptr;
  }
  for (const auto& [name, raw] : raw_params) {
    auto decoded = percent_decode(raw);
    if (!decoded) {
      response = error(path, 400, "BAD_REQUEST", fmt::format("malformed percent-encoding in '{}'", raw));
      return nullptr;
    }
    request.path_params.emplace_back(*name, std::move(*decoded));
  }
  if (target->async) return &target->async;
  try {
    target->sync(request, response);
  } catch (const std::exception& e) {
    response = error(path, 500, "INTERNAL_ERROR", fmt::format("internal error: {}", e.what()));
  }
  return nullptr;
}

}  // namespace slipway::server
