// The router (api/internal): method + path pattern -> route, without regular
// expressions. One table lists every route with its access group and body kind.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "api/handler.h"
#include "api/internal/auth.h"

namespace encore::api::internal {

enum class RouteId : std::uint8_t {
  healthz,
  readyz,
  metrics,
  members_create,
  member_get,
  member_patch,
  member_balance,
  member_entries,
  member_offers,
  member_redemptions,
  member_holds,
  member_adjustments,
  events,
  quote,
  hold_get,
  hold_capture,
  hold_void,
  entry_reverse,
  rules_get,
  rules_validate,
  rules_reload,
  journal,
  liability,
  admin_clock,
};
inline constexpr std::size_t route_count = static_cast<std::size_t>(RouteId::admin_clock) + 1;

enum class BodyKind : std::uint8_t {
  none,           // the body is ignored
  json,           // a JSON object is required
  json_optional,  // a JSON object; an empty body reads as {}
  text,           // any text (a rule file for validate)
};

struct Route {
  Method method;
  std::string_view pattern;  // "/v1/members/{id}/balance"; at most one {param}
  RouteId id;
  Access access;
  BodyKind body;
  bool idempotency_key;  // API.md: the POSTs that require an Idempotency-Key
};

std::span<const Route> routes();
const Route& route(RouteId id);
std::string_view method_name(Method m);

struct RouteMatch {
  const Route* route = nullptr;   // set when matched
  std::string_view param;         // the {param} segment, as sent (not decoded)
  bool path_known = false;        // some route has this path (405 when route is null)
  std::string allow;              // for 405: "GET, PATCH"
};

// path: the target without its query string.
RouteMatch match_route(Method method, std::string_view path);

}  // namespace encore::api::internal
