"""The plex plugin's hook bodies, imported when the plugin starts (see plugin.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from nebula.api import Action, Check, CheckResult, Panel, PluginContext, Tool
from nebula_plex import actions, rows
from nebula_plex.checks import CHECKS
from nebula_plex.client import PlexClient, tls_context
from nebula_plex.model import Snapshot
from nebula_plex.poller import Poller

# One Poller per start of the plugin, keyed by its context (which the entry keeps alive,
# so the id cannot be reused while the entry exists).
_pollers: dict[int, tuple[PluginContext, Poller]] = {}

EMPTY: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}
RECENT_PARAMS: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {"limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10,
                             "description": "How many of the newest items."}},
}


def _make(ctx: PluginContext) -> Poller:
    config = ctx.config
    client = PlexClient(lambda: ctx.http, config["url"], config["token"],
                        timeout=config["timeout"],
                        tls=tls_context(config["verify_tls"], config.get("ca_bundle")))
    return Poller(client, ctx.emit, max_age=config["interval"] / 2,
                  recent=config["recently_added"], history=config["history_size"],
                  log=ctx.log)


def _poller(ctx: PluginContext) -> Poller:
    entry = _pollers.get(id(ctx))
    if entry is None:
        entry = _pollers[id(ctx)] = (ctx, _make(ctx))
    return entry[1]


def _reading(poller: Poller, render: Callable[[Snapshot], Any], *,
             need_data: bool = True) -> Callable[[], Awaitable[Any]]:
    """Panel data from the shared snapshot. A failed poll raises, so the panel shows the
    reason rather than an empty table that would read as "nothing playing"."""
    async def data() -> Any:
        snap = await poller.snapshot()
        if need_data and snap.error:
            raise snap.error
        return render(snap)

    return data


def _query(poller: Poller, render: Callable[[Snapshot, Mapping[str, Any]], Any]
           ) -> Callable[[Mapping[str, Any]], Awaitable[Any]]:
    """A read-only Jarvis tool: the snapshot's data, or why there is none."""
    async def run(params: Mapping[str, Any]) -> Any:
        snap = await poller.snapshot()
        return rows.unavailable(snap) or render(snap, params)

    return run


# --- lifecycle -----------------------------------------------------------------------------


def nebula_startup(ctx: PluginContext) -> None:
    if (ca := ctx.config.get("ca_bundle")) and not ctx.config["verify_tls"]:
        raise ValueError(f"ca_bundle ({ca}) is set but verify_tls is false: keep one")
    try:
        _pollers[id(ctx)] = (ctx, _make(ctx))
    except OSError as exc:  # an unreadable ca_bundle
        raise ValueError(f"cannot load ca_bundle: {exc}") from None


def nebula_shutdown(ctx: PluginContext) -> None:
    _pollers.pop(id(ctx), None)


# --- contributions -------------------------------------------------------------------------


def nebula_checks(ctx: PluginContext) -> list[Check]:
    poller = _poller(ctx)

    def run(evaluate: Callable[..., CheckResult]) -> Callable[[], Awaitable[CheckResult]]:
        async def check() -> CheckResult:
            return evaluate(await poller.snapshot(), ctx.config)
        return check

    # A poll is a handful of requests, each bounded by `timeout`; some run in parallel.
    timeout = 4 * ctx.config["timeout"] + 5
    return [Check(name=spec.name, run=run(spec.evaluate), title=spec.title,
                  description=spec.description, interval=ctx.config["interval"],
                  timeout=timeout)
            for spec in CHECKS]


def nebula_panels(ctx: PluginContext) -> list[Panel]:
    poller = _poller(ctx)
    return [
        Panel(name="server", kind="keyvalue", title="Plex server",
              description="Identity, version, available update and the current load.",
              data=_reading(poller, rows.server, need_data=False), fields=rows.SERVER_FIELDS),
        Panel(name="sessions", kind="table", title="Now playing",
              description="Every stream, with direct play, direct stream or transcode.",
              data=_reading(poller, rows.sessions), fields=rows.SESSION_FIELDS),
        Panel(name="streams", kind="timeseries", title="Streams",
              description=f"Sessions, transcodes and bandwidth over the last "
                          f"{ctx.config['history_size']} polls.",
              data=_reading(poller, lambda _: rows.streams(poller.history), need_data=False),
              fields=rows.STREAM_FIELDS),
        Panel(name="libraries", kind="table", title="Libraries",
              description="Each library with its item counts and last scan.",
              data=_reading(poller, rows.libraries), fields=rows.LIBRARY_FIELDS),
        Panel(name="recently_added", kind="table", title="Recently added",
              description="The newest items across every library.",
              data=_reading(poller, rows.recent), fields=rows.RECENT_FIELDS),
    ]


def nebula_tools(ctx: PluginContext) -> list[Tool]:
    poller = _poller(ctx)
    return [
        Tool(name="now_playing", params=EMPTY,
             run=_query(poller, lambda snap, _: {
                 "sessions": rows.sessions(snap), "transcodes": len(snap.transcodes)}),
             description="What is playing on Plex now: user, title, player, state, direct "
                         "play / direct stream / transcode, bandwidth (kbps)."),
        Tool(name="library_stats", params=EMPTY,
             run=_query(poller, lambda snap, _: {"libraries": rows.libraries(snap)}),
             description="Every Plex library with its item counts (episodes, tracks) and "
                         "when it was last scanned (epoch seconds)."),
        Tool(name="recently_added", params=RECENT_PARAMS,
             run=_query(poller, lambda snap, p: {
                 "items": rows.recent(snap, int(p.get("limit", 10)))}),
             description="The newest items added to Plex, newest first."),
        Tool(name="scan_library", action="plex.scan_library", params=actions.SCAN_PARAMS,
             description="Scan a Plex library (or all) for new files, e.g. after a download "
                         "landed on the NAS."),
    ]


def nebula_actions(ctx: PluginContext) -> list[Action]:
    poller = _poller(ctx)
    timeout = 3 * ctx.config["timeout"] + 5

    def act(run: Callable[[PlexClient, Mapping[str, Any]], Awaitable[Any]]
            ) -> Callable[[Mapping[str, Any]], Awaitable[Any]]:
        async def action(params: Mapping[str, Any]) -> Any:
            try:
                return await run(poller.client, params)
            finally:
                poller.invalidate()  # the panels should show the scan or the emptier trash
        return action

    return [
        Action(name="scan_library", run=act(actions.scan), params=actions.SCAN_PARAMS,
               title="Scan library files",
               description="Look for new, changed and removed files in one library (or all), "
                           "as after new media lands on the NAS. Adds; never deletes.",
               destructive=False, timeout=timeout),
        Action(name="empty_trash", run=act(actions.empty_trash),
               params=actions.EMPTY_TRASH_PARAMS, title="Empty trash",
               description="Permanently remove the items whose files are missing, with their "
                           "watch history and edits. Needs approval: a share that is offline "
                           "for a moment looks like missing files.",
               destructive=True, timeout=timeout),
        Action(name="optimize_database", run=act(actions.optimize),
               params=actions.OPTIMIZE_PARAMS, title="Optimise database",
               description="Compact and re-index the server's database (as Settings > "
                           "Troubleshooting > Optimize Database does). Refused while streams "
                           "play unless forced.",
               destructive=False, timeout=timeout),
    ]

