--[[ orders.lua: writing a batch's wins, for every script that grants orders (buy-8.lua,
  buyLots-8.lua, drawDecide-9.lua). Not a script of its own: a script's include line naming
  this file is replaced by this file when the scripts are loaded (src/redis/scripts.ts).

  unpersistedBefore(ordersKey, counted, wins) -> queued
      the won orders in the stream before this batch: the meta's count (`counted`,
      meta field `unpersisted`), which starts again from what the stream holds when
      it is empty (it heals after the stream alone was lost), and from its length
      when absent (a stream of one-order entries written before the count existed)
  writeWins(buyersKey, ordersKey, dueKey, ownersKey, wins, firstWin, payMs, deadline, win)
      the wins numbered firstWin, firstWin + 1, ... in chunks of up to 1,000 (Lua's C
      stack takes only so many arguments to unpack): one HSET of their buyer marks,
      one stream entry (`o` first order, `d` deadline when payMs > 0, then `u` user and
      the win's own fields per win) and, with a deadline, one ZADD to due and one HSET
      to owners per chunk. win(i, order) -> user, mark (the buyers value),
      fields (a list of extra entry fields, or nil), owner (the owners value)
]]
local function unpersistedBefore(ordersKey, counted, wins)
  if wins == 0 then
    return 0
  end
  local len = rcall('XLEN', ordersKey)
  if len == 0 then
    return 0
  end
  return tonumber(counted) or len
end

local function writeWins(buyersKey, ordersKey, dueKey, ownersKey, wins, firstWin, payMs, deadline, win)
  for c = 1, wins, 1000 do
    local last = math.min(wins, c + 999)
    local first = firstWin + c - 1
    local marks, entry, due, owners = {}, {'o', first}, {}, {}
    if payMs > 0 then
      entry[3], entry[4] = 'd', deadline
    end
    for i = c, last do
      local order = first + i - c
      local user, mark, fields, owner = win(i, order)
      marks[#marks + 1] = user
      marks[#marks + 1] = mark
      entry[#entry + 1] = 'u'
      entry[#entry + 1] = user
      if fields then
        for f = 1, #fields do
          entry[#entry + 1] = fields[f]
        end
      end
      if payMs > 0 then
        due[#due + 1] = deadline
        due[#due + 1] = order
        owners[#owners + 1] = order
        owners[#owners + 1] = owner
      end
    end
    -- A user with two wins in the batch (lots) is written twice here: the later value holds both.
    rcall('HSET', buyersKey, unpack(marks))
    if payMs > 0 then
      rcall('ZADD', dueKey, unpack(due))
      rcall('HSET', ownersKey, unpack(owners))
    end
    rcall('XADD', ordersKey, '*', unpack(entry))
  end
end
