// Proves the idempotency record's outcome codec (ledger/internal/codec.cc): random outcomes
// round-trip through encode_outcome/decode_outcome field by field (entries by seq only: the
// journal has the rest), and corrupt bytes (every truncation, random flips, hand-made
// records) decode to false or to an outcome that re-encodes to itself: never a crash, an
// assertion, undefined behaviour (run under ENCORE_SANITIZE too) or an allocation the
// bytes do not pay for.
#include <doctest/doctest.h>

#include <sys/resource.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/internal/codec.h"
#include "ledger/ledger.h"
#include "tests/ledger/outcome_checks.h"

namespace encore::ledger::testing {
namespace {

using Rng = std::mt19937_64;

std::int64_t any_int(Rng& rng) {
  switch (rng() % 6) {
    case 0: return std::numeric_limits<std::int64_t>::min();
    case 1: return std::numeric_limits<std::int64_t>::max();
    case 2: return -static_cast<std::int64_t>(rng() % 1000);
    case 3: return static_cast<std::int64_t>(rng() % 1000);
    default: return static_cast<std::int64_t>(rng());
  }
}

Timestamp any_time(Rng& rng) { return Timestamp{any_int(rng)}; }

// Text with ASCII, 2-, 3- and 4-byte UTF-8, quotes, control characters and NUL.
std::string any_text(Rng& rng) {
  static constexpr std::string_view kPieces[] = {"a", "Z", "-", ":", "\"", "\\", "\n", "é",
                                                 "€", "名", "🎵", std::string_view("\0", 1)};
  std::string out;
  for (std::size_t n = rng() % 12; n > 0; --n) out += kPieces[rng() % std::size(kPieces)];
  return out;
}

// A date any Timestamp can fall on (what balances list) or a 4-digit birthday.
CivilDate any_date(Rng& rng) {
  const std::int64_t days_max = std::numeric_limits<std::int64_t>::max() / micros_per_day + 1;
  const auto span = static_cast<std::uint64_t>(2 * days_max + 1);
  switch (rng() % 3) {
    case 0: return civil_from_days(static_cast<std::int64_t>(rng() % span) - days_max);
    case 1: return civil_from_days(rng() % 2 == 0 ? days_max : -days_max);
    default: return CivilDate{static_cast<int>(rng() % 10000), static_cast<int>(rng() % 12 + 1),
                              static_cast<int>(rng() % 28 + 1)};
  }
}

rules::AttributeValue any_attribute(Rng& rng) {
  switch (rng() % 4) {
    case 0: return any_text(rng);
    case 1: return any_int(rng);
    case 2: return Decimal::from_units(any_int(rng));
    default: return rng() % 2 == 0;
  }
}

Balance any_balance(Rng& rng) {
  Balance b;
  b.member = any_text(rng);
  b.available = any_int(rng);
  b.pending = any_int(rng);
  b.held = any_int(rng);
  b.lifetime_earned = any_int(rng);
  b.tier = any_text(rng);
  for (std::size_t i = rng() % 6; i > 0; --i) b.expiring.push_back({any_date(rng), any_int(rng)});
  b.as_of = rng();
  return b;
}

Member any_member(Rng& rng) {
  Member m;
  m.id = any_text(rng);
  m.status = rng() % 2 == 0 ? MemberStatus::active : MemberStatus::frozen;
  m.tier = any_text(rng);
  if (rng() % 3 != 0) m.birthday = any_date(rng);
  for (std::size_t i = rng() % 8; i > 0; --i) m.attributes[any_text(rng)] = any_attribute(rng);
  m.enrolled_at = any_time(rng);
  return m;
}

Hold any_hold(Rng& rng) {
  static constexpr HoldStatus kStatuses[] = {HoldStatus::active, HoldStatus::captured,
                                             HoldStatus::voided, HoldStatus::expired};
  Hold h;
  h.id = any_text(rng);
  h.member = any_text(rng);
  h.points = any_int(rng);
  h.status = kStatuses[rng() % 4];
  h.created_at = any_time(rng);
  h.expires_at = any_time(rng);
  h.order_id = any_text(rng);
  h.captured = any_int(rng);
  return h;
}

// Entries in seq order, consecutive or with gaps of any size.
std::vector<Entry> any_entries(Rng& rng) {
  std::vector<Entry> out;
  Seq seq = rng() % 2 == 0 ? 0 : rng() >> 1;
  for (std::size_t i = rng() % 3 == 0 ? 0 : rng() % 40; i > 0; --i) {
    seq += rng() % 4 == 0 ? rng() % (Seq{1} << 40) + 1 : 1;
    Entry e;
    e.seq = seq;
    out.push_back(e);
  }
  return out;
}

CommandOutcome any_outcome(Rng& rng) {
  CommandOutcome o;
  if (rng() % 3 == 0) {
    const std::size_t codes = static_cast<std::size_t>(error_codes_end() - error_codes_begin());
    o.status = make_error(error_codes_begin()[rng() % codes], any_text(rng));
  }
  o.now = any_time(rng);
  o.entries = any_entries(rng);
  if (rng() % 2 == 0) o.balance = any_balance(rng);
  if (rng() % 2 == 0) o.member = any_member(rng);
  if (rng() % 2 == 0) o.hold = any_hold(rng);
  for (std::size_t i = rng() % 5; i > 0; --i) {
    o.offers.push_back({any_text(rng), any_text(rng), any_int(rng)});
  }
  o.points = any_int(rng);
  return o;
}

std::string encoded(const CommandOutcome& o) {
  internal::Encoder e;
  internal::encode_outcome(e, o);
  return e.take();
}

// As the idempotency record reads it: the outcome, then nothing.
bool decoded(std::string_view bytes, CommandOutcome* o) {
  internal::Decoder d(bytes);
  return internal::decode_outcome(d, o) && d.done();
}

// Every field of b (as decode leaves it: entries hold their seq only, not replayed).
void check_same_outcome(const CommandOutcome& a, const CommandOutcome& b) {
  check_same_outcome_fields(a, b);
  for (std::size_t i = 0; i < a.entries.size(); ++i) CHECK(a.entries[i].seq == b.entries[i].seq);
  CHECK_FALSE(b.replayed);
}

// What corrupt bytes may decode to: anything encode_outcome writes back the same way.
void check_decodes_safely(std::string_view bytes) {
  CommandOutcome o;
  if (!decoded(bytes, &o)) return;
  CommandOutcome again;
  REQUIRE(decoded(encoded(o), &again));
  check_same_outcome(o, again);
}

// A record written field by field: a success at time 0 without entries, the given parts
// (their fields written by `fields`), no offers, 0 points.
template <typename F>
std::string record(std::uint8_t parts, F&& fields) {
  internal::Encoder e;
  e.str("");
  e.svarint(0);
  e.varint(0);
  e.u8(parts);
  fields(e);
  e.varint(0);
  e.svarint(0);
  return e.take();
}

std::string balance_expiring_on(std::int64_t day) {
  return record(1, [day](internal::Encoder& e) {
    e.str("m-1");
    for (int i = 0; i < 4; ++i) e.svarint(0);
    e.str("");
    e.varint(1);
    e.svarint(day);
    e.svarint(5);
    e.varint(0);
  });
}

std::string member_with(std::uint8_t status, std::int64_t birthday) {
  return record(2, [=](internal::Encoder& e) {
    e.str("m-1");
    e.u8(status);
    e.str("");
    e.u8(1);
    e.svarint(birthday);
    e.varint(0);
    e.svarint(0);
  });
}

std::string hold_with(std::uint8_t status) {
  return record(4, [=](internal::Encoder& e) {
    e.str("h-1");
    e.str("m-1");
    e.svarint(5);
    e.u8(status);
    e.svarint(0);
    e.svarint(0);
    e.str("");
    e.svarint(0);
  });
}

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

constexpr int kOutcomes = 400;

}  // namespace

TEST_CASE("random outcomes round-trip through the idempotency record's codec") {
  for (std::uint64_t seed = 1; seed <= kOutcomes; ++seed) {
    Rng rng(seed);
    const CommandOutcome first = any_outcome(rng);
    INFO("seed " << seed);
    CommandOutcome back;
    REQUIRE(decoded(encoded(first), &back));
    check_same_outcome(first, back);
  }
}

TEST_CASE("an outcome with every part, values at the limits, round-trips") {
  CommandOutcome o;
  o.status = make_error(ErrorCode::insufficient_points, "need 10 more points — 名前 🎵");
  o.now = Timestamp{std::numeric_limits<std::int64_t>::min()};
  for (Seq seq : {Seq{1}, Seq{2}, Seq{9}, Seq{1} << 62, std::numeric_limits<Seq>::max()}) {
    o.entries.emplace_back().seq = seq;
  }
  Rng rng(7);
  o.balance = any_balance(rng);
  o.balance->available = -5;
  o.balance->expiring = {{CivilDate{2026, 12, 31}, -3}, {CivilDate{1969, 12, 31}, 0}};
  o.member = any_member(rng);
  o.member->birthday = CivilDate{0, 1, 1};
  o.member->attributes = {{"s", std::string("Lyon")},
                          {"i", std::numeric_limits<std::int64_t>::min()},
                          {"d", Decimal::from_units(-1'500'000)},
                          {"b", true},
                          {"", false}};
  o.hold = any_hold(rng);
  o.offers = {{"vinyl", "Vinyl \"week\" ♪", 25}, {"", "", -1}};
  o.points = std::numeric_limits<std::int64_t>::max();
  for (HoldStatus status : {HoldStatus::active, HoldStatus::captured, HoldStatus::voided,
                            HoldStatus::expired}) {
    o.hold->status = status;
    o.member->status = status == HoldStatus::voided ? MemberStatus::frozen : MemberStatus::active;
    CommandOutcome back;
    REQUIRE(decoded(encoded(o), &back));
    check_same_outcome(o, back);
  }
}

TEST_CASE("every truncation of an encoded outcome is refused") {
  for (std::uint64_t seed = 1; seed <= kOutcomes / 4; ++seed) {
    Rng rng(seed);
    const std::string bytes = encoded(any_outcome(rng));
    INFO("seed " << seed);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      CommandOutcome o;
      INFO("first " << n << " of " << bytes.size() << " bytes");
      CHECK_FALSE(decoded(std::string_view(bytes).substr(0, n), &o));
    }
  }
}

