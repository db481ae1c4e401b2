"""The security plugin in a real agent: exposure judged from the listeners of a
`network.listeners` provider (real sockets on this machine), the agent's own bind, its data
dir's modes fixed through the approval gate, admins without a second factor, failed
sign-ins, the image scan that cannot run without a scanner, and the score combining them
with every lost point explained."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import psutil
import pytest
from security_network_standin import NetworkStandIn

from nebula.testing import installed_plugin
from tests.waiting import eventually

pytestmark = pytest.mark.e2e  # sshd -T and apt-get -s run for real in the full scan

ABSENT = "/nonexistent/security-test"


def config(**extra: Any) -> dict[str, Any]:
    """Inputs this test is not about point at nothing, so each is quick and predictable."""
    return {"sshd_config": f"{ABSENT}/sshd_config", "sshd_binary": f"{ABSENT}/sshd",
            "apt_get": f"{ABSENT}/apt-get", "reboot_flag": f"{ABSENT}/reboot",
            "docker_url": "unix:///nonexistent/security-test.sock", **extra}


def lan_address() -> str:
    """This machine's first non-loopback IPv4 address (eth0's here)."""
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET and not address.address.startswith("127."):
                return str(address.address)
    raise AssertionError("no LAN address on this machine")


@pytest.fixture
def exposed() -> Iterator[tuple[int, int, int]]:
    """Real sockets listening on every address, on one LAN address, and on loopback."""
    made = []
    for address in ("0.0.0.0", lan_address(), "127.0.0.1"):
        sock = socket.socket()
        sock.bind((address, 0))
        sock.listen()
        made.append(sock)
    yield tuple(s.getsockname()[1] for s in made)  # type: ignore[misc]
    for sock in made:
        sock.close()


def mode(path: Path) -> int:
    return os.stat(path).st_mode & 0o777


def findings(score: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return next(i for i in score["inputs"] if i["input"] == name)["findings"]


async def test_an_unexpected_wide_listener_loses_points_a_loopback_one_does_not(
        nebula_agent, exposed):
    wide, lan, local = exposed
    network = NetworkStandIn(pid=os.getpid())
    plugins = {"security": installed_plugin("security"), "network": network}
    async with nebula_agent(plugins, config={"security": config(), "network": {}},
                            schedule=False) as agent:
        check = await agent.run_check("security.exposure")
        assert check["last_status"] == "warning", check
        score = (await agent.run_action("security.score"))["result"]
        rows = findings(score, "exposure")
        mine = [f for f in rows if f":{wide}/tcp" in f["reason"]]
        assert len(mine) == 1 and mine[0]["points"] > 0
        assert "0.0.0.0" in mine[0]["reason"] and "every network" in mine[0]["reason"]
        assert str(os.getpid()) in mine[0]["reason"]  # the owner, from the provider's row
        assert "bind it to 127.0.0.1" in mine[0]["fix"] and mine[0]["points"] == 10
        [on_lan] = [f for f in rows if f":{lan}/tcp" in f["reason"]]
        assert "reachable from the LAN" in on_lan["reason"] and on_lan["points"] == 5
        assert not [f for f in rows if f":{local}/" in f["reason"]]
        assert network.calls >= 1


async def test_an_expected_listener_costs_nothing(nebula_agent, exposed):
    wide, _, _ = exposed
    network = NetworkStandIn(expected=[wide], pid=os.getpid())
    plugins = {"security": installed_plugin("security"), "network": network}
    async with nebula_agent(plugins, config={"security": config(), "network": {}},
                            schedule=False) as agent:
        score = (await agent.run_action("security.score"))["result"]
        assert not [f for f in findings(score, "exposure") if f":{wide}/" in f["reason"]]


async def test_without_the_network_plugin_exposure_is_unknown_and_says_so(nebula_agent):
    async with nebula_agent({"security": installed_plugin("security")},
                            config={"security": config()}, schedule=False) as agent:
        check = await agent.run_check("security.exposure")
        assert check["last_status"] == "unknown"
        assert "enable the network plugin" in check["summary"]
        score = (await agent.run_action("security.score"))["result"]
        rows = findings(score, "exposure")
        assert rows[0]["points"] == 20 and rows[0]["severity"] == "unknown"


async def test_the_agent_bound_beyond_loopback_in_plain_http(nebula_agent):
    async with nebula_agent({"security": installed_plugin("security"),
                             "network": NetworkStandIn(pid=os.getpid())},
                            agent={"bind": "0.0.0.0", "port": 18765},
                            config={"security": config(), "network": {}},
                            schedule=False) as agent:
        check = await agent.run_check("security.exposure")
        assert check["last_status"] == "critical"
        assert "plain HTTP on 0.0.0.0:18765" in check["summary"]
    # Behind a TLS proxy the agent knows of, the same bind is fine.
    async with nebula_agent({"security": installed_plugin("security"),
                             "network": NetworkStandIn(pid=os.getpid())},
                            agent={"bind": "0.0.0.0", "port": 18765,
                                   "public_url": "https://nebula.example.com",
                                   "trusted_proxies": ["192.168.1.2"]},
                            config={"security": config(), "network": {}},
                            schedule=False) as agent:
        score = (await agent.run_action("security.score"))["result"]
        assert not [f for f in findings(score, "exposure") if "plain HTTP" in f["reason"]]


async def test_loose_data_files_are_found_and_fixed_only_once_approved(nebula_agent, tmp_path):
    async with nebula_agent({"security": installed_plugin("security")},
                            config={"security": config()}, schedule=False) as agent:
        data = Path(agent.agent.config.data_dir)
        key = data / "nebula.db"  # the store: tokens, audit, encrypted secrets
        os.chmod(key, 0o644)
        os.chmod(data, 0o755)
        check = await agent.run_check("security.agent")
        assert check["last_status"] == "critical"
        assert "is mode 0644: others can read it" in check["summary"] or "0755" in check[
            "summary"]
        score = (await agent.run_action("security.score"))["result"]
        rows = findings(score, "agent")
        fixes = {r["fix"] for r in rows}
        assert f"`chmod 600 {key}`" in fixes and f"`chmod 700 {data}`" in fixes
        assert all(r["action"] == "security.fix_permissions" for r in rows)
        pending = await agent.run_action("security.fix_permissions", expect=202)
        assert pending["status"] == "pending_approval"
        plan = pending["approval"]["plan"]
        assert {"path": str(key), "mode": "0644", "to": "0600"} in plan["chmod"]
        assert mode(key) == 0o644  # nothing changed before the approval
        # Jarvis's tool stops at the same gate.
        asked = await agent.call_tool("security.fix_permissions")
        assert asked["status"] == "pending_approval" and mode(key) == 0o644
        done = await agent.approve(pending["approval"]["id"])
        assert done["status"] == "ok", done
        assert mode(key) == 0o600 and mode(data) == 0o700
        check = await agent.run_check("security.agent")
        assert check["last_status"] == "ok", check
        # Nothing left to fix: refused at request time, nothing filed.
        status, body = await agent.post("/api/v1/actions/security.fix_permissions/run",
                                        {"params": {}})
        assert status == 422, body


async def wrong_sign_in(agent: Any, user: str) -> None:
    """A failed sign-in through the real login form, as a browser posts it (its CSRF cookie
    and field, its Origin)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as browser:
        async with browser.get(f"{agent.url}/login") as resp:
            csrf = re.search(r'name="csrf" value="([^"]+)"', await resp.text())
            cookie = resp.cookies["nebula_login"].value
        assert csrf is not None
        async with browser.post(f"{agent.url}/login", allow_redirects=False, data={
                "csrf": csrf.group(1), "username": user, "password": "not the password",
                "next": "/"}, headers={"Cookie": f"nebula_login={cookie}",
                                       "Origin": agent.url}) as resp:
            assert resp.status == 401 or resp.status == 200, resp.status


