--[[
  Acknowledge orders that are committed to MySQL and drop them from the
  stream, in one step, so the stream only ever holds orders not yet stored.

  Input:
    KEYS[1] orders  sk:{E}:orders  stream of won orders
    ARGV[1] consumer group name
    ARGV[2..n] entry ids to acknowledge

  Output: integer, how many entries were acknowledged (entries already
  acknowledged by another persister count 0 and are deleted all the same).
]]
local rcall = redis.call
local ordersKey = KEYS[1]
local group = ARGV[1]
local ids = {}
for i = 2, #ARGV do
  ids[#ids + 1] = ARGV[i]
end
if #ids == 0 then
  return 0
end
local acked = rcall('XACK', ordersKey, group, unpack(ids))
rcall('XDEL', ordersKey, unpack(ids))
return acked
