--[[ lots.lua: an event sold in lots (a limit above 1, or SKUs), for every script that reads one.
  Not a script of its own: a script's include line naming this file is replaced by this
  file when the scripts are loaded (src/redis/scripts.ts).

  Such an event's meta has `limit` (units per user) and, with SKUs, `skus`
  ('red:500,blue:300': each SKU's stock as defined, in order), and one
  field `sku:<id>` per SKU with its units remaining (`sku:` alone when it
  has no SKUs; the count key stays the sum) and `orders:<id>` with the
  orders granted of it (absent: 0). Its buyers hash holds, per
  user, the units granted (expired orders' included) and then each order:
  '3;7,2,red;9,1,blue' (units 3; order 7 of 2 red; order 9 of 1 blue).
  Its owners hash holds 'q,sku,user' per due order.

  lotsStocks(text, stock) -> ids, stocks   the SKUs of a skus text; {''}, {stock} when none
  lotUnits(v) -> units                     of a buyers value (0 for none)
  lotAdd(v, order, q, sku) -> v            the value with the order added (unchanged when it has it)
  lotOrders(v) -> iterator                 order, q, sku of each order of a buyers value
  lotOwner(v) -> q, sku, user              of an owners value
  lotsWrite(metaKey, stock, limit, skus)   replaces the meta's lots fields by this definition's (limit
                                           '1' and skus '': none), each SKU's count at its whole stock
]]
local function lotsStocks(text, stock)
  if not text or text == '' then
    return {''}, {tonumber(stock)}
  end
  local ids, stocks = {}, {}
  for id, n in string.gmatch(text, '([^,:]+):(%d+)') do
    ids[#ids + 1] = id
    stocks[#stocks + 1] = tonumber(n)
  end
  return ids, stocks
end

local function lotUnits(v)
  if not v then
    return 0
  end
  return tonumber(string.match(v, '^%d+'))
end

local function lotAdd(v, order, q, sku)
  if not v then
    return q .. ';' .. order .. ',' .. q .. ',' .. sku
  end
  if string.find(v .. ';', ';' .. order .. ',', 1, true) then
    return v
  end
  local head = string.match(v, '^%d+')
  return (tonumber(head) + q) .. string.sub(v, #head + 1) .. ';' .. order .. ',' .. q .. ',' .. sku
end

local function lotOrders(v)
  local it = string.gmatch(v or '', ';(%d+),(%d+),([^;]*)')
  return function()
    local o, q, sku = it()
    if o then
      return tonumber(o), tonumber(q), sku
    end
  end
end

local function lotOwner(v)
  local q, sku, user = string.match(v or '', '^(%d+),([^,]*),(.*)$')
  return tonumber(q) or 1, sku or '', user or (v or '')
end

local function lotsWrite(metaKey, stock, limit, skus)
  local old = {}
  for _, f in ipairs(redis.call('HKEYS', metaKey)) do
    if f == 'limit' or f == 'skus' or string.sub(f, 1, 4) == 'sku:' or string.sub(f, 1, 7) == 'orders:' then
      old[#old + 1] = f
    end
  end
  if #old > 0 then
    redis.call('HDEL', metaKey, unpack(old))
  end
  if tonumber(limit) <= 1 and skus == '' then
    return
  end
  local set = {'limit', limit}
  if skus ~= '' then
    set[3], set[4] = 'skus', skus
  end
  local ids, stocks = lotsStocks(skus, stock)
  for i, id in ipairs(ids) do
    set[#set + 1] = 'sku:' .. id
    set[#set + 1] = stocks[i]
  end
  redis.call('HSET', metaKey, unpack(set))
end
