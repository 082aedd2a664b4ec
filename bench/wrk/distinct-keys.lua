-- wrk script: every request reads a different key, `<prefix><n>` for n = start, start+1, ... (one wrk thread only:
-- each thread has its own Lua state, so two threads would read the same keys). bench/run.ts preloads those keys into
-- Redis only, so each request is a first read: Kask miss -> Redis fallback -> answer -> background backfill.
-- Arguments (after `--`): <path prefix> <first n>.

local prefix = nil
local counter = 0

init = function(args)
  prefix = args[1]
  counter = tonumber(args[2])
end

request = function()
  local path = prefix .. counter
  counter = counter + 1
  return wrk.format("GET", path)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
