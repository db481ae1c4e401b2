"""An environment for a subprocess in which one package cannot be imported, as if it were not
installed, whatever this venv holds: a finder installed from a `sitecustomize` on its
PYTHONPATH refuses the package and its submodules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.agent_process import isolated_env

HIDE = """
import importlib.abc
import sys


class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == {package!r} or name.startswith({package!r} + "."):
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, Hide())
"""


def env_without(package: str, tmp_path: Path) -> dict[str, str]:
    """An isolated environment (tests.agent_process) in which `import <package>` fails."""
    site = tmp_path / f"no-{package}"
    site.mkdir()
    (site / "sitecustomize.py").write_text(HIDE.format(package=package))
    env = isolated_env(tmp_path, PYTHONPATH=str(site))
    probe = subprocess.run([sys.executable, "-c", f"import {package}"], env=env,
                           capture_output=True, text=True, check=False)
    assert probe.returncode != 0 and f"No module named '{package}'" in probe.stderr
    return env
