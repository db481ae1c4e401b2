"""The homeassistant plugin's hooks, imported when the plugin first starts (the manifest in
plugin.py names this module). Each takes the runtime `nebula_startup` returned."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.api import (
    Action,
    Check,
    CheckResult,
    Job,
    Panel,
    PluginContext,
    Tool,
    Webhook,
    hookimpl,
)
from nebula.helpers.schema import EMPTY_PARAMS
from nebula_homeassistant import checks, rows, services
from nebula_homeassistant.coordinator import Runtime
from nebula_homeassistant.schema import (
    ENTITY_IDS_PARAMS,
    SEARCH_PARAMS,
    config_problems,
    harmless_domains,
    service_params,
)

Params = Mapping[str, Any]


# --- lifecycle ---------------------------------------------------------------------------


@hookimpl
def nebula_validate_config(config: Params) -> list[tuple[str, str]]:
    return config_problems(config)


@hookimpl
async def nebula_startup(ctx: PluginContext) -> Runtime:
    # A Home Assistant that is down (or a wrong token) must not fail the plugin, only its
    # checks; the WebSocket keeps trying in the background. What only HA can tell about
    # the config (is panel_area one of its areas?) fails the start when HA tells it at
    # once. The core closes the runtime when the plugin stops; a start that fails closes
    # it here, as the core never got it.
    runtime = Runtime(ctx)
    runtime.start()
    try:
        await runtime.check_start()
    except BaseException:
        await runtime.aclose()
        raise
    return runtime


# --- checks and the poll job -------------------------------------------------------------


@hookimpl
def nebula_checks(runtime: Runtime) -> list[Check]:
    cfg = runtime.config
    poll_timeout = 2 * cfg["timeout"] + 5

    async def api() -> CheckResult:
        return checks.api(await runtime.observe(), runtime.live, runtime.cache,
                          cfg["interval"], runtime.area_problem())

    async def entities() -> CheckResult:
        return checks.entities(await runtime.observe(), runtime.cache, cfg["unavailable_threshold"],
                               cfg["ignore_entities"])

    async def automations() -> CheckResult:
        return checks.automations(await runtime.observe(), runtime.cache)

    found = [
        # One result is enough to move it: a failed poll after the WebSocket dropped is
        # a second observation already, and "reachable" must follow the connection at
        # once, not one interval later (the runtime runs it when the socket comes or
        # goes).
        Check(name="api", run=api, title="Home Assistant reachable",
              description="GET /api/config answers with the token: reachability, version, "
                          "recovery mode, response time, and whether states arrive live "
                          "over the WebSocket.",
              interval=cfg["interval"], timeout=poll_timeout, flap_threshold=1),
        Check(name="entities", run=entities, title="Entities available",
              description="Entities whose state is unavailable or unknown (stateless ones "
                          "such as buttons and scenes only when unavailable); warning "
                          "above unavailable_threshold (ignore_entities are left out).",
              interval=cfg["interval"], timeout=poll_timeout),
        Check(name="automations", run=automations, title="Automations loaded",
              description="Automation entities that are unavailable: Home Assistant "
                          "could not load them (invalid config).",
              interval=cfg["interval"], timeout=poll_timeout),
    ]
    if cfg["check_config_interval"] > 0:
        async def config() -> CheckResult:
            return checks.config(await runtime.config_check(max_age=cfg["check_config_interval"]))

        # HA is asked every check_config_interval; the check reads that answer every
        # interval, so a check run by hand (the check_config action) shows at once. Each
        # read of one answer is not a new observation: one result moves the state, or the
        # tile would say "critical" over "configuration valid" until the second reading.
        found.append(Check(name="config", run=config, title="Configuration valid",
                           description="Home Assistant's own configuration check (POST "
                                       "/api/config/core/check_config, every "
                                       "check_config_interval; needs an admin token: not "
                                       "made for another user's).",
                           interval=cfg["interval"], flap_threshold=1,
                           timeout=max(30.0, 3 * cfg["timeout"]) + 2 * cfg["timeout"] + 5))
    return found


@hookimpl
def nebula_jobs(runtime: Runtime) -> list[Job]:
    async def poll() -> None:
        await runtime.observe(max_age=0)

    return [Job(name="poll", run=poll, interval=runtime.config["interval"],
                timeout=2 * runtime.config["timeout"] + 5)]


# --- actions and tools -------------------------------------------------------------------


@hookimpl
def nebula_actions(runtime: Runtime) -> list[Action]:
    cfg = runtime.config
    allowed = harmless_domains(cfg)
    limit = cfg["timeout"] + 15  # HA answers a service call when it is done

    def known() -> list[str]:
        return list(runtime.cache.states)

    # `prepare` refuses at request time a call that belongs to the other action, or names
    # an entity HA does not have (422, nothing filed), and answers the normalised call,
    # which is what `run` then sends.
    async def prepare(params: Params) -> dict[str, Any]:
        return await services.resolved(params, allowed, runtime.unknown_entities, known,
                                       sensitive_action=False)

    async def prepare_sensitive(params: Params) -> dict[str, Any]:
        return await services.resolved(params, allowed, runtime.unknown_entities, known,
                                       sensitive_action=True)

    async def call(plan: Params) -> dict[str, Any]:
        return await services.call(runtime.client, plan, allowed, runtime.unknown_entities,
                                   known, sensitive_action=False)

    async def call_sensitive(plan: Params) -> dict[str, Any]:
        return await services.call(runtime.client, plan, allowed, runtime.unknown_entities,
                                   known, sensitive_action=True)

    async def check_config(params: Params) -> dict[str, Any]:
        result = await runtime.config_check(max_age=0)
        return {**checks.verdict(checks.config(result)), "result": result.result,
                "errors": result.errors, "warnings": result.warnings}

    listed = ", ".join(sorted(allowed))
    return [
        Action(name="call_service", run=call, prepare=prepare, title="Call a service",
               description=f"Call a harmless Home Assistant service: a domain on the "
                           f"harmless list ({listed}) on entities of those domains, named "
                           f"by entity id. Anything else (locks, covers, scenes, scripts, "
                           f"homeassistant.*, areas, devices, `all`) is refused: use "
                           f"homeassistant.call_sensitive_service.",
               params=service_params(sensitive=False), timeout=limit),
        Action(name="call_sensitive_service", run=call_sensitive, prepare=prepare_sensitive,
               title="Call a sensitive service (approval)",
               description="Call any service that is not harmless, e.g. lock.unlock, "
                           "cover.open_cover, scene.turn_on, or a light service on an "
                           "area. Runs only after an admin approves it; harmless calls are "
                           "refused (use homeassistant.call_service).",
               params=service_params(sensitive=True), destructive=True, timeout=limit),
        Action(name="check_config", run=check_config, title="Check the configuration now",
               description="Run Home Assistant's configuration check (read-only; needs an "
                           "admin token).", params=EMPTY_PARAMS,
               timeout=max(30.0, 3 * cfg["timeout"]) + 2 * cfg["timeout"] + 5),
    ]


@hookimpl
def nebula_tools(runtime: Runtime) -> list[Tool]:

    async def get_states(params: Params) -> dict[str, Any]:
        await _fresh(runtime)
        ids = params["entity_ids"]
        return {"states": [rows.entity(s) | {"attributes": s.get("attributes", {})}
                           for e in ids if (s := runtime.cache.get(e))],
                "not_found": [e for e in ids if runtime.cache.get(e) is None]}

    async def search(params: Params) -> dict[str, Any]:
        await _fresh(runtime)
        found = runtime.cache.search(params.get("query", ""), params.get("domain"),
                                params.get("state"))
        limit = int(params.get("limit", 25))
        return {"count": len(found), "entities": [rows.entity(s) for s in found[:limit]]}

    return [
        Tool(name="get_states", params=ENTITY_IDS_PARAMS, run=get_states,
             description="Current state and attributes of Home Assistant entities by id."),
        Tool(name="search_entities", params=SEARCH_PARAMS, run=search,
             description="Find Home Assistant entities by words in their id or name, "
                         "domain or state (e.g. lights that are on)."),
        Tool(name="call_service", params=service_params(sensitive=False),
             action="homeassistant.call_service",
             description="Call a harmless Home Assistant service (light, switch, fan, "
                         "media_player, input_*, notify) on entities named by id, e.g. "
                         "light.turn_off with target {\"entity_id\": [\"light.kitchen\"]}. "
                         "Locks, covers, scenes, scripts, areas and devices are refused "
                         "here: use call_sensitive_service."),
        Tool(name="call_sensitive_service", params=service_params(sensitive=True),
             action="homeassistant.call_sensitive_service",
             description="Call a service that is not harmless (a lock, alarm, cover, scene, "
                         "script, or any call on an area or device); it waits for an "
                         "admin's approval."),
    ]


async def _fresh(runtime: Runtime) -> None:
    """States are live while the WebSocket is up; otherwise poll when they are stale."""
    if not runtime.live_connected:
        snapshot = await runtime.observe()
        if snapshot.error is not None and not runtime.cache.states:
            raise RuntimeError(str(snapshot.error))


# --- panels and the webhook --------------------------------------------------------------


@hookimpl
def nebula_panels(runtime: Runtime) -> list[Panel]:
    cfg = runtime.config

    async def overview() -> dict[str, Any]:
        snapshot = await runtime.observe()
        return rows.overview(runtime.client.base, snapshot, runtime.live, runtime.cache,
                             cfg["ignore_entities"], runtime.last_config_check,
                             runtime.access.user)

    async def selected() -> list[dict[str, Any]]:
        await _fresh(runtime)
        area = runtime.area_entities()  # loaded as the WebSocket connects
        return rows.selected(runtime.cache, [*cfg["panel_entities"], *(area or [])])

    async def unavailable() -> list[dict[str, Any]]:
        await _fresh(runtime)
        return [rows.entity(s) for s in runtime.cache.missing(cfg["ignore_entities"])]

    async def automations() -> list[dict[str, Any]]:
        await _fresh(runtime)
        return [rows.automation(s) for s in runtime.cache.domain("automation")]

    async def webhook_events() -> list[dict[str, Any]]:
        return list(runtime.inbox.recent)

    found = [
        Panel(name="overview", kind="keyvalue", data=overview, title="Home Assistant",
              description="Reachability, version, WebSocket, entity and config health.",
              fields=rows.OVERVIEW_FIELDS),
        Panel(name="entities", kind="table", data=selected, title="Selected entities",
              description="The entities in panel_entities and the panel_area area, live.",
              fields=rows.ENTITY_FIELDS),
        Panel(name="unavailable", kind="table", data=unavailable,
              title="Unavailable entities",
              description="Entities whose state is unavailable or unknown.",
              fields=rows.ENTITY_FIELDS),
        Panel(name="automations", kind="table", data=automations, title="Automations",
              description="Every automation; unavailable ones failed to load.",
              fields=rows.AUTOMATION_FIELDS),
    ]
    if cfg.get("webhook_secret"):
        found.append(Panel(name="webhook_events", kind="table", data=webhook_events,
                           title="Events from Home Assistant",
                           description="The latest bodies HA automations POSTed to the "
                                       "webhook, newest first.",
                           fields=rows.WEBHOOK_FIELDS))
    return found


@hookimpl
def nebula_webhooks(runtime: Runtime) -> list[Webhook]:
    secret = runtime.config.get("webhook_secret")
    if not secret:
        return []
    return [Webhook(name="events", handler=runtime.inbox.handle, secret=secret)]
