"""Operations a person (or Jarvis) asks for: listings, cancelling or ending a backend,
VACUUM, and creating a database with its own role in one step (and dropping one so made)."""

from __future__ import annotations

import secrets
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from nebula_postgres import names, provision
from nebula_postgres.server import Server, one_row

DATABASES_SQL = """
SELECT d.datname AS name, r.rolname AS owner, pg_encoding_to_char(d.encoding) AS encoding,
       pg_database_size(d.oid) AS size_bytes, d.datconnlimit AS connection_limit,
       (SELECT count(*) FROM pg_stat_activity a WHERE a.datname = d.datname) AS connections
FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba
WHERE NOT d.datistemplate ORDER BY d.datname
"""
ROLES_SQL = """
SELECT rolname AS name, rolsuper AS superuser, rolcanlogin AS login,
       rolcreatedb AS createdb, rolcreaterole AS createrole, rolconnlimit AS connection_limit,
       rolvaliduntil::text AS valid_until,
       ARRAY(SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid
             WHERE m.member = r.oid ORDER BY 1) AS member_of
FROM pg_roles r WHERE rolname !~ '^pg_' ORDER BY rolname
"""
STATEMENTS_SQL = """
SELECT d.datname AS database, r.rolname AS user, left(s.query, 500) AS query, s.calls,
       round(s.total_exec_time::numeric, 3)::float AS total_ms,
       round(s.mean_exec_time::numeric, 3)::float AS mean_ms, s.rows
FROM pg_stat_statements s
LEFT JOIN pg_database d ON d.oid = s.dbid LEFT JOIN pg_roles r ON r.oid = s.userid
ORDER BY s.mean_exec_time DESC LIMIT %s
"""
PASSWORD_BYTES = 24


async def _all(server: Server, query: str, args: list[Any] | None = None
               ) -> list[dict[str, Any]]:
    async with server.pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(query, args)
        return await cur.fetchall()


async def databases(server: Server) -> list[dict[str, Any]]:
    return await _all(server, DATABASES_SQL)


async def roles(server: Server) -> list[dict[str, Any]]:
    return await _all(server, ROLES_SQL)


async def signal_backend(server: Server, pid: int, terminate: bool) -> dict[str, Any]:
    """pg_cancel_backend / pg_terminate_backend. Only a client backend qualifies, so a
    mistyped pid cannot reach the checkpointer, a WAL sender or autovacuum."""
    rows = await _all(server, "SELECT pid, usename, datname, state, left(query, 200) AS query "
                              "FROM pg_stat_activity WHERE pid = %s AND backend_type = "
                              "'client backend'", [pid])
    if not rows:
        raise ValueError(f"no client backend with pid {pid}")
    function = "pg_terminate_backend" if terminate else "pg_cancel_backend"
    done = await _all(server, f"SELECT {function}(%s) AS ok", [pid])
    return {"pid": pid, "signalled": bool(done[0]["ok"]),
            "action": "terminated" if terminate else "cancelled", "session": rows[0]}


async def vacuum(server: Server, database: str) -> dict[str, Any]:
    names.identifier(database, "database name")
    async with server.connect(database) as conn:
        before = await one_row(
            await conn.execute("SELECT pg_database_size(current_database())"))
        await conn.execute("VACUUM (ANALYZE)")
        after = await one_row(await conn.execute("SELECT pg_database_size(current_database())"))
    return {"database": database, "vacuumed": True, "size_bytes_before": before[0],
            "size_bytes_after": after[0]}


async def create_database(server: Server, name: str, owner: str | None) -> dict[str, Any]:
    """A database and its owning role with a generated password. The DSN is returned in
    this answer only: it is not stored, logged or registered anywhere."""
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    owner = owner or name
    declared = [{"name": name, "owner": owner, "password": password}]
    provision.specs(declared)  # refuses a bad name before anything is asked
    async with server.connect() as conn:
        cur = await conn.execute("SELECT (SELECT count(*) FROM pg_database WHERE datname = %s),"
                                 " (SELECT count(*) FROM pg_roles WHERE rolname = %s)",
                                 [name, owner])
        db_exists, role_exists = await one_row(cur)
    if db_exists or role_exists:
        raise ValueError(f"{'database ' + name if db_exists else 'role ' + owner} already "
                         "exists; this action only creates new ones")
    result = await provision.provision(server, declared)
    return {"database": name, "owner": owner, "dsn": server.dsn_for(owner, password, name),
            "created": result["plan"],
            "note": "Shown once: store this DSN now, the password is not kept anywhere."}


async def slow_queries(server: Server, limit: int) -> dict[str, Any]:
    async with server.pool.connection() as conn:
        cur = await conn.execute("SELECT 1 FROM pg_extension WHERE extname = "
                                 "'pg_stat_statements'")
        installed = await cur.fetchone() is not None
    if not installed:
        return {"available": False, "queries": [],
                "message": f"pg_stat_statements is not installed in database "
                           f"{server.dbname}: add it to shared_preload_libraries, restart, "
                           f"and run CREATE EXTENSION pg_stat_statements there."}
    try:
        rows = await _all(server, STATEMENTS_SQL, [limit])
    except psycopg.errors.ObjectNotInPrerequisiteState:
        return {"available": False, "queries": [],
                "message": "pg_stat_statements is installed but not loaded: add it to "
                           "shared_preload_libraries and restart the server."}
    return {"available": True, "queries": rows}


DROP_PLAN_SQL = """
SELECT r.rolname,
       (SELECT count(*) FROM pg_database o WHERE o.datdba = r.oid AND o.datname <> %s),
       r.rolsuper OR r.rolname = current_user
FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = %s
"""


async def drop_plan(server: Server, name: str) -> dict[str, Any]:
    """What dropping `name` takes with it: the database, and its owner role when it owns
    nothing else and is neither a superuser nor the plugin's own (as `create_database`
    makes them). LookupError when there is no such database."""
    names.identifier(name, "database name")
    async with server.connect() as conn:
        row = await (await conn.execute(DROP_PLAN_SQL, [name, name])).fetchone()
    if row is None:
        raise LookupError(f"no database {name}")
    owner, owns_others, protected = row
    return {"database": name, "owner": owner,
            "drop_owner": not owns_others and not protected}


async def drop_database(server: Server, plan: dict[str, Any]) -> dict[str, Any]:
    """Drop the planned database (its sessions ended) and, as planned, its owner role;
    refused when the owner changed since the plan."""
    now = await drop_plan(server, plan["database"])
    if now["owner"] != plan["owner"]:
        raise ValueError(f"database {plan['database']} is owned by {now['owner']} now, not "
                         f"{plan['owner']}: ask again")
    async with server.connect() as conn:
        await conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                           "datname = %s AND pid <> pg_backend_pid()", [plan["database"]])
        await conn.execute(sql.SQL("DROP DATABASE {}").format(
            sql.Identifier(plan["database"])))
        if plan["drop_owner"] and now["drop_owner"]:
            await conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(plan["owner"])))
    return {"database": plan["database"], "dropped": True,
            "owner_dropped": bool(plan["drop_owner"] and now["drop_owner"])}
