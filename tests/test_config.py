"""Reading nebula.toml: sections, defaults, interpolation, `*_file` secrets, and errors that
name the file, the line and the key path."""

from __future__ import annotations

import secrets

import pytest

from nebula import config as nebula_config
from nebula.config import ConfigError, load, validate_section
from nebula.secrets import SECRETS
from nebula.testing import run_agent
from nebula.toml_lines import KeyLines
from tests.sample_plugins import Switchable


def write(tmp_path, text):
    path = tmp_path / "nebula.toml"
    path.write_text(text)
    return path


def problems_of(path):
    with pytest.raises(ConfigError) as caught:
        load(path)
    return caught.value.problems


def where(problems):
    return [(p.line, p.path) for p in problems]


def test_agent_and_plugin_sections(tmp_path):
    path = write(tmp_path, f"""
[agent]
bind = "0.0.0.0"
port = 9000
data_dir = "{tmp_path}/data"
log_format = "json"
flap_threshold = 3
retention_days = 7

[plugins.system]
enabled = false
cpu_warning = 70
""")
    config = load(path)
    assert config.agent["bind"] == "0.0.0.0"
    assert config.agent["port"] == 9000
    assert config.data_dir == tmp_path / "data"
    assert (config.agent["log_format"], config.agent["flap_threshold"]) == ("json", 3)
    assert config.agent["retention_days"] == 7
    # Unset keys take the schema's defaults.
    assert (config.agent["log_level"], config.agent["audit_retention_days"]) == ("info", 365)
    assert config.plugin_section("system") == {"enabled": False, "cpu_warning": 70}
    assert config.plugin_section("absent") == {}


def test_no_file_is_a_valid_start_on_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    config = load(None)
    assert config.path is None
    assert (config.agent["bind"], config.agent["port"]) == ("127.0.0.1", 8765)
    assert config.data_dir == tmp_path / "state" / "nebula"
    assert config.plugins == {}


async def test_an_agent_starts_without_any_config_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    async with run_agent(load(None), {"switchable": Switchable()}) as agent:
        status, shown = await agent.get("/api/v1/config")
        assert status == 200
        assert shown["path"] is None
        assert shown["agent"]["data_dir"] == str(tmp_path / "state" / "nebula")
        _, body = await agent.get("/api/v1/plugins")
        # The built-in plugins start too, on defaults.
        assert {p["name"]: p["state"] for p in body["plugins"]} == {
            "auth": "loaded", "fleet": "loaded", "jarvis": "loaded", "mcp": "loaded",
            "remediation": "loaded", "maintenance": "loaded", "service": "loaded",
            "backup": "loaded",
            "installer": "loaded", "openapi": "loaded", "prometheus": "loaded",
            "settings": "loaded", "uptime": "loaded", "switchable": "loaded"}
    assert (tmp_path / "state" / "nebula" / "nebula.db").is_file()


def test_env_interpolation_with_and_without_default(tmp_path, monkeypatch):
    monkeypatch.setenv("NEBULA_TEST_HOST", "10.1.2.3")
    monkeypatch.setenv("NEBULA_TEST_EMPTY", "")
    monkeypatch.delenv("NEBULA_TEST_UNSET", raising=False)
    config = load(write(tmp_path, """
[agent]
bind = "${NEBULA_TEST_HOST}"
data_dir = "${NEBULA_TEST_UNSET:-/srv/nebula}/data"

[plugins.x]
url = "http://${NEBULA_TEST_HOST}:${NEBULA_TEST_UNSET:-80}/${NEBULA_TEST_EMPTY:-api}"
list = ["${NEBULA_TEST_HOST}", "$NEBULA_TEST_HOST", "${NEBULA_TEST_EMPTY}"]
"""))
    assert config.agent["bind"] == "10.1.2.3"
    assert config.agent["data_dir"] == "/srv/nebula/data"
    # A variable set to the empty string is set: its default does not apply.
    assert config.plugins["x"]["url"] == "http://10.1.2.3:80/"
    assert config.plugins["x"]["list"] == ["10.1.2.3", "$NEBULA_TEST_HOST", ""]


def test_missing_env_var_names_file_line_and_key_path(tmp_path, monkeypatch):
    monkeypatch.delenv("NEBULA_TEST_UNSET", raising=False)
    path = write(tmp_path, '[agent]\nport = 1\n\n[plugins.db]\n'
                           'password = "${NEBULA_TEST_UNSET}"\n')
    [problem] = problems_of(path)
    assert (problem.file, problem.line, problem.path) == (str(path), 5, "plugins.db.password")
    assert str(problem) == (f"{path}:5: plugins.db.password: environment variable "
                            "NEBULA_TEST_UNSET is not set")


