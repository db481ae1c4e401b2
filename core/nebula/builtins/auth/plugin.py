"""The auth plugin's manifest: it claims the `[auth]` section of nebula.toml (and the
sign-in keys older versions read in `[agent]`) and the addresses its pages had."""

from __future__ import annotations

from nebula.builtins.auth.schema import AUTH_SCHEMA, CLAIMED_PATHS, MOVED_AGENT_KEYS
from nebula.manifests import BuiltinManifest

manifest = BuiltinManifest(
    api_version="1.2",
    description="Web panel sign-in: users, sessions, TOTP with recovery codes and lockouts "
                "([auth])",
    hooks="nebula.builtins.auth.hooks",
    enabled_by_default=True,
    config_section="auth",
    config_schema=AUTH_SCHEMA,
    moved_agent_keys=MOVED_AGENT_KEYS,
    claimed_paths=CLAIMED_PATHS,
)
