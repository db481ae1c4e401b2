"""One-click databases: templates are data (image, env, port, volume path, healthcheck,
connection-string format); a deployment is one container plus one named volume, both
labelled, with a generated password kept in the agent's secret store.

Nothing is pulled: an image that is not present locally is a clear error naming it, so a
deployment never waits on (or surprises anyone with) a registry download.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nebula.api import ParamError, PluginContext
from nebula_docker.engine import Engine, cli
from nebula_docker.model import TEMPLATE_LABEL
from nebula_docker.operations import ContainerReplaced

if TYPE_CHECKING:
    import docker

DEPLOYMENT_LABEL = "nebula.docker.deployment"
SECONDS = 1_000_000_000  # the engine's healthcheck durations are nanoseconds

BUILTIN: dict[str, dict[str, Any]] = {
    "postgres": {
        "image": "postgres:16", "port": 5432, "volume_path": "/var/lib/postgresql/data",
        "user": "postgres", "database": "app",
        "env": {"POSTGRES_USER": "{user}", "POSTGRES_PASSWORD": "{password}",
                "POSTGRES_DB": "{database}"},
        "healthcheck": ["CMD-SHELL", "pg_isready -U {user} -d {database}"],
        "connection": "postgresql://{user}:{password}@{host}:{port}/{database}",
    },
    "mariadb": {
        "image": "mariadb:11", "port": 3306, "volume_path": "/var/lib/mysql",
        "user": "root", "database": "app",
        "env": {"MARIADB_ROOT_PASSWORD": "{password}", "MARIADB_DATABASE": "{database}"},
        "healthcheck": ["CMD", "healthcheck.sh", "--connect", "--innodb_initialized"],
        "connection": "mysql://{user}:{password}@{host}:{port}/{database}",
    },
    "redis": {
        "image": "redis:7", "port": 6379, "volume_path": "/data",
        "env": {"REDISCLI_AUTH": "{password}"},
        "command": ["redis-server", "--requirepass", "{password}", "--appendonly", "yes"],
        "healthcheck": ["CMD-SHELL", "redis-cli ping | grep -q PONG"],
        "connection": "redis://:{password}@{host}:{port}/0",
    },
    "mongo": {
        "image": "mongo:7", "port": 27017, "volume_path": "/data/db",
        "user": "admin", "database": "admin",
        "env": {"MONGO_INITDB_ROOT_USERNAME": "{user}",
                "MONGO_INITDB_ROOT_PASSWORD": "{password}"},
        "healthcheck": ["CMD", "mongosh", "--quiet", "--eval", "db.adminCommand('ping')"],
        "connection": "mongodb://{user}:{password}@{host}:{port}/?authSource=admin",
    },
}


class DeployError(Exception):
    """A deployment that cannot (or need not) be made; the message says why."""


def templates(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {**BUILTIN, **config.get("templates", {})}


def _secret_key(name: str) -> str:
    return f"db/{name}/password"


def _kv_key(name: str) -> str:
    return f"db/{name}"


@dataclass(frozen=True)
class Plan:
    name: str
    template: str
    image: str
    env: dict[str, str]
    command: list[str] | None
    healthcheck: dict[str, Any] | None
    volume: str
    volume_path: str
    container_port: int
    host: str
    host_port: int | None  # None: the engine picks
    labels: dict[str, str]


def make_plan(spec: Mapping[str, Any], template: str, name: str, password: str,
              host: str, host_port: int | None) -> Plan:
    values = {"user": spec.get("user", ""), "database": spec.get("database", ""),
              "password": password, "name": name}

    def fill(text: str) -> str:
        return text.format_map(values)

    health = None
    if spec.get("healthcheck"):
        health = {"test": [fill(t) for t in spec["healthcheck"]], "interval": 10 * SECONDS,
                  "timeout": 5 * SECONDS, "retries": 5, "start_period": 30 * SECONDS}
    port = spec["port"] if host_port is None else host_port
    return Plan(
        name=name, template=template, image=spec["image"],
        env={k: fill(v) for k, v in spec.get("env", {}).items()},
        command=[fill(a) for a in spec["command"]] if spec.get("command") else None,
        healthcheck=health, volume=f"{name}-data", volume_path=spec["volume_path"],
        container_port=spec["port"], host=host, host_port=port or None,
        labels={TEMPLATE_LABEL: template, DEPLOYMENT_LABEL: name})


def _create(client: docker.DockerClient, plan: Plan) -> dict[str, Any]:
    """Worker thread: image check, name check, volume, container, start; the published port."""
    from docker.errors import ImageNotFound, NotFound  # on a client: the SDK is loaded

    try:
        client.images.get(plan.image)
    except ImageNotFound:
        tool = cli(client.version())
        raise DeployError(f"image {plan.image} is not present locally; pull it first "
                          f"({tool} pull {plan.image}) and deploy again") from None
    try:
        existing = client.containers.get(plan.name)
    except NotFound:
        existing = None
    if existing is not None:
        owner = existing.labels.get(DEPLOYMENT_LABEL)
        what = "this deployment" if owner == plan.name else "another container"
        raise DeployError(f"a container named {plan.name} already exists ({what}); "
                          "nothing was created")
    client.volumes.create(plan.volume, labels=plan.labels)
    try:
        # docker's stubs know neither the "unless-stopped" policy nor (host, None), a port
        # the engine picks; docker-py takes both.
        container = client.containers.run(  # type: ignore[call-overload]
            plan.image, plan.command, name=plan.name, detach=True, environment=plan.env,
            labels=plan.labels, healthcheck=plan.healthcheck,
            volumes={plan.volume: {"bind": plan.volume_path, "mode": "rw"}},
            ports={f"{plan.container_port}/tcp": (plan.host, plan.host_port)},
            restart_policy={"Name": "unless-stopped"})
    except Exception:
        # Leave nothing half-made behind: the same name must deploy cleanly next time.
        _remove(client, plan.name, plan.volume)
        raise
    container.reload()
    bound = (container.attrs["NetworkSettings"]["Ports"] or {}).get(
        f"{plan.container_port}/tcp") or [{}]
    return {"id": container.id, "host_port": int(bound[0].get("HostPort") or 0)}


def _remove(client: docker.DockerClient, name: str, volume: str) -> None:
    """The cleanup of a failed deployment (the container first frees the volume)."""
    from docker.errors import NotFound
    with contextlib.suppress(NotFound):
        client.containers.get(name).remove(force=True, v=False)
    with contextlib.suppress(NotFound):
        # Never forced: Podman's force would also remove any other container using it.
        client.volumes.get(volume).remove()


def _volume_created(client: docker.DockerClient, volume: str) -> str | None:
    from docker.errors import NotFound

    try:
        return str(client.api.inspect_volume(volume).get("CreatedAt") or "")
    except NotFound:
        return None


def _resolve(client: docker.DockerClient, name: str, record: Mapping[str, Any],
             ) -> dict[str, Any]:
    """Worker thread: the deployment's container id and volume, as they are now."""
    from docker.errors import NotFound

    container_id = ""
    try:
        container = client.containers.get(record["container"])
    except NotFound:
        pass
    else:
        if container.labels.get(DEPLOYMENT_LABEL) != name:
            raise DeployError(f"the container named {record['container']} is not the "
                              f"deployment {name} any more; nothing will be removed")
        container_id = container.id or ""
    return {"name": name, "container": record["container"], "id": container_id,
            "volume": record["volume"],
            "volume_created": _volume_created(client, record["volume"])}