def test_environment_overrides_agent_keys_of_the_file(tmp_path, monkeypatch):
    """A container or a service sets `[agent]` keys without a file (Containerfile)."""
    path = write(tmp_path, """
[agent]
bind = "127.0.0.1"
port = 9000
""")
    monkeypatch.setenv("NEBULA_BIND", "0.0.0.0")
    monkeypatch.setenv("NEBULA_PORT", "9100")
    monkeypatch.setenv("NEBULA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEBULA_RETENTION_DAYS", "2.5")
    monkeypatch.setenv("NEBULA_TRUSTED_PROXIES", "10.0.0.1, 10.0.0.2")
    agent = load(path).agent
    assert (agent["bind"], agent["port"], agent["data_dir"], agent["retention_days"],
            agent["trusted_proxies"]) == ("0.0.0.0", 9100, str(tmp_path / "data"), 2.5,
                                          ["10.0.0.1", "10.0.0.2"])
    assert load(None).agent["port"] == 9100  # no file at all: the same


def test_a_wrong_environment_value_names_the_variable_not_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, "[agent]\nport = 9000\n")
    monkeypatch.setenv("NEBULA_PORT", "http")
    monkeypatch.setenv("NEBULA_LOG_LEVEL", "loud")
    found = sorted(problems_of(path), key=lambda p: p.path)
    assert [(p.file, p.line, p.path) for p in found] == [
        ("environment", None, "agent.log_level"), ("environment", None, "agent.port")]
    assert "NEBULA_PORT: 'http' is not of type 'integer'" in found[1].message
    assert str(found[0]).startswith("environment: agent.log_level: NEBULA_LOG_LEVEL:")


def test_file_secret_sets_the_key_from_the_file(tmp_path, monkeypatch):
    secret = f"file-secret-{secrets.token_hex(6)}"
    (tmp_path / "pg").write_text(secret + "\n")
    monkeypatch.setenv("NEBULA_TEST_SECRETS", str(tmp_path))
    config = load(write(tmp_path, '[plugins.db]\npassword_file = "${NEBULA_TEST_SECRETS}/pg"\n'
                                  'user = "app"\n'))
    assert config.plugins["db"] == {"password": secret, "user": "app"}
    assert secret in SECRETS


def test_file_secret_problems(tmp_path):
    path = write(tmp_path, f"""
[plugins.a]
token_file = "{tmp_path}/missing"

[plugins.b]
password = "inline"
password_file = "{tmp_path}/missing"
""")
    problems = problems_of(path)
    assert where(problems) == [(3, "plugins.a.token_file"), (7, "plugins.b.password_file"),
                               (7, "plugins.b.password_file")]
    assert "cannot read secret file" in problems[0].message
    assert "No such file" in problems[0].message
    assert problems[1].message == "both 'password' and 'password_file' are set; keep one"


def test_schema_problem_with_a_file_secret_points_at_the_file_key(tmp_path):
    (tmp_path / "pin").write_text("12")
    config = load(write(tmp_path, '[plugins.lock]\nname = "door"\n\n'
                                  f'pin_file = "{tmp_path}/pin"\n'))
    schema = {"type": "object", "properties": {"pin": {"type": "string", "minLength": 4}}}
    [problem] = validate_section(config, "plugins.lock", config.plugins["lock"], schema)
    assert (problem.line, problem.path) == (4, "plugins.lock.pin")


def test_every_problem_at_once_with_nearest_key(tmp_path):
    path = write(tmp_path, """
[agent]
prot = 8000
port = 70000
log_format = "yaml"

[agnet]
bind = "x"

[plugins]
system = "on"
""")
    problems = problems_of(path)
    assert sorted(where(problems)) == [(3, "agent.prot"), (4, "agent.port"),
                                       (5, "agent.log_format"), (7, "agnet"),
                                       (11, "plugins.system")]
    messages = {p.path: p.message for p in problems}
    assert messages["agent.prot"] == "unknown key 'prot'; did you mean 'port'?"
    assert messages["agnet"] == "unknown key 'agnet'; did you mean 'agent'?"
    assert "70000 is greater than the maximum of 65535" in messages["agent.port"]
    assert messages["plugins.system"] == "must be a table"


def test_unknown_key_far_from_any_gets_no_guess(tmp_path):
    [problem] = problems_of(write(tmp_path, "[agent]\nzzzz = 1\n"))
    assert problem.message == "unknown key 'zzzz'"


