"""The non-streamed model loop a diagnosis and each specialist run: call the model with
some tools, answer its tool calls, until it answers in text — within the step and token
bounds — and what each call cost (the catalogue bytes it carried)."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nebula.builtins.jarvis.catalogue import result_text
from nebula.builtins.jarvis.engine import JarvisFailure, estimate_tokens, model_errors, wire_body
from nebula.secrets import SECRETS
from nebula.tools import function_name

if TYPE_CHECKING:
    from nebula.builtins.jarvis.engine import Jarvis

FENCE_RE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)
# What a tool call is answered with: the reply's content, given the call.
Answer = Callable[[Mapping[str, Any]], Awaitable[str]]


@dataclass
class Spend:
    """Tokens used so far by one diagnosis (all its model calls count against the
    budget) and, per model call, who made it and the bytes of the tool catalogue it sent."""

    tokens: int = 0
    calls: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        sizes = [c["catalogue_bytes"] for c in self.calls]
        return {"calls": self.calls, "catalogue_bytes_mean": round(sum(sizes) / len(sizes))
                if sizes else 0, "catalogue_bytes_max": max(sizes, default=0)}


def catalogue_bytes(functions: list[dict[str, Any]]) -> int:
    """The `tools` of a request as they go on the wire (compact JSON)."""
    return len(json.dumps(functions, separators=(",", ":"))) if functions else 0


async def converse(jarvis: Jarvis, who: str, messages: list[dict[str, Any]],
                   functions: list[dict[str, Any]], answer: Answer, spend: Spend) -> str:
    """Run the loop for `who` (a name for the cost record); returns the text answer."""
    settings = jarvis.settings
    size = catalogue_bytes(functions)
    for _step in range(settings.max_steps):
        spend.calls.append({"agent": who, "catalogue_bytes": size})
        with model_errors(settings):
            response = await jarvis.client().chat.completions.create(
                model=settings.model, **wire_body(SECRETS.redact(messages), functions))
        spend.tokens += (response.usage.total_tokens if response.usage
                         else estimate_tokens(messages))
        if not response.choices:
            raise JarvisFailure("the model answered with no choices")
        message = response.choices[0].message
        if not message.tool_calls:
            return message.content or ""
        if spend.tokens >= settings.token_budget:
            raise JarvisFailure(f"token budget exhausted ({spend.tokens} of "
                                f"{settings.token_budget})")
        calls = [{"id": c.id, "type": "function",
                  "function": {"name": c.function.name, "arguments": c.function.arguments}}
                 for c in message.tool_calls]
        messages.append({"role": "assistant", "content": message.content, "tool_calls": calls})
        for call in calls:
            messages.append({"role": "tool", "tool_call_id": call["id"],
                             "content": await answer(call)})
    raise JarvisFailure(f"{who}: no answer after {settings.max_steps} steps "
                        "([jarvis] max_steps)")


def read_only_answer(jarvis: Jarvis, actor: str, allowed: frozenset[str] | None = None
                     ) -> Answer:
    """Answers tool calls by running the read-only tools (of `allowed`, by name, if given)
    as `actor`; a tool that changes things is refused: a diagnosis looks, it proposes."""
    catalogue = jarvis.catalogue

    async def answer(call: Mapping[str, Any]) -> str:
        name = call["function"]["name"]
        try:
            tool = catalogue.resolve(name)
            arguments = json.loads(call["function"]["arguments"] or "{}")
        except (KeyError, json.JSONDecodeError) as exc:
            outcome: dict[str, Any] = {"status": "invalid",
                                       "errors": [f"{type(exc).__name__}: {exc}"]}
        else:
            if tool.action is not None:
                outcome = {"status": "invalid", "errors": [
                    f"{function_name(tool.name)} changes things; propose it in your answer "
                    "instead"]}
            elif allowed is not None and tool.name not in allowed:
                outcome = {"status": "invalid", "errors": [
                    f"{function_name(tool.name)} is not one of your tools"]}
            else:
                outcome = await catalogue.run(tool, arguments, actor,
                                              jarvis.settings.tool_timeout)
        return result_text(outcome, jarvis.settings.max_tool_output)

    return answer


def parse_answer(answer: str) -> dict[str, Any]:
    """The model's JSON, tolerating code fences and prose around it; a plain-text answer
    gives {} (the caller takes the text as it is)."""
    text = FENCE_RE.sub("", answer.strip())
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end <= start:
        return {}
    try:
        parsed = json.loads(text[start:end + 1])
    except json.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}
