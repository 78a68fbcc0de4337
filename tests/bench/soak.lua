-- wrk script of the soak (soak.sh), one kind of load per wrk process, chosen by
-- SOAK_KIND: `public` (public routes in turn), `protected` (/deploy-history with the
-- cached SOAK_TOKEN), `mcp` (/mcp tools/call with SOAK_TOKEN) or `junk` (unknown
-- tokens: mostly a small set, negatively cached after their first call, and every 50th
-- one never seen before, so the provider is asked now and then). An answer with
-- another status than the kind's is counted as unexpected; for junk, a 503 with
-- Retry-After (the client's share of provider calls spent, by design) is counted as busy.
local kind = os.getenv("SOAK_KIND")
local token = os.getenv("SOAK_TOKEN")
local expected = kind == "junk" and 401 or 200
local threads = {}
local requests = {}
local counter = 0

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  unexpected = 0
  busy = 0
  local bearer = {["Authorization"] = "Bearer " .. token}
  if kind == "public" then
    requests = {
      wrk.format("GET", "/vibe-check"),
      wrk.format("GET", "/can-i-push-to-prod"),
      wrk.format("GET", "/.well-known/oauth-protected-resource"),
      wrk.format("GET", "/"),
    }
  elseif kind == "protected" then
    requests = {wrk.format("GET", "/deploy-history", bearer)}
  elseif kind == "mcp" then
    local headers = {
      ["Authorization"] = "Bearer " .. token,
      ["Accept"] = "application/json, text/event-stream",
      ["Content-Type"] = "application/json",
      ["MCP-Protocol-Version"] = "2025-06-18",
    }
    requests = {wrk.format("POST", "/mcp", headers,
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_deploy_history","arguments":{}}}')}
  end
end

function request()
  counter = counter + 1
  if kind ~= "junk" then
    return requests[(counter - 1) % #requests + 1]
  end
  local junk
  if counter % 50 == 0 then
    junk = string.format("junk-%d-fresh-%d", id, counter)
  else
    junk = string.format("junk-%d-%d", id, counter % 64)
  end
  return wrk.format("GET", "/deploy-history", {["Authorization"] = "Bearer " .. junk})
end

function response(status, headers, body)
  if kind == "junk" and status == 503 and headers["Retry-After"] then
    busy = busy + 1
  elseif status ~= expected then
    unexpected = unexpected + 1
    if unexpected <= 3 then
      io.stderr:write(string.format("%s: unexpected %d\n", kind, status))
    end
  end
end

function done(summary, latency, requests)
  local total, busy_total = 0, 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("unexpected")
    busy_total = busy_total + thread:get("busy")
  end
  -- wrk's own `errors.status` counts every answer >= 400, the expected 401s too: the
  -- unexpected count replaces it.
  local errors = summary.errors
  io.write(string.format("SOAK kind=%s requests=%d unexpected=%d busy=%d errors=%d p99_ms=%.1f\n",
    kind, summary.requests, total, busy_total, errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(99) / 1000))
end
