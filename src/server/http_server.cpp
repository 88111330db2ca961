// The only translation unit that includes Boost.Asio/Beast (each one costs ~14 s and ~0.8 GB to
// compile). Design, for throughput on few cores:
// - one io_context per worker thread (concurrency hint 1: no locking inside Asio); the acceptor
//   hands each new socket to the next worker round-robin, and the connection then lives on that
//   worker alone, so its state needs no strand or lock;
// - per connection, one read buffer and one Request/Response pair reused across keep-alive
//   requests; the response head is formatted by hand and written with the body in one gather write;
// - a connection waiting for its next request is "idle" (a plain read with the idle timeout);
//   from the first byte on, the whole request must arrive before the request deadline (slowloris);
//   stop() closes idle connections at once and lets the others finish their current request.
#include <charconv>
#include <utility>  // before Asio: under C++20 with GCC 12 Asio needs it first

#include <array>
#include <atomic>
#include <optional>
#include <thread>
#include <unordered_set>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "slipway/server/http.h"

namespace slipway::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kReadChunk = 16 * 1024;
constexpr std::chrono::milliseconds kLingerTimeout{3000};

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

Method method_of(http::verb verb) {
  switch (verb) {
    case http::verb::get: return Method::kGet;
    case http::verb::post: return Method::kPost;
    case http::verb::put: return Method::kPut;
    case http::verb::delete_: return Method::kDelete;
    case http::verb::head: return Method::kHead;
    case http::verb::patch: return Method::kPatch;
    case http::verb::options: return Method::kOptions;
    default: return Method::kOther;
  }
}

class Connection;

struct Worker {
  // Declared before the io_context so it outlives the handlers (and connections) the io_context
  // destroys when it goes away.
  std::unordered_set<Connection*> connections;
  asio::io_context ioc{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::thread thread;
  bool stopping = false;  // touched on this worker's thread only
};

}  // namespace

namespace detail {
struct HttpServerState {
  HttpServerOptions options;
  std::shared_ptr<const Router> router;
  std::vector<std::unique_ptr<Worker>> workers;
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::signal_set> signals;
  std::optional<asio::steady_timer> drain_timer;
  std::string host;
  uint16_t port = 0;
  size_t next_worker = 0;
  std::atomic<bool> stopping{false};
  std::atomic<int> stop_signal{0};
  std::atomic<size_t> live_connections{0};
  bool destroying = false;  // set by ~HttpServer before the io_contexts (and their connections) go

  Worker& first() { return *workers.front(); }
  void do_accept();
  void stop();
  void connection_closed();
};
}  // namespace detail
using Impl = detail::HttpServerState;

