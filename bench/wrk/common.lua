-- Shared by every wrk script of the benchmark (loaded with dofile, BENCH_WRK_DIR set by
-- bench/load.py). Each wrk thread has its own Lua state, so tallies are kept per thread and
-- merged in done(), which prints one line "BENCH_JSON {...}" that bench/load.py parses.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local clock = ffi.new("bench_timespec")

-- Microseconds on the monotonic clock (wrk's Lua has no sub-second clock of its own).
function now_us()
  ffi.C.clock_gettime(1, clock) -- 1 = CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000000 + tonumber(clock.tv_nsec) / 1000
end

-- bench/load.py runs every script with one connection per thread, so a thread's requests
-- and answers alternate and a thread knows how long its current request has waited.
-- An answer after BENCH_TIMEOUT_S seconds counts as "late" (an error, not a success).
local timeout_us = tonumber(os.getenv("BENCH_TIMEOUT_S") or "10") * 1000000

-- Per-thread tallies, read by done() through thread:get().
statuses = {}       -- answers by HTTP status, e.g. {["201"] = 998, ["500"] = 2, late = 1}
samples = {}        -- optional per-thread list of numbers a script wants back (order numbers)
first_us = nil      -- when this thread sent its first request
last_us = nil       -- when it received its last answer
pending_since = nil -- when the request now waiting for its answer was sent

function count_status(status)
  local now = now_us()
  local key = tostring(status)
  if pending_since ~= nil and now - pending_since > timeout_us then key = "late" end
  statuses[key] = (statuses[key] or 0) + 1
  last_us, pending_since = now, nil
end

function mark_start()
  local now = now_us()
  if first_us == nil then first_us = now end
  pending_since = now
end

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
  table.insert(threads, thread)
end

local function encode(value)
  local kind = type(value)
  if kind == "number" then
    if value == math.floor(value) and math.abs(value) < 2 ^ 53 then
      return string.format("%d", value)
    end
    return string.format("%.6f", value)
  elseif kind == "string" then
    return '"' .. value:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
  elseif kind == "boolean" then
    return tostring(value)
  elseif kind == "table" then
    if #value > 0 or next(value) == nil then
      local parts = {}
      for _, item in ipairs(value) do table.insert(parts, encode(item)) end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    local parts = {}
    for key, item in pairs(value) do table.insert(parts, encode(tostring(key)) .. ":" .. encode(item)) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return "null"
end

function done(summary, latency, requests)
  local merged, all_samples = {}, {}
  local first, last = nil, nil
  local now, unanswered = now_us(), 0
  for _, thread in ipairs(threads) do
    local waiting = thread:get("pending_since")
    if waiting and now - waiting > math.min(timeout_us, summary.duration * 0.5) then
      unanswered = unanswered + 1
    end
    for status, n in pairs(thread:get("statuses") or {}) do
      merged[status] = (merged[status] or 0) + n
    end
    for _, sample in ipairs(thread:get("samples") or {}) do table.insert(all_samples, sample) end
    local f, l = thread:get("first_us"), thread:get("last_us")
    if f and (first == nil or f < first) then first = f end
    if l and (last == nil or l > last) then last = l end
  end
  local percentiles = {}
  if summary.requests > 0 then
    for _, p in ipairs({ 50, 90, 99 }) do percentiles["p" .. p] = latency:percentile(p) end
  end
  local result = {
    duration_us = summary.duration,
    requests = summary.requests,
    bytes = summary.bytes,
    errors = summary.errors,
    statuses = merged,
    latency_us = percentiles,
    samples = all_samples,
    active_us = (first and last) and (last - first) or 0,
    unanswered = unanswered,
  }
  io.write("BENCH_JSON ", encode(result), "\n")
end

-- A plain GET row needs no more than counting answers.
function response(status, headers, body)
  count_status(status)
end

function request()
  mark_start()
  return wrk.format(nil, nil)
end
