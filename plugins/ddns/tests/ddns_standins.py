"""Local stand-ins for Cloudflare's API v4 and DuckDNS's update URL, answering in their real
wire shapes (docs/protocols/cloudflare.md, docs/protocols/duckdns.md). What each is told to
change it publishes into a real BIND (`tests.engines.bind`) through RFC 2136, as the real
services' own name servers would serve it, so the plugin verifies through DNS."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.engines.bind import Bind

# Every record starts on OLD_*; the echo services report NEW_*.
OLD_IP, NEW_IP = "198.51.100.1", "203.0.113.7"
OLD_IP6, NEW_IP6 = "2001:db8::1", "2001:db8::7"
# What DNS serves for a proxied Cloudflare name: Cloudflare's edge, never the origin.
CLOUDFLARE_EDGE = "104.16.0.1"
KEY = "ddns-key"
RFC_HOSTS = ["gw.home.test", "nas.home.test"]
CF_HOSTS = ["www.cf.test", "app.cf.test"]  # app is proxied
ZONES = {"home.test": {"gw": [OLD_IP, OLD_IP6], "nas": [OLD_IP]},
         "locked.test": {"gw": [OLD_IP]},
         "cf.test": {"www": [OLD_IP], "app": [CLOUDFLARE_EDGE]},
         "duckdns.org": {"myhome": [OLD_IP]}}




def _envelope(result: Any, status: int = 200, errors: list[dict[str, Any]] | None = None,
              headers: dict[str, str] | None = None, **extra: Any) -> web.Response:
    body = {"result": result, "success": not errors, "errors": errors or [], "messages": [],
            **extra}
    return web.Response(status=status, text=json.dumps(body), headers=headers,
                        content_type="application/json")


@dataclass
class Cloudflare:
    """`/client/v4`: zones by name, DNS records by type and name, PATCH (merge) and PUT
    (replace) of one record, Bearer tokens. `records` holds each record as the API shows
    it; a change is published into `bind` (a proxied name as Cloudflare's edge address).
    With `rate_limited` every call answers 429 with code 971 and `Retry-After`."""

    bind: Bind
    token: str
    zones: dict[str, str] = field(default_factory=dict)  # name -> id
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> record
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    rate_limited: bool = False
    retry_after: str | None = "300"
    url: str = ""

    def add_zone(self, name: str) -> str:
        self.zones[name] = secrets.token_hex(16)
        return self.zones[name]

    def add_record(self, zone: str, name: str, rdtype: str, content: str,
                   proxied: bool = False) -> dict[str, Any]:
        record = {"id": secrets.token_hex(16), "zone_id": self.zones[zone], "zone_name": zone,
                  "name": name, "type": rdtype, "content": content, "proxiable": True,
                  "proxied": proxied, "ttl": 1, "locked": False, "comment": None, "tags": [],
                  "created_on": "2026-01-01T00:00:00Z", "modified_on": "2026-01-01T00:00:00Z"}
        self.records[record["id"]] = record
        return record

    def record(self, name: str, rdtype: str = "A") -> dict[str, Any]:
        return next(r for r in self.records.values()
                    if r["name"] == name and r["type"] == rdtype)

    def updates(self) -> list[str]:
        return [path for method, path in self.requests if method in ("PATCH", "PUT")]

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._gate])
        app.router.add_get("/client/v4/zones", self.list_zones)
        app.router.add_get("/client/v4/zones/{zone}/dns_records", self.list_records)
        app.router.add_patch("/client/v4/zones/{zone}/dns_records/{id}", self.patch)
        app.router.add_put("/client/v4/zones/{zone}/dns_records/{id}", self.put)
        return app

    @web.middleware
    async def _gate(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if self.rate_limited:
            return _envelope(None, 429, [{"code": 971, "message": "Please wait and consider "
                                          "throttling your request speed"}],
                             headers={"Retry-After": self.retry_after}
                             if self.retry_after else None)
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return _envelope(None, 400, [{"code": 6003, "message": "Invalid request headers",
                                          "error_chain": [{"code": 6111, "message":
                                                           "Invalid format for Authorization "
                                                           "header"}]}])
        if header[7:] != self.token:
            return _envelope(None, 401, [{"code": 10000, "message": "Authentication error"}])
        return await handler(request)

    async def list_zones(self, request: web.Request) -> web.Response:
        name = request.query.get("name")
        found = [{"id": zid, "name": zname, "status": "active", "paused": False,
                  "type": "full"} for zname, zid in self.zones.items()
                 if name is None or zname == name]
        return _envelope(found, result_info={"page": 1, "per_page": 20, "count": len(found),
                                             "total_count": len(found),
                                             "total_pages": 1 if found else 0})

    async def list_records(self, request: web.Request) -> web.Response:
        q = request.query
        if request.match_info["zone"] not in self.zones.values():
            return _envelope(None, 404, [{"code": 7003, "message": "Could not route to "
                                          f"/zones/{request.match_info['zone']}/dns_records, "
                                          "perhaps your object identifier is invalid?"}])
        found = [r for r in self.records.values()
                 if r["zone_id"] == request.match_info["zone"]
                 and ("type" not in q or r["type"] == q["type"])
                 and ("name" not in q or r["name"] == q["name"])]
        return _envelope(found, result_info={"page": 1, "per_page": 100, "count": len(found),
                                             "total_count": len(found),
                                             "total_pages": 1 if found else 0})

    async def patch(self, request: web.Request) -> web.Response:
        return await self._change(request, merge=True)

    async def put(self, request: web.Request) -> web.Response:
        return await self._change(request, merge=False)

    async def _change(self, request: web.Request, merge: bool) -> web.Response:
        record = self.records.get(request.match_info["id"])
        if record is None or record["zone_id"] != request.match_info["zone"]:
            return _envelope(None, 404, [{"code": 81044, "message": "Record does not exist."}])
        body = await request.json()
        if merge:
            record.update({k: v for k, v in body.items() if k in ("content", "proxied", "ttl",
                                                                   "comment", "name")})
        else:  # a PUT overwrites: what it does not name falls back to the defaults
            record.update(content=body["content"], name=body.get("name", record["name"]),
                          proxied=bool(body.get("proxied", False)), ttl=body.get("ttl", 1),
                          comment=body.get("comment"))
        await self.publish(record)
        return _envelope(record)

    async def publish(self, record: dict[str, Any]) -> None:
        served = CLOUDFLARE_EDGE if record["proxied"] and record["type"] == "A" \
            else record["content"]
        await self.bind.publish(record["zone_name"], record["name"], record["type"], [served])


@dataclass
class DuckDns:
    """`GET /update?domains=a[,b]&token=t[&ip=x][&ipv6=y][&verbose=true][&clear=true]`:
    `OK` or `KO` (verbose: `OK`, the IPv4, the IPv6, `UPDATED` or `NOCHANGE`). The sub-names
    live under `duckdns.org` in `bind`. `ip` takes either family (an IPv6 one sets the AAAA
    record)."""

    bind: Bind
    token: str
    subnames: set[str]
    zone: str = "duckdns.org"
    served: dict[tuple[str, str], str] = field(default_factory=dict)  # (sub, type) -> ip
    requests: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/update", self.update)
        return app

    async def update(self, request: web.Request) -> web.Response:
        q = request.query
        self.requests.append(dict(q))
        names = [n for n in q.get("domains", "").split(",") if n]
        if q.get("token") != self.token or not names or set(names) - self.subnames:
            return web.Response(text="KO")
        ip = q.get("ip") or (request.remote or "")
        v4 = ip if ":" not in ip else ""
        v6 = q.get("ipv6") or (ip if ":" in ip else "")
        changed = False
        for name in names:
            for rdtype, value in (("A", v4), ("AAAA", v6)):
                if value and self.served.get((name, rdtype)) != value:
                    self.served[(name, rdtype)] = value
                    await self.bind.publish(self.zone, f"{name}.{self.zone}", rdtype, [value])
                    changed = True
        if q.get("verbose") == "true":
            return web.Response(text=f"OK\n{v4}\n{v6}\n{'UPDATED' if changed else 'NOCHANGE'}")
        return web.Response(text="OK")

    def updates(self) -> list[tuple[str, str]]:
        return [(r.get("domains", ""), r.get("ip", "")) for r in self.requests]


def rfc2136_entry(bind: Bind, tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    return {"server": f"127.0.0.1:{bind.port}", "zone": "home.test", "key_name": KEY,
            "key_secret_file": str(tmp_path / "tsig"), "hosts": RFC_HOSTS, **overrides}


def cloudflare_entry(cloudflare: Cloudflare, **overrides: Any) -> dict[str, Any]:
    return {"api_token": "${DDNS_TEST_CF_TOKEN}", "api_url": cloudflare.url,
            "hosts": CF_HOSTS, **overrides}


def duckdns_entry(duckdns: DuckDns, tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    return {"token_file": str(tmp_path / "duckdns"), "update_url": duckdns.url,
            "hosts": ["myhome"], "min_interval": 0, **overrides}
