"""Pending updates from `apt-get -s upgrade` (a simulation: nothing is installed, no lock
is taken) and the reboot-required flag Debian and Ubuntu packages leave.

Each package to upgrade is an `Inst` line naming the release it comes from:

    Inst openssl [3.0.11-1~deb12u1] (3.0.13-1~deb12u1 Debian-Security:12/stable-security [amd64])
    Inst tzdata [2024a-0+deb12u1] (2025b-0+deb12u1 Debian:12.11/stable [all])
    Inst libssl3 [3.0.2-0ubuntu1.10] (3.0.2-0ubuntu1.12 Ubuntu:22.04/jammy-security [amd64])

An update is a security one when a release it comes from is a security pocket: Debian's
`Debian-Security` origin or any `*-security` suite (Ubuntu's `jammy-security`)."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nebula.api import Status
from nebula_security import commands
from nebula_security.findings import Assessment, Finding, assess, not_applicable, unknown

INST = re.compile(r"^Inst (?P<package>\S+)(?: \[(?P<old>[^\]]*)\])? \((?P<new>\S+) "
                  r"(?P<releases>.*?)(?: \[[^\]]*\])?\)")


@dataclass(frozen=True)
class Pending:
    package: str
    version: str
    security: bool


def parse(text: str) -> list[Pending]:
    pending = []
    for line in text.splitlines():
        match = INST.match(line)
        if not match:
            continue
        releases = match["releases"].split(", ")
        security = any(r.startswith("Debian-Security:") or
                       re.search(r"/[A-Za-z0-9.]+-security\b", r) for r in releases)
        pending.append(Pending(match["package"], match["new"], bool(security)))
    return pending


# apt-get -s upgrade costs seconds of CPU (3 s user here); its answer changes only when
# the package lists or the installed packages do, so it is kept until one of them moves.
STATE_FILES = ("/var/lib/dpkg/status", "/var/lib/apt/lists", "/var/cache/apt/pkgcache.bin")


def _state() -> tuple[float, ...]:
    stamps = []
    for name in STATE_FILES:
        try:
            stamps.append(os.stat(name).st_mtime)
        except OSError:
            stamps.append(0.0)
    return tuple(stamps)


def reboot_required(flag: Path) -> list[str] | None:
    """None without the flag, else the packages that asked for it (`<flag>.pkgs`)."""
    if not flag.exists():
        return None
    who = Path(f"{flag}.pkgs")
    return who.read_text().split() if who.exists() else []


class Simulation:
    """`apt-get -s upgrade`'s pending packages, run again only when apt's state moved."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self._last: tuple[tuple[float, ...], list[Pending]] | None = None
        self.runs = 0

    async def pending(self, apt: str) -> list[Pending] | str:
        """The pending packages, or why apt-get could not tell."""
        state = _state()
        if self._last is not None and self._last[0] == state:
            return self._last[1]
        out = await commands.run([apt, "-s", "-q", "-o", "Debug::NoLocking=true", "upgrade"],
                                 self.config["command_timeout"])
        self.runs += 1
        if out.code != 0:
            return (out.stderr.strip().splitlines() or ["no output"])[-1]
        found = parse(out.stdout)
        self._last = (state, found)
        return found


async def assess_updates(config: Mapping[str, Any], simulation: Simulation) -> Assessment:
    apt = commands.find(config["apt_get"])
    findings: list[Finding] = []
    packages = await asyncio.to_thread(reboot_required, Path(config["reboot_flag"]))
    if packages is not None:
        because = f" (for {', '.join(sorted(set(packages))[:5])})" if packages else ""
        findings.append(Finding(5, f"a reboot is required{because}: updated code is not "
                                   "running yet", "reboot the host (`systemctl reboot`) "
                                   "at a quiet time", Status.WARNING))
    if apt is None:
        if findings:
            return assess("updates", findings, "")
        return not_applicable("updates", "no apt here: pending updates are not judged")
    pending = await simulation.pending(apt)
    if isinstance(pending, str):
        return unknown("updates", f"apt-get -s upgrade failed: {pending}",
                       "run `apt-get update` and fix what it reports")
    security = [p for p in pending if p.security]
    others = len(pending) - len(security)
    if security:
        names = ", ".join(p.package for p in security[:5])
        more = f" and {len(security) - 5} more" if len(security) > 5 else ""
        findings.append(Finding(10, f"{len(security)} security updates pending ({names}"
                                    f"{more})", "`apt-get update && apt-get upgrade` (or "
                                    "install unattended-upgrades to apply them daily)",
                                Status.CRITICAL))
    if others:
        findings.append(Finding(2, f"{others} other updates pending",
                                "`apt-get update && apt-get upgrade`"))
    return assess("updates", findings, "no updates pending, no reboot required",
                  {"security_updates": float(len(security)), "updates": float(len(pending))})
