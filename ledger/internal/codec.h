// Compact binary encoding of ledger records and keys, and the SHA-256 hash chain
// (ledger/internal). Every record starts with a version byte.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/ledger.h"
#include "rules/base/status.h"

namespace encore::ledger::internal {

// 2: the member's previous entry (prev) follows the member id.
inline constexpr std::uint8_t entry_format_version = 2;

class Encoder {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void varint(std::uint64_t v) {  // inline: records are mostly varints
    char buf[10];
    std::size_t n = 0;
    while (v >= 0x80) {
      buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    buf[n++] = static_cast<char>(v);
    out_.append(buf, n);
  }
  void svarint(std::int64_t v) {  // zigzag
    varint((static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
  }
  void str(std::string_view s) {
    varint(s.size());
    out_.append(s);
  }
  void raw(std::string_view s) { out_.append(s); }
  void be64(std::uint64_t v);
  std::string& out() { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads what Encoder wrote; any overrun sets !ok() and returns zeros.
class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}
  std::uint8_t u8();
  std::uint64_t varint();
  std::int64_t svarint() {
    std::uint64_t u = varint();
    return static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  std::string str();
  std::string_view raw(std::size_t n);
  std::uint64_t be64();
  bool ok() const { return ok_; }
  bool done() const { return ok_ && in_.empty(); }

 private:
  std::string_view in_;
  bool ok_ = true;
};

std::string be64_key(std::uint64_t v);
std::uint64_t be64_value(std::string_view key);  // REQUIRES: key.size() >= 8
// "<member>\0<be64 seq>": member ids never contain NUL, so a member's keys are contiguous.
std::string member_seq_key(std::string_view member, Seq seq);
// Splits a member_seq_key; false when it is not one.
bool split_member_seq_key(std::string_view key, std::string_view* member, Seq* seq);

Hash sha256(std::string_view data);
// The chain: hash = SHA-256(previous hash || encoding).
Hash chain_hash(const Hash& previous, std::string_view encoding);

// The journal value: the entry's encoding followed by its 32-byte hash.
std::string encode_entry(const Entry& entry);  // the encoding only (no hash)
std::string journal_value(const Entry& entry, std::string_view encoding);
Result<Entry> decode_journal_value(std::string_view value);

void encode_attribute_value(Encoder& e, const rules::AttributeValue& value);
rules::AttributeValue decode_attribute_value(Decoder& d);
void encode_attributes(Encoder& e, const rules::Attributes& attributes);
rules::Attributes decode_attributes(Decoder& d);

// A command's outcome, as an idempotency record keeps it for a retry (docs/storage.md):
// its entries by seq only (the journal has them; decode leaves placeholders holding just
// the seq), the rest in full. Errors are kept by code name, so the code table may grow.
void encode_outcome(Encoder& e, const CommandOutcome& outcome);
// False when the bytes are not an outcome.
bool decode_outcome(Decoder& d, CommandOutcome* outcome);

// The rulesets family's record: version 1, the file count, then (name, content) per file.
std::string encode_rule_files(const std::vector<rules::RuleFile>& files);
// internal ("corrupt rule set record") when the value is not one.
Result<std::vector<rules::RuleFile>> decode_rule_files(std::string_view value);

}  // namespace encore::ledger::internal
