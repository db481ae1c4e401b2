"""Target: the Jarvis tool catalogue of every bundled plugin fits in under 4,000 tokens.

The real core runs in this process: an `Agent` discovering every installed plugin, each
given a plausible config (services on closed loopback ports: declaring tools needs no
live service), started without scheduling. The catalogue measured is exactly the `tools`
list the engine sends with every model call (`Catalogue.functions()`), serialised as the
SDK sends it (compact JSON). No tokenizer can be downloaded here, so tokens are estimated
as bytes / 4 (OpenAI's rule of thumb for English; JSON schema text, full of short keys and
punctuation, usually tokenizes somewhat *denser*, so the raw byte size is reported too and
bytes / 3 is given as a pessimistic bound).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

from common import Report, Target, arguments, arm_watchdog, say
from processes import scratch

from nebula.agent import Agent
from nebula.config import load
from nebula.logs import configure

LIMIT_TOKENS = 4000
PLUGINS = """
[plugins.system]
[plugins.docker]
base_url = "unix://{root}/no-docker.sock"
[plugins.postgres]
host = "127.0.0.1"
port = 1
[plugins.domains]
hosts = ["example.com"]
[plugins.zoneedit]
username = "owner"
token = "bench-zoneedit-token"
hosts = ["home.example.com"]
[plugins.plex]
url = "http://127.0.0.1:1"
token = "bench-plex-token"
[plugins.homeassistant]
url = "http://127.0.0.1:1"
token = "bench-homeassistant-token"
[plugins.google]
client_id = "bench.apps.googleusercontent.com"
client_secret = "bench-google-secret"
[plugins.discordbot]
container = "discordbot"
[plugins.streambot]
container = "streambot"
[plugins.notify]
[[plugins.notify.channels]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:1/hook"
"""


async def measure(root: Path) -> dict:
    path = root / "nebula.toml"
    path.write_text(f'[agent]\ndata_dir = "{root / "data"}"\nstartup_timeout = 5\n'
                    + PLUGINS.format(root=root), encoding="utf-8")
    agent = Agent(load(path), discover=True)
    await agent.start(schedule=False)
    try:
        functions = agent.runtime("jarvis").catalogue.functions()
        states = {r["name"]: r["state"] for r in agent.plugin_states()}
    finally:
        await agent.stop()
    wire = json.dumps(functions, separators=(",", ":"))
    per_plugin = Counter()
    for f in functions:
        per_plugin[f["function"]["name"].split("__")[0]] += len(
            json.dumps(f, separators=(",", ":")))
    return {"plugins": states, "tools": len(functions), "bytes": len(wire),
            "tokens_estimate": round(len(wire) / 4),
            "tokens_pessimistic": round(len(wire) / 3),
            "bytes_per_plugin": dict(per_plugin.most_common())}


def main() -> int:
    args = arguments(__doc__.splitlines()[0]).parse_args()
    configure("json", "error")
    arm_watchdog(120)
    with scratch("jarvis-catalogue") as root:
        say("starting every bundled plugin")
        results = asyncio.run(measure(root))
    report = Report("jarvis_catalogue", results, [
        Target("tool catalogue (bytes/4)", LIMIT_TOKENS, results["tokens_estimate"], "tokens")])
    not_loaded = [n for n, s in results["plugins"].items() if s != "loaded"]
    if not_loaded:
        report.notes.append(f"not loaded (their tools are missing): {', '.join(not_loaded)}")
    report.notes.append("tokens estimated as bytes/4 (no tokenizer offline); "
                        f"bytes/3 = {results['tokens_pessimistic']} as a pessimistic bound")
    return report.emit(args.json, lambda r: [
        f"{r['tools']} tools from {sum(s == 'loaded' for s in r['plugins'].values())} "
        f"plugins: {r['bytes']} bytes of JSON ≈ {r['tokens_estimate']} tokens",
        "bytes per plugin: " + ", ".join(f"{k} {v}" for k, v in r["bytes_per_plugin"].items()),
    ])


if __name__ == "__main__":
    raise SystemExit(main())
