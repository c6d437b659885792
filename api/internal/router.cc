// The route table and the matcher: segment-by-segment comparison against each pattern
// (about 25 routes, a few hundred nanoseconds; no regex).
#include "api/internal/router.h"

namespace encore::api::internal {

namespace {

using enum Method;
using A = Access;
using B = BodyKind;

constexpr Route route_table[] = {
    {get, "/healthz", RouteId::healthz, A::open, B::none, false},
    {get, "/readyz", RouteId::readyz, A::open, B::none, false},
    {get, "/metrics", RouteId::metrics, A::metrics, B::none, false},
    {post, "/v1/members", RouteId::members_create, A::write, B::json_optional, true},
    {get, "/v1/members/{id}", RouteId::member_get, A::member_read, B::none, false},
    {patch, "/v1/members/{id}", RouteId::member_patch, A::write, B::json, false},
    {get, "/v1/members/{id}/balance", RouteId::member_balance, A::member_read, B::none, false},
    {get, "/v1/members/{id}/entries", RouteId::member_entries, A::member_read, B::none, false},
    {get, "/v1/members/{id}/offers", RouteId::member_offers, A::member_read, B::none, false},
    {post, "/v1/members/{id}/redemptions", RouteId::member_redemptions, A::write, B::json, true},
    {post, "/v1/members/{id}/holds", RouteId::member_holds, A::write, B::json, true},
    {post, "/v1/members/{id}/adjustments", RouteId::member_adjustments, A::admin, B::json, true},
    {post, "/v1/events", RouteId::events, A::write, B::json, true},
    {post, "/v1/quote", RouteId::quote, A::write, B::json, false},
    {get, "/v1/holds/{id}", RouteId::hold_get, A::member_read, B::none, false},
    {post, "/v1/holds/{id}/capture", RouteId::hold_capture, A::write, B::json_optional, true},
    {post, "/v1/holds/{id}/void", RouteId::hold_void, A::write, B::json_optional, true},
    {post, "/v1/entries/{seq}/reverse", RouteId::entry_reverse, A::write, B::json_optional, true},
    {get, "/v1/rules", RouteId::rules_get, A::rules_read, B::none, false},
    {post, "/v1/rules/validate", RouteId::rules_validate, A::rules_read, B::text, false},
    {post, "/v1/admin/rules/reload", RouteId::rules_reload, A::admin, B::none, false},
    {get, "/v1/journal", RouteId::journal, A::admin, B::none, false},
    {get, "/v1/reports/liability", RouteId::liability, A::liability, B::none, false},
    {post, "/v1/admin/clock", RouteId::admin_clock, A::admin, B::json, false},
};
static_assert(std::size(route_table) == route_count);

constexpr bool table_in_id_order() {
  for (std::size_t i = 0; i < std::size(route_table); ++i) {
    if (static_cast<std::size_t>(route_table[i].id) != i) return false;
  }
  return true;
}
static_assert(table_in_id_order());

// Matches path against pattern; sets param to the {..} segment.
bool path_matches(std::string_view pattern, std::string_view path, std::string_view& param) {
  while (true) {
    if (pattern.empty() || path.empty()) return pattern.empty() && path.empty();
    // Both start with '/'.
    if (pattern[0] != '/' || path[0] != '/') return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    const auto pe = pattern.find('/');
    const auto se = path.find('/');
    std::string_view pseg = pattern.substr(0, pe);
    std::string_view sseg = path.substr(0, se);
    if (!pseg.empty() && pseg.front() == '{') {
      if (sseg.empty()) return false;
      param = sseg;
    } else if (pseg != sseg) {
      return false;
    }
    pattern = pe == std::string_view::npos ? std::string_view{} : pattern.substr(pe);
    path = se == std::string_view::npos ? std::string_view{} : path.substr(se);
  }
}

}  // namespace

std::span<const Route> routes() { return route_table; }

const Route& route(RouteId id) { return route_table[static_cast<std::size_t>(id)]; }

std::string_view method_name(Method m) {
  switch (m) {
    case get: return "GET";
    case post: return "POST";
    case patch: return "PATCH";
    case put: return "PUT";
    case delete_: return "DELETE";
    case head: return "HEAD";
    case options: return "OPTIONS";
    case other: return "OTHER";
  }
  return "OTHER";
}

RouteMatch match_route(Method method, std::string_view path) {
  RouteMatch m;
  for (const Route& r : route_table) {
    std::string_view param;
    if (!path_matches(r.pattern, path, param)) continue;
    m.path_known = true;
    if (r.method == method) {
      m.route = &r;
      m.param = param;
      return m;
    }
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += method_name(r.method);
  }
  return m;
}

}  // namespace encore::api::internal
