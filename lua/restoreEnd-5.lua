--[[
  Finish a restore (see restoreBegin-4.lua): the remaining stock becomes the
  initial stock less the buyers restored whose order did not expire (an
  expired order's user stays a buyer, but its unit is back in stock), the
  counter stays at the highest
  order number restored (or where it was), and the sale opens again. The
  buyers, the counter and the stock come back together, in this one step.

  Input:
    KEYS[1] meta    sk:{E}:meta    hash: stock, ..., restoring (token), lease
    KEYS[2] stock   sk:{E}:stock   units remaining
    KEYS[3] buyers  sk:{E}:buyers  hash: user id -> order number
    KEYS[4] seq     sk:{E}:seq     the last order number granted
    KEYS[5] expired sk:{E}:expired hash: order number -> user, expired orders

    ARGV[1] restore token

  Output: integer
    the units remaining, >= 0, once restored
    -1 refused: this token no longer owns the restore
]]
local rcall = redis.call
local metaKey, stockKey, buyersKey, seqKey, expiredKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]

local cur = rcall('HMGET', metaKey, 'stock', 'restoring')
if cur[2] ~= ARGV[1] then
  return -1
end
local remaining = tonumber(cur[1]) - rcall('HLEN', buyersKey) + rcall('HLEN', expiredKey)
if remaining < 0 then
  remaining = 0
end
rcall('SET', stockKey, remaining)
rcall('SET', seqKey, 0, 'NX')
rcall('HDEL', metaKey, 'restoring', 'lease')
return remaining
