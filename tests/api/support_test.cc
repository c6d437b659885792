// Proves the HTTP layer's building blocks: the JSON writer escapes every string, the keys
// file is parsed into hashes and looked up, and request bodies are read strictly (unknown
// and repeated fields, trailing text, exact money, points range, member ids, text lengths).
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "api/internal/auth.h"
#include "api/internal/json_reader.h"
#include "api/internal/json_writer.h"
#include "api/limits.h"

namespace {

using namespace encore;
using namespace encore::api::internal;

// Reads one field "v" of {"v": ...} with f.
template <typename F>
Status read_v(std::string_view body, F&& f) {
  JsonBody b;
  ENCORE_RETURN_IF_ERROR(b.parse(body));
  ENCORE_RETURN_IF_ERROR(for_each_field(b.object(), {"v"}, f));
  return b.finish();
}

}  // namespace

TEST_CASE("the JSON writer escapes quotes, backslashes and control characters") {
  std::string out;
  JsonWriter w(out);
  w.begin_object().field("a\"b", "x\\y\n\x01z").key("n").integer(-5).key("l").begin_array();
  w.integer(1).null().boolean(true).end_array().end_object();
  CHECK(out == R"({"a\"b":"x\\y\n\u0001z","n":-5,"l":[1,null,true]})");
}

