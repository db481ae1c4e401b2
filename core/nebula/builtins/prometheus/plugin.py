"""The prometheus plugin's manifest: it serves `/metrics` (a path it claims, so scrape
configs written before it was a plugin keep working; docs/prometheus.md)."""

from __future__ import annotations

from nebula.manifests import BuiltinManifest

manifest = BuiltinManifest(
    api_version="1.2",
    description="Prometheus metrics of the checks, actions and plugins at /metrics",
    hooks="nebula.builtins.prometheus.hooks",
    enabled_by_default=True,
    claimed_paths=("metrics",),
)
