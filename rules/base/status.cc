// Error-code table lookups and the assertion handler (rules/base).
#include "rules/base/status.h"

#include <cstdio>
#include <cstdlib>

namespace encore {
namespace {
constexpr ErrorCode kCodes[] = {
#define ENCORE_X(code, http, title) ErrorCode::code,
    ENCORE_ERROR_CODES(ENCORE_X)
#undef ENCORE_X
};
}  // namespace

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
#define ENCORE_X(c, http, title) \
  case ErrorCode::c:             \
    return #c;
    ENCORE_ERROR_CODES(ENCORE_X)
#undef ENCORE_X
  }
  return "internal";
}

int error_code_http_status(ErrorCode code) {
  switch (code) {
#define ENCORE_X(c, http, title) \
  case ErrorCode::c:             \
    return http;
    ENCORE_ERROR_CODES(ENCORE_X)
#undef ENCORE_X
  }
  return 500;
}

std::string_view error_code_title(ErrorCode code) {
  switch (code) {
#define ENCORE_X(c, http, title) \
  case ErrorCode::c:             \
    return title;
    ENCORE_ERROR_CODES(ENCORE_X)
#undef ENCORE_X
  }
  return "Internal error";
}

const ErrorCode* error_codes_begin() { return kCodes; }
const ErrorCode* error_codes_end() { return kCodes + sizeof(kCodes) / sizeof(kCodes[0]); }

namespace internal {
void assert_fail(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "encore: assertion failed: %s at %s:%d\n", expr, file, line);
  std::fflush(stderr);
  std::abort();
}
}  // namespace internal
}  // namespace encore
