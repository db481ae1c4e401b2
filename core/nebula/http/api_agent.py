"""The agent itself: status, plugins, jobs, reload and the (masked) config."""

from __future__ import annotations

import asyncio

from aiohttp import web

from nebula.config import ConfigError
from nebula.http.endpoints import ADMIN, endpoint, ok
from nebula.http.keys import agent_of
from nebula.http.problems import Problem
from nebula.http.schemas import AGENT_STATUS, OBJECT, PLUGIN_DETAIL, PLUGIN_LIST
from nebula.plugins import masked_config


@endpoint("GET", "/api/v1/status", "Agent version, uptime and counts of plugin and check states",
          response=AGENT_STATUS)
async def status(request: web.Request) -> web.Response:
    agent = agent_of(request)
    body = agent.status()
    body["pending_approvals"] = len(await agent.actions.approvals("pending", 1000))
    return ok(body)


@endpoint("GET", "/api/v1/plugins", "Every discovered plugin with its state and error",
          tag="plugins", response=PLUGIN_LIST)
async def list_plugins(request: web.Request) -> web.Response:
    return ok({"plugins": agent_of(request).plugin_states()})


@endpoint("GET", "/api/v1/plugins/{name}", "One plugin: state, contributions, masked config",
          tag="plugins", response=PLUGIN_DETAIL)
async def get_plugin(request: web.Request) -> web.Response:
    agent = agent_of(request)
    record = agent.manager.records.get(request.match_info["name"])
    if record is None:
        raise Problem(404, f"no plugin named {request.match_info['name']!r}",
                      known=sorted(agent.manager.records))
    return ok({**record.public(), "config": agent.manager.masked_config(record),
               "config_schema": record.schema})


@endpoint("GET", "/api/v1/jobs", "Scheduled jobs with their next run time", tag="agent",
          response=OBJECT)
async def list_jobs(request: web.Request) -> web.Response:
    now = asyncio.get_running_loop().time()
    jobs = agent_of(request).scheduler.jobs.values()
    return ok({"jobs": [job.public(now) for job in sorted(jobs, key=lambda j: j.name)]})


@endpoint("POST", "/api/v1/reload", "Re-read the config file and apply it (as SIGHUP does)",
          role=ADMIN, response=OBJECT, problems=(422,))
async def reload(request: web.Request) -> web.Response:
    try:
        changes = await agent_of(request).reload_from_disk()
    except ConfigError as exc:
        raise Problem(422, "config is invalid; nothing was changed",
                      errors=[str(p) for p in exc.problems]) from None
    return ok({"changes": changes})


@endpoint("GET", "/api/v1/config", "The running config, secrets masked", role=ADMIN,
          response=OBJECT)
async def show_config(request: web.Request) -> web.Response:
    agent = agent_of(request)
    return ok(masked_config(agent.config, agent.manager))
