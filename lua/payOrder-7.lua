--[[
  Record that an order was paid, or find that its deadline has passed, in
  one atomic step. An order is paid or expired, never both: both this script
  and expireDue-6.lua first take the order out of `due`, and only the one
  that finds it there changes anything. Paid means "Redis clock < deadline";
  at or past the deadline this call expires the order itself (if no sweeper
  has yet), so a late payment can never keep a unit that is back on sale.

  Input:
    KEYS[1] meta    sk:{E}:meta    hash: stock, ..., lease while restoring
    KEYS[2] stock   sk:{E}:stock   units remaining
    KEYS[3] due     sk:{E}:due     zset: order number -> deadline (ms)
    KEYS[4] owners  sk:{E}:owners  hash: order number -> user, while due
    KEYS[5] paid    sk:{E}:paid    set of paid order numbers
    KEYS[6] expired sk:{E}:expired hash: order number -> user, expired orders
    KEYS[7] orders  sk:{E}:orders  stream: a status entry (s p|x, o, u) for MySQL

    ARGV[1] order number

  Output: array {code, remaining, user}
    code  0 paid (by this call, or before it: idempotent)
         12 expired (the deadline had passed)
         11 no such order awaiting payment (none with that number, or the
            event has no payment deadline: its orders are final)
          7 unknown event (no meta)
         10 a restore from MySQL is under way: retry
    remaining: units remaining when this call expired the order and gave
      its unit back, else -1
    user: the order's user when this call changed the order, else ''
]]
local rcall = redis.call
-- #include clock.lua
-- #include lots.lua
local metaKey, stockKey, dueKey, ownersKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local paidKey, expiredKey, ordersKey = KEYS[5], KEYS[6], KEYS[7]
local order = ARGV[1]

local meta = rcall('HMGET', metaKey, 'stock', 'lease', 'limit')
local lots = meta[3] ~= false
if not meta[1] then
  return {7, -1, ''}
end
if meta[2] then
  return {10, -1, ''}
end

local deadline = tonumber(rcall('ZSCORE', dueKey, order))
if deadline then
  local now = redisClock()
  local user, q, sku = rcall('HGET', ownersKey, order) or '', 1, nil
  if lots then
    q, sku, user = lotOwner(user)
  end
  rcall('ZREM', dueKey, order)
  rcall('HDEL', ownersKey, order)
  if now < deadline then
    rcall('SADD', paidKey, order)
    rcall('XADD', ordersKey, '*', 's', 'p', 'o', order, 'u', user)
    return {0, -1, user}
  end
  rcall('HSET', expiredKey, order, user)
  rcall('XADD', ordersKey, '*', 's', 'x', 'o', order, 'u', user)
  if lots then
    rcall('HINCRBY', metaKey, 'sku:' .. sku, q)
  end
  return {12, rcall('INCRBY', stockKey, q), user}
end
if rcall('SISMEMBER', paidKey, order) == 1 then
  return {0, -1, ''}
end
if rcall('HEXISTS', expiredKey, order) == 1 then
  return {12, -1, ''}
end
return {11, -1, ''}
