"""Nebula as a systemd service: the unit, and the steps that install or remove it.

`nebula service install` writes `/etc/systemd/system/nebula.service` and, when missing,
`/etc/nebula/nebula.toml` (the example, data in `/var/lib/nebula`), and creates the
dedicated system user the unit runs as. Everything is planned first as a list of `Step`s,
so `--print` shows exactly what a real run would do. `root` is a staging root (DESTDIR) for
packaging and tests: the paths written into the unit stay the real ones; users are created
in the root's own `/etc/passwd` (`useradd --root`) when it has one. docs/service.md.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nebula.filemodes import write_private

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

UNIT = "nebula.service"
UNIT_PATH = Path("/etc/systemd/system") / UNIT
WANTS_LINK = Path("/etc/systemd/system/multi-user.target.wants") / UNIT
CONFIG_DIR = Path("/etc/nebula")  # ConfigurationDirectory=nebula
CONFIG_FILE = CONFIG_DIR / "nebula.toml"
STATE_DIR = Path("/var/lib/nebula")  # StateDirectory=nebula
# Where LoadCredential= reads the secrets a `*_file` key names as $CREDENTIALS_DIRECTORY/ID.
CREDENTIALS_SOURCE = CONFIG_DIR / "credentials"
USER = "nebula"
# The comment useradd writes: `uninstall --purge` deletes only a user it finds with it, so
# an existing user named with --user is never removed.
USER_COMMENT = "Nebula Command agent"
WATCHDOG_SEC = 30
START_HINT = f"systemctl daemon-reload && systemctl enable --now {USER}"
# A `*_file` value such as "${CREDENTIALS_DIRECTORY}/pg_password" (a `:-fallback` allowed).
_CREDENTIAL = re.compile(r"^\$\{CREDENTIALS_DIRECTORY(?::-[^}]*)?\}/([A-Za-z0-9_.@-]+)$")


class ServiceError(Exception):
    """A step could not be done (its message says which and why)."""


@dataclass(frozen=True)
class ConfigFacts:
    """What the unit depends on in the config: read from the raw TOML, since the secrets
    its `${ENV}` and `*_file` keys name exist only in the service's own environment."""

    docker: bool = False
    credentials: tuple[str, ...] = ()
    data_dir: str | None = None

    @classmethod
    def read(cls, text: str | None) -> ConfigFacts:
        if text is None:
            return cls()
        raw = tomllib.loads(text)
        plugins = raw.get("plugins", {})
        docker = plugins.get("docker") if isinstance(plugins, dict) else None
        agent = raw.get("agent", {})
        data_dir = agent.get("data_dir") if isinstance(agent, dict) else None
        return cls(
            # A present section turns a plugin on unless it says enabled = false; docker
            # is off by default (its manifest), so no section means no docker group.
            docker=isinstance(docker, dict) and docker.get("enabled", True) is not False,
            credentials=tuple(sorted(set(_credential_ids(raw)))),
            data_dir=data_dir if isinstance(data_dir, str) else None)


