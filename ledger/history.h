// The recorded events of a ledger (ledger/): each applied event's inputs (the member as
// the rules saw it, the event) and what it earned, read back without disturbing a running
// server. What `encore rules simulate` replays against a draft rule set.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "rules/base/points.h"
#include "rules/base/status.h"
#include "rules/base/time.h"
#include "rules/rules.h"

namespace encore::ledger {

struct RecordedAward {
  std::string offer{};  // offer id
  std::int64_t points = 0;
};

// One applied RecordEvent (docs/storage.md, family `events`). Events that failed wrote
// nothing and are not recorded; events that earned 0 points are.
struct RecordedEvent {
  std::uint64_t number = 0;        // 1-based, dense, in the order the writer applied them
  Seq first_seq = 0;               // journal entries it made: [first_seq, last_seq];
  Seq last_seq = 0;                // none when first_seq > last_seq (last_seq: last at time)
  std::string member{};
  rules::MemberView view{};        // as evaluated (tier, points, visits, ... at that time)
  rules::Event event{};            // event.time = occurred_at (business time)
  Timestamp recorded_at{};         // the writer's clock (the `now` of the evaluation)
  std::string ruleset{};           // "sha256:<hex>" of the rule set that evaluated it
  std::int64_t base = 0;           // base points awarded (0 when none)
  std::vector<RecordedAward> offers{};  // in the order they applied
};

// Calls fn for every recorded event whose event.time is in [from, to), in recorded order,
// until fn returns false. Opens data_dir read-only (no lock; safe while a server writes
// to it) and sees what was durable when it opened. A missing data dir, or one without a
// database, is not_found; a data dir made before events were recorded has none.
Status for_each_event(const std::filesystem::path& data_dir, Timestamp from, Timestamp to,
                      const std::function<bool(const RecordedEvent&)>& fn);

// The files of a rule set stored in data_dir (every one ever in force is kept, by
// version: RecordedEvent::ruleset names one). Opens read-only. not_found when absent.
Result<std::vector<rules::RuleFile>> stored_rule_set(const std::filesystem::path& data_dir,
                                                     const std::string& version);

}  // namespace encore::ledger