def test_invalid_toml_and_unreadable_file(tmp_path):
    [problem] = problems_of(write(tmp_path, '[agent]\nport = 1\n\n[plugins.x\n'))
    assert problem.line == 4
    assert problem.message.startswith("invalid TOML")
    [problem] = problems_of(tmp_path / "absent.toml")
    assert problem.message == "cannot read config: No such file or directory"


def test_read_returns_the_config_beside_its_problems(tmp_path):
    # What `config validate` relies on to check plugin sections of a file whose [agent]
    # is wrong.
    config, problems = nebula_config.read(write(tmp_path, "[agent]\nport = 'x'\n"
                                                          "[plugins.system]\nfoo = 1\n"))
    assert config is not None and config.plugins == {"system": {"foo": 1}}
    assert where(problems) == [(2, "agent.port")]


# --- where keys sit (toml_lines.KeyLines) -------------------------------------------------

LAYOUT = '''\
top = 1
[plugins.pg]
host = "db"
pool.size = 4
"quoted.key" = 5
inline = { a = 1, b = 2 }
banner = """
[not.a.table]
fake = 1
"""
shapes = [
  [1, 2],
  [3, 4]
]
after_shapes = 1
hosts = [
  "a.example", # [not a table]
  "b.example"
]
after_hosts = 2

[[plugins.pg.databases]]  # the first
name = "app"

[[plugins.pg.databases]]
name = "metrics"
options.timeout = 3

[[plugins.pg.databases.users]]
name = "reader"

[plugins.pg.databases.tuning]  # of 'metrics'
work_mem = "4MB"

[[plugins.pg.databases]]
name = 'logs'
'''


@pytest.mark.parametrize("path,line", [
    ("top", 1),
    ("plugins.pg", 2),
    ("plugins.pg.host", 3),
    ("plugins.pg.pool.size", 4),
    ("plugins.pg.quoted.key", 5),
    ("plugins.pg.inline.b", 6),          # inside an inline table: the key holding it
    ("plugins.pg.banner", 7),
    ("plugins.pg.shapes.1", 11),         # an element: the array's key
    ("plugins.pg.after_shapes", 15),
    ("plugins.pg.after_hosts", 20),
    ("plugins.pg.databases", 22),
    ("plugins.pg.databases.0.name", 23),
    ("plugins.pg.databases.1", 25),
    ("plugins.pg.databases.1.name", 26),
    ("plugins.pg.databases.1.options.timeout", 27),
    ("plugins.pg.databases.1.users.0.name", 30),
    ("plugins.pg.databases.1.tuning.work_mem", 33),
    ("plugins.pg.databases.2.name", 36),
    ("plugins.pg.not_set", 2),           # unknown: its table
    ("nowhere.at.all", None),
])
def test_key_lines(path, line):
    assert KeyLines(LAYOUT).line_of(path) == line


def load_layout(tmp_path):
    config, problems = nebula_config.read(write(tmp_path, LAYOUT))
    assert [p.message for p in problems] == ["unknown key 'top'"]
    return config


def test_key_lines_layout_is_the_toml_it_claims(tmp_path):
    config = load_layout(tmp_path)
    pg = config.plugins["pg"]
    assert [d["name"] for d in pg["databases"]] == ["app", "metrics", "logs"]
    assert pg["databases"][1]["users"][0]["name"] == "reader"
    assert "not" not in pg and pg["after_shapes"] == 1


def test_schema_errors_in_array_of_tables_and_dotted_keys_name_their_line(tmp_path):
    config = load_layout(tmp_path)
    schema = {"type": "object", "properties": {
        "pool": {"type": "object", "properties": {"size": {"maximum": 2}}},
        "databases": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "properties": {"name": {"type": "string", "maxLength": 6},
                           "options": {"type": "object",
                                       "properties": {"timeout": {"type": "string"}}},
                           "users": {"type": "array"}}}}}}
    problems = validate_section(config, "plugins.pg", config.plugins["pg"], schema)
    assert sorted(where(problems)) == [
        (4, "plugins.pg.pool.size"),
        (26, "plugins.pg.databases.1.name"),              # 'metrics' is too long
        (27, "plugins.pg.databases.1.options.timeout"),
        (32, "plugins.pg.databases.1.tuning"),            # unknown key in element 1
    ]
    unknown = next(p for p in problems if p.path.endswith("tuning"))
    assert unknown.message == "unknown key 'tuning'"
