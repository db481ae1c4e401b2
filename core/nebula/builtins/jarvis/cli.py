"""jarvis ask|diagnose|status|history: the AI copilot from the terminal."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from nebula.cli.common import State, agent_client, json_option, output, pass_state, table

if TYPE_CHECKING:
    from nebula.cli.client import Client

QUIET_POLL = 1.0  # seconds without an event before the conversation's state is checked


@click.group()
def jarvis() -> None:
    """Ask Jarvis, the AI copilot (configure it in the [jarvis] section; docs/jarvis.md)."""


@jarvis.command()
@click.argument("question")
@click.option("-c", "--conversation", "conversation_id", metavar="ID",
              help="Continue this conversation (see `nebula jarvis history`).")
@json_option
@pass_state
def ask(state: State, question: str, conversation_id: str | None, as_json: bool) -> None:
    """Ask QUESTION; the answer streams as it is written.

    A destructive step waits for an admin: on a terminal, as the local admin, you are asked
    to approve it there; otherwise the approval id is printed and Jarvis goes on once it is
    approved or denied (`nebula approvals approve ID`)."""
    interactive = sys.stdin.isatty() and not as_json and "NEBULA_URL" not in os.environ
    with agent_client(state) as client:
        result = asyncio.run(_ask(client, question, conversation_id, interactive, as_json))
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
    if result["state"] == "error":
        if not as_json:
            click.echo(f"error: {result['error']}", err=True)
        raise SystemExit(1)


async def _ask(client: Client, question: str, conversation_id: str | None,
               interactive: bool, as_json: bool) -> dict[str, Any]:
    import aiohttp

    from nebula.cli.client import ApiError

    headers = {"Authorization": f"Bearer {client.token}"}
    result: dict[str, Any] = {"conversation_id": conversation_id, "state": "running",
                              "answer": "", "error": None, "approval_id": None,
                              "tool_calls": []}
    pending_args: dict[str, Any] = {}

    def say(text: str, **kw: Any) -> None:
        if not as_json:
            click.echo(text, **kw)

    async with aiohttp.ClientSession(headers=headers) as session:

        async def post(path: str, body: Any) -> Any:
            async with session.post(client.url + path, json=body) as resp:
                data = await resp.json(content_type=None)
                if resp.status >= 400:
                    raise ApiError(resp.status, data)
                return data

        # Subscribed before asking, so not even the first delta is missed.
        async with session.ws_connect(f"{client.url}/api/v1/events?topic=jarvis.*",
                                      heartbeat=30) as ws:
            path = ("/api/v1/jarvis/conversations" if conversation_id is None
                    else f"/api/v1/jarvis/conversations/{conversation_id}/messages")
            cid = (await post(path, {"message": question}))["conversation_id"]
            result["conversation_id"] = cid
            while True:
                try:
                    msg = await ws.receive(timeout=QUIET_POLL)
                except asyncio.TimeoutError:
                    if await _settled(session, client, cid, result):
                        return result
                    continue
                if msg.type != aiohttp.WSMsgType.TEXT:
                    await _settled(session, client, cid, result, wait=True)
                    return result
                event = json.loads(msg.data)
                data, topic = event["data"], event["topic"]
                if data.get("conversation_id") != cid:
                    continue
                if topic == "jarvis.delta":
                    result["answer"] += data["text"]
                    say(data["text"], nl=False)
                elif topic == "jarvis.tool_call":
                    if data["status"] == "pending_approval":
                        pending_args[data["approval_id"]] = data["arguments"]
                    elif data["status"] != "running":
                        result["tool_calls"].append(data)
                        say(f"\n[{data['tool']}: {data.get('outcome', data['status'])}]",
                            err=True)
                elif topic == "jarvis.waiting":
                    approval_id = data["approval_id"]
                    args = json.dumps(pending_args.get(approval_id, {}))
                    if not interactive:
                        result.update(state="waiting_approval", approval_id=approval_id)
                        say(f"\n{data['tool']} {args} needs an admin's approval "
                            f"({approval_id}).\nApprove it with: nebula approvals approve "
                            f"{approval_id}  (or deny it); Jarvis then goes on: see "
                            f"`nebula jarvis history {cid}`.")
                        return result
                    yes = await asyncio.to_thread(
                        click.confirm, f"\nJarvis wants to run {data['tool']} {args}. Approve?",
                        default=False)
                    if yes:
                        await post(f"/api/v1/approvals/{approval_id}/approve", {})
                    else:
                        await post(f"/api/v1/approvals/{approval_id}/deny",
                                   {"reason": "denied at the jarvis ask prompt"})
                elif topic == "jarvis.done":
                    result.update(state="idle", answer=data["answer"])
                    say("")
                    return result
                elif topic == "jarvis.error":
                    result.update(state="error", error=data["error"])
                    say("")
                    return result


async def _settled(session: Any, client: Client, cid: str, result: dict[str, Any],
                   wait: bool = False) -> bool:
    """Whether the turn has ended, by asking for the conversation (the event stream can
    close, or an event can slip past a subscription still being set up)."""
    while True:
        async with session.get(f"{client.url}/api/v1/jarvis/conversations/{cid}") as resp:
            conversation = await resp.json(content_type=None)
        if conversation["state"] in ("idle", "error", "waiting_approval"):
            answers = [m["content"] for m in conversation["messages"]
                       if m["role"] == "assistant" and m.get("content")]
            result.update(state=conversation["state"], error=conversation["error"],
                          approval_id=conversation.get("approval_id"),
                          answer=answers[-1] if answers and conversation["state"] == "idle"
                          else result["answer"])
            return True
        if not wait:
            return False
        await asyncio.sleep(QUIET_POLL / 4)


@jarvis.command()
@click.argument("check")
@json_option
@pass_state
def diagnose(state: State, check: str, as_json: bool) -> None:
    """Diagnose CHECK (<plugin>.<name>): a root-cause hypothesis from its history, events and
    state, with proposed fixes filed as approvals."""
    with agent_client(state) as client:
        data = client.post("/api/v1/jarvis/diagnose", {"check": check})
    output(data, as_json, _print_diagnosis)


@jarvis.command()
@click.argument("question")
@json_option
@pass_state
def investigate(state: State, question: str, as_json: bool) -> None:
    """Investigate QUESTION like a diagnosis: the specialists look with read-only tools, the
    answer comes with its evidence, proposed fixes are filed as approvals."""
    with agent_client(state) as client:
        data = client.post("/api/v1/jarvis/investigate", {"question": question})
    output(data, as_json, _print_diagnosis)


def _print_diagnosis(d: dict[str, Any]) -> None:
    click.echo(f"{d['check']}: {d['hypothesis']}" if "check" in d else d["hypothesis"])
    for item in d["evidence"]:
        click.echo(f"  - {item}")
    for consulted in d.get("specialists", []):
        click.echo(f"  [{consulted['specialist']}] {consulted['findings']}")
    if d["proposed_actions"]:
        click.echo("\nProposed actions:")
    for p in d["proposed_actions"]:
        line = f"  {p['action']} {json.dumps(p['params'])}"
        if p.get("approval_id"):
            line += f"  → approve with: nebula approvals approve {p['approval_id']}"
        else:
            line += "  → run with: nebula action run " + p["action"] + \
                f" --params '{json.dumps(p['params'])}'"
        click.echo(line)
    for p in d.get("dropped", []):
        click.echo(f"  (dropped {p.get('action', '?')}: {p['reason']})")


@jarvis.command()
@json_option
@pass_state
def status(state: State, as_json: bool) -> None:
    """Whether Jarvis is enabled, and with which model."""
    with agent_client(state) as client:
        data = client.get("/api/v1/jarvis/status")
    output(data, as_json, lambda d: click.echo(
        f"enabled: {d['model']} at {d['base_url_host']}" if d["enabled"]
        else f"disabled: {d['reason']}"))


@jarvis.command()
@click.argument("conversation_id", required=False)
@json_option
@pass_state
def history(state: State, conversation_id: str | None, as_json: bool) -> None:
    """Past conversations, or one conversation's messages."""
    with agent_client(state) as client:
        if conversation_id is None:
            data = client.get("/api/v1/jarvis/conversations")
            output(data, as_json, lambda rows: table(
                [(r["id"], r["state"], r["title"]) for r in rows], ("ID", "STATE", "TITLE")))
            return
        data = client.get(f"/api/v1/jarvis/conversations/{conversation_id}")
    output(data, as_json, _print_conversation)


def _print_conversation(d: dict[str, Any]) -> None:
    for m in d["messages"]:
        if m["role"] == "tool":
            click.echo(f"  [{m.get('name', 'tool')}] {m['content'][:200]}")
        elif m.get("tool_calls"):
            for call in m["tool_calls"]:
                click.echo(f"  → {call['function']['name']} {call['function']['arguments']}")
        else:
            click.echo(f"{m['role']}: {m['content']}")
    if d["state"] == "waiting_approval":
        click.echo(f"(waiting for approval {d['approval_id']})")
    elif d["state"] == "error":
        click.echo(f"(stopped: {d['error']})")
