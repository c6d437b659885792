// System and manual clocks (rules/base).
#include "rules/base/clock.h"

#include <chrono>

namespace encore {

Timestamp SystemClock::now() const {
  auto since = std::chrono::system_clock::now().time_since_epoch();
  return {std::chrono::duration_cast<std::chrono::microseconds>(since).count()};
}

Timestamp ManualClock::advance_seconds(std::int64_t seconds) {
  ENCORE_ASSERT(seconds >= 0);
  return {micros_.fetch_add(seconds * micros_per_second, std::memory_order_acq_rel) +
          seconds * micros_per_second};
}

void ManualClock::advance_to(Timestamp t) {
  std::int64_t cur = micros_.load(std::memory_order_acquire);
  while (cur < t.micros && !micros_.compare_exchange_weak(cur, t.micros)) {
  }
}

}  // namespace encore
