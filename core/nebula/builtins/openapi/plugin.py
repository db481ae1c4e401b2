"""The openapi plugin's manifest: it serves `/api/v1/openapi.json` (a path it claims, so
the document stays where clients and generators look for it)."""

from __future__ import annotations

from nebula.manifests import BuiltinManifest

manifest = BuiltinManifest(
    api_version="1.2",
    description="The OpenAPI 3.1 document of every route the agent serves "
                "(/api/v1/openapi.json)",
    hooks="nebula.builtins.openapi.hooks",
    enabled_by_default=True,
    claimed_paths=("openapi.json",),
)
