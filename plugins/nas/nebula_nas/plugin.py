"""Entry point of the nas plugin: its manifest only (smbprotocol is imported by the first
SMB call to a NAS that answers)."""

from nebula.api import Manifest
from nebula_nas.schema import CONFIG_SCHEMA

manifest = Manifest(
    api_version="1.2",
    description="A NAS over SMB2/3: shares reachable and authenticated, free space, probe "
                "latency; CIFS/NFS mounts present and not stale; verified backup copies of "
                "postgres dumps and `nebula backup` archives with retention; remount, "
                "backup now.",
    hooks="nebula_nas.hooks",
    config_schema=CONFIG_SCHEMA,
    enabled_by_default=False,
    extra="nas",
)
