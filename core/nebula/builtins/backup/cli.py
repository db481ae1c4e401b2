"""backup, restore: Nebula's own state (store, secret key, config) in one archive.

Both work on the files of the config in effect (its data dir), not through the agent: a
backup copies the store with SQLite's backup API, which is safe while the agent writes, and
a restore refuses while an agent holds the data dir's lock (docs/backup.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from nebula.cli.common import State, json_option, output, pass_state


@click.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@json_option
@pass_state
def backup(state: State, file: Path | None, as_json: bool) -> None:
    """Write the store, the secret key and the config to FILE (a .tar.gz, mode 0600;
    default: nebula-backup-<UTC time>.tar.gz here). Safe while the agent runs."""
    from nebula.builtins.backup.archive import BackupError, default_name, write_backup

    _sqlite_only(state, "backup")
    target = file or Path(default_name())
    try:
        manifest = write_backup(state.agent_settings.data_dir, state.config_path, target)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    data = {"archive": str(target.absolute()), **manifest}
    output(data, as_json, lambda d: click.echo(
        f"Wrote {d['archive']}: {', '.join(d['members'])} from {d['data_dir']} (schema "
        f"{d['schema_version']}). It holds the key to the store's secrets: keep it as "
        "private as the data dir."))


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--with-config", is_flag=True,
              help="Restore the archived config too (over the config in effect, else where "
                   "it was backed up from), and the data dir it names.")
@json_option
@pass_state
def restore(state: State, file: Path, with_config: bool, as_json: bool) -> None:
    """Restore a backup made by `nebula backup` into the data dir (the old one kept aside as
    <data_dir>.before-restore-<time>). The archive is checked whole first; an agent
    running on the data dir must be stopped."""
    from nebula.builtins.backup.archive import CONFIG, BackupError, install, verified
    from nebula.runtime import AlreadyRunning, data_dir_lock

    _sqlite_only(state, "restore")
    try:
        with verified(file) as archive:
            config = None
            data_dir = state.agent_settings.data_dir
            if with_config:
                config, data_dir = _config_target(state, archive.path(CONFIG),
                                                  archive.manifest.get("config"))
            restored = install(archive, data_dir, config, data_dir_lock)
            manifest = archive.manifest
    except (BackupError, AlreadyRunning) as exc:
        raise click.ClickException(f"{exc}; stop it first" if isinstance(
            exc, AlreadyRunning) else str(exc)) from None
    data = {"archive": str(file.absolute()), "nebula_version": manifest["nebula_version"],
            "schema_version": manifest["schema_version"], "created": manifest["created"],
            **{key: None if value is None else str(value)
               for key, value in vars(restored).items()}}
    output(data, as_json, _said)


def _sqlite_only(state: State, verb: str) -> None:
    """A store on PostgreSQL is the server's to back up: these commands copy files."""
    from nebula.store.db import is_postgres

    if is_postgres(str(state.agent_settings.agent.get("store") or "")):
        raise click.ClickException(
            f"nebula {verb} copies a SQLite store file, and [agent] store is on PostgreSQL: "
            "back it up with pg_dump (pg_dump -Fc DBNAME > nebula.dump; pg_restore to "
            "restore) and keep secret.key and the config from the data dir with it")


def _config_target(state: State, staged: Path | None,
                   backed_up_from: str | None) -> tuple[Path, Path]:
    """Where --with-config writes the config, and the data dir that config names."""
    from nebula.config import read

    if staged is None:
        raise click.ClickException("the archive holds no config (none was in effect when "
                                   "it was made); restore without --with-config")
    target = state.config_path or (Path(backed_up_from) if backed_up_from else None)
    if target is None:
        raise click.ClickException("say where to write the config: nebula --config PATH "
                                   "restore --with-config ...")
    archived, problems = read(staged, agent_only=True)
    if archived is None or problems:
        raise click.ClickException(f"the archived config cannot be read: {problems[0]}")
    return target, archived.data_dir


def _said(d: dict[str, Any]) -> None:
    click.echo(f"Restored {d['archive']} (Nebula {d['nebula_version']}, schema "
               f"{d['schema_version']}, made {d['created']}) into {d['data_dir']}.")
    if d["data_aside"]:
        click.echo(f"The previous data dir is kept as {d['data_aside']}.")
    if d["config"]:
        click.echo(f"Config written to {d['config']}"
                   + (f" (the previous one kept as {d['config_aside']})."
                      if d["config_aside"] else "."))
