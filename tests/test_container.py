"""The container image (Containerfile) and the compose example (compose.yaml), built and run
for real with Podman and podman-compose, from nothing to a signed-in panel.

No registry is reachable here, so the test makes the base itself: a Debian root filesystem
with python3 and its venv module, built by mmdebstrap from Debian packages and imported with
`podman import`; pip in the build installs from a wheel directory the test puts in the build
context (`PIP_OPTIONS`). Everything else is the Containerfile as a user builds it. The engine
keeps its storage, networks and temp files under one temp dir, out of /etc and /var."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.agent_process import free_port
from tests.engines.podman import CONTAINERS_CONF
from tests.waiting import wait_for
from tests.web.test_setup import post_setup

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent
IMAGE = "localhost/nebula-command:test"
BASE = "localhost/nebula-base:test"
# Debian 12's python3 is 3.11: the wheels the test puts in the context are built by the
# interpreter running the tests, so they must agree (compiled ones carry the version).
BASE_PYTHON = (3, 11)
# The engine settings the suite's Podman uses, with its networks kept under the temp dir too
# (podman-compose makes one per project).
ENGINE_CONF = CONTAINERS_CONF + '[network]\nnetwork_config_dir = "{dir}/networks"\n'
STORAGE_CONF = """\
[storage]
driver = "overlay"
graphroot = "{dir}/root"
runroot = "{dir}/runroot"
"""


class Engine:
    """`podman` (and podman-compose, which calls it) on storage of its own."""

    def __init__(self, root: Path) -> None:
        self.dir = root
        (root / "containers.conf").write_text(ENGINE_CONF.format(dir=root))
        (root / "storage.conf").write_text(STORAGE_CONF.format(dir=root))
        self.env = {**os.environ, "CONTAINERS_CONF": str(root / "containers.conf"),
                    "CONTAINERS_STORAGE_CONF": str(root / "storage.conf")}

    def run(self, *args: str, timeout: float = 300, env: dict[str, str] | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(args, env={**self.env, **(env or {})}, capture_output=True,
                                text=True, timeout=timeout, check=False, cwd=REPO)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def podman(self, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return self.run("podman", *args, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    missing = [tool for tool in ("podman", "podman-compose", "mmdebstrap")
               if shutil.which(tool) is None]
    assert not missing, f"run scripts/system-deps.sh (missing: {', '.join(missing)})"
    engine = Engine(tmp_path_factory.mktemp("engine"))
    yield engine
    engine.podman("rm", "--all", "--force", "--time", "0", check=False)
    engine.podman("system", "reset", "--force", check=False)


@pytest.fixture(scope="module")
def image(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> str:
    assert sys.version_info[:2] == BASE_PYTHON, (
        f"the test's wheels are built for Python {'.'.join(map(str, BASE_PYTHON))}, the "
        f"base image's; run it with that interpreter")
    work = tmp_path_factory.mktemp("image")
    base = work / "base.tar"
    engine.run("mmdebstrap", "--quiet", "--variant=apt", "--include=python3,python3-venv",
               "bookworm", str(base), timeout=600)
    engine.podman("import", str(base), BASE)
    # The build context: the files of the checkout (what .containerignore would leave),
    # plus the wheels of everything the default extras need, hatchling for the build.
    context = work / "context"
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                           cwd=REPO, capture_output=True, text=True, check=True).stdout
    for name in files.splitlines():
        source = REPO / name
        if source.is_file():
            (context / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, context / name)
    engine.run(sys.executable, "-m", "pip", "wheel", "--quiet", "-c", "constraints.txt",
               "-w", str(context / "wheels"), ".[docker,postgres,dns]", "hatchling")
    engine.podman("build", "--format", "docker", "-t", IMAGE, "--build-arg", f"BASE={BASE}",
                  "--build-arg", "PIP_OPTIONS=--no-index --find-links /src/wheels",
                  str(context), timeout=600)
    return IMAGE


def healthz(port: int) -> bool:
    try:
        result = subprocess.run(["curl", "-sf", f"http://127.0.0.1:{port}/healthz"],
                                capture_output=True, text=True, timeout=5, check=False)
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0 and json.loads(result.stdout) == {"status": "ok"}


def setup_codes(engine: Engine, container: str) -> list[dict[str, str]]:
    log = engine.podman("logs", container).stdout + engine.podman("logs", container).stderr
    return [json.loads(line) for line in log.splitlines() if '"auth.setup_code"' in line]


async def sign_up(url: str, code: str) -> None:
    """The first admin through /setup, then signed in on the panel."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        resp, page = await post_setup(s, url, code)
        assert (resp.status, resp.headers["Location"]) == (303, "/"), page
        async with s.get(url + "/", allow_redirects=False) as panel:
            assert panel.status == 200
    async with aiohttp.ClientSession() as s, s.get(url + "/api/v1/status") as resp:
        assert resp.status == 401  # everything but /healthz wants a sign-in


