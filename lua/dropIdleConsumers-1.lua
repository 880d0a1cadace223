--[[
  Delete the consumers of a stream's group that hold nothing and have been
  idle for a while: each restart of a server or persister used to leave one
  behind. Checked and deleted in one step, so a consumer that reads entries
  meanwhile is never deleted with entries pending (DELCONSUMER would drop
  them from the group's pending list).

  Input:
    KEYS[1] orders  sk:{E}:orders  stream of won orders
    ARGV[1] consumer group name
    ARGV[2] idle (ms): only consumers idle at least this long are deleted
    ARGV[3] the caller's own consumer name (never deleted)

  Output: integer, how many consumers were deleted (0 when the stream or
  group does not exist)
]]
local rcall = redis.call
local ordersKey, group = KEYS[1], ARGV[1]
local minIdle = tonumber(ARGV[2])

if rcall('EXISTS', ordersKey) == 0 then
  return 0
end
local ok, consumers = pcall(rcall, 'XINFO', 'CONSUMERS', ordersKey, group)
if not ok then
  return 0
end
local deleted = 0
for _, c in ipairs(consumers) do
  local name, pending, idle
  for i = 1, #c, 2 do
    if c[i] == 'name' then name = c[i + 1]
    elseif c[i] == 'pending' then pending = c[i + 1]
    elseif c[i] == 'idle' then idle = c[i + 1]
    end
  end
  if name ~= ARGV[3] and pending == 0 and idle >= minIdle then
    rcall('XGROUP', 'DELCONSUMER', ordersKey, group, name)
    deleted = deleted + 1
  end
end
return deleted
