"""A plugin for the specialists' tests: one host's containers, database and disks as read-only
tools whose answers the test sets — a web container in a restart loop because its
database cannot write to a full disk — plus the actions a fix may use, and tools of other
domains that a focused model call should not carry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.api import Action, Check, CheckResult, Manifest, Status, Tool, hookimpl

LAB_SECRET = "lab-db-password-7781"
NAME = {"type": "object", "additionalProperties": False, "required": ["name"],
        "properties": {"name": {"type": "string", "description": "container name"}}}
EMPTY = {"type": "object", "additionalProperties": False, "properties": {}}


class Lab:
    manifest = Manifest(api_version="1.1", description="specialists test plugin")

    def __init__(self) -> None:
        self.containers = [{"name": "web", "state": "restarting", "restart_count": 14},
                           {"name": "db", "state": "running", "restart_count": 0}]
        self.logs = {"web": "FATAL: could not connect to db:5432: the database system is in "
                            f"recovery mode (password={LAB_SECRET})\nexit 1",
                     "db": ""}
        self.database_log = ('PANIC: could not write to file "pg_wal/xlogtemp.66": '
                             "No space left on device")
        self.disks = [{"mount": "/srv", "used_percent": 100.0, "free_bytes": 0,
                       "largest": {"images": 38_000_000_000, "postgres": 9_000_000_000}}]
        self.pruned = 0
        self.restarted: list[str] = []

    @hookimpl
    def nebula_config_schema(self) -> dict[str, Any]:
        return {"type": "object", "properties": {"db_password": {"type": "string"}}}

    async def _web(self) -> CheckResult:
        return CheckResult(Status.CRITICAL, "web restarting: 14 restarts in 10 minutes")

    @hookimpl
    def nebula_checks(self) -> list[Check]:
        return [Check("web", self._web, title="Web", interval=3600, timeout=2)]

    async def _list(self, _params: Mapping[str, Any]) -> Any:
        return self.containers

    async def _logs(self, params: Mapping[str, Any]) -> Any:
        return self.logs.get(params["name"], "no such container")

    async def _database_log(self, _params: Mapping[str, Any]) -> Any:
        return self.database_log

    async def _disks(self, _params: Mapping[str, Any]) -> Any:
        return self.disks

    async def _nothing(self, _params: Mapping[str, Any]) -> Any:
        return "nothing to see"

    async def _prune(self, _params: Mapping[str, Any]) -> Any:
        self.pruned += 1
        return "removed unused images: 38 GB freed"

    async def _restart(self, params: Mapping[str, Any]) -> Any:
        self.restarted.append(params["name"])
        return f"restarted {params['name']}"

    @hookimpl
    def nebula_actions(self) -> list[Action]:
        return [Action("prune_images", self._prune, params=EMPTY, destructive=True,
                       description="Remove unused container images"),
                Action("restart_container", self._restart, params=NAME, destructive=True)]

    @hookimpl
    def nebula_tools(self) -> list[Tool]:
        return [
            Tool("list_containers", "Every container: state and restart count.", EMPTY,
                 run=self._list),
            Tool("container_logs", "The last lines of a container's output.", NAME,
                 run=self._logs),
            Tool("database_log", "The database server's own log, newest lines.", EMPTY,
                 run=self._database_log),
            Tool("disk_usage", "Used percent and what fills each disk.", EMPTY,
                 run=self._disks),
            Tool("dns_lookup", "Resolve the host's public names.", EMPTY, run=self._nothing),
            Tool("unread_mail", "How many unread messages the inbox holds.", EMPTY,
                 run=self._nothing),
            Tool("prune_images", "Remove unused container images.", action="lab.prune_images"),
            Tool("restart_container", "Restart a container.", NAME,
                 action="lab.restart_container"),
        ]
