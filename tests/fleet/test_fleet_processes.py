"""The fleet with real processes: a hub and three agents on loopback, enrolled through the
CLI, read over mutual TLS with pinned certificates; a wrong client certificate refused, a
removed host refused, a killed agent shown down and recovered with no event twice; actions
from the hub decided by the target's own gate."""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from tests.agent_process import free_port
from tests.fleet.fleet_processes import Member, make_member, running, tls_get
from tests.waiting import wait_for

pytestmark = pytest.mark.e2e

HUB = '[fleet]\nhub = true\npoll_interval = 1\nmax_backoff = 2\ntimeout = 3\n'


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("fleet")
    hub = make_member(root, "hub", HUB)
    agents = [make_member(root, f"a{i}") for i in range(1, 4)]
    with running(hub, agents):
        yield hub, agents


def hosts(hub: Member) -> dict[str, dict]:
    status, body = hub.proc.get("/api/v1/fleet/hosts")
    assert status == 200, body
    return {h["name"]: h for h in body["hosts"]}


def page(hub: Member, path: str, expect: int = 200) -> str:
    req = urllib.request.Request(hub.proc.url + path,
                                 headers={"Authorization": f"Bearer {hub.proc.token}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == expect
            return resp.read().decode()
    except urllib.error.HTTPError as exc:
        assert exc.code == expect, (path, exc.code)
        return exc.read().decode()


def relayed(hub: Member, host: str) -> list[dict]:
    _, body = hub.proc.get("/api/v1/events?topic=fleet.event&limit=200")
    return [e["data"]["event"] for e in body["events"] if e["data"]["host"] == host]


def test_enrolled_agents_are_read_over_mutual_tls(fleet):
    hub, agents = fleet
    wait_for(lambda: all(h["state"] == "up" for h in hosts(hub).values())
             and len(hosts(hub)) == 3, timeout=60)
    overview = hosts(hub)
    assert set(overview) == {"a1", "a2", "a3"}
    assert all(h["version"] and h["url"].startswith("https://") for h in overview.values())
    # The hub's config file and its store never hold an agent's token in clear.
    data = hub.proc.data_dir
    for agent in agents:
        assert "tls_port" in agent.config.read_text()
        assert (agent.proc.data_dir / "fleet-agent" / "agent.key").stat().st_mode & 0o077 == 0
    assert (data / "fleet" / "ca.key").stat().st_mode & 0o077 == 0
    # Per-host page and the cross-host views answer.
    status, one = hub.proc.get("/api/v1/fleet/hosts/a1")
    assert status == 200 and one["checks"] and one["status"]["version"]
    status, _ = hub.proc.get("/api/v1/fleet/checks?status=warning")
    assert status == 200
    status, _ = hub.proc.get("/api/v1/fleet/checks?status=bogus")
    assert status == 400
    # The panel's pages: the overview lists every host, a host's page its checks.
    for path, expected in (("/fleet", ["a1", "a2", "a3"]),
                           ("/fleet/host?name=a2", [one["checks"][0]["name"]]),
                           ("/fleet/warnings", []), ("/fleet/approvals", [])):
        html = page(hub, path)
        assert all(word in html for word in expected), (path, html[:2000])
    assert "no enrolled host" in page(hub, "/fleet/host?name=nope", 404)
    # Each page refreshes itself from its part on fleet.host.* events.
    assert 'data-refresh="/fleet/part/host?name=a2"' in page(hub, "/fleet/host?name=a2")
    assert "a3" in page(hub, "/fleet/part/overview")


def test_a_used_code_and_a_foreign_ca_are_refused(fleet, tmp_path):
    hub, _ = fleet
    done = hub.cli("fleet", "code", "--json")
    code = json.loads(done.stdout)["code"]
    stranger = make_member(tmp_path, "stranger")
    stranger.proc.start(timeout=60)
    try:
        # A code whose CA fingerprint is not this hub's: refused before anything is sent.
        secret, _, fp = code.partition(".")
        bad = stranger.cli("fleet", "enroll", hub.proc.url, f"{secret}.{'0' * len(fp)}",
                           "--name", "s1", "--address", "127.0.0.1")
        assert bad.returncode != 0 and "does not match the code" in bad.stderr
        good = stranger.cli("fleet", "enroll", hub.proc.url, code, "--name", "s1",
                            "--address", "127.0.0.1", "--tls-port", "1")
        assert good.returncode == 0, good.stderr
        again = stranger.cli("fleet", "enroll", hub.proc.url, code, "--name", "s2",
                             "--address", "127.0.0.1")
        assert again.returncode != 0 and "wrong, used or expired" in again.stderr
        # The token a refused enrollment made on the host is revoked again.
        _, tokens = stranger.proc.get("/api/v1/tokens")
        assert [t["revoked"] is None for t in tokens["tokens"]] == [True, False]
    finally:
        stranger.proc.stop()
        hub.cli("fleet", "remove", "s1")


def test_the_tls_port_wants_the_hubs_client_certificate(fleet, tmp_path):
    hub, agents = fleet
    agent = agents[0]
    ca = agent.proc.data_dir / "fleet-agent" / "hub-ca.pem"
    hub_client = (hub.proc.data_dir / "fleet" / "hub-client.pem",
                  hub.proc.data_dir / "fleet" / "hub-client.key")
    status, body = tls_get(agent.tls_port, "/api/v1/status", cert=hub_client, ca=ca,
                           token=agent.proc.token)
    assert status == 200 and body["version"]
    # A token named as the one made for the hub works only with the hub's certificate:
    # not on the plain listener, nor over TLS with another client certificate.
    _, bound = agent.proc.post("/api/v1/tokens", {"name": "fleet-hub", "role": "admin"})
    status, body = agent.proc.get("/api/v1/status", token=bound["token"])
    assert status == 401 and "client certificate" in body["detail"]
    assert tls_get(agent.tls_port, "/api/v1/status", cert=hub_client, ca=ca,
                   token=bound["token"])[0] == 200
    agent.proc.request("DELETE", f"/api/v1/tokens/{bound['id']}")
    # No client certificate, another CA's, or an agent's own (server-only) one: refused
    # in the handshake, whatever the token.
    from nebula.builtins.fleet.pki import Authority
    other = Authority.open(tmp_path / "other-ca")
    for cert in (None, other.hub_client(),
                 (agents[1].proc.data_dir / "fleet-agent" / "agent.pem",
                  agents[1].proc.data_dir / "fleet-agent" / "agent.key")):
        with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
            tls_get(agent.tls_port, "/api/v1/status", cert=cert, ca=ca,
                    token=agent.proc.token)


def test_the_hub_accepts_only_the_pinned_certificate(fleet):
    """The hub's context for a1 trusts a1's certificate alone: a2, though its certificate
    comes from the same CA, is refused in the handshake (as a host that swapped keys would
    be)."""
    import socket

    from nebula.builtins.fleet.poller import pinned_context

    hub, agents = fleet
    a1_cert = (agents[0].proc.data_dir / "fleet-agent" / "agent.pem").read_text()
    client = (hub.proc.data_dir / "fleet" / "hub-client.pem",
              hub.proc.data_dir / "fleet" / "hub-client.key")
    context = pinned_context(a1_cert, client)
    with socket.create_connection(("127.0.0.1", agents[0].tls_port), 10) as raw, \
            context.wrap_socket(raw) as tls:
        assert tls.version()
    with socket.create_connection(("127.0.0.1", agents[1].tls_port), 10) as raw, \
            pytest.raises(ssl.SSLCertVerificationError):
        context.wrap_socket(raw)


def test_events_are_relayed_and_a_restart_shows_no_event_twice(fleet):
    hub, agents = fleet
    a2 = agents[1]
    wait_for(lambda: hosts(hub)["a2"]["state"] == "up", timeout=60)
    status, _ = a2.proc.post("/api/v1/actions/fleettarget.ping/run", {"params": {"target": "1"}})
    assert status == 200
    wait_for(lambda: any(e["topic"] == "fleettarget.ping" for e in relayed(hub, "a2")),
             timeout=30)
    a2.proc.proc.send_signal(signal.SIGKILL)
    a2.proc.proc.wait(10)
    wait_for(lambda: hosts(hub)["a2"]["state"] == "down", timeout=30)
    assert hosts(hub)["a2"]["error"]
    a2.proc.start(timeout=60)
    wait_for(lambda: hosts(hub)["a2"]["state"] == "up", timeout=60)
    a2.proc.post("/api/v1/actions/fleettarget.ping/run", {"params": {"target": "2"}})
    wait_for(lambda: [e["data"]["n"] for e in relayed(hub, "a2")
                      if e["topic"] == "fleettarget.ping"] == ["1", "2"], timeout=30)
    ids = Counter(e["id"] for e in relayed(hub, "a2"))
    assert all(n == 1 for n in ids.values()), ids
    _, hub_events = hub.proc.get("/api/v1/events?topic=fleet.host.*&limit=200")
    topics = [(e["topic"], e["data"]["host"]) for e in hub_events["events"]]
    assert ("fleet.host.down", "a2") in topics and ("fleet.host.up", "a2") in topics


def test_actions_from_the_hub_meet_the_targets_gate(fleet):
    hub, agents = fleet
    a1 = agents[0]
    wait_for(lambda: hosts(hub)["a1"]["state"] == "up", timeout=60)
    path = "/api/v1/fleet/hosts/a1/actions/fleettarget.wipe/run"
    # Through the API: pending on the target, nothing ran.
    status, body = hub.proc.post(path, {"params": {"target": "db1"}})
    assert status == 202 and body["status"] == "pending_approval", body
    assert body["host"] == "a1"
    # A pre-approval cannot be asked for through the hub (the schema has no such key).
    status, _ = hub.proc.post(path, {"params": {"target": "db1"}, "approve": True})
    assert status == 422
    # Through the CLI: the same.
    done = hub.cli("fleet", "run", "a1", "fleettarget.wipe", "-p", "target=db2", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "pending_approval"
    assert not a1.marks.exists()
    # The target shows both as pending; so does the hub's cross-host view, and the hub
    # said so on its event stream (what the panel's fleet pages refresh on).
    _, pending = a1.proc.get("/api/v1/approvals?status=pending")
    ids = {a["params"]["target"]: a["id"] for a in pending["approvals"]}
    assert set(ids) == {"db1", "db2"}
    wait_for(lambda: {a["id"] for a in hub.proc.get("/api/v1/fleet/approvals")[1]
                      ["approvals"] if a["host"] == "a1"} == set(ids.values()), timeout=30)
    _, changed = hub.proc.get("/api/v1/events?topic=fleet.host.changed&limit=200")
    assert "a1" in {e["data"]["host"] for e in changed["events"]}
    # A viewer on the hub may look but not approve.
    _, viewer = hub.proc.post("/api/v1/tokens", {"name": "v", "role": "viewer"})
    status, _ = hub.proc.post(f"/api/v1/fleet/hosts/a1/approvals/{ids['db1']}/approve", {},
                              token=viewer["token"])
    assert status == 403
    assert not a1.marks.exists()
    # An admin approves from the hub: the target runs exactly the filed plan.
    done = hub.cli("fleet", "approve", "a1", ids["db1"], "--json")
    assert done.returncode == 0, done.stderr
    assert a1.marks.read_text() == "db1\n"
    # Both sides audit it: the hub under its admin, the target under the hub's token.
    _, hub_audit = hub.proc.get("/api/v1/audit?limit=50")
    hub_rows = {(r["action"], r["outcome"]) for r in hub_audit["audit"]}
    assert ("fleet:fleettarget.wipe", "pending_approval") in hub_rows
    assert ("fleet:approve", "ok") in hub_rows
    _, target_audit = a1.proc.get("/api/v1/audit?limit=50")
    actors = {r["actor"] for r in target_audit["audit"] if r["action"] == "fleettarget.wipe"}
    assert actors == {"token:fleet-hub"}


def test_jarvis_tools_take_a_host_and_the_gate_holds_for_them_too(fleet):
    """Through the hub's tool runner, the one Jarvis's model calls: answers name their
    host; the action-backed tool is audited on the hub and only files a pending approval
    on the target."""
    hub, agents = fleet
    a1 = agents[0]
    wait_for(lambda: hosts(hub)["a1"]["state"] == "up", timeout=60)
    status, out = hub.proc.post("/api/v1/tools/fleet.checks/run", {"host": "a1"})
    assert status == 200 and out["result"]["host"] == "a1"
    assert out["result"]["checks"] and {c["host"] for c in out["result"]["checks"]} == {"a1"}
    status, out = hub.proc.post("/api/v1/tools/fleet.host_tool/run",
                                {"tool": "system.system_summary", "host": "a2"})
    assert status == 200 and out["result"]["host"] == "a2", out
    assert out["result"]["status"] == "ok" and out["result"]["result"]
    status, out = hub.proc.post("/api/v1/tools/fleet.host_tool/run",
                                {"tool": "system.system_summary"})
    assert out["result"]["host"] == "hub" and out["result"]["status"] == "ok", out
    # A tool that is not read-only on the host is not run by host_tool.
    status, out = hub.proc.post("/api/v1/tools/fleet.host_tool/run",
                                {"tool": "fleettarget.wipe", "host": "a1"})
    assert "no read-only tool" in out["result"]["error"]
    status, out = hub.proc.post("/api/v1/tools/fleet.run_on_host/run", {
        "host": "a1", "action": "fleettarget.wipe", "params": {"target": "db3"}})
    assert status == 200, out
    assert out["result"]["host"] == "a1" and out["result"]["status"] == "pending_approval"
    assert "db3" not in (a1.marks.read_text() if a1.marks.exists() else "")
    _, pending = a1.proc.get("/api/v1/approvals?status=pending")
    assert "db3" in {a["params"]["target"] for a in pending["approvals"]}
    status, out = hub.proc.post("/api/v1/tools/fleet.run_on_host/run", {
        "host": "nowhere", "action": "fleettarget.wipe", "params": {}})
    assert status == 422


def test_a_real_prometheus_scrapes_the_fleet_through_the_generated_file(fleet, tmp_path):
    """`nebula fleet prometheus-config` writes file_sd targets and scrape credentials; a
    real Prometheus using them scrapes all three agents' /metrics over mutual TLS. The
    same targets without the scrape certificate are refused: the credential is what
    lets Prometheus in."""
    hub, _ = fleet
    targets, creds = tmp_path / "targets.json", tmp_path / "creds"
    done = hub.cli("fleet", "prometheus-config", "-o", str(targets), "--credentials-dir",
                   str(creds), "--json")
    assert done.returncode == 0, done.stderr
    written = json.loads(done.stdout)
    assert written["targets"] == 3
    assert (creds / "scrape.key").stat().st_mode & 0o077 == 0
    job = Path(written["scrape_config"]).read_text()
    port = free_port()
    config = tmp_path / "prom.yml"
    config.write_text("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                      + job.replace("  - job_name: nebula-fleet\n",
                                    "  - job_name: nebula-fleet\n    scrape_interval: 1s\n")
                      + f"""  - job_name: without-certificate
    scheme: https
    scrape_interval: 1s
    tls_config:
      ca_file: {creds / "ca.pem"}
    file_sd_configs:
      - files: [{targets}]
""")
    check = subprocess.run(["promtool", "check", "config", str(config)], capture_output=True,
                           text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    prom = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--web.listen-address=127.0.0.1:{port}",
         f"--storage.tsdb.path={tmp_path / 'tsdb'}"],
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "prom.log").open("w"))
    try:
        def health() -> dict[tuple[str, str], str] | None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/targets",
                                            timeout=5) as resp:
                    active = json.loads(resp.read())["data"]["activeTargets"]
            except OSError:
                return None
            found = {(t["labels"]["job"], t["labels"]["nebula_host"]): t["health"]
                     for t in active}
            return found if len(found) == 6 and "unknown" not in found.values() else None

        found = wait_for(health, timeout=60)
        assert {h for (job, h), v in found.items() if job == "nebula-fleet" and v == "up"} \
            == {"a1", "a2", "a3"}, found
        assert {v for (job, _), v in found.items() if job == "without-certificate"} \
            == {"down"}, found
        query = urllib.parse.quote('count by (nebula_host) (nebula_info{job="nebula-fleet"})')
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query?query={query}",
                                    timeout=5) as resp:
            result = json.loads(resp.read())["data"]["result"]
        assert {r["metric"]["nebula_host"] for r in result} == {"a1", "a2", "a3"}
    finally:
        prom.terminate()
        prom.wait(15)


