"""The public plugin API: the only module a plugin imports from the core.

    from nebula.api import hookimpl, Manifest, Check, CheckResult, Status

Anything not re-exported here is internal and may change without notice. The API's version
is `PLUGIN_API_VERSION` ("major.minor"): a plugin declaring the same major and a minor no
newer than the core's is accepted; anything else is refused with a clear message.
"""

from __future__ import annotations

import pluggy

from nebula.context import KeyValue, PluginContext
from nebula.contributions import (
    Action,
    Check,
    CheckResult,
    Field,
    Job,
    Manifest,
    Panel,
    ParamError,
    Status,
    Subscription,
    Tool,
    Webhook,
    reveal,
)
from nebula.lazy_hooks import lazy_hooks
from nebula.secret_store import SecretStore, SecretStoreError
from nebula.secrets import StreamRedactor

PLUGIN_API_VERSION = "1.2"

hookimpl = pluggy.HookimplMarker("nebula")

__all__ = [
    "PLUGIN_API_VERSION",
    "Action",
    "Check",
    "CheckResult",
    "Field",
    "Job",
    "KeyValue",
    "Manifest",
    "Panel",
    "ParamError",
    "PluginContext",
    "SecretStore",
    "SecretStoreError",
    "Status",
    "StreamRedactor",
    "Subscription",
    "Tool",
    "Webhook",
    "hookimpl",
    "lazy_hooks",
    "reveal",
]
