"""The postgres plugin's real dumps (pg_dump against the session's throwaway cluster) copied
to a real Samba share by nas.backup_now, found through the postgres plugin's own backup_dir
(peer config), and restorable from the copy read back off the share."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from nas_samba import Samba
from nas_support import fresh_check, smb_get

import nebula_postgres.plugin
from nebula_nas import plugin as nas_plugin
from tests.engines import postgres_fixtures
from tests.engines.postgres import Cluster, server_bin_dir

pytestmark = pytest.mark.e2e
cluster = postgres_fixtures.cluster


def _toc(dump: Path) -> str:
    """pg_restore's table of contents of a dump: it reads only a whole, valid archive."""
    return subprocess.run([str(server_bin_dir() / "pg_restore"), "--list", str(dump)],
                          check=True, capture_output=True, text=True).stdout


async def test_postgres_dumps_reach_the_share_and_restore_from_there(
        nebula_agent, nas_config, cluster: Cluster, samba: Samba, tmp_path: Path) -> None:
    database = "nas_copy_db"
    cluster.execute(f"DROP DATABASE IF EXISTS {database}")
    cluster.execute(f"CREATE DATABASE {database}")
    cluster.execute("CREATE TABLE films AS SELECT g AS id, md5(g::text) AS title "
                    "FROM generate_series(1, 5000) g", database)
    dumps = tmp_path / "pg-backups"
    config = {"postgres": cluster.config(backup_dir=str(dumps),
                                         backup_databases=[database]),
              "nas": nas_config(backup={"share": "backup"})}
    try:
        async with nebula_agent({"postgres": nebula_postgres.plugin, "nas": nas_plugin},
                                config=config, schedule=False) as agent:
            made = await agent.run_action("postgres.backup", {"database": database})
            assert made["status"] == "ok", made
            [dump] = sorted((dumps / database).glob("*.dump"))

            copied = await agent.run_action("nas.backup_now")
            assert copied["status"] == "ok", copied
            assert copied["result"]["copied"] == [f"postgres/{database}/{dump.name}"]
            assert (await fresh_check(agent, "nas.backups"))["last_status"] == "ok"

        back = tmp_path / "from-share.dump"
        smb_get(samba, "backup", f"nebula-backups/postgres/{database}/{dump.name}", back)
        assert "TABLE public films" in _toc(back)
    finally:
        cluster.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