namespace {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Impl& server, Worker& worker, tcp::socket socket)
      : server_(server), worker_(worker), stream_(worker.ioc.get_executor()) {
    // The accepted socket's descriptor moves into a stream typed on the worker's own executor: the
    // type-erased executor of beast::tcp_stream costs a copy and a destroy per operation.
    beast::error_code ec;
    const auto protocol = socket.local_endpoint(ec).protocol();
    if (!ec) stream_.socket().assign(protocol, socket.release(ec), ec);
    ++server_.live_connections;
  }
  ~Connection() {
    worker_.connections.erase(this);
    server_.connection_closed();
  }

  void start() {
    worker_.connections.insert(this);
    read_next();
  }

  // On stop: a connection between requests is closed now; one with a request in progress finishes it.
  void close_if_idle() {
    if (state_ == State::kIdle) close_now();
  }

 private:
  enum class State { kIdle, kReading, kHandling, kWriting, kClosing };

  // Answers an async handler from any thread: the response is posted back to this connection's worker.
  class Sink final : public Responder::Sink {
   public:
    Sink(std::shared_ptr<Connection> connection, asio::executor_work_guard<asio::io_context::executor_type> guard)
        : connection_(std::move(connection)), guard_(std::move(guard)) {}
    void complete(Response&& response) override {
      auto connection = std::move(connection_);
      if (!connection) return;
      auto executor = connection->stream_.get_executor();
      asio::post(executor, [connection = std::move(connection), response = std::move(response)]() mutable {
        connection->response_ = std::move(response);
        connection->write_response();
      });
      guard_.reset();
    }

   private:
    std::shared_ptr<Connection> connection_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_;
  };

  const HttpServerOptions& options() const { return server_.options; }

  void read_next() {
    parser_.emplace();
    parser_->body_limit(options().max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(options().max_header_bytes));
    sent_continue_ = false;
    if (buffer_.size() > 0) {  // a pipelined request is already here
      begin_request();
      parse_buffered();
      return;
    }
    if (worker_.stopping) {
      close_now();
      return;
    }
    state_ = State::kIdle;
    stream_.expires_after(options().idle_timeout);
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = shared_from_this()](beast::error_code ec, size_t n) { self->on_idle_read(ec, n); });
  }

  void on_idle_read(beast::error_code ec, size_t n) {
    if (ec) {
      close_now();  // timeout, the client left, or stop() closed an idle connection
      return;
    }
    buffer_.commit(n);
    begin_request();
    parse_buffered();
  }

  void begin_request() {
    state_ = State::kReading;
    stream_.expires_after(options().request_timeout);  // one deadline for the whole request
  }

  // Parses whatever is buffered without another read; most requests arrive in one segment.
  void parse_buffered() {
    beast::error_code ec;
    while (!parser_->is_done() && buffer_.size() > 0) {
      size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) {
        ec = {};
        break;
      }
      if (ec) {
        on_read_error(ec);
        return;
      }
      if (used == 0) break;
    }
    continue_read();
  }

  void continue_read() {
    if (parser_->is_done()) {
      handle();
      return;
    }
    if (!parser_->is_header_done()) {
      http::async_read_header(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec) {
          self->on_read_error(ec);
        } else {
          self->continue_read();
        }
      });
      return;
    }
    // curl and others wait for "100 Continue" before sending a large body.
    if (!sent_continue_ && beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      sent_continue_ = true;
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = shared_from_this()](beast::error_code ec, size_t) {
                          if (ec) {
                            self->close_now();
                          } else {
                            self->continue_read();
                          }
                        });
      return;
    }
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        self->on_read_error(ec);
      } else {
        self->handle();
      }
    });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      send_error(413, "RESOURCE_LIMIT_EXCEEDED",
                 fmt::format("request body is larger than the limit of {} bytes", options().max_body_bytes));
    } else if (ec == http::error::header_limit) {
      send_error(431, "RESOURCE_LIMIT_EXCEEDED",
                 fmt::format("request headers are larger than the limit of {} bytes", options().max_header_bytes));
    } else if (ec == beast::error::timeout || ec == http::error::end_of_stream || ec == http::error::partial_message ||
               ec == asio::error::eof || ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
      close_now();  // a slow client past its deadline, or one that went away mid-request
    } else {
      send_error(400, "BAD_REQUEST", fmt::format("malformed HTTP request: {}", ec.message()));
    }
  }

  // An error the HTTP layer answers itself; the connection closes after it (the rest of what the
  // client sent cannot be trusted), reading and discarding for a moment so the client sees it.
  void send_error(int status, std::string_view code, std::string_view message) {
    request_.method = Method::kOther;
    request_.path.clear();
    // The request line may be known even when the headers are not done: Beast reports a body over
    // the limit from the Content-Length header, before is_header_done(). The path picks the error
    // format (KServe's {"error"} under /v2, MLflow's elsewhere).
    if (parser_) {
      std::string_view target = sv(parser_->get().target());
      request_.path.assign(target.substr(0, target.find('?')));
    }
    response_ = server_.router->error(request_.path, status, code, message);
    keep_alive_ = false;
    linger_ = true;
    write_response();
  }

  void handle() {
    state_ = State::kHandling;
    auto& message = parser_->get();
    keep_alive_ = message.keep_alive();
    request_.method = method_of(message.method());
    std::string_view target = sv(message.target());
    size_t question = target.find('?');
    request_.path.assign(target.substr(0, question));
    if (question == std::string_view::npos) {
      request_.query.clear();
    } else {
      request_.query.assign(target.substr(question + 1));
    }
    size_t i = 0;
    for (const auto& field : message) {
      if (i == request_.headers.size()) request_.headers.emplace_back();
      request_.headers[i].name.assign(sv(field.name_string()));
      request_.headers[i].value.assign(sv(field.value()));
      ++i;
    }
    request_.headers.resize(i);
    request_.body = std::move(message.body());

    response_.status = 200;
    response_.content_type.assign("application/json");
    response_.body.clear();
    response_.headers.clear();
    const AsyncHandler* async = server_.router->dispatch(request_, response_);
    if (async == nullptr) {
      write_response();
      return;
    }
    auto sink = std::make_shared<Sink>(shared_from_this(), asio::make_work_guard(worker_.ioc));
    try {
      (*async)(request_, Responder(std::move(sink)));
    } catch (...) {
      // The Responder's destructor already answered 500 if the handler did not.
    }
  }

  void write_response() {
    state_ = State::kWriting;
    if (worker_.stopping || server_.stopping.load(std::memory_order_relaxed)) keep_alive_ = false;
    const int status = response_.status;
    const bool no_body = request_.method == Method::kHead || status == 204 || status == 304;
    // Plain appends (every response passes here: no format-string parsing).
    char digits[24];
    auto number = [&](auto value) {
      auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), value);
      head_.append(digits, ec == std::errc() ? end : digits);
    };
    head_.clear();
    head_.append("HTTP/1.1 ");
    number(status);
    head_ += ' ';
    head_.append(status_reason(status));
    head_.append("\r\n");
    if (status != 204 && status != 304) {
      head_.append("Content-Type: ");
      head_.append(response_.content_type);
      head_.append("\r\nContent-Length: ");
      number(response_.body.size());
      head_.append("\r\n");
    }
    for (const auto& h : response_.headers) {
      head_.append(h.name);
      head_.append(": ");
      head_.append(h.value);
      head_.append("\r\n");
    }
    if (!keep_alive_) head_.append("Connection: close\r\n");
    head_.append("\r\n");
    stream_.expires_after(options().write_timeout);
    auto on_write = [self = shared_from_this()](beast::error_code ec, size_t) { self->on_write(ec); };
    if (no_body || response_.body.empty()) {
      asio::async_write(stream_, asio::buffer(head_), std::move(on_write));
    } else {
      std::array<asio::const_buffer, 2> buffers{asio::buffer(head_), asio::buffer(response_.body)};
      asio::async_write(stream_, buffers, std::move(on_write));
    }
  }

  void on_write(beast::error_code ec) {
    if (options().on_response) options().on_response(request_, response_.status);
    if (ec) {
      close_now();
      return;
    }
    if (linger_) {
      linger_close();
      return;
    }
    if (!keep_alive_) {
      close_now();
      return;
    }
    read_next();
  }

  // Half-close, then discard what the client still sends until it closes or the linger time is up,
  // so it reads our error instead of a connection reset.
  void linger_close() {
    state_ = State::kClosing;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerTimeout);
    discard();
  }

  void discard() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(kReadChunk), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        self->close_now();
      } else {
        self->discard();
      }
    });
  }

  void close_now() {
    state_ = State::kClosing;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  Impl& server_;
  Worker& worker_;
  beast::basic_stream<tcp, asio::io_context::executor_type, beast::unlimited_rate_policy> stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Request request_;
  Response response_;
  std::string head_;
  State state_ = State::kIdle;
  bool keep_alive_ = true;
  bool linger_ = false;
  bool sent_continue_ = false;
};

}  // namespace

