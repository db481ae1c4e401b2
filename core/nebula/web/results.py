"""Any JSON-able value (an action's result, an approval's prepared plan) as HTML people read:
an object as a key-value list, a list of objects as a table, numbers with the units their
keys name (nebula.web.values). Never a JSON blob: past `DEPTH` levels of nesting what is
left is written out as "key: value" text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nebula.web.html import e, table
from nebula.web.values import cell, text

DEPTH = 3
ROWS = 200  # rows a result table shows; the rest are counted
# Lists of text under these keys are output (a log's lines), shown as such.
LINES = frozenset({"lines", "log", "logs", "output", "stdout", "stderr"})


def label(key: str) -> str:
    """`cpu_percent` → "Cpu percent": a key as a heading."""
    words = str(key).replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else str(key)


def _scalar(value: Any) -> bool:
    return not isinstance(value, Mapping | list | tuple)


def render_value(value: Any, key: str = "", depth: int = 0) -> str:
    if _scalar(value):
        return cell(value, "", key)
    if depth >= DEPTH:
        return e(text(value, "", key))
    if isinstance(value, Mapping):
        return keyvalues(value, depth)
    items = list(value)
    if not items:
        return '<span class="muted">none</span>'
    if all(isinstance(i, Mapping) for i in items):
        return rows_table(items, key or "result", depth)
    if all(isinstance(i, str) for i in items) and (
            key in LINES or len(items) > 10 or any("\n" in i for i in items)):
        return f'<pre class="lines">{e(chr(10).join(items))}</pre>'
    if all(_scalar(i) for i in items):
        return cell(items, "", key)
    return '<ul class="plain">' + "".join(
        f"<li>{render_value(i, key, depth + 1)}</li>" for i in items) + "</ul>"


def keyvalues(value: Mapping[str, Any], depth: int = 0) -> str:
    if not value:
        return '<span class="muted">nothing</span>'
    items = "".join(f"<dt>{e(label(k))}</dt><dd>{render_value(v, str(k), depth + 1)}</dd>"
                    for k, v in value.items())
    return f'<dl class="kv">{items}</dl>'


def rows_table(rows: Sequence[Mapping[str, Any]], name: str, depth: int = 0) -> str:
    keys: list[str] = []
    for row in rows:
        keys += [str(k) for k in row if str(k) not in keys]
    shown = rows[:ROWS]
    body = table([label(k) for k in keys],
                 ([render_value(r.get(k), k, depth + 1) for k in keys] for r in shown),
                 label(name), "No rows.")
    more = (f'<p class="muted">and {len(rows) - ROWS} more rows</p>'
            if len(rows) > ROWS else "")
    return body + more


def outcome(result: Mapping[str, Any]) -> str:
    """An action's outcome (`status`, `result` or `error`, `duration_ms`) in words."""
    status = result.get("status")
    took = result.get("duration_ms")
    timing = f" in {text(took / 1000, 'seconds')}" if isinstance(took, int | float) else ""
    if status == "error":
        return (f'<p class="error"><span aria-hidden="true">✖</span> Failed{e(timing)}: '
                f'{e(result.get("error") or "no reason given")}</p>')
    if status == "running":
        return '<p class="pending">Still running; this updates when it ends.</p>'
    if status == "interrupted":
        return f'<p class="error">Interrupted: {e(result.get("error") or "")}</p>'
    value = result.get("result")
    shown = "" if value is None or value == {} or value == [] else render_value(value, "result")
    return (f'<p class="ok"><span aria-hidden="true">✔</span> Done{e(timing)}.</p>'
            f'<div class="result-data">{shown}</div>')
