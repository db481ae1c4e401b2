"""Maintenance windows, `[[maintenance]]` in nebula.toml (docs/maintenance.md)."""
