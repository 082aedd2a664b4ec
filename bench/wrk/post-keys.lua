-- wrk script: every request POSTs the Echo value to a different key, `<prefix><n>` for n = start, start+1, ...
-- (one wrk thread only). In `migration` each is a dual write: Redis, then Kask, then the convergence re-read.
-- Arguments (after `--`): <path prefix> <first n> <value>.

local prefix = nil
local counter = 0
local value = nil

init = function(args)
  prefix = args[1]
  counter = tonumber(args[2])
  value = args[3]
end

request = function()
  local path = prefix .. counter
  counter = counter + 1
  -- MediaWiki's headers (wrk -H, in wrk.headers) plus the content type WMF configures for RESTBagOStuff.
  local headers = { ["Content-Type"] = "application/octet-stream" }
  for name, v in pairs(wrk.headers) do headers[name] = v end
  return wrk.format("POST", path, headers, value)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
