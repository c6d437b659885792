// The HTTP server: I/O threads each running their own io_context, a listener coroutine
// handing accepted sockets round-robin to them, and one session coroutine per connection.
// Ledger writes complete on a ledger thread, which posts to the session; the session renders.
#include "api/server.h"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <charconv>
#include <list>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "api/internal/beast.h"
#include "api/internal/metrics.h"
#include "api/internal/request_parser.h"
#include "api/limits.h"

namespace encore::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

Method to_method(http::verb v) {
  switch (v) {
    case http::verb::get: return Method::get;
    case http::verb::post: return Method::post;
    case http::verb::patch: return Method::patch;
    case http::verb::put: return Method::put;
    case http::verb::delete_: return Method::delete_;
    case http::verb::head: return Method::head;
    case http::verb::options: return Method::options;
    default: return Method::other;
  }
}

bool usable_request_id(std::string_view id) {
  if (id.empty() || id.size() > request_id_bytes_max) return false;
  for (char c : id) {
    if (c <= 0x20 || c > 0x7e) return false;
  }
  return true;
}

// 16 hex digits: a per-thread random prefix and a counter. Written into id (reused).
void new_request_id(std::string& id) {
  thread_local std::uint64_t state = [] {
    std::random_device rd;
    return (std::uint64_t{rd()} << 32) ^ rd();
  }();
  // splitmix64 step: distinct ids, cheap.
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  static constexpr char hex[] = "0123456789abcdef";
  id.assign(16, '0');
  for (int i = 15; i >= 0; --i, z >>= 4) id[static_cast<std::size_t>(i)] = hex[z & 15];
}

// Appends the response's status line and headers, as Beast would serialize them, to out:
// written by hand into a buffer the session reuses, since Beast's fields allocate one node
// per header on every response. An answer to HEAD has no body, so no Content-Length either:
// one would have to be the length of a GET's answer, which was not made.
void append_head(std::string& out, const Response& r, unsigned version,
                 std::string_view request_id, bool keep_alive, bool with_body) {
  const auto field = [&out](std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
  };
  char digits[24];
  const auto number = [&digits](std::uint64_t v) {
    return std::string_view(digits, std::to_chars(digits, digits + sizeof digits, v).ptr);
  };
  const char status_line[] = {'H', 'T', 'T', 'P', '/', static_cast<char>('0' + version / 10 % 10),
                               '.', static_cast<char>('0' + version % 10), ' '};
  out.append(status_line, sizeof status_line);
  out.append(number(static_cast<std::uint64_t>(r.status))).push_back(' ');
  out.append(http::obsolete_reason(static_cast<http::status>(r.status))).append("\r\n");
  field("Content-Type", r.content_type);
  field("X-Request-Id", request_id);
  if (!r.allow.empty()) field("Allow", r.allow);
  if (r.replayed) field("Idempotent-Replayed", "true");
  if (r.retry_after_seconds > 0) {
    field("Retry-After", number(static_cast<std::uint64_t>(r.retry_after_seconds)));
  }
  if (r.status == 401) field("WWW-Authenticate", "Bearer");
  // HTTP/1.1 keeps the connection unless told; HTTP/1.0 closes it unless told.
  if (version >= 11 && !keep_alive) field("Connection", "close");
  if (version < 11 && keep_alive) field("Connection", "keep-alive");
  if (with_body) field("Content-Length", number(r.body.size()));
  out.append("\r\n");
}

// Awaits a PendingResponse: its readiness (on a ledger thread) is posted back to the
// session's executor, which then makes the response.
asio::awaitable<Response> await_pending(PendingResponse& pending) {
  co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(
      [&pending](auto handler) {
        auto ex = asio::get_associated_executor(handler);
        // The handler is move-only; std::function needs a copyable callable.
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        pending.start([h, ex] { asio::post(ex, [h]() mutable { std::move(*h)(); }); });
      },
      asio::use_awaitable);
  co_return pending.finish();
}

