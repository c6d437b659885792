// The `events` family's record (ledger/internal): the inputs of each applied RecordEvent
// (member view as evaluated, the event, times, rule set) and what it earned, so
// `encore rules simulate` can replay history against a draft rule set.
#pragma once

#include <string>
#include <string_view>

#include "ledger/history.h"
#include "rules/base/status.h"

namespace encore::ledger::internal {

inline constexpr std::uint8_t event_record_version = 1;

std::string encode_event_record(const RecordedEvent& record);
// The same encoding, from what the writer has at hand (no RecordedEvent built): the
// awards are named by the offers of `rules`; base below 0 is recorded as 0.
std::string encode_event_record(Seq first_seq, Seq last_seq, std::string_view member,
                                const rules::MemberView& view, const rules::Event& event,
                                Timestamp recorded_at, const rules::RuleSet& rules,
                                const rules::Evaluation& evaluation);
// `number` is taken from the key (be64), not the value.
Status decode_event_record(std::string_view value, RecordedEvent* record);

}  // namespace encore::ledger::internal
