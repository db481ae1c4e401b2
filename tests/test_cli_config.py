"""`nebula config validate|show` and `nebula plugin list|enable|disable`, run as the real
command in a subprocess with HOME and the XDG dirs inside tmp_path."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

from tests.agent_process import isolated_env

# The console script itself, as a user runs it (tests.agent_process.nebula runs
# `python -m nebula`, which skips the installed entry point).
NEBULA = Path(sys.executable).parent / "nebula"
REPO = Path(__file__).resolve().parents[1]


def nebula(*args: str, env: dict[str, str], cwd: Path | None = None,
           timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(NEBULA), *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, check=False)


def validate(config: Path, env: dict[str, str], *more: str) -> subprocess.CompletedProcess[str]:
    return nebula("--config", str(config), "config", "validate", *more, env=env,
                  cwd=config.parent)


BROKEN = """\
# everything here is wrong once
[agent]
prot = 1
port = "x"
bind = "${NEBULA_TEST_UNSET_BIND}"

[agnet]
port = 2

[plugins.sytem]
interval = 5

[plugins.system]
cpu_warnin = 5
cpu_warning = "high"
"""


def test_validate_prints_every_problem_with_line_path_and_hint(tmp_path):
    config = tmp_path / "nebula.toml"
    config.write_text(BROKEN)
    result = validate(config, isolated_env(tmp_path))
    assert result.returncode == 2, result.stderr
    lines = result.stdout.splitlines()
    assert lines == [
        f"error: {config}:3: agent.prot: unknown key 'prot'; did you mean 'port'?",
        f"error: {config}:4: agent.port: 'x' is not of type 'integer'",
        f"error: {config}:5: agent.bind: environment variable NEBULA_TEST_UNSET_BIND is "
        "not set",
        f"error: {config}:7: agnet: unknown key 'agnet'; did you mean 'agent'?",
        f"error: {config}:10: plugins.sytem: no plugin named 'sytem' is installed; "
        "did you mean 'system'?",
        f"error: {config}:14: plugins.system.cpu_warnin: unknown key 'cpu_warnin'; "
        "did you mean 'cpu_warning'?",
        f"error: {config}:15: plugins.system.cpu_warning: 'high' is not of type 'number'",
    ]


def test_validate_json_gives_machine_readable_problems(tmp_path):
    config = tmp_path / "nebula.toml"
    config.write_text(BROKEN)
    result = validate(config, isolated_env(tmp_path), "--json")
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert report["config"] == str(config)
    where = {(p["line"], p["path"]) for p in report["problems"]}
    assert where == {(3, "agent.prot"), (4, "agent.port"), (5, "agent.bind"), (7, "agnet"),
                     (10, "plugins.sytem"), (14, "plugins.system.cpu_warnin"),
                     (15, "plugins.system.cpu_warning")}
    assert all(p["file"] == str(config) and p["message"] for p in report["problems"])
    typo = next(p for p in report["problems"] if p["path"] == "plugins.system.cpu_warnin")
    assert "did you mean 'cpu_warning'?" in typo["message"]


def test_validate_reports_invalid_toml_with_its_line(tmp_path):
    config = tmp_path / "nebula.toml"
    config.write_text("[agent]\nport = 8765\nbind = \n")
    result = validate(config, isolated_env(tmp_path), "--json")
    assert result.returncode == 2
    [problem] = json.loads(result.stdout)["problems"]
    assert problem["line"] == 3
    assert problem["message"].startswith("invalid TOML")
    human = validate(config, isolated_env(tmp_path))
    assert human.stdout.startswith(f"error: {config}:3: ")


def test_validate_missing_env_var_in_array_of_tables(tmp_path):
    config = tmp_path / "nebula.toml"
    config.write_text('[agent]\nport = 1\n\n[[plugins.vault.keys]]\nname = "a"\n\n'
                      '[[plugins.vault.keys]]\nname = "b"\nvalue = "${NEBULA_TEST_UNSET_V}"\n')
    report = json.loads(validate(config, isolated_env(tmp_path), "--json").stdout)
    missing = next(p for p in report["problems"] if "NEBULA_TEST_UNSET_V" in p["message"])
    assert (missing["line"], missing["path"]) == (9, "plugins.vault.keys.1.value")


def test_a_valid_file_exits_0(tmp_path):
    # The commented example shipped with the project, with interpolation that resolves.
    text = (REPO / "nebula.toml").read_text()
    text = text.replace('# data_dir = "/var/lib/nebula"', 'data_dir = "${NEBULA_TEST_DIR}"')
    text = text.replace('bind = "127.0.0.1"', 'bind = "${NEBULA_TEST_BIND:-127.0.0.1}"')
    config = tmp_path / "nebula.toml"
    config.write_text(text)
    env = isolated_env(tmp_path, NEBULA_TEST_DIR=str(tmp_path / "state"))
    result = validate(config, env)
    assert (result.returncode, result.stdout.strip()) == (0, f"{config}: valid"), result
    report = json.loads(validate(config, env, "--json").stdout)
    assert report == {"config": str(config), "valid": True, "problems": []}


def test_no_config_anywhere_starts_on_defaults(tmp_path):
    cwd = tmp_path / "empty"
    cwd.mkdir()
    env = isolated_env(tmp_path)
    result = nebula("config", "show", "--json", env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["path"] is None
    assert (shown["agent"]["bind"], shown["agent"]["port"]) == ("127.0.0.1", 8765)
    assert shown["agent"]["data_dir"] == env["XDG_STATE_HOME"] + "/nebula"
    assert shown["plugins"] == {}
    result = nebula("config", "validate", env=env, cwd=cwd)
    assert (result.returncode, result.stdout.strip()) == (0, "defaults: valid")
    assert list(cwd.iterdir()) == []


def test_show_masks_secrets(tmp_path):
    cert = tmp_path / "cert.pem"
    cert.write_text("cert-body-7f3a9c\n")
    config = tmp_path / "nebula.toml"
    config.write_text(
        '[jarvis]\n'
        'api_key = "jarvis-key-4c2d81"\n'
        '[plugins.vault]\n'
        'password = "literal-pw-51e0b2"\n'
        'api_key = "${NEBULA_TEST_API_KEY}"\n'
        f'cert_file = "{cert}"\n'
        'url = "postgres://app:${NEBULA_TEST_PG_PASSWORD}@db/app"\n'
        'label = "${NEBULA_TEST_LABEL}"\n')
    env = isolated_env(tmp_path, NEBULA_TEST_API_KEY="env-key-9d41c7",
                       NEBULA_TEST_PG_PASSWORD="pg-pw-06b3e8", NEBULA_TEST_LABEL="shown-label")
    for args in (("--json",), ()):
        result = nebula("--config", str(config), "config", "show", *args, env=env)
        assert result.returncode == 0, result.stderr
        for secret in ("literal-pw-51e0b2", "env-key-9d41c7", "jarvis-key-4c2d81",
                       "cert-body-7f3a9c", "pg-pw-06b3e8", str(cert)):
            assert secret not in result.stdout + result.stderr
    shown = json.loads(
        nebula("--config", str(config), "config", "show", "--json", env=env).stdout)
    assert shown["jarvis"]["api_key"] == "***"
    vault = shown["plugins"]["vault"]
    assert vault == {"password": "***", "api_key": "***", "cert": "***",
                     "url": "postgres://app:***@db/app", "label": "shown-label"}


COMMENTED = """\
# Nebula on the home server.
[agent]
port = 9876   # behind nginx

