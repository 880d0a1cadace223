--[[
  Write one chunk of an event's stored orders back as buyers, during a
  restore (see restoreBegin-4.lua), and move the order counter up to the
  highest order number seen, so no number MySQL holds is granted again.

  Input:
    KEYS[1] meta    sk:{E}:meta    hash: ..., restoring (token), lease
    KEYS[2] buyers  sk:{E}:buyers  hash: user id -> order number
    KEYS[3] seq     sk:{E}:seq     the last order number granted

    ARGV[1] restore token
    ARGV[2] lease (ms), renewed by this chunk
    ARGV[3], ARGV[4], ... user id, order number, user id, order number, ...

  Output: integer
    1 written
    0 refused: this token no longer owns the restore (Redis lost the event
      again, or another restorer took over after the lease ran out)
]]
local rcall = redis.call
local metaKey, buyersKey, seqKey = KEYS[1], KEYS[2], KEYS[3]

if rcall('HGET', metaKey, 'restoring') ~= ARGV[1] then
  return 0
end
local t = rcall('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
rcall('HSET', metaKey, 'lease', now + tonumber(ARGV[2]))

local high = tonumber(rcall('GET', seqKey) or '0')
-- HSET in slices: unpack() of a whole large chunk would overflow Lua's stack.
local slice = {}
for i = 3, #ARGV, 2 do
  local order = tonumber(ARGV[i + 1])
  if order > high then
    high = order
  end
  slice[#slice + 1] = ARGV[i]
  slice[#slice + 1] = ARGV[i + 1]
  if #slice >= 1000 then
    rcall('HSET', buyersKey, unpack(slice))
    slice = {}
  end
end
if #slice > 0 then
  rcall('HSET', buyersKey, unpack(slice))
end
rcall('SET', seqKey, high)
return 1
