// The one table of Encore's error codes (rules/base, the lowest layer). Each row is
// the wire code, its HTTP status and its problem+json title. API.md fixes the set:
// add rows, never rename or drop one.
#pragma once

// X(code, http_status, title)
#define ENCORE_ERROR_CODES(X)                                                      \
  X(invalid_request, 400, "Invalid request")                                      \
  X(missing_idempotency_key, 400, "Missing Idempotency-Key")                      \
  X(unauthorized, 401, "Unauthorized")                                            \
  X(forbidden, 403, "Forbidden")                                                  \
  X(not_found, 404, "Not found")                                                  \
  X(member_not_found, 404, "Member not found")                                    \
  X(method_not_allowed, 405, "Method not allowed")                                \
  X(member_exists, 409, "Member exists")                                          \
  X(insufficient_points, 409, "Insufficient points")                              \
  X(member_frozen, 409, "Member frozen")                                          \
  X(hold_not_active, 409, "Hold not active")                                      \
  X(over_reversal, 409, "Over-reversal")                                          \
  X(payload_too_large, 413, "Payload too large")                                  \
  X(unsupported_media_type, 415, "Unsupported media type")                        \
  X(idempotency_key_reused, 422, "Idempotency key reused")                        \
  X(rules_invalid, 422, "Rules invalid")                                          \
  X(internal, 500, "Internal error")                                              \
  X(unavailable, 503, "Service unavailable")
