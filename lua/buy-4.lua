--[[
  Decide one batch of buy requests for one event, atomically.

  Input:
    KEYS[1] meta    sk:{E}:meta    hash: stock (initial), start, end (ms)
    KEYS[2] stock   sk:{E}:stock   units remaining
    KEYS[3] buyers  sk:{E}:buyers  hash: user id -> order number
    KEYS[4] orders  sk:{E}:orders  stream of won orders (fields o, u)

    ARGV[1..n] user ids, in arrival order (distinct within a batch is not
               required: a repeat is answered 2)

  Output: array of integers
    [1]              units remaining after the batch (0 when the event is unknown)
    [2i], [2i+1]     outcome code and order number (0 when none) of ARGV[i]

  Outcome codes (src/outcome.ts):
    0 won           (order number: the next in 1..stock)
    1 sold out
    2 already bought (order number: the one this user won before)
    3 not started   (Redis clock before start)
    4 ended         (Redis clock at or after end)
    7 unknown event (no meta)

  A win is the buyer marker, the decrement and the XADD together: a user is
  never told "won" without a durable order record.
]]
local rcall = redis.call
local metaKey, stockKey, buyersKey, ordersKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

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

local meta = rcall('HMGET', metaKey, 'stock', 'start', 'end')
local initial = tonumber(meta[1])
if not initial then
  return all(7, 0)
end

local t = rcall('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local remaining = tonumber(rcall('GET', stockKey) or '0')
if now < tonumber(meta[2]) then
  return all(3, remaining)
end
if now >= tonumber(meta[3]) then
  return all(4, remaining)
end

local before = remaining
out[1] = 0
for i = 1, n do
  local user = ARGV[i]
  local prior = rcall('HGET', buyersKey, user)
  if prior then
    out[2 * i] = 2
    out[2 * i + 1] = tonumber(prior)
  elseif remaining <= 0 then
    out[2 * i] = 1
    out[2 * i + 1] = 0
  else
    remaining = remaining - 1
    local order = initial - remaining
    rcall('HSET', buyersKey, user, order)
    rcall('XADD', ordersKey, '*', 'o', order, 'u', user)
    out[2 * i] = 0
    out[2 * i + 1] = order
  end
end
if remaining ~= before then
  rcall('SET', stockKey, remaining)
end
out[1] = remaining
return out
