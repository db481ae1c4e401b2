"""The Jarvis service: a bounded chat-completions loop over the plugins' tools.

One answer is a *turn*: the model is called, the tools it asks for run, their results go
back, until it answers in text — or a bound stops it (max steps, token budget). A call to a
destructive tool files an approval and pauses the turn (`waiting_approval`); the admin's
decision, not the model, says what happened, and the turn resumes with that real outcome.
A pause survives an agent restart: the pending approval is kept with the conversation.

Everything sent to the model passes through `SECRETS.redact` on its way out. The service is
the runtime of the built-in `jarvis` plugin (hooks.py); its events go out as `jarvis.*`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from nebula.approvals import ApprovalStatus
from nebula.builtins.jarvis.catalogue import Catalogue, result_text
from nebula.builtins.jarvis.conversations import (
    ERROR,
    IDLE,
    RUNNING,
    WAITING,
    ConversationNotFound,
    Conversations,
)
from nebula.builtins.jarvis.prompt import system_prompt
from nebula.builtins.jarvis.settings import Settings, settings_from
from nebula.errors import NebulaError
from nebula.logs import get_logger
from nebula.secrets import SECRETS
from nebula.tools import ToolNotFound, function_name

if TYPE_CHECKING:
    from nebula.agent import Agent

log = get_logger(component="jarvis")
SOURCE = "jarvis"
# How long, after an approval, the action's outcome may take to be recorded.
RESULT_GRACE = 30.0
# Text pieces arriving within this many seconds go out as one jarvis.delta event: a model
# streams a token at a time, and every event is a row in the store.
DELTA_INTERVAL = 0.05
NOT_RUN = json.dumps({"status": "not_run", "error": "the turn stopped before this call ran"})
# The SDK is an optional extra: the base install runs without it, Jarvis then says how to add it.
EXTRA = "pip install 'nebula-command[jarvis]'"
SDK_MISSING = f"Jarvis needs the openai package, which is not installed: {EXTRA}"


class JarvisDisabled(NebulaError):
    """Jarvis is not configured (or turned off); the message says how to enable it."""


class ConversationBusy(NebulaError):
    """A turn is already running (or waiting for an approval) in this conversation."""


class JarvisFailure(NebulaError):
    """A turn ended without an answer: model unreachable, bound reached. Shown as is."""

    tokens = 0  # spent before the failure, still counted against the conversation


class MissingExtra(NebulaError):
    """Jarvis is configured but its SDK is not installed; the message names the extra."""


def sdk_installed() -> bool:
    """Whether `openai` can be found, without importing it (that costs memory an agent
    that never asks Jarvis anything should not pay)."""
    try:
        return importlib.util.find_spec("openai") is not None
    except (ImportError, ValueError):
        return False


def _sdk() -> Any:
    """The `openai` module; a broken or missing install is a clear failure of the turn."""
    try:
        import openai
    except ImportError as exc:
        raise JarvisFailure(f"{SDK_MISSING} ({exc})") from None
    return openai


def actor_of(conversation_id: str) -> str:
    return f"jarvis:{conversation_id}"


def estimate_tokens(value: Any) -> int:
    """Without a tokenizer: about four characters a token for English and JSON."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return len(text) // 4 + 1


