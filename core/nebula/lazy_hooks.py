"""Hooks whose bodies are imported on first use.

The manager imports every installed plugin to read its manifest, so a plugin that imports
a heavy SDK at module level costs the agent that memory even while disabled. Such a plugin
module declares its manifest and schema, then

    globals().update(lazy_hooks("nebula_docker.hooks", CONFIG_SCHEMA))

which defines one forwarding hook per hookspec; `nebula_docker.hooks` (holding the real,
undecorated hook functions) is imported only when one of them runs.
"""

from __future__ import annotations

import copy
import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import pluggy

from nebula import hookspecs

_hookimpl = pluggy.HookimplMarker("nebula")
# The hooks that take a context (not nebula_config_schema, nor the CLI's).
CONTEXT_HOOKS = sorted(
    n for n in vars(hookspecs) if n.startswith("nebula_")
    and "ctx" in inspect.signature(getattr(hookspecs, n)).parameters)


def lazy_hooks(
    module: str, config_schema: Mapping[str, Any]
) -> dict[str, Callable[..., Any]]:
    def forward(name: str) -> Callable[..., Any]:
        def call(ctx: Any) -> Any:
            target = getattr(importlib.import_module(module), name, None)
            if target is None:
                return None
            takes_ctx = "ctx" in inspect.signature(target).parameters
            return target(ctx) if takes_ctx else target()

        call.__name__ = call.__qualname__ = name
        return _hookimpl(call)

    def nebula_config_schema() -> Any:
        return copy.deepcopy(config_schema)

    hooks = {name: forward(name) for name in CONTEXT_HOOKS}
    hooks["nebula_config_schema"] = _hookimpl(nebula_config_schema)
    return hooks
