--[[
  Decide an event's draw at the close of its window (start + drawMs, by
  Redis' clock), once, and answer some of its entrants. Any process may call
  it, any number of times: the first call after the close decides (entrants
  in ascending score take their units in that order, each its q units all
  or nothing, until the stock is gone), every later call only answers.
  Nothing is decided while the event is paused, restoring, or after its end.

  A winner is written exactly as buy-8.lua writes a win: the buyer marker,
  the order number from the counter (in score order), the payment deadline
  when the event has one, and the batch's orders in one stream entry per
  1,000 (o first, d deadline, u per win) for the persister; then the count,
  the counter and `unpersisted`. On an event sold in lots (a `limit` in the
  meta, no SKUs: the put refuses a draw with SKUs) exactly as buyLots-8.lua
  writes one: the buyers value gains the order (units;order,q,), the stream
  entry u, q, k '' and n (the user's nth order) per win, owners 'q,,user',
  the meta's `sku:` count and `orders:`; an entrant takes its q units only
  while its units stay within the limit. The meta's `drawOrders` keeps the
  order numbers the draw granted ('first last'), so that a winner's order is
  found among a lots user's orders.

  Input:
    KEYS[1] meta     sk:{E}:meta     hash: stock, start, end, lease, payWithin,
                                     unpersisted, paused, drawMs, drawSeed,
                                     drawEntrants, limit, skus, sku:, orders:;
                                     set here: drawn (Redis ms), drawStock (units
                                     the entrants shared), drawOrders
    KEYS[2] stock    sk:{E}:stock    units remaining
    KEYS[3] buyers   sk:{E}:buyers   hash: user id -> order number (lots: units;orders)
    KEYS[4] orders   sk:{E}:orders   stream of won orders (see buy-8.lua)
    KEYS[5] seq      sk:{E}:seq      the last order number granted
    KEYS[6] due      sk:{E}:due      zset: order number -> payment deadline (ms)
    KEYS[7] owners   sk:{E}:owners   hash: order number -> user ('q,,user' on lots), while due
    KEYS[8] draw     sk:{E}:draw     zset, scores 0: <score><entrant key> (drawEnter-4.lua)
    KEYS[9] entrants sk:{E}:entrants hash: entrant key -> "<q> <user>", rewritten
                                     "<q> <won> <user>" when decided

    ARGV[1]   the caller's seed (meta's drawSeed, else status 9)
    ARGV[2i], ARGV[2i+1] (i >= 1): a user id to answer and its entrant key

  Output: array of integers {status, x, entrants, buyers, code1, order1, count1, ...}
    status    0 decided by this call; 1 decided before (or the event has no
              draw); 2 not yet: x = ms until the close; 3 not started;
              4 ended undecided; 7 unknown event (no meta, a lease run out,
              or part of the event lost: no count or no counter); 9 stale
              seed; 10 restoring; 16 paused (nothing decided)
    x         with 0 and 1: the units remaining
    entrants  the draw's entrants
    buyers    HLEN buyers (as buy-8.lua returns it)
    code, order, count per user (with status 0 and 1; else the status, 0, 0),
    as true when answered (units may have come back since the decision):
              0 won (their order number; count: the units won);
              1 not won, and no unit is left;
              14 not won, and fewer units are left than they asked (count: left);
              2 not won, a buyer already (their order; on lots: they hold the
                limit, their last order);
              13 not won, lots: their units + q pass the limit (count: the
                units they may still buy);
              101 not an entrant, or not won and enough units are left now
                (expiries gave some back): go the normal way (buy-8.lua,
                buyLots-8.lua)
]]
local rcall = redis.call
-- #include clock.lua
-- #include lots.lua
-- #include orders.lua
local metaKey, stockKey, buyersKey, ordersKey, seqKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local dueKey, ownersKey, drawKey, entrantsKey = KEYS[6], KEYS[7], KEYS[8], KEYS[9]

local meta = rcall('HMGET', metaKey, 'stock', 'start', 'end', 'lease', 'payWithin', 'unpersisted', 'paused',
  'drawMs', 'drawSeed', 'drawn', 'drawEntrants', 'limit', 'skus', 'drawOrders')
