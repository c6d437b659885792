// Proves the operational behaviours of docs/operations.md end to end on the real encored:
// a full writer queue (--queue-max) answers 503 unavailable with Retry-After and writes
// nothing, and a SIGTERM drain turns /readyz 503 while it answers the requests in flight
// and the requests that already arrived on kept-alive connections, closes idle connections
// at once and waits for a half-arrived request no longer than the read timeout.
#include <doctest/doctest.h>

#include <csignal>
#include <latch>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api/limits.h"
#include "tests/e2e/contract_support.h"
#include "tests/e2e/harness.h"

using namespace encore::e2e;
using namespace encore::e2e::contract;

namespace {

// A purchase of `units`.00 by m-1: with default_rules() it earns exactly `units` points
// (1 per 1.00) while units < 100 (no big-basket offer).
std::string purchase_body(std::int64_t units) {
  return R"({"member": "m-1", "type": "purchase", "basket": {"total": ")" +
         std::to_string(units) + R"(.00"}})";
}

// One purchase as its client saw it. `wrong` says how the answer breaks the contract ("":
// it is a 201 with the points sent or a 503 unavailable with Retry-After: 1).
struct Outcome {
  std::int64_t units = 0;
  int status = 0;
  std::string wrong;
};

std::string contract_breach(const Reply& r, std::int64_t units) {
  if (r.status == 201) {
    const auto points = int_at(r.json(), "points");
    return points == units ? std::string() : "201 with points " + std::to_string(points);
  }
  std::string breach = problem_mismatch(r, 503, "unavailable");
  if (r.header("retry-after") != "1") breach += "Retry-After '" + r.header("retry-after") + "'";
  return breach;
}

constexpr int burst_clients = 16;
constexpr int purchases_per_client = 25;

// Every client connects, then all send their purchases at once, each on its own
// connection. A request the server drops (closed connection, no answer) is an Outcome
// with status 0 and what the client saw.
std::vector<Outcome> purchase_burst(unsigned short port, int burst) {
  std::vector<std::vector<Outcome>> seen(burst_clients);
  std::latch connected(burst_clients);
  std::vector<std::thread> clients;
  for (int t = 0; t < burst_clients; ++t) {
    clients.emplace_back([&, t] {
      std::optional<Client> c;
      try {
        c.emplace(port);
      } catch (const std::exception& e) {
        seen[t].push_back(Outcome{0, 0, std::string("connect: ") + e.what()});
      }
      connected.arrive_and_wait();
      for (int i = 0; c && i < purchases_per_client; ++i) {
        Outcome o{1 + (t + i) % 9, 0, {}};
        const std::string key =
            "b" + std::to_string(burst) + "-" + std::to_string(t) + "-" + std::to_string(i);
        try {
          const Reply r = c->post("/v1/events", pos_key, purchase_body(o.units), key);
          o.status = r.status;
          o.wrong = contract_breach(r, o.units);
        } catch (const std::exception& e) {
          o.wrong = std::string("no answer: ") + e.what();
        }
        seen[t].push_back(o);
        if (o.status == 0) break;
      }
    });
  }
  for (auto& c : clients) c.join();
  std::vector<Outcome> all;
  for (auto& s : seen) all.insert(all.end(), s.begin(), s.end());
  return all;
}

// A request whose head asks for 100 Continue and whose body is sent later: once the client
// has the 100, the server has read the head and waits for the body, so the request is in
// flight (not an idle connection a drain may close).
class InFlight {
 public:
  InFlight(unsigned short port, const std::string& head, std::string body)
      : client_(port), body_(std::move(body)) {
    client_.send(head + "Expect: 100-continue\r\nContent-Length: " +
                 std::to_string(body_.size()) + "\r\n\r\n");
    continue_status_ = client_.read().status;
  }
  int continue_status() const { return continue_status_; }
  // Sends the body, and after it in the same write the bytes of `pipelined` (next
  // requests on the connection); reads the answer to this request.
  Reply finish(const std::string& pipelined = {}) {
    client_.send(body_ + pipelined);
    return client_.read();
  }
  // The answer to the next pipelined request.
  Reply read_next() { return client_.read(); }

 private:
  Client client_;
  std::string body_;
  int continue_status_ = 0;
};

std::string head(const std::string& method, const std::string& target) {
  return method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
}

// The head of a purchase by the POS key, without Content-Length and the blank line.
std::string purchase_head(const std::string& idempotency_key) {
  return head("POST", "/v1/events") + "Authorization: Bearer " + pos_key +
         "\r\nContent-Type: application/json\r\nIdempotency-Key: " + idempotency_key + "\r\n";
}

