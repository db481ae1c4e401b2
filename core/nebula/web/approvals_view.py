"""The approvals page: one card per request saying what will be acted on (the action's
prepared plan as key-values: a process's name and command, a container's image and state,
what a prune removes), who asked and why, the decision, and the result once it ran. The
Approve and Deny buttons sit under each card, so a phone reaches them without scrolling
sideways."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from nebula.approvals import ApprovalStatus
from nebula.http.endpoints import endpoint
from nebula.http.keys import agent_of, principal_of
from nebula.surfaces import PAGE_TAG
from nebula.web.html import badge, e, when
from nebula.web.pages import frame, html
from nebula.web.results import outcome, render_value

BADGES = {ApprovalStatus.PENDING: "warning", ApprovalStatus.APPROVED: "ok",
          ApprovalStatus.DENIED: "critical", ApprovalStatus.EXPIRED: "unknown"}


def why(actor: str) -> str:
    """Who asked, in words: a person, a remediation policy, or Jarvis."""
    kind, _, name = actor.partition(":")
    if kind == "user":
        return f"{name}, by hand (panel, CLI or API)"
    if kind == "remediation":
        return f"remediation policy {name}, on its own, because its check failed"
    if kind == "jarvis":
        return f"Jarvis, the assistant ({name})"
    if kind == "plugin":
        return f"plugin {name}, on its own"
    return actor


def _decide_forms(a: Mapping[str, Any]) -> str:
    rid = e(f"reason-{a['id']}")
    return (
        '<div class="decide">'
        f'<form class="inline" data-api="/api/v1/approvals/{e(a["id"])}/approve" '
        f'data-confirm="Approve and run {e(a["action"])} now?">'
        # The digest binds the click to the plan on this page: a different request under
        # the same id is refused.
        f'<input type="hidden" name="digest" value="{e(a["digest"])}">'
        '<button class="btn primary" type="submit">Approve</button></form>'
        f'<form class="deny" data-api="/api/v1/approvals/{e(a["id"])}/deny" '
        f'data-confirm="Deny {e(a["action"])}?"><label for="{rid}">Reason</label>'
        f'<input id="{rid}" name="reason" maxlength="1000" autocomplete="off" '
        'placeholder="optional, shown in the audit log">'
        '<button class="btn danger" type="submit">Deny</button></form></div>')


def card(a: Mapping[str, Any], admin: bool, title: str = "") -> str:
    status = ApprovalStatus(a["status"])
    target = a["plan"] if a["plan"] is not None else a["params"]
    asked = (f'<details class="params"><summary>Asked with</summary>'
             f'{render_value(a["params"], "params")}</details>'
             if a["plan"] is not None and a["params"] else "")
    facts = [("Requested by", e(why(str(a["requested_by"])))),
             ("Asked", when(a["created"]))]
    if status == ApprovalStatus.PENDING and a.get("expires"):
        facts.append(("Expires", when(a["expires"])))
    if a.get("decided_by"):
        own = " (their own request)" if a.get("self_approved") else ""
        facts.append((f"{status.value.capitalize()} by", e(f"{a['decided_by']}{own}")
                      + (f" {when(a['decided_at'])}" if a.get("decided_at") else "")))
    if a.get("reason"):
        facts.append(("Reason", f'<span class="reason">{e(a["reason"])}</span>'))
    kv = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
    result = ""
    if a.get("result"):
        result = f'<section class="ran"><h4>Result</h4>{outcome(a["result"])}</section>'
    elif status == ApprovalStatus.APPROVED:
        result = '<p class="pending">Running…</p>'
    decide = _decide_forms(a) if status == ApprovalStatus.PENDING and admin else ""
    heading = f"{title} ({a['action']})" if title and title != a["action"] else a["action"]
    return (f'<article class="approval glass status-{BADGES[status]}" data-approval="{e(a["id"])}"'
            f' aria-labelledby="ap-{e(a["id"])}">'
            f'<header>{badge(BADGES[status], status.value)} '
            f'<h3 id="ap-{e(a["id"])}">{e(heading)}</h3></header>'
            f'<section class="target"><h4>Will act on</h4>{render_value(target, "plan")}'
            f"{asked}</section>"
            f'<dl class="kv facts">{kv}</dl>{result}{decide}</article>')


async def cards(request: web.Request) -> str:
    agent = agent_of(request)
    admin = principal_of(request).is_admin
    titles = {n: a.title for n, a in agent.actions.actions.items()}
    rows = await agent.actions.approvals(None, 200)
    # Waiting ones first: they are what the page is for.
    rows.sort(key=lambda a: (a["status"] != ApprovalStatus.PENDING.value, -a["created"]))
    if not rows:
        return '<p class="muted empty">No approvals yet.</p>'
    return ('<div class="approvals">' + "".join(card(a, admin, titles.get(a["action"], ""))
                                                for a in rows) + "</div>")


@endpoint("GET", "/approvals", "Approvals: pending destructive actions and decisions",
          tag=PAGE_TAG)
async def approvals_page(request: web.Request) -> web.Response:
    body = ('<h1>Approvals</h1><div data-refresh="/approvals/list" data-topics="approval.* '
            f'action.ran">{await cards(request)}</div>')
    return await frame(request, "Approvals", body, current="/approvals")


@endpoint("GET", "/approvals/list", "The approvals, for live refresh", tag=PAGE_TAG)
async def approvals_fragment(request: web.Request) -> web.Response:
    return html(await cards(request))
