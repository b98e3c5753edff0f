-- probe_close.lua - Lua 5.4.4 can crash through chained coroutine.close with
-- __close metamethods (fixed upstream in 5.4.6). The sandbox offers no
-- coroutine library and no way to make a closable value; every route below
-- must fail.

local function closer() end

local routes = {
  coroutine_global = function() return coroutine.close end,
  coroutine_via_G = function() return _G["coroutine"].wrap end,
  require = function() return require("coroutine") end,
  package = function() return package.loaded.coroutine end,
  setmetatable_close = function()
    local x <close> = setmetatable({}, { __close = closer })
    return true
  end,
  plain_table_close = function()
    local x <close> = {}
    return true
  end,
  string_close = function()
    local x <close> = "abc"
    return true
  end,
  function_close = function()
    local x <close> = closer
    return true
  end,
}

local function probe(row)
  for name, route in pairs(routes) do
    local ok, v = pcall(route)
    if ok and v ~= nil then return "REACHED:" .. name end
  end
  if row then
    local ok = pcall(function()
      local x <close> = row
      return true
    end)
    if ok then return "REACHED:row proxy" end
  end
  return "blocked"
end

function access(ctx)
  return true, probe(nil)
end

columns = {
  probe = function(value, row, ctx) return probe(row) end,
}
