"""structlog set-up: readable on a TTY, JSON lines otherwise, secrets always redacted."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from nebula.secrets import SECRETS


def _redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    return SECRETS.redact(dict(event))


def configure(log_format: str = "auto", level: str = "info") -> None:
    """`log_format` is "console", "json", or "auto" (console on a TTY, JSON otherwise)."""
    use_console = log_format == "console" or (log_format == "auto" and sys.stderr.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=True)
        if use_console
        else structlog.processors.JSONRenderer()
    )
    stamp = structlog.processors.TimeStamper(fmt="iso", utc=True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            stamp,
            structlog.processors.format_exc_info,
            _redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        # sys.stderr as it is when a line is written: click's test runner and pytest swap it.
        logger_factory=lambda *_: structlog.PrintLogger(sys.stderr),
        cache_logger_on_first_use=False,
    )
    _route_stdlib(renderer, stamp, getattr(logging, level.upper()))


class _StdlibHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The one root handler `configure` owns (calling it again replaces it); it writes to
    sys.stderr as it is at the time, like our own loggers."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def _route_stdlib(renderer: Any, stamp: Any, level: int) -> None:
    """Records from the standard `logging` module (aiohttp, asyncio, the SDKs plugins use)
    get the same format and the same redaction as our own; without this they would reach
    stderr through logging's last-resort handler, secrets and all."""
    handler = _StdlibHandler()
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_log_level, structlog.stdlib.add_logger_name,
                           stamp],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, _redact, renderer],
    ))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StdlibHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    # Libraries are chatty below warning, and their debug lines (request headers) are the
    # likeliest to carry credentials.
    root.setLevel(max(level, logging.WARNING))


def get_logger(**bound: Any) -> Any:
    """A lazy logger: it takes the configuration in force when it first logs, so module
    level loggers created at import still honour `configure` called later."""
    return structlog.get_logger(**bound)
