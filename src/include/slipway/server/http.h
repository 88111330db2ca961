// The HTTP/1.1 front end every slipway endpoint sits on: a Router of method + path patterns to
// handlers, and an HttpServer (Boost.Beast underneath, kept out of this header) with keep-alive,
// worker threads that each run their own event loop, a request body limit, read deadlines so a
// slow or vanished client never holds a worker, and graceful shutdown (stop accepting, finish
// in-flight requests, then return).
//
// Handlers see only the plain Request/Response structs below. A handler either fills the Response
// synchronously (Handler) or takes a Responder and answers later from any thread (AsyncHandler,
// e.g. after a dynamic batch has run); the connection waits for that answer before it reads the
// next request.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "slipway/core/status.h"

namespace slipway::server {

enum class Method : uint8_t { kGet, kHead, kPost, kPut, kDelete, kPatch, kOptions, kOther };
const char* method_name(Method method);  // "GET", "HEAD", ...; "OTHER"
Method parse_method(std::string_view name);

struct Header {
  std::string name;
  std::string value;
};

struct Request {
  Method method = Method::kGet;
  std::string path;   // as sent, percent-encoded, without the query
  std::string query;  // the part after '?', without it; empty when none
  std::vector<Header> headers;
  std::string body;
  // Filled by the router from the matched pattern ({name} and {name...}), percent-decoded.
  std::vector<std::pair<std::string, std::string>> path_params;

  // Case-insensitive; empty when absent.
  std::string_view header(std::string_view name) const;
  // The decoded path parameter; empty when the pattern has no such name.
  const std::string& param(std::string_view name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<Header> headers;  // extra headers (Content-Type and Content-Length are written for you)

  static Response json(int status, std::string body) {
    Response r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
};

// "Not Found" for 404, ...; "Unknown" for codes it does not know.
const char* status_reason(int status);

// Query strings: "a=1&b=x%20y&a=2" -> [("a","1"),("b","x y"),("a","2")] ('+' decodes to a space).
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query);
// Percent-decoding; nullopt for a malformed escape ("%zz", a truncated "%4").
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space = false);

// Answers an AsyncHandler's request later, from any thread. Sending twice is ignored; a Responder
// destroyed without sending answers 500 so a client is never left hanging.
class Responder {
 public:
  class Sink {
   public:
    virtual ~Sink() = default;
    virtual void complete(Response&& response) = 0;
  };
  explicit Responder(std::shared_ptr<Sink> sink) : sink_(std::move(sink)) {}
  Responder(Responder&&) noexcept = default;
  Responder& operator=(Responder&&) noexcept = default;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();

  void send(Response response);

 private:
  std::shared_ptr<Sink> sink_;
};

using Handler = std::function<void(const Request&, Response&)>;
using AsyncHandler = std::function<void(const Request&, Responder)>;

// Builds the body of an error the HTTP layer or the router produces itself (404, 405, 413, 400 for
// malformed HTTP, 500 for a handler that threw). `code` is a short upper-case name such as
// "ENDPOINT_NOT_FOUND". The default writes {"error_code": code, "message": message}.
using ErrorFormatter = std::function<Response(int status, std::string_view code, std::string_view message)>;
Response default_error_response(int status, std::string_view code, std::string_view message);

// Patterns are absolute paths whose segments are literal text, "{name}" (one segment) or, as the
// last segment only, "{name...}" (the rest of the path, may contain '/', may not be empty).
// Literal segments win over parameters when both match.
class Router {
 public:
  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // kInvalidArgument for a malformed pattern or a method+pattern registered twice.
  Status add(Method method, std::string_view pattern, Handler handler);
  Status add_async(Method method, std::string_view pattern, AsyncHandler handler);

  // Errors for paths under `prefix` (longest prefix wins) are built by `formatter`.
  void set_error_format(std::string prefix, ErrorFormatter formatter);
  Response error(std::string_view path, int status, std::string_view code, std::string_view message) const;

  struct Route {
    Method method;
    std::string pattern;
  };
  std::vector<Route> routes() const;

  // Finds the route for request.path and request.method and fills request.path_params. A sync
  // handler runs here and fills `response`, and nullptr is returned; an async handler is returned
  // for the caller to invoke with a Responder. 404 / 405 (with an Allow header) / 400 (bad
  // percent-encoding) / 500 (a handler threw) are written into `response`. HEAD falls back to GET.
  const AsyncHandler* dispatch(Request& request, Response& response) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: the system picks a free port (see HttpServer::port())
  size_t threads = 0;    // 0: one per core
  size_t max_body_bytes = 64u << 20;
  size_t max_header_bytes = 16u << 10;
  // A request must arrive completely (headers and body) within this time of its first byte.
  std::chrono::milliseconds request_timeout{30000};
  // A keep-alive connection with no request in progress is closed after this long.
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds write_timeout{30000};
  // After stop(), in-flight requests get this long to finish before connections are cut.
  std::chrono::milliseconds drain_timeout{30000};
  // Stop gracefully on SIGTERM and SIGINT (the listening thread handles them).
  bool handle_signals = false;
  // Called on the worker thread after each response is written (access log). Empty: nothing.
  std::function<void(const Request&, int status)> on_response;
};

namespace detail {
struct HttpServerState;
}

class HttpServer {
 public:
  // Binds and listens (kIoError naming host:port when it cannot); serves nothing until run().
  static Result<std::unique_ptr<HttpServer>> start(HttpServerOptions options, std::shared_ptr<const Router> router);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  const std::string& host() const;
  uint16_t port() const;  // the bound port (the chosen one when options.port was 0)
  size_t threads() const;

  // Serves on the calling thread plus threads()-1 more until stop() (or a handled signal) and the
  // drain are done. Returns the signal number that stopped it, or 0.
  int run();
  // Thread-safe, idempotent: stop accepting, close idle connections, let in-flight requests finish.
  void stop();

 private:
  explicit HttpServer(std::unique_ptr<detail::HttpServerState> impl);
  std::unique_ptr<detail::HttpServerState> impl_;
};

}  // namespace slipway::server
