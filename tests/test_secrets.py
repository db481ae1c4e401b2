"""Secrets from config never leave the agent: not in API answers, CLI output or logs.

The end-to-end test runs `nebula run` as a real process with a plugin (`Leaky`, below) that
tries every way a plugin can show its secrets, installed as an entry point the way a
third-party plugin would be.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiohttp import web

from nebula.api import (
    Action,
    Check,
    CheckResult,
    Job,
    Manifest,
    Panel,
    PluginContext,
    Status,
    hookimpl,
)
from nebula.config import masked, write_only_values
from nebula.logs import configure, get_logger
from nebula.secrets import MASK, SECRETS
from tests.agent_process import AgentProcess, free_port, isolated_env, nebula
from tests.sample_plugins import Switchable
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[1]

# --- a plugin that tries to leak ------------------------------------------------------------


class Leaky:
    """Puts its three secrets (`api_token`, `password`, and `seal`, which only its schema
    marks as secret) into everything it hands the core: logs (structlog and the standard
    `logging` module), an event, a check summary, panel data, action results and errors, a
    failing job and a failing route."""

    manifest = Manifest(api_version="1.0", description="tries to leak its secrets")

    def __init__(self) -> None:
        self.config: Mapping[str, Any] = {}

    def _secrets(self) -> list[str]:
        return [self.config["api_token"], self.config["password"], self.config["seal"]]

    @hookimpl
    def nebula_config_schema(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": False, "properties": {
            "api_token": {"type": "string"},
            "password": {"type": "string"},
            "seal": {"type": "string", "writeOnly": True},
            "label": {"type": "string"},
        }}

    @hookimpl
    async def nebula_startup(self, ctx: PluginContext) -> None:
        self.config = ctx.config
        ctx.log.info("leaky.configured", config=dict(ctx.config),
                     note="using " + " ".join(self._secrets()))
        logging.getLogger("leaky.sdk").warning("connecting with %s", self._secrets())
        await ctx.emit("connected", {"values": self._secrets(),
                                     "note": f"sealed with {self.config['seal']}"})

    async def _login(self) -> CheckResult:
        return CheckResult(Status.OK, f"authenticated as {self.config['api_token']}")

    @hookimpl
    def nebula_checks(self) -> list[Check]:
        return [Check("login", self._login, interval=60)]

    async def _vault(self) -> Any:
        return {"password": "x", "value": self.config["password"], "all": self._secrets()}

    @hookimpl
    def nebula_panels(self) -> list[Panel]:
        return [Panel("vault", "keyvalue", self._vault)]

    async def _echo(self, params: Mapping[str, Any]) -> Any:
        return {"echo": dict(params), "config": dict(self.config)}

    async def _fail(self, params: Mapping[str, Any]) -> Any:
        raise ValueError(f"rejected {params['word']} (expected {self.config['password']})")

    async def _wipe(self, params: Mapping[str, Any]) -> Any:
        return f"wiped {params['target']}"

    @hookimpl
    def nebula_actions(self) -> list[Action]:
        word = {"type": "object", "additionalProperties": False, "required": ["word"],
                "properties": {"word": {"type": "string"}, "times": {"type": "integer"}}}
        return [Action("echo", self._echo, params=word),
                Action("fail", self._fail, params=word),
                Action("wipe", self._wipe, destructive=True, params={
                    "type": "object", "properties": {"target": {"type": "string"}}})]

    async def _rotate(self) -> None:
        raise PermissionError(f"cannot rotate {self.config['api_token']}")

    @hookimpl
    def nebula_jobs(self) -> list[Job]:
        return [Job("rotate", self._rotate, interval=0.2)]

    @hookimpl
    def nebula_routes(self) -> web.RouteTableDef:
        routes = web.RouteTableDef()

        @routes.get("/boom")
        async def boom(_request: web.Request) -> web.Response:
            raise RuntimeError(f"lost the seal {self.config['seal']}")

        return routes


LEAKY = Leaky()


def plugin_site(root: Path, plugins: Mapping[str, str]) -> str:
    """A PYTHONPATH on which `plugins` ({name: "module:object"}) are installed entry points
    of a distribution, as `pip install` would leave them."""
    dist = root / "site" / "nebula_test_plugins-0.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: nebula-test-plugins\nVersion: 0.0\n")
    (dist / "entry_points.txt").write_text(
        "[nebula.plugins]\n" + "".join(f"{n} = {target}\n" for n, target in plugins.items()))
    return os.pathsep.join([str(root / "site"), str(REPO)])


@dataclass
class RecordingAgent(AgentProcess):
    """An agent process that keeps the raw text of every answer, to search for secrets."""

    seen: list[str] = field(default_factory=list)

    def request(self, method: str, path: str, body: Any = None,
                token: str | None = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token if token is None else token}",
            "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, text = resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode()
        self.seen.append(f"{method} {path} -> {status}: {text}")
        try:
            return status, json.loads(text)
        except ValueError:  # /metrics
            return status, text


def new_secret(kind: str) -> str:
    return f"{kind}-{secrets.token_hex(8)}"


# --- end to end ---------------------------------------------------------------------------


def test_secrets_never_leave_a_running_agent(tmp_path):
    token, password, seal = new_secret("tok"), new_secret("pw"), new_secret("seal")
    (tmp_path / "pw").write_text(password + "\n")
    data_dir = tmp_path / "data"
    config = tmp_path / "nebula.toml"
    config.write_text(f"""