@pytest.mark.timeout(900)
def test_compose_runs_the_image_from_nothing_to_a_signed_in_panel(
        engine: Engine, image: str, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # The engine's socket stands in for Docker's: the compose file mounts it read-only.
    socket_file = tmp_path / "docker.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(socket_file))
    project = f"nebtest{port}"
    compose_env = {"NEBULA_IMAGE": image, "NEBULA_HOST_PORT": str(port),
                   "NEBULA_PUBLIC_URL": url, "DOCKER_SOCKET": str(socket_file)}
    container = f"{project}_nebula_1"

    def compose(*args: str) -> subprocess.CompletedProcess[str]:
        return engine.run("podman-compose", "-p", project, "-f", "compose.yaml", *args,
                          env=compose_env)

    compose("up", "-d")
    try:
        wait_for(lambda: healthz(port), timeout=120, interval=0.2)
        # First run: one setup line, naming the address the compose file says people open.
        [line] = wait_for(lambda: setup_codes(engine, container), timeout=30)
        assert line["url"] == f"{url}/setup"
        asyncio.run(sign_up(url, line["code"]))
        # Unprivileged, on a read-only root, its data 0700/0600 on the volume.
        assert engine.podman("exec", container, "id", "-u").stdout.strip() == "10001"
        touch = engine.podman("exec", container, "touch", "/opt/nebula/x", check=False)
        assert touch.returncode != 0 and "Read-only file system" in touch.stderr
        modes = engine.podman("exec", container, "stat", "-c", "%a %n", "/var/lib/nebula",
                              "/var/lib/nebula/nebula.db").stdout.split("\n")
        assert modes[:2] == ["700 /var/lib/nebula", "600 /var/lib/nebula/nebula.db"]
        # The Docker socket is there for the docker plugin, and read-only.
        mounts = json.loads(engine.podman("inspect", container).stdout)[0]["Mounts"]
        [sock] = [m for m in mounts if m["Destination"] == "/var/run/docker.sock"]
        assert sock["RW"] is False
        # The CLI in the container finds the agent it runs.
        status = engine.podman("exec", container, "nebula", "status", "--json")
        assert json.loads(status.stdout)["panel_url"] == url
        # SIGTERM stops it cleanly and promptly; on the same volume it comes back with the
        # admin it had: no second setup code.
        started = time.monotonic()
        engine.podman("stop", "--time", "30", container)
        stopped_in = time.monotonic() - started
        state = json.loads(engine.podman("inspect", container).stdout)[0]["State"]
        assert (state["ExitCode"], stopped_in < 15) == (0, True), (state, stopped_in)
        engine.podman("start", container)
        wait_for(lambda: healthz(port), timeout=120, interval=0.2)
        assert len(setup_codes(engine, container)) == 1
    finally:
        compose("down", "--volumes")