def _credential_ids(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("_file") and isinstance(item, str):
                if found := _CREDENTIAL.match(item):
                    yield found.group(1)
            else:
                yield from _credential_ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from _credential_ids(item)


@dataclass(frozen=True)
class UnitSpec:
    exec_start: list[str]
    user: str = USER
    docker: bool = False
    credentials: Mapping[str, str] = field(default_factory=dict)  # ID -> source file
    writable: tuple[str, ...] = ()  # a data dir outside the state dir

    def render(self) -> str:
        command = " ".join(map(_unit_word, [*self.exec_start, "--config", str(CONFIG_FILE),
                                            "run"]))
        lines = [
            "# Written by `nebula service install`; `nebula service uninstall` removes it.",
            "# A reinstall rewrites it: put local changes in a drop-in (systemctl edit nebula).",
            "[Unit]",
            "Description=Nebula Command agent",
            "Wants=network-online.target",
            "After=network-online.target",
            "",
            "[Service]",
            # READY=1 once /healthz answers, WATCHDOG=1 at half of WatchdogSec (sdnotify).
            "Type=notify",
            "NotifyAccess=main",
            f"ExecStart={command}",
            "ExecReload=/bin/kill -HUP $MAINPID",
            f"WatchdogSec={WATCHDOG_SEC}s",
            "Restart=on-failure",
            "RestartSec=5s",
            f"User={self.user}",
            f"Group={self.user}",
            # The Docker engine's socket belongs to this group; only the docker plugin needs it.
            *(["SupplementaryGroups=docker"] if self.docker else []),
            "StateDirectory=nebula",
            "StateDirectoryMode=0700",
            "ConfigurationDirectory=nebula",
            "ConfigurationDirectoryMode=0700",
            f"WorkingDirectory={STATE_DIR}",
            *(f"LoadCredential={_unit_word(name)}:{_unit_word(source)}"
              for name, source in sorted(self.credentials.items())),
            *(f"ReadWritePaths={_unit_word(path)}" for path in self.writable),
            "UMask=0077",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            # read-only rather than yes: the system plugin's disk check must see a /home
            # mount's real size; file permissions still keep the user's files private.
            "ProtectHome=read-only",
            "PrivateTmp=yes",
            "PrivateDevices=yes",
            "PrivateMounts=yes",
            "ProtectKernelTunables=yes",
            "ProtectKernelModules=yes",
            "ProtectKernelLogs=yes",
            "ProtectControlGroups=yes",
            "ProtectClock=yes",
            "ProtectHostname=yes",
            "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
            "RestrictNamespaces=yes",
            "RestrictRealtime=yes",
            "RestrictSUIDSGID=yes",
            "LockPersonality=yes",
            "RemoveIPC=yes",
            "CapabilityBoundingSet=",
            "AmbientCapabilities=",
            "SystemCallArchitectures=native",
            # Not ~@resources too: glibc's getrlimit() is the prlimit64 syscall. No
            # MemoryDenyWriteExecute= or ProtectProc=invisible: libffi closures need W+X
            # pages on some builds, and the system plugin reads every process in /proc.
            "SystemCallFilter=@system-service",
            "SystemCallFilter=~@privileged",
            "SystemCallErrorNumber=EPERM",
            "",
            "[Install]",
            "WantedBy=multi-user.target",
        ]
        return "\n".join(lines) + "\n"


def _unit_word(word: str) -> str:
    """One word of a unit setting: `%` and `$` would be expanded by systemd, and spaces,
    quotes or backslashes need a quoted word."""
    word = word.replace("%", "%%").replace("$", "$$")
    if re.search(r"[\s\"'\\]", word):
        return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return word


def default_exec() -> list[str]:
    """The `nebula` of this installation (its venv's script, else the one on PATH), else
    this Python running the module."""
    beside = Path(sys.executable).parent / "nebula"
    if os.access(beside, os.X_OK):
        return [str(beside)]
    if found := shutil.which("nebula"):
        return [os.path.abspath(found)]
    return [sys.executable, "-m", "nebula"]


@dataclass
class Step:
    """One thing install or uninstall does, said as it is done (or would be)."""

    says: str
    do: Callable[[], None] | None = None  # None: a note, nothing to do


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unit: str | None = None

    def add(self, says: str, do: Callable[[], None] | None = None) -> None:
        self.steps.append(Step(says, do))


class Target:
    """The system being changed: `/`, or a staging root whose paths mirror it."""

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        self.live = self.root == Path("/")

    def path(self, path: Path) -> Path:
        return self.root / path.relative_to("/")

    def systemd_running(self) -> bool:
        """sd_booted(3): only the live system's service manager can be told anything."""
        return self.live and Path("/run/systemd/system").is_dir()

    def _db(self, name: str) -> list[list[str]]:
        try:
            text = self.path(Path("/etc") / name).read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [line.split(":") for line in text.splitlines() if line and line[0] != "#"]

    def user(self, name: str) -> tuple[int, int, str] | None:
        """(uid, gid, comment) of `name` in the target's user database."""
        if self.live:
            import pwd

            try:
                entry = pwd.getpwnam(name)
            except KeyError:
                return None
            return entry.pw_uid, entry.pw_gid, entry.pw_gecos
        for fields in self._db("passwd"):
            if len(fields) >= 5 and fields[0] == name:
                return int(fields[2]), int(fields[3]), fields[4]
        return None

    def has_group(self, name: str) -> bool:
        if self.live:
            import grp

            try:
                grp.getgrnam(name)
            except KeyError:
                return False
            return True
        return any(fields[0] == name for fields in self._db("group"))

    def can_add_users(self) -> bool:
        return self.live or self.path(Path("/etc/passwd")).is_file()

    def root_option(self) -> list[str]:
        return [] if self.live else ["--root", str(self.root)]


def run(*command: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ServiceError(f"{' '.join(command)} failed ({result.returncode}): "
                           f"{(result.stderr or result.stdout).strip()}")


def install_plan(target: Target, exec_start: list[str], user: str = USER,
                 credentials: Mapping[str, str] | None = None) -> Plan:
    plan = Plan()
    config = target.path(CONFIG_FILE)
    text = config.read_text(encoding="utf-8") if config.exists() else None
    try:
        facts = ConfigFacts.read(text)
    except tomllib.TOMLDecodeError as exc:
        raise ServiceError(f"{config} is not valid TOML: {exc}") from None
    loaded = {name: str(CREDENTIALS_SOURCE / name) for name in facts.credentials}
    loaded.update(credentials or {})
    writable: tuple[str, ...] = ()
    if facts.data_dir and not _within(Path(facts.data_dir), STATE_DIR):
        writable = (facts.data_dir,)
        plan.warnings.append(f"data_dir {facts.data_dir} is outside {STATE_DIR}: the unit "
                             f"makes it writable (ReadWritePaths=); it must belong to {user}")
    spec = UnitSpec(exec_start, user, facts.docker, loaded, writable)
    plan.unit = spec.render()
    if any(_within(Path(exec_start[0]), Path(home)) for home in ("/home", "/root")):
        plan.warnings.append(f"{exec_start[0]} is in a home directory, which {user} cannot "
                             "read: install nebula system-wide (see docs/service.md) or "
                             "pass --exec")
    if facts.docker and not target.has_group("docker"):
        plan.warnings.append("the docker plugin is enabled but there is no docker group: "
                             "systemd will not start the unit until it exists")
    for name, source in sorted(loaded.items()):
        if not target.path(Path(source)).is_file():
            plan.warnings.append(f"credential {name}: {source} does not exist yet (systemd "
                                 "will not start the unit without it)")

    owner = target.user(user)
    if owner is None and target.can_add_users():
        command = ["useradd", *target.root_option(), "--system", "--user-group",
                   "--home-dir", str(STATE_DIR), "--no-create-home",
                   "--shell", "/usr/sbin/nologin", "--comment", USER_COMMENT, user]
        plan.add(f"create the system user {user}: {' '.join(command)}",
                 lambda: run(*command))
    elif owner is None:
        plan.add(f"no {target.path(Path('/etc/passwd'))}: create the system user {user} "
                 "when the package is installed (useradd --system) and give it "
                 f"{CONFIG_FILE}")

    def owned() -> tuple[int, int] | None:
        found = target.user(user)
        return None if found is None else found[:2]

    unit_path = target.path(UNIT_PATH)
    plan.add(f"write {unit_path} (0644)", lambda: _write(unit_path, spec.render(), 0o644))
    # The user's, so it can edit its config (`sudo -u nebula nebula plugin enable ...`
    # replaces the file); the service itself cannot (ProtectSystem=strict).
    plan.add(f"make {config.parent} the user {user}'s (0700)",
             lambda: _own_dir(config.parent, owned()))
    if text is None:
        plan.add(f"write {config} from the example config, data in {STATE_DIR} "
                 f"(0600, owner {user})", lambda: _write_config(config, owned()))
    else:
        plan.add(f"keep {config} (made 0600, owner {user})",
                 lambda: _own(config, owned()))
    if target.systemd_running():
        plan.add("systemctl daemon-reload", lambda: run("systemctl", "daemon-reload"))
        plan.add(f"systemctl enable --now {UNIT}",
                 lambda: run("systemctl", "enable", "--now", UNIT))
    else:
        plan.add(f"systemd is not running here: on the target, run `{START_HINT}`")
    return plan


def uninstall_plan(target: Target, purge: bool = False) -> Plan:
    plan = Plan()
    unit_path = target.path(UNIT_PATH)
    user = _unit_user(unit_path) or USER
    if target.systemd_running() and unit_path.exists():
        plan.add(f"systemctl disable --now {UNIT}",
                 lambda: run("systemctl", "disable", "--now", UNIT))
    for path in (target.path(WANTS_LINK), unit_path):
        if path.is_symlink() or path.exists():
            plan.add(f"remove {path}", functools.partial(path.unlink, missing_ok=True))
    if not unit_path.exists():
        plan.add(f"{unit_path} is not there (not installed)")
    if target.systemd_running():
        plan.add("systemctl daemon-reload", lambda: run("systemctl", "daemon-reload"))
    else:
        plan.add(f"systemd is not running here: on the target, run `systemctl disable --now "
                 f"{UNIT}` first, then `systemctl daemon-reload`")
    kept = [target.path(CONFIG_DIR), target.path(STATE_DIR)]
    if not purge:
        plan.add(f"keep {' and '.join(map(str, kept))} (--purge removes them, and the "
                 f"user {user} if install created it)")
        return plan
    for path in kept:
        if path.exists():
            plan.add(f"remove {path} and all in it", functools.partial(shutil.rmtree, path))
    found = target.user(user)
    if found is not None and found[2] == USER_COMMENT:
        command = ["userdel", *target.root_option(), user]
        plan.add(f"delete the system user {user}: {' '.join(command)}", lambda: run(*command))
    elif found is not None:
        plan.add(f"keep the user {user}: nebula service install did not create it")
    return plan


def carry_out(plan: Plan, say: Callable[[str], None]) -> None:
    for step in plan.steps:
        if step.do is not None:
            try:
                step.do()
            except OSError as exc:
                raise ServiceError(f"could not {step.says}: {exc.strerror or exc}") from None
        say(step.says)


def _unit_user(unit_path: Path) -> str | None:
    try:
        text = unit_path.read_text(encoding="utf-8")
    except OSError:
        return None
    found = re.search(r"^User=(\S+)$", text, re.MULTILINE)
    return found.group(1) if found else None


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _write(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    write_private(path, text)
    path.chmod(mode)


def _write_config(path: Path, owner: tuple[int, int] | None) -> None:
    from nebula.bootstrap import config_text  # imports the store: only when writing

    _write(path, config_text(STATE_DIR), 0o600)
    _own(path, owner)


def _own_dir(path: Path, owner: tuple[int, int] | None) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    _own(path, owner, 0o700)


def _own(path: Path, owner: tuple[int, int] | None, mode: int = 0o600) -> None:
    """The service user must read its config (secrets in it, so nobody else may)."""
    path.chmod(mode)
    if owner is not None:
        os.chown(path, *owner)
