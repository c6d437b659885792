// The session's request parser: Beast's callbacks copied into reused strings.
#include "api/internal/request_parser.h"

namespace encore::api::internal {

namespace http = boost::beast::http;

namespace {

// A session keeps its body buffer's capacity up to this (a few purchases' worth); a body
// beyond it, up to --body-limit, is let go after its request.
constexpr std::size_t body_capacity_kept = 16 * 1024;

enum Seen : unsigned {
  seen_authorization = 1u << 0,
  seen_content_type = 1u << 1,
  seen_expect = 1u << 2,
  seen_connection = 1u << 3,
  seen_idempotency_key = 1u << 4,
  seen_request_id = 1u << 5,
};

}  // namespace

bool RequestParts::keep_alive() const {
  http::token_list tokens{connection};  // exists() is not const
  if (version < 11) return tokens.exists("keep-alive");
  return !tokens.exists("close");
}

void RequestParts::clear() {
  verb = http::verb::unknown;
  method.clear();
  target.clear();
  version = 11;
  authorization.clear();
  content_type.clear();
  expect.clear();
  connection.clear();
  idempotency_key.clear();
  has_idempotency_key = false;
  request_id.clear();
  if (body.capacity() > body_capacity_kept) {
    std::string().swap(body);
  } else {
    body.clear();
  }
}

RequestParser::RequestParser(RequestParts& parts) : parts_(parts) { parts_.clear(); }

void RequestParser::on_request_impl(http::verb method, string_view method_str,
                                    string_view target, int version, error_code&) {
  parts_.verb = method;
  parts_.method.assign(method_str.data(), method_str.size());
  parts_.target.assign(target.data(), target.size());
  parts_.version = static_cast<unsigned>(version);
}

void RequestParser::keep_first(std::string& part, unsigned bit, string_view value) {
  if ((seen_ & bit) != 0) return;
  seen_ |= bit;
  part.assign(value.data(), value.size());
}

void RequestParser::on_field_impl(http::field name, string_view name_string, string_view value,
                                  error_code&) {
  switch (name) {
    case http::field::authorization:
      return keep_first(parts_.authorization, seen_authorization, value);
    case http::field::content_type:
      return keep_first(parts_.content_type, seen_content_type, value);
    case http::field::expect: return keep_first(parts_.expect, seen_expect, value);
    case http::field::connection: return keep_first(parts_.connection, seen_connection, value);
    default: break;
  }
  if (boost::beast::iequals(name_string, "Idempotency-Key")) {
    parts_.has_idempotency_key = true;
    keep_first(parts_.idempotency_key, seen_idempotency_key, value);
  } else if (boost::beast::iequals(name_string, "X-Request-Id")) {
    keep_first(parts_.request_id, seen_request_id, value);
  }
}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                      error_code&) {
  // The parser has already refused a length over its body limit.
  if (content_length) parts_.body.reserve(static_cast<std::size_t>(*content_length));
}

std::size_t RequestParser::on_body_impl(string_view body, error_code&) {
  parts_.body.append(body.data(), body.size());
  return body.size();
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) {
  return on_body_impl(body, ec);
}

}  // namespace encore::api::internal
