-- wrk script of `make bench` (bench/wrk.py): the bench's paths in turn, its bearer token, and every status counted.
--
-- Environment: BENCH_PATHS (a file of request paths, one a line), BENCH_AUTHORIZATION and
-- BENCH_ACCEPT (the Authorization and Accept headers).
-- Each thread starts at its own offset in the paths and cycles through them. done() prints one line,
-- "BENCH-RESULT <json>": requests, statuses, socket errors, latency percentiles (microseconds), error samples.

local threads = {}
local thread_count = 0

function setup(thread)
   thread:set("index", thread_count)
   thread_count = thread_count + 1
   table.insert(threads, thread)
end

function init(args)
   local headers = { ["Authorization"] = os.getenv("BENCH_AUTHORIZATION"), ["Accept"] = os.getenv("BENCH_ACCEPT") }
   requests = {}
   for path in io.lines(os.getenv("BENCH_PATHS")) do
      if path ~= "" then
         requests[#requests + 1] = wrk.format("GET", path, headers)
      end
   end
   position = (index * 7919) % #requests  -- a distinct starting offset per thread
   statuses = {}
   samples = ""
end

function request()
   position = position % #requests + 1
   return requests[position]
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   if status ~= 200 and #samples < 600 then
      samples = samples .. status .. " " .. string.sub(body or "", 1, 200) .. "\n"
   end
end

local function quote(text)
   return '"' .. string.gsub(text, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end) .. '"'
end

function done(summary, latency, requests_)
   local counts, samples_all = {}, ""
   for _, thread in ipairs(threads) do
      local mine = thread:get("statuses")
      for status, n in pairs(mine) do
         counts[status] = (counts[status] or 0) + n
      end
      samples_all = samples_all .. thread:get("samples")
   end
   local parts = {}
   for status, n in pairs(counts) do
      parts[#parts + 1] = quote(tostring(status)) .. ":" .. n
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH-RESULT {"requests":%d,"duration_us":%d,"bytes":%d,"statuses":{%s},' ..
      '"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"non_2xx_3xx":%d,' ..
      '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},"samples":%s}\n',
      summary.requests, summary.duration, summary.bytes, table.concat(parts, ","),
      e.connect, e.read, e.write, e.timeout, e.status,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
      quote(samples_all)))
end
