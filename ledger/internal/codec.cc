// Binary encoding of ledger records and keys, and the SHA-256 chain (ledger/internal).
#include "ledger/internal/codec.h"

#include <openssl/evp.h>

#include <cstring>
#include <optional>
#include <span>

#include "rules/base/hex.h"

namespace encore::ledger::internal {
namespace {

constexpr std::string_view kSha256Prefix = "sha256:";

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// A rule set version "sha256:<64 lowercase hex>" is stored as its 32 raw bytes (form 1);
// anything else as text (form 2); none as form 0.
void encode_ruleset(Encoder& e, std::string_view version) {
  if (version.empty()) {
    e.u8(0);
    return;
  }
  if (version.size() == kSha256Prefix.size() + 64 && version.starts_with(kSha256Prefix)) {
    char raw[32];  // on the stack: this runs for every entry
    bool good = true;
    for (std::size_t i = 0; i < 32 && good; ++i) {
      int hi = hex_digit(version[kSha256Prefix.size() + 2 * i]);
      int lo = hex_digit(version[kSha256Prefix.size() + 2 * i + 1]);
      good = hi >= 0 && lo >= 0;
      raw[i] = static_cast<char>(hi * 16 + lo);
    }
    if (good) {
      e.u8(1);
      e.raw(std::string_view(raw, sizeof raw));
      return;
    }
  }
  e.u8(2);
  e.str(version);
}

std::string decode_ruleset(Decoder& d) {
  switch (d.u8()) {
    case 0:
      return {};
    case 1: {
      std::string_view raw = d.raw(32);
      std::string out(kSha256Prefix);
      append_hex(out, std::span(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size()));
      return out;
    }
    default:
      return d.str();
  }
}

}  // namespace

void Encoder::be64(std::uint64_t v) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out_.append(buf, 8);
}

std::uint8_t Decoder::u8() {
  if (in_.empty()) {
    ok_ = false;
    return 0;
  }
  auto v = static_cast<std::uint8_t>(in_[0]);
  in_.remove_prefix(1);
  return v;
}

std::uint64_t Decoder::varint() {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in_.empty()) break;
    auto b = static_cast<std::uint8_t>(in_[0]);
    in_.remove_prefix(1);
    v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
  ok_ = false;
  return 0;
}

std::string Decoder::str() {
  std::uint64_t n = varint();
  if (!ok_ || n > in_.size()) {
    ok_ = false;
    return {};
  }
  std::string s(in_.substr(0, n));
  in_.remove_prefix(n);
  return s;
}

std::string_view Decoder::raw(std::size_t n) {
  if (n > in_.size()) {
    ok_ = false;
    return {};
  }
  std::string_view s = in_.substr(0, n);
  in_.remove_prefix(n);
  return s;
}

std::uint64_t Decoder::be64() {
  std::string_view s = raw(8);
  return ok_ ? be64_value(s) : 0;
}

std::string be64_key(std::uint64_t v) {
  Encoder e;
  e.be64(v);
  return e.take();
}

std::uint64_t be64_value(std::string_view key) {
  ENCORE_ASSERT(key.size() >= 8);
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<std::uint8_t>(key[i]);
  return v;
}

std::string member_seq_key(std::string_view member, Seq seq) {
  std::string key;
  key.reserve(member.size() + 9);
  key.append(member);
  key.push_back('\0');
  Encoder e;
  e.be64(seq);
  key.append(e.out());
  return key;
}

bool split_member_seq_key(std::string_view key, std::string_view* member, Seq* seq) {
  if (key.size() < 9 || key[key.size() - 9] != '\0') return false;
  *member = key.substr(0, key.size() - 9);
  *seq = be64_value(key.substr(key.size() - 8));
  return true;
}

namespace {

// SHA-256 fetched once: EVP_sha256() in a digest call makes OpenSSL 3 look the algorithm up
// again on every call (perf: ~5% of the writer's time went to EVP_MD_fetch).
const EVP_MD* sha256_md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  ENCORE_ASSERT(md != nullptr);
  return md;
}