[agent]
port = {free_port()}
data_dir = "{data_dir}"
log_format = "json"
log_level = "debug"

[plugins.leaky]
api_token = "${{NEBULA_TEST_LEAKY_TOKEN}}"
password_file = "{tmp_path / 'pw'}"
seal = "{seal}"
label = "plain"
""")
    env = isolated_env(tmp_path, NEBULA_TEST_LEAKY_TOKEN=token,
                       PYTHONPATH=plugin_site(tmp_path, {"leaky": "tests.test_secrets:LEAKY"}))
    outputs: list[str] = []

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        result = nebula("--config", str(config), *args, env=env)
        outputs.append(f"{result.stdout}\n{result.stderr}")  # not args: they hold secrets
        return result

    agent = RecordingAgent(config, data_dir, env)
    try:
        agent.start()
        exercise(agent, config, cli, token, password, seal)
    finally:
        agent.stop()
    logged = agent.log()
    for event in ("leaky.configured", "connecting with", "http.unhandled", "Traceback",
                  "job.failed", "agent.reload_refused", "agent.stopped"):
        assert event in logged, f"{event} was not logged: the test no longer covers it"
    assert MASK in logged
    everything = {"agent log": logged, "API answers": "\n".join(agent.seen),
                  "CLI output": "\n".join(outputs)}
    for where, text in everything.items():
        for secret in (token, password, seal):
            assert secret not in text, f"{secret} leaked into the {where}"


def exercise(agent, config, cli, token, password, seal):
    """Every API answer and CLI command the secrets could show up in, with a check that each
    did what it should (with the secrets masked)."""
    masked = {"api_token": MASK, "password": MASK, "seal": MASK, "label": "plain"}
    status, plugin = agent.get("/api/v1/plugins/leaky")
    assert (status, plugin["state"], plugin["config"]) == (200, "loaded", masked)
    _, shown = agent.get("/api/v1/config")
    assert shown["plugins"]["leaky"] == masked

    _, ran = agent.post("/api/v1/checks/run", {"names": ["leaky.login"]})
    assert ran["checks"][0]["summary"] == f"authenticated as {MASK}"
    agent.get("/api/v1/checks")
    agent.get("/api/v1/checks/leaky.login")
    agent.get("/api/v1/checks/leaky.login/history")

    status, echoed = agent.post("/api/v1/actions/leaky.echo/run",
                                {"params": {"word": token}})
    assert (status, echoed["result"]["echo"]) == (200, {"word": MASK})
    assert echoed["result"]["config"] == masked
    status, invalid = agent.post("/api/v1/actions/leaky.echo/run",
                                 {"params": {"word": password, "times": seal}})
    assert status == 422
    assert f"'{MASK}' is not of type 'integer'" in json.dumps(invalid)
    _, failed = agent.post("/api/v1/actions/leaky.fail/run", {"params": {"word": seal}})
    assert failed["error"] == f"ValueError: rejected {MASK} (expected {MASK})"
    status, pending = agent.post("/api/v1/actions/leaky.wipe/run",
                                 {"params": {"target": password}})
    assert (status, pending["approval"]["params"]) == (202, {"target": MASK})
    agent.get("/api/v1/approvals?status=pending")
    agent.get(f"/api/v1/approvals/{pending['approval']['id']}")
    _, approved = agent.post(f"/api/v1/approvals/{pending['approval']['id']}/approve")
    assert approved["result"] == f"wiped {MASK}"
    _, audit = agent.get("/api/v1/audit")
    assert {r["action"] for r in audit["audit"]} >= {"leaky.echo", "leaky.fail",
                                                     "leaky.wipe"}

    _, panel = agent.get("/api/v1/panels/leaky.vault")
    assert panel["data"] == {"password": MASK, "value": MASK, "all": [MASK] * 3}
    status, _ = agent.get("/plugins/leaky/boom")
    assert status == 500

    def rotate_failed() -> bool:
        jobs = agent.get("/api/v1/jobs")[1]["jobs"]
        return any(j["name"] == "job:leaky.rotate" and j["last_error"] for j in jobs)

    wait_for(rotate_failed)
    _, events = agent.get("/api/v1/events?limit=200")
    connected = next(e for e in events["events"] if e["topic"] == "leaky.connected")
    assert connected["data"] == {"values": [MASK] * 3, "note": f"sealed with {MASK}"}
    for path in ("/api/v1/status", "/api/v1/plugins", "/api/v1/actions", "/api/v1/panels",
                 "/api/v1/tools", "/metrics", "/api/v1/openapi.json"):
        assert agent.get(path)[0] == 200, path

    # The CLI talks to this agent (its runtime file is in the data dir).
    for args in (("config", "show"), ("config", "show", "--json"), ("config", "validate"),
                 ("plugin", "list"), ("plugin", "info", "leaky", "--json"),
                 ("status", "--json"), ("check", "--json"),
                 ("approvals", "list", "--status", "all", "--json")):
        cli(*args)
    result = cli("action", "run", "leaky.echo", "-p", f"word={token}", "--json")
    assert json.loads(result.stdout)["result"]["echo"] == {"word": MASK}
    assert json.loads(cli("config", "show", "--json").stdout)["plugins"]["leaky"] == masked

    # A config whose error message would quote the secret: refused on reload, on SIGHUP
    # and by `config validate`, each time without showing it.
    config.write_text(config.read_text().replace(
        'log_level = "debug"', 'log_level = "debug"\n'
                               'flap_threshold = "${NEBULA_TEST_LEAKY_TOKEN}"'))
    status, refused = agent.post("/api/v1/reload")
    assert status == 422 and "is not of type 'integer'" in json.dumps(refused)
    agent.signal(signal.SIGHUP)
    wait_for(lambda: "agent.reload_refused" in agent.log())
    assert cli("config", "validate").returncode == 2


# --- the parts, in-process --------------------------------------------------------------


def test_redact_masks_nested_values():
    secret, short = new_secret("nested"), "ab1"
    SECRETS.add(secret)
    SECRETS.add(short)  # too short to mask without masking everything
    error = ValueError(f"bad {secret}")
    value = {
        "plain": f"x{secret}y",
        "list": [secret, {"deeper": (secret, 1, None, True)}, short],
        "password": "whatever it is",
        "api_key": {"kept": "or not"},
        "token": None,
        secret: "a secret as a key",
        "error": error,
        "number": 1.5,
    }
    assert SECRETS.redact(value) == {
        "plain": "x***y",
        "list": ["***", {"deeper": ["***", 1, None, True]}, short],
        "password": "***",
        "api_key": "***",
        "token": None,
        "***": "a secret as a key",
        "error": "bad ***",
        "number": 1.5,
    }
    assert value["plain"] == f"x{secret}y", "redact returns a copy"
    harmless = ValueError("nothing to hide")
    assert SECRETS.redact(harmless) is harmless


@pytest.fixture
def json_logs():
    """JSON logs on for the test; the logging set-up as it was afterwards."""
    saved, root = structlog.get_config(), logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure("json", "debug")
    yield
    structlog.configure(**saved)
    root.handlers[:], root.level = handlers, level


def test_json_logs_redact_fields_and_tracebacks(json_logs, capsys):
    secret = new_secret("logged")
    SECRETS.add(secret)
    log = get_logger(component="test")
    log.info("login", detail=f"using {secret}", nested={"list": [secret]},
             error=ValueError(secret), password="any value")
    try:
        raise RuntimeError(f"lost {secret}")
    except RuntimeError:
        log.exception("failed")
        logging.getLogger("some.sdk").error("request with %s failed", secret, exc_info=True)
    err = capsys.readouterr().err
    assert secret not in err
    login, failed, sdk = (json.loads(line) for line in err.splitlines())
    assert (login["detail"], login["nested"], login["error"], login["password"]) == (
        "using ***", {"list": ["***"]}, "***", "***")
    assert failed["event"] == "failed"
    assert "Traceback" in failed["exception"]
    assert "RuntimeError: lost ***" in failed["exception"]
    assert (sdk["event"], sdk["logger"], sdk["level"]) == (
        "request with *** failed", "some.sdk", "error")
    assert "RuntimeError: lost ***" in sdk["exception"]


def test_env_interpolated_into_any_key_is_secret_when_the_variable_is(tmp_path, monkeypatch):
    from nebula.config import load, masked

    secret = new_secret("pgpass")
    monkeypatch.setenv("NEBULA_TEST_PG_PASSWORD", secret)
    path = tmp_path / "nebula.toml"
    path.write_text('[plugins.db]\nurl = "postgres://app:${NEBULA_TEST_PG_PASSWORD}@db/app"\n')
    config = load(path)
    assert config.plugins["db"]["url"] == f"postgres://app:{secret}@db/app"
    assert masked(config.plugins["db"]) == {"url": "postgres://app:***@db/app"}


async def test_problem_answers_do_not_quote_secrets(nebula_agent):
    secret = new_secret("asked")
    async with nebula_agent({"switchable": Switchable()},
                            config={"switchable": {"api_token": secret}}) as agent:
        answers = [
            await agent.post("/api/v1/actions/switchable.echo/run", {"params": secret}),
            await agent.post("/api/v1/checks/run", {"names": [secret]}),
            await agent.get(f"/api/v1/checks/{secret}"),
            await agent.post(f"/api/v1/actions/{secret}/run"),
        ]
    assert [status for status, _ in answers] == [422, 404, 404, 404]
    assert secret not in json.dumps(answers)


def test_write_only_values_inside_arrays_of_tables_are_masked_and_known():
    schema = {"type": "object", "properties": {"channels": {"type": "array", "items": {
        "type": "object", "properties": {"name": {"type": "string"},
                                         "url": {"type": "string", "writeOnly": True}}}}}}
    hook = new_secret("hook")
    section = {"channels": [{"name": "discord", "url": f"https://d.example/{hook}"},
                            {"name": "quiet"}]}
    assert masked(section, schema) == {"channels": [{"name": "discord", "url": MASK},
                                                    {"name": "quiet"}]}
    assert list(write_only_values(section, schema)) == [f"https://d.example/{hook}"]
