--[[
  Decide one batch of buy requests for one event, atomically.

  Input:
    KEYS[1] meta    sk:{E}:meta    hash: stock (initial), start, end (ms),
                                   payWithin (s, absent = 0); restoring +
                                   lease while a restore runs; unpersisted
                                   (won orders in the stream, += the wins;
                                   from 0 when the stream is empty); paused
                                   (Redis ms, while the operator pauses it)
    KEYS[2] stock   sk:{E}:stock   units remaining
    KEYS[3] buyers  sk:{E}:buyers  hash: user id -> order number
    KEYS[4] orders  sk:{E}:orders  stream of won orders: one entry per batch
                                   (per 1,000 wins), fields o <first order
                                   number>, d <deadline> when due, then
                                   u <user> per win; the users won orders
                                   o, o+1, ... in that order
    KEYS[5] seq     sk:{E}:seq     the last order number granted
    KEYS[6] due     sk:{E}:due     zset: order number -> payment deadline (ms)
    KEYS[7] owners  sk:{E}:owners  hash: order number -> user, while due
    KEYS[8] expired sk:{E}:expired hash: order number -> user, orders whose payment deadline passed

    ARGV[1..n] user ids, in arrival order (distinct within a batch is not
               required: a repeat is answered 2)

  Output: array of integers
    [1]              units remaining after the batch; -1 when the event is
                     absent or being restored (the caller must not re-sync
                     its estimate to it)
    [2i], [2i+1]     outcome code and order number (0 when none) of ARGV[i]
    [2n+2]           buyers after the batch (HLEN buyers; -1 with [1] = -1): a
                     process that knows as many buyers knows them all, and may
                     answer "sold out" from memory (src/events/sale-event.ts)

  Outcome codes (src/outcome.ts):
    0 won            (order number: seq + 1, then seq is that number)
    1 sold out
    2 already bought (order number: the one this user won before)
    12 expired       (order number: the one this user won and did not pay
                      in time; its unit went back on sale, the user may not
                      buy again in this event)
    3 not started    (Redis clock before start)
    4 ended          (Redis clock at or after end)
    7 unknown event  (no meta, a restore whose lease ran out, or an event
                      that lost part of its keys: no count, no counter, or
                      no buyers while the counter says some won. The
                      caller restores it from MySQL when it knows the event)
    10 unavailable   (a restore from MySQL is under way: retry)
    16 paused        (the meta has `paused`: pauseEvent-2.lua; no unit is
                      decided until it is resumed)

  A win is the buyer marker, the decrement, the counter and the XADD
  together: a user is never told "won" without a durable order record.
  Order numbers come from the counter, not from the stock, so after a
  restore they continue above the highest number MySQL holds, and a unit
  returned by an expired order is won again under a new number. (A sale
  begun before the counter existed has none: it is restored once, from
  MySQL and its stream, like any event that lost a key.)

  With payWithin > 0 a win is also due: its deadline (Redis clock + payWithin)
  goes into `due`, its user into `owners`, and the stream entry carries it
  (field d: one deadline for the whole batch). payOrder-7.lua and
  expireDue-6.lua settle it. With payWithin 0 (or absent) nothing else is
  written: a win is final, as before.

  The persister acknowledges an entry with ackOrders-2.lua, which takes its
  orders off `unpersisted`; an entry of one order (o, u: older servers, the
  settlement entries) reads as a batch of one.
]]
local rcall = redis.call
-- #include clock.lua
-- #include orders.lua
local metaKey, stockKey, buyersKey, ordersKey, seqKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local dueKey, ownersKey, expiredKey = KEYS[6], KEYS[7], KEYS[8]

local out = {}
local n = #ARGV

local function all(code, remaining)
  out[1] = remaining
  for i = 1, n do
    out[2 * i] = code
    out[2 * i + 1] = 0
  end
  out[2 * n + 2] = remaining < 0 and -1 or rcall('HLEN', buyersKey)
  return out
end

local meta = rcall('HMGET', metaKey, 'stock', 'start', 'end', 'lease', 'payWithin', 'unpersisted', 'paused')
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

local remaining = tonumber(rcall('GET', stockKey))
local seq = tonumber(rcall('GET', seqKey))
-- Part of the event is gone (a key deleted or evicted): granting from what
-- is left could sell a unit twice or number an order twice. Restore it.
if not remaining or not seq or (seq > 0 and rcall('EXISTS', buyersKey) == 0) then
  return all(7, -1)
end
if now < tonumber(meta[2]) then
  return all(3, remaining)
end
if now >= tonumber(meta[3]) then
  return all(4, remaining)
end
if meta[7] then
  return all(16, remaining)
end

local before = remaining
local payMs = (tonumber(meta[5]) or 0) * 1000
local deadline = now + payMs
-- Each redis.call costs more than the lookup it makes, so the batch is read
-- and written in a few calls of up to CHUNK users each (Lua's C stack takes
-- some 8,000 arguments): one HMGET of the buyers, then per chunk of winners
-- one HSET of the buyers, one XADD (and with a deadline one ZADD, one HSET
-- of the owners).
local CHUNK = 1000
local firstWin = seq + 1
local winners = {}
local wonHere = {}
for c = 1, n, CHUNK do
  local last = math.min(n, c + CHUNK - 1)
  local prior = rcall('HMGET', buyersKey, unpack(ARGV, c, last))
  for i = c, last do
    local user = ARGV[i]
    local p = prior[i - c + 1] or wonHere[user]
    if p and rcall('HEXISTS', expiredKey, p) == 1 then
      out[2 * i] = 12
      out[2 * i + 1] = tonumber(p)
    elseif p then
      out[2 * i] = 2
      out[2 * i + 1] = tonumber(p)
    elseif remaining <= 0 then
      out[2 * i] = 1
      out[2 * i + 1] = 0
    else
      remaining = remaining - 1
      seq = seq + 1
      wonHere[user] = seq
      winners[#winners + 1] = user
      out[2 * i] = 0
      out[2 * i + 1] = seq
    end
  end
end
local wins = #winners
local queued = unpersistedBefore(ordersKey, meta[6], wins)
writeWins(buyersKey, ordersKey, dueKey, ownersKey, wins, firstWin, payMs, deadline, function(i, order)
  local user = winners[i]
  return user, order, nil, user
end)
if remaining ~= before then
  rcall('SET', stockKey, remaining)
  rcall('SET', seqKey, seq)
  rcall('HSET', metaKey, 'unpersisted', queued + wins)
end
out[1] = remaining
out[2 * n + 2] = rcall('HLEN', buyersKey)
return out
