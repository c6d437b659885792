// The business endpoints (api/internal): one function per route, called by handle() once
// routing, auth, media type and Idempotency-Key are checked. JSON <-> ledger only.
#pragma once

#include <string_view>

#include "api/handler.h"
#include "api/internal/auth.h"
#include "api/internal/router.h"

namespace encore::api::internal {

struct Call {
  const Request& request;
  Context& context;
  const Route& route;
  std::string_view path;
  std::string_view param;   // the {id}/{seq} segment
  std::string_view query;   // after '?', "" when none
  const ApiKey* key;        // null on open routes
};

// Routes other than healthz/readyz/metrics.
Response run_endpoint(const Call& call);

// A problem+json response with extra members written by `extra` (e.g. rules errors).
Response problem_with(ErrorCode code, std::string_view detail,
                      const std::function<void(class JsonWriter&)>& extra);

}  // namespace encore::api::internal