class Jarvis:
    def __init__(self, agent: Agent, section: Mapping[str, Any],
                 emit: Callable[[str, dict[str, Any]], Awaitable[None]]) -> None:
        self._agent = agent
        self._emit = emit
        self.conversations = Conversations(agent.store)
        self.catalogue = Catalogue(agent.actions, agent.tools)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._client: Any = None
        self._client_key: tuple[Any, ...] | None = None
        self.settings: Settings = settings_from(section)
        self._claimed: set[str] = set()

    # --- configuration and lifecycle ------------------------------------------------------

    def configure(self, section: Mapping[str, Any]) -> None:
        """Apply a reloaded `[jarvis]` section: the next model call uses it; turns in
        flight go on."""
        self.settings = settings_from(section)

    def status(self) -> dict[str, Any]:
        status = self.settings.public()
        if not status["enabled"] and not sdk_installed():
            status["reason"] += f"; it also needs the openai package: {EXTRA}"
        return status

    def require_enabled(self) -> Settings:
        settings = self.settings
        if not settings.enabled:
            raise JarvisDisabled(settings.reason)
        return settings

    def client(self) -> Any:
        """The SDK client, made on first use: importing `openai` costs memory and time an
        agent that never asks Jarvis anything should not pay."""
        settings = self.require_enabled()
        key = (settings.base_url, settings.api_key, settings.timeout, settings.max_retries)
        if self._client is None or self._client_key != key:
            openai = _sdk()
            # The SDK retries 408/409/429/5xx itself, honouring Retry-After.
            self._client = openai.AsyncOpenAI(
                base_url=settings.base_url, api_key=settings.api_key,
                max_retries=settings.max_retries,
                timeout=openai.Timeout(settings.timeout, connect=min(5.0, settings.timeout)))
            self._client_key = key
        return self._client

    async def start(self) -> None:
        """Settle conversations a previous run left mid-turn: one cut off while running is
        marked so the user can go on; a paused one waits for its approval again."""
        for row in await self.conversations.in_state(RUNNING, WAITING):
            if row["state"] == WAITING and row["pending"] and self.settings.enabled:
                self._spawn(row["id"], row["pending"])
            else:
                await self.conversations.set_state(
                    row["id"], ERROR, error="interrupted by an agent restart; send a "
                                            "message to continue")

    async def aclose(self) -> None:
        """The plugin stops: turns in flight are cancelled (a paused one resumes at the
        next start), the SDK client is closed."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.close()
            self._client = None

    # --- conversations --------------------------------------------------------------------

    async def submit(self, message: str, actor: str, conversation_id: str | None = None) -> str:
        """Start a turn on a new conversation, or continue an existing one; the answer is
        produced in the background and streamed as `jarvis.*` events."""
        self.require_enabled()
        if conversation_id is None:
            conversation_id = await self.conversations.create(SECRETS.redact(message), actor)
        elif conversation_id in self._claimed:
            raise ConversationBusy(f"conversation {conversation_id} is running; wait for its "
                                   "answer first")
        # Claimed before the first await, so two messages at once cannot both start a turn.
        self._claimed.add(conversation_id)
        try:
            conversation = await self.conversations.get(conversation_id)
            if conversation["state"] in (RUNNING, WAITING) or conversation_id in self._tasks:
                raise ConversationBusy(
                    f"conversation {conversation_id} is {conversation['state']}; wait for "
                    "its answer (or its approval) first")
            await self.conversations.append(
                conversation_id, {"role": "user", "content": SECRETS.redact(message)})
            await self.conversations.set_state(conversation_id, RUNNING)
            self._spawn(conversation_id)
        finally:
            self._claimed.discard(conversation_id)
        return conversation_id

    async def conversation(self, conversation_id: str) -> dict[str, Any]:
        row = await self.conversations.get(conversation_id)
        return {"id": row["id"], "title": row["title"], "state": row["state"],
                "error": row["error"], "tokens": row["tokens"], "created": row["created"],
                "updated": row["updated"],
                "approval_id": (row["pending"] or {}).get("approval_id"),
                "messages": await self.conversations.messages(conversation_id)}

    async def wait(self, conversation_id: str) -> None:
        """Until the conversation's current turn ends (a paused turn ends only once its
        approval is decided): for benchmarks and in-process callers."""
        if task := self._tasks.get(conversation_id):
            await asyncio.shield(task)

    def _spawn(self, conversation_id: str, pending: Mapping[str, Any] | None = None) -> None:
        task = asyncio.create_task(self._turn(conversation_id, pending),
                                   name=f"jarvis:{conversation_id}")
        self._tasks[conversation_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(conversation_id, None))

    async def _publish(self, topic: str, data: dict[str, Any]) -> None:
        await self._emit(topic.removeprefix(f"{SOURCE}."), data)

    # --- one turn -------------------------------------------------------------------------

    async def _turn(self, conversation_id: str, pending: Mapping[str, Any] | None) -> None:
        try:
            if pending is not None:
                await self._finish_pending(conversation_id, pending)
            answer, tokens = await self._loop(conversation_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            tokens = exc.tokens if isinstance(exc, JarvisFailure) else 0
            if isinstance(exc, JarvisFailure | JarvisDisabled):
                error = str(exc)
            else:
                log.exception("jarvis.turn_failed", conversation=conversation_id)
                error = f"internal error: {type(exc).__name__}: {exc}"
            error = SECRETS.redact(error)
            await self.conversations.set_state(conversation_id, ERROR, error=error,
                                               tokens=tokens)
            await self._publish("jarvis.error", {"conversation_id": conversation_id,
                                                 "error": error})
            return
        await self.conversations.set_state(conversation_id, IDLE, tokens=tokens)
        await self._publish("jarvis.done", {"conversation_id": conversation_id,
                                            "answer": answer})

    async def _loop(self, conversation_id: str) -> tuple[str, int]:
        settings = self.require_enabled()
        used = 0
        try:
            for _step in range(settings.max_steps):
                messages = _complete_tool_replies(
                    await self.conversations.messages(conversation_id))
                prompt = await system_prompt(self._agent, self.catalogue, settings)
                content, calls, tokens = await self._complete(
                    conversation_id, [{"role": "system", "content": prompt}, *messages],
                    self.catalogue.functions())
                used += tokens
                if calls and used >= settings.token_budget:
                    raise JarvisFailure(
                        f"token budget exhausted: this answer used {used} tokens of "
                        f"{settings.token_budget} ([jarvis] token_budget) before it was "
                        "done; ask a narrower question or raise the budget")
                assistant: dict[str, Any] = {"role": "assistant", "content": content or None}
                if calls:
                    # Kept as the model sent them but for write-only values: a PIN it
                    # passed on is not stored with the conversation.
                    assistant["tool_calls"] = [
                        {**c, "function": {**c["function"], "arguments":
                                           self.catalogue.shown_arguments(
                                               c["function"]["name"],
                                               c["function"]["arguments"])}}
                        for c in calls]
                await self.conversations.append(conversation_id, SECRETS.redact(assistant))
                if not calls:
                    return content, used
                for call in calls:
                    await self._call_tool(conversation_id, call)
            raise JarvisFailure(
                f"stopped after {settings.max_steps} steps ([jarvis] max_steps) without a "
                "final answer")
        except JarvisFailure as exc:
            exc.tokens = used
            raise

    async def _complete(
        self, conversation_id: str, messages: list[dict[str, Any]],
        functions: list[dict[str, Any]],
    ) -> tuple[str, list[dict[str, Any]], int]:
        """One streamed model call: text deltas go out as events as they come; tool-call
        fragments are joined per index. Returns (text, tool calls, tokens used)."""
        settings = self.settings
        client = self.client()
        messages = SECRETS.redact(messages)
        text: list[str] = []
        calls: dict[int, dict[str, Any]] = {}
        usage = None
        loop = asyncio.get_running_loop()
        unsent: list[str] = []

        async def send() -> float:
            if unsent:
                await self._publish("jarvis.delta", {"conversation_id": conversation_id,
                                                     "text": SECRETS.redact("".join(unsent))})
                unsent.clear()
            return loop.time()

        sent_at = loop.time()
        with model_errors(settings):
            stream = await client.chat.completions.create(
                model=settings.model, stream=True, stream_options={"include_usage": True},
                **wire_body(messages, functions))
            async for chunk in stream:
                if chunk.usage is not None:
                    usage = chunk.usage.total_tokens
                if not chunk.choices:  # the usage chunk has none
                    continue
                delta = chunk.choices[0].delta
                if delta.content:
                    text.append(delta.content)
                    unsent.append(delta.content)
                    if loop.time() - sent_at >= DELTA_INTERVAL:
                        sent_at = await send()
                for part in delta.tool_calls or ():
                    slot = calls.setdefault(part.index, {
                        "id": "", "type": "function",
                        "function": {"name": "", "arguments": ""}})
                    slot["id"] = part.id or slot["id"]
                    if part.function is not None:
                        slot["function"]["name"] += part.function.name or ""
                        slot["function"]["arguments"] += part.function.arguments or ""
        await send()
        answer = "".join(text)
        ordered = [calls[i] for i in sorted(calls)]
        for n, call in enumerate(ordered):
            call["id"] = call["id"] or f"call_{n}"
        if usage is None:  # servers that ignore stream_options
            usage = estimate_tokens(messages) + estimate_tokens(answer) + \
                estimate_tokens(ordered)
        return answer, ordered, usage

    async def _call_tool(self, conversation_id: str, call: Mapping[str, Any]) -> None:
        name = call["function"]["name"]
        event = {"conversation_id": conversation_id, "tool": name,
                 "arguments": self.catalogue.shown_arguments(
                     name, call["function"]["arguments"])}
        try:
            tool = self.catalogue.resolve(name)
            arguments = json.loads(call["function"]["arguments"] or "{}")
        except ToolNotFound:
            outcome: dict[str, Any] = {"status": "invalid", "errors": [f"no tool named {name}"]}
        except json.JSONDecodeError as exc:
            outcome = {"status": "invalid", "errors": [f"arguments are not valid JSON: {exc}"]}
        else:
            event.update(tool=tool.name,
                         arguments=self.catalogue.shown_arguments(tool.name, arguments))
            await self._publish("jarvis.tool_call", {**event, "status": "running"})
            outcome = await self.catalogue.run(tool, arguments, actor_of(conversation_id),
                                               self.settings.tool_timeout)
            if outcome["status"] == "pending_approval":
                approval_id = outcome["approval"]["id"]
                pending = {"approval_id": approval_id, "tool_call_id": call["id"],
                           "tool": tool.name}
                await self._publish("jarvis.tool_call", {**event, "status": "pending_approval",
                                                         "approval_id": approval_id})
                await self.conversations.set_state(conversation_id, WAITING, pending=pending)
                await self._publish("jarvis.waiting", {"conversation_id": conversation_id,
                                                       "approval_id": approval_id,
                                                       "tool": tool.name})
                outcome = await self._decision(approval_id)
                await self.conversations.set_state(conversation_id, RUNNING)
        status = "ok" if outcome["status"] == "ok" else "error"
        await self._publish("jarvis.tool_call", {**event, "status": status,
                                                 "outcome": outcome["status"]})
        await self._reply(conversation_id, call["id"], name, outcome)

    async def _reply(self, conversation_id: str, call_id: str, name: str,
                     outcome: Mapping[str, Any]) -> None:
        await self.conversations.append(conversation_id, {
            "role": "tool", "tool_call_id": call_id, "name": function_name(name),
            "content": result_text(outcome, self.settings.max_tool_output)})

    async def _finish_pending(self, conversation_id: str, pending: Mapping[str, Any]) -> None:
        """Resume a turn paused by a previous run of the agent."""
        outcome = await self._decision(pending["approval_id"])
        await self.conversations.set_state(conversation_id, RUNNING)
        await self._reply(conversation_id, pending["tool_call_id"], pending["tool"], outcome)

    async def _decision(self, approval_id: str) -> dict[str, Any]:
        """Wait for an admin to decide; the outcome is what really happened: the action's
        result once approved (it runs then, on the approver's request), or the denial."""
        bus = self._agent.bus
        # Subscribed before the first look, so a decision in between is not missed.
        subscriber = bus.subscribe("approval.*")
        try:
            while True:
                approval = await self._agent.actions.approval(approval_id)
                if approval["status"] == ApprovalStatus.DENIED:
                    return {"status": ApprovalStatus.DENIED.value,
                            "decided_by": approval["decided_by"], "reason": approval["reason"],
                            "note": "an admin denied this action; it did not run"}
                if approval["status"] == ApprovalStatus.APPROVED:
                    return await self._approved_result(approval_id)
                if approval["status"] == ApprovalStatus.EXPIRED:
                    return {"status": ApprovalStatus.EXPIRED.value, "expires": approval["expires"],
                            "note": "nobody decided within the approval's time; it did not "
                                    "run"}
                while (await subscriber.queue.get())["data"].get("id") != approval_id:
                    pass
        finally:
            bus.unsubscribe(subscriber)

    async def _approved_result(self, approval_id: str) -> dict[str, Any]:
        # The runner publishes approval.approved, runs the action, then records its result.
        action = self._agent.actions.actions.get(
            (await self._agent.actions.approval(approval_id))["action"])
        deadline = time.monotonic() + (action.timeout if action else 0) + RESULT_GRACE
        while time.monotonic() < deadline:
            approval = await self._agent.actions.approval(approval_id)
            if approval["result"] is not None:
                return {**approval["result"], "approved_by": approval["decided_by"]}
            await asyncio.sleep(0.05)
        return {"status": "error", "approved_by": approval["decided_by"],
                "error": "approved, but no outcome was recorded (see the audit log)"}


def _complete_tool_replies(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every tool call followed by a reply, as the API demands: a turn cut short (a budget
    stop, a restart) leaves calls unanswered; they are answered "not run"."""
    out: list[dict[str, Any]] = []
    open_calls: list[str] = []

    def close() -> None:
        out.extend({"role": "tool", "tool_call_id": c, "content": NOT_RUN} for c in open_calls)
        open_calls.clear()

    for message in messages:
        if message["role"] == "tool":
            if message.get("tool_call_id") in open_calls:
                open_calls.remove(message["tool_call_id"])
            out.append(message)
            continue
        close()
        out.append(message)
        open_calls.extend(c["id"] for c in message.get("tool_calls") or ())
    close()
    # `name` on a tool message is kept for people reading the history; the API has no such
    # field and strict servers refuse unknown ones.
    return [{k: v for k, v in m.items() if k != "name"} if m["role"] == "tool" else m
            for m in out]


def wire_body(messages: list[dict[str, Any]], functions: list[dict[str, Any]]
              ) -> dict[str, Any]:
    """The request's messages and tools, handed to the SDK as they go on the wire.

    Given as `messages=`/`tools=`, the SDK walks them against its TypedDicts to transform
    them — about 6 ms a call for a few steps of history, more than the rest of a step.
    They are plain JSON already, so they go in `extra_body`, which the SDK sends as is
    (same request body, same retries and streaming)."""
    body: dict[str, Any] = {"messages": messages}
    if functions:
        body["tools"] = functions
    return {"messages": [], "extra_body": body}


@contextlib.contextmanager
def model_errors(settings: Settings) -> Iterator[None]:
    """The SDK's errors (after its own retries) as one clear sentence for the user."""
    openai = _sdk()
    try:
        yield
    except openai.APITimeoutError:
        raise JarvisFailure(f"the model at {settings.host} did not answer within "
                            f"{settings.timeout:g}s ([jarvis] timeout)") from None
    except openai.APIConnectionError as exc:
        cause = exc.__cause__ or exc
        raise JarvisFailure(f"the model at {settings.base_url} is unreachable "
                            f"({type(cause).__name__}: {cause}); is the server "
                            "running and [jarvis] base_url right?") from None
    except openai.APIStatusError as exc:
        raise JarvisFailure(f"the model endpoint at {settings.host} answered "
                            f"{exc.status_code}: {_error_message(exc)}") from None
    except openai.APIError as exc:
        raise JarvisFailure(f"the model endpoint failed mid-answer: {exc}") from None


def _error_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and inner.get("message"):
            return str(inner["message"])
    return str(getattr(exc, "message", exc))


__all__ = ["ConversationBusy", "ConversationNotFound", "Jarvis", "JarvisDisabled",
           "JarvisFailure", "MissingExtra"]
