--[[
  Acknowledge stream entries whose orders are committed to MySQL and drop
  them from the stream, in one step, so the stream only ever holds orders
  not yet stored; take their orders off the event's `unpersisted` count.

  Input:
    KEYS[1] orders  sk:{E}:orders  stream of won orders (see buy-8.lua)
    KEYS[2] meta    sk:{E}:meta    hash: ..., unpersisted (won orders in the stream)
    ARGV[1]         consumer group name
    ARGV[2i], ARGV[2i+1]  (i >= 1) an entry id to acknowledge, and how many
                    won orders it holds (0 for a settlement entry)

  When the stream is left empty, `unpersisted` is set to 0.

  Output: integer, how many entries were acknowledged. An entry already
  acknowledged (by this persister before a crash, or another one that took
  it over) counts 0 and takes nothing off `unpersisted`; it is deleted all
  the same.
]]
local rcall = redis.call
local ordersKey, metaKey = KEYS[1], KEYS[2]
local group = ARGV[1]
local ids = {}
local acked, orders = 0, 0
for i = 2, #ARGV - 1, 2 do
  local id = ARGV[i]
  ids[#ids + 1] = id
  if rcall('XACK', ordersKey, group, id) == 1 then
    acked = acked + 1
    orders = orders + (tonumber(ARGV[i + 1]) or 0)
  end
end
if #ids == 0 then
  return 0
end
-- XDEL looks each id up in its stream node, whatever the order: a few
-- hundred ids are still one call.
rcall('XDEL', ordersKey, unpack(ids))
if rcall('EXISTS', metaKey) == 1 then
  if rcall('XLEN', ordersKey) == 0 then
    -- Nothing left in the stream: nothing waits, whatever the count said
    -- (it drifts only when entries went without an ack: the stream lost).
    rcall('HSET', metaKey, 'unpersisted', 0)
  elseif orders > 0 then
    local left = rcall('HINCRBY', metaKey, 'unpersisted', -orders)
    if left < 0 then
      rcall('HSET', metaKey, 'unpersisted', 0)
    end
  end
end
return acked
