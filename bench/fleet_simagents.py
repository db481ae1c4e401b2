"""Lightweight simulated agents for bench/fleet_hub.py: N agents in one process, each on
its own loopback port, serving the agent API the hub reads (`/api/v1/status`,
`/api/v1/checks`, `/api/v1/approvals`, `/api/v1/events` as JSON and WebSocket) over mutual
TLS with a certificate the hub signed. Each enrolls through the hub's real
`/api/v1/fleet/enroll` with its own one-time code and CSR, then emits one event a minute
(random phase) carrying the time it was sent.

    python bench/fleet_simagents.py HUB_URL HUB_TOKEN COUNT READY_FILE
Runs until stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import ssl
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from nebula.builtins.fleet.pki import key_pem, make_csr, new_key

EVENT_EVERY = 60.0


def call(url: str, token: str | None, body: Any) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


class SimAgent:
    def __init__(self, index: int) -> None:
        self.name = f"sim{index:03d}"
        self.token = "nbl_sim_" + secrets.token_urlsafe(16)
        self.sockets: set[web.WebSocketResponse] = set()
        self.events: list[dict[str, Any]] = []
        self.next_id = 1

    def authorised(self, request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            raise web.HTTPUnauthorized()

    async def status(self, request: web.Request) -> web.Response:
        self.authorised(request)
        return web.json_response({"version": "0.1.0-sim", "uptime": 1.0, "plugins": {},
                                  "checks": {"ok": 2, "warning": 1}, "pending_approvals": 0})

    async def checks(self, request: web.Request) -> web.Response:
        self.authorised(request)
        return web.json_response({"checks": [
            {"name": "sim.cpu", "status": "ok", "summary": "fine"},
            {"name": "sim.disk", "status": "ok", "summary": "fine"},
            {"name": "sim.backup", "status": "warning", "summary": "2 days old"}]})

    async def approvals(self, request: web.Request) -> web.Response:
        self.authorised(request)
        return web.json_response({"approvals": []})

    async def events_route(self, request: web.Request) -> web.StreamResponse:
        self.authorised(request)
        ws = web.WebSocketResponse(heartbeat=30)
        if not ws.can_prepare(request).ok:
            return web.json_response({"events": self.events[-50:]})
        await ws.prepare(request)
        self.sockets.add(ws)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.ERROR:
                    break
        finally:
            self.sockets.discard(ws)
        return ws

    async def emit_forever(self) -> None:
        await asyncio.sleep(random.uniform(0, EVENT_EVERY))
        while True:
            event = {"id": self.next_id, "ts": time.time(), "topic": "sim.tick",
                     "source": "sim", "data": {"sent": time.time()}}
            self.next_id += 1
            self.events = [*self.events[-49:], event]
            text = json.dumps(event)
            for ws in list(self.sockets):
                await ws.send_str(text)
            await asyncio.sleep(EVENT_EVERY)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v1/status", self.status)
        app.router.add_get("/api/v1/checks", self.checks)
        app.router.add_get("/api/v1/approvals", self.approvals)
        app.router.add_get("/api/v1/events", self.events_route)
        return app


async def main(hub: str, hub_token: str, count: int, ready: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="fleet-sims-"))
    runners, tasks = [], []
    for index in range(count):
        agent = SimAgent(index)
        runner = web.AppRunner(agent.app(), access_log=None)
        await runner.setup()
        # Port 0 first: the address goes into the CSR, so bind before enrolling.
        plain = web.SockSite(runner, _listening_socket())
        port = plain._sock.getsockname()[1]
        key = new_key()
        code = (await asyncio.to_thread(call, f"{hub}/api/v1/fleet/codes", hub_token,
                                        {}))["code"]
        answer = await asyncio.to_thread(call, f"{hub}/api/v1/fleet/enroll", None, {
            "code": code, "name": agent.name, "url": f"https://127.0.0.1:{port}",
            "csr": make_csr(key, agent.name, ["127.0.0.1"]), "token": agent.token,
            "token_id": index + 1})
        (folder / f"{agent.name}.key").write_text(key_pem(key))
        (folder / f"{agent.name}.pem").write_text(answer["certificate"])
        (folder / "ca.pem").write_text(answer["ca"])
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH,
                                             cafile=str(folder / "ca.pem"))
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_cert_chain(folder / f"{agent.name}.pem", folder / f"{agent.name}.key")
        site = web.SockSite(runner, plain._sock, ssl_context=context)
        await site.start()
        runners.append(runner)
        tasks.append(asyncio.create_task(agent.emit_forever()))
    await asyncio.to_thread(ready.write_text, json.dumps({"count": count}))
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for task in tasks:
        task.cancel()
    for runner in runners:
        await runner.cleanup()


def _listening_socket() -> Any:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])))
