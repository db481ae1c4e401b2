"""The settings pages: every installed plugin with its state and a switch (`/settings`),
and one plugin's settings form (`/settings/plugin?name=…`). Admins only.

A change is made to a copy of nebula.toml first and checked by the same code as
`nebula config validate` (the file's whole config, every plugin's schema and own rules);
only a copy without problems replaces the file, keeping its comments and layout, and the
agent then reloads it as SIGHUP does. A refused change writes nothing and shows the form
again with what was typed and where each problem is. Every save and switch is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomlkit
from aiohttp import web

from nebula.builtins.settings.form import CSRF, Submitted, fields, left_to_file, submitted
from nebula.config import ConfigProblem, config_candidates, load, read
from nebula.config_edit import edited, plugin_table, replace_text
from nebula.http.keys import agent_of, principal_of, signed_in
from nebula.http.problems import Problem
from nebula.plugins import LOADED, PluginRecord, validate_plugins
from nebula.secret_store import Sealer
from nebula.surfaces import ADMIN, PAGE_TAG, Endpoint, WebPage
from nebula.web.html import badge, e, table
from nebula.web.pages import frame

HOME = "/settings"


def _csrf(request: web.Request) -> str:
    browser = signed_in(request)
    token = browser[1].csrf if browser else ""
    return f'<input type="hidden" name="{CSRF}" value="{e(token)}">'


def _config_path(request: web.Request) -> Path:
    """The file the agent reads; an agent started on defaults gets the user's own file,
    where its next start looks too (docs/web.md, "Plugins and settings")."""
    path = agent_of(request).config.path
    return (path or config_candidates()[-1]).resolve()


def _file_section(path: Path, plugin: str) -> dict[str, Any]:
    """The plugin's keys as the file writes them (`${ENV}` references unresolved)."""
    if not path.exists():
        return {}
    section = tomlkit.parse(path.read_text(encoding="utf-8")).unwrap().get(
        "plugins", {}).get(plugin)
    return section if isinstance(section, dict) else {}


def _record(request: web.Request, name: str) -> PluginRecord:
    record = agent_of(request).manager.records.get(name)
    if record is None or record.builtin or not record.loadable:
        raise Problem(404, f"no plugin {name!r} whose settings this page can edit")
    return record


def _state(record: PluginRecord) -> str:
    status = {"loaded": "ok", "failed": "critical"}.get(str(record.state), "unknown")
    return badge(status, str(record.state))


def _switch(request: web.Request, record: PluginRecord) -> str:
    if record.builtin:
        return '<span class="muted">built in</span>'
    on = record.state == LOADED
    return (f'<form method="post" action="{HOME}/switch">{_csrf(request)}'
            f'<input type="hidden" name="plugin" value="{e(record.name)}">'
            f'<input type="hidden" name="enabled" value="{"false" if on else "true"}">'
            f'<button class="btn small{" danger" if on else " primary"}" type="submit">'
            f'{"Disable" if on else "Enable"} {e(record.name)}</button></form>')


async def _list(request: web.Request, message: str = "") -> str:
    records = sorted(agent_of(request).manager.records.values(),
                     key=lambda r: (r.builtin, r.name))
    rows = [(f'<a href="{HOME}/plugin?name={e(r.name)}">{e(r.name)}</a>'
             if not r.builtin and r.loadable else e(r.name), _state(r), e(r.version or ""),
             e((r.manifest.description if r.manifest else "") or r.error or ""),
             _switch(request, r)) for r in records]
    note = f'<p class="ok-note" role="status">{e(message)}</p>' if message else ""
    return ("<h1>Plugins and settings</h1>" + note
            + f'<p class="muted">Changes are saved to <code>{e(_config_path(request))}</code>'
              " (comments kept) and applied at once.</p>"
            + table(("Plugin", "State", "Version", "What it does", ""), rows, "plugins"))


def _problems_html(problems: list[ConfigProblem]) -> str:
    items = "".join(f"<li><code>{e(p.path)}</code>"
                    f"{f' (line {p.line})' if p.line else ''}: {e(p.message)}</li>"
                    for p in problems)
    return (f'<div class="error" role="alert"><p>Not saved: the config would not be valid.'
            f"</p><ul>{items}</ul></div>")


