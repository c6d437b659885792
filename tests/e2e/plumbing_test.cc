// Proves the server's HTTP conventions end to end against the real encored binary: health
// and readiness, the role matrix (401/403), 404/405, 413, 415, 400 on bad JSON and unknown
// fields, Idempotency-Key, X-Request-Id, /metrics, SIGTERM exit 0, refused startups.
#include <doctest/doctest.h>

#include <csignal>

#include "tests/e2e/harness.h"

using namespace encore::e2e;

namespace {

const std::string enroll_body = R"({"id": "m-1"})";

}  // namespace

TEST_CASE("healthz and readyz answer without a key; SIGTERM exits 0") {
  Server s;
  Client c = s.client();
  auto h = c.get("/healthz", nullptr);
  CHECK(h.status == 200);
  CHECK(h.json().at("status").as_string() == "ok");
  CHECK(c.get("/readyz", nullptr).status == 200);
  CHECK(s.stop() == 0);
  CHECK(s.output().find("encored stopped") != std::string::npos);
}

TEST_CASE("SIGINT drains and exits 0 too") {
  Server s;
  s.signal(SIGINT);
  CHECK(s.stop() == 0);
}

TEST_CASE("every endpoint group answers 401 without a key and 403 to roles outside the matrix") {
  Server s;
  Client c = s.client();
  struct Probe {
    std::string method, target, body;
    bool pos, marketing, read, admin;
  };
  const std::vector<Probe> probes = {
      {"POST", "/v1/members", "{}", true, false, false, true},
      {"PATCH", "/v1/members/m-1", "{}", true, false, false, true},
      {"POST", "/v1/events", "{}", true, false, false, true},
      {"POST", "/v1/quote", "{}", true, false, false, true},
      {"POST", "/v1/members/m-1/redemptions", "{}", true, false, false, true},
      {"POST", "/v1/members/m-1/holds", "{}", true, false, false, true},
      {"POST", "/v1/holds/h-1/capture", "{}", true, false, false, true},
      {"POST", "/v1/holds/h-1/void", "{}", true, false, false, true},
      {"POST", "/v1/entries/1/reverse", "{}", true, false, false, true},
      {"GET", "/v1/members/m-1", "", true, true, true, true},
      {"GET", "/v1/members/m-1/balance", "", true, true, true, true},
      {"GET", "/v1/members/m-1/entries", "", true, true, true, true},
      {"GET", "/v1/members/m-1/offers", "", true, true, true, true},
      {"GET", "/v1/holds/h-1", "", true, true, true, true},
      {"GET", "/v1/rules", "", false, true, true, true},
      {"POST", "/v1/rules/validate", "{}", false, true, true, true},
      {"POST", "/v1/admin/rules/reload", "", false, false, false, true},
      {"POST", "/v1/members/m-1/adjustments", "{}", false, false, false, true},
      {"GET", "/v1/journal", "", false, false, false, true},
      {"POST", "/v1/admin/clock", "{}", false, false, false, true},
      {"GET", "/v1/reports/liability", "", false, true, false, true},
      {"GET", "/metrics", "", false, false, true, true},
  };
  for (const auto& p : probes) {
    CAPTURE(p.method);
    CAPTURE(p.target);
    std::vector<Header> base;
    if (!p.body.empty()) base.push_back({"Content-Type", "application/json"});
    auto none = c.request(p.method, p.target, base, p.body);
    CHECK(none.status == 401);
    CHECK(none.code() == "unauthorized");
    CHECK(none.header("content-type") == "application/problem+json");
    auto wrong = base;
    wrong.push_back({"Authorization", "Bearer not-a-key"});
    CHECK(c.request(p.method, p.target, wrong, p.body).status == 401);
    const std::pair<const char*, bool> roles[] = {
        {pos_key, p.pos}, {marketing_key, p.marketing}, {read_key, p.read}, {admin_key, p.admin}};
    for (const auto& [key, allowed] : roles) {
      CAPTURE(key);
      auto h = base;
      h.push_back({"Authorization", std::string("Bearer ") + key});
      auto r = c.request(p.method, p.target, h, p.body);
      if (allowed) {
        CHECK(r.status != 401);
        CHECK(r.status != 403);
      } else {
        CHECK(r.status == 403);
        CHECK(r.code() == "forbidden");
      }
    }
  }
}

