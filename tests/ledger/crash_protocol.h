// What the crash test's child (crash_child.cc) and parent (crash_test.cc) share: one text
// line per command ("S <key> <kind> <member> <points>" when submitted, "A <key> <effect>"
// once acknowledged), how a line becomes a ledger command, and its idempotency request.
#pragma once

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>

#include "ledger/ledger.h"

namespace encore::ledger::crash {

struct CrashCommand {
  std::string key;
  std::string kind;  // "adjust" | "redeem" | "purchase"
  std::string member;
  std::int64_t points = 0;

  std::string line() const {
    return key + " " + kind + " " + member + " " + std::to_string(points);
  }
  static std::optional<CrashCommand> parse(const std::string& text) {
    std::istringstream in(text);
    CrashCommand c;
    if (!(in >> c.key >> c.kind >> c.member >> c.points)) return std::nullopt;
    return c;
  }
  Command command() const {
    if (kind == "adjust") return Adjust{.member = member, .points = points, .reason = key};
    if (kind == "redeem") return Redeem{.member = member, .points = points, .order_id = key};
    RecordEvent e;
    e.member = member;
    e.event.type = "purchase";
    e.event.order_id = key;
    e.event.total = Decimal::from_units(points * 1'000'000);
    return e;
  }
  // The request's fingerprint: FNV-1a of its line, spread over 32 bytes.
  IdempotencyRequest idempotency() const {
    IdempotencyRequest r;
    r.scope = "crash";
    r.key = key;
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char ch : line()) h = (h ^ ch) * 1099511628211ull;
    for (std::size_t i = 0; i < r.fingerprint.size(); ++i) {
      h = (h ^ i) * 1099511628211ull;
      r.fingerprint[i] = static_cast<std::uint8_t>(h >> 56);
    }
    return r;
  }
};

// The change to the member's total: the points of the entries it wrote (or, replayed, the
// entries it wrote first, read back from the journal).
inline std::int64_t effect_of(const CommandOutcome& out) {
  std::int64_t effect = 0;
  for (const auto& e : out.entries) effect += e.points;
  return effect;
}

}  // namespace encore::ledger::crash