// Bytes received by the kernel that the session has not read yet (one ioctl): asked only
// during a drain, so serving costs no extra system call.
bool unread_on_socket(beast::tcp_stream& stream) {
  boost::system::error_code ec;
  const std::size_t n = stream.socket().available(ec);
  return !ec && n > 0;
}

// Whether the next request on a connection has begun to arrive: bytes of it in the
// session's buffer or readable on the socket. Once they have, a drain must answer it.
bool next_request_arrived(beast::tcp_stream& stream, const beast::flat_buffer& buffer) {
  return buffer.size() > 0 || unread_on_socket(stream);
}

}  // namespace

Status parse_listen_address(std::string_view text, std::string& host, std::uint16_t& port) {
  auto bad = [&] {
    std::string detail = "listen address must be HOST:PORT, got \"" + std::string(text) + "\"";
    return Status(make_error(ErrorCode::invalid_request, std::move(detail)));
  };
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return bad();
  std::string_view h = text.substr(0, colon);
  std::string_view p = text.substr(colon + 1);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  unsigned value = 0;
  if (p.empty() || p.size() > 5) return bad();
  for (char c : p) {
    if (c < '0' || c > '9') return bad();
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return bad();
  host = std::string(h);
  port = static_cast<std::uint16_t>(value);
  return Status::ok();
}

class Server::Impl {
 public:
  struct SessionState {
    beast::tcp_stream* stream = nullptr;
    bool idle = false;
    std::string head;  // the response head being written; reused, so its capacity stays
  };
  struct Worker {
    // Declared first, destroyed last: destroying ioc destroys the sessions' coroutine
    // frames left after a drain timeout, and they unregister from this list.
    std::list<SessionState*> sessions;  // touched only on this worker's thread
    asio::io_context ioc{1};
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  };

  Impl(ServerOptions options, Context& context) : opts_(std::move(options)), ctx_(context) {
    int n = opts_.io_threads > 0 ? opts_.io_threads
                                 : static_cast<int>(std::thread::hardware_concurrency());
    if (n <= 0) n = 1;
    for (int i = 0; i < n; ++i) {
      workers_.push_back(std::make_unique<Worker>());
      workers_.back()->guard.emplace(workers_.back()->ioc.get_executor());
    }
  }

  // The acceptors live on worker 0's io_context: close them before the contexts go, and
  // the contexts before the counters the sessions' frames touch when destroyed.
  ~Impl() {
    acceptor_.reset();
    metrics_acceptor_.reset();
    workers_.clear();
  }

  Status open_acceptor(std::optional<tcp::acceptor>& acceptor, const std::string& host,
                       std::uint16_t port) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
    if (ec) {
      return make_error(ErrorCode::invalid_request, "bad listen host \"" + host + "\"");
    }
    tcp::endpoint endpoint(address, port);
    acceptor.emplace(workers_[0]->ioc);
    auto fail = [&](std::string_view what) {
      return Status(make_error(ErrorCode::unavailable,
                               fmt::format("cannot {} {}:{}: {}", what, host, port, ec.message())));
    };
    if (acceptor->open(endpoint.protocol(), ec); ec) return fail("open");
    if (acceptor->set_option(asio::socket_base::reuse_address(true), ec); ec) return fail("set");
    if (acceptor->bind(endpoint, ec); ec) return fail("bind");
    if (acceptor->listen(asio::socket_base::max_listen_connections, ec); ec) return fail("listen");
    return Status::ok();
  }

  Status start() {
    ENCORE_RETURN_IF_ERROR(open_acceptor(acceptor_, opts_.host, opts_.port));
    asio::co_spawn(workers_[0]->ioc, listen(*acceptor_, false), asio::detached);
    if (!opts_.metrics_host.empty()) {
      ENCORE_RETURN_IF_ERROR(open_acceptor(metrics_acceptor_, opts_.metrics_host,
                                           opts_.metrics_port));
      asio::co_spawn(workers_[0]->ioc, listen(*metrics_acceptor_, true), asio::detached);
    }
    return Status::ok();
  }

  std::uint16_t port() const { return acceptor_ ? acceptor_->local_endpoint().port() : 0; }
  std::uint16_t metrics_port() const {
    return metrics_acceptor_ ? metrics_acceptor_->local_endpoint().port() : 0;
  }

  void run() {
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < workers_.size(); ++i) {
      threads.emplace_back([w = workers_[i].get()] { w->ioc.run(); });
    }
    workers_[0]->ioc.run();
    for (auto& t : threads) t.join();
  }

  void stop() {
    if (stopping_.exchange(true)) return;
    ctx_.readiness.store(Readiness::draining, std::memory_order_release);
    asio::co_spawn(workers_[0]->ioc, drain(), asio::detached);
  }

 private:
  asio::awaitable<void> listen(tcp::acceptor& acceptor, bool metrics_listener) {
    for (;;) {
      Worker& w = *workers_[next_worker_++ % workers_.size()];
      auto [ec, socket] = co_await acceptor.async_accept(w.ioc, nothrow);
      if (ec) {
        if (stopping_.load() || ec == asio::error::operation_aborted) co_return;
        spdlog::warn("accept failed: {}", ec.message());
        continue;  // e.g. EMFILE; the next accept may succeed
      }
      if (connections_.load(std::memory_order_relaxed) >=
          static_cast<std::int64_t>(opts_.connections_max)) {
        boost::system::error_code ignored;
        socket.close(ignored);
        continue;
      }
      connections_.fetch_add(1, std::memory_order_relaxed);
      asio::co_spawn(w.ioc, session(std::move(socket), w, metrics_listener), asio::detached);
    }
  }

  asio::awaitable<void> drain() {
    boost::system::error_code ignored;
    if (acceptor_) acceptor_->close(ignored);
    if (metrics_acceptor_) metrics_acceptor_->close(ignored);
    for (auto& w : workers_) {
      asio::post(w->ioc, [w = w.get()] {
        for (SessionState* s : w->sessions) {
          if (s->idle) s->stream->cancel();
        }
      });
    }
    asio::steady_timer timer(workers_[0]->ioc);
    const auto deadline = std::chrono::steady_clock::now() + opts_.drain_timeout;
    while (connections_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      timer.expires_after(std::chrono::milliseconds(10));
      co_await timer.async_wait(nothrow);
    }
    if (connections_.load() > 0) {
      spdlog::warn("{} connections still open after the drain timeout", connections_.load());
    }
    for (auto& w : workers_) {
      w->guard.reset();
      w->ioc.stop();
    }
  }

  asio::awaitable<void> session(tcp::socket socket, Worker& worker, bool metrics_listener) {
    struct Registration {
      Impl& impl;
      Worker& worker;
      std::list<SessionState*>::iterator it;
      ~Registration() {
        worker.sessions.erase(it);
        impl.connections_.fetch_sub(1, std::memory_order_relaxed);
        if (impl.ctx_.metrics != nullptr) impl.ctx_.metrics->connection_closed();
      }
    };
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    socket.non_blocking(true, ignored);  // finish() first sends without waiting
    beast::tcp_stream stream(std::move(socket));
    SessionState state{&stream, false, {}};
    Registration reg{*this, worker, worker.sessions.insert(worker.sessions.end(), &state)};
    if (ctx_.metrics != nullptr) ctx_.metrics->connection_opened();
    beast::flat_buffer buffer;
    try {
      co_await serve(stream, buffer, state, metrics_listener);
    } catch (const std::exception& e) {
      spdlog::error("connection failed: {}", e.what());
    }
    // Bytes a client sent after a drain's last answer said close: read them away first, as
    // unread they turn the close into a reset that could destroy that answer.
    if (stopping_.load(std::memory_order_relaxed) && unread_on_socket(stream)) {
      co_await linger(stream);
    }
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.socket().close(ignored);
  }

  asio::awaitable<void> serve(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                              SessionState& state, bool metrics_listener) {
    bool first = true;
    int answered_draining = 0;  // answers sent since the drain began
    std::string request_id;
    internal::RequestParts parts;  // reused by every request of the connection
    for (;;) {
      // A drain closes a connection between requests, unless its next request has begun
      // to arrive: that one is read (within the read timeout) and answered, never dropped.
      const bool draining = stopping_.load(std::memory_order_relaxed);
      if (draining && !next_request_arrived(stream, buffer)) co_return;
      internal::RequestParser parser(parts);
      parser.header_limit(static_cast<std::uint32_t>(opts_.header_bytes_max));
      parser.body_limit(opts_.body_bytes_max);
      // Waiting for a next request on a kept-alive connection: the idle timeout, and the
      // drain may cancel the wait; reading one (the first, one already arriving, or any
      // during a drain): the read timeout.
      const bool waiting = buffer.size() == 0 && !draining;
      stream.expires_after(waiting && !first ? opts_.idle_timeout : opts_.read_timeout);
      state.idle = waiting;
      auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, nothrow);
      state.idle = false;
      if (ec == asio::error::operation_aborted && stopping_.load(std::memory_order_relaxed)) {
        // The drain cancelled the wait. Bytes of a request that came before (the parser
        // may hold its start line already) are read on with the same parser.
        if (!parser.got_some() && !next_request_arrived(stream, buffer)) co_return;
        stream.expires_after(opts_.read_timeout);
        std::tie(ec, n) = co_await http::async_read_header(stream, buffer, parser, nothrow);
      }
      const auto started = std::chrono::steady_clock::now();
      if (!ec) {
        if (beast::iequals(parts.expect, "100-continue") && !parser.is_done()) {
          http::response<http::empty_body> cont{http::status::continue_, parts.version};
          stream.expires_after(opts_.read_timeout);
          auto [wec, wn] = co_await http::async_write(stream, cont, nothrow);
          if (wec) co_return;
        }
        if (!parser.is_done()) {
          stream.expires_after(opts_.read_timeout);
          std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, nothrow);
        }
      }
      if (ec) {
        // A closed, timed-out or cancelled connection ends quietly; a bad request gets an
        // answer before the close.
        const boost::system::error_code http_error = http::error::bad_target;
        if (ec.category() != http_error.category() || ec == http::error::end_of_stream ||
            ec == http::error::partial_message) {
          co_return;
        }
        Response r = ec == http::error::body_limit
                         ? problem(ErrorCode::payload_too_large,
                                   fmt::format("the body is over {} bytes", opts_.body_bytes_max))
                     : ec == http::error::header_limit
                         ? problem(ErrorCode::invalid_request, "the request headers are too large")
                         : problem(ErrorCode::invalid_request,
                                   "malformed HTTP request: " + ec.message());
        new_request_id(request_id);
        if (co_await finish(state, r, 11, request_id, false, true, started, "-", "-")) {
          co_await linger(stream);
        }
        co_return;
      }

      Request req;
      req.method = to_method(parts.verb);
      req.target = parts.target;
      req.authorization = parts.authorization;
      req.content_type = parts.content_type;
      req.has_idempotency_key = parts.has_idempotency_key;
      req.idempotency_key = parts.idempotency_key;
      if (usable_request_id(parts.request_id)) {
        request_id.assign(parts.request_id);
      } else {
        new_request_id(request_id);
      }
      req.request_id = request_id;
      req.body = parts.body;
      req.metrics_listener = metrics_listener;

      Response res;
      std::string_view route = "-";
      int route_index = -1;
      try {
        res = handle(req, ctx_);
        route = res.route;
        route_index = res.route_index;
        if (res.pending) {
          auto pending = std::move(res.pending);
          res = co_await await_pending(*pending);
        }
      } catch (const std::exception& e) {
        spdlog::error("request {} failed: {}", request_id, e.what());
        res = problem(ErrorCode::internal,
                      "internal error; quote request id " + request_id + " when reporting it");
      }
      res.route = route;
      res.route_index = route_index;
      // During a drain the connection stays open only for a next request already arriving
      // (pipelined), up to drain_pipelined_max of them: it is answered too, and the last
      // answer says close.
      const bool stopping = stopping_.load(std::memory_order_relaxed);
      if (stopping) ++answered_draining;
      const bool keep_alive =
          parts.keep_alive() &&
          (!stopping || (answered_draining < drain_pipelined_max &&
                         next_request_arrived(stream, buffer)));
      // HTTP: the answer to a HEAD has no body; one sent would be read as the next answer.
      const bool with_body = parts.verb != http::verb::head;
      const bool ok = co_await finish(state, res, parts.version, request_id, keep_alive,
                                      with_body, started, parts.method, route);
      if (!ok || !keep_alive) co_return;
      first = false;
    }
  }

  // Before closing on a request whose body was not read (413, bad framing): stop sending
  // and read what the client still sends (bounded), so the close does not turn into a TCP
  // reset that could destroy the answer before the client reads it.
  asio::awaitable<void> linger(beast::tcp_stream& stream) {
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    std::array<char, 4096> scratch;
    std::size_t drained = 0;
    stream.expires_after(std::chrono::seconds(1));
    while (drained < linger_bytes_max) {
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(scratch), nothrow);
      if (ec) break;
      drained += n;
    }
  }

  // Writes the answer (its body unless with_body is false), logs one line, counts it. False
  // when the write failed.
  asio::awaitable<bool> finish(SessionState& state, Response& r, unsigned version,
                               std::string_view request_id, bool keep_alive, bool with_body,
                               std::chrono::steady_clock::time_point started,
                               std::string_view method, std::string_view route) {
    const int status = r.status;
    const int route_index = r.route_index;
    state.head.clear();
    append_head(state.head, r, version, request_id, keep_alive, with_body);
    const std::array<asio::const_buffer, 2> message = {
        asio::buffer(state.head), asio::buffer(r.body.data(), with_body ? r.body.size() : 0)};
    beast::buffers_suffix<std::array<asio::const_buffer, 2>> unsent(message);
    // An answer usually fits the socket's send buffer: one non-blocking send, without the
    // timer and the trip through the scheduler of an asynchronous write. What does not fit
    // waits for the socket under the write timeout.
    boost::system::error_code ec;
    unsent.consume(state.stream->socket().write_some(unsent, ec));
    if (ec == asio::error::would_block) ec = {};
    if (!ec && beast::buffer_bytes(unsent) > 0) {
      state.stream->expires_after(opts_.read_timeout);
      std::tie(ec, std::ignore) = co_await asio::async_write(*state.stream, unsent, nothrow);
    }
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
    if (ctx_.metrics != nullptr) {
      ctx_.metrics->observe_request(route_index, status, static_cast<std::uint64_t>(micros));
    }
    spdlog::info("{} {} {} {}us {}", method, route, status, micros, request_id);
    co_return !ec;
  }

  ServerOptions opts_;
  Context& ctx_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::optional<tcp::acceptor> acceptor_;
  std::optional<tcp::acceptor> metrics_acceptor_;
  std::atomic<bool> stopping_{false};
  std::size_t next_worker_ = 0;  // listener coroutines only (worker 0's thread)
  std::atomic<std::int64_t> connections_{0};
};

Server::Server(ServerOptions options, Context& context)
    : impl_(std::make_unique<Impl>(std::move(options), context)) {}
Server::~Server() = default;
Status Server::start() { return impl_->start(); }
std::uint16_t Server::port() const { return impl_->port(); }
std::uint16_t Server::metrics_port() const { return impl_->metrics_port(); }
void Server::run() { impl_->run(); }
void Server::stop() { impl_->stop(); }

}  // namespace encore::api
