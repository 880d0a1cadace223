-- wrk script for seckill: POST /events/{event}/buy with a JWT per request,
-- rotating through a file of tokens (one per line).
--
--   npx seckill token --user u1 > tokens.txt   (repeat, or use bench/wrk/mint-tokens.js)
--   wrk -t2 -c100 -d10s -s bench/wrk/buy.lua http://127.0.0.1:8080 -- demo tokens.txt
--
-- Prints the count of each outcome code at the end (per thread, summed).

local event, tokenFile = "demo", "tokens.txt"
local tokens = {}
local counter = 0
local outcomes = {}
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  event = args[1] or event
  tokenFile = args[2] or tokenFile
  for line in io.lines(tokenFile) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
  if #tokens == 0 then error("no tokens in " .. tokenFile) end
  counter = math.random(#tokens)
end

function request()
  counter = counter % #tokens + 1
  return wrk.format("POST", "/events/" .. event .. "/buy", { ["authorization"] = "Bearer " .. tokens[counter], ["content-length"] = "0" })
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
  io.write("outcomes:")
  for code, n in pairs(total) do io.write(string.format(" c%s=%d", code, n)) end
  io.write("\n")
end
