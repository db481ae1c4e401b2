"""`nebula plugin new`: a plugin package rendered from the templates beside this module.

Templates are real files (`*.tmpl`, package data shipped in the wheel) with `{{key}}`
placeholders; a folder named `__package__` becomes the plugin's import package."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from nebula.api import PLUGIN_API_VERSION

if TYPE_CHECKING:
    from importlib.abc import Traversable

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def names(name: str) -> dict[str, str]:
    """Every spelling the templates use; `name` may use `-` for `_`."""
    plugin = name.strip().lower().replace("-", "_")
    if not NAME_RE.match(plugin):
        raise ValueError(f"plugin name {name!r} must be letters, digits and _ or -, "
                         "starting with a letter")
    return {"name": plugin, "package": f"nebula_{plugin}",
            "distribution": f"nebula-{plugin.replace('_', '-')}",
            "title": plugin.replace("_", " ").title(), "api_version": PLUGIN_API_VERSION}


def render(name: str, parent: Path) -> Path:
    """Write the package into `parent/<distribution>`; refuses to touch an existing one."""
    values = names(name)
    root = parent / values["distribution"]
    if root.exists():
        raise FileExistsError(f"{root} already exists")
    _copy(resources.files(__package__) / "template", root, values)
    return root


def _copy(source: Traversable, target: Path, values: dict[str, str]) -> None:
    target.mkdir(parents=True)
    for item in sorted(source.iterdir(), key=lambda i: i.name):
        name = item.name.replace("__package__", values["package"])
        if item.is_dir():
            if name != "__pycache__":
                _copy(item, target / name, values)
        elif name.endswith(".tmpl"):
            text = item.read_text(encoding="utf-8")
            for key, value in values.items():
                text = text.replace("{{" + key + "}}", value)
            (target / name.removesuffix(".tmpl")).write_text(text, encoding="utf-8")
