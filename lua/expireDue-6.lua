--[[
  Expire the orders whose payment deadline has passed (Redis clock >=
  deadline), up to a limit, in one atomic step: each is taken out of `due`
  (so a payment can no longer succeed, and no other sweeper can expire it
  again), marked expired, named in the stream for MySQL, and its unit goes
  back into stock. Any number of processes may call this at once: an order
  leaves `due` exactly once, here or in payOrder-7.lua.

  Input:
    KEYS[1] meta    sk:{E}:meta    hash: stock, ..., lease while restoring
    KEYS[2] stock   sk:{E}:stock   units remaining
    KEYS[3] due     sk:{E}:due     zset: order number -> deadline (ms)
    KEYS[4] owners  sk:{E}:owners  hash: order number -> user, while due
    KEYS[5] expired sk:{E}:expired hash: order number -> user, expired orders
    KEYS[6] orders  sk:{E}:orders  stream: a status entry (s x, o, u) per order

    ARGV[1] the most orders to expire in this call

  Output: array {remaining, order, user, order, user, ...}
    remaining: units remaining after the call; -1 (and nothing done) when
      the event is absent or a restore is under way
    then each order expired by this call with its user (none: nothing due)
]]
local rcall = redis.call
-- #include clock.lua
-- #include lots.lua
local metaKey, stockKey, dueKey, ownersKey, expiredKey, ordersKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]

local meta = rcall('HMGET', metaKey, 'stock', 'lease', 'limit')
local lots = meta[3] ~= false
local units = 0
if not meta[1] or meta[2] then
  return {-1}
end
local now = redisClock()
local due = rcall('ZRANGEBYSCORE', dueKey, '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
if #due == 0 then
  return {tonumber(rcall('GET', stockKey) or '0')}
end
local out = {0}
for _, order in ipairs(due) do
  local user = rcall('HGET', ownersKey, order) or ''
  if lots then
    local q, sku
    q, sku, user = lotOwner(user)
    rcall('HINCRBY', metaKey, 'sku:' .. sku, q)
    units = units + q
  else
    units = units + 1
  end
  rcall('HDEL', ownersKey, order)
  rcall('HSET', expiredKey, order, user)
  rcall('XADD', ordersKey, '*', 's', 'x', 'o', order, 'u', user)
  out[#out + 1] = tonumber(order)
  out[#out + 1] = user
end
rcall('ZREM', dueKey, unpack(due))
out[1] = rcall('INCRBY', stockKey, units)
return out
