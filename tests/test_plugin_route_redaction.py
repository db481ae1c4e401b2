"""Every byte a plugin route answers goes through the agent's redaction: whole bodies by the
core, streams through the StreamRedactor plugins are given."""

from __future__ import annotations

from aiohttp import web

from nebula.api import Endpoint, Manifest, PluginContext, StreamRedactor, hookimpl

SECRET = "pg-Passw0rd-logged-by-an-app"


class Chatty:
    manifest = Manifest(api_version="1.1")

    @hookimpl
    def nebula_startup(self, ctx: PluginContext) -> None:
        ctx.add_secret(SECRET)

    @hookimpl
    def nebula_routes(self) -> web.RouteTableDef:
        routes = web.RouteTableDef()

        @routes.get("/plain")
        async def plain(request: web.Request) -> web.Response:
            return web.Response(text=f"connecting with password={SECRET}\n")

        @routes.get("/json")
        async def as_json(request: web.Request) -> web.Response:
            return web.json_response({"line": f"DSN postgres://app:{SECRET}@db/app"})

        @routes.get("/stream")
        async def stream(request: web.Request) -> web.StreamResponse:
            response = web.StreamResponse()
            await response.prepare(request)
            redactor = StreamRedactor()
            # The secret arrives cut in three chunks, the last without a newline.
            for chunk in (b"first line\npassword=" + SECRET[:5].encode(),
                          SECRET[5:12].encode(), SECRET[12:].encode() + b"\nlast " +
                          SECRET.encode()):
                await response.write(redactor.feed(chunk))
            await response.write(redactor.flush())
            await response.write_eof()
            return response

        return routes

    @hookimpl
    def nebula_api_endpoints(self) -> list[Endpoint]:
        async def dsn(request: web.Request) -> web.Response:
            return web.json_response({"dsn": f"postgres://app:{SECRET}@db/app"})

        return [Endpoint("GET", "/dsn", dsn, "the app's connection string")]

    @hookimpl
    def nebula_web_pages(self) -> list[Endpoint]:
        async def page(request: web.Request) -> web.Response:
            return web.Response(text=f"<p>password {SECRET}</p>", content_type="text/html")

        return [Endpoint("GET", "/about", page, "a page")]


async def test_plugin_api_endpoints_and_pages_never_answer_a_known_secret(nebula_agent):
    """Found with the logs plugin: endpoints under /api/v1/<plugin> and pages under
    /<plugin> answered a plugin's secret as the handler wrote it."""
    async with nebula_agent({"chatty": Chatty()}) as a:
        _, created = await a.post("/api/v1/tokens", {"name": "v", "role": "viewer"})
        for path in ("/api/v1/chatty/dsn", "/chatty/about"):
            for token in (a.token, created["token"]):
                status, body = await a.get(path, token=token)
                assert status == 200, (path, body)
                assert SECRET not in str(body) and "***" in str(body), (path, body)


async def test_plugin_routes_never_answer_a_known_secret(nebula_agent):
    async with nebula_agent({"chatty": Chatty()}) as a:
        _, created = await a.post("/api/v1/tokens", {"name": "v", "role": "viewer"})
        for path in ("/plain", "/json", "/stream"):
            for token in (a.token, created["token"]):
                status, body = await a.get(f"/plugins/chatty{path}", token=token)
                text = str(body)
                assert status == 200, (path, body)
                assert SECRET not in text, (path, text)
                assert "***" in text, (path, text)
        _, streamed = await a.get("/plugins/chatty/stream")
        assert streamed == "first line\npassword=***\nlast ***"


def test_a_stream_redactor_without_newlines_still_releases_bytes():
    from nebula.secrets import Secrets

    known = Secrets()
    known.add(SECRET)
    redactor = StreamRedactor(known, hold=64)
    out = b"".join(redactor.feed(b"x" * 50) for _ in range(10))
    # All but a tail as long as the longest secret went out; nothing is lost at the end.
    assert len(out) >= 500 - len(SECRET)
    assert out + redactor.flush() == b"x" * 500


def test_a_secret_straddling_the_cut_of_a_long_line_is_still_masked():
    from nebula.secrets import Secrets

    known = Secrets()
    known.add(SECRET)
    for offset in range(len(SECRET) + 2):
        redactor = StreamRedactor(known, hold=64)
        # The secret ends just past where a long line without newlines would be cut.
        stream = b"x" * (70 - offset) + SECRET.encode() + b"y" * 40
        out = b"".join(redactor.feed(stream[i:i + 7]) for i in range(0, len(stream), 7))
        out += redactor.flush()
        assert SECRET.encode() not in out and out.count(b"***") == 1, offset
