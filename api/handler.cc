// handle(): routing, auth, media type, Idempotency-Key and problem+json, then the
// endpoint. No socket here; the session (api/internal/session.cc) does the I/O.
#include "api/handler.h"

#include <fmt/format.h>

#include "api/internal/auth.h"
#include "api/internal/endpoints.h"
#include "api/internal/json_writer.h"
#include "api/internal/metrics.h"
#include "api/internal/router.h"
#include "api/limits.h"
#include "ledger/ledger.h"

namespace encore::api {

using internal::JsonWriter;

namespace {

constexpr std::string_view problem_type_prefix = "https://encore.example/errors/";

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// application/json, with or without parameters (charset=utf-8).
bool is_json_media_type(std::string_view content_type) {
  auto semi = content_type.find(';');
  return iequals(trim(content_type.substr(0, semi)), "application/json");
}

// "Bearer <key>" -> key; "" when absent or another scheme.
std::string_view bearer_key(std::string_view authorization) {
  authorization = trim(authorization);
  if (authorization.size() < 7 || !iequals(authorization.substr(0, 6), "bearer") ||
      (authorization[6] != ' ' && authorization[6] != '\t')) {
    return {};
  }
  return trim(authorization.substr(7));
}

bool printable_ascii(std::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

Response text_response(int status, std::string body, std::string_view content_type) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = content_type;
  return r;
}

Response readyz(const Context& ctx) {
  const bool ready = ctx.readiness.load(std::memory_order_acquire) == Readiness::ready &&
                     ctx.ledger != nullptr && ctx.ledger->healthy();
  if (!ready) {
    const auto state = ctx.readiness.load(std::memory_order_acquire);
    std::string_view why = state == Readiness::starting   ? "the server is starting"
                           : state == Readiness::draining ? "the server is shutting down"
                                                          : "storage failed; writes are stopped";
    if (state == Readiness::ready) why = "storage failed; writes are stopped";
    Response r = problem(ErrorCode::unavailable, why);
    r.retry_after_seconds = 1;
    return r;
  }
  return text_response(200, R"({"status":"ready"})", "application/json");
}

// API.md: /v1/admin/clock exists only when the server was started with --manual-clock;
// without it, the path is unknown to every method (404, not 405).
bool clock_path_absent(std::string_view path, const Context& ctx) {
  return ctx.manual_clock == nullptr &&
         path == internal::route(internal::RouteId::admin_clock).pattern;
}

// The route-independent checks, then the endpoint.
Response dispatch(const Request& req, Context& ctx, const internal::Route& route,
                  std::string_view path, std::string_view param, std::string_view query) {
  using internal::RouteId;
  if (req.metrics_listener && route.id != RouteId::metrics && route.id != RouteId::healthz &&
      route.id != RouteId::readyz) {
    return problem(ErrorCode::not_found, "only /metrics, /healthz and /readyz are served here");
  }
  if (route.id == RouteId::healthz) return text_response(200, R"({"status":"ok"})",
                                                        "application/json");
  if (route.id == RouteId::readyz) return readyz(ctx);

  const internal::ApiKey* key = nullptr;
  const bool open = route.access == internal::Access::open ||
                    (route.id == RouteId::metrics && req.metrics_listener);
  if (!open) {
    const std::string_view presented = bearer_key(req.authorization);
    if (presented.empty()) {
      return problem(ErrorCode::unauthorized, "send Authorization: Bearer <api key>");
    }
    key = ctx.keys != nullptr ? ctx.keys->find(presented) : nullptr;
    if (key == nullptr) return problem(ErrorCode::unauthorized, "unknown API key");
    if (!internal::role_allowed(route.access, key->role)) {
      return problem(ErrorCode::forbidden,
                     std::string("the ") + std::string(internal::role_name(key->role)) +
                         " role may not use this endpoint");
    }
  }
  if (route.id == RouteId::metrics) {
    if (ctx.metrics == nullptr) return text_response(200, "", "text/plain; version=0.0.4");
    return text_response(200, ctx.metrics->render(), "text/plain; version=0.0.4");
  }

  if (route.body == internal::BodyKind::json || route.body == internal::BodyKind::json_optional) {
    const bool empty_ok = route.body == internal::BodyKind::json_optional && req.body.empty() &&
                          req.content_type.empty();
    if (!empty_ok && !is_json_media_type(req.content_type)) {
      return problem(ErrorCode::unsupported_media_type,
                     req.content_type.empty() ? "send Content-Type: application/json"
                                              : "Content-Type must be application/json");
    }
  }
  if (route.idempotency_key) {
    if (!req.has_idempotency_key || req.idempotency_key.empty()) {
      return problem(ErrorCode::missing_idempotency_key,
                     "this request needs an Idempotency-Key header");
    }
    if (req.idempotency_key.size() > idempotency_key_bytes_max ||
        !printable_ascii(req.idempotency_key)) {
      return problem(ErrorCode::invalid_request,
                     "Idempotency-Key must be 1-128 printable ASCII characters");
    }
  }
  if (ctx.ledger == nullptr) {
    Response r = problem(ErrorCode::unavailable, "the ledger is not open");
    r.retry_after_seconds = 1;
    return r;
  }
  return internal::run_endpoint(internal::Call{req, ctx, route, path, param, query, key});
}

}  // namespace

Response problem(ErrorCode code, std::string_view detail) {
  return internal::problem_with(code, detail, nullptr);
}

Response problem(const Error& error) { return problem(error.code, error.detail); }

namespace internal {

Response problem_with(ErrorCode code, std::string_view detail,
                      const std::function<void(JsonWriter&)>& extra) {
  Response r;
  r.status = error_code_http_status(code);
  r.content_type = "application/problem+json";
  r.body.reserve(160 + detail.size());
  JsonWriter w(r.body);
  const std::string_view name = error_code_name(code);
  std::string type(problem_type_prefix);
  type += name;
  w.begin_object();
  w.field("type", type);
  w.field("title", error_code_title(code));
  w.field("status", static_cast<std::int64_t>(r.status));
  w.field("code", name);
  w.field("detail", detail);
  if (extra) extra(w);
  w.end_object();
  return r;
}

}  // namespace internal

Result<std::shared_ptr<const internal::KeyStore>> load_keys_file(
    const std::filesystem::path& path) {
  auto keys = internal::KeyStore::load_file(path);
  if (!keys) return std::move(keys).error();
  return std::shared_ptr<const internal::KeyStore>(
      std::make_shared<internal::KeyStore>(std::move(*keys)));
}

std::shared_ptr<internal::Metrics> make_metrics() { return std::make_shared<internal::Metrics>(); }

void set_metrics_rule_set(internal::Metrics& metrics, std::string version) {
  metrics.set_rule_set_version(std::move(version));
}

void add_ledger_metrics(Context& context) {
  const ledger::Ledger* ledger = context.ledger;
  context.metrics->add_collector([ledger](std::string& out) {
    const ledger::LedgerStats s = ledger->stats();
    auto counter = [&out](std::string_view name, std::string_view help, std::uint64_t v) {
      fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} counter\n{} {}\n", name,
                     help, name, name, v);
    };
    auto gauge = [&out](std::string_view name, std::string_view help, std::uint64_t v) {
      fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} gauge\n{} {}\n", name,
                     help, name, name, v);
    };
    counter("encore_ledger_commands_total", "Commands applied by the writer.", s.commands);
    counter("encore_ledger_batches_total", "Group-commit batches written.", s.batches);
    counter("encore_ledger_entries_total", "Journal entries written.", s.entries);
    counter("encore_ledger_rejected_queue_full_total",
            "Commands refused because the writer's queue was full.", s.rejected_queue_full);
    gauge("encore_ledger_queue_depth", "Commands waiting for the writer.", s.queue_depth);
    gauge("encore_ledger_last_seq", "The last journal seq.", s.last_seq);
    gauge("encore_ledger_storage_failed",
          "1 once a storage error stopped the writer (writes 503 until a restart), else 0.",
          ledger->healthy() ? 0 : 1);
    out += "# HELP encore_ledger_batches_by_size_total Batches by size: min..2*min-1 "
           "commands.\n";
    out += "# TYPE encore_ledger_batches_by_size_total counter\n";
    for (std::size_t k = 0; k < s.batch_size_log2.size(); ++k) {
      fmt::format_to(std::back_inserter(out),
                     "encore_ledger_batches_by_size_total{{min=\"{}\"}} {}\n",
                     std::uint64_t{1} << k, s.batch_size_log2[k]);
    }
    internal::render_fsync_seconds(out, s);
  });
}

Response handle(const Request& req, Context& ctx) {
  std::string_view target = req.target;
  const auto q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query =
      q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  if (clock_path_absent(path, ctx)) {
    return problem(ErrorCode::not_found, "no such path (the server runs on the wall clock)");
  }
  internal::RouteMatch m = internal::match_route(req.method, path);
  if (m.route == nullptr) {
    if (m.path_known) {
      Response r = problem(ErrorCode::method_not_allowed,
                           std::string(internal::method_name(req.method)) +
                               " is not allowed here; allowed: " + m.allow);
      r.allow = std::move(m.allow);
      return r;
    }
    return problem(ErrorCode::not_found, "no such path");
  }
  Response r = dispatch(req, ctx, *m.route, path, m.param, query);
  r.route = m.route->pattern;
  r.route_index = static_cast<int>(m.route->id);
  return r;
}

}  // namespace encore::api
