"""nebula.helpers.net against real sockets on loopback: a plain-HTTP server, a TLS server
with a trustme CA, a port nothing listens on, a server that never answers, and a name that
cannot resolve."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import trustme
from aiohttp import web

from nebula.helpers.net import (
    FailureKind,
    HTTPFailure,
    classified,
    failure_from_exception,
    failure_from_status,
    reason,
    tls_context,
    trust,
)


@dataclass
class Servers:
    plain: str       # http://127.0.0.1:<port>
    tls: str         # https://127.0.0.1:<port>, certificate for 127.0.0.1 by `ca`
    other_name: str  # https://127.0.0.1:<port>, certificate for other.example only
    silent: str      # accepts connections, never answers
    ca_file: str


async def _ok(_: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _status(request: web.Request) -> web.Response:
    code = int(request.match_info["code"])
    return web.Response(status=code, text=f"reason of the {code}\nsecond line")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def servers(tmp_path: Path) -> AsyncIterator[Servers]:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))

    def server_ctx(*names: str) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert(*names).configure_cert(ctx)
        return ctx

    app = web.Application()
    app.router.add_get("/ok", _ok)
    app.router.add_get("/status/{code}", _status)
    runner = web.AppRunner(app)
    await runner.setup()
    sites = [web.TCPSite(runner, "127.0.0.1", 0),
             web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx("127.0.0.1")),
             web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx("other.example"))]
    ports = []
    for site in sites:
        await site.start()
        ports.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    held: list[asyncio.StreamWriter] = []

    async def never_answer(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # keep the connection open, say nothing

    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    silent_port = silent.sockets[0].getsockname()[1]
    try:
        yield Servers(f"http://127.0.0.1:{ports[0]}", f"https://127.0.0.1:{ports[1]}",
                      f"https://127.0.0.1:{ports[2]}", f"http://127.0.0.1:{silent_port}",
                      str(ca_file))
    finally:
        for writer in held:
            writer.close()
        silent.close()
        await silent.wait_closed()
        await runner.cleanup()


async def _get(url: str, *, tls: ssl.SSLContext | bool = True, timeout: float = 5,
               service: str = "Example") -> str:
    """GET url through `classified`; the body, or the HTTPFailure it raised."""
    async with aiohttp.ClientSession() as session:
        with classified(url, service=service, timeout=timeout):
            async with session.get(url, ssl=tls,
                                   timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                if resp.status >= 400:
                    raise failure_from_status(resp.status, url, service=service,
                                              body=await resp.text())
                return await resp.text()


async def _failure(url: str, **kwargs) -> HTTPFailure:
    with pytest.raises(HTTPFailure) as caught:
        await _get(url, **kwargs)
    assert caught.value.__cause__ is None  # the original (full URL) is not chained
    return caught.value


# --- what issue 15 §3b saw -----------------------------------------------------------------


async def test_https_to_a_plain_http_port_says_the_server_does_not_speak_tls(servers) -> None:
    url = servers.plain.replace("http:", "https:") + "/ok"
    failure = await _failure(url)
    assert failure.kind is FailureKind.TLS and failure.kind.unreachable
    assert str(failure).startswith("TLS handshake failed: the server does not speak TLS on "
                                   "this port?")
    assert url.split("/ok")[0].split("//")[1] in str(failure)  # 127.0.0.1:<port>
    assert "operation not permitted" not in str(failure)


async def test_a_name_that_does_not_resolve_says_cannot_resolve_host() -> None:
    failure = await _failure("http://nosuch.invalid:8123/api")
    assert failure.kind is FailureKind.DNS
    assert str(failure).startswith("cannot resolve host nosuch.invalid (")
    assert "unknown error" not in str(failure).lower()


def test_reason_never_reads_an_errno_as_a_system_error() -> None:
    # SSLError's errno 1 is EPERM and a resolver's -2 has no strerror: the old wording.
    not_tls = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    not_tls.reason = "WRONG_VERSION_NUMBER"
    assert reason(not_tls) == "wrong version number"
    assert reason(socket.gaierror(-2, "Name or service not known")) == \
        "name or service not known"


# --- connecting ----------------------------------------------------------------------------


async def test_a_port_nothing_listens_on_is_refused() -> None:
    port = _free_port()
    failure = await _failure(f"http://127.0.0.1:{port}/", service="n8n")
    assert failure.kind is FailureKind.REFUSED
    assert str(failure).startswith(f"connection refused by 127.0.0.1:{port}: n8n is not "
                                   "listening there")


async def test_a_server_that_never_answers_times_out_naming_the_limit(servers) -> None:
    failure = await _failure(servers.silent + "/x?token=secret", timeout=0.3)
    assert failure.kind is FailureKind.TIMEOUT
    assert str(failure) == f"Example at {servers.silent}/x did not answer within 0.3s"


async def test_plain_http_to_a_tls_port_is_a_disconnect_with_the_https_hint(servers) -> None:
    failure = await _failure(servers.tls.replace("https:", "http:") + "/ok")
    assert failure.kind is FailureKind.DISCONNECTED
    assert str(failure).endswith("closed the connection without answering; if it only "
                                 "speaks TLS, the URL must start with https://")


# --- certificates --------------------------------------------------------------------------


async def test_a_certificate_from_an_unknown_ca_is_not_trusted(servers) -> None:
    failure = await _failure(servers.tls + "/ok")
    assert failure.kind is FailureKind.CERTIFICATE
    assert "not trusted: unable to get local issuer certificate; set ca_bundle" in str(failure)


async def test_a_certificate_for_another_name_says_so(servers) -> None:
    failure = await _failure(servers.other_name + "/ok", tls=trust(servers.ca_file))
    assert failure.kind is FailureKind.CERTIFICATE
    assert "not trusted: IP address mismatch, certificate is not valid for '127.0.0.1'" \
        in str(failure)
    assert str(failure).endswith("use a host name the certificate is issued for in the URL")


async def test_the_ca_bundle_makes_the_certificate_trusted(servers) -> None:
    assert await _get(servers.tls + "/ok", tls=tls_context(True, servers.ca_file)) == "ok"
    assert await _get(servers.other_name + "/ok", tls=tls_context(False)) == "ok"


def test_tls_context_settings(servers, tmp_path) -> None:
    assert tls_context() is True
    assert tls_context(False) is False
    assert isinstance(tls_context(True, servers.ca_file), ssl.SSLContext)
    with pytest.raises(ValueError, match=r"^ca_bundle \(x\.pem\) is set but verify_tls is "
                                         r"false: keep one$"):
        tls_context(False, "x.pem")
    missing = tmp_path / "nowhere.pem"
    with pytest.raises(ValueError, match=r"^cannot load ca_bundle: no such file or directory "
                                         rf"\({missing}\)$"):
        tls_context(True, str(missing))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(ValueError, match=r"^cannot load ca_bundle: no certificate or crl found "):
        tls_context(True, str(garbage))


# --- answers -------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "kind", "says"), [
    (401, FailureKind.AUTH, "HTTP 401 Unauthorized: the credentials"),
    (403, FailureKind.FORBIDDEN, "HTTP 403 Forbidden: the credentials lack the rights"),
    (404, FailureKind.NOT_FOUND, "HTTP 404 Not Found: is the URL right?"),
    (429, FailureKind.RATE_LIMITED, "HTTP 429 Too Many Requests: it limits"),
    (400, FailureKind.HTTP, "HTTP 400 Bad Request: reason of the 400 second line"),
    (503, FailureKind.SERVER, "HTTP 503 Service Unavailable: reason of the 503"),
])
async def test_error_answers_are_named_by_status(servers, code, kind, says) -> None:
    failure = await _failure(f"{servers.plain}/status/{code}")
    assert (failure.kind, failure.status) == (kind, code)
    assert not failure.kind.unreachable
    assert str(failure).startswith(f"Example at {servers.plain}/status/{code} answered ")
    assert says in str(failure)


async def test_raise_for_status_is_classified_like_the_status(servers) -> None:
    url = f"{servers.plain}/status/401"
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        with pytest.raises(HTTPFailure) as caught, classified(url, service="Plex"):
            await session.get(url)
    assert caught.value.kind is FailureKind.AUTH
    assert str(caught.value) == (f"Plex at {url} answered HTTP 401 Unauthorized: the "
                                 "credentials (token, key or password) are wrong, expired or "
                                 "revoked")


async def test_a_plugin_error_type_is_built_and_passes_through() -> None:
    class PluginError(HTTPFailure):
        pass

    port = _free_port()
    with pytest.raises(PluginError) as caught, classified(f"http://127.0.0.1:{port}",
                                                          error=PluginError):
        async with aiohttp.ClientSession() as session:
            await session.get(f"http://127.0.0.1:{port}")
    assert caught.value.kind is FailureKind.REFUSED
    mine = PluginError(FailureKind.HTTP, "not the service we expected")
    with pytest.raises(PluginError) as again, classified("http://x", error=PluginError):
        raise mine
    assert again.value is mine


def test_credentials_and_query_never_reach_the_message() -> None:
    url = "https://user:hunter2@example.test:8443/api?token=s3cret#frag"
    for failure in (failure_from_status(500, url),
                    failure_from_exception(asyncio.TimeoutError(), url, timeout=1)):
        assert "hunter2" not in str(failure) and "s3cret" not in str(failure)
        assert "https://example.test:8443/api" in str(failure)


async def test_cancellation_is_not_a_failure(servers) -> None:
    task = asyncio.ensure_future(_get(servers.silent + "/", timeout=30))
    await asyncio.sleep(0)  # let it start connecting
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
