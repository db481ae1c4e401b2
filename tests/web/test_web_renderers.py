"""The panel's renderers without a browser: values with units, results as data, choices,
events in words, approvals with their plan, audit search, and each wording bug the review
of issue 18 named (every one of these failed on the code before)."""

from __future__ import annotations

import re
import time
from types import SimpleNamespace
from typing import Any

import pytest

from nebula.api import Action, Field, Panel
from nebula.builtins.auth.users import LoginGuard
from nebula.store import SqliteStore
from nebula.views import describe_panel
from nebula.web import choices, events_view, panels, results, values
from nebula.web.approvals_view import card, why
from nebula.web.errors import error_page, wants_page
from nebula.web.html import action_form, page, table
from nebula_postgres import checks as pg_checks


def _panel(kind: str, *fields: Field, title: str = "T") -> dict[str, Any]:
    async def data() -> Any:
        return None

    return describe_panel(Panel("p.x", kind, data, title=title, fields=fields))


def _strip(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


# --- the review's wording bugs ------------------------------------------------------------

def test_a_unit_is_not_repeated_in_the_heading():  # "Used % (%)"
    panel = _panel("table", Field("percent", "Used %", "%"))
    html = panels.render(panel, [{"percent": 91.0}])
    assert "Used % (%)" not in html and ">Used %<" in html
    assert "91 %" in html


def test_ports_are_a_list_of_words_not_a_python_list():
    panel = _panel("table", Field("ports", "Ports"))
    html = panels.render(panel, [{"ports": ["8080->80/tcp", "8443->443/tcp"]}])
    assert "8080-&gt;80/tcp, 8443-&gt;443/tcp" in html
    assert "[" not in _strip(html) and "&#x27;" not in html


def test_epoch_seconds_are_a_local_time_not_1_797e09():
    panel = _panel("table", Field("ts", "Time", "s", "Epoch seconds the message was made."))
    ts = 1_797_000_000.25
    html = panels.render(panel, [{"ts": ts}])
    assert "e+09" not in html and "1797000000" not in html
    assert time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) in html
    assert 'datetime="2026-12-11T' in html  # the exact moment, for machines


def test_uptime_reads_in_days_and_hours_not_seconds():
    panel = _panel("table", Field("uptime", "Uptime", "s"))
    html = panels.render(panel, [{"uptime": 3 * 86400 + 4 * 3600 + 12}])
    assert "3 d 4 h" in html and "273612" not in html


def test_sizes_and_throughput_read_in_binary_units():
    kv = _panel("keyvalue", Field("size", "Size", "bytes"), Field("rate", "Rate", "bytes/s"))
    html = panels.render(kv, {"size": 270553174016, "rate": 1.246e6})
    assert "252.0 GiB" in html and "1.2 MB/s" in html
    assert "270553174016" not in html and "e+06" not in html


def test_other_units_follow_the_number():
    html = panels.render(_panel("stat", Field("value", "Widgets", "pcs")), {"value": 7})
    assert '<span class="stat-value">7 pcs</span>' in html


def test_one_failed_login_is_not_one_failed_logins(tmp_path):
    async def run() -> str:
        store = SqliteStore(tmp_path / "n.db")
        await store.open()
        try:
            guard = LoginGuard(store, {"login_window": 900, "login_max_failures": 5,
                                       "login_max_failures_ip": 20})
            await guard.record("10.0.0.1", "bob", "wrong password")
            return (await guard.check()).summary
        finally:
            await store.close()

    import asyncio

    summary = asyncio.run(run())
    assert summary.startswith("1 failed login in the last hour from 1 address;"), summary
    assert "0 attempts" in summary


def test_one_database_is_not_one_databases():
    snap = SimpleNamespace(sizes={"app": 2 * 1024**3}, growth={})
    summary = pg_checks.database_sizes(snap, {}).summary  # type: ignore[arg-type]
    assert summary.startswith("1 database, "), summary
    two = SimpleNamespace(sizes={"app": 1, "b": 1}, growth={})
    assert pg_checks.database_sizes(two, {}).summary.startswith("2 databases, ")  # type: ignore[arg-type]
    config = {"backup_dir": "/b", "backup_max_age_hours": 30}
    now = time.time()
    assert pg_checks.backup_age({"app": now - 3600}, config, now).summary.endswith(
        "; 1 database")


