"""The plugin's runtime: the template catalogue, the engine client, and deploy/remove as
approved plans run step by step (nebula_apps.deploy).

Each deployed app is recorded in the plugin's store (`apps`): template, container, port,
volumes and the names of its secrets (the values live in the secret store as
`<app>.<NAME>`)."""

from __future__ import annotations

import asyncio
import functools
import secrets
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp

from nebula.api import ParamError, PluginContext
from nebula.helpers import nameservers
from nebula.helpers.coordinator import Coordinator
from nebula.helpers.ddns.published import lookup
from nebula_apps import engine, probes, stacks, templates
from nebula_apps.deploy import Step, run
from nebula_apps.templates import Catalogue, Template

if TYPE_CHECKING:
    import docker  # the SDK loads with the first engine that answers (engine.client)

T = TypeVar("T")
APPS = "apps"
HEALTH_POLL = 0.25
NO_DNS = "DNS record: not made here (no DDNS plugin: zoneedit or ddns)"
DDNS_PLUGINS = ("zoneedit", "ddns")


class Runtime:
    """Returned by `nebula_startup`; the core closes it (`aclose`) when the plugin stops."""

    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.config = ctx.config
        docker_config = ctx.peer_config("docker") or {}
        self.base_url = ctx.config["base_url"] or docker_config.get("base_url", "")
        self._client: docker.DockerClient | None = None
        self.catalogue = Coordinator(self._load, max_age=5, name="apps.templates",
                                     log=ctx.log)
        self._deploying = asyncio.Lock()
        self.resolvers = [nameservers.parse(spec, ctx.config["dns_port"])
                          for spec in ctx.config["resolvers"]]
        # Per DDNS plugin, the public IP it keeps records on, as its `public_ip` event
        # last said (or its action, asked once while no event came).
        self._public_ips: dict[str, Mapping[str, Any]] = {}

    async def aclose(self) -> None:
        await self.catalogue.aclose()
        if self._client is not None:
            client, self._client = self._client, None
            await asyncio.to_thread(client.close)

    async def _load(self) -> Catalogue:
        return await asyncio.to_thread(templates.load, self.config.get("templates_dir"))

    async def call(self, fn: Callable[[docker.DockerClient], T]) -> T:
        def work() -> T:
            if self._client is None:
                self._client = engine.client(self.base_url, self.config["timeout"])
            return fn(self._client)

        return await asyncio.to_thread(work)

    async def apps(self) -> dict[str, dict[str, Any]]:
        return dict(await self.ctx.kv.get(APPS, {}))

    async def template(self, name: str) -> Template:
        catalogue = await self.catalogue.get()
        if name not in catalogue.templates:
            raise ParamError("template", f"no template {name!r}; have: "
                                         f"{', '.join(sorted(catalogue.templates))}")
        return catalogue.templates[name]

    # --- deploy --------------------------------------------------------------------------

    async def plan_deploy(self, params: Mapping[str, Any]) -> dict[str, Any]:
        domain = params.get("domain")
        if domain and self.ctx.peer_config("caddy") is None:
            raise ParamError("domain", "serving a domain needs the caddy plugin running")
        template = await self.template(params["template"])
        app = params.get("name") or template.name
        if params.get("database"):
            if template.database_env is None:
                raise ParamError("database", f"template {template.name} takes no database")
            if self.ctx.peer_config("postgres") is None:
                raise ParamError("database", "a database needs the postgres plugin running")
        if app in await self.apps():
            raise ParamError("name", f"an app named {app} is deployed already")
        if await self.call(lambda c: engine.exists(c, app)):
            raise ParamError("name", f"a container named {app} exists already")
        bind, port = self.config["bind"], params["port"]
        if not _port_free(bind, port):
            raise ParamError("port", f"{bind}:{port} is in use")
        path = template.health_path
        plan: dict[str, Any] = {
            "app": app, "template": template.name, "image": template.image,
            "command": list(template.command), "container": app, "port": template.port,
            "bind": bind, "host_port": port, "env": dict(template.env),
            "secrets": dict(sorted(template.secrets.items())),
            "volumes": [{"volume": f"{app}-{key}", "path": path_in}
                        for key, path_in in sorted(template.volumes.items())],
            "health": {"url": f"http://{_host(bind)}:{port}{path}",
                       "timeout": template.health_timeout},
            "steps": [f"secret {name} ({template.secrets[name]} random bytes, kept in the "
                      f"secret store)" for name in sorted(template.secrets)]
            + [f"volume {app}-{key} at {p}" for key, p in sorted(template.volumes.items())]
            + [f"container {app} from {template.image}, port {template.port} on "
               f"{bind}:{port}", f"wait until http://{_host(bind)}:{port}{path} answers "
                                 f"(at most {template.health_timeout:g} s)"],
        }
        if params.get("database"):
            database = app.replace("-", "_")
            plan["database"] = {"name": database, "env": template.database_env}
            plan["covers"] = [{"action": "postgres.drop_database",
                               "params": {"database": database}}]
            plan["steps"].insert(len(template.secrets), (
                f"database {database} with its own role (postgres.create_database), its "
                f"connection string as {template.database_env} (kept in the secret store)"))
        if domain and (dns := self.dns_plugin()):
            plan["dns"] = dns
            plan["covers"] = [*plan.get("covers", []),
                              {"action": f"{dns}.add_host", "params": {"host": domain}},
                              {"action": f"{dns}.remove_host", "params": {"host": domain}}]
        if domain:
            site = {"host": domain, "upstreams": [f"{_host(bind)}:{port}"],
                    "tls": params.get("tls", "auto")}
            plan["domain"] = domain
            # Run under this approval (the core's "covers"): the site, and its removal
            # should a later step fail.
            plan["covers"] = [*plan.get("covers", []),
                              {"action": "caddy.add_site", "params": site},
                              {"action": "caddy.remove_site", "params": {"host": domain}}]
            plan["steps"] += [
                f"DNS record {domain} on the public IP, by {plan['dns']}.add_host under "
                "this approval" if plan.get("dns") else NO_DNS,
                f"Caddy site {domain} -> {_host(bind)}:{port} ({site['tls']} TLS), by "
                "caddy.add_site under this approval",
                f"wait until https://{domain}{path} answers through Caddy (at most "
                f"{template.health_timeout:g} s)"]
        return plan

    async def deploy(self, plan: Mapping[str, Any]) -> dict[str, Any]:
        async with self._deploying:
            app = plan["app"]
            if app in await self.apps():
                raise ParamError("name", f"an app named {app} is deployed already")
            env = dict(plan["env"])
            steps = [self._secret_step(app, name, size, env)
                     for name, size in plan["secrets"].items()]
            if plan.get("database"):
                steps.append(self._database_step(app, plan["database"], env))
            steps += [self._volume_step(app, v["volume"]) for v in plan["volumes"]]
            steps += [self._container_step(plan, env), self._health_step(plan)]
            address: list[Any] = []
            if plan.get("dns"):
                steps.append(self._dns_step(plan))
            if plan.get("domain"):
                steps += [self._site_step(plan, address),
                          self._through_caddy_step(plan, address)]
            started = time.monotonic()
            done = await run(steps)
            record = {"template": plan["template"], "container": app,
                      "image": plan["image"], "port": plan["host_port"],
                      "bind": plan["bind"], "url": plan["health"]["url"],
                      "volumes": [v["volume"] for v in plan["volumes"]],
                      "secrets": sorted(plan["secrets"]), "domain": plan.get("domain"),
                      "database": plan.get("database"), "dns": plan.get("dns"),
                      "caddy": address or None,  # where Caddy serves its domain
                      "deployed_at": time.time()}
            apps = await self.apps()
            apps[app] = record
            await self.ctx.kv.set(APPS, apps)
            self.ctx.log.info("apps.deployed", app=app, template=plan["template"])
            return {"app": app, "url": plan["health"]["url"], "steps": done,
                    "seconds": round(time.monotonic() - started, 2)}

    def _secret_step(self, app: str, name: str, size: int, env: dict[str, str]) -> Step:
        key = f"{app}.{name}"

        async def do() -> bool:
            kept = await self.ctx.secrets.get(key)  # from a removal that kept the data
            env[name] = kept or secrets.token_urlsafe(size)
            if kept is None:
                await self.ctx.secrets.set(key, env[name])
            return kept is None

        async def undo() -> None:
            await self.ctx.secrets.delete(key)

        return Step(f"secret {name}", do, undo)

    def _volume_step(self, app: str, volume: str) -> Step:
        async def do() -> bool:
            return await self.call(lambda c: engine.create_volume(c, volume, app))

        async def undo() -> None:
            await self.call(lambda c: engine.remove_volume(c, volume))

        return Step(f"volume {volume}", do, undo)

    def _container_step(self, plan: Mapping[str, Any], env: Mapping[str, str]) -> Step:
        async def do() -> bool:
            await self.call(lambda c: engine.run_container(c, {
                **plan, "app": plan["app"], "template": plan["template"]}, env))
            return True

        async def undo() -> None:
            await self.call(lambda c: engine.remove_container(c, plan["container"]))

        return Step(f"container {plan['container']}", do, undo)

    def _health_step(self, plan: Mapping[str, Any]) -> Step:
        url, limit = plan["health"]["url"], plan["health"]["timeout"]

        async def do() -> bool:
            deadline = time.monotonic() + limit
            last = "no answer yet"
            while time.monotonic() < deadline:
                state = await self.call(lambda c: engine.container_state(c, plan["container"]))
                # Its restart policy starts it again at once: a restart is the exit.
                if state is None:
                    raise RuntimeError("the container is gone")
                if state["state"] in ("exited", "dead"):
                    raise RuntimeError(f"the container exited (exit code "
                                       f"{state['exit_code']})")
                if state["state"] == "restarting" or state["restarts"]:
                    # Its exit code is the new run's by now: only the restarts tell.
                    raise RuntimeError(f"the container exited and was restarted "
                                       f"{state['restarts']} time(s)")
                last = await _answer(self.ctx.http, url)
                if last.startswith("HTTP ") and int(last.split()[1]) < 500:
                    return False
                await asyncio.sleep(HEALTH_POLL)
            raise RuntimeError(f"{url} not healthy within {limit:g} s ({last})")

        async def undo() -> None:
            pass

        return Step(f"health {url}", do, undo)

    async def _call(self, action: str, params: Mapping[str, Any]) -> Any:
        outcome = await self.ctx.call_action(action, params)
        if outcome.get("status") != "ok":
            raise RuntimeError(f"{action}: {outcome.get('error') or outcome.get('status')}")
        return outcome.get("result")

    def _database_step(self, app: str, database: Mapping[str, str],
                       env: dict[str, str]) -> Step:
        key = f"{app}.{database['env']}"

        async def do() -> bool:
            kept = await self.ctx.secrets.get(key)  # from a removal that kept the data
            if kept is not None:
                env[database["env"]] = kept
                return False
            made = await self._call("postgres.create_database", {"name": database["name"]})
            await self.ctx.secrets.set(key, made["dsn"])
            env[database["env"]] = made["dsn"]
            return True

        async def undo() -> None:
            await self._call("postgres.drop_database", {"database": database["name"]})
            await self.ctx.secrets.delete(key)

        return Step(f"database {database['name']}", do, undo)

    def dns_plugin(self) -> str | None:
        """The DDNS plugin that keeps app domains' records, if one is running."""
        wanted = self.config.get("dns", "")
        if wanted == "none":
            return None
        running = [p for p in DDNS_PLUGINS if self.ctx.peer_config(p) is not None]
        if wanted:
            return wanted if wanted in running else None
        return running[0] if running else None

    def _dns_step(self, plan: Mapping[str, Any]) -> Step:
        add, remove = (next(c for c in plan["covers"] if c["action"] == f"{plan['dns']}.{name}")
                       for name in ("add_host", "remove_host"))

        async def do() -> bool:
            await self._call(add["action"], add["params"])
            return True

        async def undo() -> None:
            await self._call(remove["action"], remove["params"])

        return Step(f"DNS record {plan['domain']}", do, undo)

    def _site_step(self, plan: Mapping[str, Any], address: list[Any]) -> Step:
        add, remove = (next(c for c in plan["covers"] if c["action"] == name)
                       for name in ("caddy.add_site", "caddy.remove_site"))

        async def do() -> bool:
            result = await self._call(add["action"], add["params"])
            address[:] = result["address"]
            return True

        async def undo() -> None:
            await self._call(remove["action"], remove["params"])

        return Step(f"Caddy site {plan['domain']}", do, undo)

    def _through_caddy_step(self, plan: Mapping[str, Any], address: list[Any]) -> Step:
        domain, limit = plan["domain"], plan["health"]["timeout"]
        path = "/" + plan["health"]["url"].split("/", 3)[3]

        async def do() -> bool:
            deadline = time.monotonic() + limit
            last = "no answer yet"
            while time.monotonic() < deadline:
                last = await _through_caddy(address[0], address[1], domain, path)
                if last.startswith("HTTP ") and int(last.split()[1]) < 500:
                    return False
                await asyncio.sleep(HEALTH_POLL)
            raise RuntimeError(f"https://{domain}{path} not answering through Caddy within "
                               f"{limit:g} s ({last})")

        async def undo() -> None:
            pass

        return Step(f"https://{domain} through Caddy", do, undo)

    # --- remove --------------------------------------------------------------------------

    async def plan_remove(self, params: Mapping[str, Any]) -> dict[str, Any]:
        app = params["name"]
        record = (await self.apps()).get(app)
        if record is None:
            raise ParamError("name", f"no app {app} deployed here")
        data = bool(params.get("volumes"))
        domain, database = record.get("domain"), record.get("database")
        # Other plugins' destructive calls, covered by this removal's approval: the site
        # before the container goes, the database after.
        before = [{"action": "caddy.remove_site", "params": {"host": domain}}] if domain \
            else []
        if dns := record.get("dns"):
            before.append({"action": f"{dns}.remove_host", "params": {"host": domain}})
        after = [{"action": "postgres.drop_database",
                  "params": {"database": database["name"]}}] if database and data else []
        secret_keys = [f"{app}.{name}" for name in record["secrets"]]
        if database:
            secret_keys.append(f"{app}.{database['env']}")
        steps = [f"remove Caddy site {domain} (caddy.remove_site under this approval)"
                 ] if domain else []
        if dns:
            steps.append(f"remove DNS record {domain} ({dns}.remove_host under this "
                         "approval)")
        steps.append(f"remove container {record['container']}")
        if data:
            steps += [f"drop database {database['name']} and its role "
                      "(postgres.drop_database under this approval)"] if database else []
            steps += [f"delete volume {v}" for v in record["volumes"]]
            steps += [f"delete secret {k.split('.', 1)[1]}" for k in secret_keys]
        else:
            steps += [f"keep database {database['name']}"] if database else []
            steps += [f"keep volume {v}" for v in record["volumes"]]
            steps += [f"keep secret {k.split('.', 1)[1]}" for k in secret_keys]
        return {"app": app, "container": record["container"], "remove_data": data,
                "volumes": record["volumes"], "secret_keys": secret_keys,
                "before": before, "after": after,
                **({"covers": before + after} if before + after else {}), "steps": steps}

    async def remove(self, plan: Mapping[str, Any]) -> dict[str, Any]:
        async with self._deploying:
            app = plan["app"]
            await self._calls(app, plan["before"])
            await self.call(lambda c: engine.remove_container(c, plan["container"]))
            await self._calls(app, plan["after"])
            if plan["remove_data"]:
                for volume in plan["volumes"]:
                    await self.call(functools.partial(engine.remove_volume, name=volume))
                for key in plan["secret_keys"]:
                    await self.ctx.secrets.delete(key)
            apps = await self.apps()
            apps.pop(app, None)
            await self.ctx.kv.set(APPS, apps)
            self.ctx.log.info("apps.removed", app=app, data_removed=plan["remove_data"])
            return {"app": app, "removed": plan["steps"]}

    async def _calls(self, app: str, calls: list[Mapping[str, Any]]) -> None:
        for call in calls:
            try:
                await self._call(call["action"], call["params"])
            except ParamError as exc:  # the site or database is gone already
                self.ctx.log.info("apps.already_gone", app=app, reason=str(exc))

    # --- stacks --------------------------------------------------------------------------

    def _stack_file(self, name: str) -> str:
        for stack in self.config["stacks"]:
            if stack["name"] == name:
                return str(stack["file"])
        raise ParamError("stack", f"no stack {name!r}; configured: "
                                  f"{', '.join(s['name'] for s in self.config['stacks'])}")

    async def plan_stack(self, params: Mapping[str, Any]) -> dict[str, Any]:
        file = self._stack_file(params["stack"])
        try:
            command = stacks.implementation(self.config["compose"])
            rows = await self.call(lambda c: stacks.rows(c, params["stack"], file))
        except stacks.StackError as exc:
            raise ParamError("stack", str(exc)) from None
        return {"stack": params["stack"], "file": file, "command": params["command"],
                "runs": [*command, "-f", file, "-p", params["stack"],
                         *stacks.COMMANDS[params["command"]]],
                "services": {r["service"]: r["drift"] for r in rows}}

    async def run_stack(self, plan: Mapping[str, Any]) -> dict[str, Any]:
        command = stacks.implementation(self.config["compose"])
        if [*command, "-f", plan["file"], "-p", plan["stack"],
                *stacks.COMMANDS[plan["command"]]] != plan["runs"]:
            raise stacks.StackError("the compose command changed since the plan (config "
                                    "reloaded?): ask anew")
        result = await stacks.run(command, plan["file"], plan["stack"], plan["command"],
                                  self.config["compose_env"], self.config["compose_timeout"])
        self.ctx.log.info("apps.stack", stack=plan["stack"], command=plan["command"])
        return {**result, "services": await self.stack_rows(plan["stack"])}

    async def stack_rows(self, only: str | None = None) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for stack in self.config["stacks"]:
            if only is not None and stack["name"] != only:
                continue
            try:
                out += await self.call(functools.partial(stacks.rows, name=stack["name"],
                                                         file=stack["file"]))
            except (stacks.StackError, engine.EngineError) as exc:
                out.append({"stack": stack["name"], "service": None, "image": None,
                            "containers": "", "state": None, "drift": str(exc)})
        return out

    def compose_used(self) -> str:
        try:
            return " ".join(stacks.implementation(self.config["compose"]))
        except stacks.StackError as exc:
            return str(exc)

    # --- looking -------------------------------------------------------------------------

    async def certificate(self, record: Mapping[str, Any]) -> dict[str, Any] | None:
        """The app's domain's certificate, on the wire at Caddy (None: no domain)."""
        if not (record.get("domain") and record.get("caddy")):
            return None
        host, port = record["caddy"]
        return await probes.certificate(self.ctx.http, self.ctx.peer_config("caddy"), host,
                                        port, record["domain"])

    async def database(self, app: str, record: Mapping[str, Any]) -> dict[str, Any] | None:
        """The app's own database, reached with its own credentials (None: it has none)."""
        if not (database := record.get("database")):
            return None
        dsn = await self.ctx.secrets.get(f"{app}.{database['env']}")
        if dsn is None:
            return {"status": "critical", "text": f"its connection string {app}."
                                                  f"{database['env']} is not in the secret "
                                                  "store"}
        return await probes.database(dsn)

    async def on_public_ip(self, event: Mapping[str, Any]) -> None:
        """A DDNS plugin's `public_ip` event: the address its records serve from now on."""
        if event.get("source") in DDNS_PLUGINS:
            self._public_ips[str(event["source"])] = dict(event.get("data") or {})

    async def _public_ip(self, dns: str) -> Mapping[str, Any]:
        """What `dns` says our public IP is; RuntimeError when it cannot say."""
        if dns not in self._public_ips:
            try:
                found = await self._call(f"{dns}.public_ip", {})
            except (KeyError, RuntimeError) as exc:
                raise RuntimeError(f"{dns}.public_ip: {exc}") from None
            self._public_ips.setdefault(dns, found or {})  # an event meanwhile is newer
        return self._public_ips[dns]

    async def resolution(self, record: Mapping[str, Any]) -> dict[str, Any] | None:
        """Whether every configured resolver serves the app's domain on the public IP its
        DDNS plugin keeps records on (None: no domain, or no DDNS plugin made its record)."""
        domain, dns = record.get("domain"), record.get("dns")
        if not (domain and dns):
            return None
        if self.ctx.peer_config(dns) is None:
            return {"status": "warning", "text": f"{domain}: the {dns} plugin that keeps "
                                                 "its record is not running"}
        try:
            public = await self._public_ip(dns)
        except RuntimeError as exc:
            return {"status": "warning", "text": f"{domain}: public IP unknown ({exc})"}
        served, reasons = [], []
        for family in (4, 6):
            info = public.get(f"ipv{family}") or {}
            if not info.get("ip"):
                if info:
                    reasons.append(f"ipv{family}: {info.get('reason')}")
                continue
            found = await lookup(domain, family, self.resolvers, self.config["dns_timeout"])
            if not found.matches(info["ip"]):
                return {"status": "critical", "text": f"{domain} should serve {info['ip']}: "
                                                      f"{found.describe()}"}
            served.append(info["ip"])
        if not served:
            return {"status": "warning", "text": f"{domain}: public IP unknown ("
                                                 f"{'; '.join(reasons) or 'no answer'})"}
        return {"status": "ok", "text": f"{domain} serves {' and '.join(served)}"}

    async def status(self) -> list[dict[str, Any]]:
        rows = []
        for app, record in sorted((await self.apps()).items()):
            try:
                state = await self.call(functools.partial(engine.container_state,
                                                          name=record["container"]))
            except engine.EngineUnavailable as exc:
                state = {"state": f"unknown ({exc})"}
            answer = await _answer(self.ctx.http, record["url"])
            through = None
            if record.get("domain") and record.get("caddy"):
                path = "/" + record["url"].split("/", 3)[3]
                host, port = record["caddy"]
                through = await _through_caddy(host, port, record["domain"], path)
            cert, db = await asyncio.gather(self.certificate(record),
                                            self.database(app, record))
            rows.append({"app": app, "template": record["template"],
                         "state": None if state is None else state["state"],
                         "url": record["url"], "answer": answer,
                         "domain": record.get("domain"), "through_caddy": through,
                         "certificate": cert and cert["text"],
                         "database": (record.get("database") or {}).get("name"),
                         "database_answer": db and db["text"],
                         "volumes": ", ".join(record["volumes"]),
                         "deployed_at": record["deployed_at"]})
        return rows


