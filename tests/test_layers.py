"""The core's layers import only downwards (docs/architecture.md): every `nebula` module is
in a layer, and none imports a module of a layer above its own. Within the interfaces, the
HTTP layer does not import the panel: tests/web/test_layers.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parent.parent / "core"

# Lowest first. A module belongs to the layer of its longest matching prefix.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("nebula", "nebula.secrets", "nebula.logs", "nebula.store",
                    "nebula.secret_store", "nebula.filemodes", "nebula.toml_lines",
                    "nebula.write_only", "nebula.enums", "nebula.errors", "nebula.roles",
                    "nebula.sdnotify", "nebula.units")),
    ("contract", ("nebula.contributions", "nebula.context", "nebula.hookspecs",
                  "nebula.surfaces", "nebula.api")),
    ("helpers", ("nebula.helpers",)),
    ("engine", ("nebula.config", "nebula.config_edit", "nebula.plugins", "nebula.manifests",
                "nebula.agent", "nebula.scheduler", "nebula.health", "nebula.actions",
                "nebula.approvals", "nebula.runs", "nebula.events", "nebula.tokens",
                "nebula.tools", "nebula.bootstrap", "nebula.history")),
    ("interfaces", ("nebula.views", "nebula.http", "nebula.web", "nebula.cli",
                    "nebula.server", "nebula.runtime", "nebula.testing", "nebula.scaffold",
                    "nebula.__main__")),
    # An alias of the backup built-in's module at its old address (bundled plugins' tests).
    ("builtins", ("nebula.builtins",)),
)


def layer_of(module: str) -> int | None:
    best: tuple[int, int] | None = None
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            # The package itself is foundation; its unlisted modules are in no layer.
            within = module.startswith(prefix + ".") and prefix != "nebula"
            if (module == prefix or within) and (best is None or len(prefix) > best[1]):
                best = (rank, len(prefix))
    return None if best is None else best[0]


def modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted((CORE / "nebula").rglob("*.py")):
        name = ".".join(path.relative_to(CORE).with_suffix("").parts)
        found.append((name.removesuffix(".__init__"), path))
    return found


def imports(path: Path) -> set[str]:
    """Every `nebula` module named by an import, type-checking-only ones included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "nebula" or name.startswith("nebula.")}


@pytest.mark.parametrize(("module", "path"), modules(), ids=lambda v: str(v))
def test_a_module_imports_only_its_layer_and_those_below(module, path):
    own = layer_of(module)
    assert own is not None, f"{module} is in no layer: add it to LAYERS and the docs"
    upward = sorted(name for name in imports(path)
                    if (other := layer_of(name)) is not None and other > own
                    # `from nebula.x import y` also names `nebula.x.y`; only real modules
                    and _is_module(name))
    assert not upward, (f"{module} ({LAYERS[own][0]}) imports from a higher layer: "
                        + ", ".join(f"{n} ({LAYERS[layer_of(n) or 0][0]})" for n in upward))


def _is_module(name: str) -> bool:
    relative = Path(*name.split("."))
    return (CORE / relative).with_suffix(".py").is_file() or (CORE / relative).is_dir()
