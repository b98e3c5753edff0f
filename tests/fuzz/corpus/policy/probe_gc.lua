-- probe_gc.lua - __gc finalizers run with hooks off, so an infinite loop in
-- one would hang the thread past any instruction budget. The sandbox must
-- leave no way to attach __gc (nor __mode, which changes collection), and
-- no way to force a collection. Every route below must fail.

local function spin() while true do end end

local routes = {
  setmetatable_gc = function() return setmetatable({}, { __gc = spin }) end,
  setmetatable_mode = function()
    return setmetatable({}, { __mode = "k" })
  end,
  string_meta_gc = function()
    getmetatable("").__gc = spin
    return true
  end,
  debug = function() return debug.setmetatable({}, { __gc = spin }) end,
  collectgarbage = function() collectgarbage() return true end,
  newproxy = function() return newproxy(true) end,
}

local function probe(row)
  for name, route in pairs(routes) do
    local ok, v = pcall(route)
    if ok and v ~= nil then return "REACHED:" .. name end
  end
  if row then
    local ok = pcall(function() return getmetatable(row) end)
    if ok then return "REACHED:row proxy metatable" end
  end
  -- Churn memory so any finalizer that did get attached would run now.
  local t = {}
  for i = 1, 2000 do t[i % 100 + 1] = { i } end
  return "blocked"
end

function access(ctx)
  return true, probe(nil)
end

columns = {
  probe = function(value, row, ctx) return probe(row) end,
}
