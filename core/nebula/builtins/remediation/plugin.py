"""The remediation plugin's manifest: it claims `[[remediation]]`, one table per policy."""

from __future__ import annotations

from nebula.builtins.remediation.schema import SECTION_SCHEMA, check_policies
from nebula.manifests import BuiltinManifest

manifest = BuiltinManifest(
    api_version="1.2",
    description="Self-healing policies: run an action after a check fails N times in a row "
                "([[remediation]])",
    hooks="nebula.builtins.remediation.hooks",
    enabled_by_default=True,
    config_section="remediation",
    config_schema=SECTION_SCHEMA,
    config_check=check_policies,
)
