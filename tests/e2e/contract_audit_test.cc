// Clauses of API.md found wanting by a line-by-line audit of the server against the contract,
// each proved against the real encored: what the other contract tests did not reach.
#include <boost/asio.hpp>
#include <doctest/doctest.h>

#include <string>

#include "tests/e2e/contract_support.h"

using namespace encore::e2e;
using namespace encore::e2e::contract;

namespace {

namespace asio = boost::asio;

// Sends one request that asks to close, and returns every byte the server sent back until it
// closed: what a HEAD answer carries after its head shows here, where a client would read it
// as the start of the next answer.
std::string exchange_raw(unsigned short port, const std::string& request) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(socket, asio::buffer(request));
  std::string answer;
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(answer), ec);  // until the server closes
  return answer;
}

// The bytes after the head ("\r\n\r\n") of an answer.
std::string after_head(const std::string& answer) {
  const auto end = answer.find("\r\n\r\n");
  REQUIRE(end != std::string::npos);
  return answer.substr(end + 4);
}

}  // namespace

TEST_CASE("audit: an answer to HEAD has no body, whatever its status") {
  Server s;
  const std::string close = "Host: 127.0.0.1\r\nConnection: close\r\n";
  const auto health = exchange_raw(s.port(), "HEAD /healthz HTTP/1.1\r\n" + close + "\r\n");
  CHECK(health.rfind("HTTP/1.1 ", 0) == 0);
  CHECK(after_head(health).empty());
  const auto member = exchange_raw(s.port(), "HEAD /v1/members/m-1 HTTP/1.1\r\n" + close +
                                                 "Authorization: Bearer " + read_key + "\r\n\r\n");
  CHECK(member.rfind("HTTP/1.1 ", 0) == 0);
  CHECK(after_head(member).empty());
}

TEST_CASE("audit: a 404 for a path id that cannot exist is stored and replayed like any 404") {
  // API.md: "Stored and replayed: 2xx, 404 and 409 answers"; the same key with a different
  // request is 422. Ids no member, hold or entry can have are 404 too, so they follow suit.
  Server s;
  Client c = s.client();
  enroll_member(c, "m-1");
  admin_adjust(c, "m-1", 100);
  const std::string long_id(65, 'a');
  const std::string long_hold(129, 'h');
  struct Case {
    std::string path;
    const char* key;
    std::string body;
    std::string code;
  };
  const Case cases[] = {
      {"/v1/members/" + long_id + "/redemptions", pos_key, R"({"points": 1})",
       "member_not_found"},
      {"/v1/members/bad%20id/holds", pos_key, R"({"points": 1})", "member_not_found"},
      {"/v1/members/" + long_id + "/adjustments", admin_key,
       R"({"points": 1, "reason": "goodwill"})", "member_not_found"},
      {"/v1/holds/" + long_hold + "/capture", pos_key, "{}", "not_found"},
      {"/v1/holds/" + long_hold + "/void", pos_key, "{}", "not_found"},
      {"/v1/entries/abc/reverse", pos_key, "{}", "not_found"},
  };
  int n = 0;
  for (const auto& k : cases) {
    CAPTURE(k.path);
    const std::string key = "audit-404-" + std::to_string(++n);
    auto first = c.post(k.path, k.key, k.body, key);
    CHECK_PROBLEM(first, 404, k.code);
    CHECK(first.header("idempotent-replayed").empty());
    auto again = c.post(k.path, k.key, k.body, key);
    CHECK(again.status == 404);
    CHECK(again.body == first.body);
    CHECK(again.header("idempotent-replayed") == "true");
    // The same key on another request of the same API key: refused, not processed.
    auto other = k.key == admin_key
                     ? c.post("/v1/members/m-1/adjustments", admin_key,
                              R"({"points": 1, "reason": "another request"})", key)
                     : c.post("/v1/members/m-1/redemptions", pos_key, R"({"points": 1})", key);
    CHECK_PROBLEM(other, 422, "idempotency_key_reused");
  }
  // Nothing was written: m-1 still has its 100 points and nothing held.
  CHECK(int_at(balance_of(c, "m-1"), "available") == 100);
  CHECK(int_at(balance_of(c, "m-1"), "held") == 0);
}

TEST_CASE("audit: without --manual-clock /v1/admin/clock is 404 to every method") {
  ServerConfig cfg;
  cfg.manual_clock = false;
  Server s(cfg);
  Client c = s.client();
  for (const std::string method : {"GET", "PUT", "DELETE"}) {
    CAPTURE(method);
    auto r = c.request(method, "/v1/admin/clock", with_key(admin_key, {}));
    CHECK_PROBLEM(r, 404, "not_found");
    CHECK(r.header("allow").empty());
  }
}

TEST_CASE("audit: PATCH takes null for birthday and status as not given, like every field") {
  // docs/api.md: optional fields may be sent as null to mean "not given"; API.md gives
  // PATCH's birthday and status as optional.
  Server s;
  Client c = s.client();
  const std::string member =
      R"({"id": "m-1", "birthday": "1990-05-17", "attributes": {"city": "Oslo"}})";
  auto created = c.post("/v1/members", pos_key, member, "enroll-m-1");
  REQUIRE(created.status == 201);
  auto r = c.patch("/v1/members/m-1", pos_key,
                   R"({"birthday": null, "status": null, "attributes": {"vip": true}})");
  REQUIRE_MESSAGE(r.status == 200, r.body);
  const auto m = r.json();
  CHECK(str_at(m, "birthday") == "1990-05-17");
  CHECK(str_at(m, "status") == "active");
  CHECK(m.at("attributes").at("vip").as_bool());
  CHECK(str_at(m.at("attributes"), "city") == "Oslo");
}
