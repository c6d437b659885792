// Bytes as lowercase hexadecimal text (rules/base, the lowest layer): hashes in entries,
// responses, rule-set versions and key fingerprints all use this one spelling.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace encore {

// Appends two lowercase hex digits per byte to out.
void append_hex(std::string& out, std::span<const std::uint8_t> bytes);

}  // namespace encore
