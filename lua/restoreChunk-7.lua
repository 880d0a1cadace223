--[[
  Write one chunk of an event's stored orders back, during a restore (see
  restoreBegin-4.lua): each user as a buyer with their order number, each
  order's payment state (paid, expired, or due with its deadline), and the
  order counter moved up to the highest order number seen, so no number
  MySQL holds is granted again.

  Input:
    KEYS[1] meta    sk:{E}:meta    hash: ..., restoring (token), lease
    KEYS[2] buyers  sk:{E}:buyers  hash: user id -> order number
    KEYS[3] seq     sk:{E}:seq     the last order number granted
    KEYS[4] due     sk:{E}:due     zset: order number -> payment deadline (ms)
    KEYS[5] owners  sk:{E}:owners  hash: order number -> user, while due
    KEYS[6] paid    sk:{E}:paid    set of paid order numbers
    KEYS[7] expired sk:{E}:expired hash: order number -> user, expired orders

    ARGV[1] restore token
    ARGV[2] lease (ms), renewed by this chunk
    ARGV[3..] per order, four values: user id, order number, deadline (ms;
              0: the order has none, it is final), state ('p' paid,
              'x' expired, '' neither: due when it has a deadline); an event
              sold in lots (the meta has `limit`) six: then its units and SKU
              id too, and each order is added to its user's buyers value
              (lua/include/lots.lua; added once, however often written)

  Output: integer
    1 written
    0 refused: this token no longer owns the restore (Redis lost the event
      again, or another restorer took over after the lease ran out)
]]
local rcall = redis.call
-- #include clock.lua
-- #include lots.lua
local metaKey, buyersKey, seqKey = KEYS[1], KEYS[2], KEYS[3]
local dueKey, ownersKey, paidKey, expiredKey = KEYS[4], KEYS[5], KEYS[6], KEYS[7]

local cur = rcall('HMGET', metaKey, 'restoring', 'limit')
if cur[1] ~= ARGV[1] then
  return 0
end
local lots = cur[2] ~= false
local now = redisClock()
rcall('HSET', metaKey, 'lease', now + tonumber(ARGV[2]))

local high = tonumber(rcall('GET', seqKey) or '0')
-- HSET in slices: unpack() of a whole large chunk would overflow Lua's stack.
local slice = {}
local stride = lots and 6 or 4
for i = 3, #ARGV, stride do
  local user, order, deadline, state = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3]
  local number = tonumber(order)
  if number > high then
    high = number
  end
  local owner = user
  if lots then
    rcall('HSET', buyersKey, user, lotAdd(rcall('HGET', buyersKey, user), number, tonumber(ARGV[i + 4]), ARGV[i + 5]))
    owner = ARGV[i + 4] .. ',' .. ARGV[i + 5] .. ',' .. user
  else
    slice[#slice + 1] = user
    slice[#slice + 1] = order
  end
  if #slice >= 1000 then
    rcall('HSET', buyersKey, unpack(slice))
    slice = {}
  end
  -- A restore taken over may find an order written due by the first restorer.
  if state == 'p' then
    rcall('ZREM', dueKey, order)
    rcall('HDEL', ownersKey, order)
    rcall('SADD', paidKey, order)
  elseif state == 'x' then
    rcall('ZREM', dueKey, order)
    rcall('HDEL', ownersKey, order)
    rcall('HSET', expiredKey, order, user)
  elseif deadline > 0 and rcall('SISMEMBER', paidKey, order) == 0 and rcall('HEXISTS', expiredKey, order) == 0 then
    -- Due in MySQL's view; Redis, newer, may have it paid or expired already
    -- (a partial loss keeps those keys): then it stays settled.
    rcall('ZADD', dueKey, deadline, order)
    rcall('HSET', ownersKey, order, owner)
  end
end
if #slice > 0 then
  rcall('HSET', buyersKey, unpack(slice))
end
rcall('SET', seqKey, high)
return 1
