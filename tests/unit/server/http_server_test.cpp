// The HTTP layer against a real socket: keep-alive, pipelining, limits, timeouts, async handlers,
// graceful stop. The client is plain POSIX sockets so the test does not compile Asio again.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "slipway/server/http.h"

namespace slipway::server {
namespace {

class Client {
 public:
  explicit Client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }
  void send(std::string_view data) {
    size_t sent = 0;
    while (sent < data.size()) {
      ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  }
  // Reads one response (headers + Content-Length body); empty when the server closed first.
  std::string read_response() {
    while (true) {
      size_t end = buffer_.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t length = 0;
        size_t at = buffer_.find("Content-Length: ");
        if (at != std::string::npos && at < end) length = std::stoul(buffer_.substr(at + 16));
        if (buffer_.size() >= end + 4 + length) {
          std::string out = buffer_.substr(0, end + 4 + length);
          buffer_.erase(0, end + 4 + length);
          return out;
        }
      }
      if (!fill()) return {};
    }
  }
  // True when the server closed the connection (EOF) within the receive timeout.
  bool closed_by_server() {
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0;
  }

 private:
  bool fill() {
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

std::string body_of(const std::string& response) { return response.substr(response.find("\r\n\r\n") + 4); }

class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpServerOptions options = {}) {
    auto router = std::make_shared<Router>();
    ASSERT_TRUE(router->add(Method::kGet, "/hello/{name}", [](const Request& r, Response& out) {
                  out.body = "{\"hello\":\"" + r.param("name") + "\"}";
                }).ok());
    ASSERT_TRUE(router->add(Method::kPost, "/echo", [](const Request& r, Response& out) {
                  out.content_type = "text/plain";
                  out.body = r.body;
                }).ok());
    ASSERT_TRUE(router->add(Method::kGet, "/slow", [this](const Request&, Response& out) {
                  slow_started_ = true;
                  std::this_thread::sleep_for(std::chrono::milliseconds(400));
                  out.body = "{\"slow\":true}";
                }).ok());
    ASSERT_TRUE(router->add_async(Method::kGet, "/later", [](const Request&, Responder responder) {
                  std::thread([r = std::move(responder)]() mutable {
                    std::this_thread::sleep_for(std::chrono::milliseconds(50));
                    r.send(Response::json(202, "{\"later\":true}"));
                  }).detach();
                }).ok());
    options.port = 0;
    options.threads = 2;
    auto server = HttpServer::start(std::move(options), router);
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(*server);
    runner_ = std::async(std::launch::async, [this] { return server_->run(); });
  }
  void TearDown() override {
    if (server_) {
      server_->stop();
      runner_.wait();
    }
  }
  std::unique_ptr<HttpServer> server_;
  std::future<int> runner_;
  std::atomic<bool> slow_started_{false};
};

TEST_F(HttpServerTest, KeepAliveAndPipelining) {
  start();
  Client c(server_->port());
  ASSERT_TRUE(c.connected());
  c.send("GET /hello/ann HTTP/1.1\r\nHost: x\r\n\r\nGET /hello/bo%20b HTTP/1.1\r\nHost: x\r\n\r\n");
  auto first = c.read_response();
  auto second = c.read_response();
  EXPECT_TRUE(first.starts_with("HTTP/1.1 200 OK\r\n")) << first;
  EXPECT_NE(first.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_EQ(body_of(first), "{\"hello\":\"ann\"}");
  EXPECT_EQ(body_of(second), "{\"hello\":\"bo b\"}");
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde");
  EXPECT_EQ(body_of(c.read_response()), "abcde");
}

TEST_F(HttpServerTest, NotFoundAndMethodNotAllowedAreJson) {
  start();
  Client c(server_->port());
  c.send("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.read_response();
  EXPECT_TRUE(r.starts_with("HTTP/1.1 404 Not Found\r\n")) << r;
  EXPECT_EQ(body_of(r), "{\"error_code\":\"ENDPOINT_NOT_FOUND\",\"message\":\"no endpoint GET /nope\"}");
  c.send("DELETE /echo HTTP/1.1\r\nHost: x\r\n\r\n");
  r = c.read_response();
  EXPECT_TRUE(r.starts_with("HTTP/1.1 405 Method Not Allowed\r\n")) << r;
  EXPECT_NE(r.find("Allow: POST\r\n"), std::string::npos);
}

TEST_F(HttpServerTest, OversizeBodyIs413AndTheConnectionCloses) {
  HttpServerOptions options;
  options.max_body_bytes = 1000;
  start(options);
  Client c(server_->port());
  c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'x'));
  auto r = c.read_response();
  EXPECT_TRUE(r.starts_with("HTTP/1.1 413 Payload Too Large\r\n")) << r;
  EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(body_of(r),
            "{\"error_code\":\"RESOURCE_LIMIT_EXCEEDED\",\"message\":\"request body is larger than the limit of 1000 "
            "bytes\"}");
  Client again(server_->port());  // still serving
  again.send("GET /hello/x HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(again.read_response().starts_with("HTTP/1.1 200 OK"));
}

TEST_F(HttpServerTest, MalformedRequestIs400) {
  start();
  Client c(server_->port());
  c.send("GARBAGE\r\n\r\n");
  auto r = c.read_response();
  EXPECT_TRUE(r.starts_with("HTTP/1.1 400 Bad Request\r\n")) << r;
  EXPECT_NE(body_of(r).find("\"message\":\"malformed HTTP request: "), std::string::npos) << r;
}

TEST_F(HttpServerTest, SlowClientIsCutOffAtTheRequestDeadline) {
  HttpServerOptions options;
  options.request_timeout = std::chrono::milliseconds(300);
  start(options);
  Client slow(server_->port());
  slow.send("GET /hello/x HTTP/1.1\r\nHost: x\r\n");  // never finishes its headers
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(slow.closed_by_server());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  Client other(server_->port());
  other.send("GET /hello/y HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(body_of(other.read_response()), "{\"hello\":\"y\"}");
}

TEST_F(HttpServerTest, AsyncHandlerAnswersFromAnotherThread) {
  start();
  Client c(server_->port());
  c.send("GET /later HTTP/1.1\r\nHost: x\r\n\r\nGET /hello/z HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = c.read_response();
  EXPECT_TRUE(r.starts_with("HTTP/1.1 202 ")) << r;
  EXPECT_EQ(body_of(r), "{\"later\":true}");
  EXPECT_EQ(body_of(c.read_response()), "{\"hello\":\"z\"}");
}

TEST_F(HttpServerTest, StopFinishesInFlightRequestsAndClosesIdleOnes) {
  start();
  Client idle(server_->port());
  idle.send("GET /hello/a HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_FALSE(idle.read_response().empty());
  Client busy(server_->port());
  busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  while (!slow_started_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  server_->stop();
  auto r = busy.read_response();
  EXPECT_TRUE(r.starts_with("HTTP/1.1 200 OK")) << r;
  EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(body_of(r), "{\"slow\":true}");
  EXPECT_TRUE(idle.closed_by_server());
  EXPECT_EQ(runner_.get(), 0);
  server_.reset();
}

TEST(HttpServerStart, PortInUseSaysWhere) {
  auto router = std::make_shared<Router>();
  HttpServerOptions options;
  options.port = 0;
  options.threads = 1;
  auto first = HttpServer::start(options, router);
  ASSERT_TRUE(first.ok());
  options.port = (*first)->port();
  auto second = HttpServer::start(options, router);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(),
            fmt::format("cannot listen on 127.0.0.1:{}: Address already in use", options.port));
}

}  // namespace
}  // namespace slipway::server
