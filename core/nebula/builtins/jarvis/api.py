"""Jarvis over HTTP: status, conversations (answers stream on /api/v1/events), diagnose,
and running one tool by hand."""

from __future__ import annotations

from aiohttp import web

from nebula.http.endpoints import ADMIN, endpoint, json_body, ok, query_number
from nebula.http.keys import agent_of, principal_of
from nebula.http.problems import Problem
from nebula.jarvis.catalogue import ToolNotFound
from nebula.jarvis.conversations import ConversationNotFound
from nebula.jarvis.engine import ConversationBusy, JarvisDisabled, JarvisFailure

MESSAGE_SCHEMA = {"type": "object", "additionalProperties": False, "required": ["message"],
                  "properties": {"message": {"type": "string", "minLength": 1,
                                             "maxLength": 20000}}}
DIAGNOSE_SCHEMA = {"type": "object", "additionalProperties": False, "required": ["check"],
                   "properties": {"check": {"type": "string", "minLength": 1,
                                            "description": "<plugin>.<name>"}}}
TAG = "jarvis"


def _disabled(exc: JarvisDisabled) -> Problem:
    return Problem(503, str(exc))


@endpoint("GET", "/api/v1/jarvis/status", "Whether Jarvis is enabled, and with which model",
          tag=TAG)
async def status(request: web.Request) -> web.Response:
    return ok(agent_of(request).jarvis.status())


async def _submit(request: web.Request, conversation_id: str | None) -> web.Response:
    body = await json_body(request, MESSAGE_SCHEMA)
    try:
        cid = await agent_of(request).jarvis.submit(
            body["message"], principal_of(request).name, conversation_id)
    except JarvisDisabled as exc:
        raise _disabled(exc) from None
    except ConversationNotFound:
        raise Problem(404, f"no conversation {conversation_id!r}") from None
    except ConversationBusy as exc:
        raise Problem(409, str(exc)) from None
    return ok({"conversation_id": cid}, 202)


@endpoint("POST", "/api/v1/jarvis/conversations",
          "Ask Jarvis: starts a conversation; the answer streams as jarvis.* events",
          role=ADMIN, body=MESSAGE_SCHEMA, tag=TAG)
async def start_conversation(request: web.Request) -> web.Response:
    return await _submit(request, None)


@endpoint("POST", "/api/v1/jarvis/conversations/{id}/messages",
          "Continue a conversation with its history", role=ADMIN, body=MESSAGE_SCHEMA, tag=TAG)
async def continue_conversation(request: web.Request) -> web.Response:
    return await _submit(request, request.match_info["id"])


@endpoint("GET", "/api/v1/jarvis/conversations", "Conversations, most recent first",
          query={"limit": "1-1000"}, tag=TAG)
async def list_conversations(request: web.Request) -> web.Response:
    limit = int(query_number(request, "limit", 100, minimum=1, maximum=1000))
    return ok(await agent_of(request).jarvis.conversations.list(limit))


@endpoint("GET", "/api/v1/jarvis/conversations/{id}",
          "One conversation: its state and messages", tag=TAG)
async def get_conversation(request: web.Request) -> web.Response:
    try:
        return ok(await agent_of(request).jarvis.conversation(request.match_info["id"]))
    except ConversationNotFound:
        raise Problem(404, f"no conversation {request.match_info['id']!r}") from None


@endpoint("POST", "/api/v1/jarvis/diagnose",
          "Root-cause hypothesis for a check, with proposed actions filed as approvals",
          role=ADMIN, body=DIAGNOSE_SCHEMA, tag=TAG)
async def diagnose(request: web.Request) -> web.Response:
    from nebula.jarvis.diagnose import CheckNotFound, diagnose

    body = await json_body(request, DIAGNOSE_SCHEMA)
    try:
        return ok(await diagnose(agent_of(request), body["check"]))
    except JarvisDisabled as exc:
        raise _disabled(exc) from None
    except CheckNotFound:
        raise Problem(404, f"no check named {body['check']!r}") from None
    except JarvisFailure as exc:
        raise Problem(502, str(exc)) from None


@endpoint("POST", "/api/v1/tools/{name}/run",
          "Run a Jarvis tool with the body as its arguments; an action-backed destructive "
          "one answers 202 with a pending approval", role=ADMIN, body={"type": "object"},
          tag="panels")
async def run_tool(request: web.Request) -> web.Response:
    params = await json_body(request, {"type": "object"})
    agent = agent_of(request)
    try:
        tool = agent.jarvis.catalogue.resolve(request.match_info["name"])
    except ToolNotFound:
        raise Problem(404, f"no tool named {request.match_info['name']!r}") from None
    outcome = await agent.jarvis.catalogue.run(tool, params, principal_of(request).name,
                                               agent.jarvis.settings.tool_timeout)
    if outcome["status"] == "invalid":
        raise Problem(422, "invalid tool arguments",
                      errors=[{"path": e.partition(":")[0], "message": e.partition(": ")[2]}
                              for e in outcome["errors"]])
    return ok(outcome, 202 if outcome["status"] == "pending_approval" else 200)
