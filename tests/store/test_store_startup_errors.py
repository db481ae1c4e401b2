"""A store on PostgreSQL that cannot be opened stops `nebula run` with one line naming
`[agent] store` and the server, never a traceback, never the password; the file-copy
backup says to use pg_dump instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agent_process import free_port, isolated_env, nebula
from tests.store import backends

pytestmark = pytest.mark.e2e  # the real `nebula` command and a real PostgreSQL

cluster = backends.cluster
PASSWORD = "Sekr3t-store-pw-0815"


def _run_with(tmp_path: Path, url: str, *args: str) -> tuple[int, str]:
    config = tmp_path / "nebula.toml"
    config.write_text(f'[agent]\nport = 0\ndata_dir = "{tmp_path / "data"}"\n'
                      f'store = "{url}"\n')
    done = nebula("--config", str(config), *(args or ("run",)), env=isolated_env(tmp_path),
                  timeout=90)
    return done.returncode, done.stdout + done.stderr


def _one_clear_line(out: str) -> str:
    assert "Traceback" not in out and PASSWORD not in out, out
    [line] = [n for n in out.splitlines() if n.strip() and not n.startswith("{")]
    return line


def test_an_unreachable_server_is_a_one_line_error(tmp_path):
    port = free_port()  # nothing listens there
    code, out = _run_with(tmp_path, f"postgresql://hub:{PASSWORD}@127.0.0.1:{port}/nebula")
    assert code == 1
    line = _one_clear_line(out)
    assert line.startswith(f"error: [agent] store: cannot open PostgreSQL at "
                           f"postgresql://hub@127.0.0.1:{port}/nebula: "), line
    assert "refused" in line


def test_a_wrong_password_is_named_and_not_shown(tmp_path, cluster):
    code, out = _run_with(tmp_path, f"postgresql://{cluster.user}:{PASSWORD}@{cluster.host}:"
                                    f"{cluster.port}/postgres")
    assert code == 1
    line = _one_clear_line(out)
    assert "[agent] store" in line and "password authentication failed" in line, line


def test_a_malformed_url_is_refused_naming_the_key(tmp_path):
    code, out = _run_with(tmp_path, f"postgresql://hub:{PASSWORD}@[::1/nebula")
    assert code == 1
    assert "[agent] store is not a valid PostgreSQL URL" in _one_clear_line(out)
    code, out = _run_with(tmp_path, "mysql://hub@db/nebula")
    assert code == 2 and "agent.store" in out


def test_backup_and_restore_point_to_pg_dump(tmp_path):
    for verb in ("backup", "restore"):
        args = (verb, str(tmp_path / "x.tar.gz")) if verb == "restore" else (verb,)
        code, out = _run_with(tmp_path, "postgresql://hub@127.0.0.1:1/nebula", *args)
        assert code == 1
        assert f"nebula {verb} copies a SQLite store file" in out and "pg_dump" in out, out
