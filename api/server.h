// The HTTP server (api/): Boost.Beast on C++20 coroutines. A listener, one session per
// connection (keep-alive, a fresh parser per request with body and header limits, read
// and idle timeouts), a connection cap, and a drain on stop. Requests go to handle().
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "api/handler.h"
#include "api/limits.h"
#include "rules/base/status.h"

namespace encore::api {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;               // 0: any free port (see Server::port())
  int io_threads = 0;                       // 0: one per core
  std::size_t body_bytes_max = body_bytes_default;
  std::size_t header_bytes_max = header_bytes_default;
  std::chrono::milliseconds read_timeout{10'000};   // to read one request, or write one answer
  std::chrono::milliseconds idle_timeout{60'000};   // keep-alive wait for the next request
  std::chrono::milliseconds drain_timeout{10'000};  // stop(): how long requests may finish
  std::size_t connections_max = connections_default;
  // A separate address serving /metrics without a key (and /healthz, /readyz). Empty: none.
  std::string metrics_host;
  std::uint16_t metrics_port = 0;
};

// "host:port" -> host, port ("[::1]:8080" for IPv6).
Status parse_listen_address(std::string_view text, std::string& host, std::uint16_t& port);

class Server {
 public:
  Server(ServerOptions options, Context& context);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts listening (the I/O threads start in run()).
  Status start();
  // The bound port (after start()).
  std::uint16_t port() const;
  std::uint16_t metrics_port() const;
  // Runs the I/O threads; returns once stop() has drained the connections.
  void run();
  // Thread-safe, idempotent: stop accepting, close idle connections, let requests in
  // flight finish and answer those that already arrived on kept-alive connections (up to
  // drain_timeout; a request still arriving gets the read timeout), then end run().
  void stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace encore::api
