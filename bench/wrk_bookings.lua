-- wrk script for bench_load.py: POST /api/v1/bookings, each request a distinct free slot.
-- BOOKINGS_FILE holds one "token start" pair per line; thread i of n takes lines i, i+n, ...
-- done() prints one JSON line with the status counts and latency percentiles.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  pairs_ = {}
  local n = tonumber(os.getenv("WRK_THREADS") or "1")
  local i = 0
  for line in io.lines(os.getenv("BOOKINGS_FILE")) do
    if i % n == id - 1 then
      local token, start = line:match("^(%S+) (%S+)$")
      table.insert(pairs_, { token, start })
    end
    i = i + 1
  end
  next_ = 1
  created, conflicts, other = 0, 0, 0
end

function request()
  local pair = pairs_[next_]
  next_ = next_ % #pairs_ + 1
  local body = string.format(
    '{"token":"%s","start":"%s","name":"Load Test","email":"load@client.example","agenda":"Benchmark call"}',
    pair[1], pair[2])
  return wrk.format("POST", "/api/v1/bookings", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  elseif status == 409 then
    conflicts = conflicts + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local c, k, o = 0, 0, 0
  for _, thread in ipairs(threads) do
    c = c + thread:get("created")
    k = k + thread:get("conflicts")
    o = o + thread:get("other")
  end
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"created":%d,"conflicts":%d,"other":%d,' ..
    '"socket_errors":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, c, k, o,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
