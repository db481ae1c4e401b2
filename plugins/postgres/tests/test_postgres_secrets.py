"""Passwords from a file and from the environment reach the server, and nothing else: not
the logs, the API's answers, the audit log, child command lines, or the server's own
statement log (the cluster logs every statement)."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from postgres_api import AgentFactory, result_of, run_checks

import nebula_postgres.plugin
from tests.engines.postgres import Cluster

APP_PASSWORD = "app-secret-Zq81pX0w"


async def test_passwords_from_file_and_env_never_leak(nebula_agent: AgentFactory, cluster: Cluster,
                                                      dbname: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    secret_file = tmp_path / "pg_password"
    secret_file.write_text(cluster.password + "\n")
    monkeypatch.setenv("NEBULA_TEST_APP_PASSWORD", APP_PASSWORD)
    log_start = cluster.log.stat().st_size
    section = {"host": cluster.host, "port": cluster.port, "user": cluster.user,
               "password_file": str(secret_file), "interval": 1,
               "backup_dir": str(tmp_path / "backups"),
               "databases": [{"name": dbname, "owner": f"{dbname}_app",
                              "password": "${NEBULA_TEST_APP_PASSWORD}"}]}
    answers = []
    async with nebula_agent({"postgres": nebula_postgres.plugin}, config={"postgres": section},
                            schedule=False) as agent:
        answers.append(await result_of(agent, "provision"))
        answers.append(await run_checks(agent, "reachable", "backup_age"))
        # The scheduled backup job, run as the scheduler would.
        await agent.agent.scheduler.jobs["job:postgres.backup"].run()
        [backup] = await result_of(agent, "backups")
        answers.append(backup)
        answers.append(await result_of(agent, "restore", {"backup": backup["name"],
                                                          "target": f"{dbname}_restored"}))
        made = await result_of(agent, "create_database", {"name": f"{dbname}_new"})
        for path in ("/api/v1/config", "/api/v1/audit", "/api/v1/plugins/postgres",
                     "/api/v1/events", "/api/v1/panels/postgres.backups"):
            status, body = await agent.get(path)
            assert status == 200, (path, body)
            answers.append(body)
    generated = psycopg.conninfo.conninfo_to_dict(made["dsn"])["password"]
    with psycopg.connect(host=cluster.host, port=cluster.port, user=f"{dbname}_app",
                         password=APP_PASSWORD, dbname=dbname):
        pass

    logs = "".join(capsys.readouterr())
    assert "postgres.provisioned" in logs and "postgres.backed_up" in logs
    server_log = cluster.log.read_bytes()[log_start:].decode(errors="replace")
    assert "CREATE ROLE" in server_log and "SCRAM-SHA-256$" in server_log
    answered = json.dumps(answers)
    for secret in (cluster.password, APP_PASSWORD, generated):
        assert secret not in logs
        assert secret not in server_log
        assert secret not in answered
