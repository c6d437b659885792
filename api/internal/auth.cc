// API keys: parsing the keys file, hashing, constant-time lookup, the role matrix.
#include "api/internal/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "rules/base/hex.h"

namespace encore::api::internal {

std::string_view role_name(Role role) {
  switch (role) {
    case Role::pos: return "pos";
    case Role::marketing: return "marketing";
    case Role::read: return "read";
    case Role::admin: return "admin";
  }
  return "?";
}

namespace {

constexpr std::uint8_t bit(Role r) { return static_cast<std::uint8_t>(1u << static_cast<int>(r)); }
constexpr std::uint8_t all_roles = bit(Role::pos) | bit(Role::marketing) | bit(Role::read) |
                                   bit(Role::admin);

// Indexed by Access. Mirrors API.md's "Role matrix" table row by row.
constexpr std::uint8_t role_matrix[] = {
    /* open        */ all_roles,
    /* write       */ bit(Role::pos) | bit(Role::admin),
    /* member_read */ all_roles,
    /* rules_read  */ bit(Role::marketing) | bit(Role::read) | bit(Role::admin),
    /* admin       */ bit(Role::admin),
    /* liability   */ bit(Role::marketing) | bit(Role::admin),
    /* metrics     */ bit(Role::read) | bit(Role::admin),
};
static_assert(sizeof role_matrix == static_cast<std::size_t>(Access::metrics) + 1);

}  // namespace

bool role_allowed(Access access, Role role) {
  return (role_matrix[static_cast<int>(access)] & bit(role)) != 0;
}

Sha256 sha256(std::string_view data) {
  // Every request hashes its key: fetch the algorithm once and reuse a context per thread
  // (OpenSSL 3's one-shot SHA256() looks the algorithm up on each call).
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(
      EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  Sha256 out;
  unsigned int size = 0;
  const bool ok = md != nullptr && ctx != nullptr &&
                  EVP_DigestInit_ex(ctx.get(), md, nullptr) == 1 &&
                  EVP_DigestUpdate(ctx.get(), data.data(), data.size()) == 1 &&
                  EVP_DigestFinal_ex(ctx.get(), out.data(), &size) == 1 && size == out.size();
  if (!ok) SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data());
  return out;
}

std::string to_hex(const unsigned char* data, std::size_t size) {
  std::string s;
  append_hex(s, std::span<const std::uint8_t>(data, size));
  return s;
}

Result<KeyStore> KeyStore::parse(std::string_view text) {
  KeyStore store;
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      return make_error(ErrorCode::invalid_request,
                        "keys file line " + std::to_string(line_no) + ": expected role:key");
    }
    std::string_view role = line.substr(0, colon);
    std::string_view key = line.substr(colon + 1);
    ApiKey k;
    if (role == "pos") {
      k.role = Role::pos;
    } else if (role == "marketing") {
      k.role = Role::marketing;
    } else if (role == "read") {
      k.role = Role::read;
    } else if (role == "admin") {
      k.role = Role::admin;
    } else {
      return make_error(ErrorCode::invalid_request,
                        "keys file line " + std::to_string(line_no) +
                            ": unknown role (expected pos, marketing, read or admin)");
    }
    if (key.empty()) {
      return make_error(ErrorCode::invalid_request,
                        "keys file line " + std::to_string(line_no) + ": empty key");
    }
    k.hash = sha256(key);
    for (const ApiKey& other : store.keys_) {
      if (other.hash == k.hash) {
        return make_error(ErrorCode::invalid_request,
                          "keys file line " + std::to_string(line_no) + ": duplicate key");
      }
    }
    k.client = to_hex(k.hash.data(), 8);
    store.keys_.push_back(std::move(k));
  }
  if (store.keys_.empty()) {
    return make_error(ErrorCode::invalid_request, "keys file holds no key");
  }
  return store;
}

Result<KeyStore> KeyStore::load_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::invalid_request, "cannot read keys file " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str());
}

const ApiKey* KeyStore::find(std::string_view key) const {
  const Sha256 h = sha256(key);
  const ApiKey* found = nullptr;
  for (const ApiKey& k : keys_) {
    // Every stored hash is compared in full; no early exit.
    const bool same = CRYPTO_memcmp(k.hash.data(), h.data(), h.size()) == 0;
    found = same ? &k : found;
  }
  return found;
}

}  // namespace encore::api::internal