void Impl::do_accept() {
  Worker& target = *workers[next_worker++ % workers.size()];
  acceptor->async_accept(target.ioc, [this, &target](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopping) return;
    if (!ec) {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      asio::post(target.ioc, [this, &target, socket = std::move(socket)]() mutable {
        if (target.stopping) return;
        std::make_shared<Connection>(*this, target, std::move(socket))->start();
      });
    }
    // Other errors (out of file descriptors, a connection reset before accept) leave the listener up.
    do_accept();
  });
}

void Impl::connection_closed() {
  if (--live_connections == 0 && stopping && !destroying) {
    asio::post(first().ioc, [this] {
      if (drain_timer) drain_timer->cancel();
    });
  }
}

void Impl::stop() {
  if (stopping.exchange(true)) return;
  asio::post(first().ioc, [this] {
    beast::error_code ignored;
    if (acceptor) acceptor->close(ignored);
    if (signals) signals->cancel(ignored);
    drain_timer.emplace(first().ioc);
    drain_timer->expires_after(options.drain_timeout);
    drain_timer->async_wait([this](beast::error_code ec) {
      if (ec) return;  // cancelled: every connection finished in time
      for (auto& w : workers) w->ioc.stop();
    });
    if (live_connections == 0) drain_timer->cancel();
  });
  for (auto& w : workers) {
    Worker* worker = w.get();
    asio::post(worker->ioc, [worker] {
      worker->stopping = true;
      std::vector<Connection*> open(worker->connections.begin(), worker->connections.end());
      for (Connection* c : open) c->close_if_idle();
      worker->guard.reset();
    });
  }
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(HttpServerOptions options, std::shared_ptr<const Router> router) {
  auto impl = std::make_unique<Impl>();
  size_t threads = options.threads != 0 ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  impl->options = std::move(options);
  impl->router = std::move(router);
  for (size_t i = 0; i < threads; ++i) {
    auto worker = std::make_unique<Worker>();
    worker->guard.emplace(worker->ioc.get_executor());
    impl->workers.push_back(std::move(worker));
  }
  const auto& opts = impl->options;
  std::string where = fmt::format("{}:{}", opts.host, opts.port);
  beast::error_code ec;
  tcp::resolver resolver(impl->first().ioc);
  auto endpoints = resolver.resolve(opts.host, std::to_string(opts.port),
                                    tcp::resolver::numeric_service | tcp::resolver::passive, ec);
  if (ec || endpoints.empty()) {
    return make_error(ErrorCode::kIoError, "cannot listen on {}: {}", where,
                      ec ? ec.message() : std::string("no such address"));
  }
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  auto& acceptor = impl->acceptor.emplace(impl->first().ioc);
  if (!acceptor.open(endpoint.protocol(), ec)) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error(ErrorCode::kIoError, "cannot listen on {}: {}", where, ec.message());
  auto local = acceptor.local_endpoint(ec);
  impl->host = local.address().to_string();
  impl->port = local.port();
  if (opts.handle_signals) {
    auto& signals = impl->signals.emplace(impl->first().ioc, SIGINT, SIGTERM);
    Impl* raw = impl.get();
    signals.async_wait([raw](beast::error_code error, int signal_number) {
      if (error) return;
      raw->stop_signal = signal_number;
      raw->stop();
    });
  }
  impl->do_accept();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  // Handlers still queued (a server that never ran, or one cut off by the drain timeout) are
  // destroyed with their io_context, worker by worker, while the acceptor and timers still exist.
  if (!impl_) return;
  for (auto& w : impl_->workers) {
    if (w->thread.joinable()) w->thread.join();
  }
  impl_->destroying = true;
  impl_->signals.reset();
  impl_->drain_timer.reset();
  impl_->acceptor.reset();
  for (auto& w : impl_->workers) w->guard.reset();
  impl_->workers.clear();
}

const std::string& HttpServer::host() const { return impl_->host; }
uint16_t HttpServer::port() const { return impl_->port; }
size_t HttpServer::threads() const { return impl_->workers.size(); }

int HttpServer::run() {
  for (size_t i = 1; i < impl_->workers.size(); ++i) {
    Worker* worker = impl_->workers[i].get();
    worker->thread = std::thread([worker] { worker->ioc.run(); });
  }
  impl_->first().ioc.run();
  for (size_t i = 1; i < impl_->workers.size(); ++i) {
    if (impl_->workers[i]->thread.joinable()) impl_->workers[i]->thread.join();
  }
  return impl_->stop_signal.load();
}

void HttpServer::stop() { impl_->stop(); }

}  // namespace slipway::server