# --- values and results ------------------------------------------------------------------

@pytest.mark.parametrize(("value", "unit", "key", "shown"), [
    (None, "", "", ""), (True, "", "", "yes"), (5432, "", "port", "5432"),
    (0.5, "%", "", "0.5 %"), (12.0, "ms", "", "12 ms"), (2048, "", "size_bytes", "2.0 KiB"),
    (75.5, "", "cpu_percent", "76 %"), (7200, "", "uptime", "2 h"),
    ({"a": 1, "b": [1, 2]}, "", "", "a: 1, b: 1, 2"),
])
def test_values_in_words(value, unit, key, shown):
    assert values.text(value, unit, key) == shown


def test_a_list_of_objects_is_a_table_and_an_object_key_values():
    html = results.render_value([{"pid": 4680, "name": "postgres", "rss": 50 * 1024**2},
                                 {"pid": 4681, "name": "nginx", "cmdline": ["nginx", "-g"]}])
    assert "<table" in html and '<th scope="col">Pid</th>' in html
    assert '<th scope="col">Cmdline</th>' in html  # a key only the second row has
    assert 'data-label="Name">postgres</td>' in html and "50.0 MiB" in html
    assert "nginx, -g" in html and "{" not in _strip(html)
    kv = results.render_value({"removed": 3, "reclaimed_bytes": 5 * 1024**3})
    assert "<dl" in kv and "<dt>Reclaimed bytes</dt>" in kv and "5.0 GiB" in kv


def test_an_outcome_in_words():
    done = results.outcome({"status": "ok", "duration_ms": 1500.0,
                            "result": [{"id": "abc", "state": "running"}]})
    assert "Done in 2 s." in done and "<table" in done
    failed = results.outcome({"status": "error", "error": "no such <container>"})
    assert "Failed" in failed and "no such &lt;container&gt;" in failed


def test_output_lines_read_as_lines():
    html = results.render_value({"container": "web", "lines": ["a <b>", "second"]})
    assert '<pre class="lines">a &lt;b&gt;\nsecond</pre>' in html


def test_deep_nesting_ends_as_words_never_json():
    deep = {"a": {"b": {"c": {"d": {"e": 1}}}}}
    assert "{" not in _strip(results.render_value(deep))


def test_a_table_names_each_cell_for_the_phone_cards():
    html = table(["Name", ""], [["web", "<button>x</button>"]], "t")
    assert '<td data-label="Name">web</td><td><button>' in html


# --- choices: pickers and per-row buttons ---------------------------------------------------

async def _noop(params: Any) -> Any:
    return params


RESTART = Action("restart", _noop, title="Restart", params={
    "type": "object", "required": ["id"],
    "properties": {"id": {"type": "string", "x-choices": {"panel": "containers",
                                                          "value": "id", "label": "name"}},
                   "timeout": {"type": "integer", "default": 10}}})
TERMINATE = Action("terminate", _noop, title="Terminate", destructive=True, params={
    "type": "object", "required": ["pid", "signal"],
    "properties": {"pid": {"type": "integer", "x-choices": {"panel": "processes",
                                                            "value": "pid"}},
                   "signal": {"type": "string"}}})


def _named(action: Action, plugin: str = "d") -> Action:
    from dataclasses import replace

    return replace(action, name=f"{plugin}.{action.name}")


def test_choices_from_rows_label_the_value_and_drop_repeats():
    (source,) = choices.sources(RESTART)
    rows = [{"id": "a1", "name": "web"}, {"id": "a1", "name": "web"}, {"id": "b2"},
            {"id": None, "name": "gone"}]
    assert choices.choices(rows, source) == [("a1", "web (a1)"), ("b2", "b2")]


