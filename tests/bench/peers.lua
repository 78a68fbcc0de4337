-- wrk script of tests/bench/peers.sh: each request carries the next bearer token of a file
-- (the first COUNT lines), as a GET of the URL or as an MCP tools/call POST to it.
--   wrk ... -s tests/bench/peers.lua URL -- get|mcp TOKENS_FILE COUNT
local MCP_CALL = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_deploy_history","arguments":{}}}'

local thread_count = 0
function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
end

local requests = {}
local at = 0

function init(args)
  local mode, file, count = args[1], args[2], tonumber(args[3])
  for token in io.lines(file) do
    if #requests >= count then break end
    local headers = { ["Authorization"] = "Bearer " .. token }
    if mode == "mcp" then
      headers["Content-Type"] = "application/json"
      headers["Accept"] = "application/json, text/event-stream"
      headers["MCP-Protocol-Version"] = "2025-06-18"
      requests[#requests + 1] = wrk.format("POST", nil, headers, MCP_CALL)
    else
      requests[#requests + 1] = wrk.format("GET", nil, headers)
    end
  end
  -- Threads start at different tokens, so they do not walk the list in step.
  at = (thread_index * 7919) % #requests
end

function request()
  at = at % #requests + 1
  return requests[at]
end
