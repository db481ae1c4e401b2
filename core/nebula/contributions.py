"""What plugins contribute: small frozen dataclasses the core runs, lists and serves.

A plugin names each contribution with a short `name`; the core addresses it as
`<plugin>.<name>` everywhere (API paths, CLI arguments, audit rows, metric labels).
The callables inside are `async def` and are run by the core under a timeout.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nebula.errors import NebulaError
from nebula.units import Unit as Unit  # defined below the contract; part of it

if TYPE_CHECKING:
    from aiohttp import web

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class Status(str, enum.Enum):
    """A check's verdict. The order of severity is ok < warning < critical; unknown stands apart."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    UNKNOWN = "unknown"

    @property
    def exit_code(self) -> int:
        """Nagios-style exit code: 0 ok, 1 warning, 2 critical, 3 unknown."""
        return _EXIT_CODES[self]

    @property
    def severity(self) -> int:
        """Rank for "worst of": unknown sits between warning and critical."""
        return _SEVERITY[self]


_EXIT_CODES = {Status.OK: 0, Status.WARNING: 1, Status.CRITICAL: 2, Status.UNKNOWN: 3}
_SEVERITY = {Status.OK: 0, Status.WARNING: 1, Status.UNKNOWN: 2, Status.CRITICAL: 3}


@dataclass(frozen=True)
class CheckResult:
    """One run of a check: a status, a one-line summary and numeric metrics."""

    status: Status
    summary: str
    metrics: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Sample:
    """One point of a metric's history: over the bucket starting at `ts` (one raw result,
    5 minutes or an hour) the lowest, mean and highest value."""

    ts: float
    min: float
    avg: float
    max: float


@dataclass(frozen=True)
class Span:
    """A continuous period of one check in one status; `end` is None while it lasts.
    `maintenance` marks results taken during a maintenance window."""

    start: float
    end: float | None
    status: Status
    summary: str
    maintenance: bool = False


@dataclass(frozen=True)
class Check:
    """A health check. `run` returns a CheckResult; raising or hanging past `timeout`
    gives an `unknown` result carrying the error, never a crash."""

    name: str
    run: Callable[[], Awaitable[CheckResult]]
    title: str = ""
    description: str = ""
    interval: float = 30.0
    timeout: float = 10.0
    # Consecutive results needed before the reported state changes; None takes [agent].
    flap_threshold: int | None = None
    # The unit of each metric the check reports ({"used_pct": Unit.PERCENT}): charts label
    # their axes with it and text shows the numbers with `nebula.units.human`.
    units: Mapping[str, Unit] = field(default_factory=dict, hash=False)  # a Check stays hashable


class ParamError(NebulaError, ValueError):
    """Raised by an action's `prepare` (or `run`) when a request cannot be taken as asked:
    the target does not exist, or the call belongs to another action. The caller gets a 422
    naming `path` (a param, or "(params)") and the message; nothing is filed or run."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path or "(params)"
        self.message = message
        super().__init__(f"{self.path}: {message}")


@dataclass(frozen=True)
class Action:
    """Something a user, Jarvis or a policy can ask the agent to do.

    `params` is a JSON Schema (an object schema) that requests are validated against; a
    property marked `"writeOnly": true` (a PIN, a password) is masked wherever the request
    is shown and kept encrypted at rest while it waits for an approval.

    A destructive action never runs on request alone: it waits for an admin's approval.

    `prepare`, when given, resolves a request into exactly what will run before anything is
    filed: container names become ids, a prune becomes its list of items with sizes. It
    raises `ParamError` for a target that does not exist (a 422 at request time). Its answer
    (JSON-able) is what the approver sees and what `run` later receives instead of the raw
    params, so an approval covers that and nothing else; `run` must act only on it (remove
    only listed items still unused, refuse when an id is gone)."""

    name: str
    run: Callable[[Mapping[str, Any]], Awaitable[Any]]
    title: str = ""
    description: str = ""
    params: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    destructive: bool = False
    timeout: float = 60.0
    prepare: Callable[[Mapping[str, Any]], Awaitable[Mapping[str, Any]]] | None = None
    # Only reads (a lookup another plugin asks for every minute): calls from plugins are
    # counted in /metrics but write no audit row. People's and Jarvis's calls are audited.
    read_only: bool = False

    def __post_init__(self) -> None:
        if self.read_only and (self.destructive or self.prepare is not None):
            raise ValueError(f"action {self.name!r}: read_only cannot be destructive or "
                             "have a prepare step")


PANEL_KINDS = frozenset({"stat", "table", "timeseries", "list", "keyvalue"})


@dataclass(frozen=True)
class Field:
    """A panel field: a key in the panel's data rows, with a label, a unit and a meaning."""

    key: str
    label: str = ""
    # A `Unit`, or a free suffix ("°C", "h") for what no Unit names.
    unit: Unit | str = ""
    description: str = ""


