"""docs/reverse-proxy.md, run: its Caddyfile block in a real Caddy (Debian `caddy`, its
internal CA) in front of a real `nebula run` on loopback, reached over HTTPS from another
loopback address (127.0.0.2) so the client's address differs from the proxy's; its nginx
block likewise in a real nginx (Debian `nginx-light`, a self-signed certificate); its
shell-completion commands through the real `nebula`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from nebula.testing import write_config
from tests.agent_process import AgentProcess, free_port, isolated_env
from tests.engines.caddy import global_options
from tests.waiting import wait_for
from tests.web.conftest import PASSWORD
from tests.web.test_user_cli import nebula_user

DOC = Path(__file__).resolve().parents[1] / "docs" / "reverse-proxy.md"
CLIENT = "127.0.0.2"  # the browser's address: not the proxy's, not trusted
PUBLIC, OTHER = "app.test", "other.test"  # the agent's public name; a name it does not list


def doc_block(lang: str) -> str:
    found = re.search(rf"```{lang}\n(.*?)```", DOC.read_text(), re.S)
    assert found, f"docs/reverse-proxy.md has no {lang} block"
    return found.group(1)


def caddyfile(port: int, admin: int, agent_port: int) -> str:
    """The doc's site block for our names and port, with `tls internal` (no public CA is
    reachable here), under the global options a test instance needs."""
    site = doc_block("caddyfile").replace("127.0.0.1:8765", f"127.0.0.1:{agent_port}")
    head = "nebula.example.net {\n"
    assert site.startswith(head)
    site = (f"https://{PUBLIC}:{port}, https://{OTHER}:{port} {{\n\ttls internal\n"
            + site[len(head):])
    return global_options(admin) + site


class Loopback(AbstractResolver):
    """Every name is 127.0.0.1, as `curl --resolve` would have it."""

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET,
                 "proto": 0, "flags": socket.AI_NUMERICHOST}]

    async def close(self) -> None:
        pass


def agent_behind(tmp_path: Path, proxy_port: int) -> tuple[AgentProcess, int, str]:
    """A real agent (not started) that trusts 127.0.0.1, with one admin; its port and the
    public URL the proxy serves it at."""
    agent_port, public_url = free_port(), f"https://{PUBLIC}:{proxy_port}"
    config = write_config(
        tmp_path / "nebula.toml",
        {"port": agent_port, "public_url": public_url, "trusted_proxies": ["127.0.0.1"],
         "flap_threshold": 1},
        {"system": {"enabled": False}})
    # One failure makes auth.failed_logins a warning: an event the WebSocket must carry.
    with config.open("a") as f:
        f.write("\n[auth]\nlogin_max_failures = 1\nlogin_max_failures_ip = 50\n")
    env = isolated_env(tmp_path)
    added = nebula_user(config, env, "add", "admin", "--password-stdin",
                        password=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    return AgentProcess(config, tmp_path / "data", env), agent_port, public_url


@contextlib.contextmanager
def running(argv: list[str], log: Path, env: dict[str, str] | None = None
            ) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("w") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def serving(port: int, tls: ssl.SSLContext) -> bool:
    """The proxy completes a TLS handshake for PUBLIC (Caddy may still be signing its
    certificate after it listens)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as raw, \
                tls.wrap_socket(raw, server_hostname=PUBLIC):
            return True
    except OSError:
        return False


async def test_the_documented_caddy_block_fronts_a_real_agent(tmp_path):
    port, admin_port = free_port(), free_port()
    agent, agent_port, url = agent_behind(tmp_path, port)
    caddy_dir = tmp_path / "caddy"
    caddy_dir.mkdir()
    (caddy_dir / "Caddyfile").write_text(caddyfile(port, admin_port, agent_port))
    caddy_env = {**os.environ, "HOME": str(caddy_dir), "XDG_DATA_HOME": str(caddy_dir / "data"),
                 "XDG_CONFIG_HOME": str(caddy_dir / "cfg")}
    root = caddy_dir / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
    with running(["caddy", "run", "--config", str(caddy_dir / "Caddyfile"), "--adapter",
                  "caddyfile"], tmp_path / "caddy.log", caddy_env) as caddy:
        try:
            agent.start()
            wait_for(lambda: caddy.poll() is not None or root.exists(), timeout=30)
            tls = ssl.create_default_context(cafile=str(root))
            wait_for(lambda: caddy.poll() is not None or serving(port, tls), timeout=30)
            assert caddy.poll() is None, (tmp_path / "caddy.log").read_text()
            await through_the_proxy(agent, url, tls)
            # A name Caddy has no site for: no certificate, no connection.
            async with client(tls) as http:
                with pytest.raises(aiohttp.ClientConnectorError):
                    async with http.get(f"https://evil.test:{port}/healthz"):
                        pass
        finally:
            agent.stop()


def self_signed(ssl_dir: Path) -> Path:
    """The doc's certificate files, made here for both names nginx will forward."""
    ssl_dir.mkdir()
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         f"/CN={PUBLIC}", "-addext", f"subjectAltName=DNS:{PUBLIC},DNS:{OTHER}",
         "-keyout", str(ssl_dir / "privkey.pem"), "-out", str(ssl_dir / "fullchain.pem")],
        capture_output=True, text=True, check=False)
    assert made.returncode == 0, made.stderr
    return ssl_dir


