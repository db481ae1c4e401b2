"""`nebula user ...` through the real entry point: the first user is created with no agent
running (a one-shot agent does it), and can then sign in to a running one."""

from __future__ import annotations

import json
import subprocess
import sys

from nebula.config import load
from nebula.testing import run_agent, write_config
from tests.agent_process import isolated_env
from tests.web.test_auth_http import sign_in


def nebula_user(config, env, *args, password=None):
    return subprocess.run([sys.executable, "-m", "nebula", "--config", str(config), "user",
                           *args], input=password, env=env, text=True, capture_output=True,
                          timeout=60, check=False)


async def test_user_add_list_passwd_totp_remove(tmp_path):
    config = write_config(tmp_path / "nebula.toml", {"port": 0},
                          {"system": {"enabled": False}})
    env = isolated_env(tmp_path)
    done = nebula_user(config, env, "add", "alice", "--password-stdin",
                       password="correct horse battery\n")
    assert done.returncode == 0, done.stderr
    assert "added alice (admin)" in done.stdout
    done = nebula_user(config, env, "totp", "alice", "--json")
    assert len(json.loads(done.stdout)["recovery_codes"]) == 10
    done = nebula_user(config, env, "list", "--json")
    assert [(u["name"], u["role"], u["totp"]) for u in json.loads(done.stdout)["users"]] == [
        ("alice", "admin", True)]

    async with run_agent(load(config)) as a:
        assert (await sign_in(a, "alice", "correct horse battery")).status == 200  # TOTP step
        assert (await a.request("DELETE", "/api/v1/users/alice/totp"))[0] == 200
        assert (await sign_in(a, "alice", "correct horse battery")).status == 303
    done = nebula_user(config, env, "passwd", "alice", "--password-stdin",
                       password="a brand new password\n")
    assert done.returncode == 0, done.stderr
    async with run_agent(load(config)) as a:
        assert (await sign_in(a, "alice", "correct horse battery")).status == 401
        assert (await sign_in(a, "alice", "a brand new password")).status == 303
    done = nebula_user(config, env, "remove", "alice")
    assert done.returncode == 0 and "removed alice" in done.stdout
    assert json.loads(nebula_user(config, env, "list", "--json").stdout)["users"] == []