# Host health.
[plugins.system]
enabled = true   # the default anyway
# Faster than the default.
interval = 10

[plugins.other]  # not installed here
note = "kept"
"""


def test_plugin_disable_and_enable_keep_comments_and_layout(tmp_path):
    config = tmp_path / "nebula.toml"
    config.write_text(COMMENTED)
    config.chmod(0o600)
    env = isolated_env(tmp_path)
    result = nebula("--config", str(config), "plugin", "disable", "system", env=env)
    assert result.returncode == 0, result.stderr
    assert config.read_text() == COMMENTED.replace(
        "enabled = true   # the default", "enabled = false   # the default")
    # The file may hold secrets: an edit must not widen who can read it.
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    listed = json.loads(nebula("--config", str(config), "plugin", "list", "--json",
                               env=env).stdout)
    assert {p["name"]: p["state"] for p in listed["plugins"]}["system"] == "disabled"
    result = nebula("--config", str(config), "plugin", "enable", "system", env=env)
    assert result.returncode == 0, result.stderr
    assert config.read_text() == COMMENTED
    assert validate(config, env).returncode == 2  # [plugins.other] is not installed
    config.write_text(COMMENTED.split("[plugins.other]")[0])
    nebula("--config", str(config), "plugin", "disable", "system", env=env)
    assert validate(config, env).returncode == 0


def test_plugin_disable_adds_the_key_where_it_belongs(tmp_path):
    original = "# mine\n[agent]\nport = 9876  # note\n"
    target = tmp_path / "real" / "nebula.toml"
    target.parent.mkdir()
    target.write_text(original)
    link = tmp_path / "nebula.toml"
    link.symlink_to(target)
    env = isolated_env(tmp_path)
    assert nebula("--config", str(link), "plugin", "disable", "system",
                  env=env).returncode == 0
    assert link.is_symlink(), "the link itself must survive the edit"
    assert target.read_text() == original + "\n[plugins.system]\nenabled = false\n"
    assert validate(link, env).returncode == 0


def test_plugin_enable_unknown_name_suggests_and_leaves_file_alone(tmp_path):
    config = tmp_path / "nebula.toml"
    config.write_text(COMMENTED)
    before = config.stat().st_mtime_ns
    for verb in ("enable", "disable"):
        result = nebula("--config", str(config), "plugin", verb, "sytem",
                        env=isolated_env(tmp_path))
        assert result.returncode == 1
        assert "no plugin named 'sytem'; did you mean 'system'?" in result.stderr
    assert config.read_text() == COMMENTED
    assert config.stat().st_mtime_ns == before


def test_plugin_list_json_lists_system(tmp_path):
    cwd = tmp_path / "empty"
    cwd.mkdir()
    result = nebula("plugin", "list", "--json", env=isolated_env(tmp_path), cwd=cwd)
    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)
    assert listed["agent_running"] is False
    system = next(p for p in listed["plugins"] if p["name"] == "system")
    assert system["state"] == "loaded"
    assert system["api_version"] == "1.2"


def test_plugin_disable_without_any_config_writes_the_users_own(tmp_path):
    cwd = tmp_path / "empty"
    cwd.mkdir()
    env = isolated_env(tmp_path)
    result = nebula("plugin", "disable", "system", env=env, cwd=cwd)
    assert result.returncode == 0, result.stderr
    written = Path(env["XDG_CONFIG_HOME"]) / "nebula" / "nebula.toml"
    assert written.read_text() == "[plugins.system]\nenabled = false\n"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    # ...and it is the file every later command finds.
    listed = json.loads(nebula("plugin", "list", "--json", env=env, cwd=cwd).stdout)
    assert {p["name"]: p["state"] for p in listed["plugins"]}["system"] == "disabled"
    assert list(cwd.iterdir()) == []
