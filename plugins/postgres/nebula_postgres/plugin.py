"""Entry point of the postgres plugin: its manifest and config schema.

The hook bodies (and the SDKs they need) live in `nebula_postgres.hooks`, imported only when a
hook runs, so a disabled plugin costs the agent no memory (see nebula.api.lazy_hooks).
"""

from nebula.api import Manifest, lazy_hooks
from nebula_postgres.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.0",
    description="PostgreSQL: health, provisioning of databases and roles, scheduled "
                "pg_dump backups with retention, and restores.",
)

globals().update(lazy_hooks("nebula_postgres.hooks", CONFIG_SCHEMA))