def _form(request: web.Request, record: PluginRecord, sent: Submitted | None = None,
          problems: list[ConfigProblem] | None = None, saved: bool = False) -> str:
    path = _config_path(request)
    current = _file_section(path, record.name)
    sent = sent or Submitted()
    note = ('<p class="ok-note" role="status">Saved and applied.</p>' if saved else "")
    rest = left_to_file(record.schema)
    later = (f'<p class="muted">Edit {", ".join(f"<code>{e(k)}</code>" for k in rest)} in '
             f"<code>{e(path)}</code>: they hold secrets inside a list or table.</p>"
             if rest else "")
    inputs = fields(record.name, record.schema, current, sent.typed, sent.errors)
    return (f"<h1>{e(record.name)} settings</h1>{note}"
            + (_problems_html(problems) if problems else "")
            + f'<p class="muted">{e(record.manifest.description if record.manifest else "")}'
              f"</p>{later}"
            + f'<form method="post" action="{HOME}/plugin?name={e(record.name)}" '
              f'class="settings glass">{_csrf(request)}<div class="fields">'
              f"{inputs or '<p>This plugin has no settings.</p>'}</div>"
              '<button class="btn primary" type="submit">Save and apply</button> '
              f'<a class="btn" href="{HOME}">Back</a></form>')


async def _apply(request: web.Request, change: Callable[[tomlkit.TOMLDocument], None]
                 ) -> list[ConfigProblem]:
    """Check the file as `change` leaves it; only then write it and reload the agent."""
    agent, path = agent_of(request), _config_path(request)
    text = edited(path, change)
    candidate = path.with_name(f".{path.name}.candidate")
    replace_text(candidate, text)
    try:
        config, problems = read(candidate)
        if config is not None and not problems:
            problems = validate_plugins(config, agent.manager, unknown_plugins=False)
    finally:
        candidate.unlink(missing_ok=True)
    if problems:
        return [_named(p, candidate, path) for p in problems]
    replace_text(path, text)
    await agent.reload(load(path))
    return []


def _named(problem: ConfigProblem, candidate: Path, path: Path) -> ConfigProblem:
    return ConfigProblem(problem.path, problem.message.replace(str(candidate), str(path)),
                         str(path), problem.line)


async def _audit(request: web.Request, what: str, params: dict[str, Any],
                 problems: list[ConfigProblem]) -> None:
    detail = "; ".join(str(p.message) for p in problems)
    await agent_of(request).actions.audit(
        principal_of(request).name, what, params, "refused" if problems else "ok", None,
        None, detail)


async def settings_home(request: web.Request) -> str:
    saved = request.query.get("saved", "")
    return await _list(request, f"{saved}: saved and applied." if saved else "")


async def plugin_form(request: web.Request) -> str:
    return _form(request, _record(request, request.query.get("name", "")),
                 saved="saved" in request.query)


async def save(request: web.Request) -> web.StreamResponse:
    record = _record(request, request.query.get("name", ""))
    agent = agent_of(request)
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    current = _file_section(_config_path(request), record.name)
    sealer = Sealer(agent.config.data_dir / "secret.key")
    sent = submitted(record.schema, current, form, sealer.seal)
    if sent.errors:
        return await _refused(request, record, sent, [])

    def change(doc: tomlkit.TOMLDocument) -> None:
        section = plugin_table(doc, record.name)
        for key, value in sent.changes.items():
            section[key] = value
        for key in sent.removed:
            del section[key]

    problems = await _apply(request, change)
    # Which keys changed, never their values (a secret among them).
    await _audit(request, "settings.save", {"plugin": record.name,
                                            "keys": sorted([*sent.changes, *sent.removed])},
                 problems)
    if problems:
        return await _refused(request, record, sent, problems)
    raise web.HTTPSeeOther(f"{HOME}/plugin?name={record.name}&saved=1")


async def _refused(request: web.Request, record: PluginRecord, sent: Submitted,
                   problems: list[ConfigProblem]) -> web.Response:
    response = await frame(request, f"{record.name} settings",
                           _form(request, record, sent, problems), current=HOME)
    response.set_status(422)
    return response


async def switch(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    record = _record(request, str(form.get("plugin", "")))
    enabled = form.get("enabled") == "true"
    problems = await _apply(request, lambda doc: plugin_table(doc, record.name).__setitem__(
        "enabled", enabled))
    await _audit(request, "settings.enable" if enabled else "settings.disable",
                 {"plugin": record.name}, problems)
    if problems:
        response = await frame(request, "Plugins and settings",
                               _problems_html(problems) + await _list(request), current=HOME)
        response.set_status(422)
        return response
    raise web.HTTPSeeOther(f"{HOME}?saved={record.name}")


def pages() -> list[WebPage | Endpoint]:
    return [
        WebPage("Settings", settings_home, nav=True, role=ADMIN),
        WebPage("Plugin settings", plugin_form, path="/plugin", role=ADMIN),
        Endpoint("POST", "/plugin", save, "Save a plugin's settings (a form post)",
                 role=ADMIN, tag=PAGE_TAG, statuses=(303,), problems=(404, 422)),
        Endpoint("POST", "/switch", switch, "Enable or disable a plugin (a form post)",
                 role=ADMIN, tag=PAGE_TAG, statuses=(303,), problems=(404, 422)),
    ]
