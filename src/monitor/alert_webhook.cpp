// The webhook action: an HTTP/1.1 POST with Boost.Beast. The only monitor translation unit that
// includes Asio/Beast (each costs ~14 s and ~0.8 GB to compile).
// clang-format off
#include <utility>  // before Asio: under C++20 with GCC 12 Asio needs it first
// clang-format on

#include <fmt/format.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>

#include "alert_internal.h"

namespace slipway::monitor::detail {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr size_t kBodyLimit = 4096;

struct Url {
  std::string host;
  std::string port = "80";
  std::string target = "/";
};

std::optional<Url> parse_url(const std::string& url) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) return std::nullopt;
  std::string rest = url.substr(kScheme.size());
  Url out;
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) out.target = rest.substr(slash);
  if (!authority.empty() && authority.front() == '[') {  // [::1]:8080
    size_t close = authority.find(']');
    if (close == std::string::npos) return std::nullopt;
    out.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return std::nullopt;
      out.port = authority.substr(close + 2);
    }
  } else {
    size_t colon = authority.rfind(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) out.port = authority.substr(colon + 1);
  }
  if (out.host.empty() || out.port.empty()) return std::nullopt;
  return out;
}

struct AttemptResult {
  bool ok = false;
  std::string line;  // "attempt 1: HTTP 200" / "attempt 2: timed out after 2000 ms"
  std::string body;
};

// One attempt: resolve, connect, write, read, all before `timeout_ms` passes.
AttemptResult attempt_post(const Url& url, const std::string& body, int64_t timeout_ms) {
  asio::io_context ioc(1);
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  http::request<http::string_body> request{http::verb::post, url.target, 11};
  request.set(http::field::host, url.host);
  request.set(http::field::user_agent, "slipway-alerts");
  request.set(http::field::content_type, "application/json");
  request.set(http::field::connection, "close");
  request.body() = body;
  request.prepare_payload();
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);

  AttemptResult result;
  beast::error_code failure;
  const char* failed_at = nullptr;
  bool done = false;
  auto fail = [&](beast::error_code ec, const char* what) {
    failure = ec;
    failed_at = what;
    done = true;
  };
  auto deadline = std::chrono::milliseconds(timeout_ms);
  stream.expires_after(deadline);  // one deadline for the whole attempt
  resolver.async_resolve(url.host, url.port, [&](beast::error_code ec, const tcp::resolver::results_type& results) {
    if (ec) return fail(ec, "cannot resolve host");
    stream.async_connect(results, [&](beast::error_code ec2, const tcp::endpoint&) {
      if (ec2) return fail(ec2, "cannot connect");
      http::async_write(stream, request, [&](beast::error_code ec3, size_t) {
        if (ec3) return fail(ec3, "cannot send");
        http::async_read(stream, buffer, parser, [&](beast::error_code ec4, size_t) {
          if (ec4) return fail(ec4, "no valid response");
          done = true;
        });
      });
    });
  });
  // The stream's deadline covers connect, write and read; name resolution has its own backstop.
  ioc.run_for(deadline + std::chrono::milliseconds(500));
  if (!done) {
    resolver.cancel();
    beast::error_code ignored;
    stream.socket().close(ignored);
    ioc.run_for(std::chrono::milliseconds(100));
    result.line = fmt::format("timed out after {} ms", timeout_ms);
    return result;
  }
  if (failed_at != nullptr) {
    if (failure == beast::error::timeout) {
      result.line = fmt::format("timed out after {} ms", timeout_ms);
    } else {
      result.line = fmt::format("{} {}:{}: {}", failed_at, url.host, url.port, failure.message());
    }
    return result;
  }
  const auto& response = parser.get();
  unsigned status = response.result_int();
  result.ok = status >= 200 && status < 300;
  result.line = fmt::format("HTTP {}", status);
  result.body = response.body().substr(0, kBodyLimit);
  if (response.body().size() > kBodyLimit) result.body += fmt::format("… [{} bytes in all]", response.body().size());
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return result;
}

}  // namespace

ActionOutcome post_webhook(const std::string& url, const std::string& body, int64_t timeout_ms, int retries,
                           int64_t backoff_base_ms, int64_t backoff_max_ms, const BackoffWait& wait) {
  ActionOutcome outcome;
  auto parsed = parse_url(url);
  if (!parsed) {
    outcome.output = fmt::format("invalid webhook URL '{}' (expected http://HOST[:PORT][/PATH])", url);
    return outcome;
  }
  std::string last_body;
  int64_t delay = backoff_base_ms;
  for (int attempt = 0; attempt <= retries; ++attempt) {
    if (attempt > 0) {
      if (!wait(std::chrono::milliseconds(delay))) {
        outcome.output += "stopped: slipway shut down before the next attempt\n";
        break;
      }
      delay = std::min(delay * 2, backoff_max_ms);
    }
    AttemptResult result;
    try {
      result = attempt_post(*parsed, body, timeout_ms);
    } catch (const std::exception& e) {
      result.line = fmt::format("failed: {}", e.what());
    }
    ++outcome.attempts;
    outcome.output += fmt::format("attempt {}: {}\n", outcome.attempts, result.line);
    last_body = std::move(result.body);
    if (result.ok) {
      outcome.ok = true;
      break;
    }
  }
  outcome.output += last_body;
  return outcome;
}

}  // namespace slipway::monitor::detail
