"""The public plugin API: the only module a plugin imports from the core.

    from nebula.api import hookimpl, Manifest, Check, CheckResult, Status

Anything not re-exported here is internal and may change without notice. The API's version
is `PLUGIN_API_VERSION` ("major.minor"): a plugin declaring the same major and a minor no
newer than the core's is accepted; anything else is refused with a clear message.
"""

from __future__ import annotations

import pluggy

from nebula.context import HistoryReader, KeyValue, PluginContext
from nebula.contributions import (
    Action,
    Check,
    CheckResult,
    Field,
    Job,
    Manifest,
    Panel,
    ParamError,
    Sample,
    Span,
    Status,
    Subscription,
    Tool,
    Webhook,
    report_progress,
    reveal,
)
from nebula.roles import Principal, Role
from nebula.secret_store import SecretStore, SecretStoreError
from nebula.secrets import StreamRedactor
from nebula.surfaces import ADMIN, PUBLIC, VIEWER, Authenticator, Endpoint, SignedIn, WebPage
from nebula.units import Unit, human, plural

PLUGIN_API_VERSION = "1.2"

hookimpl = pluggy.HookimplMarker("nebula")

__all__ = [
    "ADMIN",
    "PLUGIN_API_VERSION",
    "PUBLIC",
    "VIEWER",
    "Action",
    "Authenticator",
    "Check",
    "CheckResult",
    "Endpoint",
    "Field",
    "HistoryReader",
    "Job",
    "KeyValue",
    "Manifest",
    "Panel",
    "ParamError",
    "PluginContext",
    "Principal",
    "Role",
    "Sample",
    "SecretStore",
    "SecretStoreError",
    "SignedIn",
    "Span",
    "Status",
    "StreamRedactor",
    "Subscription",
    "Tool",
    "Unit",
    "WebPage",
    "Webhook",
    "hookimpl",
    "human",
    "plural",
    "report_progress",
    "reveal",
]

# The app-watching toolkit left the contract in 1.2 for nebula.helpers: a plugin written for
# 1.1 that imports it from here is told where it went, not just "cannot import name".
_MOVED_IN_1_2 = {
    "AppMetric": "nebula.helpers.appspec.AppMetric",
    "AppSpec": "nebula.helpers.appspec.AppSpec",
    "appwatch_schema": "nebula.helpers.appspec.appwatch_schema",
    "AppWatch": "nebula.helpers.appwatch.AppWatch",
    "appwatch_hooks": "a hooks module whose nebula_startup returns "
                      "nebula.helpers.appwatch.AppWatch(ctx, spec)",
    # 1.2 reads the manifest without importing the plugin, so nothing needs forwarding.
    "lazy_hooks": "Manifest(hooks=\"<package>.hooks\", config_schema=...) in plugin.py and "
                  "real @hookimpl functions in that hooks module",
}


def __getattr__(name: str) -> object:
    if name in _MOVED_IN_1_2:
        raise ImportError(f"nebula.api.{name} moved out of nebula.api in plugin API 1.2: use "
                          f"{_MOVED_IN_1_2[name]} (docs/plugins.md)", name="nebula.api")
    raise AttributeError(f"module 'nebula.api' has no attribute {name!r}")
