"""Databases and roles declared in config: a plan of what differs, then applying it.

The plan is computed and applied while holding a session-level advisory lock, so two
runs at once (two agents, an action and a retry) take turns, and the second one finds
nothing left to do. Every name is validated (names.py) and quoted (psycopg.sql).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from nebula_postgres import names, scram
from nebula_postgres.schema import PRIVILEGES
from nebula_postgres.server import Server

# pg_advisory_lock key of provisioning runs: "nebula" in ASCII.
LOCK_KEY = 0x6E6562756C61
LOCK_WAIT = "60s"


class PlanError(ValueError):
    """The declared state cannot be reached (an unknown role, a missing extension...)."""


@dataclass(frozen=True)
class DatabaseSpec:
    name: str
    owner: str
    password: str | None = None
    extensions: tuple[str, ...] = ()
    grants: tuple[tuple[str, tuple[str, ...]], ...] = ()


def specs(declared: Iterable[Mapping[str, Any]]) -> list[DatabaseSpec]:
    """The declared databases, every name validated; raises InvalidName or PlanError."""
    out: list[DatabaseSpec] = []
    passwords: dict[str, str | None] = {}
    for entry in declared:
        name = names.identifier(entry["name"], "database name")
        owner = names.identifier(entry.get("owner") or name, "role name")
        password = entry.get("password") or None
        if owner in passwords and password and passwords[owner] not in (None, password):
            raise PlanError(f"role {owner} is declared with two different passwords")
        passwords[owner] = passwords.get(owner) or password
        grants = tuple((names.identifier(g["role"], "role name"), _privileges(g["privileges"]))
                       for g in entry.get("grants", ()))
        out.append(DatabaseSpec(name, owner, password,
                                tuple(names.extension(e) for e in entry.get("extensions", ())),
                                grants))
    if len({s.name for s in out}) < len(out):
        raise PlanError("a database is declared twice")
    return out


def _privileges(privileges: Iterable[str]) -> tuple[str, ...]:
    # They are spliced into GRANT as keywords, so only known ones pass.
    if unknown := [p for p in privileges if p not in PRIVILEGES]:
        raise PlanError(f"unknown database privilege {', '.join(map(repr, unknown))}; "
                        f"use {', '.join(PRIVILEGES)}")
    return tuple(privileges)


@dataclass(frozen=True)
class Step:
    kind: str
    target: str
    detail: str
    statement: sql.Composed
    database: str | None = None  # run there; None: the maintenance database

    def public(self) -> dict[str, str]:
        return {"kind": self.kind, "target": self.target, "detail": self.detail}


async def plan(conn: psycopg.AsyncConnection, wanted: list[DatabaseSpec],
               server: Server) -> list[Step]:
    owners: dict[str, str | None] = {}
    for spec in wanted:
        owners[spec.owner] = owners.get(spec.owner) or spec.password
    granted_roles = {role for spec in wanted for role, _ in spec.grants}
    roles = await _rows(conn, "SELECT rolname, rolcanlogin, rolpassword FROM pg_authid "
                              "WHERE rolname = ANY(%s)", [list(owners) + list(granted_roles)])
    existing_roles = {r[0]: r for r in roles}
    databases = dict(await _rows(
        conn, "SELECT d.datname, r.rolname FROM pg_database d JOIN pg_roles r "
              "ON r.oid = d.datdba WHERE d.datname = ANY(%s)", [[s.name for s in wanted]]))
    available = {r[0] for r in await _rows(conn, "SELECT name FROM pg_available_extensions")}

    steps: list[Step] = []
    for role, password in owners.items():
        steps += _role_steps(role, password, existing_roles.get(role))
    if unknown := sorted(granted_roles - set(owners) - set(existing_roles)):
        raise PlanError(f"grant to role {', '.join(unknown)}, which neither exists nor is "
                        "declared as an owner")
    for spec in wanted:
        ident = sql.Identifier(spec.name)
        owner = databases.get(spec.name)
        if owner is None:
            steps.append(Step("create_database", spec.name, f"owner {spec.owner}",
                              sql.SQL("CREATE DATABASE {} OWNER {}").format(
                                  ident, sql.Identifier(spec.owner))))
        elif owner != spec.owner:
            steps.append(Step("set_owner", spec.name, f"owner {owner} -> {spec.owner}",
                              sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                                  ident, sql.Identifier(spec.owner))))
        for role, privileges in spec.grants:
            missing = privileges if owner is None or role not in existing_roles else [
                p for p in privileges if not await _has_privilege(conn, role, spec.name, p)]
            if missing:
                steps.append(Step("grant", spec.name, f"{', '.join(missing)} to {role}",
                                  sql.SQL("GRANT {} ON DATABASE {} TO {}").format(
                                      sql.SQL(", ").join(map(sql.SQL, missing)), ident,
                                      sql.Identifier(role))))
        if unknown := [e for e in spec.extensions if e not in available]:
            raise PlanError(f"extension {', '.join(unknown)} (for {spec.name}) is not "
                            "installed on the server")
        present: set[str] = set()
        if owner is not None and spec.extensions:
            async with server.connect(spec.name) as db:
                present = {r[0] for r in await _rows(db, "SELECT extname FROM pg_extension")}
        for extension in spec.extensions:
            if extension not in present:
                steps.append(Step("create_extension", spec.name, extension,
                                  sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(
                                      sql.Identifier(extension)), database=spec.name))
    return steps


def _role_steps(role: str, password: str | None,
                row: tuple[Any, ...] | None) -> list[Step]:
    ident = sql.Identifier(role)
    if row is None:
        statement = sql.SQL("CREATE ROLE {} LOGIN").format(ident)
        if password:
            statement = sql.SQL("{} PASSWORD {}").format(statement,
                                                        sql.Literal(scram.verifier(password)))
        detail = "LOGIN" + (" with password" if password else " without password")
        return [Step("create_role", role, detail, statement)]
    steps = []
    _, can_login, stored = row
    if not can_login:
        steps.append(Step("set_login", role, "LOGIN", sql.SQL("ALTER ROLE {} LOGIN").format(
            ident)))
    if password and not scram.matches(password, stored):
        steps.append(Step("set_password", role, "password changed",
                          sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                              ident, sql.Literal(scram.verifier(password)))))
    return steps


async def _rows(conn: psycopg.AsyncConnection, query: str,
                args: list[Any] | None = None) -> list[tuple[Any, ...]]:
    cur = await conn.execute(query, args)
    return await cur.fetchall()


async def _has_privilege(conn: psycopg.AsyncConnection, role: str, database: str,
                         privilege: str) -> bool:
    rows = await _rows(conn, "SELECT has_database_privilege(%s, %s, %s)",
                       [role, database, privilege])
    return bool(rows[0][0])


async def apply(conn: psycopg.AsyncConnection, steps: list[Step], server: Server) -> None:
    for step in steps:
        if step.database is None:
            await conn.execute(step.statement)
        else:
            async with server.connect(step.database) as db:
                await db.execute(step.statement)


async def provision(server: Server, declared: Iterable[Mapping[str, Any]],
                    dry_run: bool = False) -> dict[str, Any]:
    wanted = specs(declared)
    async with server.connect() as conn:
        if dry_run:
            steps = await plan(conn, wanted, server)
            return {"plan": [s.public() for s in steps], "applied": False,
                    "changed": 0}
        await conn.execute(f"SET lock_timeout = '{LOCK_WAIT}'")
        try:
            await conn.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        except psycopg.errors.LockNotAvailable:
            raise PlanError(f"another provisioning run held the lock for {LOCK_WAIT}; "
                            "try again later") from None
        try:
            steps = await plan(conn, wanted, server)
            await apply(conn, steps, server)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
    return {"plan": [s.public() for s in steps], "applied": True, "changed": len(steps)}
