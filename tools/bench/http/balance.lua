-- wrk: balance reads of random members.
package.path = os.getenv("ENCORE_BENCH_DIR") .. "/?.lua;" .. package.path
local c = require("common")
setup = c.setup
done = c.done
function init() c.init_thread() end
function request()
  return wrk.format("GET", "/v1/members/" .. c.member() .. "/balance", c.headers(false))
end
