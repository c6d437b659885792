// The session's request parser (api/internal): Beast's HTTP/1 parser (framing, limits,
// chunked bodies, its errors) keeping only what the session and handle() read, in strings
// a session reuses from one request to the next. Beast's own message parser allocates a
// node per header and a body on every request; this one allocates only when a request is
// larger than any the session has read before.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "api/internal/beast.h"

namespace encore::api::internal {

// One request's parts. Header values are the first of each name, "" when absent.
struct RequestParts {
  boost::beast::http::verb verb = boost::beast::http::verb::unknown;
  std::string method;  // as sent (for the log line)
  std::string target;
  unsigned version = 11;
  std::string authorization;
  std::string content_type;
  std::string expect;
  std::string connection;
  std::string idempotency_key;
  bool has_idempotency_key = false;
  std::string request_id;  // X-Request-Id as sent
  std::string body;

  // Whether the client keeps the connection, read as Beast's message::keep_alive() reads
  // it: the first Connection header's tokens and the version.
  bool keep_alive() const;
  // Empties every part for the next request; capacities stay (a large body's is let go).
  void clear();
};

class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  // Clears parts, then fills them as the request is read.
  explicit RequestParser(RequestParts& parts);

 private:
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;

  void on_request_impl(boost::beast::http::verb method, string_view method_str,
                       string_view target, int version, error_code& ec) override;
  void on_response_impl(int, string_view, int, error_code&) override {}
  void on_field_impl(boost::beast::http::field name, string_view name_string, string_view value,
                     error_code& ec) override;
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         error_code& ec) override;
  std::size_t on_body_impl(string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override;
  void on_finish_impl(error_code&) override {}

  // Stores value in part unless that header was already seen (bit: its flag in seen_).
  void keep_first(std::string& part, unsigned bit, string_view value);

  RequestParts& parts_;
  unsigned seen_ = 0;
};

}  // namespace encore::api::internal