// One digest context per thread, reused (the writer hashes every entry; verify every one).
struct DigestContext {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~DigestContext() { EVP_MD_CTX_free(ctx); }
};

Hash digest(std::string_view a, std::string_view b) {
  thread_local DigestContext context;
  Hash out{};
  unsigned int len = 0;
  EVP_MD_CTX* ctx = context.ctx;
  bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, sha256_md(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx, a.data(), a.size()) == 1 &&
            EVP_DigestUpdate(ctx, b.data(), b.size()) == 1 &&
            EVP_DigestFinal_ex(ctx, out.data(), &len) == 1;
  ENCORE_ASSERT(ok && len == out.size());
  return out;
}

}  // namespace

Hash sha256(std::string_view data) { return digest(data, {}); }

Hash chain_hash(const Hash& previous, std::string_view encoding) {
  return digest(std::string_view(reinterpret_cast<const char*>(previous.data()), previous.size()),
                encoding);
}

void encode_attribute_value(Encoder& e, const rules::AttributeValue& value) {
  e.u8(static_cast<std::uint8_t>(value.index()));
  switch (value.index()) {
    case 0:
      e.str(std::get<0>(value));
      break;
    case 1:
      e.svarint(std::get<1>(value));
      break;
    case 2:
      e.svarint(std::get<2>(value).units());
      break;
    default:
      e.u8(std::get<3>(value) ? 1 : 0);
      break;
  }
}

rules::AttributeValue decode_attribute_value(Decoder& d) {
  switch (d.u8()) {
    case 0:
      return d.str();
    case 1:
      return d.svarint();
    case 2:
      return Decimal::from_units(d.svarint());
    default:
      return d.u8() != 0;
  }
}

void encode_attributes(Encoder& e, const rules::Attributes& attributes) {
  e.varint(attributes.size());
  for (const auto& [key, value] : attributes) {
    e.str(key);
    encode_attribute_value(e, value);
  }
}

rules::Attributes decode_attributes(Decoder& d) {
  rules::Attributes out;
  std::uint64_t n = d.varint();
  for (std::uint64_t i = 0; i < n && d.ok(); ++i) {
    std::string key = d.str();
    out.emplace(std::move(key), decode_attribute_value(d));
  }
  return out;
}

std::string encode_entry(const Entry& entry) {
  Encoder e;
  // Room for every field and the 32-byte hash the journal value appends.
  e.out().reserve(160 + entry.member.size() + entry.channel.size() + entry.store.size() +
                  entry.order_id.size() + entry.offer.size() + entry.hold.size() +
                  entry.reason.size() + entry.tier.size());
  e.u8(entry_format_version);
  e.varint(entry.seq);
  e.u8(static_cast<std::uint8_t>(entry.kind));
  e.str(entry.member);
  e.varint(entry.prev);
  e.svarint(entry.points);
  e.svarint(entry.amount);
  e.svarint(entry.occurred_at.micros);
  e.svarint(entry.recorded_at.micros);
  e.str(entry.channel);
  e.str(entry.store);
  e.str(entry.order_id);
  e.str(entry.offer);
  e.varint(entry.reverses);
  e.str(entry.hold);
  e.str(entry.reason);
  encode_ruleset(e, entry.ruleset);
  e.str(entry.tier);
  e.varint(entry.lot);
  std::uint8_t flags = (entry.vests_at ? 1 : 0) | (entry.expires_at ? 2 : 0);
  e.u8(flags);
  if (entry.vests_at) e.svarint(entry.vests_at->micros);
  if (entry.expires_at) e.svarint(entry.expires_at->micros);
  return e.take();
}

std::string journal_value(const Entry& entry, std::string_view encoding) {
  std::string value;
  value.reserve(encoding.size() + entry.hash.size());
  value.append(encoding);
  value.append(reinterpret_cast<const char*>(entry.hash.data()), entry.hash.size());
  return value;
}