TEST_CASE("unknown paths are 404 not_found; a known path with a wrong method is 405 with Allow") {
  Server s;
  Client c = s.client();
  auto r = c.get("/v1/nope", admin_key);
  CHECK(r.status == 404);
  CHECK(r.code() == "not_found");
  auto m = c.request("DELETE", "/v1/members/m-1", {{"Authorization", "Bearer " +
                                                                         std::string(admin_key)}});
  CHECK(m.status == 405);
  CHECK(m.code() == "method_not_allowed");
  CHECK(m.header("allow") == "GET, PATCH");
  auto g = c.get("/v1/events", pos_key);
  CHECK(g.status == 405);
  CHECK(g.header("allow") == "POST");
}

TEST_CASE("a body over 64 KiB is 413 payload_too_large") {
  Server s;
  Client c = s.client();
  const std::string big(70 * 1024, ' ');
  auto r = c.post("/v1/events", pos_key, "{" + big + "}", "k-big");
  CHECK(r.status == 413);
  CHECK(r.code() == "payload_too_large");
  // Just under the limit is read (and then judged on its content).
  const std::string fits(60 * 1024, ' ');
  Client c2 = s.client();
  auto ok = c2.post("/v1/members", pos_key, "{" + fits + "}", "k-fits");
  CHECK(ok.status == 201);
}

TEST_CASE("a JSON body without application/json is 415; a charset parameter is accepted") {
  Server s;
  Client c = s.client();
  const std::string auth = std::string("Bearer ") + pos_key;
  auto none = c.request("POST", "/v1/members",
                        {{"Authorization", auth}, {"Idempotency-Key", "k1"}}, enroll_body);
  CHECK(none.status == 415);
  CHECK(none.code() == "unsupported_media_type");
  auto text = c.request("POST", "/v1/members",
                        {{"Authorization", auth},
                         {"Idempotency-Key", "k1"},
                         {"Content-Type", "text/plain"}},
                        enroll_body);
  CHECK(text.status == 415);
  auto utf8 = c.request("POST", "/v1/members",
                        {{"Authorization", auth},
                         {"Idempotency-Key", "k1"},
                         {"Content-Type", "application/json; charset=utf-8"}},
                        enroll_body);
  CHECK(utf8.status == 201);
}

TEST_CASE("a body that is not JSON, or has an unknown field, is 400 invalid_request") {
  Server s;
  Client c = s.client();
  auto bad = c.post("/v1/members", pos_key, "{not json", "k1");
  CHECK(bad.status == 400);
  CHECK(bad.code() == "invalid_request");
  auto unknown = c.post("/v1/members", pos_key, R"({"id": "m-1", "nmae": "x"})", "k2");
  CHECK(unknown.status == 400);
  CHECK(unknown.code() == "invalid_request");
  CHECK(std::string(unknown.json().at("detail").as_string()).find("nmae") != std::string::npos);
  auto trailing = c.post("/v1/members", pos_key, R"({"id": "m-1"} x)", "k3");
  CHECK(trailing.status == 400);
  // Nothing was written by the failures: the id is still free.
  CHECK(c.post("/v1/members", pos_key, enroll_body, "k4").status == 201);
}

TEST_CASE("the listed POSTs without Idempotency-Key are 400 missing_idempotency_key") {
  Server s;
  Client c = s.client();
  auto r = c.post("/v1/members", pos_key, enroll_body);
  CHECK(r.status == 400);
  CHECK(r.code() == "missing_idempotency_key");
  auto e = c.post("/v1/events", pos_key, R"({"member": "m-1", "type": "purchase"})");
  CHECK(e.code() == "missing_idempotency_key");
  auto longer = c.post("/v1/members", pos_key, enroll_body, std::string(129, 'k'));
  CHECK(longer.status == 400);
  CHECK(longer.code() == "invalid_request");
  CHECK(c.post("/v1/members", pos_key, enroll_body, std::string(128, 'k')).status == 201);
}