TEST_CASE("the JSON writer writes times and hex bytes in place, with commas") {
  std::string out = "{";
  JsonWriter w(out);
  const std::uint8_t bytes[] = {0x00, 0x0f, 0xa5, 0xff};
  w.begin_array().time(Timestamp{1'795'356'000'000'000}).hex(bytes).time(Timestamp{-1});
  w.hex(std::span<const std::uint8_t>()).end_array();
  CHECK(out ==
        R"({["2026-11-22T14:00:00Z","000fa5ff","1969-12-31T23:59:59.999999Z",""])");
}

TEST_CASE("the JSON writer escapes every byte that needs it wherever it falls in a string") {
  // Reference: one byte at a time. Each byte value is placed at each position of a string
  // longer than two 8-byte words, among plain ASCII and UTF-8 bytes.
  auto expected = [](std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string e = "\"";
    for (char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == '"' || c == '\\') {
        e += '\\';
        e += ch;
      } else if (c >= 0x20) {
        e += ch;
      } else if (const char* named = std::strchr("n\nr\rt\tb\bf\f", c); named && c != 0) {
        // In "n\\nr\\r...", the letter before each control character names its escape.
        e += '\\';
        e += named[-1];
      } else {
        e += "\\u00";
        e += hex[c >> 4];
        e += hex[c & 15];
      }
    }
    return e + '"';
  };
  const std::string base = "abc\xc3\xa9 0123456789 xyz!~";
  int mismatches = 0;
  for (int b = 0; b < 256; ++b) {
    for (std::size_t at = 0; at <= base.size(); ++at) {
      std::string s = base;
      s.insert(at, 1, static_cast<char>(b));
      std::string out;
      append_json_string(out, s);
      if (out != expected(s)) ++mismatches;
    }
  }
  CHECK(mismatches == 0);
  std::string out;
  append_json_string(out, "");
  CHECK(out == "\"\"");
}

TEST_CASE("the keys file gives each key its role and keeps only hashes") {
  auto keys = KeyStore::parse("pos:abc\n\n# comment\nadmin:def\r\n");
  REQUIRE(keys);
  CHECK(keys->size() == 2);
  REQUIRE(keys->find("abc") != nullptr);
  CHECK(keys->find("abc")->role == Role::pos);
  CHECK(keys->find("def")->role == Role::admin);
  CHECK(keys->find("ab") == nullptr);
  CHECK(keys->find("") == nullptr);
  CHECK(keys->find("abc")->client.size() == 16);
  SUBCASE("bad lines are refused without echoing the key") {
    auto bad = KeyStore::parse("boss:secret\n");
    REQUIRE(!bad);
    CHECK(bad.error().detail.find("secret") == std::string::npos);
    CHECK(!KeyStore::parse("pos\n"));
    CHECK(!KeyStore::parse("pos:\n"));
    CHECK(!KeyStore::parse("pos:a\nadmin:a\n"));
    CHECK(!KeyStore::parse("# nothing\n"));
  }
}

TEST_CASE("request bodies: unknown, repeated and trailing content are 400") {
  auto any = [](std::size_t, sj::value& v) { return read_points(v, "v").status(); };
  CHECK(read_v(R"({"v": 1})", any));
  CHECK(!read_v(R"({"w": 1})", any));
  CHECK(!read_v(R"({"v": 1, "v": 2})", any));
  CHECK(!read_v(R"({"v": 1} {})", any));
  CHECK(!read_v(R"({"v": 1,})", any));
  CHECK(!read_v(R"([1])", any));
  CHECK(!read_v("", any));
  CHECK(!read_v("not json", any));
}

TEST_CASE("points are integers in [-10^15, 10^15]") {
  std::int64_t got = 0;
  auto f = [&](std::size_t, sj::value& v) {
    ENCORE_ASSIGN_OR_RETURN(got, read_points(v, "v"));
    return Status::ok();
  };
  CHECK(read_v(R"({"v": 1000000000000000})", f));
  CHECK(got == 1'000'000'000'000'000);
  CHECK(read_v(R"({"v": -1000000000000000})", f));
  CHECK(!read_v(R"({"v": 1000000000000001})", f));
  CHECK(!read_v(R"({"v": 1.0})", f));
  CHECK(!read_v(R"({"v": 1e3})", f));
  CHECK(!read_v(R"({"v": "12"})", f));
  CHECK(!read_v(R"({"v": 99999999999999999999999})", f));
}

TEST_CASE("money is parsed exactly from its text, string or number") {
  Money got;
  auto f = [&](std::size_t, sj::value& v) {
    ENCORE_ASSIGN_OR_RETURN(got, read_money(v, "v", 2));
    return Status::ok();
  };
  CHECK(read_v(R"({"v": "59.90"})", f));
  CHECK(got.units() == 59'900'000);
  CHECK(read_v(R"({"v": 0.29})", f));
  CHECK(got.units() == 290'000);
  CHECK(read_v(R"({"v": 12})", f));
  CHECK(got.units() == 12'000'000);
  CHECK(!read_v(R"({"v": "10.000"})", f));
  CHECK(!read_v(R"({"v": 10.001})", f));
  CHECK(!read_v(R"({"v": 1e2})", f));
  CHECK(!read_v(R"({"v": "-1.00"})", f));
  CHECK(!read_v(R"({"v": true})", f));
}

TEST_CASE("member ids are 1-64 characters of [A-Za-z0-9._:@-]") {
  CHECK(check_member_id("m-1"));
  CHECK(check_member_id("a.b_c:d@e-F9"));
  CHECK(check_member_id(std::string(64, 'x')));
  CHECK(!check_member_id(""));
  CHECK(!check_member_id(std::string(65, 'x')));
  CHECK(!check_member_id("a b"));
  CHECK(!check_member_id("a/b"));
}

TEST_CASE("attributes take strings, integers, decimals and booleans; null only to delete") {
  AttributeChanges got;
  auto f = [&](bool allow_null) {
    return [&got, allow_null](std::size_t, sj::value& v) {
      ENCORE_ASSIGN_OR_RETURN(got, read_attributes(v, "v", allow_null));
      return Status::ok();
    };
  };
  CHECK(read_v(R"({"v": {"s": "x", "i": 3, "d": 1.5, "b": false}})", f(false)));
  CHECK(got.size() == 4);
  CHECK(!read_v(R"({"v": {"n": null}})", f(false)));
  CHECK(read_v(R"({"v": {"n": null}})", f(true)));
  CHECK(!got[0].second.has_value());
  CHECK(!read_v(R"({"v": {"o": {}}})", f(true)));
  CHECK(!read_v(R"({"v": {"a": [1]}})", f(true)));
}

TEST_CASE("free text and member ids in bodies are held to the ledger's limits") {
  const std::string longest(ledger::entry_text_bytes_max, 'x');
  const std::string too_long = longest + "x";
  std::string got;
  auto text = [&got](std::size_t, sj::value& v) {
    ENCORE_ASSIGN_OR_RETURN(got, read_text(v, "v"));
    return Status::ok();
  };
  CHECK(read_v(R"({"v": ")" + longest + R"("})", text));
  CHECK(got == longest);
  CHECK(!read_v(R"({"v": ")" + too_long + R"("})", text));

  auto member = [&got](std::size_t, sj::value& v) {
    ENCORE_ASSIGN_OR_RETURN(got, read_member_id(v, "v"));
    return Status::ok();
  };
  const std::string longest_id(ledger::member_id_bytes_max, 'm');
  CHECK(read_v(R"({"v": ")" + longest_id + R"("})", member));
  CHECK(got == longest_id);
  CHECK(!read_v(R"({"v": ")" + longest_id + R"(m"})", member));
  CHECK(!read_v(R"({"v": "a b"})", member));
  CHECK(!read_v(R"({"v": 7})", member));
}

TEST_CASE("attribute keys and string values have bounded lengths") {
  auto attributes = [](std::size_t, sj::value& v) {
    return read_attributes(v, "v", false).status();
  };
  const std::string key(api::attribute_key_bytes_max, 'k');
  const std::string value(ledger::entry_text_bytes_max, 'x');
  CHECK(read_v(R"({"v": {")" + key + R"(": ")" + value + R"("}})", attributes));
  CHECK(!read_v(R"({"v": {")" + key + R"(k": "x"}})", attributes));
  CHECK(!read_v(R"({"v": {"": "x"}})", attributes));
  CHECK(!read_v(R"({"v": {"k": ")" + value + R"(x"}})", attributes));
}

TEST_CASE("query parameters are found by name") {
  CHECK(query_param("limit=5&before=9", "before") == std::optional<std::string_view>("9"));
  CHECK(!query_param("limit=5", "before"));
  CHECK(query_param("a", "a") == std::optional<std::string_view>(""));
}
