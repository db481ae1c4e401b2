"""Finding, checking, starting and stopping plugins, one at a time.

Every plugin comes from an entry point in the `nebula.plugins` group (bundled ones too), is
built into the core (`nebula.manifests.BUILTIN_PLUGINS`: always registered, like
Datasette's default plugins) or, in tests, is handed in directly. Each step is wrapped so
that a plugin that fails to import, declares an incompatible API, has bad config, or raises
in a hook ends up `failed` with the reason while the others go on.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import re
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import pluggy

from nebula import __version__, hookspecs
from nebula.api import PLUGIN_API_VERSION
from nebula.config import (
    Config,
    ConfigProblem,
    masked,
    plugin_schema,
    validate_section,
    write_only_values,
)
from nebula.config import with_defaults as fill_defaults
from nebula.contributions import (
    MIN_WEBHOOK_SECRET,
    PANEL_KINDS,
    Action,
    Check,
    Job,
    Manifest,
    Panel,
    Subscription,
    Tool,
    Webhook,
    qualify,
)
from nebula.enums import StrEnum
from nebula.errors import NebulaError
from nebula.manifests import (
    BUILTIN_PLUGINS,
    BuiltinManifest,
    claimed_config,
    load_manifest,
    section_claims,
)
from nebula.roles import Role
from nebula.scheduler import ScheduledJob
from nebula.secrets import SECRETS
from nebula.surfaces import Authenticator, Endpoint, Slot, WebPage

if sys.version_info >= (3, 11):
    from importlib.metadata import entry_points
else:  # pragma: no cover
    from importlib_metadata import entry_points

ENTRY_POINT_GROUP = "nebula.plugins"
HOOK_NAMES = frozenset(n for n in vars(hookspecs) if n.startswith("nebula_"))



class PluginState(StrEnum):
    """Where a plugin stands (docs/plugins.md, "Plugin states")."""

    LOADED = "loaded"  # started; its contributions are live
    FAILED = "failed"  # `error` says why
    DISABLED = "disabled"  # switched off, stopped, or never started


LOADED, FAILED, DISABLED = PluginState.LOADED, PluginState.FAILED, PluginState.DISABLED

Contribution = Check | Action | Panel | Tool | Job | Subscription | Webhook
CONTRIBUTION_HOOKS: dict[str, type[Contribution]] = {
    "nebula_checks": Check,
    "nebula_actions": Action,
    "nebula_panels": Panel,
    "nebula_tools": Tool,
    "nebula_jobs": Job,
    "nebula_subscriptions": Subscription,
    "nebula_webhooks": Webhook,
}


HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
ASSET_TYPES = frozenset({".js", ".css"})
# `[plugins.<name>]` of a built-in that claims a section of its own takes only this.
SWITCH_SCHEMA: dict[str, Any] = {"type": "object", "additionalProperties": False,
                                 "properties": {"enabled": {"type": "boolean"}}}


class PluginError(NebulaError):
    """A plugin misbehaved; the message is what its `failed` state shows."""


@dataclass
class Contributions:
    checks: list[Check] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    panels: list[Panel] = field(default_factory=list)
    tools: list[Tool] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    webhooks: list[Webhook] = field(default_factory=list)
    routes: Any = None
    # What it adds to the interfaces: API endpoints, panel pages (and routes that make
    # their own answers: form posts), their assets, and a way to sign browsers in.
    endpoints: list[Endpoint] = field(default_factory=list)
    pages: list[WebPage] = field(default_factory=list)
    page_routes: list[Endpoint] = field(default_factory=list)
    assets: list[Path] = field(default_factory=list)
    authenticator: Authenticator | None = None


_FIELD_OF_HOOK = {
    "nebula_checks": "checks",
    "nebula_actions": "actions",
    "nebula_panels": "panels",
    "nebula_tools": "tools",
    "nebula_jobs": "jobs",
    "nebula_subscriptions": "subscriptions",
    "nebula_webhooks": "webhooks",
}


@dataclass
class PluginRecord:
    name: str
    state: PluginState = PluginState.DISABLED
    error: str | None = None
    obj: Any = None
    manifest: Manifest | None = None
    distribution: str | None = None
    version: str | None = None
    schema: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    contributions: Contributions = field(default_factory=Contributions)
    ctx: Any = None
    # Handed to the manager directly (tests, embedding) rather than found as an entry point.
    handed_in: bool = False
    # A 1.2 manifest was accepted; its hooks module is imported at the first start.
    deferred: bool = False
    # Shipped inside the core (nebula.builtins), registered whatever else is installed.
    builtin: bool = False

    def fail(self, reason: str) -> None:
        self.state, self.error = FAILED, reason

    @property
    def claim(self) -> BuiltinManifest | None:
        """The manifest of a built-in that keeps its config in a top-level section."""
        manifest = self.manifest
        if self.builtin and isinstance(manifest, BuiltinManifest) and manifest.config_section:
            return manifest
        return None

    @property
    def claimed_paths(self) -> tuple[str, ...]:
        """The top-level path names a built-in serves its endpoints and pages at."""
        manifest = self.manifest
        return manifest.claimed_paths if self.builtin and isinstance(
            manifest, BuiltinManifest) else ()

    @property
    def loadable(self) -> bool:
        """Its manifest was read and accepted: it can start (its hooks are registered, or
        named by the manifest and imported at the first start)."""
        return self.obj is not None or self.deferred

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "error": self.error,
            "distribution": self.distribution,
            "version": self.version,
            "api_version": self.manifest.api_version if self.manifest else None,
            "description": self.manifest.description if self.manifest else "",
            "builtin": self.builtin,
            "contributions": {
                kind: [c.name for c in getattr(self.contributions, kind)]
                for kind in _FIELD_OF_HOOK.values()
            },
        }


def api_compatible(declared: str, provided: str = PLUGIN_API_VERSION) -> bool:
    try:
        d_major, d_minor = (int(p) for p in f"{declared}.0".split(".")[:2])
        p_major, p_minor = (int(p) for p in provided.split(".")[:2])
    except ValueError:
        return False
    return d_major == p_major and d_minor <= p_minor


def _hook_problem(exc: BaseException) -> str:
    """pluggy's refusal, with the nearest real hook for a misspelt one."""
    import difflib

    text = _describe(exc)
    for unknown in re.findall(r"unknown hook '(\w+)'", str(exc)):
        near = difflib.get_close_matches(unknown, list(HOOK_NAMES), n=1)
        if near:
            text += f"; did you mean {near[0]!r}?"
    return text


