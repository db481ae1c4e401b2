"""The plex plugin's hooks, imported and registered when the plugin first starts (the
manifest in plugin.py names this module). Startup returns the `Poller`, the plugin's
runtime; the core hands it to the other hooks and closes it when the plugin stops."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from nebula.api import Action, Check, CheckResult, Panel, PluginContext, Tool, hookimpl
from nebula.helpers.checks import CheckSpec
from nebula.helpers.net import tls_context
from nebula.helpers.schema import EMPTY_PARAMS
from nebula_plex import actions, rows
from nebula_plex.checks import CHECKS
from nebula_plex.client import PlexClient
from nebula_plex.coordinator import Poller
from nebula_plex.model import Snapshot
from nebula_plex.schema import (
    EMPTY_TRASH_PARAMS,
    FIND_PARAMS,
    OPTIMIZE_PARAMS,
    RECENT_PARAMS,
    SCAN_PARAMS,
)

Params = Mapping[str, Any]

# --- lifecycle -----------------------------------------------------------------------------


@hookimpl
def nebula_startup(ctx: PluginContext) -> Poller:
    config = ctx.config
    # A ca_bundle with verify_tls off, or one that cannot be loaded, fails the start here.
    tls = tls_context(config["verify_tls"], config.get("ca_bundle"))
    client = PlexClient(lambda: ctx.http, config["url"], config["token"],
                        timeout=config["timeout"], tls=tls)
    return Poller(client, ctx.emit, max_age=config["interval"] / 2,
                  recent=config["recently_added"], history=config["history_size"],
                  log=ctx.log)


# --- checks --------------------------------------------------------------------------------


def _check(ctx: PluginContext, poller: Poller, spec: CheckSpec[Snapshot]
           ) -> Callable[[], Awaitable[CheckResult]]:
    async def run() -> CheckResult:
        return spec.evaluate(await poller.snapshot(), ctx.config)

    return run


@hookimpl
def nebula_checks(ctx: PluginContext, runtime: Poller) -> list[Check]:
    # A poll is a handful of requests, each bounded by `timeout`; some run in parallel.
    timeout = 4 * ctx.config["timeout"] + 5
    return [Check(name=spec.name, run=_check(ctx, runtime, spec), title=spec.title,
                  description=spec.description, interval=ctx.config["interval"],
                  timeout=timeout)
            for spec in CHECKS]


# --- panels and tools ----------------------------------------------------------------------


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


@hookimpl
def nebula_panels(ctx: PluginContext, runtime: Poller) -> list[Panel]:
    return [
        Panel(name="server", kind="keyvalue", title="Plex server",
              description="Identity, version, available update and the current load.",
              data=_reading(runtime, rows.server, need_data=False), fields=rows.SERVER_FIELDS),
        Panel(name="sessions", kind="table", title="Now playing",
              description="Every stream, with direct play, direct stream or transcode.",
              data=_reading(runtime, rows.sessions), fields=rows.SESSION_FIELDS),
        Panel(name="streams", kind="timeseries", title="Streams",
              description=f"Sessions, transcodes and bandwidth over the last "
                          f"{ctx.config['history_size']} polls.",
              data=_reading(runtime, lambda _: rows.streams(runtime.history), need_data=False),
              fields=rows.STREAM_FIELDS),
        Panel(name="libraries", kind="table", title="Libraries",
              description="Each library with its item counts and last scan.",
              data=_reading(runtime, rows.libraries), fields=rows.LIBRARY_FIELDS),
        Panel(name="recently_added", kind="table", title="Recently added",
              description="The newest items across every library.",
              data=_reading(runtime, rows.recent), fields=rows.RECENT_FIELDS),
    ]


def _query(poller: Poller, render: Callable[[Snapshot, Params], Any]
           ) -> Callable[[Params], Awaitable[Any]]:
    """A read-only Jarvis tool: the snapshot's data, or why there is none."""
    async def run(params: Params) -> Any:
        snap = await poller.snapshot()
        return rows.unavailable(snap) or render(snap, params)

    return run


@hookimpl
def nebula_tools(runtime: Poller) -> list[Tool]:
    return [
        Tool(name="now_playing", params=EMPTY_PARAMS,
             run=_query(runtime, lambda snap, _: {
                 "sessions": rows.sessions(snap), "transcodes": len(snap.transcodes)}),
             description="What is playing on Plex now: user, title, player, state, direct "
                         "play / direct stream / transcode, bandwidth (kbps)."),
        Tool(name="library_stats", params=EMPTY_PARAMS,
             run=_query(runtime, lambda snap, _: {"libraries": rows.libraries(snap)}),
             description="Every Plex library with its item counts (episodes, tracks) and "
                         "when it was last scanned (epoch seconds)."),
        Tool(name="recently_added", params=RECENT_PARAMS,
             run=_query(runtime, lambda snap, p: {
                 "items": rows.recent(snap, int(p.get("limit", 10)))}),
             description="The newest items added to Plex, newest first."),
        Tool(name="scan_library", action="plex.scan_library", params=SCAN_PARAMS,
             description="Scan a Plex library (or all) for new files, e.g. after a download "
                         "landed on the NAS."),
    ]


# --- actions -------------------------------------------------------------------------------


def _act(poller: Poller, run: Callable[[PlexClient, Params], Awaitable[Any]]
         ) -> Callable[[Params], Awaitable[Any]]:
    async def action(params: Params) -> Any:
        try:
            return await run(poller.client, params)
        finally:
            poller.invalidate()  # the panels should show the scan or the emptier trash

    return action


def _read(poller: Poller, run: Callable[[PlexClient, Params], Awaitable[Any]]
          ) -> Callable[[Params], Awaitable[Any]]:
    async def action(params: Params) -> Any:
        return await run(poller.client, params)  # reads only: the snapshot stays valid

    return action


@hookimpl
def nebula_actions(ctx: PluginContext, runtime: Poller) -> list[Action]:
    timeout = 3 * ctx.config["timeout"] + 5
    return [
        Action(name="scan_library", run=_act(runtime, actions.scan), params=SCAN_PARAMS,
               title="Scan library files",
               description="Look for new, changed and removed files in one library (or all), "
                           "as after new media lands on the NAS. Adds; never deletes.",
               destructive=False, timeout=timeout),
        Action(name="find_file", run=_read(runtime, actions.find_file),
               params=FIND_PARAMS,
               title="Find a file in a library",
               description="The item Plex lists for one file (full path as the server sees "
                           "it), e.g. to tell whether a scan has picked up a new upload.",
               read_only=True, timeout=timeout),
        Action(name="empty_trash", run=_act(runtime, actions.empty_trash),
               params=EMPTY_TRASH_PARAMS, title="Empty trash",
               description="Permanently remove the items whose files are missing, with their "
                           "watch history and edits. Needs approval: a share that is offline "
                           "for a moment looks like missing files.",
               destructive=True, timeout=timeout),
        Action(name="optimize_database", run=_act(runtime, actions.optimize),
               params=OPTIMIZE_PARAMS, title="Optimise database",
               description="Compact and re-index the server's database (as Settings > "
                           "Troubleshooting > Optimize Database does). Refused while streams "
                           "play unless forced.",
               destructive=False, timeout=timeout),
    ]