async def test_an_admin_without_a_second_factor_and_failed_sign_ins(nebula_agent):
    async with nebula_agent({"security": installed_plugin("security")},
                            config={"security": config(failed_logins_warning=3,
                                                       interval=1)},
                            schedule=False) as agent:
        status, _ = await agent.post("/api/v1/users", {"name": "ops", "password":
                                                       "correct horse battery"})
        assert status == 201
        check = await agent.run_check("security.agent")
        assert check["last_status"] == "warning"
        assert "admin ops signs in without a second factor" in check["summary"]
        check = await agent.run_check("security.logins")
        assert check["last_status"] == "ok" and check["metrics"]["agent_failed"] == 0
        for _ in range(3):
            await wrong_sign_in(agent, "ops")

        async def warned() -> dict[str, Any] | None:
            found = await agent.run_check("security.logins")
            return found if found["last_status"] == "warning" else None

        check = await eventually(warned)
        assert check["metrics"]["agent_failed"] == 3
        assert "3 failed sign-ins to the agent" in check["summary"]
        assert "127.0.0.1 (3)" in check["summary"]


async def test_no_scanner_installed_is_unknown_with_the_install_hint(nebula_agent):
    async with nebula_agent({"security": installed_plugin("security")},
                            config={"security": config()}, schedule=False) as agent:
        assert shutil.which("trivy") is None and shutil.which("grype") is None
        check = await agent.run_check("security.vulnerabilities")
        assert check["last_status"] == "unknown"
        assert "neither trivy nor grype is installed" in check["summary"]
        assert "install trivy" in check["summary"]


