// API keys and roles (api/internal): the keys file (`role:key` per line) kept only as
// SHA-256 hashes, constant-time lookup, and API.md's role matrix as one table.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "rules/base/status.h"

namespace encore::api::internal {

enum class Role : std::uint8_t { pos, marketing, read, admin };
std::string_view role_name(Role role);

// Who may call a route: one row per endpoint group of API.md's role matrix.
enum class Access : std::uint8_t {
  open,         // /healthz, /readyz: no key
  write,        // members create/patch, events, quote, redemptions, holds, reverse
  member_read,  // member/balance/entries/offers/holds reads
  rules_read,   // rules get, validate
  admin,        // rules reload, adjustments, journal, clock
  liability,    // liability report
  metrics,      // /metrics
};

// API.md's role matrix, the whole truth.
bool role_allowed(Access access, Role role);

using Sha256 = std::array<unsigned char, 32>;
Sha256 sha256(std::string_view data);
std::string to_hex(const unsigned char* data, std::size_t size);

struct ApiKey {
  Sha256 hash;
  Role role;
  std::string client;  // stable id of the key for idempotency scope: 16 hex of its hash
};

class KeyStore {
 public:
  // Parses `role:key` lines; blank lines and lines starting with '#' are skipped. Errors
  // name the line, never the key.
  static Result<KeyStore> parse(std::string_view text);
  static Result<KeyStore> load_file(const std::filesystem::path& path);

  // The key whose hash matches, or null. Compares against every stored hash in constant
  // time, so the time taken does not depend on which key (or how much of one) matched.
  const ApiKey* find(std::string_view key) const;
  std::size_t size() const { return keys_.size(); }

 private:
  std::vector<ApiKey> keys_;
};

}  // namespace encore::api::internal
