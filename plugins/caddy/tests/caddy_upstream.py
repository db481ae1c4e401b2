"""An upstream for Caddy to proxy to: answers every path with its name."""

from __future__ import annotations

from aiohttp import web

APP, DOWN = "app.test", "down.test"  # the fixture Caddy's sites: one up, one down


class UpstreamApp:
    def __init__(self, name: str) -> None:
        self.name = name
        self.port = 0
        self.requests = 0

    def app(self) -> web.Application:
        async def answer(request: web.Request) -> web.Response:
            self.requests += 1
            return web.Response(text=f"{self.name}:{request.host}")

        application = web.Application()
        application.router.add_get("/{tail:.*}", answer)
        return application


def fetch(port: int, host: str, root: str) -> str:
    """GET / from Caddy on 127.0.0.1:`port` as `host` (SNI and Host), trusting Caddy's
    internal root: the status line and body, or the TLS/socket error's text."""
    import socket
    import ssl

    tls = ssl.create_default_context(cafile=root)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
                tls.wrap_socket(raw, server_hostname=host) as conn:
            conn.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                         .encode())
            data = b""
            while chunk := conn.recv(65536):
                data += chunk
    except OSError as exc:
        return f"error: {exc}"
    head, _, body = data.decode(errors="replace").partition("\r\n\r\n")
    return f"{head.splitlines()[0]} | {body}"