def _remove_bound(client: docker.DockerClient, target: Mapping[str, Any]) -> dict[str, bool]:
    """Worker thread: remove the container and volume `target` was bound to, or nothing at
    all when either is not the one the approver saw."""
    from docker.errors import NotFound

    name, wanted = target["container"], target["id"]
    container = None
    try:
        current: Any = client.containers.get(name)
    except NotFound:
        current = None
    if wanted:
        try:
            container = client.containers.get(wanted)
        except NotFound:
            if current is not None:
                raise ContainerReplaced(
                    f"container {name} was id {wanted[:12]} when this was requested and "
                    f"is id {current.id[:12]} now (recreated?); nothing was removed") from None
    elif current is not None:
        raise ContainerReplaced(f"container {name} (id {current.id[:12]}) was made after "
                                "this was requested; nothing was removed")
    created = _volume_created(client, target["volume"])
    if created is not None and created != target["volume_created"]:
        raise DeployError(f"volume {target['volume']} was made again after this was "
                          "requested; nothing was removed")
    if container is not None:
        container.remove(force=True, v=False)
    if created is not None:
        client.api.remove_volume(target["volume"])  # never forced, see _remove
    return {"container": container is not None, "volume": created is not None}


class Databases:
    def __init__(self, ctx: PluginContext, engine: Engine) -> None:
        self._ctx = ctx
        self._engine = engine
        # One deployment of a name at a time, so two clicks never race to two containers.
        self._lock = asyncio.Lock()
        # Plugin routes answer outside the core's redaction: they mask these themselves.
        self.passwords: set[str] = set()

    async def remember_secrets(self) -> None:
        """Register every stored password for redaction, before anything can print one."""
        for name in await self._ctx.kv.get("deployments", []):
            if password := await self._ctx.secrets.get(_secret_key(name)):
                self.passwords.add(password)

    def mask(self, data: bytes) -> bytes:
        for password in self.passwords:
            data = data.replace(password.encode(), b"***")
        return data

    async def deploy(self, params: Mapping[str, Any]) -> dict[str, Any]:
        name, template = params["name"], params["template"]
        known = templates(self._ctx.config)
        if template not in known:
            raise DeployError(f"no template {template!r}; known: {', '.join(sorted(known))}")
        spec = known[template]
        async with self._lock:
            if await self._ctx.kv.get(_kv_key(name)) is not None:
                raise DeployError(f"{name} is already deployed; nothing was created")
            password = secrets.token_urlsafe(24)
            plan = make_plan(spec, template, name, password, self._ctx.config["bind_address"],
                             params.get("host_port"))
            # Stored (and so registered for redaction) before the engine sees it.
            await self._ctx.secrets.set(_secret_key(name), password)
            self.passwords.add(password)
            try:
                created = await self._engine.call(lambda client: _create(client, plan))
            except Exception:
                await self._ctx.secrets.delete(_secret_key(name))
                raise
            record = {"template": template, "image": plan.image, "container": name,
                      "volume": plan.volume, "host": plan.host, "port": created["host_port"],
                      "created": time.time(), "revealed": False}
            await self._ctx.kv.set(_kv_key(name), record)
            await self._ctx.kv.set("deployments",
                                   sorted({*await self._ctx.kv.get("deployments", []), name}))
        self._ctx.log.info("docker.database_deployed", name=name, template=template,
                           image=plan.image, port=created["host_port"])
        return {**self._public(name, record),
                "connection_string": self._connection(spec, name, record, password),
                "note": "the password is kept in the agent's secret store and masked in "
                        f"answers; POST /plugins/docker/databases/{name}/credentials shows "
                        "the connection string once"}

    async def credentials(self, name: str) -> str:
        """The connection string, in clear, the first time only."""
        async with self._lock:
            record = await self._ctx.kv.get(_kv_key(name))
            if record is None:
                raise DeployError(f"no deployment named {name}")
            if record.get("revealed"):
                raise DeployError(f"the connection string of {name} was already shown once")
            password = await self._ctx.secrets.get(_secret_key(name)) or ""
            await self._ctx.kv.set(_kv_key(name), {**record, "revealed": True})
        spec = templates(self._ctx.config).get(record["template"], {})
        self._ctx.log.info("docker.database_credentials_shown", name=name)
        return self._connection(spec, name, record, password)

    async def prepare_delete(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Binds a delete to the deployment's container id and volume as they are now."""
        name = params["name"]
        record = await self._ctx.kv.get(_kv_key(name))
        if record is None:
            raise ParamError("name", f"no deployment named {name}")
        try:
            return await self._engine.call(lambda client: _resolve(client, name, record))
        except DeployError as exc:
            raise ParamError("name", str(exc)) from None

    async def delete(self, target: Mapping[str, Any]) -> dict[str, Any]:
        """Removes what `prepare_delete` bound, refusing when it changed meanwhile."""
        if "volume_created" not in target:
            raise DeployError("this delete was not prepared; nothing was removed")
        name = target["name"]
        async with self._lock:
            record = await self._ctx.kv.get(_kv_key(name))
            if record is None:
                raise DeployError(f"no deployment named {name}")
            removed = await self._engine.call(lambda client: _remove_bound(client, target))
            await self._ctx.secrets.delete(_secret_key(name))
            await self._ctx.kv.delete(_kv_key(name))
            await self._ctx.kv.set("deployments", [n for n in await self._ctx.kv.get(
                "deployments", []) if n != name])
        self._ctx.log.info("docker.database_deleted", name=name, **removed)
        return {"name": name, "removed_container": removed["container"],
                "removed_volume": removed["volume"], "volume": record["volume"]}

    async def list(self) -> list[dict[str, Any]]:
        out = []
        for name in await self._ctx.kv.get("deployments", []):
            record = await self._ctx.kv.get(_kv_key(name))
            if record is not None:
                out.append(self._public(name, record))
        return out

    @staticmethod
    def _public(name: str, record: Mapping[str, Any]) -> dict[str, Any]:
        return {"name": name, "template": record["template"], "image": record["image"],
                "volume": record["volume"], "host": record["host"], "port": record["port"]}

    @staticmethod
    def _connection(spec: Mapping[str, Any], name: str, record: Mapping[str, Any],
                    password: str) -> str:
        return spec.get("connection", "").format_map({
            "user": spec.get("user", ""), "database": spec.get("database", ""),
            "password": password, "host": record["host"], "port": record["port"],
            "name": name})
