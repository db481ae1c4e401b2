"""Plugin packages built into wheels during the session, and one venv shared by the tests
that `nebula plugin install` them (tests/test_plugin_install.py, tests/test_plugin_new.py).

The venv comes from conftest's `make_venv` (the project visible through a `.pth`, so
nebula-command counts as installed and `pip --no-index` resolves a plugin's dependency on
it), with the `nebula-hello` fixture wheel preinstalled. Creating a venv is the slow part,
so every test module gets the same one; each test leaves it as it found it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.agent_process import isolated_env, nebula
from tests.conftest import _run, make_venv

ROOT = Path(__file__).parent.parent
HELLO_COMMENT = "# the owner's own words, which an install must keep\n"


def build_wheel(source: Path, out: Path) -> Path:
    """A wheel of the package in `source`, built offline with this venv's hatchling."""
    out.mkdir(parents=True, exist_ok=True)
    before = set(out.glob("*.whl"))
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", out, source)
    (wheel,) = set(out.glob("*.whl")) - before
    return wheel


def write_package(root: Path, distribution: str, version: str, modules: dict[str, str],
                  entry_points: dict[str, str]) -> Path:
    """A minimal package source: `modules` maps `pkg/mod.py` paths to their code."""
    eps = "".join(f'{name} = "{target}"\n' for name, target in entry_points.items())
    packages = sorted({path.split("/")[0] for path in modules})
    (root / "pyproject.toml").parent.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [build-system]
        requires = ["hatchling>=1.21"]
        build-backend = "hatchling.build"

        [project]
        name = "{distribution}"
        version = "{version}"
        dependencies = ["nebula-command"]

        [tool.hatch.build.targets.wheel]
        packages = {json.dumps(packages)}
        """) + (f'\n[project.entry-points."nebula.plugins"]\n{eps}' if eps else ""))
    for path, code in modules.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(textwrap.dedent(code))
    return root


@dataclass
class PluginVenv:
    python: str
    site_packages: Path
    hello_wheel: Path

    def nebula(self, home: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
        """`nebula ARGS` under this venv's python, with HOME and XDG dirs in `home`."""
        return nebula(*map(str, args), env=isolated_env(home), python=self.python,
                      timeout=180)

    def nebula_json(self, home: Path, *args: str | Path, ok: bool = True) -> Any:
        result = self.nebula(home, *args, "--json")
        assert (result.returncode == 0) == ok, f"{result.stdout}\n{result.stderr}"
        return json.loads(result.stdout)

    def version(self, distribution: str) -> str | None:
        """The version of `distribution` installed in this venv, asked of a fresh python."""
        out = _run(self.python, "-c", "import sys, importlib.metadata as m\n"
                   "try: print(m.version(sys.argv[1]))\n"
                   "except m.PackageNotFoundError: print('')", distribution).strip()
        return out or None

    def run_tests(self, tests: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
        """A plugin's own tests, run by this venv's pytest from `cwd`."""
        return subprocess.run(
            [self.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
            cwd=cwd, env=isolated_env(cwd), text=True, capture_output=True, timeout=180,
            check=False)

    def restore_hello(self) -> None:
        """Put the preinstalled nebula-hello back the way the venv started."""
        if self.version("nebula-hello") != "0.3.1":
            _run(self.python, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                 "--force-reinstall", self.hello_wheel,
                 env=isolated_env(Path(self.python).parent.parent))


_VENVS: dict[Path, PluginVenv] = {}


@pytest.fixture(scope="session")
def plugin_venv(plugin_wheels, tmp_path_factory) -> PluginVenv:
    """One venv for the whole session, however many modules ask for it (a session
    fixture imported into two modules would otherwise be built twice)."""
    key = tmp_path_factory.getbasetemp()
    if key not in _VENVS:
        python = make_venv(tmp_path_factory.mktemp("venv-install"), plugin_wheels["hello"])
        site = Path(_run(python, "-c", "import sysconfig; "
                                       "print(sysconfig.get_paths()['purelib'])").strip())
        _VENVS[key] = PluginVenv(python, site, plugin_wheels["hello"])
    return _VENVS[key]


def config_with_comment(path: Path, data_dir: Path) -> Path:
    """A nebula.toml with a comment, so a test sees an edit keep the owner's text."""
    path.write_text(f'{HELLO_COMMENT}[agent]\ndata_dir = "{data_dir}"\n')
    return path


def copy_tests(source: Path, target: Path) -> Path:
    """A plugin's tests and pyproject (its pytest settings) without its package, so they
    import the installed wheel rather than the source folder."""
    shutil.copytree(source / "tests", target / "tests",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(source / "pyproject.toml", target / "pyproject.toml")
    return target