def test_a_row_button_only_where_the_action_needs_nothing_else():
    restart, terminate = _named(RESTART), _named(TERMINATE)
    assert [r.action.name for r in choices.row_actions("containers", [restart, terminate])] \
        == ["d.restart"]
    # terminate needs a signal too, with no default: no one-click button for it
    assert choices.row_actions("processes", [restart, terminate]) == []
    (found,) = choices.row_actions("containers", [restart])
    html = choices.row_buttons({"id": "a1", "name": "web"}, [found], admin=True)
    assert 'data-params="{&quot;id&quot;: &quot;a1&quot;}"' in html
    assert 'aria-label="Restart web"' in html and ">Restart</button>" in html


def test_a_destructive_row_button_says_more_follows():
    action = _named(Action("remove", _noop, title="Remove", destructive=True,
                           prepare=_noop, params={
                               "type": "object", "required": ["id"],
                               "properties": {"id": {"type": "string", "x-choices": {
                                   "panel": "containers", "value": "id"}}}}))
    (found,) = choices.row_actions("containers", [action])
    assert ">Remove…</button>" in choices.row_buttons({"id": "x"}, [found], admin=True)


async def test_choices_come_from_a_read_only_action_and_only_from_one():
    async def databases(_params: Any) -> list[str]:
        return ["app", "wiki"]

    listing = Action("list_databases", databases, read_only=True)
    writer = Action("make_list", databases)
    backup = _named(Action("backup", _noop, params={
        "type": "object", "required": ["name"],
        "properties": {"name": {"type": "string", "x-choices": {"action": "list_databases"}},
                       "other": {"type": "string", "x-choices": {"action": "make_list"}}}}),
        "pg")
    found = await choices.resolve("pg", [backup], {"pg.list_databases": _named(listing, "pg"),
                                                   "pg.make_list": _named(writer, "pg")}, {})
    assert found["pg.backup"]["name"] == [("app", "app"), ("wiki", "wiki")]
    assert "not read-only" in str(found["pg.backup"]["other"])


def test_the_form_offers_a_drop_down_of_the_choices():
    described = {"name": "d.restart", "title": "Restart", "description": "",
                 "params": RESTART.params, "destructive": False, "read_only": False}
    html = action_form(described, True, {"id": [("a1", "web (a1)")]})
    assert '<select id="f-d-restart-id" name="id" required data-type="json">' in html
    assert '<option value="&quot;a1&quot;">web (a1)</option>' in html
    failed = action_form(described, True, {"id": "timed out"})
    assert 'type="text"' in failed and "Could not list the choices: timed out" in failed


def test_a_read_only_form_is_marked_so_it_runs_at_once():
    described = {"name": "d.list", "title": "List", "description": "", "params": {},
                 "destructive": False, "read_only": True}
    assert 'data-read-only="true"' in action_form(described, True)


# --- events in words ------------------------------------------------------------------------

def _event(topic: str, data: dict[str, Any], source: str = "core") -> dict[str, Any]:
    return {"id": 1, "ts": 1_797_000_000.0, "topic": topic, "source": source, "data": data}


def test_a_check_change_in_words_coloured_and_linked():
    ev = _event("check.changed", {"check": "system.memory", "plugin": "system",
                                  "old": "ok", "new": "warning", "summary": "91 % used"})
    html = events_view.item(ev)
    assert "system.memory ok → warning: 91 % used" in html
    assert 'class="event status-warning"' in html and 'href="/checks/system.memory"' in html


def test_approvals_and_runs_in_words():
    d = events_view.describe(_event("approval.requested", {
        "action": "docker.remove", "requested_by": "user:ann"}))
    assert (d.text, d.status, d.href) == ("docker.remove requested by user:ann", "warning",
                                          "/approvals")
    d = events_view.describe(_event("action.ran", {"action": "postgres.backup",
                                                   "actor": "user:ann", "status": "error"}))
    assert d.text == "postgres.backup ran for user:ann: error" and d.status == "critical"
    d = events_view.describe(_event("plugin.started", {"plugin": "maintenance"}))
    assert (d.text, d.href) == ("maintenance plugin started", "/plugin/maintenance")


