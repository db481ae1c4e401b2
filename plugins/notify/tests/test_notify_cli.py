"""`nebula notify channels|add|test|remove` through the real entry point against a real
agent process, with an Apprise JSON-webhook channel pointing at a receiver in this test
(a plain threaded HTTP server: the CLI calls block, so no event loop of ours could
answer)."""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nebula.testing import write_config
from tests.agent_process import AgentProcess, free_port, isolated_env, nebula

pytestmark = pytest.mark.e2e


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict]]]:
    got: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            got.append({"path": self.path, "body": json.loads(self.rfile.read(length))})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", got
    finally:
        server.shutdown()
        server.server_close()


def test_notify_commands_list_add_test_and_remove_channels(tmp_path, receiver):
    host, got = receiver
    env = isolated_env(tmp_path)
    token = secrets.token_hex(8)
    config = write_config(tmp_path / "nebula.toml", {"port": free_port()}, {
        "notify": {"channels": [{"name": "hook", "type": "apprise",
                                 "urls": [f"json://{host}/base"]}],
                   "timeout": 3, "retries": 0}})
    agent = AgentProcess(config, tmp_path / "data", env)

    def cli(*args: str):
        return nebula("--config", str(config), "notify", *args, env=env)

    try:
        agent.start()
        tested = cli("test", "hook", "--message", "hello", "--json")
        assert tested.returncode == 0, tested.stderr
        assert [(r["channel"], r["outcome"]) for r in json.loads(tested.stdout)] == [
            ("hook", "sent")]
        # (The system plugin's checks may be told too: the machine may be loaded.)
        assert [g["body"]["title"] for g in got if g["body"]["message"] == "hello"] == [
            "Nebula test notification"]

        url_file = tmp_path / "url"
        url_file.write_text(f"json://{host}/extra/{token}\n")
        added = cli("add", "extra", "--url-file", str(url_file), "--severity", "critical",
                    "--json")
        assert added.returncode == 0, added.stderr
        result = json.loads(added.stdout)
        assert (result["channel"]["channel"], result["test"]["outcome"]) == ("extra", "sent")
        assert [g["body"]["title"] for g in got if g["path"] == f"/extra/{token}"] == [
            "Nebula test notification"]
        assert token not in added.stdout

        listed = json.loads(cli("channels", "--json").stdout)
        assert {(c["channel"], c["added"]) for c in listed} == {("hook", False),
                                                                 ("extra", True)}
        missing = cli("test", "nope")
        assert missing.returncode != 0
        assert "no channel named 'nope'" in missing.stderr + missing.stdout
        assert cli("remove", "extra").returncode == 0
        _, audit = agent.get("/api/v1/audit?action=notify.add_channel")
        assert audit["audit"] and token not in json.dumps(audit)
    finally:
        agent.stop()
    assert token not in agent.log()
