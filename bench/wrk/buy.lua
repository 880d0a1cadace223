-- wrk script for seckill: POST /events/{event}/buy with a JWT per request,
-- taken from a file of tokens (one per line) in one of these orders:
--   cycle        token 1, 2, ..., N, 1, 2, ... (the default; the cache's worst case)
--   hot:K        every K-th click is a repeat by one of the first 1 % of users, the rest in order
--   crowd:SEED   each user clicks 1 to 3 times, all clicks shuffled (seeded), so at random moments
-- With several threads, thread k takes every T-th click of the same sequence.
--
--   node bench/wrk/mint-tokens.js 10000 > tokens.txt
--   wrk -t2 -c100 -d10s -s bench/wrk/buy.lua http://127.0.0.1:8080 -- demo tokens.txt [cycle|hot:5|crowd:42] [QUERIES]
--
-- QUERIES (an event sold in lots): queries separated by |, taken in turn,
-- `q=2&sku=a|q=2&sku=b|q=2&sku=c`; absent, the plain buy (no query).
--
-- At the end it prints the count of each outcome code (summed over threads),
-- and one line "wrkjson {...}" with requests, bytes, latency percentiles (µs)
-- and outcome counts, for the bench.

-- Globals, not locals: done() runs in the main Lua state and reads each
-- thread's state with thread:get, which sees only globals.
outcomes = {}
id = 0
local event, tokenFile, order = "demo", "tokens.txt", "cycle"
local tokens, seq = {}, nil
local queries, asked = {}, 0
local counter, step, hot, every, fresh = 0, 1, 1, 0, 0
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  event = args[1] or event
  tokenFile = args[2] or tokenFile
  order = args[3] or order
  for q in (args[4] or ""):gmatch("[^|]+") do queries[#queries + 1] = "?" .. q end
  for line in io.lines(tokenFile) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
  if #tokens == 0 then error("no tokens in " .. tokenFile) end
  step = #threads > 0 and #threads or 1
  counter = id
  local kind, arg = order:match("^(%a+):?(%d*)$")
  if kind == "hot" then
    every = tonumber(arg) or 5
    hot = math.max(1, math.floor(#tokens / 100))
  elseif kind == "crowd" then
    -- The same seed in every thread: one sequence, split between them by position.
    math.randomseed(tonumber(arg) or 1)
    seq = {}
    for u = 1, #tokens do
      for _ = 1, math.random(3) do seq[#seq + 1] = u end
    end
    for i = #seq, 2, -1 do
      local j = math.random(i)
      seq[i], seq[j] = seq[j], seq[i]
    end
  elseif kind ~= "cycle" then
    error("order must be cycle, hot:K or crowd:SEED, got " .. order)
  end
end

local function nextToken()
  local n = counter
  counter = counter + step
  if seq ~= nil then return tokens[seq[n % #seq + 1]] end
  if every > 0 and n % every == every - 1 then return tokens[math.floor(n / every) % hot + 1] end
  if every > 0 then n = n - math.floor((n + 1) / every) end
  return tokens[n % #tokens + 1]
end

function request()
  local path = "/events/" .. event .. "/buy"
  if #queries > 0 then
    asked = asked + 1
    path = path .. queries[asked % #queries + 1]
  end
  return wrk.format("POST", path, { ["authorization"] = "Bearer " .. nextToken(), ["content-length"] = "0" })
end

function response(status, headers, body)
  local code = body:match('"c":(%d+)') or ("http" .. status)
  outcomes[code] = (outcomes[code] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local o = thread:get("outcomes")
    for code, n in pairs(o) do total[code] = (total[code] or 0) + n end
  end
  local parts, line = {}, "outcomes:"
  for code, n in pairs(total) do
    line = line .. string.format(" c%s=%d", code, n)
    parts[#parts + 1] = string.format('"%s":%d', code, n)
  end
  io.write(line .. "\n")
  local e = summary.errors
  io.write(string.format(
    'wrkjson {"requests":%d,"bytes":%d,"durationUs":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latencyUs":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},"outcomes":{%s}}\n',
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean, table.concat(parts, ",")))
end
