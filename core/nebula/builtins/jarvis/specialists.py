"""Jarvis's specialists: one per domain of the host, each with its own system prompt and
only its own tools, so a model call carries the few schemas its question needs instead of
every plugin's.

A tool belongs to a domain when a word of its name (`<plugin>.<name>`, split on `.` and
`_`, plural or not) is one of the domain's words: `docker.docker_disk_usage` is both a
container and a storage tool, `postgres.sizes` both a database and a storage one. Tools no
domain claims (a home-automation plugin's, a third party's with unusual names) go to the
generalist, so every tool stays reachable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from nebula.contributions import Tool

WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Specialist:
    name: str
    focus: str  # one line: what the coordinator sends it
    words: frozenset[str]
    prompt: str  # its own part of the system prompt

    def claims(self, tool: Tool) -> bool:
        return bool(words_of(tool.name) & self.words)


def words_of(name: str) -> set[str]:
    found = set(WORD.findall(name.lower()))
    return found | {w[:-1] for w in found if w.endswith("s") and len(w) > 3}


SPECIALISTS: tuple[Specialist, ...] = (
    Specialist(
        "containers", "Containers: their state, restarts, health, logs, resource use.",
        frozenset({"docker", "podman", "container", "compose", "stack", "app", "image",
                   "restart", "logs"}),
        "You are the containers specialist: container state, restart counts, health, "
        "exit reasons and logs. Quote the log lines that explain a failure, and say which "
        "other part of the system (a database, a disk, the network) they point at."),
    Specialist(
        "databases", "Databases: sessions, locks, slow queries, sizes, database logs.",
        frozenset({"postgres", "postgresql", "mysql", "mariadb", "redis", "database", "sql",
                   "query", "activity"}),
        "You are the databases specialist: sessions, locks, slow queries, sizes and growth, "
        "and why a database refuses work. Say what the database itself reports, and which "
        "resource (disk, memory, connections) it is short of."),
    Specialist(
        "network", "Network and DNS: domains, records, public IP, HTTPS reachability.",
        frozenset({"dns", "ddns", "domain", "zoneedit", "record", "ip", "network", "http", "https",
                   "proxy", "caddy", "site", "upstream", "port", "ping"}),
        "You are the network and DNS specialist: name resolution, records, the public "
        "address, HTTPS reachability and latency."),
    Specialist(
        "storage", "Storage and backups: disks, volumes, what fills them, prunes, backups.",
        frozenset({"disk", "storage", "volume", "prune", "size", "backup", "snapshot",
                   "filesystem", "mount", "space"}),
        "You are the storage and backups specialist: which disk is full and what fills it "
        "(images, volumes, logs, databases), what can be freed safely, and backups."),
    Specialist(
        "security", "Security: sign-ins, tokens and credentials that need attention, bans.",
        frozenset({"security", "auth", "login", "reauth", "token", "credential", "ban",
                   "firewall", "certificate", "cert", "ssh", "secret", "fail2ban"}),
        "You are the security specialist: failed sign-ins, expired or revoked credentials, "
        "bans and exposed services."),
)
GENERAL = Specialist(
    "general", "Everything else: home automation, media, mail, notifications, host summary.",
    frozenset(),
    "You are the generalist: the tools no other specialist has.")


def roster(tools: Iterable[Tool]) -> dict[str, tuple[Specialist, list[Tool]]]:
    """Each specialist that has tools, with them; tools no domain claims go to `general`."""
    out: dict[str, tuple[Specialist, list[Tool]]] = {}
    for tool in tools:
        owners = [s for s in SPECIALISTS if s.claims(tool)] or [GENERAL]
        for owner in owners:
            out.setdefault(owner.name, (owner, []))[1].append(tool)
    order = [s.name for s in (*SPECIALISTS, GENERAL)]
    return {name: out[name] for name in order if name in out}
