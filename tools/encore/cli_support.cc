// Helpers shared by the `encore` CLI's subcommands (tools/encore/cli_support.h).
#include "tools/encore/cli_support.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "rules/limits.h"

namespace encore::cli {

std::optional<std::string> read_small_file(const std::string& path, const char* what) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    std::fprintf(stderr, "encore: cannot read the %s file %s: %s\n", what, path.c_str(),
                 std::strerror(errno));
    return std::nullopt;
  }
  std::string content(rules::input_file_bytes_max + 1, '\0');
  std::size_t n = std::fread(content.data(), 1, content.size(), f);
  bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) {
    std::fprintf(stderr, "encore: cannot read the %s file %s\n", what, path.c_str());
    return std::nullopt;
  }
  if (n > rules::input_file_bytes_max) {
    std::fprintf(stderr, "encore: the %s file %s is larger than %zu bytes\n", what, path.c_str(),
                 rules::input_file_bytes_max);
    return std::nullopt;
  }
  content.resize(n);
  return content;
}

std::shared_ptr<const rules::RuleSet> load_or_report(const std::string& dir) {
  rules::LoadResult loaded = rules::load_directory(dir);
  for (const auto& e : loaded.errors) std::fprintf(stderr, "%s\n", e.to_string().c_str());
  return loaded.rule_set;
}

std::string_view rounding_name(rules::Rounding r) {
  switch (r) {
    case rules::Rounding::floor: return "floor";
    case rules::Rounding::round: return "round";
    case rules::Rounding::ceil: return "ceil";
  }
  return "floor";
}

std::string_view expiry_name(rules::ExpiryPolicy p) {
  switch (p) {
    case rules::ExpiryPolicy::none: return "none";
    case rules::ExpiryPolicy::fixed: return "fixed";
    case rules::ExpiryPolicy::inactivity: return "inactivity";
  }
  return "none";
}

}  // namespace encore::cli