// A whole purchase request: its head and body.
std::string purchase_request(const std::string& idempotency_key, std::int64_t units) {
  const std::string body = purchase_body(units);
  return purchase_head(idempotency_key) + "Content-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

// The answer read() gives, or status 0 with what the client saw when there is none (the
// server closed the connection without answering).
template <class Read>
Reply answer_or_none(Read read) {
  try {
    return read();
  } catch (const std::exception& e) {
    Reply none;
    none.body = std::string("no answer: ") + e.what();
    return none;
  }
}

// The points a purchase of `units` answered during a drain made durable: `units` when it
// was written (201), 0 when it was refused (503 with Retry-After); a breach of the
// contract fails the test.
std::int64_t drained_purchase_points(const Reply& r, std::int64_t units) {
  INFO("status " << r.status << " body " << r.body);
  CHECK(contract_breach(r, units) == std::string());
  CHECK(r.header("connection") == "close");
  return r.status == 201 ? units : 0;
}

// Waits until a new connection is refused: the drain has begun (it sets /readyz to 503,
// then closes the listener). False if that does not happen within 10 s.
bool refuses_connections(unsigned short port) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      Client probe(port);
    } catch (const std::exception&) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

}  // namespace

TEST_CASE("a full writer queue answers 503 unavailable with Retry-After and writes nothing") {
  ServerConfig cfg;
  cfg.extra_args = {"--queue-max", "1"};
  Server s(cfg);
  Client c = s.client();
  enroll_member(c, "m-1");
  // Concurrent bursts until the queue has been full at least once (the first almost
  // always fills it; the bound keeps a machine where it never does from looping).
  std::vector<Outcome> outcomes;
  std::int64_t refused = 0;
  for (int burst = 0; burst < 10 && refused == 0; ++burst) {
    for (const Outcome& o : purchase_burst(s.port(), burst)) {
      refused += o.status == 503 ? 1 : 0;
      outcomes.push_back(o);
    }
  }
  std::int64_t written = 0;
  std::int64_t earned = 0;
  std::int64_t breaches = 0;
  for (const Outcome& o : outcomes) {
    if (!o.wrong.empty() && breaches++ == 0) MESSAGE("first breach: " << o.wrong);
    if (o.status == 201) {
      ++written;
      earned += o.units;
    }
  }
  CHECK(breaches == 0);
  CHECK(refused > 0);
  CHECK(written > 0);
  CHECK(written + refused == static_cast<std::int64_t>(outcomes.size()));
  MESSAGE(written << " purchases written, " << refused << " refused");

  const json::value balance = balance_of(c, "m-1");
  CHECK(int_at(balance, "available") == earned);
  CHECK(int_at(balance, "lifetime_earned") == earned);
  const std::string metrics = c.get("/metrics", read_key).body;
  const std::string n = std::to_string(refused);
  CHECK(metrics.find("\nencore_ledger_rejected_queue_full_total " + n + "\n") !=
        std::string::npos);
  CHECK(metrics.find(R"(encore_http_requests_total{route="/v1/events",status="503"} )" + n +
                     "\n") != std::string::npos);
  CHECK(s.stop() == 0);
}

TEST_CASE("SIGTERM: /readyz turns 503 while requests in flight are answered, then exit 0") {
  ServerConfig cfg;
  // The requests below are held open across the drain: a loaded machine must not reach the
  // drain's or the body read's timeout meanwhile.
  cfg.extra_args = {"--drain-timeout", "60", "--read-timeout", "60"};
  std::filesystem::path dir;
  {
    Server s(cfg);
    Client c = s.client();
    enroll_member(c, "m-1");
    REQUIRE(c.get("/readyz", nullptr).status == 200);
    Client idle = s.client();
    REQUIRE(idle.get("/healthz", nullptr).status == 200);
    InFlight readyz(s.port(), head("GET", "/readyz"), "-");
    InFlight healthz(s.port(), head("GET", "/healthz"), "-");
    InFlight purchase(s.port(),
                      head("POST", "/v1/events") + "Authorization: Bearer " + pos_key +
                          "\r\nContent-Type: application/json\r\nIdempotency-Key: drain-1\r\n",
                      purchase_body(7));
    REQUIRE(readyz.continue_status() == 100);
    REQUIRE(healthz.continue_status() == 100);
    REQUIRE(purchase.continue_status() == 100);

    s.signal(SIGTERM);
    REQUIRE(refuses_connections(s.port()));
    CHECK(idle.closed_by_server());
    // The purchase's connection is still open, so the process is still draining here.
    const Reply ready = readyz.finish();
    CHECK_PROBLEM(ready, 503, "unavailable");
    CHECK(ready.header("retry-after") == "1");
    CHECK(ready.header("connection") == "close");
    const Reply health = healthz.finish();
    CHECK(health.status == 200);
    CHECK(health.body == R"({"status":"ok"})");
    const Reply bought = purchase.finish();
    CHECK(bought.status == 201);
    CHECK(int_at(bought.json(), "points") == 7);
    CHECK(bought.header("connection") == "close");

    s.keep_dir();  // for the restart below
    dir = s.dir();
    CHECK(s.stop() == 0);
    CHECK(s.output().find("encored stopped") != std::string::npos);
  }
  // The purchase answered during the drain was made durable.
  Server again(ServerConfig{}, dir);
  Client c = again.client();
  CHECK(int_at(balance_of(c, "m-1"), "available") == 7);
  CHECK(again.stop() == 0);
}

