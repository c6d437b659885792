-- Shared by the wrk scripts of tools/bench/http: API key, member count, unique
-- Idempotency-Keys (thread id + counter + a run nonce) and a done() that prints one
-- machine-readable line for run.sh.
local M = {}
M.key = os.getenv("ENCORE_KEY") or "bench-pos-key"
M.members = tonumber(os.getenv("ENCORE_MEMBERS") or "100000")
M.nonce = os.getenv("ENCORE_NONCE") or tostring(os.time())
local threads = {}
local counter = 0

function M.setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function M.next_key()
  counter = counter + 1
  return M.nonce .. "-" .. tostring(tid) .. "-" .. tostring(counter)
end

function M.member()
  return "m-" .. tostring(math.random(1, M.members))
end

function M.headers(idem)
  local h = {["Authorization"] = "Bearer " .. M.key, ["Content-Type"] = "application/json"}
  if idem then h["Idempotency-Key"] = M.next_key() end
  return h
end

local categories = {"vinyl", "cd", "merch", "tickets", "books", "accessories"}
function M.purchase_body()
  local n = math.random(1, 4)
  local items, total = {}, 0
  for i = 1, n do
    local cents = math.random(300, 6000)
    total = total + cents
    items[i] = string.format(
      '{"sku":"SKU-%d","category":"%s","quantity":1,"unit_price":"%d.%02d"}',
      math.random(1, 5000), categories[math.random(1, #categories)], math.floor(cents / 100), cents % 100)
  end
  local channels = {"store", "online", "app", "phone"}
  return string.format(
    '{"member":"%s","type":"purchase","channel":"%s","basket":{"total":"%d.%02d","items":[%s]}}',
    M.member(), channels[math.random(1, #channels)], math.floor(total / 100), total % 100,
    table.concat(items, ","))
end

function M.init_thread()
  math.randomseed(os.time() + (tid or 0) * 7919)
end

function M.done(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format(
    "RESULT requests=%d seconds=%.2f rps=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f " ..
    "non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    non2xx, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout))
end

return M
