"""Shared fixtures: plugin wheels built from tests/fixtures, venvs they are installed into,
and real `nebula run` agents in subprocesses (stopped with SIGTERM at teardown)."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from nebula.testing import write_config
from tests.agent_process import AgentProcess, free_port, isolated_env

FIXTURES = Path(__file__).parent / "fixtures"
# argon2id at the least cost: hashing and verifying take microseconds instead of the 0.1-0.3 s
# the production cost (64 MiB, 3 passes) takes here, hundreds of times in the auth tests.
# Same algorithm, same code paths; test_password_cost.py checks the production cost itself.
CHEAP_ARGON2 = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Passwords set in this process are hashed cheaply; `monkeypatch.undo()` in a test
    brings the production hasher back."""
    from argon2 import PasswordHasher

    from nebula.builtins.auth import users

    hasher = PasswordHasher(**CHEAP_ARGON2)
    monkeypatch.setattr(users, "_hasher", lambda: hasher)
# key: (source folder, wheel file name prefix)
WHEELS = {"hello": ("thirdparty_plugin", "nebula_hello"),
          "faulty": ("faulty_plugins", "nebula_faulty_plugins")}


def _run(*args: str | Path, env: Mapping[str, str] | None = None) -> str:
    result = subprocess.run([str(a) for a in args], env=env, text=True, capture_output=True,
                            timeout=120, check=False)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="session")
def plugin_wheels(tmp_path_factory) -> dict[str, Path]:
    """Wheels of the fixture plugin packages, built offline with the venv's hatchling."""
    out = tmp_path_factory.mktemp("wheels")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", out, *(FIXTURES / src for src, _ in WHEELS.values()))
    return {key: next(out.glob(f"{prefix}-*.whl")) for key, (_, prefix) in WHEELS.items()}


def make_venv(root: Path, *wheels: Path) -> str:
    """A fresh venv that sees the project's own site-packages and has `wheels` installed;
    returns its python.

    The project and its dependencies are made visible rather than reinstalled: a `.pth`
    line is only a path, so the project's editable-install `.pth` would not be processed;
    `site.addsitedir` processes it. pip comes from there too, which spares `ensurepip`."""
    _run(sys.executable, "-m", "venv", "--without-pip", root)
    python = root / "bin" / "python"
    purelib = Path(_run(python, "-c", "import sysconfig; "
                                      "print(sysconfig.get_paths()['purelib'])").strip())
    project = sysconfig.get_paths()["purelib"]
    (purelib / "_nebula_project.pth").write_text(f"import site; site.addsitedir({project!r})\n")
    env = isolated_env(root, PIP_DISABLE_PIP_VERSION_CHECK="1")
    _run(python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", *wheels, env=env)
    return str(python)


@pytest.fixture(scope="session")
def hello_python(plugin_wheels, tmp_path_factory) -> str:
    """The python of a venv with the third-party `nebula-hello` wheel installed."""
    return make_venv(tmp_path_factory.mktemp("venv-hello"), plugin_wheels["hello"])


@pytest.fixture(scope="session")
def faulty_python(plugin_wheels, tmp_path_factory) -> str:
    """The python of a venv with the misbehaving `nebula-faulty-plugins` wheel installed."""
    return make_venv(tmp_path_factory.mktemp("venv-faulty"), plugin_wheels["faulty"])


StartAgent = Callable[..., AgentProcess]


@pytest.fixture(scope="session")
def start_agent() -> Iterator[StartAgent]:
    """`start_agent(python, root, plugins={...}, agent={...})`: `nebula run` under `python`
    with a config written in `root`, ready when this returns. Callers may stop it early;
    whatever is still running at the end of the session gets SIGTERM."""
    started: list[AgentProcess] = []

    def start(python: str, root: Path, plugins: Mapping[str, Mapping[str, Any]] | None = None,
              agent: Mapping[str, Any] | None = None) -> AgentProcess:
        config = write_config(root / "nebula.toml", {
            "bind": "127.0.0.1", "port": free_port(), "log_format": "json", **(agent or {})},
            plugins)
        process = AgentProcess(config, root / "data", isolated_env(root), python=python)
        started.append(process)
        process.start()
        return process

    yield start
    for process in started:
        process.stop()
