--[[
  Start restoring an event that Redis lost, from MySQL (its definition and
  its stored orders). While the restore runs, the event's meta carries a
  restore token and a lease: the buy script answers 10 (retry) and grants
  nothing, and putEvent refuses to touch it. The restorer then writes the
  stored orders with restoreChunk-7.lua and opens the sale again with
  restoreEnd-9.lua. A restorer that dies leaves a lease that runs out; the
  next restore takes over (the buyers written so far are MySQL's rows, so
  writing them again is harmless).

  Input:
    KEYS[1] meta    sk:{E}:meta    hash: stock, start, end, name, payWithin, pow, limit, skus, sku:<id>, restoring, lease, paused,
                                   drawMs, drawSeed, drawn, drawEntrants, drawStock,
                                   incarnation (set anew here: Redis time in µs; every
                                   process forgets the winners it knew of the lost state)
    KEYS[2] stock   sk:{E}:stock   units remaining
    KEYS[3] buyers  sk:{E}:buyers  hash: user id -> order number
    KEYS[4] seq     sk:{E}:seq     the last order number granted

    ARGV[1] stock (initial units)
    ARGV[2] start (ms since epoch)
    ARGV[3] end   (ms since epoch)
    ARGV[4] name
    ARGV[5] restore token (random, one per restore attempt)
    ARGV[6] lease (ms): how long the restore may go without a chunk
    ARGV[7] payWithin (s, 0: none)
    ARGV[8] paused since (ms, 0: not paused), ARGV[9] pausedMs, ARGV[10] pauses:
            the pause switch as MySQL kept it (pauseEvent-2.lua)
    ARGV[11] pow (the proof of work as JSON; '': none, and no field)
    ARGV[12] drawMs, ARGV[13] the draw's seed ('' when MySQL has none: Redis'
            is kept), ARGV[14] when the draw was decided (ms, 0: not, as far
            as MySQL knows), ARGV[15] its entrants, ARGV[16] the units they
            shared: a draw decided before the loss is not decided again
    ARGV[17] limit, ARGV[18] skus: an event sold in lots (lua/include/lots.lua;
            each SKU's count is set at the end, restoreEnd-9.lua); absent: one unit per user

  Output: integer
    0 present: Redis has the event whole and no restore is under way;
      nothing done
    1 started: this token now owns the restore
    2 busy: another restore holds a lease that has not run out
]]
local rcall = redis.call
-- #include clock.lua
-- #include lots.lua
local metaKey, stockKey, buyersKey, seqKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

local cur = rcall('HMGET', metaKey, 'stock', 'lease')
if cur[1] and not cur[2] then
  -- Whole: a count, a counter, and buyers if the counter says some won
  -- (the same test as buy-8.lua's).
  local seq = tonumber(rcall('GET', seqKey))
  if rcall('EXISTS', stockKey) == 1 and seq and (seq == 0 or rcall('EXISTS', buyersKey) == 1) then
    return 0
  end
end
local now, micros = redisClock()
if leaseLive(cur[2], now) then
  return 2
end
-- The remaining count is recomputed at the end; until then nothing may sell.
rcall('DEL', stockKey)
rcall('HSET', metaKey, 'stock', ARGV[1], 'start', ARGV[2], 'end', ARGV[3], 'name', ARGV[4],
  'payWithin', ARGV[7], 'restoring', ARGV[5], 'lease', now + tonumber(ARGV[6]),
  'incarnation', micros)
if ARGV[11] == '' then rcall('HDEL', metaKey, 'pow') else rcall('HSET', metaKey, 'pow', ARGV[11]) end
-- The draw: MySQL's seed and decision; a decision Redis still holds stays.
rcall('HSET', metaKey, 'drawMs', ARGV[12] or '0')
if ARGV[13] and ARGV[13] ~= '' then
  rcall('HSET', metaKey, 'drawSeed', ARGV[13])
end
if tonumber(ARGV[14] or '0') > 0 and not rcall('HGET', metaKey, 'drawn') then
  rcall('HSET', metaKey, 'drawn', ARGV[14], 'drawEntrants', ARGV[15], 'drawStock', ARGV[16])
end
lotsWrite(metaKey, ARGV[1], ARGV[17] or '1', ARGV[18] or '')
-- The pause switch as MySQL kept it; a pause Redis still holds stays (a restore never reopens a paused sale).
local p = rcall('HMGET', metaKey, 'paused', 'pausedMs', 'pauses')
if tonumber(ARGV[8]) > 0 and not p[1] then
  rcall('HSET', metaKey, 'paused', ARGV[8])
end
rcall('HSET', metaKey, 'pausedMs', math.max(tonumber(p[2] or '0'), tonumber(ARGV[9])),
  'pauses', math.max(tonumber(p[3] or '0'), tonumber(ARGV[10])))
return 1
