--[[
  Pause or resume an event's sale, atomically. While the meta hash has
  `paused`, buy-8.lua decides no unit: every buy answers 16. The pause is
  kept across a change of the definition (putEvent-4.lua writes other
  fields) and across a restore from MySQL (restoreBegin-4.lua writes it back
  from the row); a sale started anew (resetEvent-9.lua) is not paused.

  Input:
    KEYS[1] meta    sk:{E}:meta    hash: stock, ..., paused (Redis ms since
                                   when, while paused), pausedMs (ms paused
                                   in all, pauses over), pauses (how many)
    KEYS[2] seq     sk:{E}:seq     the last order number granted

    ARGV[1] '1' pause, '0' resume

  Output: array of integers {code, since, pausedMs, pauses, orders, lastMs}
    code      0 done; 1 already so (nothing changed); 7 unknown event (no meta)
    since     Redis ms the pause began while paused after the call, else 0
    pausedMs  ms paused in all, over the pauses that ended
    pauses    how many times the sale was paused
    orders    the last order number granted when the call ran: a pause
              took effect here, so no order above it is decided until the
              sale resumes
    lastMs    a resume: how long the pause it ended lasted; else 0
]]
local rcall = redis.call
-- #include clock.lua
local metaKey, seqKey = KEYS[1], KEYS[2]

local cur = rcall('HMGET', metaKey, 'stock', 'paused', 'pausedMs', 'pauses')
if not cur[1] then
  return {7, 0, 0, 0, 0, 0}
end
local since = tonumber(cur[2] or '0')
local total = tonumber(cur[3] or '0')
local pauses = tonumber(cur[4] or '0')
local orders = tonumber(rcall('GET', seqKey) or '0')
local now = redisClock()

if ARGV[1] == '1' then
  if since > 0 then
    return {1, since, total, pauses, orders, 0}
  end
  pauses = pauses + 1
  rcall('HSET', metaKey, 'paused', now, 'pauses', pauses)
  return {0, now, total, pauses, orders, 0}
end

if since == 0 then
  return {1, 0, total, pauses, orders, 0}
end
local last = math.max(0, now - since)
total = total + last
rcall('HDEL', metaKey, 'paused')
rcall('HSET', metaKey, 'pausedMs', total)
return {0, 0, total, pauses, orders, last}
