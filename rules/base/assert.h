// ENCORE_ASSERT (always on: points are money, a crash beats corruption) and
// ENCORE_VERIFY (costly checks, on in debug and test builds). rules/base.
#pragma once

namespace encore::internal {
[[noreturn]] void assert_fail(const char* expr, const char* file, int line);
}  // namespace encore::internal

#define ENCORE_ASSERT(cond)                                                   \
  do {                                                                        \
    if (!(cond)) [[unlikely]]                                                 \
      ::encore::internal::assert_fail(#cond, __FILE__, __LINE__);             \
  } while (false)

#if defined(ENCORE_VERIFY_ENABLED)
#define ENCORE_VERIFY(cond) ENCORE_ASSERT(cond)
#else
#define ENCORE_VERIFY(cond) \
  do {                      \
  } while (false)
#endif