async def test_the_score_explains_every_lost_point(nebula_agent):
    async with nebula_agent({"security": installed_plugin("security")},
                            config={"security": config()}, schedule=False) as agent:
        score = (await agent.run_action("security.score"))["result"]
        lost = sum(f["points"] for i in score["inputs"] for f in i["findings"])
        assert score["score"] == 100 - lost
        assert len(score["explanation"]) == sum(len(i["findings"]) for i in score["inputs"])
        for line in score["explanation"]:
            assert re.match(r"^-\d+ [a-z]+: .+\. Fix: .+", line), line
        # Unknown inputs (no network plugin, no scanner) lose their weight, said so.
        assert any("not assessed: the network plugin" in f["reason"]
                   for f in findings(score, "exposure"))
        panel = await agent.panel("security.score")
        assert panel["score"] == f"{score['score']}/100"
        assert "enable the network plugin" in panel["explanation"]
        rows = await agent.panel("security.findings")
        assert sum(r["points"] for r in rows) == lost
        tool = await agent.call_tool("security.score")
        assert tool["status"] == "ok" and tool["result"]["score"] == score["score"]
        one = await agent.call_tool("security.input", {"input": "vulnerabilities"})
        assert one["result"]["status"] == "unknown"
        check = await agent.run_check("security.score")
        assert check["metrics"]["score"] == score["score"]
        assert check["last_status"] == ("ok" if score["score"] >= 80 else "warning"
                                        if score["score"] >= 50 else "critical")


async def test_stopping_the_plugin_kills_a_probe_in_flight(nebula_agent, tmp_path):
    pid_file = tmp_path / "apt.pid"
    slow = tmp_path / "apt-get"
    slow.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 60\n")
    slow.chmod(0o755)
    async with nebula_agent({"security": installed_plugin("security")},
                            config={"security": config(apt_get=str(slow))},
                            schedule=False) as agent:
        runtime = agent.agent.manager.records["security"].ctx.runtime
        reading = asyncio.create_task(runtime.assessment("updates"))
        await eventually(lambda: pid_file.exists() and pid_file.read_text().strip())
        pid = int(pid_file.read_text())
        assert psutil.pid_exists(pid)
    # The agent stopped the plugin: the runtime was closed, the reading cancelled and
    # apt-get killed and reaped, not left to run out its 60 s.
    with pytest.raises(asyncio.CancelledError):
        await reading
    assert not psutil.pid_exists(pid)


async def test_panels_answer_from_the_last_reading_while_a_slow_one_runs(nebula_agent,
                                                                          tmp_path):
    """A host command can hang (sshd -T on a stalled disk, apt-get after a package
    change); a panel answers from the last reading meanwhile."""
    slow_flag = tmp_path / "slow"
    sshd = tmp_path / "sshd"
    sshd.write_text(f"#!/bin/sh\n[ -e {slow_flag} ] && exec sleep 60\n"
                    "echo 'permitrootlogin no'; echo 'passwordauthentication no'\n")
    sshd.chmod(0o755)
    (tmp_path / "sshd_config").write_text("PermitRootLogin no\n")
    settings = config(sshd_binary=str(sshd), sshd_config=str(tmp_path / "sshd_config"),
                      interval=1)
    async with nebula_agent({"security": installed_plugin("security")},
                            config={"security": settings}, schedule=False) as agent:
        runtime = agent.agent.manager.records["security"].ctx.runtime
        first = await agent.panel("security.inputs")
        ssh = next(r for r in first if r["title"] == "SSH daemon")
        assert ssh["points"] == "15/15" and f"{sshd} -T" in ssh["summary"]
        slow_flag.touch()
        await eventually(lambda: not runtime.polls["ssh"].fresh())
        started = asyncio.get_running_loop().time()
        again = await agent.panel("security.inputs")
        assert asyncio.get_running_loop().time() - started < 5  # not the 60 s sshd -T
        assert next(r for r in again if r["title"] == "SSH daemon") == ssh
        assert "ssh" in runtime._background  # the refresh runs behind
