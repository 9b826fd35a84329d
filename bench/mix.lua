-- Replays a request mix with wrk: every request is a POST whose body comes from the next line
-- of a file the seed wrote, so the load is a fixed, random-looking mix of users, environments
-- and permissions rather than one question asked again and again.
--
-- Settings come from the environment:
--   BENCH_MIX    the file, one JSON body (or one question) per line; without it every request
--                is a GET of BENCH_PATH
--   BENCH_PATH   the request path, e.g. /api/v1/check
--   BENCH_TOKEN  when set, sent as "Authorization: Bearer <token>"
--   BENCH_BATCH  when > 0, each body is {"checks":[...]} of that many lines (usher's batch)
--   BENCH_METHOD the method of a .tsv mix (default POST)
-- A mix file whose name ends in .tsv holds "PATH<TAB>BODY" lines instead (the write mixes):
-- each request goes to its line's path, and "{n}" in a body becomes BENCH_TAG, a dash and a
-- number counted up per request, so that every request of a run names something new.
-- When the run ends it prints one line: "WRK {json}" with the counts and latencies (µs).

local bodies = {}
local requests = {}
local next_index = 1
local templates = nil -- the .tsv mix: {path, body} pairs whose body holds {n}
local method = "POST"
local headers = {}
local tag = ""
local counter = 0

local function setting(name, default)
    local v = os.getenv(name)
    if v == nil or v == "" then return default end
    return v
end

function init(args)
    local path = setting("BENCH_PATH", "/")
    local batch = tonumber(setting("BENCH_BATCH", "0"))
    local token = setting("BENCH_TOKEN", nil)
    if token then headers["Authorization"] = "Bearer " .. token end
    local name = setting("BENCH_MIX", nil)
    if name == nil then
        requests[1] = wrk.format("GET", path, headers)
        return
    end
    headers["Content-Type"] = "application/json"
    if name:sub(-4) == ".tsv" then
        method = setting("BENCH_METHOD", "POST")
        tag = setting("BENCH_TAG", tostring(os.time()))
        local file = assert(io.open(name, "r"))
        for line in file:lines() do
            local p, b = line:match("^([^\t]+)\t(.*)$")
            if p then
                if b:find("{n}", 1, true) then
                    templates = templates or {}
                    templates[#templates + 1] = {p, b}
                else
                    requests[#requests + 1] = wrk.format(method, p, headers, b)
                end
            end
        end
        file:close()
        next_index = math.random(templates and #templates or #requests)
        return
    end
    local file = assert(io.open(name, "r"))
    for line in file:lines() do
        if #line > 0 then bodies[#bodies + 1] = line end
    end
    file:close()
    if batch > 0 then
        for first = 1, #bodies - batch + 1, batch do
            local body = "{\"checks\":[" .. table.concat(bodies, ",", first, first + batch - 1) .. "]}"
            requests[#requests + 1] = wrk.format("POST", path, headers, body)
        end
    else
        for i = 1, #bodies do
            requests[#requests + 1] = wrk.format("POST", path, headers, bodies[i])
        end
    end
    next_index = math.random(#requests)
end

function request()
    if templates then
        local t = templates[next_index]
        next_index = next_index % #templates + 1
        counter = counter + 1
        local body = t[2]:gsub("{n}", tag .. "-" .. counter, 1)
        return wrk.format(method, t[1], headers, body)
    end
    local r = requests[next_index]
    next_index = next_index % #requests + 1
    return r
end

function done(summary, latency, requests_seen)
    local e = summary.errors
    io.write(string.format(
        "WRK {\"requests\":%d,\"duration_us\":%d,\"p50_us\":%d,\"p99_us\":%d,\"max_us\":%d," ..
        "\"errors_connect\":%d,\"errors_read\":%d,\"errors_write\":%d,\"errors_status\":%d," ..
        "\"errors_timeout\":%d}\n",
        summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
        latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