@dataclass(frozen=True)
class Panel:
    """A declarative dashboard panel. `data` returns plain JSON-able data shaped for `kind`:
    stat → {"value": n}; keyvalue → {key: value}; table/list → [row, ...];
    timeseries → [{"t": epoch_seconds, field: value, ...}, ...]."""

    name: str
    kind: str
    data: Callable[[], Awaitable[Any]]
    title: str = ""
    description: str = ""
    fields: tuple[Field, ...] = ()


@dataclass(frozen=True)
class Tool:
    """A Jarvis tool: a read-only query, or an action exposed to the model.

    When `action` names an action (`<plugin>.<name>`), calling the tool runs that action
    through the action runner, so approvals apply; otherwise `run` answers directly and
    must not change anything."""

    name: str
    description: str
    params: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    run: Callable[[Mapping[str, Any]], Awaitable[Any]] | None = None
    action: str | None = None


@dataclass(frozen=True)
class Job:
    """A scheduled job: either every `interval` seconds or on a `cron` expression."""

    name: str
    run: Callable[[], Awaitable[None]]
    interval: float | None = None
    cron: str | None = None
    timeout: float = 300.0
    jitter: float = 0.0


@dataclass(frozen=True)
class Subscription:
    """Calls `handler(event)` for every event whose topic matches `topic` (fnmatch pattern)."""

    name: str
    topic: str
    handler: Callable[[Mapping[str, Any]], Awaitable[None]]


WEBHOOK_HEADER = "X-Webhook-Secret"
MIN_WEBHOOK_SECRET = 16


@dataclass(frozen=True)
class Webhook:
    """An HTTP endpoint another system (Home Assistant, n8n) calls without a session or
    token, at `/plugins/<plugin>/hooks/<name>`. The caller proves itself with the shared
    `secret` in the `X-Webhook-Secret` header (compared in constant time); `handler`
    receives the aiohttp request and returns a response."""

    name: str
    handler: Callable[[Any], Awaitable[Any]]
    secret: str
    methods: tuple[str, ...] = ("POST",)


@dataclass(frozen=True)
class Manifest:
    """Static facts about a plugin, read before any of its code runs.

    From plugin API 1.2 the `nebula.plugins` entry point names a light module holding
    `manifest` (`docker = "nebula_docker.plugin"`), or the object itself
    (`"nebula_docker.plugin:manifest"`); that module imports nothing heavy (`nebula.api`,
    its schema, plain data). The agent reads the name, API version, description and
    `config_schema` from it without importing the plugin's code; `hooks` names the module of
    `@hookimpl` functions, imported and registered when the plugin first starts.

    A plugin object carrying `manifest` and its hooks together (API 1.0/1.1, and plugins
    handed to the agent in tests) still loads."""

    api_version: str
    description: str = ""
    requires: tuple[str, ...] = ()
    # Bundled plugins that need no configuration (system) start without a config section.
    enabled_by_default: bool = False
    hooks: str | None = None
    config_schema: Mapping[str, Any] | None = None
    # The extra of the plugin's distribution that installs what its hooks import (a bundled
    # plugin's "docker"): an import of a missing package then fails it with
    # "install <distribution>[<extra>]".
    extra: str | None = None


ProgressReporter = Callable[[float | None, str], None]
# Set by the action runner inside each run; the run's own tasks inherit it.
PROGRESS: ContextVar[ProgressReporter | None] = ContextVar("nebula_progress", default=None)


def report_progress(fraction: float | None = None, message: str = "") -> None:
    """From inside an action's `run`: how far it got (0 to 1, or None when it cannot tell)
    and what it is doing now ("dumping app: 1.2 GB"). `nebula action run` and the panel
    show it while they wait; outside an action run it does nothing."""
    reporter = PROGRESS.get()
    if reporter is not None:
        reporter(None if fraction is None else min(1.0, max(0.0, float(fraction))), message)


@functools.cache
def reveal_key() -> web.ResponseKey[bool]:
    """The response key `reveal` sets. Made on first use: this module is imported by every
    plugin's manifest and by `nebula --help`, which need no aiohttp."""
    from aiohttp import web

    return web.ResponseKey("nebula.reveal", bool)


def reveal(response: Any) -> Any:
    """Mark a plugin route's answer as a deliberate, one-time reveal of a secret (a new
    database's connection string): the core then sends its body unredacted, and only to an
    admin (anyone else gets 403). Every other answer is redacted."""
    response[reveal_key()] = True
    return response


def qualify(plugin: str, name: str) -> str:
    """The address of a contribution: `<plugin>.<name>`; a name already qualified is kept."""
    short = name.removeprefix(f"{plugin}.")
    if not NAME_RE.match(short):
        raise ValueError(
            f"contribution name {name!r} must be lowercase letters, digits and underscores"
        )
    return f"{plugin}.{short}"
