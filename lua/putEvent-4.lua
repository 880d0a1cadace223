--[[
  Create an event, or change it while it has no buyers (before its start,
  or after it: a mistake in a sale nobody has bought from yet can be
  corrected). Idempotent: putting the same definition again (a restart, a
  retried request) changes nothing, and nothing here ever resets the
  remaining stock, the buyers or the order counter of a sale that has sold
  anything. The decision is atomic with the buys: buy-8.lua reads the
  definition from this meta in the same script that grants, so a buy that
  runs first makes the change refused (4), and one that runs after follows
  the new definition. An event that Redis lost but MySQL knows is not
  created here: it is restored first (restoreBegin-4.lua).

  An event sold in lots (a limit above 1, or SKUs) also gets `limit`, its
  `skus` and a count per SKU (`sku:<id>`: lua/include/lots.lua); a change
  to a one-unit event deletes them again.

  Input:
    KEYS[1] meta    sk:{E}:meta    hash: stock, start, end, name, payWithin, pow, limit, skus, sku:<id> (+ lease while restoring),
                                   incarnation (Redis time in µs when this state
                                   was created or restored: a process whose
                                   copy has another one forgets its winners),
                                   drawMs, drawSeed (+ drawn, drawEntrants,
                                   drawStock once the draw has entrants or is
                                   decided: drawEnter-4.lua, drawDecide-9.lua)
    KEYS[2] stock   sk:{E}:stock   units remaining
    KEYS[3] buyers  sk:{E}:buyers  hash: user id -> order number
    KEYS[4] seq     sk:{E}:seq     the last order number granted

    ARGV[1] stock (initial units, integer > 0)
    ARGV[2] start (ms since epoch)
    ARGV[3] end   (ms since epoch)
    ARGV[4] name
    ARGV[5] payWithin (seconds to pay a win; 0: a win is final)
    ARGV[6] pow (the proof of work as JSON, src/sale.ts powText; '': none, and no field)
    ARGV[7] drawMs (the draw window at the opening; 0: none)
    ARGV[8] a seed (64 hex): taken when the event has none (MySQL's seed is
            offered, so an event keeps the one whose commit was published);
            otherwise the event keeps the seed it has
    ARGV[9] a fresh seed (64 hex, never used before): taken when a change is
            accepted after the draw was decided (the old seed is public then,
            and so may be MySQL's copy of it)
    ARGV[10] limit (units per user; absent: 1)
    ARGV[11] skus ('red:500,blue:300'; absent or '': none)

  Output: array {result, remaining, seed}
    result 1 created, 2 updated (no buyers yet, before or after the start),
           3 unchanged (same definition), 4 refused: the sale has buyers
             (or its counter has granted an order, or its draw has entrants),
             and the definition differs,
           5 refused: a restore from MySQL is under way (retry)
    remaining: units remaining after the call (-1 with result 5)
    seed: the event's draw seed after the call ('' with result 5)
]]
local rcall = redis.call
-- #include clock.lua
-- #include lots.lua
local metaKey, stockKey, buyersKey, seqKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local stock, startMs, endMs, name, payWithin, pow = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local drawMs, newSeed, freshSeed = ARGV[7], ARGV[8], ARGV[9]
local limit, skus = ARGV[10] or '1', ARGV[11] or ''

local current = rcall('HMGET', metaKey, 'stock', 'start', 'end', 'name', 'lease', 'payWithin', 'drawMs', 'drawSeed', 'drawn',
  'drawEntrants', 'pow', 'limit', 'skus')
if current[5] then
  return {5, -1, ''}
end
if not current[1] then
  local _, micros = redisClock()
  rcall('HSET', metaKey, 'stock', stock, 'start', startMs, 'end', endMs, 'name', name, 'payWithin', payWithin,
    'incarnation', micros, 'drawMs', drawMs, 'drawSeed', newSeed)
  if pow ~= '' then rcall('HSET', metaKey, 'pow', pow) end
  lotsWrite(metaKey, stock, limit, skus)
  rcall('SET', stockKey, stock, 'NX')
  rcall('SET', seqKey, 0, 'NX')
  return {1, tonumber(rcall('GET', stockKey)), newSeed}
end
-- An event put before draws existed has no seed: it gets one now, whatever the outcome.
local seed = current[8]
if not seed then
  seed = newSeed
  rcall('HSET', metaKey, 'drawSeed', seed)
end

local remaining = tonumber(rcall('GET', stockKey) or '0')
-- An event put before payWithin (or pow) existed has none: that is 0 (or '').
if current[1] == stock and current[2] == startMs and current[3] == endMs and current[4] == name
    and (current[6] or '0') == payWithin and (current[7] or '0') == drawMs and (current[11] or '') == pow
    and (current[12] or '1') == limit and (current[13] or '') == skus then
  return {3, remaining, seed}
end

-- Sold anything: a buyer marker, or an order number granted (the counter; buyers alone could be a partial loss),
-- or a draw with entrants (they wait for it, or it gave them units).
if rcall('HLEN', buyersKey) > 0 or tonumber(rcall('GET', seqKey) or '0') > 0 or tonumber(current[10] or '0') > 0 then
  return {4, remaining, seed}
end

-- A draw decided with nobody in it revealed its seed: the changed sale draws again, with a new one.
if current[9] then
  seed = freshSeed
  rcall('HDEL', metaKey, 'drawn', 'drawEntrants', 'drawStock')
end
rcall('HSET', metaKey, 'stock', stock, 'start', startMs, 'end', endMs, 'name', name, 'payWithin', payWithin,
  'drawMs', drawMs, 'drawSeed', seed)
-- No proof of work is no field (an event put before pow existed has none either).
if pow == '' then rcall('HDEL', metaKey, 'pow') else rcall('HSET', metaKey, 'pow', pow) end
lotsWrite(metaKey, stock, limit, skus)
rcall('SET', stockKey, stock)
return {2, tonumber(stock), seed}
