-- wrk script: one key per request, rotating through the file named by KEYS_FILE.
local keys = {}
local n = 0

init = function(args)
  local path = os.getenv("KEYS_FILE")
  for line in io.lines(path) do
    n = n + 1
    keys[n] = line
  end
end

local i = 0
request = function()
  i = (i % n) + 1
  return wrk.format("GET", nil, { ["X-API-Key"] = keys[i] })
end
