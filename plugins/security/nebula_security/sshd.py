"""The SSH daemon's effective settings: `sshd -T -f <config>` where sshd is installed (it
resolves Include, defaults and the first-value-wins rule exactly as the daemon does), else
the config files read here (Include globs, first value wins, Match blocks skipped since
they apply only to some connections)."""

from __future__ import annotations

import asyncio
import glob
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nebula.api import Status
from nebula_security import commands
from nebula_security.findings import Assessment, Finding, assess, not_applicable, unknown

# OpenSSH's defaults for what we judge when a file does not say (sshd_config(5)).
DEFAULTS = {"permitrootlogin": "prohibit-password", "passwordauthentication": "yes",
            "permitemptypasswords": "no", "kbdinteractiveauthentication": "yes"}
WANTED = tuple(DEFAULTS)


def parse_T(text: str) -> dict[str, str]:
    """`sshd -T`'s lowercase `key value` lines."""
    settings: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if key and key not in settings:
            settings[key.lower()] = value.strip()
    return settings


def parse_files(path: Path, settings: dict[str, str] | None = None,
                depth: int = 0) -> dict[str, str]:
    """The settings of `path` and what it includes, the first value of a key winning."""
    found = {} if settings is None else settings
    if depth > 8:  # sshd refuses deeper Include nesting too
        return found
    in_match = False
    for raw in path.read_text(errors="replace").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, _, value = line.replace("=", " ", 1).partition(" ")
        key, value = key.lower(), value.strip().strip('"')
        if key == "match":
            in_match = True
            continue
        if in_match:
            continue
        if key == "include":
            for pattern in value.split():
                full = pattern if os.path.isabs(pattern) else f"/etc/ssh/{pattern}"
                for name in sorted(glob.glob(full)):
                    parse_files(Path(name), found, depth + 1)
            continue
        found.setdefault(key, value.split()[0].lower() if value else "")
    return found


def from_files(path: Path) -> dict[str, str] | None:
    """The files' settings over OpenSSH's defaults; None when `path` does not exist."""
    if not path.exists():
        return None
    return {**DEFAULTS, **parse_files(path)}


async def read_settings(config: Mapping[str, Any]) -> tuple[dict[str, str] | None, str]:
    """(settings, how they were read) or (None, why not; empty: no sshd at all)."""
    path = Path(config["sshd_config"])
    binary = commands.find(config["sshd_binary"])
    files = await asyncio.to_thread(from_files, path)
    if files is None:
        return None, f"sshd is installed but {path} does not exist" if binary else ""
    if binary is None:
        return files, f"read {path} (no sshd binary)"
    out = await commands.run([binary, "-T", "-f", str(path)], config["command_timeout"])
    if out.code == 0:
        return parse_T(out.stdout), f"{binary} -T -f {path}"
    # sshd -T refuses to print without host keys or with a bad line; the files still say
    # what the daemon would do once it can start.
    problem = (out.stderr.strip().splitlines() or ["no output"])[-1]
    return files, f"read {path}; sshd -T failed: {problem}"


def judge(settings: Mapping[str, str], source: str, config_file: str) -> Assessment:
    findings = []

    def line(key: str, value: str) -> str:
        return (f"`{key} {value}` in {config_file} (before any Include or Match), then "
                "`systemctl reload ssh`")

    root = settings.get("permitrootlogin", DEFAULTS["permitrootlogin"]).lower()
    if root == "yes":
        findings.append(Finding(6, "sshd lets root log in with a password (PermitRootLogin "
                                   "yes)", line("PermitRootLogin", "prohibit-password"),
                                Status.CRITICAL))
    empty = settings.get("permitemptypasswords", "no").lower()
    if empty == "yes":
        findings.append(Finding(10, "sshd accepts accounts with empty passwords "
                                    "(PermitEmptyPasswords yes)",
                                line("PermitEmptyPasswords", "no"), Status.CRITICAL))
    password = settings.get("passwordauthentication", "yes").lower()
    if password == "yes":
        findings.append(Finding(5, "sshd accepts passwords (PasswordAuthentication yes): "
                                   "open to password guessing",
                                line("PasswordAuthentication", "no") + " once every user "
                                "has a key in ~/.ssh/authorized_keys"))
    return assess("ssh", findings, f"root login {root}, password authentication "
                  f"{password}, empty passwords {empty} ({source})")


async def assess_ssh(config: Mapping[str, Any]) -> Assessment:
    settings, source = await read_settings(config)
    if settings is None:
        if not source:
            return not_applicable("ssh", f"no SSH daemon here (no sshd, no "
                                         f"{config['sshd_config']})")
        return unknown("ssh", source, "check sshd's config with `sshd -t`")
    return judge(settings, source, config["sshd_config"])
