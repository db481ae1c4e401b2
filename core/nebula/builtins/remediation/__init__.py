"""Self-healing policies, `[[remediation]]` in nebula.toml (docs/remediation.md)."""
