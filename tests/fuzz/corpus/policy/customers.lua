-- customers.lua - example spotfs policy for customers.csv (columns: id,
-- name, email, phone, ssn, country, notes). Copy it next to your sandbox
-- config and point the dataset at it:
--
--   datasets:
--     customers.csv:
--       policy: policies/customers.lua
--       columns:
--         email: { policy: email }     # or let columns.* below apply
--
-- Values arrive as strings (nil for an empty/NULL cell) and must leave as a
-- string or nil. row.NAME is the raw value of another column of the same
-- row. ctx has uid, gid, groups, user, role, pid, dataset and path.

-- Which country each regional analyst role may see.
local region_of = { analyst_de = "DE", analyst_fr = "FR" }

columns = {
  -- Stewards see a partly masked address; everybody else a masked local
  -- part with the domain kept (joins on domain still work).
  email = function(value, row, ctx)
    if ctx.role == "steward" then
      return mask.partial(value, { keep_first = 2, keep_last = 6 })
    end
    return mask.email(value)
  end,

  -- Same value, same token, in every dataset of the sandbox.
  name = function(value, row, ctx)
    return mask.fake(value, "name")
  end,

  phone = function(value) return mask.pattern(value, "***-***-####") end,

  ssn = function(value, row, ctx)
    if ctx.role == "steward" then return mask.pattern(value, "***-**-####") end
    return mask.redact(value, "[SSN]")
  end,

  -- Free text: redact anything that looks like PII. Customers from the US
  -- also lose the whole note (an example of using another column).
  notes = function(value, row, ctx)
    if row.country == "US" then return mask.null() end
    return mask.pii(value)
  end,
}

-- Regional analysts see only their own country's customers.
function row(r, ctx)
  local only = region_of[ctx.role]
  if only == nil then return true end
  return r.country == only
end

-- Contractors may not open this dataset at all.
function access(ctx)
  if ctx.role == "contractor" then
    return false, "contractors may not open customer data"
  end
  return true
end