def _host(bind: str) -> str:
    return "127.0.0.1" if bind in ("0.0.0.0", "") else bind


def _port_free(bind: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((bind, port))
        except OSError:
            return False
    return True


async def _through_caddy(address: str, port: int, domain: str, path: str) -> str:
    """"HTTP <status>" of GET `path` as `domain` (SNI and Host) at Caddy's `address:port`,
    or why there was none. The certificate is not judged here: the caddy plugin's
    certificates check does that (a site's first one may still be being issued)."""
    tls = ssl.create_default_context()
    tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(
            address, port, ssl=tls, server_hostname=domain), 5)
    except (OSError, asyncio.TimeoutError) as exc:
        return f"no answer: {type(exc).__name__}: {exc}"
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {domain}\r\nConnection: close\r\n\r\n"
                     .encode())
        status = await asyncio.wait_for(reader.readline(), 5)
    except (OSError, asyncio.TimeoutError) as exc:
        return f"no answer: {type(exc).__name__}: {exc}"
    finally:
        writer.close()
    parts = status.decode(errors="replace").split()
    return f"HTTP {parts[1]}" if len(parts) > 1 and parts[1].isdigit() else "no answer"


async def _answer(http: aiohttp.ClientSession, url: str) -> str:
    """"HTTP <status>", or why there was no answer."""
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=5),
                            allow_redirects=False) as resp:
            return f"HTTP {resp.status}"
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        return f"no answer: {type(exc).__name__}"

