"""nebula fleet: enroll this host with a hub, and (on the hub) codes, hosts, removal,
actions and approvals on a host, Prometheus targets."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import click

from nebula.cli.common import State, agent_client, json_option, output, pass_state, table

AGENT_FOLDER = "fleet-agent"
TOKEN_NAME = "fleet-hub"  # nebula.http.client_certs binds it to the hub's certificate
DEFAULT_TLS_PORT = 8766


@click.group()
def fleet() -> None:
    """Many hosts in one panel (docs/fleet.md)."""


# -- on the hub ---------------------------------------------------------------------------


@fleet.command()
@json_option
@pass_state
def code(state: State, as_json: bool) -> None:
    """A one-time enrollment code (give it to `nebula fleet enroll` on the new host)."""
    with agent_client(state) as client:
        data = client.post("/api/v1/fleet/codes")
    output(data, as_json, lambda d: click.echo(
        f"{d['code']}\n(one use; valid until {_time(d['expires'])}; on the new host: "
        f"nebula fleet enroll HUB_URL {d['code']} --name NAME --address ADDRESS)"))


def _time(ts: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


@fleet.command(name="hosts")
@json_option
@pass_state
def hosts(state: State, as_json: bool) -> None:
    """Every enrolled host: state, checks by status, pending approvals, last seen."""
    with agent_client(state) as client:
        data = client.get("/api/v1/fleet/hosts")
    output(data, as_json, lambda d: table(
        [(h["name"], h["state"], " ".join(f"{k}={v}" for k, v in sorted(h["checks"].items())),
          h["pending_approvals"], _time(h["last_seen"]) if h["last_seen"] else "never",
          h["version"] or "", h["error"]) for h in d["hosts"]],
        ("HOST", "STATE", "CHECKS", "PENDING", "LAST SEEN", "VERSION", "ERROR")))


@fleet.command()
@click.argument("host")
@json_option
@pass_state
def remove(state: State, host: str, as_json: bool) -> None:
    """Remove HOST: the hub stops reading it at once and revokes its token there."""
    with agent_client(state) as client:
        data = client.request("DELETE", f"/api/v1/fleet/hosts/{_q(host)}")
    output(data, as_json, lambda d: click.echo(
        f"removed {d['name']}" + ("" if d["token_revoked_on_agent"] else
                                  " (the host was not reached: its token there stays until "
                                  "it is revoked on the host, but this hub no longer "
                                  "trusts it)")))


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


@fleet.command(name="run")
@click.argument("host")
@click.argument("action")
@click.option("-p", "--param", "pairs", multiple=True, metavar="KEY=VALUE",
              help="A parameter; repeat for more. VALUE is parsed as JSON when it can be.")
@click.option("--params", "raw", metavar="JSON", help="All parameters as a JSON object.")
@json_option
@pass_state
def run_action(state: State, host: str, action: str, pairs: tuple[str, ...],
               raw: str | None, as_json: bool) -> None:
    """Run ACTION on HOST; a destructive one waits for approval there."""
    from nebula.cli.action_cmds import parse_params

    with agent_client(state) as client:
        data = client.post(f"/api/v1/fleet/hosts/{_q(host)}/actions/{_q(action)}/run",
                           {"params": parse_params(pairs, raw)})
    output(data, as_json, _outcome)


def _outcome(data: dict[str, Any]) -> None:
    if data.get("status") == "pending_approval":
        approval = data["approval"]
        click.echo(f"pending approval {approval['id']} on {data['host']}: "
                   f"nebula fleet approve {data['host']} {approval['id']}")
    else:
        click.echo(json.dumps(data, indent=2, default=str))


@fleet.command()
@click.argument("host")
@click.argument("approval")
@json_option
@pass_state
def approve(state: State, host: str, approval: str, as_json: bool) -> None:
    """Approve HOST's pending APPROVAL: the host runs the plan filed with it."""
    with agent_client(state) as client:
        data = client.post(f"/api/v1/fleet/hosts/{_q(host)}/approvals/{_q(approval)}/approve")
    output(data, as_json, _outcome)


@fleet.command()
@click.argument("user")
@click.argument("host")
@click.option("--role", type=click.Choice(["viewer", "operator", "admin"]), required=True,
              help="viewer sees the host; operator also runs actions there; admin also "
                   "approves, denies and removes")
@json_option
@pass_state
def grant(state: State, user: str, host: str, role: str, as_json: bool) -> None:
    """Give USER (a panel user, or token:NAME, jarvis:*) ROLE on HOST ('*': every host).
    Only the hub's owner, on the hub's machine, changes rights."""
    with agent_client(state) as client:
        data = client.post("/api/v1/fleet/grants", {"principal": user, "host": host,
                                                    "role": role})
    output(data, as_json, lambda d: click.echo(f"{d['principal']} is {d['role']} on "
                                               f"{d['host']}"))


@fleet.command()
@click.argument("user")
@click.argument("host")
@json_option
@pass_state
def ungrant(state: State, user: str, host: str, as_json: bool) -> None:
    """Take USER's role on HOST away."""
    with agent_client(state) as client:
        data = client.request("DELETE", f"/api/v1/fleet/grants/{_q(user)}/{_q(host)}")
    output(data, as_json, lambda d: click.echo(f"{d['principal']} has no role on "
                                               f"{d['host']} any more"))


