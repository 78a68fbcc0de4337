"""Official Python MCP client against a protected MCP endpoint.

Usage: MCP_BEARER_TOKEN=<token> python py_client.py <mcp-url> [mode]
Lists the tools, calls each of them with no arguments and prints one JSON object:
{"protocol_version", "server_info", "tools": [...], "calls": {name: CallToolResult}}.
Without a mode, `ClientSession` with the initialize handshake; with one, the high-level
`Client` with that `mode` ("auto": probe server/discover; "2026-07-28": that version pinned).
The token comes from the environment so that it never shows in a process list.
"""

import asyncio
import json
import os
import sys

from mcp import ClientSession
from mcp.client.client import Client
from mcp.client.streamable_http import create_mcp_http_client, streamable_http_client


async def run(url: str, token: str) -> dict:
    http_client = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with http_client:
        async with streamable_http_client(url, http_client=http_client) as (read, write):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                listed = await session.list_tools()
                calls = {}
                for tool in listed.tools:
                    result = await session.call_tool(tool.name, {})
                    calls[tool.name] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
                return {
                    "protocol_version": init.protocol_version,
                    "server_info": init.server_info.model_dump(mode="json", exclude_none=True),
                    "tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed.tools],
                    "calls": calls,
                }


async def run_modern(url: str, token: str, mode: str) -> dict:
    http_client = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with http_client:
        async with Client(streamable_http_client(url, http_client=http_client), mode=mode) as client:
            listed = await client.list_tools()
            calls = {}
            for tool in listed.tools:
                result = await client.call_tool(tool.name, {})
                calls[tool.name] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
            info = client.server_info
            return {
                "protocol_version": client.protocol_version,
                "server_info": info.model_dump(mode="json", exclude_none=True) if info else None,
                "tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed.tools],
                "calls": calls,
            }


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print("usage: MCP_BEARER_TOKEN=<token> py_client.py <mcp-url> [mode]", file=sys.stderr)
        return 2
    token = os.environ.get("MCP_BEARER_TOKEN", "")
    if not token:
        print("MCP_BEARER_TOKEN is not set", file=sys.stderr)
        return 2
    if len(sys.argv) == 3:
        print(json.dumps(asyncio.run(run_modern(sys.argv[1], token, sys.argv[2]))))
    else:
        print(json.dumps(asyncio.run(run(sys.argv[1], token))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