def _missing_extra(record: PluginRecord, hooks: str, exc: BaseException) -> str | None:
    """What to install, when the hooks' import failed on a package the plugin's extra
    brings (not on a module of the plugin or the core, which no extra would fix)."""
    extra = record.manifest.extra if record.manifest else None
    missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
    if not extra or not missing or missing.partition(".")[0] in {
            hooks.partition(".")[0], "nebula"}:
        return None
    if record.distribution is None:  # handed in (tests, embedding): no name to give
        return f"needs the {missing} package, which is not installed: install its [{extra}] extra"
    target = f"{record.distribution}[{extra}]"
    return (f"needs the {missing} package, which is not installed: install {target} "
            f"(pip install '{target}')")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "timed out"
    return SECRETS.redact(f"{type(exc).__name__}: {exc}")


class PluginManager:
    def __init__(self, extra: Mapping[str, Any] | None = None, discover: bool = True) -> None:
        self.pm = pluggy.PluginManager("nebula")
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self.discovering = discover
        # Names whose API or page paths the core itself serves (set by the HTTP app): a
        # plugin of that name contributing endpoints or pages could not be reached.
        self.reserved: dict[str, frozenset[str]] = {"api": frozenset(), "pages": frozenset()}
        self._register_builtins()
        if discover:
            self._discover()
        for name, obj in (extra or {}).items():
            # A handed-in plugin of a built-in's name replaces it (tests, embedding).
            self.records.pop(name, None)
            self._register(PluginRecord(name, handed_in=True), partial(_same, obj))

    def _register_builtins(self) -> None:
        """Built-in plugins: found by name, not entry point, and otherwise read exactly as
        any 1.2 plugin, so one that cannot load fails alone, with its reason."""
        for name, module in BUILTIN_PLUGINS.items():
            record = PluginRecord(name, builtin=True, distribution="nebula-command",
                                  version=__version__)
            self._register(record, partial(load_manifest, module))
            if record.claim is not None and record.loadable:
                record.schema = _claimed_schema(record.claim)

    @property
    def ordered(self) -> list[PluginRecord]:
        """Start order: built-ins last, so they find every other plugin's contributions
        (remediation checks its policies against them, Jarvis resumes paused turns)."""
        return sorted(self.records.values(), key=lambda r: r.builtin)

    def runtime(self, name: str) -> Any:
        """A running plugin's runtime (what its startup returned), else None."""
        record = self.records.get(name)
        if record is None or record.state != LOADED or record.ctx is None:
            return None
        return record.ctx.runtime

    # --- discovery --------------------------------------------------------------------

    def _discover(self) -> None:
        self.load_entry_points(entry_points(group=ENTRY_POINT_GROUP))

    def discover_new(self) -> list[PluginRecord]:
        """Load plugins installed since the agent started (`nebula plugin install` then a
        reload); a discovering manager only, so tests that hand plugins in stay closed."""
        if not self.discovering:
            return []
        importlib.invalidate_caches()
        return self.load_entry_points(entry_points(group=ENTRY_POINT_GROUP))

    def load_entry_points(self, eps: Iterable[Any]) -> list[PluginRecord]:
        """Import and check these `nebula.plugins` entry points (names already known are
        skipped); returns their records. `nebula plugin install` checks a new distribution
        through this, so it refuses one for exactly the reasons the agent would fail it."""
        added = []
        # Name and version read once per distribution: each read parses its METADATA, and
        # one distribution (this project) holds all the bundled plugins.
        named: dict[Any, tuple[str, str]] = {}
        for ep in eps:
            if ep.name in self.records:
                continue
            record = PluginRecord(ep.name)
            if ep.dist is not None:
                if ep.dist not in named:
                    metadata = ep.dist.metadata
                    named[ep.dist] = (metadata["Name"], metadata["Version"])
                record.distribution, record.version = named[ep.dist]
            self._register(record, ep.load)
            added.append(record)
        return added

    def _register(self, record: PluginRecord, load: Callable[[], Any]) -> None:
        """Read a plugin's manifest. An entry point naming a `Manifest` (API 1.2) costs no
        import of the plugin's code; an object carrying `manifest` and its hooks (API 1.1,
        plugins handed in) is registered at once."""
        self.records[record.name] = record
        try:
            obj = load()
        except BaseException as exc:  # an import may raise anything, SystemExit included
            record.fail(f"import failed: {_describe(exc)}")
            return
        manifest = obj if isinstance(obj, Manifest) else getattr(obj, "manifest", None)
        if not isinstance(manifest, Manifest):
            record.fail("declares no `manifest = Manifest(api_version=...)`")
            return
        record.manifest = manifest
        if not api_compatible(manifest.api_version):
            record.fail(
                f"written for plugin API {manifest.api_version}; this agent provides "
                f"{PLUGIN_API_VERSION} (same major version and a minor no newer required)"
            )
            return
        if obj is manifest or manifest.hooks:
            # API 1.2: the entry point names the manifest, or a light module holding it.
            if not manifest.hooks:
                record.fail("its manifest names no `hooks` module (Manifest(hooks=...))")
                return
            record.deferred = self._read_schema(record, lambda: manifest.config_schema,
                                                "its manifest's config_schema is unusable:")
            return
        if self._adopt(record, obj):
            self._read_schema(record, lambda: manifest.config_schema or self.call(
                record, "nebula_config_schema"), "nebula_config_schema raised")

    def _adopt(self, record: PluginRecord, obj: Any) -> bool:
        """Register `obj`'s hooks with pluggy, which refuses an unknown hook name or
        argument; the plugin fails with the reason and a hint."""
        try:
            self.pm.register(obj, name=record.name)
            self.pm.check_pending()
        except Exception as exc:
            if self.pm.is_registered(obj):
                self.pm.unregister(obj)
            record.fail(f"invalid hooks: {_hook_problem(exc)}")
            return False
        record.obj = obj
        return True

    def _read_schema(self, record: PluginRecord, read: Callable[[], Any], failure: str,
                     ) -> bool:
        try:
            record.schema = plugin_schema(read())
            return True
        except Exception as exc:
            # Without its schema the plugin's config cannot be checked, so it must never
            # start; dropping the object keeps a reload from retrying it as if it could.
            if record.obj is not None:
                self.pm.unregister(record.obj)
                record.obj = None
            record.fail(f"{failure} {_describe(exc)}")
            return False

    def load_hooks(self, record: PluginRecord) -> bool:
        """Register a loadable plugin's hooks now (the CLI does, to find its commands)."""
        return record.loadable and self._import_hooks(record)

    def _import_hooks(self, record: PluginRecord) -> bool:
        """A 1.2 plugin's hooks, imported and registered at its first start: a module
        (`"pkg.hooks"`), or an object in one (`"pkg.hooks:hooks"`) whose methods are the
        hook implementations."""
        if record.obj is not None:
            return True
        assert record.manifest is not None and record.manifest.hooks
        path, _, attribute = record.manifest.hooks.partition(":")
        try:
            hooks = importlib.import_module(path)
            if attribute:
                hooks = getattr(hooks, attribute)
        except BaseException as exc:  # an import may raise anything, SystemExit included
            record.fail(_missing_extra(record, path, exc)
                        or f"import of {record.manifest.hooks} failed: {_describe(exc)}")
            return False
        return self._adopt(record, hooks)

    # --- calling one plugin's hook ------------------------------------------------------

    def call(self, record: PluginRecord, hook: str, **kwargs: Any) -> Any:
        """Call `hook` on this plugin alone, so a result or a raise is pinned on it. An
        implementation takes any subset of the hook's arguments; `runtime` is the
        context's."""
        if "ctx" in kwargs:
            kwargs.setdefault("runtime", kwargs["ctx"].runtime)
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            if impl.plugin is record.obj:
                return impl.function(*(kwargs[arg] for arg in impl.argnames))
        return None

    # --- configuration ----------------------------------------------------------------

    def configure(self, record: PluginRecord, config: Config) -> list[ConfigProblem]:
        """Validate the plugin's section; returns the problems (and fails the plugin)."""
        section = config.plugin_section(record.name)
        claim = record.claim
        schema = SWITCH_SCHEMA if claim else record.schema
        problems = validate_section(config, f"plugins.{record.name}", section, schema)
        for value in write_only_values(section, schema or {}):
            SECRETS.add(value)
        if not problems:
            problems = self.own_problems(record, config)
        if problems:
            record.fail("invalid config: " + "; ".join(map(str, problems)))
        else:
            record.config = self.section_of(record, config)
        return problems

    def own_problems(self, record: PluginRecord, config: Config) -> list[ConfigProblem]:
        """What the plugin's `nebula_validate_config` finds in its schema-valid section,
        each at its line: the one check both a start and `nebula config validate` run.
        Nothing when its hooks cannot be imported (the start fails on that itself)."""
        if not self.load_hooks(record):
            return []
        claim = record.claim
        if claim is None:
            prefix = f"plugins.{record.name}"
        else:  # a claimed array is handed over as {section: [...]}: paths start with it
            array = claim.config_schema and claim.config_schema.get("type") == "array"
            prefix = "" if array else str(claim.config_section)
        try:
            found = list(self.call(record, "nebula_validate_config",
                                   config=self.section_of(record, config)) or ())
        except Exception as exc:
            return [config.problem(prefix, f"nebula_validate_config raised {_describe(exc)}")]
        return [config.problem(".".join(p for p in (prefix, str(path)) if p),
                               SECRETS.redact(str(message))) for path, message in found]

    def section_of(self, record: PluginRecord, config: Config) -> dict[str, Any]:
        """The plugin's config as its context gets it: `[plugins.<name>]` with defaults,
        or the top-level section its built-in manifest claims (validated by the config)."""
        if (claim := record.claim) is not None:
            assert claim.config_section is not None
            return claimed_config(claim, config.sections.get(claim.config_section))
        return fill_defaults(config.plugin_section(record.name), record.schema)

    async def reconfigure(self, record: PluginRecord, config: Config, timeout: float) -> bool:
        """Hand a running plugin its changed config (`nebula_reconfigure`); whether it took
        it in place. False means: restart it."""
        ctx = record.ctx
        if ctx is None or self.configure(record, config):
            return False
        try:
            applied = await self._maybe_await(
                self.call(record, "nebula_reconfigure", ctx=ctx, config=record.config), timeout)
        except Exception as exc:
            ctx.log.warning("plugin.reconfigure_failed", error=_describe(exc))
            return False
        if applied is True:
            ctx.config = record.config
        return applied is True

    def wanted(self, record: PluginRecord, config: Config) -> bool:
        """Enabled when its section says so; a present section without `enabled` counts as
        yes; with no section, a handed-in plugin is on, and an installed one is on when its
        manifest says `enabled_by_default`."""
        if record.name in config.plugins:
            return bool(config.plugins[record.name].get("enabled", True))
        return record.handed_in or bool(record.manifest and record.manifest.enabled_by_default)

    def settle_unloadable(self, record: PluginRecord, config: Config) -> None:
        """A plugin that could not load is `failed` only while the config wants it; once
        disabled it reads `disabled` (the load error stays on record for `plugin info`)."""
        record.state = FAILED if self.wanted(record, config) else DISABLED

    def masked_config(self, record: PluginRecord) -> Any:
        return masked(record.config, record.schema)

    # --- start / stop -----------------------------------------------------------------

    async def start(self, record: PluginRecord, ctx: Any, timeout: float) -> bool:
        if not self._import_hooks(record):
            return False
        record.ctx = ctx
        record.contributions = Contributions()
        try:
            ctx.runtime = await self._maybe_await(
                self.call(record, "nebula_startup", ctx=ctx), timeout)
            record.contributions = self._collect(record, ctx)
        except Exception as exc:
            await self.stop(record, timeout)
            record.fail(f"startup failed: {_describe(exc)}")
            ctx.log.error("plugin.failed", error=record.error,
                          traceback=traceback.format_exc(limit=5))
            return False
        record.state, record.error = LOADED, None
        return True

    async def stop(self, record: PluginRecord, timeout: float) -> None:
        ctx = record.ctx
        if ctx is None:
            return
        try:
            await self._maybe_await(self.call(record, "nebula_shutdown", ctx=ctx), timeout)
        except Exception as exc:
            ctx.log.warning("plugin.shutdown_failed", error=_describe(exc))
        runtime, ctx.runtime = ctx.runtime, None
        close = getattr(runtime, "aclose", None) or getattr(runtime, "close", None)
        if callable(close):
            try:
                await self._maybe_await(close(), timeout)
            except Exception as exc:
                ctx.log.warning("plugin.close_failed", error=_describe(exc))
        record.contributions = Contributions()
        if record.state == LOADED:
            record.state = DISABLED

    @staticmethod
    async def _maybe_await(value: Any, timeout: float) -> Any:
        if inspect.isawaitable(value):
            return await asyncio.wait_for(value, timeout)
        return value

    def _collect(self, record: PluginRecord, ctx: Any) -> Contributions:
        found = Contributions()
        for hook, kind in CONTRIBUTION_HOOKS.items():
            items = self.call(record, hook, ctx=ctx) or []
            if not isinstance(items, Iterable):
                raise PluginError(f"{hook} returned {type(items).__name__}, not a list")
            qualified: list[Any] = []
            for item in items:
                if not isinstance(item, kind):
                    raise PluginError(f"{hook} returned a {type(item).__name__}, "
                                      f"not a {kind.__name__}")
                name = qualify(record.name, item.name)
                # Names are addresses: a second one would silently replace the first.
                if any(q.name == name for q in qualified):
                    raise PluginError(f"{hook} returned two contributions named "
                                      f"{item.name!r}")
                qualified.append(replace(item, name=name))
                _validate(qualified[-1])
            setattr(found, _FIELD_OF_HOOK[hook], qualified)
        found.routes = self.call(record, "nebula_routes", ctx=ctx)
        found.endpoints = self._surface(record, ctx, "nebula_api_endpoints", (Endpoint,),
                                        "api")
        pages = self._surface(record, ctx, "nebula_web_pages", (WebPage, Endpoint), "pages")
        found.pages = [p for p in pages if isinstance(p, WebPage)]
        found.page_routes = [p for p in pages if isinstance(p, Endpoint)]
        found.assets = self._assets(record, ctx)
        authenticator = self.call(record, "nebula_authenticator", ctx=ctx)
        if authenticator is not None and not isinstance(authenticator, Authenticator):
            raise PluginError(f"nebula_authenticator returned a "
                              f"{type(authenticator).__name__}, not an Authenticator")
        found.authenticator = authenticator
        return found

    def _surface(self, record: PluginRecord, ctx: Any, hook: str,
                 kinds: tuple[type[Endpoint] | type[WebPage], ...],
                 surface: str) -> list[Any]:
        """Endpoints or pages: well-formed, each path once, under a name the core (or a
        built-in's claim) leaves free (the HTTP layer mounts them under the plugin's
        name)."""
        items = list(self.call(record, hook, ctx=ctx) or [])
        if items and record.name in self.reserved[surface]:
            raise PluginError(f"{hook}: the core serves the paths under the name "
                              f"{record.name!r}; rename the plugin to add {surface}")
        if items and (owner := self.path_owner(record.name)) != record.name:
            raise PluginError(f"{hook}: the built-in plugin {owner} serves the paths under "
                              f"the name {record.name!r}; rename the plugin to add {surface}")
        seen = set()
        for item in items:
            if not isinstance(item, kinds):
                raise PluginError(f"{hook} returned a {type(item).__name__}, not a "
                                  f"{' or '.join(k.__name__ for k in kinds)}")
            key = _surface_key(hook, item)
            if key in seen:
                raise PluginError(f"{hook} returned {' '.join(key)!r} twice")
            seen.add(key)
        return items

    def path_owner(self, name: str) -> str:
        """The plugin serving the endpoints and pages under this first path segment: the
        built-in claiming it, else the plugin of that name."""
        for record in self.records.values():
            if name in record.claimed_paths:
                return record.name
        return name

    def authenticators(self) -> list[Authenticator]:
        """The running plugins' ways to sign browsers in, built-ins last."""
        return [r.contributions.authenticator for r in self.ordered
                if r.state == LOADED and r.contributions.authenticator is not None]

    def _assets(self, record: PluginRecord, ctx: Any) -> list[Path]:
        found: dict[str, Path] = {}
        for item in self.call(record, "nebula_web_assets", ctx=ctx) or []:
            path = Path(item)
            if path.suffix not in ASSET_TYPES or not path.is_file():
                raise PluginError(f"nebula_web_assets: {path} is not a .js or .css file")
            if path.name in found:
                raise PluginError(f"nebula_web_assets returned two files named {path.name}")
            found[path.name] = path
        return list(found.values())


