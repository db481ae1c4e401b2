"""Status pages and the uptime API over real HTTP: a public page shows only what its admin
chose (secrets planted in summaries and metrics never appear in its HTML or JSON), a
private one does not exist for visitors, pages are cached, incidents carry admins' notes,
maintenance reads as such; `nebula uptime --json` through the real entry point."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import aiohttp
import pytest
import tomlkit

from nebula.api import Check, CheckResult, Manifest, Status, hookimpl
from nebula.config import load, read
from nebula.testing import run_agent, write_config
from tests.agent_process import isolated_env
from tests.waiting import eventually

SECRET = "tok-9c1f-planted-secret"


class Service:
    manifest = Manifest(api_version="1.0", description="a service the test sets")

    def __init__(self) -> None:
        self.status = Status.OK

    @hookimpl
    def nebula_checks(self) -> list[Check]:
        async def run() -> CheckResult:
            return CheckResult(self.status, f"answered with token={SECRET}",
                               {"secret_latency_ms": 8123.25})

        return [Check("svc.http", run, title="Internal title", interval=3600)]


def _config(tmp_path, cache_seconds: float = 60) -> Any:
    path = write_config(tmp_path / "nebula.toml", {"flap_threshold": 1})
    doc = tomlkit.parse(path.read_text())
    doc["status_page"] = [
        {"slug": "home", "title": "Home services", "public": True,
         "cache_seconds": cache_seconds, "description": "What the family uses",
         "groups": [{"name": "Web", "checks": [{"check": "svc.http", "name": "Website"}]}]},
        {"slug": "team", "title": "Team only", "groups": [
            {"name": "All", "checks": [{"check": "svc.http"}]}]},
    ]
    path.write_text(tomlkit.dumps(doc))
    return load(path)


async def _anonymous(a: Any, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(a.url + path) as resp:
        return resp.status, await resp.text()


async def test_a_public_page_shows_only_what_was_chosen(tmp_path):
    service = Service()
    async with run_agent(_config(tmp_path), {"svc": service}) as a:
        # Two results: the time between them is what the day's rollup counts.
        await a.run_check("svc.http")
        await a.run_check("svc.http")
        status, page = await _anonymous(a, "/status/home")
        assert status == 200, page
        assert "Home services" in page and "Website" in page and "All systems operational" in page
        # 89 days without data, then today ok: two bars, not ninety.
        assert page.count('class="day ') == 2 and "100.00 % over 90 days" in page
        assert 'class="day day-none w89"' in page and 'class="day day-ok w1"' in page
        status, body = await _anonymous(a, "/status/home.json")
        data = json.loads(body)
        assert data["groups"][0]["checks"][0]["name"] == "Website"
        assert data["groups"][0]["checks"][0]["state"] == "ok"
        assert data["groups"][0]["checks"][0]["days"]["states"][-1] == "ok"
        assert len(data["groups"][0]["checks"][0]["days"]["states"]) == 90
        for shown in (page, body):
            for planted in (SECRET, "token=", "answered with", "secret_latency", "8123",
                            "svc.http", "Internal title"):
                assert planted not in shown, planted


async def test_a_private_page_does_not_exist_for_visitors(tmp_path):
    async with run_agent(_config(tmp_path), {"svc": Service()}) as a:
        assert (await _anonymous(a, "/status/team"))[0] == 404
        assert (await _anonymous(a, "/status/team.json"))[0] == 404
        assert (await _anonymous(a, "/status/nosuch"))[0] == 404
        status, page = await a.get("/status/team")  # signed in (a token)
        assert status == 200 and "Team only" in page
        # Without a name, a check is shown by its title.
        assert "Internal title" in page


async def test_pages_are_cached_and_incidents_carry_admins_notes(tmp_path):
    service = Service()
    async with run_agent(_config(tmp_path, cache_seconds=1), {"svc": service}) as a:
        await a.run_check("svc.http")
        first = json.loads((await _anonymous(a, "/status/home.json"))[1])
        service.status = Status.CRITICAL
        await a.run_check("svc.http")
        # Within cache_seconds the built page is served as it was.
        assert json.loads((await _anonymous(a, "/status/home.json"))[1]) == first

        async def outage() -> dict[str, Any]:
            data = json.loads((await _anonymous(a, "/status/home.json"))[1])
            return data if data["overall"] == "outage" else {}

        data = await eventually(outage)
        incident = data["incidents"][0]
        assert incident["name"] == "Website" and incident["worst"] == "critical"
        assert incident["end"] is None and "summary" not in incident
        service.status = Status.OK
        await a.run_check("svc.http")
        status, body = await a.post("/api/v1/uptime/notes", {
            "check": "svc.http", "start": incident["start"],
            "text": "Router rebooted by the ISP."})
        assert status == 201, body
        status, page = await _anonymous(a, "/status/home")
        assert "Router rebooted by the ISP." in page and "lasted" in page
        status, audit = await a.get("/api/v1/audit")
        assert any(r["action"] == "uptime.note" for r in audit["audit"])


async def test_maintenance_reads_as_maintenance(tmp_path):
    async with run_agent(_config(tmp_path), {"svc": Service()}) as a:
        a.agent.health.in_maintenance = lambda cs: True
        await a.run_check("svc.http")
        data = json.loads((await _anonymous(a, "/status/home.json"))[1])
        assert data["overall"] == "maintenance"
        assert data["groups"][0]["checks"][0]["state"] == "maintenance"


async def test_uptime_api_answers_per_window_and_refuses_a_bad_one(tmp_path):
    async with run_agent(_config(tmp_path), {"svc": Service()}) as a:
        await a.run_check("svc.http")
        status, body = await a.get("/api/v1/uptime?window=24h")
        assert status == 200 and list(body["checks"][0]["uptime"]) == ["24h"]
        assert body["checks"][0]["uptime"]["24h"]["uptime"] == 1.0
        status, body = await a.get("/api/v1/uptime/checks/svc.http")
        assert status == 200 and set(body["uptime"]) == {"24h", "7d", "30d", "90d"}
        assert (await a.get("/api/v1/uptime?window=1y"))[0] == 422
        assert (await a.get("/api/v1/uptime/checks/nosuch.check"))[0] == 404


def test_two_pages_at_one_address_are_refused_with_the_key(tmp_path):
    path = write_config(tmp_path / "nebula.toml")
    doc = tomlkit.parse(path.read_text())
    page = {"slug": "home", "title": "x", "groups": [{"name": "g", "checks": [
        {"check": "svc.http"}]}]}
    doc["status_page"] = [page, page]
    path.write_text(tomlkit.dumps(doc))
    _, problems = read(path)
    assert [p.path for p in problems] == ["status_page.1.slug"]


@pytest.mark.e2e
async def test_nebula_uptime_json_through_the_entry_point(tmp_path):
    config = _config(tmp_path)
    async with run_agent(config, {"svc": Service()}) as a:
        await a.run_check("svc.http")
        env = {**isolated_env(tmp_path), "NEBULA_URL": a.url, "NEBULA_TOKEN": a.token}
        # The agent answers on this test's loop: the command runs beside it, not blocking it.
        done = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "nebula", "--config", str(config.path), "uptime",
            "svc.http", "--window", "24h", "--json", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(done.communicate(), 60)
        assert done.returncode == 0, err.decode()
        assert json.loads(out)["uptime"]["24h"]["uptime"] == 1.0
