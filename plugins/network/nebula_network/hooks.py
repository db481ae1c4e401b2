"""The network plugin's hooks: checks, panels, tools, the listeners query and the public-IP
subscription, all reading the one runtime `nebula_startup` returns."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import jsonschema

from nebula.api import (
    Action,
    Check,
    CheckResult,
    Panel,
    PluginContext,
    Subscription,
    Tool,
    hookimpl,
)
from nebula.helpers.packages import require
from nebula.helpers.schema import EMPTY_PARAMS
from nebula_network import checks, listeners, rows
from nebula_network.coordinator import NetworkRuntime
from nebula_network.schema import LISTENERS_PARAMS, config_problems

# dnspython loads with the first DNS probe (wan.py); an install without it still fails the
# start, naming the extra.
require("dns")

Query = Callable[[Mapping[str, Any]], Awaitable[Any]]


def _listeners(runtime: NetworkRuntime) -> Query:
    async def run(params: Mapping[str, Any]) -> list[dict[str, Any]]:
        # The action runner validates its requests; a Jarvis tool call may not be.
        jsonschema.validate(dict(params), LISTENERS_PARAMS)
        reading = await runtime.read()
        return listeners.select(listeners.rows(reading.sockets,
                                               runtime.config["expected_ports"]), params)

    return run


def _connections(runtime: NetworkRuntime) -> Query:
    async def run(params: Mapping[str, Any]) -> dict[str, Any]:
        reading = await runtime.read()
        return {"states": rows.states(reading),
                "udp_connected": reading.sockets.udp_connected,
                "top_peers": rows.peers(reading, runtime.config["top_peers"]),
                "conntrack": rows.conntrack(reading)}

    return run


def _interfaces(runtime: NetworkRuntime) -> Query:
    async def run(params: Mapping[str, Any]) -> list[dict[str, Any]]:
        return rows.interfaces(await runtime.read())

    return run


def _wan(runtime: NetworkRuntime) -> Query:
    async def run(params: Mapping[str, Any]) -> dict[str, Any]:
        return rows.wan_detail(await runtime.read_wan())

    return run


def _panel(query: Query) -> Callable[[], Awaitable[Any]]:
    async def data() -> Any:
        return await query({})

    return data


# --- lifecycle ---------------------------------------------------------------------------


@hookimpl
def nebula_validate_config(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    return config_problems(config)


@hookimpl
async def nebula_startup(ctx: PluginContext) -> NetworkRuntime:
    runtime = NetworkRuntime(ctx.config, call_action=ctx.call_action, log=ctx.log)
    # The baseline of the interface rates, and the owners of today's listeners.
    await runtime.read()
    return runtime


# --- contributions -----------------------------------------------------------------------


@hookimpl
def nebula_checks(ctx: PluginContext, runtime: NetworkRuntime) -> list[Check]:
    config = ctx.config
    interval = config["interval"]

    def local(judge: Callable[[Any, Mapping[str, Any]], CheckResult]
              ) -> Callable[[], Awaitable[CheckResult]]:
        async def run() -> CheckResult:
            return judge(await runtime.read(), config)
        return run

    def outside(judge: Callable[[Any, Mapping[str, Any]], CheckResult]
                ) -> Callable[[], Awaitable[CheckResult]]:
        async def run() -> CheckResult:
            return judge(await runtime.read_wan(), config)
        return run

    wan_timeout = config["dns_timeout"] + 2 * config["gateway_timeout"] + 5
    latest = runtime.poll.latest  # taken at startup
    nics = [nic.name for nic in latest.interfaces] if latest is not None else []
    return [
        Check("interfaces", local(checks.interfaces), title="Interfaces",
              description="Link state, throughput, packets, errors and drops per interface; "
                          "critical when a required interface is down.", interval=interval,
              units=checks.interface_units(nics)),
        Check("exposure", local(checks.exposure), title="Exposure",
              description="Every port listening beyond loopback must be in expected_ports; "
                          "a new one warns with its process and command line.",
              interval=interval, units=checks.EXPOSURE_UNITS),
        Check("connections", local(checks.connections), title="Connections",
              description="TCP connections by state, peers, and the conntrack table's use "
                          "where the kernel exposes it.", interval=interval,
              units=checks.CONNECTION_UNITS),
        Check("dns", outside(checks.dns), title="DNS resolution",
              description="Resolution latency per resolver.", interval=interval,
              timeout=max(10, wan_timeout),
              units=checks.dns_units(r.label for r in runtime.resolvers())),
        Check("gateway", outside(checks.gateway), title="Gateway",
              description="Whether the default gateway answers (ICMP, else TCP).",
              interval=interval, timeout=max(10, wan_timeout), units=checks.GATEWAY_UNITS),
    ]


@hookimpl
def nebula_actions(runtime: NetworkRuntime) -> list[Action]:
    return [
        Action(name="listeners", run=_listeners(runtime), title="Listening sockets",
               description="Every listening socket: proto, address, port, scope (loopback, "
                           "lan, all), pid, process, cmdline, container and whether it is "
                           "expected (read-only).",
               params=LISTENERS_PARAMS, read_only=True),
    ]


@hookimpl
def nebula_subscriptions(runtime: NetworkRuntime) -> list[Subscription]:
    return [Subscription(name="public_ip", topic=runtime.config["public_ip_action"],
                         handler=runtime.on_public_ip)]


@hookimpl
def nebula_panels(runtime: NetworkRuntime) -> list[Panel]:
    top = runtime.config["top_peers"]

    async def state_rows() -> list[dict[str, Any]]:
        return rows.states(await runtime.read())

    async def peer_rows() -> list[dict[str, Any]]:
        return rows.peers(await runtime.read(), top)

    async def wan_row() -> dict[str, Any]:
        return rows.wan(await runtime.read_wan(), await runtime.read())

    return [
        Panel(name="interfaces", kind="table", title="Interfaces",
              description="Link state, speed and traffic per interface since the previous "
                          "reading.", data=_panel(_interfaces(runtime)),
              fields=rows.INTERFACE_FIELDS),
        Panel(name="listeners", kind="table", title="Listening sockets",
              description="Who listens where; expected=false is an exposure.",
              data=_panel(_listeners(runtime)), fields=rows.LISTENER_FIELDS),
        Panel(name="connections", kind="table", title="Connections by state",
              description="TCP connections per state.", data=state_rows,
              fields=rows.STATE_FIELDS),
        Panel(name="peers", kind="table", title="Top peers",
              description=f"The {top} remote addresses with the most connections.",
              data=peer_rows, fields=rows.PEER_FIELDS),
        Panel(name="wan", kind="keyvalue", title="WAN",
              description="Public IP (from the DDNS plugin), gateway, DNS latency and "
                          "conntrack.", data=wan_row, fields=rows.WAN_FIELDS),
    ]


@hookimpl
def nebula_tools(runtime: NetworkRuntime) -> list[Tool]:
    return [
        Tool(name="listeners", params=LISTENERS_PARAMS, run=_listeners(runtime),
             description="Listening sockets with their process, command line, container, "
                         "bind scope (loopback, lan, all) and whether each is expected; "
                         "unexpected_only=true lists the exposures."),
        Tool(name="interfaces", params=EMPTY_PARAMS, run=_interfaces(runtime),
             description="Per interface: link state, speed, bytes and packets per second, "
                         "errors and drops since the previous reading."),
        Tool(name="connections", params=EMPTY_PARAMS, run=_connections(runtime),
             description="TCP connections by state, the remote addresses with the most "
                         "connections, and conntrack table use."),
        Tool(name="wan", params=EMPTY_PARAMS, run=_wan(runtime),
             description="Public IP (as the DDNS plugin saw it), default gateway "
                         "reachability, and DNS resolution latency per resolver."),
    ]
