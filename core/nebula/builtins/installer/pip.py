"""Installing and removing plugin distributions in the agent's own environment.

pip runs as `sys.executable -m pip`, so a plugin lands where the agent imports from. What it
installed is then checked in a fresh interpreter (this process's import and metadata caches
predate the install) through the plugin manager itself, so a distribution is refused for
exactly the reasons the agent would fail it. A refused install is rolled back: what pip
newly installed is uninstalled, and what it replaced is put back when the index still has
it (otherwise removed, never left broken).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nebula.errors import NebulaError

if sys.version_info >= (3, 11):
    from importlib.metadata import distributions, entry_points
else:  # pragma: no cover
    from importlib_metadata import distributions, entry_points

BUNDLED_DISTRIBUTION = "nebula-command"
Progress = Callable[[str], None]


class InstallError(NebulaError):
    """The install or uninstall was refused or failed; the message says why and what was
    undone."""


@dataclass
class Installed:
    distribution: str
    version: str
    plugins: list[str]
    # Per plugin: config keys its schema requires and gives no default for.
    needs_config: dict[str, list[str]] = field(default_factory=dict)
    pip_installed: list[str] = field(default_factory=list)


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _installed_versions() -> dict[str, str]:
    return {_canonical(d.metadata["Name"]): d.version for d in distributions()
            if d.metadata["Name"]}


def _pip(python: str, args: Sequence[str], progress: Progress) -> tuple[int, list[str]]:
    """Run pip, passing each output line to `progress`; returns its exit code and output."""
    proc = subprocess.Popen(
        [python, "-m", "pip", *args, "--disable-pip-version-check"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line.rstrip())
        # One line per dependency already there drowns out what pip actually does.
        if not line.startswith("Requirement already satisfied"):
            progress(line.rstrip())
    return proc.wait(), lines


def _pip_report(python: str, args: Sequence[str], progress: Progress) -> list[dict[str, Any]]:
    """`pip install ... --report`: the distributions pip installed (or would install)."""
    with tempfile.TemporaryDirectory(prefix="nebula-pip-") as tmp:
        report = Path(tmp) / "report.json"
        code, lines = _pip(python, ["install", "--report", str(report), *args], progress)
        if code != 0:
            tail = "\n".join(lines[-8:])
            raise InstallError(f"pip install failed (exit {code}); nothing was installed:\n"
                               f"{tail}")
        return json.loads(report.read_text())["install"]


_PROBE = ("import json, sys; from nebula.builtins.installer.pip import probe; "
          "open(sys.argv[1], 'w').write(json.dumps(probe(sys.argv[2:])))")


def probe(names: Sequence[str]) -> dict[str, Any]:
    """Run in a fresh interpreter: each distribution's `nebula.plugins` entry points,
    loaded and checked by the plugin manager, and plugin names another distribution
    already uses."""
    from importlib.metadata import PackageNotFoundError, distribution

    from nebula.plugins import ENTRY_POINT_GROUP, PluginManager

    manager = PluginManager(discover=False)
    found: dict[str, Any] = {}
    for name in names:
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            found[name] = None
            continue
        eps = [ep for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP]
        others = {ep.name: ep.dist.name for ep in entry_points(group=ENTRY_POINT_GROUP)
                  if ep.dist is not None and _canonical(ep.dist.name) != _canonical(name)}
        found[name] = {
            "name": dist.metadata["Name"], "version": dist.version,
            "clashes": {ep.name: others[ep.name] for ep in eps if ep.name in others},
            "plugins": [{"name": r.name, "error": r.error,
                         "needs_config": _needs_config(r.schema)}
                        for r in manager.load_entry_points(eps)],
        }
    return found


def _needs_config(schema: dict[str, Any]) -> list[str]:
    props = schema.get("properties", {})
    return [key for key in schema.get("required", [])
            if "default" not in props.get(key, {})]


def _probe(python: str, names: Sequence[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="nebula-probe-") as tmp:
        out = Path(tmp) / "probe.json"
        result = subprocess.run([python, "-c", _PROBE, str(out), *names], text=True,
                                capture_output=True, timeout=120, check=False)
        if result.returncode != 0 or not out.exists():
            raise InstallError(f"could not check the installed plugin: {result.stderr.strip()}")
        return json.loads(out.read_text())


def _refusal(name: str, found: dict[str, Any] | None) -> str | None:
    """Why the agent could not use this distribution, or None when it can."""
    if found is None:
        return f"{name} is not importable after the install"
    if not found["plugins"]:
        return (f"{found['name']} {found['version']} provides no `nebula.plugins` entry "
                "point, so it is not a Nebula plugin")
    if found["clashes"]:
        plugin, other = next(iter(found["clashes"].items()))
        return f"plugin name {plugin!r} is already provided by {other}"
    errors = [f"{p['name']}: {p['error']}" for p in found["plugins"] if p["error"]]
    return "; ".join(errors) or None


def install(target: str, pip_args: Sequence[str] = (), *, progress: Progress = print,
            python: str = sys.executable) -> Installed:
    """pip-install `target` (a name, path, wheel or git+URL), then check it is a plugin
    this agent can load; on any refusal undo the install and raise InstallError."""
    before = _installed_versions()
    progress(f"installing {target} with pip")
    report = _pip_report(python, [*pip_args, target], progress)
    changed = {_canonical(item["metadata"]["name"]): item["metadata"]["version"]
               for item in report}
    requested = [_canonical(item["metadata"]["name"]) for item in report if item["requested"]]
    if not requested:
        # Already installed at this version: pip did nothing, so only ask it which
        # distribution `target` is, to check and enable that.
        dry = _pip_report(python, ["--dry-run", "--ignore-installed", "--no-deps", *pip_args,
                                   target], lambda _line: None)
        requested = [_canonical(item["metadata"]["name"]) for item in dry]
    progress(f"checking {', '.join(requested)} in a fresh interpreter")
    try:
        found = _probe(python, requested)
    except InstallError as exc:
        raise InstallError(f"{exc}\n{_undo(python, changed, before, pip_args, progress)}") \
            from None
    for name in requested:
        if (why := _refusal(name, found[name])) is not None:
            undone = _undo(python, changed, before, pip_args, progress)
            raise InstallError(f"refused {target}: {why}\n{undone}")
    name = requested[0]
    info = found[name]
    return Installed(
        info["name"], info["version"], [p["name"] for p in info["plugins"]],
        {p["name"]: p["needs_config"] for p in info["plugins"] if p["needs_config"]},
        sorted(changed))


def _undo(python: str, changed: dict[str, str], before: dict[str, str],
          pip_args: Sequence[str], progress: Progress) -> str:
    """Remove what this install added and put back what it replaced, where possible."""
    if not changed:
        return "nothing was installed, so nothing was removed"
    new = sorted(name for name in changed if name not in before)
    notes = []
    if new:
        progress(f"removing {', '.join(new)}")
        _pip(python, ["uninstall", "-y", *new], progress)
        notes.append(f"removed {', '.join(new)}")
    for name in sorted(set(changed) - set(new)):
        old = f"{name}=={before[name]}"
        progress(f"restoring {old}")
        code, _ = _pip(python, ["install", "--no-deps", *pip_args, old], progress)
        if code == 0:
            notes.append(f"restored {old}")
        else:
            _pip(python, ["uninstall", "-y", name], progress)
            notes.append(f"removed {name} {changed[name]} ({old} could not be reinstalled "
                         "from the index; install it again to restore it)")
    return "; ".join(notes)


def distribution_of(plugin: str) -> str | None:
    """The installed distribution providing the `nebula.plugins` entry point `plugin`."""
    from nebula.plugins import ENTRY_POINT_GROUP

    for ep in entry_points(group=ENTRY_POINT_GROUP, name=plugin):
        return ep.dist.name if ep.dist is not None else None
    return None


def plugin_names() -> list[str]:
    from nebula.plugins import ENTRY_POINT_GROUP

    return sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))


def uninstall(distribution: str, *, progress: Progress = print,
              python: str = sys.executable) -> None:
    if _canonical(distribution) == BUNDLED_DISTRIBUTION:
        raise InstallError(f"{distribution} is Nebula itself: its bundled plugins cannot be "
                           "uninstalled; use `nebula plugin disable` instead")
    progress(f"uninstalling {distribution} with pip")
    code, lines = _pip(python, ["uninstall", "-y", distribution], progress)
    if code != 0:
        raise InstallError(f"pip uninstall failed (exit {code}):\n" + "\n".join(lines[-8:]))
