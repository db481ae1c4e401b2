"""Target: an MCP call of a read-only tool (client → agent → plugin → client) takes at most
10 ms at p95 on loopback.

The agent runs in its own process pinned to CPU 0 (`serve_agent.py`: the real app, with the
no-op plugin whose `ping` tool answers at once, so the tool's own work is nil). The client
is the official SDK's (`mcp.Client` over streamable HTTP, with an admin bearer token) in
this process, pinned to CPU 1. One call is `call_tool("bench__ping")` end to end: the SDK
building and validating the request, HTTP on loopback, the agent's middlewares, the ASGI
bridge, the SDK's server transport, our handler, the tool runner with its audit row, the
redaction, and the SDK client parsing the answer. `list_tools` is timed too, the same
call over stdio (`nebula mcp serve`, which relays to /mcp: one more hop), and the same tool
through the core's REST route with a plain HTTP client (no MCP) as a yardstick for the
machine's load at the time.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from api_checks import agent_process
from common import Report, Target, arguments, arm_watchdog, say, spread
from processes import scratch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LIMIT_MS = 10.0
CALLS = 500
WARMUP = 50


async def timed(call, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        out.append(time.perf_counter() - start)
    return out


async def measure(url: str, token: str, calls: int) -> dict:
    import httpx2
    from mcp import Client, StdioServerParameters
    from mcp.client.streamable_http import streamable_http_client

    from tests.agent_process import isolated_env

    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"})
    results: dict = {}

    async def rest() -> None:  # the same tool through the core's REST route, no MCP
        response = await http.post(url + "/api/v1/tools/bench.ping/run", json={"n": 1})
        assert response.status_code == 200, response.text

    await timed(rest, WARMUP)
    results["rest_call_ms"] = spread(await timed(rest, calls), 1000)
    async with Client(streamable_http_client(url + "/mcp", http_client=http),
                      cache=None) as client:
        async def ping() -> None:
            result = await client.call_tool("bench__ping", {"n": 1})
            assert not result.is_error, result

        await timed(ping, WARMUP)
        results["http_call_ms"] = spread(await timed(ping, calls), 1000)
        results["http_list_tools_ms"] = spread(await timed(client.list_tools, 100), 1000)
    await http.aclose()
    with scratch("mcp-stdio") as tmp:
        env = isolated_env(tmp, NEBULA_URL=url, NEBULA_TOKEN=token)
        params = StdioServerParameters(command=sys.executable,
                                       args=["-m", "nebula", "mcp", "serve"], env=env)
        async with Client(params, cache=None) as client:
            async def relayed() -> None:
                result = await client.call_tool("bench__ping", {"n": 1})
                assert not result.is_error, result

            await timed(relayed, WARMUP)
            results["stdio_call_ms"] = spread(await timed(relayed, calls // 2), 1000)
    return results


def main() -> int:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=CALLS)
    args = parser.parse_args()
    arm_watchdog(300)
    two_cores = len(os.sched_getaffinity(0)) >= 2
    if two_cores:
        os.sched_setaffinity(0, {1})
    with scratch("mcp-call") as root:
        say("starting the agent")
        with agent_process(root, 10, 30.0, 0 if two_cores else None, None) as (_, info):
            say(f"{args.calls} calls over streamable HTTP, {args.calls // 2} over stdio")
            results = asyncio.run(measure(info["url"], info["token"], args.calls))
    report = Report("mcp_call", results, [
        Target("MCP read-only tool call p95 (HTTP, loopback)", LIMIT_MS,
               results["http_call_ms"]["p95"], "ms")])
    report.notes.append("agent pinned to CPU 0, client to CPU 1" if two_cores
                        else "one core: agent and client share it")
    report.notes.append("rest_call_ms: the same tool through POST /api/v1/tools/{name}/run "
                        "(same runner and audit row, no MCP), as the load's yardstick")
    return report.emit(args.json, lambda r: [
        f"POST /api/v1/tools/bench.ping/run (no MCP): {r['rest_call_ms']}",
        f"call_tool over HTTP: {r['http_call_ms']}",
        f"list_tools over HTTP: {r['http_list_tools_ms']}",
        f"call_tool over stdio (relayed to /mcp): {r['stdio_call_ms']}",
    ])


if __name__ == "__main__":
    raise SystemExit(main())