def _same(obj: Any) -> Any:
    """What a plugin handed in as an object loads as: itself."""
    return obj


def _validate(item: Any) -> None:
    """Refuse here what the core would refuse later (the scheduler a bad schedule), so the
    fault is pinned on the plugin instead of stopping the agent."""
    if isinstance(item, Job):
        ScheduledJob(item.name, item.run, item.interval, item.cron, item.timeout, item.jitter)
    elif isinstance(item, Check):
        ScheduledJob(item.name, item.run, interval=item.interval, timeout=item.timeout)
    elif isinstance(item, Panel) and item.kind not in PANEL_KINDS:
        raise PluginError(f"panel {item.name!r} has kind {item.kind!r}, not one of "
                          f"{', '.join(sorted(PANEL_KINDS))}")
    elif isinstance(item, Webhook):
        if not isinstance(item.secret, str) or len(item.secret) < MIN_WEBHOOK_SECRET:
            raise PluginError(f"webhook {item.name!r} needs a secret of at least "
                              f"{MIN_WEBHOOK_SECRET} characters")
        SECRETS.add(item.secret)


def _surface_key(hook: str, item: Endpoint | WebPage) -> tuple[str, str]:
    """What may appear once among a plugin's endpoints (method, path) or pages (slot and
    path, or title for a section); raises PluginError for a malformed one."""
    if item.path and not item.path.startswith("/"):
        raise PluginError(f"{hook}: path {item.path!r} must start with /")
    if item.role not in tuple(Role):
        raise PluginError(f"{hook}: role {item.role!r} is not one of "
                          f"{', '.join(map(str, Role))}")
    if isinstance(item, Endpoint):
        if item.method not in HTTP_METHODS:
            raise PluginError(f"{hook}: method {item.method!r} is not one of "
                              f"{', '.join(sorted(HTTP_METHODS))}")
        if hook == "nebula_web_pages" and item.method == "GET":
            return Slot.PAGE, item.path  # the same address as a WebPage there
        return item.method, item.path
    if item.slot not in tuple(Slot):
        raise PluginError(f"{hook}: slot {item.slot!r} is not one of "
                          f"{', '.join(map(str, Slot))}")
    return item.slot, item.path if item.slot == Slot.PAGE else item.title