def test_internal_events_stay_out_and_filters_apply():
    evs = [_event("check.first_results", {"summary": "first results of 3 checks"}),
           _event("action.progress", {"message": "40 %"}),
           _event("jarvis.delta", {"text": "hel"}),
           _event("system.log", {"message": "a line"}, "system"),
           _event("check.changed", {"check": "a.b", "old": "ok", "new": "critical"}),
           _event("plugin.started", {"plugin": "docker"})]
    assert [e["topic"] for e in events_view.shown(evs)] == ["plugin.started", "check.changed"]
    assert [e["topic"] for e in events_view.shown(evs, kind="checks")] == ["check.changed"]
    assert [e["topic"] for e in events_view.shown(evs, status="critical")] == ["check.changed"]
    assert [e["topic"] for e in events_view.shown(evs, q="DOCKER")] == ["plugin.started"]


# --- approvals --------------------------------------------------------------------------------

def _approval(**extra: Any) -> dict[str, Any]:
    return {"id": "ab12", "created": 1_797_000_000.0, "expires": 1_797_003_600.0,
            "action": "system.terminate", "requested_by": "user:ann", "status": "pending",
            "decided_by": None, "decided_at": None, "reason": "", "digest": "d1",
            "params": {"pid": 4680},
            "plan": {"pid": 4680, "name": "postgres", "cmdline": ["postgres", "-D", "/data"],
                     "rss": 50 * 1024**2},
            "result": None, "self_approved": False, **extra}


def test_an_approval_shows_its_target_who_asked_and_the_buttons_below():
    html = card(_approval(), admin=True, title="Terminate process")
    target = html[html.index('class="target"'):html.index('class="kv facts"')]
    assert "<dt>Name</dt><dd>postgres</dd>" in target
    assert "postgres, -D, /data" in target and "50.0 MiB" in target
    assert "ann, by hand" in html and "Terminate process (system.terminate)" in html
    assert html.index('class="target"') < html.index('class="decide"')
    assert ">Approve</button>" in html and ">Deny</button>" in html


def test_an_approved_request_shows_its_result():
    html = card(_approval(status="approved", decided_by="user:bob", decided_at=1_797_000_100.0,
                          result={"status": "ok", "duration_ms": 12.0,
                                  "result": {"terminated": 4680, "signal": "SIGTERM"}}),
                admin=True)
    assert "Approved by" in html and "user:bob" in html and "Result" in html
    assert "<dt>Signal</dt><dd>SIGTERM</dd>" in html and 'class="decide"' not in html


def test_who_asked_in_words():
    assert why("remediation:restart-web").startswith("remediation policy restart-web")
    assert why("jarvis:diagnose-1a2b").startswith("Jarvis")


# --- the frame, errors ----------------------------------------------------------------------

def test_the_hostname_is_in_the_header_and_title_and_the_icon_is_linked():
    html = page("Overview", "<p>x</p>", host="nas01")
    assert "<title>Overview · nas01 · Nebula Command</title>" in html
    assert '<span class="host" title="host">nas01</span>' in html
    assert '<link rel="icon" href="/favicon.svg" type="image/svg+xml">' in html


def test_without_a_side_column_the_layout_has_no_gutter():
    assert 'class="layout"><main' in page("x", "", aside="")
    assert 'class="layout with-side"' in page("x", "", aside="<p>feed</p>")


def test_an_error_page_in_words():
    html = error_page(404, "no plugin named 'x<y'")
    assert "<h2>Not Found</h2>" in html and "no plugin named &#x27;x&lt;y&#x27;" in html
    assert "log has the details" in error_page(500, "Traceback secret") and "Traceback" not in \
        error_page(500, "Traceback secret")


def test_only_browsers_asking_for_a_page_get_html():
    def request(path: str, accept: str, method: str = "GET") -> Any:
        return SimpleNamespace(path=path, method=method, headers={"Accept": accept})

    html = "text/html,application/xhtml+xml,*/*;q=0.8"
    assert wants_page(request("/plugin/nope", html))
    assert not wants_page(request("/api/v1/nope", html))
    assert not wants_page(request("/plugin/nope", "*/*"))
    assert not wants_page(request("/plugin/nope", html, "POST"))
