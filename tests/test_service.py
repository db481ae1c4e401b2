"""`nebula service install|uninstall` and the agent's systemd notifications (docs/service.md).

The unit is checked by systemd's own `systemd-analyze verify` (which needs no running
systemd: it loads the file as the manager would and reports every setting it would
ignore); the notifications are read from a real unix datagram socket that a real `nebula
run` is pointed at with NOTIFY_SOCKET, as systemd does."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nebula.sdnotify import watchdog_interval
from nebula.testing import write_config
from tests.agent_process import NEBULA, free_port, isolated_env, nebula

pytestmark = pytest.mark.e2e

UNIT = Path("etc/systemd/system/nebula.service")
CONFIG = Path("etc/nebula/nebula.toml")


def staging_root(tmp_path: Path) -> Path:
    """A root with its own user database, so install's `useradd --root` adds the service
    user there and never to this machine."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    for name, line, mode in (("passwd", "root:x:0:0:root:/root:/bin/sh", 0o644),
                             ("group", "root:x:0:", 0o644),
                             ("shadow", "root:*:19000:0:99999:7:::", 0o600),
                             ("gshadow", "root:*::", 0o600)):
        (root / "etc" / name).write_text(line + "\n")
        (root / "etc" / name).chmod(mode)
    return root


def install(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return nebula("service", "install", "--root", str(root), *args,
                  env=isolated_env(root.parent))


def passwd_entry(root: Path, user: str) -> list[str] | None:
    for line in (root / "etc/passwd").read_text().splitlines():
        if line.split(":")[0] == user:
            return line.split(":")
    return None


def test_install_into_a_root_writes_the_unit_and_a_private_config_of_a_new_system_user(
        tmp_path):
    root = staging_root(tmp_path)
    host_users = Path("/etc/passwd").read_text()

    result = install(root)

    assert result.returncode == 0, result.stderr
    entry = passwd_entry(root, "nebula")
    assert entry is not None and entry[4] == "Nebula Command agent"
    assert entry[5] == "/var/lib/nebula" and entry[6] == "/usr/sbin/nologin"
    assert int(entry[2]) < 1000  # --system
    assert Path("/etc/passwd").read_text() == host_users
    unit, config = (root / UNIT).stat(), (root / CONFIG).stat()
    assert stat.S_IMODE(unit.st_mode) == 0o644 and unit.st_uid == 0
    assert stat.S_IMODE(config.st_mode) == 0o600
    assert (config.st_uid, config.st_gid) == (int(entry[2]), int(entry[3]))
    folder = (root / CONFIG).parent.stat()
    assert stat.S_IMODE(folder.st_mode) == 0o700
    assert (folder.st_uid, folder.st_gid) == (config.st_uid, config.st_gid)
    assert 'data_dir = "/var/lib/nebula"' in (root / CONFIG).read_text()
    assert "User=nebula" in (root / UNIT).read_text()
    # No systemd as PID 1 here (nor in CI): the files are written and the next step said.
    assert "systemctl daemon-reload && systemctl enable --now nebula" in result.stdout
    check = nebula("--config", str(root / CONFIG), "config", "validate",
                   env=isolated_env(tmp_path))
    assert check.returncode == 0, check.stdout + check.stderr

    # A reinstall keeps the operator's config (and makes it the user's, 0600 again).
    (root / CONFIG).write_text('[agent]\nport = 9999\ndata_dir = "/var/lib/nebula"\n')
    (root / CONFIG).chmod(0o644)
    assert install(root).returncode == 0
    assert (root / CONFIG).read_text().startswith("[agent]\nport = 9999")
    assert stat.S_IMODE((root / CONFIG).stat().st_mode) == 0o600

    removed = nebula("service", "uninstall", "--root", str(root), env=isolated_env(tmp_path))
    assert removed.returncode == 0, removed.stderr
    assert not (root / UNIT).exists()
    assert (root / CONFIG).exists() and passwd_entry(root, "nebula") is not None

    purged = nebula("service", "uninstall", "--root", str(root), "--purge",
                    env=isolated_env(tmp_path))
    assert purged.returncode == 0, purged.stderr
    assert not (root / "etc/nebula").exists()
    assert passwd_entry(root, "nebula") is None


def test_purge_never_deletes_a_user_install_did_not_create(tmp_path):
    root = staging_root(tmp_path)
    with (root / "etc/passwd").open("a") as users:
        users.write("daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
    (root / "etc/group").write_text("root:x:0:\ndaemon:x:1:\n")
    assert install(root, "--user", "daemon").returncode == 0
    assert (root / CONFIG).stat().st_uid == 1

    purged = nebula("service", "uninstall", "--root", str(root), "--purge",
                    env=isolated_env(tmp_path))

    assert purged.returncode == 0, purged.stderr
    assert passwd_entry(root, "daemon") is not None
    assert "keep the user daemon" in purged.stdout


def test_print_changes_nothing_and_shows_the_unit_and_the_steps(tmp_path):
    root = staging_root(tmp_path)

    result = install(root, "--print")

    assert result.returncode == 0, result.stderr
    assert "[Service]\nType=notify" in result.stdout
    assert "create the system user nebula: useradd" in result.stdout
    assert not (root / "etc/nebula").exists() and not (root / UNIT).exists()
    assert passwd_entry(root, "nebula") is None


@pytest.mark.parametrize(("docker", "grouped"), [
    (None, False), ({}, True), ({"enabled": True}, True), ({"enabled": False}, False)])
def test_print_names_the_docker_group_only_when_the_docker_plugin_is_enabled(
        tmp_path, docker, grouped):
    root = staging_root(tmp_path)
    (root / "etc/nebula").mkdir()
    write_config(root / CONFIG, {}, None if docker is None else {"docker": docker})

    result = install(root, "--print")

    assert result.returncode == 0, result.stderr
    assert ("SupplementaryGroups=docker" in result.stdout) is grouped
    # No docker group in this root: systemd would refuse to start the unit; say so.
    assert ("no docker group" in result.stderr) is grouped


def test_a_secret_file_under_the_credentials_directory_is_loaded_as_a_credential(tmp_path):
    root = staging_root(tmp_path)
    (root / "etc/nebula").mkdir()
    (root / CONFIG).write_text(
        '[plugins.postgres]\n'
        'password_file = "${CREDENTIALS_DIRECTORY:-/etc/nebula/credentials}/pg_password"\n')

    result = install(root, "--print", "--credential", "token=/etc/keys/token")

    assert result.returncode == 0, result.stderr
    assert "LoadCredential=pg_password:/etc/nebula/credentials/pg_password" in result.stdout
    assert "LoadCredential=token:/etc/keys/token" in result.stdout


def test_the_unit_passes_systemd_analyze_verify_and_scores_well_on_security(tmp_path):
    """verify exits 0 even for settings it ignores (a typo, a bad value), printing them:
    so nothing printed is the pass. ExecStart names this venv's real `nebula`."""
    root = staging_root(tmp_path)
    (root / "etc/nebula").mkdir()
    write_config(root / CONFIG, {}, {"docker": {}, "postgres": {
        "password_file": "${CREDENTIALS_DIRECTORY}/pg_password"}})
    assert install(root).returncode == 0
    unit = root / UNIT
    assert "SupplementaryGroups=docker" in unit.read_text()
    assert "LoadCredential=pg_password:" in unit.read_text()

    verify = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                            text=True, timeout=60, check=False)

    assert verify.returncode == 0 and not (verify.stdout + verify.stderr).strip(), \
        verify.stdout + verify.stderr
    security = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(unit)],
                              capture_output=True, text=True, timeout=60, check=False)
    score = re.search(r"exposure level for nebula\.service: ([\d.]+)", security.stdout)
    assert score is not None, security.stdout + security.stderr
    assert float(score.group(1)) <= 2.5, security.stdout


