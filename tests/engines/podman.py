"""A throwaway Podman engine speaking the Docker API on a unix socket, kept out of /etc:
its own containers.conf, storage root and run root under one short temp dir, and a local
busybox image built without a registry. Used by the tests and by bench/docker_refresh.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import docker

IMAGE = "localhost/busybox:test"
BUSYBOX = Path("/bin/busybox")
APPLETS = ("sh", "sleep", "httpd", "echo", "cat", "ls", "true", "false", "seq", "mkdir",
           "touch", "wget", "date")
CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
# Without it, exit files, locks and the events log go to /run/libpod, shared with every
# other podman on the machine (whose events would then show up in ours).
tmp_dir = "{dir}/tmp"
"""


class Podman:
    def __init__(self, extra_conf: str = "") -> None:
        """`extra_conf`: more `[engine]` settings, for an engine set up unlike the
        session's (an events log that rotates often, a slow cleanup)."""
        missing = [tool for tool in ("podman", "runc") if shutil.which(tool) is None]
        if missing or not BUSYBOX.exists():
            raise RuntimeError(
                f"the docker plugin's tests need podman, runc and busybox-static "
                f"(missing: {', '.join(missing) or BUSYBOX}); run scripts/system-deps.sh")
        # unix socket paths are limited to 108 bytes: keep the directory short.
        self.dir = Path(tempfile.mkdtemp(prefix="nbp"))
        self.socket = self.dir / "podman.sock"
        self.base_url = f"unix://{self.socket}"
        self.env = {**os.environ, "CONTAINERS_CONF": str(self.dir / "containers.conf")}
        self.extra_conf = extra_conf
        self._services: list[subprocess.Popen[bytes]] = []

    def podman(self, *args: str, check: bool = True,
               timeout: float = 60) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["podman", "--root", str(self.dir / "root"), "--runroot",
             str(self.dir / "runroot"), *args],
            env=self.env, capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise RuntimeError(f"podman {' '.join(args)} failed: {result.stderr.strip()}")
        return result

    def start(self) -> Podman:
        (self.dir / "containers.conf").write_text(CONTAINERS_CONF.format(dir=self.dir)
                                                  + self.extra_conf)
        self._import_image()
        self.serve(self.socket)
        return self

    def _import_image(self) -> None:
        tree = self.dir / "image"
        (tree / "bin").mkdir(parents=True)
        shutil.copy2(BUSYBOX, tree / "bin" / "busybox")
        for applet in APPLETS:
            (tree / "bin" / applet).symlink_to("busybox")
        (tree / "tmp").mkdir()
        with tarfile.open(self.dir / "image.tar", "w") as tar:
            tar.add(tree, arcname=".")
        self.podman("import", str(self.dir / "image.tar"), IMAGE)

    def serve(self, socket: Path) -> subprocess.Popen[bytes]:
        """`podman system service` on `socket`, answering pings when this returns."""
        log = open(self.dir / f"{socket.stem}.log", "ab")  # noqa: SIM115 - the child's
        service = subprocess.Popen(
            ["podman", "--root", str(self.dir / "root"), "--runroot",
             str(self.dir / "runroot"), "system", "service", "--time=0", f"unix://{socket}"],
            env=self.env, stdout=log, stderr=log, start_new_session=True)
        log.close()
        self._services.append(service)
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(Exception):
                client = docker.DockerClient(base_url=f"unix://{socket}", timeout=5)
                client.ping()
                client.close()
                return service
            if service.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"podman system service on {socket} did not start: "
                                   f"{(self.dir / f'{socket.stem}.log').read_text()[-2000:]}")
            time.sleep(0.05)

    def stop_service(self, service: subprocess.Popen[bytes]) -> None:
        if service.poll() is None:
            service.terminate()
            try:
                service.wait(10)
            except subprocess.TimeoutExpired:
                service.kill()
                service.wait(5)

    def close(self) -> None:
        self.podman("rm", "--all", "--force", "--time", "0", check=False, timeout=120)
        for service in self._services:
            self.stop_service(service)
        # Unmounts and deletes the storage under our root (nothing outside it).
        self.podman("system", "reset", "--force", check=False, timeout=120)
        shutil.rmtree(self.dir, ignore_errors=True)
