--[[
  Enter users into an event's draw at the opening (the first drawMs ms after
  its start, by Redis' clock), atomically. Every worker and instance enters
  into the same two keys, so the draw holds everyone who clicked within the
  window. A user enters once: a second entry (another click, another
  process) changes nothing. drawDecide-9.lua decides the draw at the
  window's close; after it, buys go the normal way (buy-8.lua, or
  buyLots-8.lua for an event sold in lots).

  An event sold in lots (a `limit` in the meta: lua/include/lots.lua)
  enters a user who may still take their q units: one who holds the limit
  already is answered 2, one whose units + q pass it 13, and neither
  enters (so the published list stays what the decision took). An event
  with SKUs has no draw (the put refuses the two together): 101.

  Input:
    KEYS[1] meta     sk:{E}:meta     hash: stock, start, end (ms), paused, drawMs,
                                     drawSeed (64 hex), drawn (ms decided, absent
                                     before), drawEntrants (+= the new entrants),
                                     limit, skus (an event sold in lots)
    KEYS[2] buyers   sk:{E}:buyers   hash: user id -> order number (lots: units;orders)
    KEYS[3] draw     sk:{E}:draw     zset, every score 0: member <score><entrant key>
                                     (64 + 64 hex), so ZRANGE is the draw's order
    KEYS[4] entrants sk:{E}:entrants hash: entrant key -> "<q> <user>" until the
                                     draw is decided, then "<q> <won> <user>"

    ARGV[1]   the seed the caller computed the scores with (meta's drawSeed, else
              the caller's copy is stale: status 9)
    ARGV[4i-2], ARGV[4i-1], ARGV[4i], ARGV[4i+1] (i >= 1): user id, entrant key
              (SHA-256 hex of the user id), score (HMAC-SHA256(seed, entrant
              key), hex), units asked (q)

  Output: array of integers {status, entrants, code1, order1, count1, code2, ...}
    status    0 the users were looked at (codes follow); otherwise every code
              is the status: 3 not started, 4 ended, 7 unknown event (no meta,
              or a restore whose lease ran out), 9 stale seed (reload the
              event), 10 restoring, 16 paused, 101 closed (no draw, the
              window closed by Redis' clock, or the draw is decided: decide
              it if needed, then go the normal way)
    entrants  the draw's entrants after the call (meta's drawEntrants)
    code, order, count per user: 100 entered (or entered before), order 0;
              2 already a buyer (order: theirs; lots: they hold the limit,
              their last order); 13 over limit (lots: count = the units
              they may still buy); count 0 otherwise
]]
local rcall = redis.call
-- #include clock.lua
-- #include lots.lua
local metaKey, buyersKey, drawKey, entrantsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

local meta = rcall('HMGET', metaKey, 'stock', 'start', 'end', 'lease', 'paused', 'drawMs', 'drawSeed', 'drawn', 'drawEntrants',
  'limit', 'skus')
local n = (#ARGV - 1) / 4
local entrants = tonumber(meta[9] or '0')

local function all(status)
  local out = {status, entrants}
  for i = 1, n do
    out[3 * i] = status
    out[3 * i + 1] = 0
    out[3 * i + 2] = 0
  end
  return out
end

if not meta[1] then
  return all(7)
end
local now = redisClock()
if meta[4] then
  return all(leaseLive(meta[4], now) and 10 or 7)
end
if ARGV[1] ~= meta[7] then
  return all(9)
end
local start = tonumber(meta[2])
if now < start then
  return all(3)
end
if now >= tonumber(meta[3]) then
  return all(4)
end
if meta[5] then
  return all(16)
end
local drawMs = tonumber(meta[6] or '0')
if drawMs <= 0 or meta[8] or now >= start + drawMs or (meta[11] and meta[11] ~= '') then
  return all(101)
end

local limit = tonumber(meta[10])
local out = {0, 0}
local added = 0
for i = 1, n do
  local b = 4 * i - 2
  local user, key, score, q = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  local prior = rcall('HGET', buyersKey, user)
  local code, order, count = 100, 0, 0
  if prior and not limit then
    code, order = 2, tonumber(prior)
  elseif prior and lotUnits(prior) >= limit then
    code = 2
    for o in lotOrders(prior) do
      order = o
    end
  elseif prior and lotUnits(prior) + tonumber(q) > limit then
    code, count = 13, limit - lotUnits(prior)
  elseif rcall('HSETNX', entrantsKey, key, q .. ' ' .. user) == 1 then
    rcall('ZADD', drawKey, 0, score .. key)
    added = added + 1
  end
  out[3 * i] = code
  out[3 * i + 1] = order
  out[3 * i + 2] = count
end
if added > 0 then
  entrants = rcall('HINCRBY', metaKey, 'drawEntrants', added)
end
out[2] = entrants
return out
