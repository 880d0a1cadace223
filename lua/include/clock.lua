--[[ clock.lua: Redis' own clock and the restore lease, for every script that reads them.
  Not a script of its own: a script's include line naming this file is replaced by this
  file when the scripts are loaded (src/redis/scripts.ts), so the script Redis runs is whole.

  redisClock() -> now, micros
    now     Redis' clock in ms (TIME: every instance and worker reads the same clock)
    micros  the same instant in µs, as a string (an event state's incarnation)
  leaseLive(lease, now) -> boolean
    lease   the meta hash's lease field (ms; false when no restore holds one)
    true while a restore from MySQL holds a lease that has not run out
]]
local function redisClock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), t[1] .. string.format('%06d', tonumber(t[2]))
end

local function leaseLive(lease, now)
  return lease ~= false and lease ~= nil and now < tonumber(lease)
end
