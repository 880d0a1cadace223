--[[
  Decide one batch of buy requests for one event, atomically.

  Input:
    KEYS[1] meta    sk:{E}:meta    hash: stock (initial), start, end (ms),
                                   payWithin (s, absent = 0); restoring +
                                   lease while a restore runs
    KEYS[2] stock   sk:{E}:stock   units remaining
    KEYS[3] buyers  sk:{E}:buyers  hash: user id -> order number
    KEYS[4] orders  sk:{E}:orders  stream of won orders (fields o, u)
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

  A win is the buyer marker, the decrement, the counter and the XADD
  together: a user is never told "won" without a durable order record.
  Order numbers come from the counter, not from the stock, so after a
  restore they continue above the highest number MySQL holds, and a unit
  returned by an expired order is won again under a new number. (A sale
  begun before the counter existed has none: it is restored once, from
  MySQL and its stream, like any event that lost a key.)

  With payWithin > 0 a win is also due: its deadline (Redis clock + payWithin)
  goes into `due`, its user into `owners`, and the stream entry carries it
  (field d). payOrder-7.lua and expireDue-6.lua settle it. With payWithin 0
  (or absent) nothing else is written: a win is final, as before.
]]
local rcall = redis.call
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
  return out
end

local meta = rcall('HMGET', metaKey, 'stock', 'start', 'end', 'lease', 'payWithin')
local initial = tonumber(meta[1])
if not initial then
  return all(7, -1)
end

local t = rcall('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if meta[4] then
  if now < tonumber(meta[4]) then
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

local before = remaining
local payMs = (tonumber(meta[5]) or 0) * 1000
local deadline = now + payMs
for i = 1, n do
  local user = ARGV[i]
  local prior = rcall('HGET', buyersKey, user)
  if prior and rcall('HEXISTS', expiredKey, prior) == 1 then
    out[2 * i] = 12
    out[2 * i + 1] = tonumber(prior)
  elseif prior then
    out[2 * i] = 2
    out[2 * i + 1] = tonumber(prior)
  elseif remaining <= 0 then
    out[2 * i] = 1
    out[2 * i + 1] = 0
  else
    remaining = remaining - 1
    seq = seq + 1
    rcall('HSET', buyersKey, user, seq)
    if payMs > 0 then
      rcall('ZADD', dueKey, deadline, seq)
      rcall('HSET', ownersKey, seq, user)
      rcall('XADD', ordersKey, '*', 'o', seq, 'u', user, 'd', deadline)
    else
      rcall('XADD', ordersKey, '*', 'o', seq, 'u', user)
    end
    out[2 * i] = 0
    out[2 * i + 1] = seq
  end
end
if remaining ~= before then
  rcall('SET', stockKey, remaining)
  rcall('SET', seqKey, seq)
end
out[1] = remaining
return out
