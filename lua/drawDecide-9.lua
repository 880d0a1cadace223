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
  the counter and `unpersisted`. (A win of q > 1 units is still one order
  number and one u: the stream's quantity field comes with quantities.)

  Input:
    KEYS[1] meta     sk:{E}:meta     hash: stock, start, end, lease, payWithin,
                                     unpersisted, paused, drawMs, drawSeed,
                                     drawEntrants; set here: drawn (Redis ms),
                                     drawStock (units the entrants shared)
    KEYS[2] stock    sk:{E}:stock    units remaining
    KEYS[3] buyers   sk:{E}:buyers   hash: user id -> order number
    KEYS[4] orders   sk:{E}:orders   stream of won orders (see buy-8.lua)
    KEYS[5] seq      sk:{E}:seq      the last order number granted
    KEYS[6] due      sk:{E}:due      zset: order number -> payment deadline (ms)
    KEYS[7] owners   sk:{E}:owners   hash: order number -> user, while due
    KEYS[8] draw     sk:{E}:draw     zset, scores 0: <score><entrant key> (drawEnter-4.lua)
    KEYS[9] entrants sk:{E}:entrants hash: entrant key -> "<q> <user>", rewritten
                                     "<q> <won> <user>" when decided

    ARGV[1]   the caller's seed (meta's drawSeed, else status 9)
    ARGV[2i], ARGV[2i+1] (i >= 1): a user id to answer and its entrant key

  Output: array of integers {status, x, entrants, buyers, code1, order1, ...}
    status    0 decided by this call; 1 decided before (or the event has no
              draw); 2 not yet: x = ms until the close; 3 not started;
              4 ended undecided; 7 unknown event (no meta, a lease run out,
              or part of the event lost: no count or no counter); 9 stale
              seed; 10 restoring; 16 paused (nothing decided)
    x         with 0 and 1: the units remaining
    entrants  the draw's entrants
    buyers    HLEN buyers (as buy-8.lua returns it)
    code, order per user (with status 0 and 1; else the status and 0):
              0 won (their order number); 1 not won: the stock ran out before
              their turn; 2 a buyer already before the draw (their order);
              101 not an entrant: go the normal way (buy-8.lua)
]]
local rcall = redis.call
-- #include clock.lua
local metaKey, stockKey, buyersKey, ordersKey, seqKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local dueKey, ownersKey, drawKey, entrantsKey = KEYS[6], KEYS[7], KEYS[8], KEYS[9]

local meta = rcall('HMGET', metaKey, 'stock', 'start', 'end', 'lease', 'payWithin', 'unpersisted', 'paused',
  'drawMs', 'drawSeed', 'drawn', 'drawEntrants')
local n = (#ARGV - 1) / 2
local entrants = tonumber(meta[11] or '0')

local function all(status, x)
  local out = {status, x, entrants, -1}
  for i = 1, n do
    out[2 * i + 3] = status
    out[2 * i + 4] = 0
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

if status == 0 then
  local CHUNK = 1000
  local before = remaining
  local payMs = (tonumber(meta[5]) or 0) * 1000
  local deadline = now + payMs
  local firstWin = seq + 1
  local winners = {}
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
      -- A buyer already (won before the window through a process that did not know of the draw) takes nothing more.
      if users[i] ~= '' and not prior[i] and asks[i] > 0 and remaining >= asks[i] then
        remaining = remaining - asks[i]
        seq = seq + 1
        winners[#winners + 1] = users[i]
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
  local queued = 0
  if wins > 0 then
    local len = rcall('XLEN', ordersKey)
    if len > 0 then
      queued = tonumber(meta[6]) or len
    end
  end
  for c = 1, wins, CHUNK do
    local last = math.min(wins, c + CHUNK - 1)
    local first = firstWin + c - 1
    local marks, entry, due, owners = {}, {'o', first}, {}, {}
    if payMs > 0 then
      entry[3], entry[4] = 'd', deadline
    end
    for i = c, last do
      local user, order = winners[i], first + i - c
      marks[#marks + 1] = user
      marks[#marks + 1] = order
      entry[#entry + 1] = 'u'
      entry[#entry + 1] = user
      if payMs > 0 then
        due[#due + 1] = deadline
        due[#due + 1] = order
        owners[#owners + 1] = order
        owners[#owners + 1] = user
      end
    end
    rcall('HSET', buyersKey, unpack(marks))
    if payMs > 0 then
      rcall('ZADD', dueKey, unpack(due))
      rcall('HSET', ownersKey, unpack(owners))
    end
    rcall('XADD', ordersKey, '*', unpack(entry))
  end
  if wins > 0 then
    rcall('SET', stockKey, remaining)
    rcall('SET', seqKey, seq)
    rcall('HSET', metaKey, 'unpersisted', queued + wins)
  end
  entrants = count
  rcall('HSET', metaKey, 'drawn', now, 'drawEntrants', count, 'drawStock', before)
end

local out = {status, remaining, entrants, rcall('HLEN', buyersKey)}
for i = 1, n do
  local user, key = ARGV[2 * i], ARGV[2 * i + 1]
  local v = rcall('HGET', entrantsKey, key)
  local code, order = 101, 0
  local won = v and tonumber(string.match(v, '^%d+ (%d+) ') or '-1')
  if drawMs <= 0 or not won or won < 0 then
    code = 101
  else
    local mine = rcall('HGET', buyersKey, user)
    if won > 0 and mine then
      code, order = 0, tonumber(mine)
    elseif won > 0 then
      -- Won, and the marker is gone (part of the event lost): buy-8.lua decides it anew.
      code = 101
    elseif mine then
      code, order = 2, tonumber(mine)
    else
      code = 1
    end
  end
  out[2 * i + 3] = code
  out[2 * i + 4] = order
end
return out