Result<Entry> decode_journal_value(std::string_view value) {
  auto corrupt = [](const char* why) {
    return make_error(ErrorCode::internal, std::string("corrupt journal entry: ") + why);
  };
  if (value.size() < 33) return corrupt("too short");
  Decoder d(value.substr(0, value.size() - 32));
  Entry entry;
  if (d.u8() != entry_format_version) return corrupt("unknown format version");
  entry.seq = d.varint();
  std::uint8_t kind = d.u8();
  if (kind < 1 || kind > 11) return corrupt("unknown kind");
  entry.kind = static_cast<EntryKind>(kind);
  entry.member = d.str();
  entry.prev = d.varint();
  entry.points = d.svarint();
  entry.amount = d.svarint();
  entry.occurred_at.micros = d.svarint();
  entry.recorded_at.micros = d.svarint();
  entry.channel = d.str();
  entry.store = d.str();
  entry.order_id = d.str();
  entry.offer = d.str();
  entry.reverses = d.varint();
  entry.hold = d.str();
  entry.reason = d.str();
  entry.ruleset = decode_ruleset(d);
  entry.tier = d.str();
  entry.lot = d.varint();
  std::uint8_t flags = d.u8();
  if (flags & 1) entry.vests_at = Timestamp{d.svarint()};
  if (flags & 2) entry.expires_at = Timestamp{d.svarint()};
  if (!d.done()) return corrupt("bad field encoding");
  std::memcpy(entry.hash.data(), value.data() + value.size() - 32, 32);
  return entry;
}