@fleet.command(name="grants")
@json_option
@pass_state
def list_grants(state: State, as_json: bool) -> None:
    """Per-host rights on this hub (the local admin has admin on every host)."""
    with agent_client(state) as client:
        data = client.get("/api/v1/fleet/grants")
    output(data, as_json, lambda d: table(
        [(g["principal"], g["host"], g["role"]) for g in d["grants"]],
        ("WHO", "HOST", "ROLE")))


@fleet.command(name="prometheus-config")
@click.option("--output", "-o", "out", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="the file_sd JSON file Prometheus reads")
@click.option("--credentials-dir", type=click.Path(file_okay=False, path_type=Path),
              required=True, help="where each host's scrape token goes (files 0600)")
@json_option
@pass_state
def prometheus_config(state: State, out: Path, credentials_dir: Path, as_json: bool) -> None:
    """Write file-based service discovery for every enrolled host, with its credentials."""
    from nebula.builtins.fleet.pki import key_pem, make_csr, new_key
    from nebula.builtins.fleet.prometheus import write_targets
    from nebula.http.client_certs import SCRAPE_NAME

    key = new_key()
    with agent_client(state) as client:
        data = client.post("/api/v1/fleet/prometheus", {"csr": make_csr(key, SCRAPE_NAME, [])})
    written = write_targets(data, key_pem(key), out, credentials_dir)
    output(written, as_json, lambda d: click.echo(
        f"wrote {d['targets']} targets to {d['file']}; credentials in {d['credentials']}"))


# -- on a host joining a hub --------------------------------------------------------------


def _fetch(url: str, body: Any = None) -> Any:
    """One call to the hub during enrollment. Its TLS certificate (if any) is not checked
    against the system's trust: what is trusted is the CA fingerprint in the code."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST" if body else "GET",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read()).get("detail", exc.reason)
        except ValueError:
            detail = exc.reason
        raise click.ClickException(f"the hub refused: {detail}") from None
    except OSError as exc:
        raise click.ClickException(f"cannot reach the hub at {url}: {exc}") from None
    return raw.decode() if body is None else json.loads(raw)


@fleet.command()
@click.argument("hub_url")
@click.argument("enroll_code", metavar="CODE")
@click.option("--name", required=True, help="this host's name in the fleet")
@click.option("--address", required=True,
              help="the IP or DNS name the hub reaches this host at")
@click.option("--tls-port", type=click.IntRange(1, 65535), default=DEFAULT_TLS_PORT,
              show_default=True, help="the port this agent serves mutual TLS on")
@json_option
@pass_state
def enroll(state: State, hub_url: str, enroll_code: str, name: str, address: str,
           tls_port: int, as_json: bool) -> None:
    """Join the hub at HUB_URL with a one-time CODE from `nebula fleet code` there."""
    from nebula.builtins.fleet.hub import split_code
    from nebula.builtins.fleet.pki import fingerprint, key_pem, make_csr, new_key
    from nebula.config_edit import set_agent_keys
    from nebula.filemodes import private_dir, write_private

    if state.config_path is None:
        raise click.ClickException("enroll writes the TLS settings into the config file; "
                                   "there is none (nebula init makes one)")
    secret, ca_prefix = split_code(enroll_code)
    if len(ca_prefix) < 32 or not secret:
        raise click.ClickException("that is not an enrollment code (nebula fleet code on "
                                   "the hub prints one: SECRET.FINGERPRINT)")
    hub = hub_url.rstrip("/")
    ca = _fetch(f"{hub}/api/v1/fleet/ca")
    if not fingerprint(ca).startswith(ca_prefix):
        raise click.ClickException("the hub's CA does not match the code: this is not the "
                                   "hub the code came from (or the code is mistyped)")
    folder = state.agent_settings.data_dir / AGENT_FOLDER
    private_dir(folder)
    key = new_key()
    with agent_client(state) as client:
        token = client.post("/api/v1/tokens", {"name": TOKEN_NAME, "role": "admin"})
        host = f"[{address}]" if ":" in address else address
        try:
            answer = _fetch(f"{hub}/api/v1/fleet/enroll", {
                "code": enroll_code, "name": name, "url": f"https://{host}:{tls_port}",
                "csr": make_csr(key, name, [address]), "token": token["token"],
                "token_id": token["id"]})
        except click.ClickException:
            client.request("DELETE", f"/api/v1/tokens/{token['id']}")  # never used
            raise
    paths = {"tls_key": folder / "agent.key", "tls_cert": folder / "agent.pem",
             "tls_client_ca": folder / "hub-ca.pem"}
    write_private(paths["tls_key"], key_pem(key))
    write_private(paths["tls_cert"], answer["certificate"])
    write_private(paths["tls_client_ca"], answer["ca"])
    set_agent_keys(state.config_path, {"tls_port": tls_port,
                                       **{k: str(p.resolve()) for k, p in paths.items()}})
    result = {"name": name, "hub": hub, "tls_port": tls_port,
              "fingerprint": answer["fingerprint"], "ca_fingerprint": fingerprint(ca)}
    output(result, as_json, lambda d: click.echo(
        f"enrolled as {d['name']}; restart the agent to serve mutual TLS on port "
        f"{d['tls_port']} (the hub pins certificate {d['fingerprint'][:16]}…)"))
