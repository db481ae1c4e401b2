"""HTML building blocks: the page frame, check tiles, sparklines, tables and action forms.

Everything that reaches a page passes through `e()` (escaping); nothing is inline script or
style, so the Content-Security-Policy needs no `unsafe-inline`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

STATUS_ICON = {"ok": "✔", "warning": "▲", "critical": "✖", "unknown": "?"}
STATUSES = ("critical", "warning", "unknown", "ok")
ASSET_VERSION = "10"
FAVICON = '<link rel="icon" href="/favicon.svg" type="image/svg+xml">'


def e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def when(ts: float | None, cls: str = "") -> str:
    if not ts:
        return f'<span class="{f"muted {cls}".strip()}">never</span>'
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
    clock = time.strftime("%H:%M:%S", time.gmtime(ts))
    attr = f' class="{cls}"' if cls else ""
    return f'<time{attr} datetime="{iso}">{clock} UTC</time>'


def badge(status: str | None, text: str | None = None) -> str:
    """The status in words; its icon comes from the stylesheet (`--icon`), so 200 tiles
    are not 400 more elements to style and lay out."""
    status = status or "unknown"
    return f'<span class="badge status-{e(status)}">{e(text or status)}</span>'


def sparkline(points: Sequence[tuple[str, float | None]]) -> str:
    """Recent results oldest first, as (status, first metric or None): a line of the metric
    when there is one, else of the status severity, with a dot on each result that was not
    ok. Decorative: the tile's text says the same, so it is hidden from screen readers."""
    if len(points) < 2:
        return '<svg class="spark" aria-hidden="true"></svg>'
    severity = {"ok": 0.0, "warning": 1.0, "unknown": 1.5, "critical": 2.0}
    values = [v if v is not None else severity.get(s, 1.5) for s, v in points]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = 100 / (len(values) - 1)
    coords = [(round(i * step), round(21 - (v - low) / span * 18)) for i, v in enumerate(values)]
    line = " ".join(f"{x},{y}" for x, y in coords)
    dots = "".join(f'<circle class="dot-{e(s)}" cx="{x}" cy="{y}" r="1.6"/>'
                   for (s, _), (x, y) in zip(points, coords, strict=True) if s != "ok")
    return (f'<svg class="spark" viewBox="0 0 100 24" preserveAspectRatio="none" '
            f'aria-hidden="true"><polyline points="{line}"/>{dots}</svg>')


def tile(check: Mapping[str, Any], history: Sequence[tuple[str, float | None]]) -> str:
    status = check["status"]
    held = badge("maintenance", "in maintenance") if check.get("maintenance") else ""
    return (
        f'<li class="tile status-{e(status)}" data-check="{e(check["name"])}" '
        f'data-status="{e(status)}"><h3><a href="/checks/{e(check["name"])}">'
        f'{e(check["title"])}</a></h3>{badge(status)}{held}'
        # The words of the result that set the status shown, not of a newer one that
        # flap damping has not let change it yet.
        f'<p class="summary">{e(check["status_summary"])}</p>{sparkline(history)}'
        f'<p class="meta">{e(check["name"])} · last run {when(check["last_run"], "last-run")}'
        "</p></li>")


def counts(summary: Mapping[str, int], link: str = "") -> str:
    """Checks by status; with `link`, each count filters that page to its status."""
    def chip(s: str) -> str:
        inner = (f'<span class="icon" aria-hidden="true">{STATUS_ICON[s]}</span> '
                 f'<span class="n" data-count="{s}">{summary.get(s, 0)}</span> {s}')
        return f'<a href="{e(link)}?status={s}">{inner}</a>' if link else inner

    items = "".join(f'<li class="count status-{s}">{chip(s)}</li>' for s in STATUSES)
    return f'<ul class="counts" aria-label="checks by status">{items}</ul>'


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], label: str,
          empty: str = "Nothing yet.") -> str:
    """Cells are already HTML (escape with `e`). Each cell names its column
    (`data-label`): on a phone the rows are stacked cards, a label before each value."""
    labels = [f' data-label="{e(h)}"' if h else "" for h in headers]
    body = "".join("<tr>" + "".join(f"<td{labels[i] if i < len(labels) else ''}>{c}</td>"
                                     for i, c in enumerate(row)) + "</tr>" for row in rows)
    if not body:
        return f'<p class="muted empty">{e(empty)}</p>'
    head = "".join(f'<th scope="col">{e(h)}</th>' for h in headers)
    return (f'<div class="table-wrap" role="region" aria-label="{e(label)}" tabindex="0">'
            f'<table class="cards"><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
            "</table></div>")


