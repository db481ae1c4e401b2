"""A local server speaking the OpenAI chat-completions wire protocol, scripted per test.

    async with FakeOpenAI() as model:
        model.add(tool_call("system__system_summary", {}), text("All fine."))
        ... point [jarvis] base_url at model.base_url ...
        assert model.requests[1]["messages"][-1]["role"] == "tool"

Each POST /v1/chat/completions takes the next scripted reply (first in, first out) and is
answered as JSON, or as server-sent events when the request asked for `"stream": true`
(text in small deltas; tool calls as an id/name fragment then argument fragments; a usage
chunk with empty `choices` when `stream_options.include_usage` is set), as the real API
does (../shared/protocols.md section 5). Every request body is kept in `requests`, so a test
can assert what the model was (and was not) sent. An empty script answers 400, which the
SDK does not retry, so a test that calls the model more than it scripted fails loudly.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

CHUNK = 4  # characters per streamed fragment: small, so a test sees several deltas


@dataclass
class Reply:
    """One scripted answer: text and/or tool calls, or an HTTP error."""

    content: str | None = None
    tool_calls: list[tuple[str, dict[str, Any] | str]] = field(default_factory=list)
    status: int = 200
    error: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    usage: dict[str, int] | None = None
    delay: float = 0.0  # before answering
    chunk_delay: float = 0.0  # between streamed text fragments, as a model typing


def text(content: str, **kw: Any) -> Reply:
    return Reply(content=content, **kw)


def tool_call(name: str, arguments: dict[str, Any] | str | None = None, **kw: Any) -> Reply:
    """One call; `arguments` as a dict (JSON-encoded on the wire) or a raw (maybe broken)
    string."""
    return Reply(tool_calls=[(name, {} if arguments is None else arguments)], **kw)


def tool_calls(*calls: tuple[str, dict[str, Any] | str], **kw: Any) -> Reply:
    """Parallel calls in one assistant message."""
    return Reply(tool_calls=list(calls), **kw)


def rate_limited(retry_after: float = 1, **kw: Any) -> Reply:
    return Reply(status=429, headers={"retry-after": f"{retry_after:g}"}, error={
        "message": "Rate limit reached for gpt-4o-mini in organization org-test on tokens "
                   "per min (TPM): Limit 30000, Used 29000, Requested 3906.",
        "type": "tokens", "param": None, "code": "rate_limit_exceeded"}, **kw)


def server_error(status: int = 500, **kw: Any) -> Reply:
    return Reply(status=status, error={"message": "The server had an error while processing "
                                                  "your request.", "type": "server_error",
                                       "param": None, "code": None}, **kw)


class FakeOpenAI:
    def __init__(self) -> None:
        self.script: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.times: list[float] = []  # monotonic arrival time of each request
        self.busy_seconds = 0.0  # time spent inside the handler (for the step bench)
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def add(self, *replies: Reply) -> FakeOpenAI:
        self.script.extend(replies)
        return self

    def sent_text(self) -> str:
        """Everything the server received, as one string (for "never sent" assertions)."""
        return json.dumps(self.requests)

    async def __aenter__(self) -> FakeOpenAI:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        self.times.append(time.monotonic())
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        if not self.script:
            return _error(400, {"message": "fake server: no scripted reply left",
                                "type": "invalid_request_error", "param": None,
                                "code": None}, {})
        reply = self.script.popleft()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if reply.status != 200:
            return _error(reply.status, reply.error or {}, reply.headers)
        usage = reply.usage or {"prompt_tokens": len(json.dumps(body["messages"])) // 4,
                                "completion_tokens": 20}
        usage = {**usage, "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"]}
        calls = [{"id": f"call_{len(self.requests)}_{i}", "type": "function",
                  "function": {"name": name, "arguments":
                               args if isinstance(args, str) else json.dumps(args)}}
                 for i, (name, args) in enumerate(reply.tool_calls)]
        if body.get("stream"):
            response = await self._stream(request, body, reply, calls, usage)
        else:
            response = web.json_response({
                "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                "model": body["model"],
                "choices": [{"index": 0, "message": {
                    "role": "assistant", "content": reply.content, "refusal": None,
                    **({"tool_calls": calls} if calls else {})},
                    "logprobs": None, "finish_reason": "tool_calls" if calls else "stop"}],
                "usage": usage}, headers={"x-request-id": "req_fake"})
        self.busy_seconds += time.perf_counter() - started
        return response

    async def _stream(self, request: web.Request, body: dict[str, Any], reply: Reply,
                      calls: list[dict[str, Any]], usage: dict[str, int]) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "x-request-id": "req_fake"})
        await response.prepare(request)
        envelope = {"id": "chatcmpl-fake", "object": "chat.completion.chunk",
                    "created": int(time.time()), "model": body["model"]}

        async def send(choices: list[dict[str, Any]], **extra: Any) -> None:
            chunk = {**envelope, "choices": choices, **extra}
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        def choice(delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
            return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]

        await send(choice({"role": "assistant", "content": "", "refusal": None}))
        content = reply.content or ""
        for i in range(0, len(content), CHUNK):
            if i and reply.chunk_delay:
                await asyncio.sleep(reply.chunk_delay)
            await send(choice({"content": content[i:i + CHUNK]}))
        for index, call in enumerate(calls):
            await send(choice({"tool_calls": [{"index": index, "id": call["id"],
                                               "type": "function", "function": {
                                                   "name": call["function"]["name"],
                                                   "arguments": ""}}]}))
            arguments = call["function"]["arguments"]
            for i in range(0, len(arguments), CHUNK):
                await send(choice({"tool_calls": [{"index": index, "function": {
                    "arguments": arguments[i:i + CHUNK]}}]}))
        await send(choice({}, "tool_calls" if calls else "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            await send([], usage=usage)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def _error(status: int, error: dict[str, Any], headers: dict[str, str]) -> web.Response:
    return web.json_response({"error": error}, status=status,
                             headers={"x-request-id": "req_fake", **headers})
