"""The example nebula.toml (what `nebula init` writes) has a commented section for every
bundled plugin and built-in, and every one of them is valid once uncommented: validated by
the real `nebula config validate`, with each plugin's schema and its own checks."""

from __future__ import annotations

import base64
import re
import sys
from importlib.metadata import distribution
from pathlib import Path

from nebula.manifests import section_claims
from tests.agent_process import isolated_env, nebula

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = (REPO / "nebula.toml").read_text(encoding="utf-8")
# An example line: "# " then a table header or `key = value`; prose never starts so.
EXAMPLE_LINE = re.compile(r"^# (?=\[|[A-Za-z_][\w.-]* = )", re.MULTILINE)


def bundled_plugins() -> set[str]:
    return {ep.name for ep in distribution("nebula-command").entry_points
            if ep.group == "nebula.plugins"}


def uncommented() -> str:
    return EXAMPLE_LINE.sub("", EXAMPLE)


def dummy_env(text: str) -> dict[str, str]:
    """A value for every ${VAR} the example names: a URL where one is wanted, base64 for a
    TSIG secret (as tsig-keygen prints it), else a string long enough for any secret."""
    names = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text))
    return {name: "https://hooks.example.test/abc" if name.endswith("_URL")
            else base64.b64encode(name.encode()).decode() if "TSIG" in name
            else f"dummy-{name.lower()}-0123456789" for name in names}


def test_every_bundled_plugin_and_built_in_has_an_example_section():
    doc = tomllib.loads(uncommented())
    assert bundled_plugins() <= set(doc["plugins"]), sorted(bundled_plugins()
                                                            - set(doc["plugins"]))
    for section in section_claims():
        assert section in doc, f"no example [{section}] section"
    # ...and all but the ones on by default stay commented out in the file itself.
    shipped = tomllib.loads(EXAMPLE)
    assert set(shipped.get("plugins", {})) == {"system"}


def test_every_example_section_is_valid_uncommented(tmp_path):
    text = uncommented()
    config = tmp_path / "nebula.toml"
    config.write_text(text)
    result = nebula("--config", str(config), "config", "validate", "--json",
                    env=isolated_env(tmp_path, **dummy_env(text)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"valid": true' in result.stdout


def test_init_writes_the_example(tmp_path):
    target = tmp_path / "nebula.toml"
    result = nebula("--config", str(target), "init", "--data-dir", str(tmp_path / "data"),
                    env=isolated_env(tmp_path))
    assert result.returncode == 0, result.stderr
    written = target.read_text()
    for name in bundled_plugins():
        assert f"# [plugins.{name}]" in written or f"[plugins.{name}]" in written
    assert written.replace(f'data_dir = "{tmp_path / "data"}"',
                           '# data_dir = "/var/lib/nebula"') == EXAMPLE
