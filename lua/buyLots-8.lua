--[[
  Decide one batch of buy requests for one event sold in lots (a limit
  above 1, or SKUs: see lua/include/lots.lua), atomically. The one-unit
  event (limit 1, no SKUs) is buy-8.lua's, unchanged.

  Input:
    KEYS[1] meta    sk:{E}:meta    hash: stock (initial), start, end (ms),
                                   payWithin, limit, skus, sku:<id> (units
                                   remaining per SKU), orders:<id> (orders
                                   granted per SKU), unpersisted, paused;
                                   restoring + lease while a restore runs
    KEYS[2] stock   sk:{E}:stock   units remaining (the sum over the SKUs)
    KEYS[3] buyers  sk:{E}:buyers  hash: user id -> units granted, then each
                                   order ('3;7,2,red;9,1,blue')
    KEYS[4] orders  sk:{E}:orders  stream: one entry per batch with wins,
                                   fields o <first order number>, d <deadline>
                                   when due, then per win u <user>, q <units>,
                                   k <sku>, n <the user's nth order>: the wins
                                   hold o, o+1, ... in that order
    KEYS[5] seq     sk:{E}:seq     the last order number granted
    KEYS[6] due     sk:{E}:due     zset: order number -> payment deadline (ms)
    KEYS[7] owners  sk:{E}:owners  hash: order number -> 'q,sku,user', while due
    KEYS[8] expired sk:{E}:expired hash: order number -> user, orders whose payment deadline passed

    ARGV, three per request in arrival order: user id, q (units, 1..limit),
    SKU id ('' for an event without SKUs). A user may come more than once.

  Output: array of integers
    [1]                   units remaining after the batch (all SKUs); -1
                          when the event is absent, being restored, or no
                          longer sold in lots (put again: retry)
    [3i-1], [3i], [3i+1]  code, order number (0: none) and a count for
                          request i: q for 0, the units the user may still
                          buy for 13, the units of that SKU left for 14
    [3n+2]                buyers after the batch (HLEN buyers)
    [3n+3 ...]            units remaining per SKU, in the definition's order

  Outcome codes (src/outcome.ts):
    0 won            one new order of q units (order number: seq + 1)
    1 sold out       no unit of that SKU is left
    2 already bought the user holds `limit` units (order: their last one)
    12 expired       as 2, but every order of theirs expired unpaid
    13 over limit    q is more than the user may still buy
    14 short         fewer than q units of that SKU are left (all or nothing)
    9 bad request    no such SKU (the definition changed under the caller)
    3, 4, 7, 10, 16  as buy-8.lua, for the whole batch
]]
local rcall = redis.call
-- #include clock.lua
-- #include lots.lua
-- #include orders.lua
local metaKey, stockKey, buyersKey, ordersKey, seqKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local dueKey, ownersKey, expiredKey = KEYS[6], KEYS[7], KEYS[8]

local out = {}
local n = #ARGV / 3

local function all(code, remaining)
  out[1] = remaining
  for i = 1, n do
    out[3 * i - 1], out[3 * i], out[3 * i + 1] = code, 0, 0
  end
  out[3 * n + 2] = remaining < 0 and -1 or rcall('HLEN', buyersKey)
  return out
end

local meta = rcall('HMGET', metaKey, 'stock', 'start', 'end', 'lease', 'payWithin', 'unpersisted', 'paused', 'limit', 'skus')
local initial = tonumber(meta[1])
if not initial then
  return all(7, -1)
end
local now = redisClock()
if meta[4] then
  if leaseLive(meta[4], now) then
    return all(10, -1)
  end
  return all(7, -1)
end
local limit = tonumber(meta[8])
if not limit then
  -- Put again as a one-unit event: buy-8.lua's now.
  return all(10, -1)
end
local remaining = tonumber(rcall('GET', stockKey))
local seq = tonumber(rcall('GET', seqKey))
if not remaining or not seq or (seq > 0 and rcall('EXISTS', buyersKey) == 0) then
  return all(7, -1)
end
local ids = lotsStocks(meta[9], initial)
local fields = {}
for i, id in ipairs(ids) do
  fields[i] = 'sku:' .. id
end
local leftList = rcall('HMGET', metaKey, unpack(fields))
local left = {}
for i, id in ipairs(ids) do
  left[id] = tonumber(leftList[i])
  if not left[id] then
    return all(7, -1)
  end
end
local function tail()
  for i, id in ipairs(ids) do
    out[3 * n + 2 + i] = left[id]
  end
  return out
end
if now < tonumber(meta[2]) then
  all(3, remaining)
  return tail()
end
if now >= tonumber(meta[3]) then
  all(4, remaining)
  return tail()
end
if meta[7] then
  all(16, remaining)
  return tail()
end

local before = remaining
local payMs = (tonumber(meta[5]) or 0) * 1000
local deadline = now + payMs
local firstWin = seq + 1
local value = {}
local changed = {}
local wins = {}

local function allExpired(v)
  for o in lotOrders(v) do
    if rcall('HEXISTS', expiredKey, o) == 0 then
      return false
    end
  end
  return true
end

local CHUNK = 1000
for c = 1, n, CHUNK do
  local last = math.min(n, c + CHUNK - 1)
  local users = {}
  for i = c, last do
    users[#users + 1] = ARGV[3 * i - 2]
  end
  local prior = rcall('HMGET', buyersKey, unpack(users))
  for i = c, last do
    local user, q, sku = ARGV[3 * i - 2], tonumber(ARGV[3 * i - 1]), ARGV[3 * i]
    local v = value[user]
    if v == nil then
      v = prior[i - c + 1]
      value[user] = v
    end
    local units = lotUnits(v)
    local code, order, count = 0, 0, 0
    if units >= limit then
      for o in lotOrders(v) do
        order = o
      end
      code = (payMs > 0 and allExpired(v)) and 12 or 2
    elseif not q or q < 1 or units + q > limit then
      code, count = 13, limit - units
    elseif left[sku] == nil then
      code = 9
    elseif left[sku] <= 0 then
      code = 1
    elseif left[sku] < q then
      code, count = 14, left[sku]
    else
      left[sku] = left[sku] - q
      changed[sku] = (changed[sku] or 0) + 1
      remaining = remaining - q
      seq = seq + 1
      v = lotAdd(v, seq, q, sku)
      value[user] = v
      local nth = 0
      for _ in lotOrders(v) do
        nth = nth + 1
      end
      wins[#wins + 1] = {user, q, sku, nth, v}
      order, count = seq, q
    end
    out[3 * i - 1], out[3 * i], out[3 * i + 1] = code, order, count
  end
end

local won = #wins
local queued = unpersistedBefore(ordersKey, meta[6], won)
writeWins(buyersKey, ordersKey, dueKey, ownersKey, won, firstWin, payMs, deadline, function(i)
  local w = wins[i]
  return w[1], w[5], {'q', w[2], 'k', w[3], 'n', w[4]}, w[2] .. ',' .. w[3] .. ',' .. w[1]
end)
if remaining ~= before then
  local set = {}
  for id in pairs(changed) do
    set[#set + 1] = 'sku:' .. id
    set[#set + 1] = left[id]
  end
  rcall('HSET', metaKey, 'unpersisted', queued + won, unpack(set))
  for id, orders in pairs(changed) do
    rcall('HINCRBY', metaKey, 'orders:' .. id, orders)
  end
  rcall('SET', stockKey, remaining)
  rcall('SET', seqKey, seq)
end
out[1] = remaining
out[3 * n + 2] = rcall('HLEN', buyersKey)
return tail()
