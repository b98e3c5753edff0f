-- probe_concat.lua - Lua 5.4.4 has a use-after-free in luaV_concat reached
-- through a __concat metamethod (fixed upstream in 5.4.5). The sandbox must
-- leave no way to give any value a __concat metamethod. Every route below
-- must fail; if one succeeds, the probe also runs a stress loop that tends
-- to crash or trip valgrind on an affected Lua.

local function stress(v)
  local parts = {}
  for i = 1, 2000 do
    parts[#parts + 1] = ("x"):rep(100) .. v .. ("y"):rep(100) .. v
  end
  return #parts
end

local function h(a, b)
  local junk = {}
  for i = 1, 1000 do junk[i] = { i } end -- provoke a collection
  return "c"
end

local routes = {
  setmetatable = function() return setmetatable({}, { __concat = h }) end,
  string_meta = function()
    local mt = getmetatable("")
    mt.__concat = h
    return ""
  end,
  debug = function()
    debug.setmetatable(nil, { __concat = h })
    return nil
  end,
  rawset_meta = function()
    rawset(getmetatable(""), "__concat", h)
    return ""
  end,
  string_table = function()
    string.__concat = h -- not a metamethod: must not make tables concat
    local t = {}
    local _ = t .. "x"
    return t
  end,
}

local function probe(extra)
  for name, route in pairs(routes) do
    local ok, v = pcall(route)
    if ok then
      pcall(stress, v)
      return "REACHED:" .. name
    end
  end
  if extra then
    local ok = pcall(function() return extra .. "x" end)
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
