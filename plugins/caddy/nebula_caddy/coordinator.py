"""The plugin's runtime: one look at Caddy (config, version, upstreams) shared by the
checks, panels and tools, a slower wire check of the sites' certificates, and the changes
(add/remove a site, reload the Caddyfile, roll back) that go through `POST /config/` with
`If-Match`.

A change's plan (its action's `prepare`) carries the config version it was made from; the
run refuses when the running config is not that version any more (someone changed it
meanwhile), so an approval covers exactly the config the approver saw. The config before
the last change is kept, encrypted (configs hold credentials), for a one-step rollback."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from nebula.api import ParamError, PluginContext, report_progress
from nebula.helpers import tlscert as certs
from nebula.helpers.coordinator import Coordinator
from nebula.helpers.tlscert import CertState
from nebula_caddy import sites
from nebula_caddy.admin import Admin, Conflict, Refused, Versioned
from nebula_caddy.sites import EditError, Site
from nebula_caddy.upstreams import reach

PREVIOUS = "previous_config"  # secret store key: the config before the last change
LAST_CHANGE = "last_change"   # kv key: what that change was (no config in it)
ANY_ADDRESS = {"", "0.0.0.0", "::", "[::]"}


@dataclass(frozen=True)
class Snapshot:
    taken: float
    version: Versioned
    sites: list[Site]
    counters: dict[str, dict[str, Any]]   # dial address -> Caddy's counters
    reach: dict[str, str | None] = field(default_factory=dict)  # dial -> why unreachable

    def upstream_rows(self) -> list[dict[str, Any]]:
        dials = sorted({d for s in self.sites for d in s.upstreams} | set(self.counters))
        rows = []
        for dial in dials:
            counters = self.counters.get(dial, {})
            rows.append({"address": dial,
                         "sites": ", ".join(s.host for s in self.sites if dial in s.upstreams),
                         "num_requests": counters.get("num_requests"),
                         "fails": counters.get("fails"),
                         "reachable": dial not in self.reach or self.reach[dial] is None,
                         "error": self.reach.get(dial)})
        return rows


class Runtime:
    """Returned by `nebula_startup`; the core closes it (`aclose`) when the plugin stops."""

    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.config = ctx.config
        self.admin = Admin(ctx.http, ctx.config["admin_url"], ctx.config["timeout"])
        self.state = Coordinator(self._look, max_age=ctx.config["interval"] / 2,
                                 name="caddy.state", log=ctx.log)
        self.certificates = Coordinator(self._probe_certs,
                                        max_age=ctx.config["cert_interval"],
                                        name="caddy.certificates", log=ctx.log)
        # name -> {"id", "state", "health"} from the docker plugin's events.
        self.containers: dict[str, dict[str, Any]] = {}
        self._changing = asyncio.Lock()

    async def aclose(self) -> None:
        await self.state.aclose()
        await self.certificates.aclose()

    # --- looking -------------------------------------------------------------------------

    async def snapshot(self) -> Snapshot:
        return await self.state.get()

    async def _look(self) -> Snapshot:
        version, counters = await asyncio.gather(self.admin.config(), self.admin.upstreams())
        found = sites.sites(version.config)
        by_address = {str(c.get("address")): c for c in counters}
        probed: dict[str, str | None] = {}
        if self.config["probe_upstreams"]:
            dials = sorted({d for s in found for d in s.upstreams} | set(by_address))
            answers = await asyncio.gather(*(reach(d, self.config["timeout"]) for d in dials))
            probed = dict(zip(dials, answers, strict=True))
        return Snapshot(time.time(), version, found, by_address, probed)

    def _tls_target(self, site: Site) -> tuple[str, int]:
        if address := self.config.get("tls_address"):
            return address, site.port()
        listen = site.listen[0] if site.listen else ""
        host = listen.split("/", 1)[-1].rsplit(":", 1)[0].strip("[]")
        if host in ANY_ADDRESS:
            host = urlsplit(self.config["admin_url"]).hostname or "127.0.0.1"
        return host, site.port()

    async def _probe_certs(self) -> dict[str, CertState]:
        snap = await self.snapshot()
        root = await self.admin.internal_root() if self.config["trust_internal_ca"] else None
        verify = certs.verifying_context(self.config.get("ca_bundle"), root)
        wanted = {s.host: s for s in snap.sites if s.tls and "*" not in s.host}
        states = await asyncio.gather(*(
            certs.probe(host, *self._tls_target(site), verify, self.config["timeout"])
            for host, site in wanted.items()))
        return {state.host: state for state in states}

    def container_for(self, dial: str) -> dict[str, Any] | None:
        """The container an upstream dials by name (`app:8080` on a compose network), as
        the docker plugin's events last described it."""
        host = dial.rpartition(":")[0].strip("[]")
        return self.containers.get(host)

    async def on_container_event(self, event: Mapping[str, Any]) -> None:
        data = event.get("data") or {}
        name = str(data.get("name") or "").lstrip("/")
        if not name:
            return
        if data.get("state") == "removed":
            self.containers.pop(name, None)
        else:
            self.containers[name] = {"id": str(data.get("id", ""))[:12],
                                     "state": data.get("state"), "health": data.get("health")}

    # --- planning ------------------------------------------------------------------------

    async def _current(self) -> Versioned:
        return await self.admin.config()

    async def plan_add(self, params: Mapping[str, Any]) -> dict[str, Any]:
        version = await self._current()
        host = params["host"].lower().rstrip(".")
        try:
            server = sites.pick_server(version.config, params.get("server"))
            sites.add_site(version.config, host, list(params["upstreams"]), server,
                           params.get("tls") == "internal")
        except EditError as exc:
            raise ParamError(exc.param, str(exc)) from None
        return {"change": "add_site", "host": host, "upstreams": list(params["upstreams"]),
                "server": server, "tls": params.get("tls", "auto"), "etag": version.etag}

    async def plan_remove(self, params: Mapping[str, Any]) -> dict[str, Any]:
        version = await self._current()
        host = params["host"].lower().rstrip(".")
        found = [s for s in sites.sites(version.config) if s.host == host]
        if not found:
            raise ParamError("host", f"Caddy serves no site {host}")
        return {"change": "remove_site", "host": host,
                "servers": [s.server for s in found],
                "upstreams": sorted({d for s in found for d in s.upstreams}),
                "etag": version.etag}

    def _caddyfile_text(self, text: str | None = None) -> tuple[str, str]:
        """The Caddyfile's text and where it came from."""
        if text is not None:
            return text, "(given)"
        path = self.config.get("caddyfile")
        if not path:
            raise ParamError("caddyfile", "no Caddyfile given and none configured "
                                          "([plugins.caddy] caddyfile)")
        try:
            return Path(path).read_text(encoding="utf-8"), path
        except OSError as exc:
            raise ParamError("caddyfile", f"cannot read {path}: {exc.strerror}") from None

    async def _adapted(self, text: str) -> tuple[dict[str, Any], list[str]]:
        try:
            return await self.admin.adapt(text)
        except Refused as exc:
            raise ParamError("caddyfile", f"Caddy cannot use it: {exc}") from None

    async def plan_reload(self, params: Mapping[str, Any]) -> dict[str, Any]:
        text, source = self._caddyfile_text()
        adapted, warnings = await self._adapted(text)
        version = await self._current()
        return {"change": "reload", "caddyfile": source,
                "sha256": hashlib.sha256(text.encode()).hexdigest(), "warnings": warnings,
                **sites.summary(version.config, adapted), "etag": version.etag}

    async def validate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        text, source = self._caddyfile_text(params.get("caddyfile"))
        try:
            adapted, warnings = await self.admin.adapt(text)
        except Refused as exc:
            return {"valid": False, "caddyfile": source, "error": str(exc), "warnings": []}
        running = (await self._current()).config
        return {"valid": True, "caddyfile": source, "error": None, "warnings": warnings,
                "sites": [s.host for s in sites.sites(adapted)],
                **sites.summary(running, adapted)}

    async def plan_rollback(self, params: Mapping[str, Any]) -> dict[str, Any]:
        last = await self.ctx.kv.get(LAST_CHANGE)
        previous = await self.ctx.secrets.get(PREVIOUS)
        if not last or previous is None:
            raise ParamError("(params)", "nothing to roll back: no change was made through "
                                         "this plugin since the last rollback")
        version = await self._current()
        return {"change": "rollback", "undoes": last["description"], "made_at": last["at"],
                **sites.summary(version.config, json.loads(previous)),
                "etag": version.etag}

    # --- changing ------------------------------------------------------------------------

    async def apply(self, plan: Mapping[str, Any]) -> dict[str, Any]:
        """Run an approved plan against the config version it was made from."""
        async with self._changing:
            report_progress(0.1, "reading Caddy's config")
            version = await self._current()
            if version.etag != plan["etag"]:
                raise Conflict("Caddy's config changed since this change was planned; "
                               "nothing was applied: look again and ask anew")
            new, description = await self._build(plan, version.config)
            report_progress(0.5, "sending the new config to Caddy")
            try:
                await self.admin.replace(new, plan["etag"])
            except Refused as exc:
                raise Refused(f"Caddy refused the new config and kept the old one: "
                              f"{exc}") from None
            finally:
                self.state.invalidate()
                self.certificates.invalidate()
            if plan["change"] == "rollback":
                await self.ctx.kv.delete(LAST_CHANGE)
                await self.ctx.secrets.delete(PREVIOUS)
            else:
                await self.ctx.secrets.set(PREVIOUS, json.dumps(version.config))
                await self.ctx.kv.set(LAST_CHANGE, {"description": description,
                                                    "at": time.time()})
            self.ctx.log.info("caddy.changed", change=plan["change"], what=description)
            report_progress(1.0, "applied")
            result: dict[str, Any] = {"applied": plan["change"], "what": description,
                                      "sites": [s.host for s in sites.sites(new)]}
            if plan["change"] == "add_site":
                # Where the new site answers, for a caller that goes on to check it.
                site = next(s for s in sites.sites(new)
                            if s.host == plan["host"] and s.server == plan["server"])
                result["address"] = list(self._tls_target(site))
            return result

    async def _build(self, plan: Mapping[str, Any],
                     running: dict[str, Any]) -> tuple[dict[str, Any], str]:
        change = plan["change"]
        try:
            if change == "add_site":
                return (sites.add_site(running, plan["host"], list(plan["upstreams"]),
                                       plan["server"], plan["tls"] == "internal"),
                        f"add site {plan['host']} -> {', '.join(plan['upstreams'])}")
            if change == "remove_site":
                return sites.remove_site(running, plan["host"]), f"remove site {plan['host']}"
        except EditError as exc:
            raise ParamError(exc.param, str(exc)) from None
        if change == "reload":
            text, source = self._caddyfile_text()
            if hashlib.sha256(text.encode()).hexdigest() != plan["sha256"]:
                raise Conflict(f"{source} changed since this reload was planned; nothing "
                               "was applied: ask anew")
            return (await self._adapted(text))[0], f"reload from {source}"
        if change == "rollback":
            previous = await self.ctx.secrets.get(PREVIOUS)
            if previous is None:
                raise Conflict("the kept config is gone (rolled back already?)")
            return json.loads(previous), f"roll back: {plan['undoes']}"
        raise ParamError("change", f"unknown change {change!r}")
