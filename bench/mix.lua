-- wrk script of bench/load_mix.py: each request is the next entry of a
-- weighted mix read from MIX_FILE (one entry a line, tab-separated: kind,
-- weight, expected status, method, path, header name, header value), and
-- each answer's status is checked against the status its kind must get.
--
-- Run with as many threads as connections (wrk -tN -cN): each thread then
-- drives one connection, one request at a time, so the answer wrk hands to
-- response() is the answer to the request this thread made last. (After a
-- broken connection wrk asks for a new request; the lost one is counted as
-- a wrk error, not here.)
--
-- done() prints "MIX ..." lines for the Python script to read.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

local schedule = {}
local position = 0
local pending = nil

function init(args)
  sent = {}
  unexpected = {}
  for line in io.lines(os.getenv("MIX_FILE")) do
    local kind, weight, expected, method, path, name, value =
      line:match("^([^\t]+)\t(%d+)\t(%d+)\t([^\t]+)\t([^\t]+)\t([^\t]*)\t(.*)$")
    if kind == nil then
      error("a line of MIX_FILE is not kind, weight, status, method, path, header, value: " .. line)
    end
    local headers = {}
    if name ~= "" then
      headers[name] = value
    end
    local entry = { kind = kind, expected = tonumber(expected), request = wrk.format(method, path, headers) }
    for _ = 1, tonumber(weight) do
      table.insert(schedule, entry)
    end
  end
  -- The same mix in a different order on each thread.
  math.randomseed(id)
  for i = #schedule, 2, -1 do
    local j = math.random(i)
    schedule[i], schedule[j] = schedule[j], schedule[i]
  end
end

function request()
  position = position % #schedule + 1
  pending = schedule[position]
  sent[pending.kind] = (sent[pending.kind] or 0) + 1
  return pending.request
end

function response(status, headers, body)
  if pending ~= nil and status ~= pending.expected then
    local key = pending.kind .. ":" .. status
    unexpected[key] = (unexpected[key] or 0) + 1
  end
  pending = nil
end

function done(summary, latency, requests)
  local all_sent, all_unexpected = {}, {}
  for _, thread in ipairs(threads) do
    for kind, n in pairs(thread:get("sent")) do
      all_sent[kind] = (all_sent[kind] or 0) + n
    end
    for key, n in pairs(thread:get("unexpected")) do
      all_unexpected[key] = (all_unexpected[key] or 0) + n
    end
  end
  local e = summary.errors
  io.write(string.format("MIX requests %d\n", summary.requests))
  io.write(string.format("MIX duration_us %d\n", summary.duration))
  io.write(string.format("MIX errors connect %d read %d write %d timeout %d\n", e.connect, e.read, e.write, e.timeout))
  io.write(string.format("MIX latency_us p50 %d p99 %d max %d\n",
    latency:percentile(50), latency:percentile(99), latency.max))
  for kind, n in pairs(all_sent) do
    io.write(string.format("MIX sent %s %d\n", kind, n))
  end
  for key, n in pairs(all_unexpected) do
    io.write(string.format("MIX unexpected %s %d\n", key, n))
  end
end
