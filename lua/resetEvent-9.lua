--[[
  Start an event afresh once its sale has ended: every key of the event is
  deleted and the new definition written, in one step. Deleting some keys
  by hand leaves a mix the other scripts read as data loss (a counter above
  0 with no buyers is "restore it": buy-8.lua answers 7), or carries the old
  sale into the new one (expired orders answer 12, paid or due orders keep
  their numbers). Only the demo uses it (src/demo.ts); a sale that has not
  ended is never reset.

  Input:
    KEYS[1] meta    sk:{E}:meta    hash: stock, start, end, name, payWithin, pow, limit, skus, sku:<id> (+ restoring, lease, unpersisted),
                                   incarnation (set anew: every process forgets the old sale's winners)
    KEYS[2] stock   sk:{E}:stock   units remaining
    KEYS[3] buyers  sk:{E}:buyers  hash: user id -> order number
    KEYS[4] orders  sk:{E}:orders  stream of orders not yet in MySQL (and the persister's group)
    KEYS[5] seq     sk:{E}:seq     the last order number granted
    KEYS[6] due     sk:{E}:due     zset: order number -> payment deadline (ms)
    KEYS[7] owners  sk:{E}:owners  hash: order number -> user, while due
    KEYS[8] paid    sk:{E}:paid    set of paid order numbers
    KEYS[9] expired sk:{E}:expired hash: order number -> user, expired orders

    ARGV[1] stock (initial units, integer > 0)
    ARGV[2] start (ms since epoch)
    ARGV[3] end   (ms since epoch)
    ARGV[4] name
    ARGV[5] payWithin (seconds to pay a win; 0: a win is final)
    ARGV[6] pow (the proof of work as JSON; '': none, and no field)
    ARGV[7] limit, ARGV[8] skus: an event sold in lots (lua/include/lots.lua); absent: one unit per user

  Output: array {result, remaining}
    result 1 reset: the event was absent, or its sale had ended (Redis clock
             at or after its end); it now holds the new definition, its whole
             stock, an order counter at 0 and nothing else
           2 refused: the sale has not ended; nothing done
           3 refused: a restore from MySQL holds a live lease (retry)
    remaining: the units remaining after the call (-1 when absent)
]]
local rcall = redis.call
-- #include clock.lua
-- #include lots.lua
local metaKey, stockKey, seqKey = KEYS[1], KEYS[2], KEYS[5]

local now, micros = redisClock()
local cur = rcall('HMGET', metaKey, 'end', 'lease')
local function left()
  return tonumber(rcall('GET', stockKey) or '-1')
end
if leaseLive(cur[2], now) then
  return {3, left()}
end
if cur[1] and now < tonumber(cur[1]) then
  return {2, left()}
end

rcall('DEL', unpack(KEYS))
rcall('HSET', metaKey, 'stock', ARGV[1], 'start', ARGV[2], 'end', ARGV[3], 'name', ARGV[4], 'payWithin', ARGV[5],
  'incarnation', micros)
if ARGV[6] ~= '' then rcall('HSET', metaKey, 'pow', ARGV[6]) end
lotsWrite(metaKey, ARGV[1], ARGV[7] or '1', ARGV[8] or '')
rcall('SET', stockKey, ARGV[1])
rcall('SET', seqKey, 0)
return {1, tonumber(ARGV[1])}
