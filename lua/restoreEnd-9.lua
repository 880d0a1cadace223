--[[
  Finish a restore (see restoreBegin-4.lua). The event's stream still holds
  the orders granted and not yet in MySQL when only part of the event was
  lost (a key deleted, a partial failover): their users become buyers again
  and the counter moves above their numbers too. It also holds payments and
  expiries not yet in MySQL: each such order leaves `due` and becomes paid
  or expired again (else a paid order would be due, expire later and give
  its unit back a second time: a unit sold twice). Then the remaining stock
  becomes the initial stock less the buyers whose order did not expire (an
  expired order's user stays a buyer, refused, but its unit is back in
  stock), and the sale opens again. The buyers, the counter and the stock
  come back together, in this one step.

  An event sold in lots (the meta has `limit`): a stream win carries q and
  k (its units and SKU) and is added to its user's buyers value; each SKU's
  count becomes its stock less the units of its orders that did not expire,
  and the count their sum (lua/include/lots.lua).

  Input:
    KEYS[1] meta    sk:{E}:meta    hash: stock, ..., restoring (token), lease;
                                   unpersisted is set to the won orders the
                                   stream holds
    KEYS[2] stock   sk:{E}:stock   units remaining
    KEYS[3] buyers  sk:{E}:buyers  hash: user id -> order number
    KEYS[4] seq     sk:{E}:seq     the last order number granted
    KEYS[5] orders  sk:{E}:orders  stream of orders not yet in MySQL (buy-8.lua:
                                   o first, u per order; settlements s, o, u)
    KEYS[6] expired sk:{E}:expired hash: order number -> user, expired orders
    KEYS[7] due     sk:{E}:due     zset: order number -> payment deadline (ms)
    KEYS[8] owners  sk:{E}:owners  hash: order number -> user, while due
    KEYS[9] paid    sk:{E}:paid    set of paid order numbers

    ARGV[1] restore token

  Output: integer
    the units remaining, >= 0, once restored
    -1 refused: this token no longer owns the restore
]]
local rcall = redis.call
-- #include lots.lua
local metaKey, stockKey, buyersKey, seqKey, ordersKey, expiredKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local dueKey, ownersKey, paidKey = KEYS[7], KEYS[8], KEYS[9]

local cur = rcall('HMGET', metaKey, 'stock', 'restoring', 'limit', 'skus')
local lots = cur[3] ~= false
if cur[2] ~= ARGV[1] then
  return -1
end

local high = tonumber(rcall('GET', seqKey) or '0')
local inStream = 0
local from = '-'
while true do
  local page = rcall('XRANGE', ordersKey, from, '+', 'COUNT', 1000)
  if #page == 0 then
    break
  end
  for _, entry in ipairs(page) do
    local f = entry[2]
    local first, settled = nil, nil
    local users, qs, skus = {}, {}, {}
    for i = 1, #f, 2 do
      local name = f[i]
      if name == 'u' then
        users[#users + 1] = f[i + 1]
        qs[#users], skus[#users] = 1, ''
      elseif name == 'q' then
        qs[#users] = tonumber(f[i + 1])
      elseif name == 'k' then
        skus[#users] = f[i + 1]
      elseif name == 'o' then
        first = tonumber(f[i + 1])
      elseif name == 's' then
        settled = f[i + 1]
      end
    end
    if first then
      -- A batch entry: its users hold first, first+1, ...; a settlement names one order.
      for k, user in ipairs(users) do
        local order = first + k - 1
        if lots then
          -- A settlement names its order's user; the order (its units, its SKU) is a win entry's.
          if not settled then
            rcall('HSET', buyersKey, user, lotAdd(rcall('HGET', buyersKey, user), order, qs[k], skus[k]))
          end
        else
          rcall('HSETNX', buyersKey, user, order)
        end
        if order > high then
          high = order
        end
      end
      if not settled then
        inStream = inStream + #users
      elseif users[1] then
        -- A payment or an expiry newer than MySQL: the order is settled, not
        -- due again (restoreChunk-7 put it back due from MySQL's older view).
        rcall('ZREM', dueKey, first)
        rcall('HDEL', ownersKey, first)
        if settled == 'p' then
          rcall('SADD', paidKey, first)
        else
          rcall('HSET', expiredKey, first, users[1])
        end
      end
    end
  end
  from = '(' .. page[#page][1]
end

local remaining
if lots then
  local ids, stocks = lotsStocks(cur[4], cur[1])
  local sold, orders = {}, {}
  local all = rcall('HGETALL', buyersKey)
  for i = 2, #all, 2 do
    for o, q, sku in lotOrders(all[i]) do
      orders[sku] = (orders[sku] or 0) + 1
      if rcall('HEXISTS', expiredKey, o) == 0 then
        sold[sku] = (sold[sku] or 0) + q
      end
    end
  end
  remaining = 0
  local set = {}
  for i, id in ipairs(ids) do
    local left = math.max(0, stocks[i] - (sold[id] or 0))
    remaining = remaining + left
    set[#set + 1] = 'sku:' .. id
    set[#set + 1] = left
    set[#set + 1] = 'orders:' .. id
    set[#set + 1] = orders[id] or 0
  end
  rcall('HSET', metaKey, unpack(set))
else
  remaining = tonumber(cur[1]) - rcall('HLEN', buyersKey) + rcall('HLEN', expiredKey)
  if remaining < 0 then
    remaining = 0
  end
end
rcall('SET', stockKey, remaining)
rcall('SET', seqKey, high)
rcall('HSET', metaKey, 'unpersisted', inStream)
rcall('HDEL', metaKey, 'restoring', 'lease')
return remaining
