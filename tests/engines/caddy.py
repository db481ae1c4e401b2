"""A real Caddy (Debian `caddy` 2.6) for tests: its own HOME and XDG dirs under a temp
folder, the admin API on a loopback port, sites on loopback with its internal CA (no ACME,
no trust store changes), per /work/shared/RECIPES.md.

    with running(tmp, sites_block) as caddy:     # waits until the admin API has a config
        caddy.admin_url, caddy.https_port, caddy.root (the internal CA's root, once issued)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.agent_process import free_port
from tests.waiting import wait_for

CADDY = shutil.which("caddy") or "/usr/bin/caddy"


def global_options(admin_port: int) -> str:
    """What a test instance needs: its admin port, no redirect listeners on :80, no
    attempt to install its root into the system's trust store, loopback only."""
    return (f"{{\n\tadmin 127.0.0.1:{admin_port}\n\tauto_https disable_redirects\n"
            "\tskip_install_trust\n\tdefault_bind 127.0.0.1\n}\n")


def site(host: str, port: int | str, *upstreams: str, fail_duration: str = "") -> str:
    """A reverse-proxy site with a certificate from Caddy's internal CA; `fail_duration`
    turns on Caddy's passive health checks (it counts failed requests that long)."""
    options = f" {{\n\t\tfail_duration {fail_duration}\n\t}}" if fail_duration else ""
    return (f"https://{host}:{port} {{\n\ttls internal\n"
            f"\treverse_proxy {' '.join(upstreams)}{options}\n}}\n")


@dataclass
class Caddy:
    home: Path
    admin_port: int
    https_port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def caddyfile(self) -> Path:
        return self.home / "Caddyfile"

    @property
    def root(self) -> Path:
        """The internal CA's root certificate (written when Caddy first issues one)."""
        return self.home / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"

    def env(self) -> dict[str, str]:
        return {**os.environ, "HOME": str(self.home), "XDG_DATA_HOME": str(self.home / "data"),
                "XDG_CONFIG_HOME": str(self.home / "cfg")}

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def admin_answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.admin_url + "/config/", timeout=2) as resp:
                return resp.status == 200 and resp.read().strip() not in (b"", b"null")
        except OSError:
            return False

    def hosts(self) -> set[str]:
        """Every host name a route of the running config matches."""
        with urllib.request.urlopen(self.admin_url + "/config/", timeout=5) as resp:
            servers = json.loads(resp.read())["apps"]["http"]["servers"]
        return {h for s in servers.values() for r in s.get("routes", [])
                for m in r.get("match", []) for h in m.get("host", [])}

    def serves(self, host: str, port: int | None = None) -> bool:
        """A TLS handshake for `host` with a certificate from Caddy's internal CA
        completes (Caddy may still be signing it after it listens)."""
        if not self.root.exists():
            return False
        tls = ssl.create_default_context(cafile=str(self.root))
        try:
            with socket.create_connection(("127.0.0.1", port or self.https_port),
                                          timeout=2) as raw, \
                    tls.wrap_socket(raw, server_hostname=host):
                return True
        except OSError:
            return False

    def wait_serving(self, host: str, timeout: float = 30) -> None:
        wait_for(lambda: not self.alive() or self.serves(host), timeout=timeout)
        assert self.alive(), self.log.read_text()

    def adapt(self) -> str:
        """The running config as `caddy adapt` prints the Caddyfile (a sanity aid)."""
        return subprocess.run([CADDY, "adapt", "--config", str(self.caddyfile)],
                              capture_output=True, text=True, env=self.env(),
                              check=True).stdout


@contextlib.contextmanager
def running(home: Path, sites: str = "", *, admin_port: int | None = None,
            https_port: int | None = None) -> Iterator[Caddy]:
    """Caddy running `global_options + sites` (format `{port}` in `sites` is the HTTPS
    port) until the block ends; waits for the admin API to serve the config."""
    home.mkdir(parents=True, exist_ok=True)
    caddy = Caddy(home, admin_port or free_port(), https_port or free_port(),
                  home / "caddy.log")
    caddy.caddyfile.write_text(global_options(caddy.admin_port)
                               + sites.replace("{port}", str(caddy.https_port)))
    with caddy.log.open("w") as out:
        caddy.proc = subprocess.Popen(
            [CADDY, "run", "--config", str(caddy.caddyfile), "--adapter", "caddyfile"],
            env=caddy.env(), stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: not caddy.alive() or caddy.admin_answers(), timeout=30)
            assert caddy.alive(), caddy.log.read_text()
            yield caddy
        finally:
            caddy.proc.terminate()
            try:
                caddy.proc.wait(15)
            except subprocess.TimeoutExpired:
                caddy.proc.kill()
                caddy.proc.wait()
