"""Jarvis over HTTP, under /api/v1/jarvis: status, conversations (answers stream on
/api/v1/events), and diagnose. Running one tool by hand is the core's
(`POST /api/v1/tools/{name}/run`): it needs no model."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from aiohttp import web

from nebula.builtins.jarvis.conversations import ConversationNotFound
from nebula.builtins.jarvis.engine import ConversationBusy, JarvisDisabled, JarvisFailure
from nebula.http.endpoints import ADMIN, Endpoint, json_body, ok, query_number
from nebula.http.keys import agent_of, principal_of
from nebula.http.problems import Problem

if TYPE_CHECKING:
    from nebula.builtins.jarvis.engine import Jarvis

MESSAGE_SCHEMA = {"type": "object", "additionalProperties": False, "required": ["message"],
                  "properties": {"message": {"type": "string", "minLength": 1,
                                             "maxLength": 20000}}}
DIAGNOSE_SCHEMA = {"type": "object", "additionalProperties": False, "required": ["check"],
                   "properties": {"check": {"type": "string", "minLength": 1,
                                            "description": "<plugin>.<name>"}}}
QUESTION_SCHEMA = {"type": "object", "additionalProperties": False, "required": ["question"],
                   "properties": {"question": {"type": "string", "minLength": 1,
                                               "maxLength": 20000}}}
TAG = "jarvis"


def _disabled(exc: JarvisDisabled) -> Problem:
    return Problem(503, str(exc))


@contextlib.contextmanager
def _look_errors() -> Iterator[None]:
    """A diagnosis's or an investigation's failures as problems: Jarvis off (503), the
    model failing or a bound reached (502)."""
    try:
        yield
    except JarvisDisabled as exc:
        raise _disabled(exc) from None
    except JarvisFailure as exc:
        raise Problem(502, str(exc)) from None


def endpoints(jarvis: Jarvis) -> list[Endpoint]:
    async def status(_request: web.Request) -> web.Response:
        return ok(jarvis.status())

    async def submit(request: web.Request, conversation_id: str | None) -> web.Response:
        body = await json_body(request, MESSAGE_SCHEMA)
        try:
            cid = await jarvis.submit(body["message"], principal_of(request).name,
                                      conversation_id)
        except JarvisDisabled as exc:
            raise _disabled(exc) from None
        except ConversationNotFound:
            raise Problem(404, f"no conversation {conversation_id!r}") from None
        except ConversationBusy as exc:
            raise Problem(409, str(exc)) from None
        return ok({"conversation_id": cid}, 202)

    async def start_conversation(request: web.Request) -> web.Response:
        return await submit(request, None)

    async def continue_conversation(request: web.Request) -> web.Response:
        return await submit(request, request.match_info["id"])

    async def list_conversations(request: web.Request) -> web.Response:
        limit = int(query_number(request, "limit", 100, minimum=1, maximum=1000))
        return ok(await jarvis.conversations.list(limit))

    async def get_conversation(request: web.Request) -> web.Response:
        try:
            return ok(await jarvis.conversation(request.match_info["id"]))
        except ConversationNotFound:
            raise Problem(404, f"no conversation {request.match_info['id']!r}") from None

    async def diagnose_check(request: web.Request) -> web.Response:
        from nebula.builtins.jarvis.diagnose import CheckNotFound, diagnose

        body = await json_body(request, DIAGNOSE_SCHEMA)
        with _look_errors():
            try:
                return ok(await diagnose(agent_of(request), jarvis, body["check"]))
            except CheckNotFound:
                raise Problem(404, f"no check named {body['check']!r}") from None

    async def investigate_question(request: web.Request) -> web.Response:
        from nebula.builtins.jarvis.diagnose import investigate

        body = await json_body(request, QUESTION_SCHEMA)
        with _look_errors():
            return ok(await investigate(agent_of(request), jarvis, body["question"]))

    return [
        Endpoint("GET", "/status", status, "Whether Jarvis is enabled, and with which model",
                 tag=TAG),
        Endpoint("POST", "/conversations", start_conversation,
                 "Ask Jarvis: starts a conversation; the answer streams as jarvis.* events",
                 role=ADMIN, body=MESSAGE_SCHEMA, tag=TAG),
        Endpoint("POST", "/conversations/{id}/messages", continue_conversation,
                 "Continue a conversation with its history", role=ADMIN, body=MESSAGE_SCHEMA,
                 tag=TAG),
        Endpoint("GET", "/conversations", list_conversations,
                 "Conversations, most recent first", query={"limit": "1-1000"}, tag=TAG),
        Endpoint("GET", "/conversations/{id}", get_conversation,
                 "One conversation: its state and messages", tag=TAG),
        Endpoint("POST", "/diagnose", diagnose_check,
                 "Root-cause hypothesis for a check, with proposed actions filed as approvals",
                 role=ADMIN, body=DIAGNOSE_SCHEMA, tag=TAG),
        Endpoint("POST", "/investigate", investigate_question,
                 "Investigate a question as a diagnosis: the answer with its evidence and "
                 "the specialists' reports, proposed actions filed as approvals",
                 role=ADMIN, body=QUESTION_SCHEMA, tag=TAG),
    ]
