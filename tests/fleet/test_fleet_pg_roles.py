"""A hub whose store is on a real PostgreSQL, with two agents as real processes: hosts
enrolled and listed, events relayed, approvals visible, all kept in PostgreSQL; and the
per-host rights the hub's owner grants, tried through the hub's real API: a user with
rights on a1 approves there and is refused on a2, where the action stays pending."""

from __future__ import annotations

import json

import pytest

from tests.fleet.fleet_processes import Member, make_member, running
from tests.store import backends
from tests.waiting import wait_for

pytestmark = pytest.mark.e2e

cluster = backends.cluster
HUB = '[fleet]\nhub = true\npoll_interval = 1\nmax_backoff = 2\ntimeout = 3\n'
WIPE = "/api/v1/fleet/hosts/{}/actions/fleettarget.wipe/run"


@pytest.fixture(scope="module")
def pg_fleet(tmp_path_factory: pytest.TempPathFactory, cluster):
    root = tmp_path_factory.mktemp("pgfleet")
    dbname = backends.new_database(cluster)
    # `store` lands in [agent] (make_member writes the extra text right after it); the
    # password comes from PGPASSWORD, as libpq reads it.
    url = backends.database_url(cluster, dbname)
    hub = make_member(root, "hub", f'store = "{url}"\n{HUB}')
    hub.env["PGPASSWORD"] = cluster.password
    agents = [make_member(root, f"a{i}") for i in (1, 2)]
    with running(hub, agents):
        yield hub, agents, dbname


def hosts(hub: Member, token: str | None = None) -> dict[str, dict]:
    status, body = hub.proc.get("/api/v1/fleet/hosts", token=token)
    assert status == 200, body
    return {h["name"]: h for h in body["hosts"]}


def pending_on(agent: Member) -> dict[str, str]:
    _, body = agent.proc.get("/api/v1/approvals?status=pending")
    return {a["params"]["target"]: a["id"] for a in body["approvals"]}


def test_a_hub_on_postgresql_lists_relays_and_shows_approvals(pg_fleet, cluster):
    hub, (a1, a2), dbname = pg_fleet
    wait_for(lambda: {n: h["state"] for n, h in hosts(hub).items()} ==
             {"a1": "up", "a2": "up"}, timeout=60)
    # Events from an agent reach the hub's stream, stored in PostgreSQL.
    status, _ = a2.proc.post("/api/v1/actions/fleettarget.ping/run", {"params": {"target": "7"}})
    assert status == 200
    wait_for(lambda: any(e["data"]["event"]["topic"] == "fleettarget.ping" for e in
                         hub.proc.get("/api/v1/events?topic=fleet.event&limit=200")[1]
                         ["events"] if e["data"]["host"] == "a2"), timeout=30)
    # A destructive action from the hub waits on the target; the hub lists it.
    status, body = hub.proc.post(WIPE.format("a1"), {"params": {"target": "pg1"}})
    assert status == 202 and body["status"] == "pending_approval", body
    wait_for(lambda: [a["host"] for a in hub.proc.get("/api/v1/fleet/approvals")[1]
                      ["approvals"]] == ["a1"], timeout=30)
    # It all lives in the PostgreSQL database: no SQLite store beside the hub.
    assert not (hub.proc.data_dir / "nebula.db").exists()
    rows = dict(cluster.execute("SELECT key, value FROM kv WHERE plugin = 'fleet'", dbname))
    assert set(json.loads(rows["hosts"])) == {"a1", "a2"}
    topics = {r[0] for r in cluster.execute("SELECT topic FROM events", dbname)}
    assert {"fleet.event", "fleet.host.enrolled"} <= topics
    audited = {r[0] for r in cluster.execute("SELECT action FROM audit", dbname)}
    assert "fleet:fleettarget.wipe" in audited
    # The agents' tokens are sealed there too.
    sealed = cluster.execute("SELECT value FROM secrets WHERE plugin = 'fleet'", dbname)
    assert len(sealed) == 2
    assert not any(token in value for (value,) in sealed for token in (a1.proc.token,
                                                                        a2.proc.token))