TEST_CASE("random byte flips decode to false or to an outcome that re-encodes") {
  for (std::uint64_t seed = 1; seed <= kOutcomes; ++seed) {
    Rng rng(seed);
    const std::string bytes = encoded(any_outcome(rng));
    for (int round = 0; round < 20; ++round) {
      std::string bad = bytes;
      for (std::size_t k = rng() % 3 + 1; k > 0; --k) {
        bad[rng() % bad.size()] ^= static_cast<char>(rng() % 255 + 1);
      }
      INFO("seed " << seed << " round " << round);
      check_decodes_safely(bad);
    }
  }
}

TEST_CASE("hand-made corrupt records are refused") {
  CommandOutcome o;
  SUBCASE("an error code this build does not know") {
    internal::Encoder e;
    e.str("no_such_code");
    e.str("detail");
    CHECK_FALSE(decoded(e.take() + encoded(CommandOutcome{}).substr(1), &o));
    internal::Encoder known;
    known.str("insufficient_points");
    known.str("detail");
    CHECK(decoded(known.take() + encoded(CommandOutcome{}).substr(1), &o));
  }
  SUBCASE("a member status or hold status out of range") {
    CHECK(decoded(member_with(1, 0), &o));
    CHECK_FALSE(decoded(member_with(2, 0), &o));
    CHECK_FALSE(decoded(member_with(255, 0), &o));
    CHECK(decoded(hold_with(3), &o));
    CHECK_FALSE(decoded(hold_with(4), &o));
  }
  SUBCASE("a date whose year does not fit (civil_from_days would overflow)") {
    const std::int64_t far = std::numeric_limits<std::int64_t>::max() / micros_per_day + 1;
    CHECK(decoded(balance_expiring_on(far), &o));
    CHECK(decoded(balance_expiring_on(-far), &o));
    CHECK(decoded(member_with(0, -far), &o));
    for (std::int64_t day : {std::numeric_limits<std::int64_t>::max(),
                             std::numeric_limits<std::int64_t>::min(), std::int64_t{1} << 50,
                             -(std::int64_t{1} << 50)}) {
      CHECK_FALSE(decoded(balance_expiring_on(day), &o));
      CHECK_FALSE(decoded(member_with(0, day), &o));
    }
  }
  SUBCASE("parts this build does not know") {
    CHECK(decoded(record(0, [](internal::Encoder&) {}), &o));
    CHECK_FALSE(decoded(record(8, [](internal::Encoder&) {}), &o));
  }
  SUBCASE("a huge count with no bytes behind it allocates nothing") {
    const long before = peak_rss_kib();
    internal::Encoder entries;
    entries.str("");
    entries.svarint(0);
    entries.varint(999'999);  // ~400 MB of placeholder entries if trusted
    CHECK_FALSE(decoded(entries.take(), &o));
    CHECK_FALSE(decoded(record(1, [](internal::Encoder& e) {
                          e.str("m-1");
                          for (int i = 0; i < 4; ++i) e.svarint(0);
                          e.str("");
                          e.varint(std::uint64_t{1} << 63);  // expiring dates
                        }),
                        &o));
    internal::Encoder offers;
    offers.raw(std::string(4, '\0'));
    offers.varint(std::uint64_t{1} << 63);
    CHECK_FALSE(decoded(offers.take(), &o));
    CHECK(peak_rss_kib() - before < 64 * 1024);
  }
}

}  // namespace encore::ledger::testing