def test_the_scrape_certificate_reads_metrics_and_nothing_else(fleet, tmp_path):
    hub, agents = fleet
    creds = tmp_path / "creds"
    done = hub.cli("fleet", "prometheus-config", "-o", str(tmp_path / "t.json"),
                   "--credentials-dir", str(creds))
    assert done.returncode == 0, done.stderr
    cert = (creds / "scrape.pem", creds / "scrape.key")
    ca = creds / "ca.pem"
    port = agents[0].tls_port
    assert tls_get(port, "/api/v1/status", cert=cert, ca=ca)[0] == 401
    # (tls_get always sends an Authorization header; /metrics is read without one)
    context = ssl.create_default_context(cafile=str(ca))
    context.load_cert_chain(*map(str, cert))
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/metrics", timeout=10,
                                context=context) as resp:
        assert b"nebula_info" in resp.read()


def test_a_restarted_hub_reads_its_hosts_again(fleet):
    """Hosts, pins and (sealed) tokens are in the hub's store: a restart picks them up."""
    hub, _ = fleet
    hub.proc.stop()
    hub.proc.start(timeout=60)
    wait_for(lambda: {n: h["state"] for n, h in hosts(hub).items()}
             == {"a1": "up", "a2": "up", "a3": "up"}, timeout=60)
    # No token in clear anywhere in the hub's data dir (the store seals it).
    import sqlite3
    conn = sqlite3.connect(hub.proc.data_dir / "nebula.db")
    try:
        dump = "\n".join(conn.iterdump())
    finally:
        conn.close()
    assert "nbl_" not in dump


def test_a_removed_host_is_refused_at_once(fleet):
    hub, agents = fleet
    a3 = agents[2]
    wait_for(lambda: hosts(hub)["a3"]["state"] == "up", timeout=60)
    done = hub.cli("fleet", "remove", "a3", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["token_revoked_on_agent"] is True
    assert "a3" not in hosts(hub)
    # The token the hub held is refused by the agent from now on.
    _, tokens = a3.proc.get("/api/v1/tokens")
    assert [t["revoked"] is not None for t in tokens["tokens"] if t["name"] == "fleet-hub"] \
        == [True]
    # Nothing from it reaches the hub any more, while another host's events still do.
    a3.proc.post("/api/v1/actions/fleettarget.ping/run", {"params": {"target": "late"}})
    agents[0].proc.post("/api/v1/actions/fleettarget.ping/run", {"params": {"target": "x"}})
    wait_for(lambda: any(e["topic"] == "fleettarget.ping" and e["data"]["n"] == "x"
                         for e in relayed(hub, "a1")), timeout=30)
    assert not [e for e in relayed(hub, "a3") if e["data"].get("n") == "late"]
    status, _ = hub.proc.get("/api/v1/fleet/hosts/a3")
    assert status == 404
