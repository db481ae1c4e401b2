"""Listening sockets as rows, and whether each is an expected one.

A listener is expected when it is bound to loopback (nothing outside the host reaches it)
or when `expected_ports` lists its port and protocol (and, where the entry names one, the
process holding it). Everything else bound to a LAN address or to all addresses is an
exposure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any

from nebula_network.sockets import NO_OWNER, Listener, Owner, SocketTable, scope


def expected(listener: Listener, owner: Owner, where: str,
             rules: Iterable[Mapping[str, Any]]) -> bool:
    if where == "loopback":
        return True
    for rule in rules:
        if rule["port"] == listener.port and rule.get("proto", "tcp") == listener.proto:
            pattern = rule.get("process")
            if pattern is None or fnmatchcase(owner.process, pattern):
                return True
    return False


def pairs(table: SocketTable, rules: Iterable[Mapping[str, Any]]
          ) -> list[tuple[dict[str, Any], Listener]]:
    """Every listener's row with the socket it describes, sorted by port."""
    rules = list(rules)
    found = []
    for listener in table.listeners:
        owner = table.owners.get(listener.inode, NO_OWNER)
        where = scope(listener.address)
        found.append(({
            "proto": listener.proto, "address": listener.address, "port": listener.port,
            "scope": where, "pid": owner.pid, "process": owner.process,
            "cmdline": owner.cmdline, "container": owner.container,
            "expected": expected(listener, owner, where, rules)}, listener))
    found.sort(key=lambda pair: (pair[0]["port"], pair[0]["proto"], pair[0]["address"]))
    return found


def rows(table: SocketTable, rules: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Every listener as `{proto, address, port, scope, pid, process, cmdline, container,
    expected}` (the `network.listeners` answer, which the security plugin reads), sorted by
    port. A socket the kernel holds, or one of a process the agent may not read, has no
    pid and an empty process."""
    return [row for row, _ in pairs(table, rules)]


def select(found: list[dict[str, Any]], params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The rows the listeners query's params ask for."""
    if (where := params.get("scope")) is not None:
        found = [r for r in found if r["scope"] == where]
    if params.get("unexpected_only"):
        found = [r for r in found if not r["expected"]]
    return found


def describe(row: Mapping[str, Any]) -> str:
    """`tcp 0.0.0.0:5432 by postgres (pid 812: /usr/lib/postgresql/15/bin/postgres -D …)`"""
    who = row["process"] or "an unknown process"
    if row["pid"] is not None:
        who += f" (pid {row['pid']}: {row['cmdline'] or '?'})"
    if row["container"]:
        who += f" in container {row['container']}"
    address = f"[{row['address']}]" if ":" in row["address"] else row["address"]
    return f"{row['proto']} {address}:{row['port']} by {who}"
