"""First-run set-up: the commented config file and the first API token."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from nebula.config import Config
from nebula.store import Store
from nebula.tokens import Tokens


def default_config_text() -> str:
    """The commented example config: packaged in a wheel, or the repository's own file in
    a source checkout (editable installs do not copy it into the package)."""
    packaged = resources.files("nebula") / "default_config.toml"
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parents[2] / "nebula.toml").read_text(encoding="utf-8")


def write_default_config(target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(default_config_text(), encoding="utf-8")


async def create_first_token(config: Config) -> dict[str, Any]:
    store = Store(config.data_dir / "nebula.db")
    await store.open()
    try:
        return await Tokens(store).create("admin", "admin")
    finally:
        await store.close()
