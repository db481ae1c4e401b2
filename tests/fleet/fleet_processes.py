"""A hub and agents as real `nebula run` processes on loopback, enrolled through the real
CLI (`nebula fleet code` on the hub, `nebula fleet enroll` on each agent)."""

from __future__ import annotations

import contextlib
import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.agent_process import AgentProcess, free_port, isolated_env, nebula

PLUGIN_PATH = Path(__file__).parent / "plugin_path"


@dataclass
class Member:
    name: str
    proc: AgentProcess
    config: Path
    env: dict[str, str]
    tls_port: int = 0
    marks: Path | None = None

    def cli(self, *args: str) -> Any:
        done = nebula("--config", str(self.config), *args, env=self.env, timeout=90)
        return done


def make_member(root: Path, name: str, fleet: str = "") -> Member:
    home = root / name
    home.mkdir(parents=True)
    data = home / "data"
    config = home / "nebula.toml"
    config.write_text(f'[agent]\nport = {free_port()}\ndata_dir = "{data}"\n{fleet}')
    marks = home / "marks.txt"
    env = isolated_env(home, PYTHONPATH=str(PLUGIN_PATH), FLEET_TARGET_MARKS=str(marks))
    return Member(name, AgentProcess(config, data, env), config, env, marks=marks)


def enroll(hub: Member, member: Member) -> dict[str, Any]:
    done = hub.cli("fleet", "code", "--json")
    assert done.returncode == 0, done.stderr
    code = json.loads(done.stdout)["code"]
    member.tls_port = free_port()
    done = member.cli("fleet", "enroll", hub.proc.url, code, "--name", member.name,
                      "--address", "127.0.0.1", "--tls-port", str(member.tls_port), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@contextlib.contextmanager
def running(hub: Member, agents: list[Member]) -> Iterator[None]:
    """The hub, then each agent started, enrolled and restarted onto its TLS port; all
    stopped at the end."""
    hub.proc.start(timeout=60)
    try:
        for agent in agents:
            agent.proc.start(timeout=60)
            enroll(hub, agent)
            agent.proc.stop()         # TLS settings apply at the next start
            agent.proc.start(timeout=60)
        yield
    finally:
        for member in [hub, *agents]:
            member.proc.stop()


def tls_get(port: int, path: str, *, cert: tuple[Path, Path] | None, ca: Path,
            token: str = "") -> tuple[int, Any]:
    """A request to an agent's mutual-TLS port with the given client certificate (or none)."""
    context = ssl.create_default_context(cafile=str(ca))
    context.check_hostname = False
    if cert is not None:
        context.load_cert_chain(str(cert[0]), str(cert[1]))
    req = urllib.request.Request(f"https://127.0.0.1:{port}{path}",
                                 headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10, context=context) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")
