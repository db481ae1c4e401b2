"""The fail2ban filter of docs/fail2ban.md, run by the real `fail2ban-regex` on the log of
a real `nebula run` that was sent failed sign-ins over HTTP (JSON log format, from behind a
trusted proxy so each attempt comes from an address of the test's choosing)."""

from __future__ import annotations

import http.cookiejar
import json
import re
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from nebula.testing import write_config
from tests.agent_process import AgentProcess, free_port, isolated_env
from tests.web.conftest import PASSWORD
from tests.web.test_user_cli import nebula_user

# A real `nebula run` and the real fail2ban-regex, in subprocesses.
pytestmark = pytest.mark.e2e

DOCS = Path(__file__).resolve().parents[2] / "docs"
INJECTED = 'x", "ip": "192.0.2.1'  # a name that tries to get someone else banned


def filter_conf() -> str:
    found = re.search(r"```ini\n(\[Definition\].*?)```", (DOCS / "fail2ban.md").read_text(),
                      re.S)
    assert found, "docs/fail2ban.md has no [Definition] block"
    return found.group(1)


def sign_in(url: str, user: str, password: str, client: str) -> int:
    """The sign-in form as a browser posts it (its CSRF cookie and field), sent as if a
    proxy forwarded it for `client`; returns the HTTP status."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
        NoRedirect())
    headers = {"X-Forwarded-For": client}
    with opener.open(urllib.request.Request(url + "/login", headers=headers), timeout=30) as r:
        csrf = re.search(r'name="csrf" value="([^"]+)"', r.read().decode()).group(1)
    form = urllib.parse.urlencode({"username": user, "password": password, "csrf": csrf,
                                   "next": "/"}).encode()
    try:
        with opener.open(urllib.request.Request(url + "/login", data=form, headers=headers),
                         timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: object, **_kw: object) -> None:
        return None


def failed_lines(log: str) -> list[dict[str, str]]:
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "auth.login_failed"]


def test_fail2ban_regex_finds_each_failed_sign_in_in_a_real_agent_log(tmp_path):
    config = write_config(
        tmp_path / "nebula.toml",
        {"port": free_port(), "log_format": "json", "trusted_proxies": ["127.0.0.1/32"],
         "login_max_failures": 2, "login_max_failures_ip": 50},
        {"system": {"enabled": False}})
    env = isolated_env(tmp_path)
    added = nebula_user(config, env, "add", "admin", "--password-stdin",
                        password=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    agent = AgentProcess(config, tmp_path / "data", env)
    try:
        agent.start()
        attempts = [("admin", "wrong", "203.0.113.7")] * 3 + [  # the third one is locked
            ("ghost", "wrong", "2001:db8::5")] * 2 + [(INJECTED, "wrong", "198.51.100.9")]
        for user, password, client in attempts:
            assert sign_in(agent.url, user, password, client) in (401, 429)
        assert sign_in(agent.url, "admin", PASSWORD, "192.0.2.50") == 429  # still locked
    finally:
        agent.stop()
    log = agent.log()

    failed = failed_lines(log)
    assert [(f["ip"], f["user"], f["reason"]) for f in failed] == [
        ("203.0.113.7", "admin", "wrong username or password"),
        ("203.0.113.7", "admin", "wrong username or password"),
        ("203.0.113.7", "admin", "locked"),
        ("2001:db8::5", "ghost", "wrong username or password"),
        ("2001:db8::5", "ghost", "wrong username or password"),
        ("198.51.100.9", INJECTED, "wrong username or password"),
        ("192.0.2.50", "admin", "locked"),
    ]
    assert PASSWORD not in log and '"wrong"' not in log  # passwords are never logged

    filter_file = tmp_path / "nebula.conf"
    filter_file.write_text(filter_conf())
    result = subprocess.run(["fail2ban-regex", "--out", "ip", str(agent.log_path),
                             str(filter_file)], capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == [f["ip"] for f in failed]
    summary = subprocess.run(["fail2ban-regex", str(agent.log_path), str(filter_file)],
                             capture_output=True, text=True, timeout=120, check=False)
    assert re.search(rf"Lines: \d+ lines, 0 ignored, {len(failed)} matched", summary.stdout), \
        summary.stdout
