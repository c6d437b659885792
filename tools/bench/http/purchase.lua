-- wrk: durable purchase events for random members, each with its own Idempotency-Key.
package.path = os.getenv("ENCORE_BENCH_DIR") .. "/?.lua;" .. package.path
local c = require("common")
setup = c.setup
done = c.done
function init() c.init_thread() end
function request()
  return wrk.format("POST", "/v1/events", c.headers(true), c.purchase_body())
end
