-- wrk: a point-of-sale mix: 70% purchases, 20% balance reads, 10% redemptions of 1 point
-- (a redemption may be refused with 409 when the member has no points: counted apart).
package.path = os.getenv("ENCORE_BENCH_DIR") .. "/?.lua;" .. package.path
local c = require("common")
setup = c.setup
done = c.done
function init() c.init_thread() end
function request()
  local r = math.random(1, 100)
  if r <= 70 then
    return wrk.format("POST", "/v1/events", c.headers(true), c.purchase_body())
  elseif r <= 90 then
    return wrk.format("GET", "/v1/members/" .. c.member() .. "/balance", c.headers(false))
  end
  return wrk.format("POST", "/v1/members/" .. c.member() .. "/redemptions", c.headers(true),
                    '{"points":1}')
end
