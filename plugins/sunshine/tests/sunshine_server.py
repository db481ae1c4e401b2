"""A local stand-in for Sunshine's web API (docs/protocols/sunshine.md), served over HTTPS
with a self-signed certificate as Sunshine's own is.

It keeps what the real server does on the paths the plugin uses: Basic auth with the admin
user (401 with `WWW-Authenticate: Basic realm="Sunshine Gamestream Host"`), JSON answers with
a `status` field, POST bodies refused unless `Content-Type: application/json` (400 with
`{"status_code": 400, "status": false, "error": ...}`), apps.json edited by `index` (-1
appends) and deleted by index, `/api/pin` true only while a Moonlight client waits with that
PIN, unpair by uuid, the log file as text/plain, and a restart that drops the connection
without an answer.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import ssl
import tempfile
import uuid as uuidlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

REALM = 'Basic realm="Sunshine Gamestream Host", charset="UTF-8"'


def self_signed(folder: Path) -> tuple[ssl.SSLContext, str]:
    """A TLS context with a new self-signed certificate, and its SHA-256 fingerprint."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sunshine Gamestream Host")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cacert.pem", folder / "cakey.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    digest = cert.fingerprint(hashes.SHA256())
    return context, ":".join(f"{b:02X}" for b in digest)


def log_line(level: str, message: str, when: str = "2026-12-08 10:00:00.000") -> str:
    return f"[{when}]: {level}: {message}"


@dataclass
class SunshineStandIn:
    username: str
    password: str
    version: str = "2025.924.154138"
    apps: list[dict[str, Any]] = field(default_factory=lambda: [
        {"name": "Desktop", "image-path": "desktop.png"},
        {"name": "Steam Big Picture", "detached": ["setsid steam steam://open/bigpicture"],
         "image-path": "steam.png"}])
    clients: list[dict[str, str]] = field(default_factory=list)
    log: list[str] = field(default_factory=lambda: [
        log_line("Info", "Sunshine version: v2025.924.154138 commit: 86188d47"),
        log_line("Info", "Configuration UI available at [https://localhost:47990]")])
    waiting_pin: tuple[str, str] | None = None   # (pin, client uuid) Moonlight shows
    requests: list[dict[str, Any]] = field(default_factory=list)
    running_app: int = 0
    restarts: int = 0
    hold_logs: asyncio.Event | None = None   # set: /api/logs answers only once it is set

    def moonlight_waits(self, pin: str) -> str:
        """A Moonlight client started pairing and shows `pin`; returns its uuid."""
        client = str(uuidlib.uuid4()).upper()
        self.waiting_pin = (pin, client)
        return client

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/api/config", self.config)
        app.router.add_get("/api/apps", self.get_apps)
        app.router.add_post("/api/apps", self.save_app)
        app.router.add_delete("/api/apps/{index:[0-9]+}", self.delete_app)
        app.router.add_post("/api/apps/close", self.close_app)
        app.router.add_get("/api/clients/list", self.list_clients)
        app.router.add_post("/api/clients/unpair", self.unpair)
        app.router.add_post("/api/clients/unpair-all", self.unpair_all)
        app.router.add_post("/api/pin", self.pin)
        app.router.add_get("/api/logs", self.logs)
        app.router.add_post("/api/restart", self.restart)
        return app

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append({"method": request.method, "path": request.path,
                              "auth": "Authorization" in request.headers})
        header = request.headers.get("Authorization", "")
        try:
            user, _, password = base64.b64decode(header.removeprefix("Basic ")).decode() \
                .partition(":")
        except ValueError:
            user = password = ""
        if user.lower() != self.username.lower() or password != self.password:
            return web.Response(status=401, headers={"WWW-Authenticate": REALM})
        if request.method == "POST" and request.headers.get("Content-Type") \
                != "application/json":
            return _bad_request("Content type mismatch")
        return await handler(request)

    async def config(self, request: web.Request) -> web.Response:
        return web.json_response({"status": True, "platform": "linux",
                                  "version": self.version, "port": 47989})

    async def get_apps(self, request: web.Request) -> web.Response:
        return web.json_response({"env": {}, "apps": self.apps})

    async def save_app(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.text())
            index = int(body.pop("index"))
        except (ValueError, KeyError, TypeError) as exc:
            return _bad_request(str(exc))
        for key in ("prep-cmd", "detached"):
            if not body.get(key):
                body.pop(key, None)
        if index == -1:
            self.apps.append(body)
        elif 0 <= index < len(self.apps):
            self.apps[index] = body
        else:
            return _bad_request("index out of range")
        return web.json_response({"status": True})

    async def delete_app(self, request: web.Request) -> web.Response:
        index = int(request.match_info["index"])
        if index >= len(self.apps):
            return _bad_request(f"'{index}' is out of range")
        del self.apps[index]
        return web.json_response({"status": True})

    async def close_app(self, request: web.Request) -> web.Response:
        self.running_app = 0
        self.log.append(log_line("Info", "Process terminated"))
        return web.json_response({"status": True})

    async def list_clients(self, request: web.Request) -> web.Response:
        return web.json_response({"named_certs": self.clients, "status": True})

    async def unpair(self, request: web.Request) -> web.Response:
        uuid = json.loads(await request.text()).get("uuid", "")
        before = len(self.clients)
        self.clients = [c for c in self.clients if c["uuid"] != uuid]
        return web.json_response({"status": len(self.clients) < before})

    async def unpair_all(self, request: web.Request) -> web.Response:
        self.clients = []
        return web.json_response({"status": True})

    async def pin(self, request: web.Request) -> web.Response:
        body = json.loads(await request.text())
        waiting, self.waiting_pin = self.waiting_pin, None
        if waiting is None or waiting[0] != body.get("pin"):
            return web.json_response({"status": False})
        self.clients.append({"name": str(body.get("name", "")), "uuid": waiting[1]})
        return web.json_response({"status": True})

    async def logs(self, request: web.Request) -> web.Response:
        if self.hold_logs is not None:
            await self.hold_logs.wait()
        return web.Response(text="\n".join(self.log) + "\n", content_type="text/plain")

    async def restart(self, request: web.Request) -> web.Response:
        self.restarts += 1
        # Sunshine restarts from inside the request: the client never gets an answer.
        assert request.transport is not None
        request.transport.close()
        raise ConnectionResetError("restarting")


def _bad_request(error: str) -> web.Response:
    return web.json_response({"status_code": 400, "status": False, "error": error}, status=400)


class Site:
    """The stand-in on a fixed loopback port; `restart(new_cert=True)` brings it back with
    another certificate, as a reinstalled Sunshine would."""

    def __init__(self, standin: SunshineStandIn) -> None:
        self.standin = standin
        self.folder = Path(tempfile.mkdtemp(prefix="sunshine-standin-"))
        self.tls, self.fingerprint = self_signed(self.folder)
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def start(self, *, new_cert: bool = False) -> None:
        if new_cert:
            self.tls, self.fingerprint = self_signed(self.folder)
        self._runner = web.AppRunner(self.standin.app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self.tls).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
