// Proves docs/openapi.json describes the server that exists: its paths and methods are
// exactly the router's routes, each operation's x-roles, Idempotency-Key and 415 match the
// route table, and every `METHOD /path` of shared/design/API.md is in the document.
#include <doctest/doctest.h>
#include <simdjson.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

#include "api/internal/auth.h"
#include "api/internal/router.h"

namespace {

namespace fs = std::filesystem;
namespace dom = simdjson::dom;
using namespace encore::api;
using namespace encore::api::internal;

fs::path source_dir() {
  const char* src = std::getenv("ENCORE_SOURCE_DIR");
  REQUIRE_MESSAGE(src != nullptr, "ENCORE_SOURCE_DIR must name the source tree");
  return fs::path(src);
}

// "/v1/holds/{hold_id}" -> "/v1/holds/{}": parameter names differ between documents.
std::string normalize(std::string_view path) {
  std::string out;
  for (std::size_t i = 0; i < path.size(); ++i) {
    out.push_back(path[i]);
    if (path[i] == '{') {
      while (i < path.size() && path[i] != '}') ++i;
      out.push_back('}');
    }
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// "GET /v1/members/{}" for each route of the router.
std::set<std::string> router_operations() {
  std::set<std::string> out;
  for (const Route& r : routes()) {
    out.insert(std::string(method_name(r.method)) + " " + normalize(r.pattern));
  }
  return out;
}

constexpr std::string_view http_methods[] = {"get",    "put",     "post", "delete",
                                             "options", "head",   "patch", "trace"};

struct OpenApi {
  dom::parser parser;
  dom::element doc;
  dom::object paths;

  OpenApi() {
    const fs::path file = source_dir() / "docs" / "openapi.json";
    auto err = parser.load(file.string()).get(doc);
    REQUIRE_MESSAGE(!err, file.string() << " is not valid JSON: " << simdjson::error_message(err));
    REQUIRE_FALSE(doc["paths"].get_object().get(paths));
  }

  // "GET /v1/members/{}" for each operation of the document.
  std::set<std::string> operations() {
    std::set<std::string> out;
    for (auto [path, item] : paths) {
      dom::object ops;
      REQUIRE_FALSE(item.get_object().get(ops));
      for (auto [key, unused] : ops) {
        for (std::string_view m : http_methods) {
          if (key == m) {
            std::string method(key);
            for (char& c : method) c = static_cast<char>(c - 'a' + 'A');
            out.insert(method + " " + normalize(path));
          }
        }
      }
    }
    return out;
  }

  // The operation object of the router's route (its path with params renamed); false when
  // the document lacks it (the first test case reports that).
  bool operation(const Route& r, dom::object& op) {
    for (auto [path, item] : paths) {
      if (normalize(path) != normalize(r.pattern)) continue;
      return !item[lower(method_name(r.method))].get_object().get(op);
    }
    return false;
  }
};

std::string join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += "  " + x + "\n";
  return out;
}

std::set<std::string> difference(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::set<std::string> out;
  for (const auto& x : a) {
    if (!b.contains(x)) out.insert(x);
  }
  return out;
}

// The backticked `METHOD /path` forms of API.md (query strings dropped).
std::set<std::string> api_md_operations(const std::string& text) {
  std::set<std::string> out;
  for (std::size_t at = text.find('`'); at != std::string::npos; at = text.find('`', at + 1)) {
    const std::size_t end = text.find('`', at + 1);
    if (end == std::string::npos) break;
    std::string_view span(text.data() + at + 1, end - at - 1);
    for (std::string_view m : {"GET ", "POST ", "PATCH ", "PUT ", "DELETE "}) {
      if (span.substr(0, m.size()) == m && span.size() > m.size() && span[m.size()] == '/') {
        std::string_view path = span.substr(m.size());
        path = path.substr(0, path.find_first_of("? "));
        out.insert(std::string(m) + normalize(path));
      }
    }
    at = end;
  }
  return out;
}

}  // namespace

TEST_CASE("openapi.json has exactly the router's paths and methods") {
  OpenApi doc;
  const auto router = router_operations();
  const auto documented = doc.operations();
  CHECK(router.size() == route_count);
  const auto missing = difference(router, documented);
  const auto extra = difference(documented, router);
  CHECK_MESSAGE(missing.empty(), "routes missing from docs/openapi.json:\n" << join(missing));
  CHECK_MESSAGE(extra.empty(), "operations in docs/openapi.json with no route:\n" << join(extra));
}

TEST_CASE("each operation's x-roles is the router's role matrix for its route") {
  OpenApi doc;
  constexpr Role all_roles[] = {Role::pos, Role::marketing, Role::read, Role::admin};
  for (const Route& r : routes()) {
    CAPTURE(r.pattern);
    CAPTURE(method_name(r.method));
    dom::object op;
    if (!doc.operation(r, op)) continue;
    dom::array x_roles;
    REQUIRE_FALSE(op["x-roles"].get_array().get(x_roles));
    std::set<std::string> documented;
    for (dom::element e : x_roles) {
      std::string_view s;
      REQUIRE_FALSE(e.get_string().get(s));
      documented.insert(std::string(s));
    }
    std::set<std::string> allowed;
    if (r.access != Access::open) {
      for (Role role : all_roles) {
        if (role_allowed(r.access, role)) allowed.insert(std::string(role_name(role)));
      }
    }
    CHECK(join(documented) == join(allowed));
    // Open routes say so with an empty security requirement; the others use the default.
    dom::array security;
    const bool has_security = !op["security"].get_array().get(security);
    CHECK(has_security == (r.access == Access::open));
    if (has_security) CHECK(security.size() == 0);
    // Every role named in the description too.
    std::string_view description;
    REQUIRE_FALSE(op["description"].get_string().get(description));
    for (const auto& role : allowed) {
      CHECK(description.find("`" + role + "`") != std::string_view::npos);
    }
  }
}

TEST_CASE("Idempotency-Key, 415 and 422 are documented exactly where the router needs them") {
  OpenApi doc;
  for (const Route& r : routes()) {
    CAPTURE(r.pattern);
    CAPTURE(method_name(r.method));
    dom::object op;
    if (!doc.operation(r, op)) continue;
    bool idempotency_parameter = false;
    dom::array params;
    if (!op["parameters"].get_array().get(params)) {
      for (dom::element p : params) {
        std::string_view target;
        if (!p["$ref"].get_string().get(target)) {
          idempotency_parameter |= target == "#/components/parameters/IdempotencyKey";
        }
      }
    }
    CHECK(idempotency_parameter == r.idempotency_key);
    dom::object responses;
    REQUIRE_FALSE(op["responses"].get_object().get(responses));
    dom::element unused;
    const bool json_body = r.body == BodyKind::json || r.body == BodyKind::json_optional;
    CHECK((responses["415"].get(unused) == simdjson::SUCCESS) == json_body);
    CHECK((responses["401"].get(unused) == simdjson::SUCCESS) == (r.access != Access::open));
    const bool rules = r.id == RouteId::rules_validate || r.id == RouteId::rules_reload;
    CHECK((responses["422"].get(unused) == simdjson::SUCCESS) == (r.idempotency_key || rules));
    dom::element body;
    const bool has_body = op["requestBody"].get(body) == simdjson::SUCCESS;
    CHECK(has_body == (r.body != BodyKind::none));
  }
}

TEST_CASE("every METHOD /path of API.md is in openapi.json") {
  const fs::path api_md = source_dir().parent_path() / "shared" / "design" / "API.md";
  if (!fs::exists(api_md)) {
    // CI runs with shared/ beside the clone; a developer's clone may lack it.
    REQUIRE_MESSAGE(std::getenv("CI") == nullptr, api_md.string() << " is missing");
    MESSAGE("skipped: " << api_md.string() << " is not there");
    return;
  }
  std::ifstream in(api_md);
  std::stringstream text;
  text << in.rdbuf();
  const auto from_api_md = api_md_operations(text.str());
  // API.md's sections: members (6), earning (2), spending (5), corrections (2), rules (3),
  // operations (6). Fewer means the extraction broke, not that API.md shrank.
  CHECK(from_api_md.size() >= 24);
  OpenApi doc;
  const auto missing = difference(from_api_md, doc.operations());
  CHECK_MESSAGE(missing.empty(), "API.md operations missing from docs/openapi.json:\n"
                                     << join(missing));
}