def test_rights_on_one_host_do_not_reach_another(pg_fleet):
    hub, (a1, a2), _ = pg_fleet
    wait_for(lambda: all(h["state"] == "up" for h in hosts(hub).values()), timeout=60)
    # Two hub admins (tokens): ops has admin on a1 only, runner is operator on a1.
    tokens = {}
    for name in ("ops", "runner", "nobody"):
        status, made = hub.proc.post("/api/v1/tokens", {"name": name, "role": "admin"})
        assert status == 201
        tokens[name] = made["token"]
    _, looker = hub.proc.post("/api/v1/tokens", {"name": "looker", "role": "viewer"})
    for who, role in (("token:ops", "admin"), ("token:runner", "operator"),
                      ("token:looker", "admin")):
        done = hub.cli("fleet", "grant", who, "a1", "--role", role, "--json")
        assert done.returncode == 0, done.stderr
    done = hub.cli("fleet", "grants", "--json")
    assert {(g["principal"], g["role"]) for g in json.loads(done.stdout)["grants"]} == {
        ("token:ops", "admin"), ("token:runner", "operator"), ("token:looker", "admin")}
    # Only the hub's owner grants: a hub admin cannot widen its own rights.
    status, problem = hub.proc.post("/api/v1/fleet/grants", {
        "principal": "token:ops", "host": "*", "role": "admin"}, token=tokens["ops"])
    assert status == 403 and "owner" in problem["detail"]

    # The owner files one destructive action on each host.
    for host, target in (("a1", "one"), ("a2", "two")):
        status, _ = hub.proc.post(WIPE.format(host), {"params": {"target": target}})
        assert status == 202
    on_a1, on_a2 = pending_on(a1)["one"], pending_on(a2)["two"]
    wait_for(lambda: {a["host"] for a in hub.proc.get("/api/v1/fleet/approvals")[1]
                      ["approvals"]} == {"a1", "a2"}, timeout=30)

    # ops sees a1 alone: its row, its approvals; a2's page is refused.
    assert set(hosts(hub, tokens["ops"])) == {"a1"}
    _, seen = hub.proc.get("/api/v1/fleet/approvals", token=tokens["ops"])
    assert {a["id"] for a in seen["approvals"]} >= {on_a1}
    assert all(a["host"] == "a1" for a in seen["approvals"])
    status, problem = hub.proc.get("/api/v1/fleet/hosts/a2", token=tokens["ops"])
    assert status == 403 and problem["status"] == 403 and "a2" in problem["detail"]
    # A hub admin without any grant sees no host at all.
    assert hosts(hub, tokens["nobody"]) == {}

    # ops approves on a1: the target runs it.
    status, answer = hub.proc.post(f"/api/v1/fleet/hosts/a1/approvals/{on_a1}/approve", {},
                                   token=tokens["ops"])
    assert status == 200 and answer["host"] == "a1", answer
    assert a1.marks.read_text() == "one\n"
    # ops is refused on a2 (403 problem+json), and a2's action still waits there.
    for verb in ("approve", "deny"):
        status, problem = hub.proc.post(f"/api/v1/fleet/hosts/a2/approvals/{on_a2}/{verb}",
                                        {}, token=tokens["ops"])
        assert status == 403 and problem["title"] and "no admin right on host 'a2'" in \
            problem["detail"], problem
    status, _ = hub.proc.post(WIPE.format("a2"), {"params": {"target": "x"}},
                              token=tokens["ops"])
    assert status == 403
    assert pending_on(a2) == {"two": on_a2}
    assert not a2.marks.exists()

    # An operator runs on a1 (the gate files it) but does not approve there.
    status, body = hub.proc.post(WIPE.format("a1"), {"params": {"target": "op"}},
                                 token=tokens["runner"])
    assert status == 202 and body["status"] == "pending_approval"
    status, _ = hub.proc.post(
        f"/api/v1/fleet/hosts/a1/approvals/{body['approval']['id']}/approve", {},
        token=tokens["runner"])
    assert status == 403
    # A hub viewer stays a viewer, whatever it was granted on a host.
    status, _ = hub.proc.post(
        f"/api/v1/fleet/hosts/a1/approvals/{body['approval']['id']}/approve", {},
        token=looker["token"])
    assert status == 403
    assert a1.marks.read_text() == "one\n"

    # The action and tool path (Jarvis, MCP, plugins) asks the same question.
    status, out = hub.proc.post("/api/v1/tools/fleet.run_on_host/run", {
        "host": "a2", "action": "fleettarget.wipe", "params": {"target": "tool"}},
        token=tokens["ops"])
    assert status == 422 and "no operator right on host 'a2'" in json.dumps(out), out
    status, out = hub.proc.post("/api/v1/tools/fleet.hosts/run", {}, token=tokens["ops"])
    assert [h["name"] for h in out["result"]["hosts"]] == ["a1"]
    assert pending_on(a2) == {"two": on_a2}

    # The hub audits the refusal under the caller.
    _, audit = hub.proc.get("/api/v1/audit?outcome=refused&limit=50")
    assert {(r["actor"], r["action"]) for r in audit["audit"]} >= {
        ("token:ops", "fleet:approve"), ("token:ops", "fleet:deny")}
    # The hub's event stream carries every host's events; ops gets a1's alone (a2's
    # approval.requested, relayed as fleet.event, would show its pending action).
    _, everything = hub.proc.get("/api/v1/events?topic=fleet.*&limit=200")
    assert {e["data"]["host"] for e in everything["events"]} == {"a1", "a2"}
    _, mine = hub.proc.get("/api/v1/events?topic=fleet.*&limit=200", token=tokens["ops"])
    assert mine["events"] and {e["data"]["host"] for e in mine["events"]} == {"a1"}
    # Taking the grant away takes the host out of ops's view at once.
    done = hub.cli("fleet", "ungrant", "token:ops", "a1", "--json")
    assert done.returncode == 0, done.stderr
    assert hosts(hub, tokens["ops"]) == {}
    _, mine = hub.proc.get("/api/v1/events?topic=fleet.*&limit=200", token=tokens["ops"])
    assert mine["events"] == []
