// Limits of the rules layer: every bound on rule files, their parsing and evaluation,
// in one place. Each is a constexpr ..._max with the reason for its size.
#pragma once

#include <cstddef>
#include <cstdint>

namespace encore::rules {

// ---- Rule files (loader) ---------------------------------------------------------

// One rule file: a hand-written campaign file is a few KiB; 1 MiB holds ~5,000 offers and
// keeps a validate request (POST /v1/rules/validate) and a reload cheap to parse.
inline constexpr std::size_t rule_file_bytes_max = 1 << 20;
// Files in a rules directory: one file per campaign is the habit; 1,000 leaves room for
// years of campaigns while bounding a reload.
inline constexpr std::size_t rule_files_max = 1'000;
// Offers in a rule set: evaluation walks every offer for each event, so the count is a
// latency bound; 10,000 is far beyond what a marketing team runs at once.
inline constexpr std::size_t offers_max = 10'000;
// Errors reported by one load: enough to fix a whole broken file in one pass, small
// enough that a mangled file cannot produce a megabyte of messages.
inline constexpr std::size_t rule_errors_max = 100;
// Nesting of JSON arrays/objects in a rule file: the format needs 4 levels; 32 stops
// a hostile file from exhausting the stack of the recursive-descent reader.
inline constexpr int json_depth_max = 32;
// Tier levels: a ladder of a handful; 100 bounds the per-event tier lookup.
inline constexpr std::size_t tier_levels_max = 100;
// Ids of offers and tiers: they appear in journal entries and URLs.
inline constexpr std::size_t rule_id_bytes_max = 64;
// Names and descriptions shown to members.
inline constexpr std::size_t rule_text_bytes_max = 1'000;
// base_earn.points, tier multipliers' integer part, limit.per_member: large enough for any
// real program, small enough that base = total × points × multiplier never overflows.
inline constexpr std::int64_t base_points_max = 1'000'000;
inline constexpr std::int64_t tier_multiplier_max = 1'000;
// Days in any *_days field (pending, expiry, window, period, backdate): 100 years.
inline constexpr std::int64_t rule_days_max = 36'500;
// |priority|: any ordering a person writes fits.
inline constexpr std::int64_t offer_priority_max = 1'000'000'000;

// ---- Inputs read by the CLI (member and event files) ----------------------------

// A member or event JSON file given to `encore rules explain`: API.md's body limit is
// 64 KiB by default; 1 MiB is generous for a hand-made file.
inline constexpr std::size_t input_file_bytes_max = 1 << 20;

// ---- Expressions (rules/internal/expr*) -----------------------------------------

// One `when`/`award`/`eligible` text: the longest real condition is a few hundred bytes;
// 4 KiB keeps compile time and the compiled node array (< 2,048 nodes) small.
inline constexpr std::size_t expression_bytes_max = 4'096;
// Nesting of parentheses, calls, lists and unary operators: the parser recurses once per
// level; 64 is far beyond what a person writes and bounds the parser's stack.
inline constexpr int expression_nesting_max = 64;
// Depth of the compiled tree, which evaluation walks recursively: a chain `a || b || ...`
// adds one level per operand. 256 allows long chains yet bounds evaluation's stack
// (about 100 bytes a level).
inline constexpr int expression_tree_depth_max = 256;
// Steps of one evaluation (a node visited or a list element iterated): the 20-offer
// benchmark uses ~20 per offer; 10,000 lets a sum over a 1,000-item basket run, and
// bounds a nested any(event.items, any(event.items, ...)) to ~10 µs.
inline constexpr std::int64_t expression_steps_max = 10'000;
// Values in one list literal (`['sat', 'sun']`): lists of SKUs or stores written by hand;
// 1,000 is plenty and bounds the compiled constant (searched by bisection beyond 16).
inline constexpr std::size_t expression_list_values_max = 1'000;

}  // namespace encore::rules
