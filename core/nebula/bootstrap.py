"""First-run set-up: the commented config file, the first API token, and the address
the panel is opened at."""

from __future__ import annotations

import re
import socket
from importlib import resources
from pathlib import Path
from typing import Any

from nebula.config import Config
from nebula.filemodes import secure_data_dir, write_private
from nebula.store import store_for
from nebula.tokens import Tokens


def default_config_text() -> str:
    """The commented example config: packaged in a wheel, or the repository's own file in
    a source checkout (editable installs do not copy it into the package)."""
    packaged = resources.files("nebula") / "default_config.toml"
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parents[2] / "nebula.toml").read_text(encoding="utf-8")


# The example's commented data_dir line, which `init` replaces with the one it used.
_DATA_DIR_LINE = re.compile(r"^# data_dir = .*$", re.MULTILINE)


def config_text(data_dir: Path) -> str:
    """The example config with `data_dir` set: the first token is stored there, so the file
    must say so, or uncommenting the example's data_dir would lose the token."""
    import tomlkit  # only `nebula init` writes a config; the agent imports this for panel_url

    text, found = _DATA_DIR_LINE.subn(
        lambda _: f"data_dir = {tomlkit.string(str(data_dir)).as_string()}",
        default_config_text(), count=1)
    if not found:
        raise RuntimeError("the example config has no '# data_dir = ' line to set")
    return text


def write_default_config(target: Path, data_dir: Path) -> None:
    """0600 even when it replaces a file others could read: the file is where an operator
    writes passwords and tokens once it is set up."""
    target.parent.mkdir(parents=True, exist_ok=True)
    write_private(target, config_text(data_dir))


async def create_first_token(config: Config) -> dict[str, Any]:
    secure_data_dir(config.data_dir)
    store = store_for(config.agent, config.data_dir)
    await store.open()
    try:
        return await Tokens(store).create("admin", "admin")
    finally:
        await store.close()


# As nebula.http.hosts reads them (a layer above: it cannot be imported here).
_WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})


def panel_url(config: Config, port: int | None = None) -> str:
    """Where a browser opens the panel: `public_url` when set (the address people use
    behind a proxy), else the bind address and port (`port`: the one the agent really
    listens on, when known). Bound to every address, the agent answers to this machine's
    host name (nebula.http.hosts), the likeliest name another machine reaches it by."""
    agent = config.agent
    if public := str(agent.get("public_url") or "").rstrip("/"):
        return public
    host = str(agent.get("bind", ""))
    if host in _WILDCARD_BINDS:
        host = socket.gethostname()
    port = agent["port"] if port is None else port
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