TEST_CASE("SIGTERM drain: a request already sent on a kept-alive connection is answered") {
  ServerConfig cfg;
  cfg.extra_args = {"--drain-timeout", "60", "--read-timeout", "60"};
  std::filesystem::path dir;
  std::int64_t written = 7;  // A below is in flight: always written
  {
    Server s(cfg);
    Client c = s.client();
    enroll_member(c, "m-1");
    // A: held in flight (its body unsent), which keeps the server draining.
    InFlight a(s.port(), purchase_head("drain-a"), purchase_body(7));
    REQUIRE(a.continue_status() == 100);
    // C: a kept-alive connection between requests, whose next request's head has begun
    // to arrive (no blank line yet) when the drain starts.
    Client partial = s.client();
    REQUIRE(partial.get("/healthz", nullptr).status == 200);
    partial.send(purchase_head("drain-c"));

    s.signal(SIGTERM);
    REQUIRE(refuses_connections(s.port()));
    // A's body and a whole request B in one write: B has fully arrived before A is answered.
    const Reply ra = answer_or_none([&] { return a.finish(purchase_request("drain-b", 5)); });
    CHECK(ra.status == 201);
    CHECK(int_at(ra.json(), "points") == 7);
    const Reply rb = answer_or_none([&] { return a.read_next(); });
    written += drained_purchase_points(rb, 5);
    // C's head and body complete: answered too, within the read timeout.
    const std::string c_body = purchase_body(3);
    const Reply rc = answer_or_none([&] {
      partial.send("Content-Length: " + std::to_string(c_body.size()) + "\r\n\r\n" + c_body);
      return partial.read();
    });
    written += drained_purchase_points(rc, 3);

    s.keep_dir();
    dir = s.dir();
    CHECK(s.stop() == 0);
  }
  // What was answered 201 is durable, what was refused wrote nothing.
  Server again(ServerConfig{}, dir);
  Client c = again.client();
  CHECK(int_at(balance_of(c, "m-1"), "available") == written);
  CHECK(again.stop() == 0);
}

TEST_CASE("SIGTERM drain: a connection that keeps pipelining gets a bounded number of answers") {
  ServerConfig cfg;
  cfg.extra_args = {"--drain-timeout", "60", "--read-timeout", "60"};
  Server s(cfg);
  Client c = s.client();
  enroll_member(c, "m-1");
  InFlight a(s.port(), purchase_head("drain-many"), purchase_body(2));
  REQUIRE(a.continue_status() == 100);
  s.signal(SIGTERM);
  REQUIRE(refuses_connections(s.port()));
  // A's body and twice the bound of pipelined requests in one write.
  std::string more;
  for (int i = 0; i < 2 * encore::api::drain_pipelined_max; ++i) {
    more += head("GET", "/healthz") + "\r\n";
  }
  const Reply ra = answer_or_none([&] { return a.finish(more); });
  CHECK(ra.status == 201);
  int answers = 1;
  Reply last = ra;
  while (last.status != 0 && last.header("connection") != "close") {
    last = answer_or_none([&] { return a.read_next(); });
    if (last.status != 0) ++answers;
  }
  // Answered up to the bound, the last saying close; the rest were never read.
  CHECK(answers == encore::api::drain_pipelined_max);
  CHECK(last.header("connection") == "close");
  const auto stopping = std::chrono::steady_clock::now();
  CHECK(s.stop(std::chrono::seconds(30)) == 0);
  CHECK(std::chrono::steady_clock::now() - stopping < std::chrono::seconds(15));
}

TEST_CASE("SIGTERM drain: idle connections close at once, a stalled request within the read "
          "timeout") {
  ServerConfig cfg;
  cfg.extra_args = {"--drain-timeout", "60", "--idle-timeout", "60", "--read-timeout", "2"};
  Server s(cfg);
  Client used = s.client();
  REQUIRE(used.get("/healthz", nullptr).status == 200);  // kept alive, now idle
  Client fresh = s.client();                              // connected, never sent a byte
  Client stalled = s.client();
  REQUIRE(stalled.get("/healthz", nullptr).status == 200);
  stalled.send(purchase_head("drain-stalled"));  // a next head that never completes
  const auto signalled = std::chrono::steady_clock::now();
  s.signal(SIGTERM);
  CHECK(used.closed_by_server());
  CHECK(fresh.closed_by_server());
  // The stalled request holds the exit up to the read timeout (2 s), never the drain's 60 s.
  CHECK(s.stop(std::chrono::seconds(20)) == 0);
  CHECK(std::chrono::steady_clock::now() - signalled < std::chrono::seconds(15));
  CHECK(stalled.closed_by_server());
}