async def test_the_documented_nginx_block_fronts_a_real_agent(tmp_path):
    port = free_port()
    agent, agent_port, url = agent_behind(tmp_path, port)
    ssl_dir = self_signed(tmp_path / "ssl")
    block = (doc_block("nginx").replace("/etc/ssl/nebula", str(ssl_dir))
             .replace("listen 443 ssl", f"listen 127.0.0.1:{port} ssl")
             .replace("nebula.example.net", PUBLIC)
             .replace("127.0.0.1:8765", f"127.0.0.1:{agent_port}"))
    conf = tmp_path / "nginx.conf"
    # One process in the foreground, every file under tmp_path.
    conf.write_text(
        f"daemon off;\nmaster_process off;\npid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/nginx-error.log;\nevents {{}}\n"
        f"http {{\naccess_log off;\nclient_body_temp_path {tmp_path}/body;\n"
        f"proxy_temp_path {tmp_path}/proxy;\n{block}}}\n")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    with running([nginx, "-p", str(tmp_path), "-c", str(conf)], tmp_path / "nginx.log") as proc:
        try:
            agent.start()
            tls = ssl.create_default_context(cafile=str(ssl_dir / "fullchain.pem"))
            wait_for(lambda: proc.poll() is not None or serving(port, tls), timeout=30)
            assert proc.poll() is None, (tmp_path / "nginx.log").read_text()
            await through_the_proxy(agent, url, tls)
        finally:
            agent.stop()


def client(tls: ssl.SSLContext, source: str = CLIENT) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(ssl=tls, resolver=Loopback(), local_addr=(source, 0),
                                     force_close=True)
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())


async def sign_in(session: aiohttp.ClientSession, url: str, user: str, password: str,
                  headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
    """The sign-in form as a browser posts it: its CSRF cookie and field, its Origin."""
    async with session.get(url + "/login", headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        csrf = re.search(r'name="csrf" value="([^"]+)"', await resp.text()).group(1)
        cookie = resp.cookies["nebula_login"].value
    async with session.post(url + "/login", allow_redirects=False, data={
            "csrf": csrf, "username": user, "password": password, "next": "/"},
            headers={"Cookie": f"nebula_login={cookie}", "Origin": url,
                     **(headers or {})}) as resp:
        await resp.read()
        return resp


async def next_auth_check_event(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    async for msg in ws:
        event = msg.json()
        if "auth.failed_logins" in msg.data:
            return event
    raise AssertionError("the WebSocket closed")


async def through_the_proxy(agent: AgentProcess, url: str, tls: ssl.SSLContext) -> None:
    """What the doc promises of a proxy in front of the agent, checked from CLIENT."""
    async with client(tls) as http:
        async with http.get(url + "/healthz") as resp:
            assert (resp.status, await resp.json()) == (200, {"status": "ok"})

        signed_in = await sign_in(http, url, "admin", PASSWORD)
        assert signed_in.status == 303
        session = signed_in.cookies["nebula_session"]
        assert session["secure"] and session["httponly"]  # Secure: X-Forwarded-Proto trusted
        assert "max-age" in signed_in.headers["Strict-Transport-Security"]

        async with http.ws_connect(url + "/api/v1/events?topic=check.*", headers={
                "Cookie": f"nebula_session={session.value}", "Origin": url}) as ws:
            # Through the proxy from CLIENT, claiming to be someone else: the proxy drops the
            # claim and forwards CLIENT, which the agent believes because it trusts the proxy.
            failed = await sign_in(http, url, "ghost", "wrong",
                                   headers={"X-Forwarded-For": "198.51.100.7"})
            assert failed.status == 401
            event = await asyncio.wait_for(next_auth_check_event(ws), 20)
            assert event["topic"] in ("check.changed", "check.first_results")

        # A name the proxy forwards but the agent does not list: refused by the agent.
        async with http.get(f"https://{OTHER}:{url.rsplit(':', 1)[1]}/login") as resp:
            assert resp.status == 421
            assert resp.content_type == "application/problem+json"

    # Straight to the agent from an untrusted peer: its forwarding headers count for nothing.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(
            local_addr=("127.0.0.3", 0), force_close=True)) as direct:
        failed = await sign_in(direct, agent.url, "ghost2", "wrong",
                               headers={"X-Forwarded-For": "198.51.100.8"})
        assert failed.status == 401

    status, body = agent.get("/api/v1/failed-logins")  # newest first
    assert status == 200
    assert [(f["ip"], f["username"]) for f in reversed(body["failed_logins"])] == [
        (CLIENT, "ghost"), ("127.0.0.3", "ghost2")]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_completion_script_generates(shell, tmp_path):
    script = completion(shell, tmp_path)
    assert script.returncode == 0, script.stderr
    assert "_nebula_completion" in script.stdout


def test_bash_completes_a_command_with_the_documented_line(tmp_path):
    env = {**isolated_env(tmp_path), "PATH": f"{Path(sys.executable).parent}:"
                                             f"{os.environ.get('PATH', '')}"}
    line = re.search(r"^eval .*bash_source nebula.*$", doc_block("bash"), re.M).group(0)
    done = subprocess.run(
        ["bash", "-c", f"{line}\nCOMP_WORDS=(nebula ser); COMP_CWORD=1\n"
                       '_nebula_completion nebula; printf "%s\\n" "${COMPREPLY[@]}"'],
        env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["service"]


def completion(shell: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """The installed `nebula` command, as the doc's lines run it."""
    nebula = Path(sys.executable).parent / "nebula"
    env = {**isolated_env(tmp_path), "_NEBULA_COMPLETE": f"{shell}_source"}
    return subprocess.run([str(nebula)], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
