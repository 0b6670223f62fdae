-- wrk script for `make bench`: POST /api/v1/orders with a unique Idempotency-Key per request,
-- one line of JSON at the end (requests, duration, latency percentiles, status codes).
-- Environment: BENCH_SKUS (comma-separated skus to pick from), BENCH_RUN (a prefix for keys),
-- BENCH_TOKEN (a customer's bearer token: the token check is part of what is measured),
-- BENCH_CUSTOMER (when set, the body names the customer: the baseline comparison sends the
-- same body to a commit from before authentication, which needs it).

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  skus = {}
  for sku in string.gmatch(os.getenv("BENCH_SKUS") or "BENCH-1", "[^,]+") do
    table.insert(skus, sku)
  end
  run = os.getenv("BENCH_RUN") or "run"
  auth = "Bearer " .. (os.getenv("BENCH_TOKEN") or "")
  customer = os.getenv("BENCH_CUSTOMER") or ""
  if customer ~= "" then
    prefix = string.format('{"customer_id":"%s",', customer)
  else
    prefix = "{"
  end
  sent = 0
  statuses = {}
  math.randomseed(id * 7919 + 17)
end

function request()
  sent = sent + 1
  local sku = skus[math.random(#skus)]
  local body = string.format(
    '%s"items":[{"sku":"%s","quantity":1}]}', prefix, sku)
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = auth,
    ["Idempotency-Key"] = string.format("%s-%d-%d", run, id, sent),
  }
  return wrk.format("POST", "/api/v1/orders", headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      merged[status] = (merged[status] or 0) + count
    end
  end
  local codes = {}
  for status, count in pairs(merged) do
    table.insert(codes, string.format('"%d":%d', status, count))
  end
  -- Percentiles at fine steps, so the caller can read any quantile (microseconds).
  local quantiles = {}
  for _, q in ipairs({50, 90, 95, 99, 99.9}) do
    table.insert(quantiles, string.format('"%s":%d', tostring(q), latency:percentile(q)))
  end
  local curve = {}
  for q = 1, 1000 do
    table.insert(curve, string.format("%d", latency:percentile(q / 10)))
  end
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d},"latency_us":{"min":%d,"max":%d,"mean":%.1f,"p":{%s}},' ..
    '"curve_us":[%s],"codes":{%s}}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency.min, latency.max, latency.mean, table.concat(quantiles, ","),
    table.concat(curve, ","), table.concat(codes, ",")))
end
