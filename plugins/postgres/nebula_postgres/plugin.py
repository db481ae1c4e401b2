"""Entry point of the postgres plugin: its manifest only.

The agent reads the manifest without importing the plugin's code; the hooks module it
names (and psycopg with it) is imported when the plugin first starts, so an installed but
disabled plugin costs the agent no memory.
"""

from nebula.api import Manifest
from nebula_postgres.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.2",
    description="PostgreSQL: health, provisioning of databases and roles, scheduled "
                "pg_dump backups with retention, and restores.",
    hooks="nebula_postgres.hooks",
    extra="postgres",  # its SDK: pyproject.toml's [project.optional-dependencies]
    config_schema=CONFIG_SCHEMA,
    enabled_by_default=False,
)