local n = (#ARGV - 1) / 2
local entrants = tonumber(meta[11] or '0')

local function all(status, x)
  local out = {status, x, entrants, -1}
  for i = 1, n do
    out[3 * i + 2] = status
    out[3 * i + 3] = 0
    out[3 * i + 4] = 0
  end
  return out
end

if not meta[1] then
  return all(7, -1)
end
local now = redisClock()
if meta[4] then
  return all(leaseLive(meta[4], now) and 10 or 7, -1)
end
local remaining = tonumber(rcall('GET', stockKey))
local seq = tonumber(rcall('GET', seqKey))
if not remaining or not seq or (seq > 0 and rcall('EXISTS', buyersKey) == 0) then
  return all(7, -1)
end
if ARGV[1] ~= meta[9] then
  return all(9, -1)
end

local status = 1
local drawMs = tonumber(meta[8] or '0')
local limit = tonumber(meta[12])
if meta[13] and meta[13] ~= '' then
  -- SKUs: no draw (the put refuses the two together).
  drawMs = 0
end
if drawMs > 0 and not meta[10] then
  local start = tonumber(meta[2])
  if now < start then
    return all(3, -1)
  end
  if now < start + drawMs then
    return all(2, start + drawMs - now)
  end
  if now >= tonumber(meta[3]) then
    return all(4, -1)
  end
  if meta[7] then
    return all(16, -1)
  end
  status = 0
end

-- The draw's orders on lots: 'first last' (an earlier call's, or this one's below).
local drawFirst, drawLast = string.match(meta[14] or '', '^(%d+) (%d+)$')
if status == 0 then
  local CHUNK = 1000
  local before = remaining
  local payMs = (tonumber(meta[5]) or 0) * 1000
  local deadline = now + payMs
  local firstWin = seq + 1
  local winners = {}
  -- lots: per winner {q, nth, the buyers value with the order}
  local lots = {}
  local count = rcall('ZCARD', drawKey)
  for c = 0, count - 1, CHUNK do
    local members = rcall('ZRANGE', drawKey, c, c + CHUNK - 1)
    local keys = {}
    for i, m in ipairs(members) do
      keys[i] = string.sub(m, 65)
    end
    local vals = rcall('HMGET', entrantsKey, unpack(keys))
    local users, asks = {}, {}
    for i = 1, #keys do
      local q, user = string.match(vals[i] or '', '^(%d+) (.*)$')
      users[i], asks[i] = user or '', tonumber(q or '0')
    end
    local prior = rcall('HMGET', buyersKey, unpack(users))
    local results = {}
    for i = 1, #keys do
      local won = 0
      -- A buyer already (won before the window through a process that did not know of the draw) takes nothing more;
      -- on lots, nothing past the limit.
      local room = (limit and (lotUnits(prior[i] or nil) + asks[i] <= limit)) or (not limit and not prior[i])
      if users[i] ~= '' and room and asks[i] > 0 and remaining >= asks[i] then
        remaining = remaining - asks[i]
        seq = seq + 1
        winners[#winners + 1] = users[i]
        if limit then
          local v = lotAdd(prior[i] or nil, seq, asks[i], '')
          local nth = 0
          for _ in lotOrders(v) do
            nth = nth + 1
          end
          lots[#winners] = {asks[i], nth, v}
        end
        won = asks[i]
      end
      results[#results + 1] = keys[i]
      results[#results + 1] = asks[i] .. ' ' .. won .. ' ' .. users[i]
    end
    if #results > 0 then
      rcall('HSET', entrantsKey, unpack(results))
    end
  end
  local wins = #winners
  local queued = unpersistedBefore(ordersKey, meta[6], wins)
  writeWins(buyersKey, ordersKey, dueKey, ownersKey, wins, firstWin, payMs, deadline, function(i, order)
    local user, lot = winners[i], lots[i]
    if lot then
      return user, lot[3], {'q', lot[1], 'k', '', 'n', lot[2]}, lot[1] .. ',,' .. user
    end
    return user, order, nil, user
  end)
  if wins > 0 then
    rcall('SET', stockKey, remaining)
    rcall('SET', seqKey, seq)
    rcall('HSET', metaKey, 'unpersisted', queued + wins)
    if limit then
      rcall('HSET', metaKey, 'sku:', remaining, 'drawOrders', firstWin .. ' ' .. seq)
      rcall('HINCRBY', metaKey, 'orders:', wins)
      drawFirst, drawLast = firstWin, seq
    end
  end
  entrants = count
  rcall('HSET', metaKey, 'drawn', now, 'drawEntrants', count, 'drawStock', before)
end

local out = {status, remaining, entrants, rcall('HLEN', buyersKey)}
drawFirst, drawLast = tonumber(drawFirst or '0'), tonumber(drawLast or '-1')
for i = 1, n do
  local user, key = ARGV[2 * i], ARGV[2 * i + 1]
  local v = rcall('HGET', entrantsKey, key)
  local code, order, count = 101, 0, 0
  local asked, won = 0, nil
  if v then
    local a, w = string.match(v, '^(%d+) (%d+) ')
    asked, won = tonumber(a or '0'), tonumber(w or '-1')
  end
  if drawMs <= 0 or not won or won < 0 then
    code = 101
  else
    local mine = rcall('HGET', buyersKey, user)
    if won > 0 and mine and not limit then
      code, order, count = 0, tonumber(mine), won
    elseif won > 0 and mine then
      for o in lotOrders(mine) do
        if o >= drawFirst and o <= drawLast then
          code, order, count = 0, o, won
        end
      end
    elseif won > 0 then
      -- Won, and the marker is gone (part of the event lost): the buy script decides it anew.
      code = 101
    elseif mine and not limit then
      code, order = 2, tonumber(mine)
    elseif mine and lotUnits(mine) >= limit then
      code = 2
      for o in lotOrders(mine) do
        order = o
      end
    elseif mine and lotUnits(mine) + asked > limit then
      code, count = 13, limit - lotUnits(mine)
    elseif remaining <= 0 then
      code = 1
    elseif remaining < asked then
      code, count = 14, remaining
    end
  end
  out[3 * i + 2] = code
  out[3 * i + 3] = order
  out[3 * i + 4] = count
end
return out