def code(value: Any) -> str:
    return f"<code>{e(json.dumps(value, default=str, ensure_ascii=False))}</code>"


# --- action forms from JSON Schema ---------------------------------------------------------


# A param marked with this annotation destroys data when set (docs/plugins.md).
DANGER = "x-danger"


def _field(action: str, key: str, prop: Mapping[str, Any], required: bool,
           picks: list[tuple[Any, str]] | str | None = None) -> str:
    """One param's input; a dangerous one is framed in red and says so in words too.
    `picks`: the choices its `x-choices` listed (nebula.web.choices), or why none were."""
    html = schema_input(action, key, prop, required, picks)
    if not prop.get(DANGER):
        return html
    return (f'<div class="field danger"><p class="danger-note"><span aria-hidden="true">⚠'
            f"</span> Dangerous: setting {e(key)} destroys data.</p>{html}</div>")


def schema_input(action: str, key: str, prop: Mapping[str, Any], required: bool,
                 picks: list[tuple[Any, str]] | str | None = None) -> str:
    fid = e(f"f-{action.replace('.', '-')}-{key}")
    label = e(prop.get("title") or key.replace("_", " ").capitalize())
    req = " required" if required else ""
    hint = (f'<small id="{fid}-hint">{e(prop["description"])}</small>'
            if prop.get("description") else "")
    described = f' aria-describedby="{fid}-hint"' if hint else ""
    common = f'id="{fid}" name="{e(key)}"{req}{described}'
    kind = prop.get("type")
    default = prop.get("default")
    if isinstance(picks, str):  # the listing failed: typed by hand, and why
        hint += f'<small class="error">Could not list the choices: {e(picks)}</small>'
    elif picks is not None or "enum" in prop:
        pairs = picks if picks is not None else [(v, str(v)) for v in prop["enum"]]
        blank = ('<option value="">Choose…</option>' if default is None else "")
        options = blank + "".join(f'<option value="{e(json.dumps(v))}"'
                                  f'{" selected" if v == default else ""}>{e(shown)}</option>'
                                  for v, shown in pairs)
        if not pairs:
            hint += '<small class="muted">Nothing to choose from right now.</small>'
        return (f'<label for="{fid}">{label}</label><select {common} data-type="json">'
                f"{options}</select>{hint}")
    if kind == "boolean":
        checked = " checked" if default else ""
        return (f'<div class="check-row"><input type="checkbox" {common} data-type="boolean"'
                f'{checked}><label for="{fid}">{label}</label></div>{hint}')
    if kind in ("integer", "number"):
        attrs = "".join(f' {html_name}="{e(prop[key_])}"' for key_, html_name in
                        (("minimum", "min"), ("maximum", "max")) if key_ in prop)
        step = "1" if kind == "integer" else "any"
        value = f' value="{e(default)}"' if default is not None else ""
        return (f'<label for="{fid}">{label}</label><input type="number" step="{step}"'
                f'{attrs}{value} {common} data-type="number">{hint}')
    if kind == "string":
        secret = prop.get("writeOnly") or prop.get("format") == "password"
        limit = f' maxlength="{e(prop["maxLength"])}"' if "maxLength" in prop else ""
        value = f' value="{e(default)}"' if default is not None else ""
        kind_attr = "password" if secret else "text"
        return (f'<label for="{fid}">{label}</label><input type="{kind_attr}"'
                f'{limit}{value} {common} data-type="string" autocomplete="off">{hint}')
    placeholder = "[]" if kind == "array" else "{}"
    return (f'<label for="{fid}">{label} <span class="muted">(JSON)</span></label>'
            f'<textarea rows="3" {common} data-type="json" placeholder="{placeholder}">'
            f"{e(json.dumps(default) if default is not None else '')}</textarea>{hint}")


def action_form(action: Mapping[str, Any], admin: bool,
                picks: Mapping[str, list[tuple[Any, str]] | str] | None = None) -> str:
    """A read-only action runs on the first press (it changes nothing); any other asks
    once more, in words, what it is about to do."""
    name, schema = action["name"], action["params"] or {}
    required = set(schema.get("required", []))
    picks = picks or {}
    fields = "".join(_field(name, key, prop, key in required, picks.get(key))
                     for key, prop in (schema.get("properties") or {}).items())
    destructive = action["destructive"]
    read_only = bool(action.get("read_only"))
    warn = ('<p class="warn"><span aria-hidden="true">⚠</span> Destructive: an admin must '
            "approve it before it runs.</p>" if destructive else "")
    button = ("Request approval" if destructive else "Run") \
        if admin else "Admins only"
    disabled = "" if admin else " disabled"
    return (
        f'<form class="action glass" data-action="{e(name)}" data-title="{e(action["title"])}" '
        f'data-destructive="{"true" if destructive else "false"}" '
        f'data-read-only="{"true" if read_only else "false"}" novalidate>'
        f'<h3>{e(action["title"])}</h3>'
        f'<p class="muted">{e(action["description"])}</p>{warn}'
        f'<div class="fields">{fields}</div>'
        f'<div class="confirm" hidden><p class="confirm-text"></p>'
        f'<button type="button" class="btn primary do-confirm">Confirm</button> '
        f'<button type="button" class="btn do-cancel">Cancel</button></div>'
        f'<button type="submit" class="btn primary run"{disabled}>{button}</button>'
        f'<output class="result" aria-live="polite"></output></form>')


