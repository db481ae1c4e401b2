"""The network plugin's runtime: two shared polls, one for what the kernel says (sockets,
interface counters, conntrack; read in a worker thread) and one for the way out (DNS
latency, gateway, public IP; asyncio), each reused while younger than half the interval.

The public IP is never looked up here: the DDNS plugin named by `public_ip_action`
publishes it as the event of that name whenever it changes; its read-only action is asked
only while no event was seen since we started."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nebula.helpers import nameservers
from nebula.helpers.coordinator import Coordinator
from nebula_network import wan
from nebula_network.interfaces import InterfaceReader
from nebula_network.readings import Reading, read_conntrack
from nebula_network.sockets import SocketReader

CallAction = Callable[[str, Mapping[str, Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Gateway:
    interface: str | None
    reach: wan.Reach | None
    reason: str | None = None   # why there is nothing to check


@dataclass(frozen=True)
class WanReading:
    taken: float
    dns: list[wan.DnsProbe]
    gateway: Gateway
    public_ip: Mapping[str, Any] = field(default_factory=dict)


class NetworkRuntime:
    def __init__(self, config: Mapping[str, Any], call_action: CallAction | None = None,
                 log: Any = None) -> None:
        self.config = config
        self._call_action = call_action
        self._sockets = SocketReader()
        self._interfaces = InterfaceReader(tuple(config["ignore_interfaces"]))
        half = float(config["interval"]) / 2
        self.poll: Coordinator[Reading] = Coordinator(self._read, max_age=half,
                                                      name="network", log=log)
        self.wan: Coordinator[WanReading] = Coordinator(self._read_wan, max_age=half,
                                                        name="network.wan", log=log)
        self.public_ip: Mapping[str, Any] | None = None
        self.closed = False

    async def read(self) -> Reading:
        if self.closed:
            raise RuntimeError("the network plugin has stopped")
        return await self.poll.get()

    async def read_wan(self) -> WanReading:
        if self.closed:
            raise RuntimeError("the network plugin has stopped")
        return await self.wan.get()

    def _read_blocking(self) -> Reading:
        return Reading(self._sockets.read(), self._interfaces.read(), read_conntrack())

    async def _read(self) -> Reading:
        return await asyncio.to_thread(self._read_blocking)

    # --- the way out ---------------------------------------------------------------------

    def resolvers(self, resolv_conf: str = wan.RESOLV_CONF) -> list[nameservers.Nameserver]:
        """The configured resolvers, else the host's own (on port 53, as the host asks)."""
        port = self.config["dns_port"]
        if self.config["resolvers"]:  # checked by nebula_validate_config
            return [nameservers.parse(spec, port) for spec in self.config["resolvers"]]
        found = []
        for spec in wan.system_resolvers(resolv_conf):
            try:
                found.append(nameservers.parse(spec, 53))
            except ValueError:  # not an address (resolv.conf takes none but addresses)
                continue
        return found

    async def _gateway(self) -> Gateway:
        config = self.config
        if (address := config.get("gateway")) is not None:
            interface = None
        elif (route := wan.default_gateway()) is not None:
            interface, address = route
        else:
            return Gateway(None, None, "no IPv4 default route in /proc/net/route")
        found = await wan.reach(address, config["gateway_method"], config["gateway_port"],
                                config["gateway_timeout"])
        return Gateway(interface, found)

    async def _read_wan(self) -> WanReading:
        config = self.config
        probes = [wan.dns_latency(server, config["dns_name"], config["dns_timeout"])
                  for server in self.resolvers()]
        dns, gateway, public = await asyncio.gather(asyncio.gather(*probes), self._gateway(),
                                                    self._public_ip())
        return WanReading(time.time(), list(dns), gateway, public)

    async def on_public_ip(self, event: Mapping[str, Any]) -> None:
        """The subscription's handler: the DDNS plugin's new public IP."""
        self.public_ip = dict(event.get("data") or {})

    async def _public_ip(self) -> Mapping[str, Any]:
        if self.public_ip is not None:
            return self.public_ip
        name = self.config["public_ip_action"]
        plugin = name.partition(".")[0]
        if self._call_action is None:
            return {"reason": "no agent to ask"}
        try:
            outcome = await self._call_action(name, {})
        except KeyError:
            return {"reason": f"no action {name} (is the {plugin} plugin enabled?)"}
        except Exception as exc:  # a peer's failure is reported, never raised here
            return {"reason": f"{name} failed: {type(exc).__name__}: {exc}"}
        if outcome.get("status") != "ok":
            return {"reason": f"{name}: {outcome.get('error') or outcome.get('status')}"}
        if self.public_ip is None:  # an event that came meanwhile is newer
            self.public_ip = dict(outcome.get("result") or {})
        return self.public_ip

    async def aclose(self) -> None:
        self.closed = True
        await asyncio.gather(self.poll.aclose(), self.wan.aclose())
