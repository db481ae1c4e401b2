"""HTTP hardening, over real sockets on loopback: the Host allow-list (DNS rebinding), the
header and body read timeouts (slowloris), the WebSocket cap per token and per session,
and bad bytes, which get a 4xx problem with one log line, never a 500 with a traceback."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
import structlog

from nebula.config import ConfigError, load
from nebula.logs import configure
from nebula.testing import RunningAgent, write_config
from tests.sample_plugins import Switchable
from tests.waiting import eventually
from tests.web.conftest import PASSWORD

PROBLEM = "application/problem+json"
FORM = b"Content-Type: application/x-www-form-urlencoded"
JSON = b"Content-Type: application/json"
# Slack over a configured timeout before a test calls it broken: CI machines are busy.
SLACK = 4.0


# -- a raw HTTP client: the bytes a broken or hostile client sends, as it sends them ------

@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def problem(self) -> dict[str, Any]:
        assert self.headers["content-type"].startswith(PROBLEM), self
        return json.loads(self.body)


def http(method: str, path: str, *, host: bytes | None = b"127.0.0.1",
         headers: tuple[bytes, ...] = (), body: bytes | None = None,
         close: bool = True) -> bytes:
    lines = [f"{method} {path} HTTP/1.1".encode()]
    if host is not None:
        lines.append(b"Host: " + host)
    if close:
        lines.append(b"Connection: close")
    lines += headers
    if body is not None:
        lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


def address(a: RunningAgent) -> tuple[str, int]:
    parts = urlsplit(a.url)
    assert parts.hostname and parts.port
    return parts.hostname, parts.port


def bearer(token: str | bytes) -> bytes:
    return b"Authorization: Bearer " + (token.encode() if isinstance(token, str) else token)


async def read_answer(reader: asyncio.StreamReader) -> Answer:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines)}
    length = headers.get("content-length")
    body = await (reader.readexactly(int(length)) if length else reader.read())
    return Answer(int(status_line.split()[1]), headers, body)


async def exchange(a: RunningAgent, data: bytes, timeout: float = 10) -> Answer:
    reader, writer = await asyncio.open_connection(*address(a))
    try:
        writer.write(data)
        return await asyncio.wait_for(read_answer(reader), timeout)
    finally:
        writer.close()


async def hung_up(reader: asyncio.StreamReader) -> bool:
    """Whether the agent closed the connection without (another) answer: an end of stream,
    or a reset when it closed while the client was still sending."""
    try:
        return await reader.read() == b""
    except ConnectionResetError:
        return True


async def dribble(writer: asyncio.StreamWriter, data: bytes, pace: float = 0.1) -> None:
    """Send `data` a byte at a time, as a slowloris client does (the pace is the client's
    behaviour under test, not a wait); stops once the agent has hung up."""
    try:
        for byte in data:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(pace)
    except ConnectionError:
        pass


# -- the agent's log -------------------------------------------------------------------

@dataclass
class AgentLog:
    read_err: Callable[[], str]
    text: str = ""

    def new(self) -> list[dict[str, Any]]:
        """The JSON lines logged since the last call."""
        chunk = self.read_err()
        self.text += chunk
        return [json.loads(line) for line in chunk.splitlines() if line.startswith("{")]


@pytest.fixture
def agent_log(capsys) -> Iterator[AgentLog]:
    """The agent's log as JSON lines (stderr, as `nebula run` writes it); the logging set-up
    as it was afterwards."""
    saved, root = structlog.get_config(), logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure("json", "info")
    log = AgentLog(lambda: capsys.readouterr().err)
    yield log
    structlog.configure(**saved)
    root.handlers[:], root.level = handlers, level


def assert_one_line_no_traceback(lines: list[dict[str, Any]], event: str) -> dict[str, Any]:
    assert not [line for line in lines if "exception" in line or line.get("level") == "error"
                ], lines
    matching = [line for line in lines if line["event"] == event]
    assert len(matching) == 1, lines
    return matching[0]


# -- Host: DNS rebinding ---------------------------------------------------------------

async def test_a_foreign_host_is_refused_before_the_login_form_or_a_token(nebula_agent,
                                                                          agent_log):
    """A DNS-rebinding page reaches the agent's address under its own name: it gets a 421
    on the login form, on a sign-in and even with a valid token, and no cookie."""
    async with nebula_agent({"switchable": Switchable()}) as a:
        _, port = address(a)
        agent_log.new()
        for host in (b"evil.example", b"evil.example:%d" % port, b"EVIL.Example.",
                     b"127.0.0.1.evil.example"):
            for request in (
                http("GET", "/login", host=host),
                http("POST", "/login", host=host, headers=(FORM,),
                     body=b"username=admin&password=x&csrf=c"),
                http("GET", "/api/v1/checks", host=host, headers=(bearer(a.token),)),
            ):
                answer = await exchange(a, request)
                assert answer.status == 421, (host, request, answer)
                assert "allowed_hosts" in answer.problem()["detail"]
                assert "set-cookie" not in answer.headers
        lines = agent_log.new()
        assert len([line for line in lines if line["event"] == "http.host_refused"]) == 12
        assert (await exchange(a, http("GET", "/login", host=None))).status == 400
        # Our own names, with or without the port, any case, IPv6 in brackets.
        for host in (b"127.0.0.1:%d" % port, b"localhost:%d" % port, b"LOCALHOST",
                     b"[::1]:%d" % port, b"127.0.0.1"):
            answer = await exchange(a, http("GET", "/login", host=host))
            assert answer.status == 200, (host, answer)
        answer = await exchange(a, http("GET", "/api/v1/checks", headers=(bearer(a.token),)))
        assert answer.status == 200
        # Liveness answers whatever the name: monitors use odd ones, and it says only "ok".
        answer = await exchange(a, http("GET", "/healthz", host=b"evil.example"))
        assert (answer.status, json.loads(answer.body)) == (200, {"status": "ok"})


@pytest.mark.parametrize(("agent", "allowed", "refused"), [
    ({"public_url": "https://nebula.example.net:8443/panel/"},
     [b"nebula.example.net", b"nebula.example.net:8443", b"localhost"],
     [b"evil.example", b"example.net"]),
    ({"allowed_hosts": ["nas.lan", "192.168.1.5"]},
     [b"nas.lan:8765", b"NAS.LAN", b"192.168.1.5:8765"], [b"localhost", b"127.0.0.1"]),
    ({"allowed_hosts": ["*"]}, [b"evil.example", b"anything:1"], []),
    # Bound to every interface, any address is a way in, and a rebinding page sends a name.
    ({"bind": "0.0.0.0"}, [b"192.0.2.7:8765", b"[2001:db8::1]:8765", b"localhost"],
     [b"evil.example"]),
], ids=["public_url", "explicit", "star", "wildcard-bind"])
async def test_allowed_hosts_follow_the_config(nebula_agent, agent, allowed, refused):
    async with nebula_agent(agent=agent) as a:
        for host in allowed:
            assert (await exchange(a, http("GET", "/login", host=host))).status == 200, host
        for host in refused:
            assert (await exchange(a, http("GET", "/login", host=host))).status == 421, host


def test_public_url_must_be_an_http_url(tmp_path):
    with pytest.raises(ConfigError, match="public_url"):
        load(write_config(tmp_path / "nebula.toml", {"public_url": "nebula.example.net"}))
    load(write_config(tmp_path / "nebula.toml", {"public_url": "https://nebula.example.net"}))


# -- read timeouts ---------------------------------------------------------------------

async def test_slow_headers_are_cut_off_while_normal_requests_go_on(nebula_agent):
    """Slowloris: connections that send half a request line, or trickle header bytes, are
    closed once `header_timeout` has passed, and the agent answers others meanwhile."""
    timeout = 1.0
    async with nebula_agent({"switchable": Switchable()},
                            agent={"header_timeout": timeout}) as a:
        held = [await asyncio.open_connection(*address(a)) for _ in range(40)]
        started = time.monotonic()
        for _, writer in held:
            writer.write(b"GET /api/v1/checks HT")
        trickler_reader, trickler = await asyncio.open_connection(*address(a))
        # Long enough to outlast the bound many times over at 10 bytes a second.
        sending = asyncio.create_task(dribble(trickler, http(
            "GET", "/api/v1/checks", headers=(b"X-Pad: " + b"p" * 300,))))
        try:
            status, _ = await a.get("/api/v1/checks")
            assert status == 200
            # Closed by the agent: end of stream, without an answer.
            readers = [reader for reader, _ in held] + [trickler_reader]
            closed = await asyncio.wait_for(
                asyncio.gather(*(hung_up(reader) for reader in readers)), timeout + SLACK)
            assert all(closed)
            assert time.monotonic() - started < timeout + SLACK
            assert not sending.done(), "the trickler was cut off, not done sending"
            status, _ = await a.get("/api/v1/checks")
            assert status == 200
        finally:
            sending.cancel()
            for _, writer in [*held, (trickler_reader, trickler)]:
                writer.close()


@pytest.mark.parametrize(("path", "headers"), [
    ("/api/v1/checks/run", (JSON,)),  # headers get the token below
    ("/login", (FORM,)),
], ids=["api", "login"])
async def test_a_trickled_body_is_cut_off_with_a_408(nebula_agent, agent_log, path, headers):
    timeout = 1.0
    async with nebula_agent({"switchable": Switchable()},
                            agent={"body_timeout": timeout}) as a:
        if path.startswith("/api/"):
            headers = (*headers, bearer(a.token))
        reader, writer = await asyncio.open_connection(*address(a))
        head = http("POST", path, headers=(*headers, b"Content-Length: 1000"), close=False)
        writer.write(head + b'{"na')
        started = time.monotonic()
        agent_log.new()
        sending = asyncio.create_task(dribble(writer, b"x" * 996))
        try:
            answer = await asyncio.wait_for(read_answer(reader), timeout + SLACK)
            assert answer.status == 408
            assert "did not arrive" in answer.problem()["detail"]
            # ... and the agent hangs up rather than read the rest.
            assert await asyncio.wait_for(hung_up(reader), SLACK)
            assert time.monotonic() - started < timeout + SLACK
            assert not sending.done()
        finally:
            sending.cancel()
            writer.close()
        assert_one_line_no_traceback(agent_log.new(), "http.bad_request")


# -- WebSockets per token and per session ----------------------------------------------

EVENTS = "/api/v1/events"


async def test_websockets_are_capped_per_token_and_per_session(nebula_agent):
    async with nebula_agent(agent={"max_websockets": 2}) as a:
        status, viewer = await a.post("/api/v1/tokens", {"name": "ro", "role": "viewer"})
        assert status == 201
        admin = {"Authorization": f"Bearer {a.token}"}

        async def connect(headers: dict[str, str]) -> aiohttp.ClientWebSocketResponse:
            return await a.session.ws_connect(a.url + EVENTS, headers=headers)

        first, _second = await connect(admin), await connect(admin)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await connect(admin)
        assert refused.value.status == 429
        # Refused before the upgrade, as a problem document.
        upgrade = (b"Upgrade: websocket", b"Connection: Upgrade",
                   b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                   b"Sec-WebSocket-Version: 13")
        answer = await exchange(a, http("GET", EVENTS, headers=(*upgrade, bearer(a.token)),
                                        close=False))
        assert answer.status == 429
        assert "max_websockets" in answer.problem()["detail"]
        # Another token has its own allowance.
        await connect({"Authorization": f"Bearer {viewer['token']}"})
        # Closing one gives its place back (once the agent has seen it go).
        await first.close()

        async def accepted() -> aiohttp.ClientWebSocketResponse | None:
            try:
                return await connect(admin)
            except aiohttp.WSServerHandshakeError as exc:
                if exc.status != 429:
                    raise
                return None

        await eventually(accepted)

        # A signed-in browser session counts on its own, whoever the user is.
        user = await a.agent.runtime("auth").users.add("alice", PASSWORD)
        cookie, _ = await a.agent.runtime("auth").sessions.create(user.id, "127.0.0.1", "test")
        browser = {"Cookie": f"nebula_session={cookie}", "Origin": a.url}
        held = [await connect(browser), await connect(browser)]  # open while referenced
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await connect(browser)
        assert refused.value.status == 429
        other, _ = await a.agent.runtime("auth").sessions.create(user.id, "127.0.0.1", "test")
        await connect({"Cookie": f"nebula_session={other}", "Origin": a.url})
        assert not any(ws.closed for ws in held)


# -- bad bytes: a 4xx problem and one log line, never a 500 ----------------------------

def _multipart(value: bytes) -> tuple[tuple[bytes, ...], bytes]:
    body = (b'--zz\r\nContent-Disposition: form-data; name="username"\r\n\r\n' + value
            + b"\r\n--zz--\r\n")
    return (b"Content-Type: multipart/form-data; boundary=zz",), body


BAD_INPUT: list[tuple[str, Callable[[str], bytes], int]] = [
    ("nested-json", lambda t: http("POST", "/api/v1/checks/run", headers=(JSON, bearer(t)),
                                   body=b"[" * 100_000), 400),
    ("nested-json-that-parses", lambda t: http(
        "POST", "/api/v1/checks/run", headers=(JSON, bearer(t)),
        body=b'{"names": ' + b"[" * 200 + b"]" * 200 + b"}"), 400),
    ("5000-digit-number", lambda t: http(
        "POST", "/api/v1/checks/run", headers=(JSON, bearer(t)),
        body=b'{"names": [' + b"9" * 5000 + b"]}"), 400),
    ("json-not-utf8", lambda t: http("POST", "/api/v1/checks/run",
                                     headers=(JSON, bearer(t)), body=b'{"names": ["\xff"]}'),
     400),
    # Without any credentials: the sign-in form is open to everyone.
    ("login-form-not-utf8", lambda _t: http("POST", "/login", headers=(FORM,),
                                            body=b"username=\xff\xfe&password=x"), 400),
    ("login-form-no-content-type", lambda _t: http("POST", "/login",
                                                   body=b"username=\xc3(&password=x"), 400),
    ("login-multipart-not-utf8", lambda _t: http("POST", "/login",
                                                 headers=_multipart(b"\xff\xfe")[0],
                                                 body=_multipart(b"\xff\xfe")[1]), 415),
    ("authorization-not-utf8", lambda _t: http("GET", "/api/v1/checks",
                                               headers=(b"Authorization: Bearer \xff\xfe",)),
     400),
    ("authorization-not-utf8-no-scheme", lambda _t: http(
        "GET", "/api/v1/checks", headers=(b"Authorization: \xff\xfe\xfd",)), 400),
    ("authorization-not-utf8-public-route", lambda _t: http(
        "GET", "/login", headers=(b"Authorization: Bearer \xff",)), 400),
    ("cookie-not-utf8", lambda _t: http("GET", "/", headers=(b"Cookie: nebula_session=\xff",)),
     400),
    ("limit-nan", lambda t: http("GET", "/api/v1/events?limit=nan", headers=(bearer(t),)),
     400),
]


async def test_bad_input_is_a_4xx_problem_with_one_log_line(nebula_agent, agent_log):
    async with nebula_agent({"switchable": Switchable()}) as a:
        for name, make, status in BAD_INPUT:
            agent_log.new()
            answer = await exchange(a, make(a.token))
            assert answer.status == status, (name, answer)
            assert answer.problem()["status"] == status, name
            line = assert_one_line_no_traceback(agent_log.new(), "http.bad_request")
            assert line["status"] == status, name
        # A request aiohttp cannot even parse never reaches a route: it answers a plain
        # 400 itself, and the log has one warning line, not the parser's traceback.
        agent_log.new()
        answer = await exchange(a, b"GET /api/v1/checks/\xff HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                   b"Connection: close\r\n\r\n")
        assert answer.status == 400
        assert_one_line_no_traceback(agent_log.new(), "http.malformed_request")
        answer = await exchange(a, b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        assert answer.status == 400
        assert_one_line_no_traceback(agent_log.new(), "http.malformed_request")
        # The agent is fine afterwards.
        assert (await a.get("/api/v1/checks"))[0] == 200
    assert "Traceback" not in agent_log.text


async def test_odd_headers_on_a_session_request_are_refused_not_a_crash(nebula_agent,
                                                                        agent_log):
    """A non-ASCII CSRF token (hmac.compare_digest raises TypeError on such a str) and an
    Origin that is not a URL (urlsplit raises ValueError) are a 403, not a 500."""
    async with nebula_agent() as a:
        user = await a.agent.runtime("auth").users.add("alice", PASSWORD)
        cookie, _ = await a.agent.runtime("auth").sessions.create(user.id, "127.0.0.1", "test")
        session = b"Cookie: nebula_session=" + cookie.encode()
        answer = await exchange(a, http("POST", "/logout", body=b"",
                                        headers=(session, "X-CSRF-Token: é".encode())))
        assert answer.status == 403
        assert "CSRF" in answer.problem()["detail"]
        answer = await exchange(a, http("GET", "/api/v1/checks",
                                        headers=(session, b"Origin: http://[::1")))
        assert answer.status == 403
        assert "cross-origin" in answer.problem()["detail"]
    assert "Traceback" not in agent_log.text + agent_log.read_err()


async def test_405_answers_carry_allow(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        for method, path in (("PUT", "/api/v1/checks"), ("DELETE", "/api/v1/checks/run"),
                             ("POST", "/plugins/switchable/hello/x")):
            answer = await exchange(a, http(method, path, headers=(bearer(a.token),),
                                            body=b""))
            assert answer.status == 405, (method, path, answer)
            allow = answer.headers["allow"]
            assert method not in allow
            assert sorted(m.strip() for m in allow.split(",")) == answer.problem()["allow"]
