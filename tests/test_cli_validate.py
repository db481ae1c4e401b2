"""`nebula config validate` runs each plugin's own checks (`nebula_validate_config`), the
very code a start runs: a config it passes starts, one it refuses fails the plugin with the
same words. Through the real `nebula` entry point and a real agent process."""

from __future__ import annotations

import json

import certifi

from tests.agent_process import AgentProcess, free_port, isolated_env, nebula

# Valid for every schema; each plugin's own rules find one thing wrong (lines in BROKEN).
CONFIG = """\
[agent]
port = {port}
data_dir = "{data}"

[[plugins.postgres.databases]]
name = "app"

[[plugins.postgres.databases]]
name = '{database}'

[plugins.domains]
hosts = ["example.org"]
tls_warning_days = {tls_warning}
tls_critical_days = 7
ca_bundle = "{ca}"

[plugins.system]
disk_warning = {disk_warning}
disk_critical = 90

[plugins.docker]
disk_warning_gb = {docker_warning}
disk_critical_gb = 5
"""
BROKEN = {"database": 'x"; DROP DATABASE app; --', "tls_warning": 3, "disk_warning": 96,
          "docker_warning": 10}
FIXED = {"database": "app_two", "tls_warning": 14, "disk_warning": 80, "docker_warning": 2}

EXPECTED = [
    (9, "plugins.postgres.databases.1.name",
     "invalid database name 'x\"; DROP DATABASE app; --': use lowercase letters, digits "
     "and _, starting with a letter or _, at most 63 characters"),
    (13, "plugins.domains.tls_warning_days",
     "tls_warning_days (3) is below tls_critical_days (7)"),
    (15, "plugins.domains.ca_bundle", "cannot load ca_bundle: no such file or directory ({ca})"),
    (18, "plugins.system.disk_warning", "disk_warning (96) is above disk_critical (90)"),
    (22, "plugins.docker.disk_warning_gb", "disk_warning_gb (10) is above disk_critical_gb (5)"),
]


def write(tmp_path, ca, **values):
    config = tmp_path / "nebula.toml"
    config.write_text(CONFIG.format(port=free_port(), data=tmp_path / "data", ca=ca, **values))
    return config


def test_validate_runs_each_plugins_own_checks_as_a_start_does(tmp_path):
    missing = tmp_path / "no-such-ca.pem"
    config = write(tmp_path, missing, **BROKEN)
    env = isolated_env(tmp_path)
    expected = [(line, path, message.format(ca=missing)) for line, path, message in EXPECTED]

    result = nebula("--config", str(config), "config", "validate", "--json", env=env)
    assert result.returncode == 2, result.stderr
    report = json.loads(result.stdout)
    assert [(p["line"], p["path"], p["message"]) for p in report["problems"]] == expected
    human = nebula("--config", str(config), "config", "validate", env=env)
    assert human.stdout.splitlines() == [f"error: {config}:{line}: {path}: {message}"
                                         for line, path, message in expected]

    # The same config started: each plugin fails on exactly what validate said.
    agent = AgentProcess(config, tmp_path / "data", env)
    try:
        agent.start()
        _, listed = agent.get("/api/v1/plugins")
    finally:
        agent.stop()
    errors = {p["name"]: p["error"] or "" for p in listed["plugins"]}
    for line, path, message in expected:
        plugin = path.split(".")[1]
        assert errors[plugin].startswith("invalid config: "), errors[plugin]
        assert f"{config}:{line}: {path}: {message}" in errors[plugin]


def test_the_same_config_put_right_is_valid(tmp_path):
    config = write(tmp_path, certifi.where(), **FIXED)
    result = nebula("--config", str(config), "config", "validate", env=isolated_env(tmp_path))
    assert (result.returncode, result.stdout) == (0, f"{config}: valid\n"), result.stdout