TEST_CASE("X-Request-Id is echoed, or generated when absent") {
  Server s;
  Client c = s.client();
  auto mine = c.request("GET", "/healthz", {{"X-Request-Id", "req-42"}});
  CHECK(mine.header("x-request-id") == "req-42");
  auto made = c.get("/healthz", nullptr);
  CHECK(made.header("x-request-id").size() == 16);
  CHECK(s.stop() == 0);
  // One log line per request with the route pattern and the id; never a key.
  const std::string log = s.output();
  CHECK(log.find("GET /healthz 200") != std::string::npos);
  CHECK(log.find("req-42") != std::string::npos);
  CHECK(log.find(pos_key) == std::string::npos);
}

TEST_CASE("metrics are Prometheus text with requests by route and status") {
  Server s;
  Client c = s.client();
  c.get("/v1/members/nobody/balance", read_key);
  auto m = c.get("/metrics", read_key);
  CHECK(m.status == 200);
  CHECK(m.header("content-type").rfind("text/plain", 0) == 0);
  CHECK(m.body.find("# TYPE encore_http_requests_total counter") != std::string::npos);
  CHECK(m.body.find(R"(encore_http_requests_total{route="/v1/members/{id}/balance",)"
                    R"(status="404"} 1)") != std::string::npos);
  CHECK(m.body.find("encore_http_request_duration_seconds_bucket{") != std::string::npos);
  CHECK(m.body.find("encore_http_open_connections ") != std::string::npos);
  CHECK(m.body.find("encore_rule_set_info{version=\"sha256:") != std::string::npos);
  CHECK(m.body.find("encore_ledger_batches_total ") != std::string::npos);
}

// The value of the first line that starts with `prefix` (then a space), or -1.
static double metric_value(const std::string& body, const std::string& prefix) {
  std::size_t at = 0;
  while ((at = body.find(prefix + " ", at)) != std::string::npos) {
    if (at == 0 || body[at - 1] == '\n') {
      const auto end = body.find('\n', at);
      return std::stod(body.substr(at + prefix.size() + 1, end - at - prefix.size() - 1));
    }
    at += prefix.size();
  }
  return -1;
}

TEST_CASE("metrics show the ledger's fsync latency as a cumulative histogram") {
  Server s;
  Client c = s.client();
  REQUIRE(c.post("/v1/members", pos_key, R"({"id": "m-fsync"})", "k-fsync").status == 201);
  auto m = c.get("/metrics", read_key);
  REQUIRE(m.status == 200);
  CHECK(m.body.find("# TYPE encore_fsync_seconds histogram") != std::string::npos);
  CHECK(m.body.find("# HELP encore_fsync_seconds ") != std::string::npos);
  const double count = metric_value(m.body, "encore_fsync_seconds_count");
  CHECK(count > 0);
  CHECK(metric_value(m.body, "encore_fsync_seconds_sum") >= 0);
  // Buckets never decrease and the last is +Inf, equal to the count.
  double previous = 0;
  std::string last_le;
  std::size_t at = 0;
  int buckets = 0;
  while ((at = m.body.find("encore_fsync_seconds_bucket{le=\"", at)) != std::string::npos) {
    at += std::string_view("encore_fsync_seconds_bucket{le=\"").size();
    const auto q = m.body.find('"', at);
    last_le = m.body.substr(at, q - at);
    const auto end = m.body.find('\n', q);
    const double v = std::stod(m.body.substr(q + 3, end - q - 3));
    CHECK(v >= previous);
    previous = v;
    ++buckets;
  }
  CHECK(buckets == 11);
  CHECK(last_le == "+Inf");
  CHECK(previous == count);
}

TEST_CASE("a separate metrics address serves /metrics without a key") {
  const unsigned short mport = free_port();
  ServerConfig cfg;
  cfg.extra_args = {"--metrics-listen", "127.0.0.1:" + std::to_string(mport)};
  Server s(cfg);
  Client m(mport);
  CHECK(m.get("/metrics", nullptr).status == 200);
  CHECK(m.get("/v1/rules", admin_key).status == 404);
  CHECK(s.client().get("/metrics", nullptr).status == 401);
}

