-- wrk script for bench/serving/compare.py: POSTs one fixed body (read from a file) to one path.
-- compare.py fills in the @...@ placeholders and writes a copy per run.
--
-- RATE = 0: closed loop, every connection sends its next request as soon as the answer is in.
-- RATE > 0: paced. Each wrk thread keeps a schedule of send slots RATE/THREADS per second apart
-- (wall clock from clock_gettime(CLOCK_MONOTONIC) through LuaJIT's ffi); after each answer,
-- delay() holds the connection until the next free slot. wrk's timers have 1 ms resolution, so
-- sends are up to ~1 ms bursty around the schedule (which only makes the latency worse), and a
-- connection that is behind its slot sends at once and counts as "late". wrk times each request
-- from its actual send, so `late` must stay small for the latency to mean open-loop latency.
local body_path = "@BODY@"
local rate = @RATE@
local nthreads = @THREADS@

local f = assert(io.open(body_path, "rb"))
wrk.method = "POST"
wrk.path = "@PATH@"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

late = 0
bad = 0
local next_ms = nil

function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
  end
end

if rate > 0 then
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } sb_timespec;
    int clock_gettime(int clk_id, sb_timespec *tp);
  ]]
  local ts = ffi.new("sb_timespec")
  local interval = 1000.0 * nthreads / rate
  local function now_ms()
    ffi.C.clock_gettime(1, ts)
    return tonumber(ts.tv_sec) * 1000.0 + tonumber(ts.tv_nsec) / 1e6
  end
  function delay()
    local t = now_ms()
    if next_ms == nil then
      next_ms = t
    end
    next_ms = next_ms + interval
    local d = next_ms - t
    if d < 0 then
      if d < -1.0 then
        late = late + 1
      end
      return 0
    end
    return d
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local n_late, n_bad = 0, 0
  for _, t in ipairs(threads) do
    n_late = n_late + (t:get("late") or 0)
    n_bad = n_bad + (t:get("bad") or 0)
  end
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"status_errors":%d,"connect":%d,' ..
                         '"read":%d,"write":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
                         '"p999_us":%d,"max_us":%d,"late":%d,"non200":%d}\n',
                         summary.requests, summary.duration, e.status, e.connect, e.read, e.write,
                         e.timeout, latency:percentile(50), latency:percentile(90),
                         latency:percentile(99), latency:percentile(99.9), latency.max, n_late, n_bad))
end
