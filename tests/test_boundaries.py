"""The plugin boundary, packaging and docs stay true as the project grows.

- A plugin imports from the core only `nebula.api` (the contract) and `nebula.helpers.*`
  (the public helpers), and never another plugin's package, so a third-party plugin can do
  everything a bundled one does.
- Every `plugins/<name>/` folder is packaged into the wheel and registered as an entry point.
- Every hook in `nebula.hookspecs` has a section in docs/plugins.md titled with its signature.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pluggy
import pytest

from nebula import hookspecs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PACKAGES = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
ENTRY_POINTS = PYPROJECT["project"]["entry-points"]["nebula.plugins"]
BUNDLED = sorted(p.name for p in (ROOT / "plugins").iterdir()
                 if p.is_dir() and not p.name.startswith((".", "_")))
# Outside plugins are held to the same rule: they prove the public API is enough.
THIRD_PARTY = {"nebula_hello": ROOT / "tests/fixtures/thirdparty_plugin",
               "nebula_faulty": ROOT / "tests/fixtures/faulty_plugins",
               "nebula_n8n": ROOT / "examples/n8n/nebula_n8n"}
PUBLIC_API = "nebula.api"
PUBLIC_HELPERS = "nebula.helpers"

# --- imports --------------------------------------------------------------------------------


def _imported(node: ast.AST) -> list[str]:
    """The absolute module names an AST node imports (relative imports stay inside)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        if node.module == "nebula":  # `from nebula import x` imports the module nebula.x
            return [f"nebula.{alias.name}" for alias in node.names]
        return [node.module]
    if (isinstance(node, ast.Call) and node.args
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
            and getattr(node.func, "attr", getattr(node.func, "id", None))
            in ("import_module", "__import__")):
        return [node.args[0].value]
    return []


def boundary_violations(source: str, own_package: str) -> list[str]:
    """Each import in `source` that reaches past the public API or into another plugin."""
    found = []
    for node in ast.walk(ast.parse(source)):
        for module in _imported(node):
            top = module.split(".")[0]
            public = module in (PUBLIC_API, PUBLIC_HELPERS) or module.startswith(
                f"{PUBLIC_HELPERS}.")
            if top == "nebula" and not public:
                found.append(f"line {node.lineno}: {module} (core internals; use nebula.api "
                             f"or nebula.helpers)")
            elif top.startswith("nebula_") and top != own_package:
                found.append(f"line {node.lineno}: {module} (another plugin's package)")
    return found


@pytest.mark.parametrize("source,bad", [
    ("from nebula.agent import Agent", True),
    ("import nebula.plugins", True),
    ("import nebula", True),
    ("from nebula import config", True),
    ("def f():\n    from nebula.store import Store", True),
    ("import importlib\nimportlib.import_module('nebula.health')", True),
    ("from nebula_docker.client import DockerClient", True),
    ("from nebula.api import Check, hookimpl", False),
    ("from nebula.helpers.coordinator import Coordinator", False),
    ("from nebula.helpers import net", False),
    ("import nebula.helpers.checks", False),
    ("from nebula.helpersx import y", True),
    ("import nebula.api", False),
    ("from nebula import api", False),
    ("from nebula_system.rows import disks", False),
    ("from . import rows\nimport json\nimport nebulous", False),
])
def test_boundary_check_tells_public_from_internal(source, bad):
    assert bool(boundary_violations(source, "nebula_system")) is bad


PLUGIN_SOURCES = [
    # The package only: a plugin's tests (plugins/<name>/tests) may reach into the core.
    *(pytest.param(f"nebula_{name}", ROOT / "plugins" / name / f"nebula_{name}", id=name)
      for name in BUNDLED),
    *(pytest.param(package, folder, id=f"fixture-{package}")
      for package, folder in THIRD_PARTY.items()),
]


@pytest.mark.parametrize("own_package,folder", PLUGIN_SOURCES)
def test_plugin_imports_only_the_public_api(own_package, folder):
    files = sorted(folder.rglob("*.py"))
    assert files, f"no Python files under {folder}"
    problems = [f"{path.relative_to(ROOT)} {problem}" for path in files
                for problem in boundary_violations(path.read_text(encoding="utf-8"),
                                                   own_package)]
    assert problems == []


# --- packaging ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUNDLED)
def test_plugin_folder_is_packaged_and_registered(name):
    package = f"plugins/{name}/nebula_{name}"
    assert (ROOT / package / "__init__.py").is_file(), f"{package} is not a package"
    assert (ROOT / package / "plugin.py").is_file(), f"{package} has no plugin module"
    assert package in PACKAGES, f"add {package!r} to [tool.hatch.build.targets.wheel]"
    assert ENTRY_POINTS.get(name) == f"nebula_{name}.plugin", (
        f'register {name} = "nebula_{name}.plugin" under [project.entry-points."nebula.plugins"]')


def test_nothing_is_packaged_or_registered_without_a_folder():
    assert BUNDLED, "no plugin folders found"
    assert sorted(ENTRY_POINTS) == BUNDLED
    assert sorted(PACKAGES) == sorted(["core/nebula", *(f"plugins/{n}/nebula_{n}"
                                                         for n in BUNDLED)])


# --- hook docs ------------------------------------------------------------------------------

HOOKSPECS = Path(hookspecs.__file__)
DOCS = ROOT / "docs" / "plugins.md"


def hook_signatures() -> dict[str, str]:
    """`name(args) -> returns` of every function marked `@hookspec`, as written."""
    signatures = {}
    for node in ast.parse(HOOKSPECS.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef) and any(
                ast.unparse(d).split("(")[0] == "hookspec" for d in node.decorator_list):
            returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
            signatures[node.name] = f"{node.name}({ast.unparse(node.args)}){returns}"
    return signatures


SIGNATURES = hook_signatures()


def test_every_hook_is_found_by_the_docs_check():
    pm = pluggy.PluginManager("nebula")
    pm.add_hookspecs(hookspecs)
    assert set(SIGNATURES) == {name for name in vars(pm.hook) if name.startswith("nebula_")}


def doc_section(signature: str) -> tuple[str, str] | None:
    """The heading that contains `signature` and the text under it, up to the next heading
    of the same or a higher level."""
    lines = DOCS.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        heading = re.match(r"(#+)\s", line)
        if heading and signature in line.replace("`", ""):
            level = len(heading.group(1))
            body = []
            for following in lines[i + 1:]:
                deeper = re.match(r"(#+)\s", following)
                if deeper and len(deeper.group(1)) <= level:
                    break
                body.append(following)
            return line, "\n".join(body)
    return None


@pytest.mark.parametrize("hook", sorted(SIGNATURES))
def test_hook_is_documented_under_its_signature(hook):
    section = doc_section(SIGNATURES[hook])
    assert section is not None, f"docs/plugins.md needs a heading with `{SIGNATURES[hook]}`"
    _, body = section
    for topic in ("Returns", "Called", "If it raises"):
        assert f"**{topic}" in body, f"the {hook} section does not say {topic!r}"


@pytest.mark.e2e  # a fresh interpreter, where sys.modules tells
def test_loading_the_bundled_plugins_imports_no_sdk():
    """The manager imports every installed plugin to read its manifest; a disabled plugin
    must not cost the agent its SDK's memory (the idle-RSS target depends on it)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from nebula.plugins import PluginManager\n"
        "PluginManager()\n"
        "print(sorted(m for m in ('docker', 'psycopg', 'dns', 'openai', 'cryptography',"
        " 'smbclient', 'smbprotocol', 'filetype')"
        " if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60)
    assert result.stdout.strip() == "[]"
