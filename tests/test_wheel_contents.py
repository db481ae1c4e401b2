"""The project's wheel is the whole product: every file the code, the commented config and
the docs name is in it, its license and type marker too, and its base install leaves every
plugin SDK to the plugin's extra."""

from __future__ import annotations

import re
import subprocess
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from nebula.plugins import PluginManager
from tests.wheel_venvs import ROOT, build_wheel

pytestmark = pytest.mark.e2e

DOCS = "share/doc/nebula-command/"
# A path into this repository, as the code, the config and the docs write it.
NAMED_PATH = re.compile(r"\b(docs/[\w.-]+\.(?:md|png)|plugins/\w+/README\.md|examples/\w+)")
# The SDKs of the plugins' extras: never in the base install.
SDKS = {"docker", "psycopg", "dnspython", "openai", "pyyaml", "mcp", "smbprotocol",
        "filetype", "asyncssh", "apprise"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    return zipfile.ZipFile(build_wheel(ROOT, tmp_path_factory.mktemp("wheel")))


def _data(wheel: zipfile.ZipFile) -> set[str]:
    """The wheel's installed-data files, as paths under <prefix>."""
    return {name.split(".data/data/", 1)[1] for name in wheel.namelist()
            if ".data/data/" in name}


def _metadata(wheel: zipfile.ZipFile) -> dict[str, list[str]]:
    (name,) = (n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    message = Parser().parsestr(wheel.read(name).decode())
    return {key: message.get_all(key) or [] for key in ("Requires-Dist", "Provides-Extra")}


def _tracked(*patterns: str) -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z", *patterns], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return [ROOT / path for path in out.split("\0") if path]


def _in_wheel(source: Path) -> str:
    """Where a file of a package lands: core/nebula/x is nebula/x, plugins/p/nebula_p/x is
    nebula_p/x."""
    parts = source.relative_to(ROOT).parts
    return "/".join(parts[1:] if parts[0] == "core" else parts[2:])


def test_every_path_the_code_config_and_docs_name_is_in_the_wheel(wheel):
    sources = _tracked("nebula.toml", "README.md", "docs/*.md", "plugins/*/README.md",
                       "core/nebula/*.py", "plugins/*/nebula_*/*.py")
    named = {match for source in sources
             for match in NAMED_PATH.findall(source.read_text(encoding="utf-8"))}
    assert {"docs/web.md", "docs/jarvis.md", "plugins/docker/README.md",
            "examples/n8n"} <= named  # the pattern finds what it is for
    shipped = _data(wheel)
    missing = {path for path in named
               if not any(f == DOCS + path or f.startswith(f"{DOCS}{path}/") for f in shipped)}
    assert not missing, f"named but not in the wheel under {DOCS}: {sorted(missing)}"
    assert {DOCS + "README.md", DOCS + "LICENSE"} <= shipped


def test_the_wheel_carries_the_package_data_license_and_type_marker(wheel):
    names = set(wheel.namelist())
    # Every non-Python file in the packages: static assets, scaffold templates...
    data = {_in_wheel(path) for path in _tracked("core/nebula", "plugins/*/nebula_*")
            if path.suffix != ".py"}
    assert {"nebula/web/static/nebula.css", "nebula/builtins/jarvis/static/jarvis.js",
            "nebula/scaffold/template/pyproject.toml.tmpl"} <= data
    assert data <= names, sorted(data - names)
    assert {"nebula/default_config.toml", "nebula/py.typed"} <= names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "MIT License" in (ROOT / "LICENSE").read_text()


def test_the_base_install_leaves_each_sdk_to_its_plugins_extra(wheel):
    metadata = _metadata(wheel)
    base = {Requirement(r).name for r in metadata["Requires-Dist"] if "extra ==" not in r}
    assert "psutil" in base and not base & SDKS, base & SDKS
    extras = set(metadata["Provides-Extra"])
    assert {"docker", "apps", "postgres", "dns", "jarvis", "mcp", "fleet", "apprise", "all",
            "test"} <= extras
    # Each extra a bundled plugin's manifest names exists, and [all] holds every SDK.
    declared = {r.name: r.manifest.extra for r in PluginManager().records.values()
                if r.manifest is not None and getattr(r.manifest, "extra", None)}
    assert declared == {"docker": "docker", "apps": "apps", "postgres": "postgres",
                        "domains": "dns", "zoneedit": "dns", "ddns": "dns", "network": "dns",
                        "nas": "nas",
                        "media": "media"}
    assert set(declared.values()) <= extras
    in_all = {Requirement(r).name for r in metadata["Requires-Dist"] if "extra == 'all'" in r}
    assert in_all == SDKS, in_all