namespace {

std::optional<ErrorCode> error_code_named(std::string_view name) {
#define ENCORE_X(code, http, title) \
  if (name == #code) return ErrorCode::code;
  ENCORE_ERROR_CODES(ENCORE_X)
#undef ENCORE_X
  return std::nullopt;
}

enum OutcomeParts : std::uint8_t { kBalance = 1, kMember = 2, kHold = 4, kAllParts = 7 };

// A civil date's day number whose year fits CivilDate's int, so that civil_from_days neither
// overflows nor wraps: well beyond any date a Timestamp can fall on (~292,000 years).
constexpr std::int64_t kCivilDaysMax = 365LL * 2'000'000'000;

// False when the day is out of range.
bool decode_civil_date(Decoder& d, CivilDate* date) {
  const std::int64_t days = d.svarint();
  if (days < -kCivilDaysMax || days > kCivilDaysMax) return false;
  *date = civil_from_days(days);
  return true;
}

// A byte naming one of an enum's values 0..last, or nullopt.
template <typename Enum>
std::optional<Enum> decode_enum(Decoder& d, Enum last) {
  const std::uint8_t v = d.u8();
  if (v > static_cast<std::uint8_t>(last)) return std::nullopt;
  return static_cast<Enum>(v);
}

}  // namespace

void encode_outcome(Encoder& e, const CommandOutcome& o) {
  if (o.status) {
    e.str("");
  } else {
    e.str(error_code_name(o.status.code()));
    e.str(o.status.error().detail);
  }
  e.svarint(o.now.micros);
  // Seqs as differences (a command's entries are consecutive: 1, 1, ...).
  e.varint(o.entries.size());
  Seq last = 0;
  for (const Entry& entry : o.entries) {
    e.varint(entry.seq - last);
    last = entry.seq;
  }
  e.u8(static_cast<std::uint8_t>((o.balance ? kBalance : 0) | (o.member ? kMember : 0) |
                                 (o.hold ? kHold : 0)));
  if (const auto& b = o.balance) {
    e.str(b->member);
    e.svarint(b->available);
    e.svarint(b->pending);
    e.svarint(b->held);
    e.svarint(b->lifetime_earned);
    e.str(b->tier);
    e.varint(b->expiring.size());
    for (const auto& x : b->expiring) {
      e.svarint(days_from_civil(x.date));
      e.svarint(x.points);
    }
    e.varint(b->as_of);
  }
  if (const auto& m = o.member) {
    e.str(m->id);
    e.u8(static_cast<std::uint8_t>(m->status));
    e.str(m->tier);
    e.u8(m->birthday ? 1 : 0);
    if (m->birthday) e.svarint(days_from_civil(*m->birthday));
    encode_attributes(e, m->attributes);
    e.svarint(m->enrolled_at.micros);
  }
  if (const auto& h = o.hold) {
    e.str(h->id);
    e.str(h->member);
    e.svarint(h->points);
    e.u8(static_cast<std::uint8_t>(h->status));
    e.svarint(h->created_at.micros);
    e.svarint(h->expires_at.micros);
    e.str(h->order_id);
    e.svarint(h->captured);
  }
  e.varint(o.offers.size());
  for (const auto& offer : o.offers) {
    e.str(offer.id);
    e.str(offer.name);
    e.svarint(offer.points);
  }
  e.svarint(o.points);
}

// Every count is checked against the bytes by reading one item at a time (each takes at
// least a byte): a corrupt count fails at the end of the input instead of allocating.
bool decode_outcome(Decoder& d, CommandOutcome* o) {
  std::string code = d.str();
  if (!code.empty()) {
    auto known = error_code_named(code);
    std::string detail = d.str();
    if (!known) return false;
    o->status = make_error(*known, std::move(detail));
  }
  o->now = Timestamp{d.svarint()};
  const std::uint64_t entries = d.varint();
  Seq last = 0;
  for (std::uint64_t i = 0; i < entries && d.ok(); ++i) {
    last += d.varint();
    o->entries.emplace_back().seq = last;
  }
  const std::uint8_t parts = d.u8();
  if ((parts & ~kAllParts) != 0) return false;
  if ((parts & kBalance) != 0) {
    Balance& b = o->balance.emplace();
    b.member = d.str();
    b.available = d.svarint();
    b.pending = d.svarint();
    b.held = d.svarint();
    b.lifetime_earned = d.svarint();
    b.tier = d.str();
    const std::uint64_t n = d.varint();
    for (std::uint64_t i = 0; i < n && d.ok(); ++i) {
      ExpiringPoints x;
      if (!decode_civil_date(d, &x.date)) return false;
      x.points = d.svarint();
      b.expiring.push_back(x);
    }
    b.as_of = d.varint();
  }
  if ((parts & kMember) != 0) {
    Member& m = o->member.emplace();
    m.id = d.str();
    auto status = decode_enum(d, MemberStatus::frozen);
    if (!status) return false;
    m.status = *status;
    m.tier = d.str();
    if (d.u8() != 0 && !decode_civil_date(d, &m.birthday.emplace())) return false;
    m.attributes = decode_attributes(d);
    m.enrolled_at = Timestamp{d.svarint()};
  }
  if ((parts & kHold) != 0) {
    Hold& h = o->hold.emplace();
    h.id = d.str();
    h.member = d.str();
    h.points = d.svarint();
    auto status = decode_enum(d, HoldStatus::expired);
    if (!status) return false;
    h.status = *status;
    h.created_at = Timestamp{d.svarint()};
    h.expires_at = Timestamp{d.svarint()};
    h.order_id = d.str();
    h.captured = d.svarint();
  }
  const std::uint64_t offers = d.varint();
  for (std::uint64_t i = 0; i < offers && d.ok(); ++i) {
    OfferPoints offer;
    offer.id = d.str();
    offer.name = d.str();
    offer.points = d.svarint();
    o->offers.push_back(std::move(offer));
  }
  o->points = d.svarint();
  return d.ok();
}

std::string encode_rule_files(const std::vector<rules::RuleFile>& files) {
  Encoder e;
  e.u8(1);
  e.varint(files.size());
  for (const auto& f : files) {
    e.str(f.name);
    e.str(f.content);
  }
  return e.take();
}

Result<std::vector<rules::RuleFile>> decode_rule_files(std::string_view value) {
  Decoder d(value);
  if (d.u8() != 1) return make_error(ErrorCode::internal, "corrupt rule set record");
  std::vector<rules::RuleFile> files;
  std::uint64_t n = d.varint();
  for (std::uint64_t i = 0; i < n && d.ok(); ++i) {
    rules::RuleFile f;
    f.name = d.str();
    f.content = d.str();
    files.push_back(std::move(f));
  }
  if (!d.done()) return make_error(ErrorCode::internal, "corrupt rule set record");
  return files;
}

}  // namespace encore::ledger::internal