def _claimed_schema(claim: BuiltinManifest) -> dict[str, Any]:
    """The schema of a claiming built-in's config as its context gets it (claimed_config)."""
    schema = dict(claim.config_schema or {"type": "object"})
    if schema.get("type") == "array":
        assert claim.config_section is not None
        return {"type": "object", "properties": {claim.config_section: schema}}
    return schema


def masked_config(config: Config, manager: PluginManager) -> dict[str, Any]:
    """The config as `config show` and the API print it: every secret masked."""
    return {
        "path": str(config.path) if config.path else None,
        "agent": masked(config.agent),
        **{key: masked(config.sections.get(key), claim.config_schema)
           for key, claim in section_claims().items()},
        "plugins": {
            name: masked(section, manager.records[name].schema
                         if name in manager.records else None)
            for name, section in config.plugins.items()
        },
    }


def validate_plugins(
    config: Config, manager: PluginManager, *, unknown_plugins: bool = True
) -> list[ConfigProblem]:
    """Every problem in the `[plugins.*]` sections, checked against each plugin's schema,
    then by the plugin itself (`own_problems`, as before its start). With
    `unknown_plugins=False`, sections of plugins that are not installed or cannot load
    pass: a running agent keeps the section of a plugin uninstalled under it, and runs on
    without one that cannot load (refusing every reload for it would lock the config)."""
    import difflib

    problems = []
    for name, section in config.plugins.items():
        record = manager.records.get(name)
        if record is None:
            if not unknown_plugins:
                continue
            near = difflib.get_close_matches(name, list(manager.records), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            problems.append(config.problem(f"plugins.{name}", f"no plugin named {name!r} is "
                                           f"installed{hint}"))
        elif not record.loadable:
            # Switched off is how a user gets past a plugin that cannot load, so it must
            # not keep the config invalid (its schema is unknowable anyway).
            if unknown_plugins and section.get("enabled", True) is not False:
                problems.append(config.problem(f"plugins.{name}", f"plugin cannot load: "
                                               f"{record.error}"))
        elif (claim := record.claim) is not None:
            for problem in validate_section(config, f"plugins.{name}", section, SWITCH_SCHEMA):
                problems.append(replace(problem, message=(
                    f"{problem.message}; {name} is configured in its "
                    f"[{claim.config_section}] section, this one only switches it off")
                    if "unknown key" in problem.message else problem.message))
        else:
            found = validate_section(config, f"plugins.{name}", section, record.schema)
            if not found and section.get("enabled", True) is not False:
                if manager.load_hooks(record):
                    found = manager.own_problems(record, config)
                elif unknown_plugins:
                    found = [config.problem(f"plugins.{name}",
                                            f"plugin cannot load: {record.error}")]
            problems += found
    return problems
