-- wrk: enrolls members m-1 .. m-N once each (threads take interleaved ids); when all are
-- enrolled it sends cheap /healthz requests until wrk's duration ends.
package.path = os.getenv("ENCORE_BENCH_DIR") .. "/?.lua;" .. package.path
local c = require("common")
setup = c.setup
done = c.done
local next_id, stride
function init(args)
  stride = tonumber(os.getenv("ENCORE_THREADS") or "2")
  next_id = tid
end
local primed = false
function request()
  -- wrk calls request() once per thread before any connection sends it: give it a
  -- request that consumes no member id.
  if not primed then
    primed = true
    return wrk.format("GET", "/healthz")
  end
  if next_id > c.members then return wrk.format("GET", "/healthz") end
  local id = next_id
  next_id = next_id + stride
  return wrk.format("POST", "/v1/members", c.headers(true),
                    string.format('{"id":"m-%d","birthday":"1990-%02d-15"}', id, id % 12 + 1))
end
