// Clock: where the writer reads recorded time (rules/base). SystemClock reads the
// wall clock; ManualClock moves only when advanced (tests, --manual-clock).
#pragma once

#include <atomic>

#include "rules/base/time.h"

namespace encore {

class Clock {
 public:
  virtual ~Clock() = default;
  // Thread-safe.
  virtual Timestamp now() const = 0;
};

class SystemClock final : public Clock {
 public:
  Timestamp now() const override;
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp start) : micros_(start.micros) {}
  Timestamp now() const override { return {micros_.load(std::memory_order_acquire)}; }
  // REQUIRES: seconds >= 0. Returns the new time.
  Timestamp advance_seconds(std::int64_t seconds);
  // Moves forward to t if t is later; never backwards.
  void advance_to(Timestamp t);

 private:
  std::atomic<std::int64_t> micros_;
};

}  // namespace encore
