"""A plugin panel's declared data, rendered as HTML (charts as SVG drawn here)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from nebula.web.choices import RowAction, row_buttons
from nebula.web.html import e, table
from nebula.web.values import cell, text

SERIES = 4  # lines a timeseries chart draws at most; more would not be readable


def _fields(panel: Mapping[str, Any], keys: Sequence[str]) -> list[dict[str, Any]]:
    declared = {f["key"]: f for f in panel["fields"]}
    order = [f["key"] for f in panel["fields"]] or list(keys)
    return [declared.get(k, {"key": k, "label": k, "unit": "", "description": ""})
            for k in order]


def _label(field: Mapping[str, Any]) -> str:
    """The field's label alone: values carry their units ("91 %", "3.2 GiB"), so a unit
    in the heading too read "Used % (%)"."""
    return str(field.get("label") or field["key"])


def _value(value: Any, field: Mapping[str, Any] | None = None) -> str:
    field = field or {}
    return cell(value, field.get("unit", ""), str(field.get("key", "")))


def render(panel: Mapping[str, Any], data: Any, row_actions: Sequence[RowAction] = (),
           admin: bool = False) -> str:
    """`row_actions` (table panels): the actions each row gets a button for."""
    kind = panel["kind"]
    try:
        if kind == "table":
            return _table(panel, data, row_actions, admin)
        return _RENDERERS[kind](panel, data)
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        return f'<p class="error">cannot show this {e(kind)} panel: {e(exc)}</p>'


def _stat(panel: Mapping[str, Any], data: Any) -> str:
    (field,) = _fields(panel, ["value"])[:1] or [{"key": "value", "unit": ""}]
    value = data.get(field["key"], data.get("value")) if isinstance(data, Mapping) else data
    return f'<p class="stat"><span class="stat-value">{_value(value, field)}</span></p>'


def _keyvalue(panel: Mapping[str, Any], data: Any) -> str:
    items = "".join(f"<dt>{e(_label(f))}</dt><dd>{_value(data.get(f['key']), f)}</dd>"
                    for f in _fields(panel, list(data)) if f["key"] in data)
    return f'<dl class="kv">{items}</dl>'


def _table(panel: Mapping[str, Any], data: Any, row_actions: Sequence[RowAction] = (),
           admin: bool = False) -> str:
    rows = list(data)
    fields = _fields(panel, list(rows[0]) if rows and isinstance(rows[0], Mapping) else [])
    headers = [_label(f) for f in fields]
    cells = ([_value(r.get(f["key"]), f) for f in fields] for r in rows)
    if row_actions:
        headers.append("Actions")
        cells = ([*c, row_buttons(r, row_actions, admin)] for c, r in
                 zip(cells, rows, strict=True))
    return table(headers, cells, panel["title"], "No rows.")


def _list(panel: Mapping[str, Any], data: Any) -> str:
    items = []
    for item in data:
        if isinstance(item, Mapping):
            fields = _fields(panel, list(item))
            items.append(" · ".join(f'<span title="{e(_label(f))}">{_value(item.get(f["key"]), f)}'
                                    "</span>" for f in fields if f["key"] in item))
        else:
            items.append(e(item))
    return ('<ul class="plain">' + "".join(f"<li>{i}</li>" for i in items) + "</ul>"
            if items else '<p class="muted">Empty.</p>')


def _clock(t: float) -> str:
    return time.strftime("%H:%M", time.gmtime(t))


def _timeseries(panel: Mapping[str, Any], data: Any) -> str:
    rows = sorted((r for r in data if isinstance(r, Mapping) and "t" in r), key=lambda r: r["t"])
    if not rows:
        return '<p class="muted">No data yet.</p>'
    keys = [k for k in rows[0] if k != "t"]
    fields = [f for f in _fields(panel, keys) if f["key"] != "t"][:SERIES]
    t0, t1 = rows[0]["t"], rows[-1]["t"]
    values = [float(r[f["key"]]) for r in rows for f in fields
              if isinstance(r.get(f["key"]), int | float)]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    span, tspan = (high - low) or 1.0, (t1 - t0) or 1.0
    lines, legend = [], []
    for n, field in enumerate(fields):
        points = " ".join(
            f"{round((r['t'] - t0) / tspan * 300, 1)},"
            f"{round(110 - (float(v) - low) / span * 100, 1)}"
            for r in rows if isinstance(v := r.get(field["key"]), int | float))
        lines.append(f'<polyline class="series s{n}" points="{points}"/>')
        legend.append(f'<li class="s{n}"><span class="swatch" aria-hidden="true"></span>'
                      f"{e(_label(field))}: {_value(rows[-1].get(field['key']), field)}</li>")
    label = (f"{panel['title']}: {len(rows)} points from {_clock(t0)} to {_clock(t1)} UTC, "
             f"range {text(low, fields[0].get('unit', '') if fields else '')} to "
             f"{text(high, fields[0].get('unit', '') if fields else '')}")
    return (f'<svg class="chart" viewBox="0 0 300 120" preserveAspectRatio="none" role="img" '
            f'aria-label="{e(label)}"><line class="axis" x1="0" y1="110" x2="300" y2="110"/>'
            f'{"".join(lines)}</svg>'
            f'<p class="chart-scale muted"><span>{_value(low, fields[0] if fields else None)} to '
            f'{_value(high, fields[0] if fields else None)}</span> '
            f"<span>{_clock(t0)} to {_clock(t1)} UTC</span></p>"
            f'<ul class="legend">{"".join(legend)}</ul>')


_RENDERERS = {"stat": _stat, "keyvalue": _keyvalue, "table": _table, "list": _list,
              "timeseries": _timeseries}