TEST_CASE("the admin clock is 404 without --manual-clock") {
  ServerConfig cfg;
  cfg.manual_clock = false;
  Server s(cfg);
  Client c = s.client();
  auto r = c.post("/v1/admin/clock", admin_key, R"({"advance_seconds": 1})");
  CHECK(r.status == 404);
  CHECK(r.code() == "not_found");
}

TEST_CASE("a malformed request line gets 400 and the connection closes") {
  Server s;
  Client c = s.client();
  auto r = c.raw("GARBAGE\r\n\r\n");
  CHECK(r.status == 400);
}

TEST_CASE("startup is refused on a broken rules dir with every error as file:line:column") {
  auto dir = make_temp_dir();
  std::filesystem::create_directories(dir / "rules");
  auto rules = default_rules();
  rules["offers.json"] = "{\n  \"offers\": [\n    {\"id\": 7}\n  ]\n}\n";
  for (const auto& [name, text] : rules) write_file(dir / "rules" / name, text);
  write_file(dir / "keys", "admin:k\n");
  auto r = run_encored({"--data", (dir / "data").string(), "--rules", (dir / "rules").string(),
                        "--listen", "127.0.0.1:" + std::to_string(free_port()), "--keys",
                        (dir / "keys").string()},
                       std::chrono::seconds(20));
  CHECK(r.status != 0);
  CHECK(r.output.find("offers.json:3:12:") != std::string::npos);
  INFO(r.output);
  SUBCASE("a missing rules dir is refused too") {
    auto m = run_encored({"--data", (dir / "data").string(), "--rules",
                          (dir / "missing").string(), "--keys", (dir / "keys").string()},
                         std::chrono::seconds(20));
    CHECK(m.status != 0);
  }
  SUBCASE("a bad keys file is refused without echoing a key") {
    write_file(dir / "badkeys", "boss:hunter2\n");
    auto k = run_encored({"--data", (dir / "data").string(), "--rules",
                          (dir / "rules").string(), "--keys", (dir / "badkeys").string()},
                         std::chrono::seconds(20));
    CHECK(k.status != 0);
    CHECK(k.output.find("hunter2") == std::string::npos);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

TEST_CASE("a memtable size (--memtable-mb) out of range is refused, writing nothing") {
  auto dir = make_temp_dir();
  std::filesystem::create_directories(dir / "rules");
  for (const auto& [name, text] : default_rules()) write_file(dir / "rules" / name, text);
  write_file(dir / "keys", "admin:k\n");
  for (const char* mb : {"2", "4096"}) {
    auto r = run_encored({"--data", (dir / "data").string(), "--rules", (dir / "rules").string(),
                          "--listen", "127.0.0.1:" + std::to_string(free_port()), "--keys",
                          (dir / "keys").string(), "--memtable-mb", mb},
                         std::chrono::seconds(20));
    INFO(r.output);
    CHECK(r.status != 0);
    CHECK(r.output.find("memtable size must be 4 to 1024 MiB") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir / "data" / "CURRENT"));
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  ServerConfig cfg;
  cfg.extra_args = {"--memtable-mb", "8"};
  Server s(cfg);
  Client c = s.client();
  CHECK(c.post("/v1/members", pos_key, R"({"id": "m-1"})", "enroll").status == 201);
  CHECK(s.stop() == 0);
}

TEST_CASE("pipelined requests on one connection are answered in order") {
  Server s;
  Client c = s.client();
  auto first = c.raw(
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: one\r\n\r\n"
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: two\r\n\r\n");
  CHECK(first.status == 200);
  CHECK(first.header("x-request-id") == "one");
  auto second = c.raw("");
  CHECK(second.status == 200);
  CHECK(second.header("x-request-id") == "two");
}

TEST_CASE("request headers over the limit get 400 and the connection closes") {
  Server s;
  Client c = s.client();
  auto r = c.request("GET", "/healthz", {{"X-Filler", std::string(20 * 1024, 'x')}});
  CHECK(r.status == 400);
  CHECK(r.code() == "invalid_request");
  CHECK(r.header("connection") == "close");
}
