// Proves docs/errors.md lists exactly the codes of rules/base/error_codes.h, each with
// the same HTTP status, so the documentation cannot drift from the table.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "rules/base/status.h"

TEST_CASE("docs/errors.md lists every error code with its HTTP status and nothing else") {
  const char* source = std::getenv("ENCORE_SOURCE_DIR");
  REQUIRE_MESSAGE(source != nullptr, "ENCORE_SOURCE_DIR must point at the source tree");
  std::ifstream in(std::string(source) + "/docs/errors.md");
  REQUIRE(in.good());
  std::map<std::string, int> documented;
  std::string line;
  while (std::getline(in, line)) {
    // Rows look like: | `code` | 409 | when |
    if (line.rfind("| `", 0) != 0) continue;
    auto end = line.find('`', 3);
    REQUIRE(end != std::string::npos);
    std::string code = line.substr(3, end - 3);
    auto bar = line.find('|', end);
    REQUIRE(bar != std::string::npos);
    int status = std::atoi(line.c_str() + bar + 1);
    CHECK_MESSAGE(documented.emplace(code, status).second, "listed twice: " << code);
  }
  std::map<std::string, int> table;
  for (auto it = encore::error_codes_begin(); it != encore::error_codes_end(); ++it) {
    table.emplace(std::string(encore::error_code_name(*it)), encore::error_code_http_status(*it));
  }
  CHECK(documented == table);
}
