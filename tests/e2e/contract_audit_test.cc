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