@pytest.fixture
def notify_socket() -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket bound where systemd's would be (a short path: sun_path is 108
    bytes, and pytest's tmp paths can be longer)."""
    folder = tempfile.mkdtemp(prefix="nb-notify-")
    path = os.path.join(folder, "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.settimeout(20)
        yield sock, path
    os.unlink(path)
    os.rmdir(folder)


def messages_until(sock: socket.socket, wanted: str) -> list[dict[str, str]]:
    """Every notification up to and including the first that has `wanted` (KEY=value)."""
    key, value = wanted.split("=", 1)
    seen = []
    while True:
        fields = dict(line.split("=", 1) for line in sock.recv(4096).decode().splitlines())
        seen.append(fields)
        if fields.get(key) == value:
            return seen


@pytest.fixture
def run_agent(tmp_path) -> Iterator[Callable[..., tuple[subprocess.Popen[str], Path]]]:
    """`nebula run` in a subprocess with extra environment; returns it at once (not when
    /healthz answers: that is what the notification must tell) and its data dir."""
    started: list[subprocess.Popen[str]] = []

    def start(**env: str) -> tuple[subprocess.Popen[str], Path]:
        config = write_config(tmp_path / "nebula.toml", {
            "bind": "127.0.0.1", "port": free_port(), "log_format": "json"})
        log = (tmp_path / "agent.log").open("a")
        started.append(subprocess.Popen(
            [*NEBULA, "--config", str(config), "run"], env=isolated_env(tmp_path, **env),
            stdout=log, stderr=subprocess.STDOUT, text=True))
        return started[-1], tmp_path / "data"

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(15)


def test_ready_is_sent_once_healthz_answers_then_reload_and_stop_are_told(
        notify_socket, run_agent):
    sock, path = notify_socket
    proc, data_dir = run_agent(NOTIFY_SOCKET=path)

    ready = messages_until(sock, "READY=1")[-1]

    # At READY=1 the agent answers at once, on its first try.
    url = json.loads((data_dir / "agent.json").read_text())["url"]
    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as answer:
        assert answer.status == 200
    assert ready["STATUS"] == f"listening on {url}"

    proc.send_signal(signal.SIGHUP)  # what ExecReload sends
    assert messages_until(sock, "RELOADING=1")
    assert messages_until(sock, "READY=1")

    proc.send_signal(signal.SIGTERM)
    assert messages_until(sock, "STOPPING=1")
    assert proc.wait(15) == 0


def test_the_watchdog_is_fed_repeatedly_at_half_its_interval(notify_socket, run_agent):
    sock, path = notify_socket
    # 0.2 s: a keep-alive every 0.1 s.
    run_agent(NOTIFY_SOCKET=path, WATCHDOG_USEC="200000")
    messages_until(sock, "WATCHDOG=1")
    first = time.monotonic()
    for _ in range(4):
        messages_until(sock, "WATCHDOG=1")
    # Four intervals at least (a loaded machine only makes them later): fed, not flooded.
    assert time.monotonic() - first >= 0.35


@pytest.mark.parametrize(("env", "interval"), [
    ({}, None), ({"WATCHDOG_USEC": "200000"}, 0.1), ({"WATCHDOG_USEC": "0"}, None),
    ({"WATCHDOG_USEC": "200000", "WATCHDOG_PID": "self"}, 0.1),
    # A child that inherited the variables (a plugin's subprocess) must not keep a hung
    # agent alive: WATCHDOG_PID names the process the watchdog watches.
    ({"WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"}, None)])
def test_the_watchdog_interval_is_half_of_watchdog_usec_for_this_process_only(
        monkeypatch, env, interval):
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, str(os.getpid()) if value == "self" else value)

    assert watchdog_interval() == interval