# --- the page frame -------------------------------------------------------------------------

NAV = (("/", "Overview"), ("/approvals", "Approvals"), ("/audit", "Audit"),
       ("/events", "Events"))


def assets_html(urls: Sequence[str]) -> str:
    """Plugins' stylesheets and scripts (nebula_web_assets), after the panel's own."""
    return "".join(f'<link rel="stylesheet" href="{e(u)}">' if u.split("?")[0].endswith(".css")
                   else f'<script src="{e(u)}" defer></script>' for u in urls)


def page(title: str, body: str, *, current: str = "", user: str | None = None,
         csrf: str = "", logout: str = "", plugins: Sequence[str] = (), pending: int = 0,
         aside: str = "", links: Sequence[tuple[str, str]] = (),
         assets: Sequence[str] = (), host: str = "") -> str:
    """The panel's frame. `links` are the pages plugins list in the navigation (href,
    label: the auth plugin's Security page is one); `assets` the URLs of their scripts and
    stylesheets; `logout` where the "Log out" button posts (a signed-in browser's)."""
    here = ' aria-current="page"'
    nav = "".join(
        f'<li><a href="{e(href)}"{here if href == current else ""}>{e(label)}'
        + (f' <span class="pill" data-pending aria-label="{pending} pending">{pending}</span>'
           if href == "/approvals" else "") + "</a></li>"
        for href, label in (*NAV, *links))
    plugin_nav = "".join(
        f'<li><a href="/plugin/{e(p)}"{here if current == f"/plugin/{p}" else ""}>'
        f"{e(p)}</a></li>" for p in plugins)
    account = ""
    if user:
        out = (f'<form method="post" action="{e(logout)}"><input type="hidden" name="csrf" '
               f'value="{e(csrf)}"><button class="btn small" type="submit">Log out</button>'
               "</form>" if logout else "")
        account = f'<div class="account"><span class="who">{e(user)}</span>{out}</div>'

    side = f'<aside class="side" aria-label="live">{aside}</aside>' if aside else ""
    # Without a side column the main one takes the whole width (a table panel's columns
    # were hidden behind an empty 300 px gutter).
    layout = "layout with-side" if aside else "layout"
    on_host = f" · {e(host)}" if host else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="csrf-token" content="{e(csrf)}">'
        '<meta name="color-scheme" content="dark">'
        f"<title>{e(title)}{on_host} · Nebula Command</title>{FAVICON}"
        f'<link rel="stylesheet" href="/static/nebula.css?v={ASSET_VERSION}">'
        f'<script src="/static/nebula.js?v={ASSET_VERSION}" defer></script>'
        f"{assets_html(assets)}</head>"
        '<body><a class="skip" href="#main">Skip to content</a>'
        '<header class="top glass"><a class="brand" href="/"><span class="logo" '
        'aria-hidden="true">✦</span> Nebula Command</a>'
        + (f'<span class="host" title="host">{e(host)}</span>' if host else "") +
        # One row: on a phone it scrolls sideways rather than stacking four lines deep.
        f'<div class="menu"><nav aria-label="main"><ul>{nav}</ul></nav>'
        f'<nav aria-label="plugins" class="plugins"><ul>{plugin_nav}</ul></nav></div>'
        '<p id="conn" class="conn" role="status" data-state="connecting">'
        '<span class="dot" aria-hidden="true"></span> <span class="conn-text">connecting…'
        f"</span></p>{account}</header>"
        f'<div class="{layout}"><main id="main" tabindex="-1">{body}</main>{side}</div>'
        "</body></html>")


def bare_page(title: str, body: str) -> str:
    """The frame for signed-out pages: no navigation, no live connection."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="dark">'
        f"<title>{e(title)} · Nebula Command</title>{FAVICON}"
        f'<link rel="stylesheet" href="/static/nebula.css?v={ASSET_VERSION}"></head>'
        f'<body class="bare"><main id="main" class="login glass">{body}</main></body></html>')
