"""The Apprise channel: every service Apprise knows (Gotify, Telegram, Pushover, Matrix,
Slack, e-mail, JSON and form webhooks…), each named by one URL.

Apprise is synchronous (requests, smtplib), so a message goes out in a worker thread and
the event loop never waits on a service. The package is an optional extra: it is imported
with the first Apprise message, and a channel without it fails alone, saying which extra
to install. Each URL is sent on its own, so a failure names the URL it was (by its
position and service, never by the URL, which holds credentials), and Apprise's own words
for it (redacted) are the error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from nebula_notify.channels import DeliveryError
from nebula_notify.messages import Message

MISSING = "the apprise package is not installed: install nebula-command[apprise]"
# Our severities as Apprise's notification types (icons, colours, priorities per service).
TYPES = {"critical": "failure", "unknown": "failure", "warning": "warning", "ok": "success",
         "info": "info"}

Redact = Callable[[Any], Any]


class _Redacting(logging.Filter):
    """Apprise logs through the standard `apprise` logger; whatever reaches a handler
    (the agent's log) is redacted first, as the agent's own lines are."""

    def __init__(self, redact: Redact) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.redact(record.getMessage()), ()
        return True


_filtered: set[int] = set()


def _apprise(redact: Redact) -> Any:
    try:
        import apprise
    except ImportError:
        raise DeliveryError(MISSING, final=True) from None
    logger = logging.getLogger(apprise.LOGGER_NAME)
    if id(logger) not in _filtered:
        _filtered.add(id(logger))
        logger.addFilter(_Redacting(redact))
    return apprise


def private_values(urls: Iterable[str], redact: Redact) -> list[str]:
    """The parts of these URLs Apprise itself marks private (tokens, passwords, keys), for
    the agent's redaction: a service's error may quote one without the rest of the URL."""
    apprise = _apprise(redact)
    found = []
    for url in urls:
        plugin = apprise.Apprise.instantiate(url)
        if plugin is None:
            continue
        for key, meta in plugin.template_tokens.items():
            value = getattr(plugin, key, None) if meta.get("private") else None
            values = value if isinstance(value, list | tuple | set) else [value]
            found += [v for v in values if isinstance(v, str) and v]
    return found


def _service(plugin: Any, index: int) -> str:
    return f"URL {index + 1} ({getattr(plugin, 'service_name', None) or 'Apprise'})"


def _send_one(apprise: Any, url: str, index: int, message: Message,
              timeout: float) -> None:
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise DeliveryError(f"URL {index + 1} is not an Apprise URL Apprise can use",
                            final=True)
    plugin.socket_connect_timeout = plugin.socket_read_timeout = timeout
    notifier = apprise.Apprise()
    notifier.add(plugin)
    result = notifier.notify(body=message.body or message.title, title=message.title,
                             notify_type=TYPES.get(message.severity, "info"),
                             body_format="text", timeout=timeout * 2)
    if not result:
        said = [entry.message for entry in result.logs()
                if entry.level in ("WARNING", "ERROR", "CRITICAL")]
        raise DeliveryError(f"{_service(plugin, index)}: "
                            + ("; ".join(said[-2:]) or "not delivered"))


def _send_all(urls: list[str], message: Message, timeout: float, redact: Redact) -> None:
    apprise = _apprise(redact)
    errors = []
    for index, url in enumerate(urls):
        try:
            _send_one(apprise, url, index, message, timeout)
        except DeliveryError as exc:
            errors.append(exc)
    if errors:
        raise DeliveryError("; ".join(redact(str(e)) for e in errors),
                            final=all(e.final for e in errors))


async def send_apprise(channel: Mapping[str, Any], message: Message, timeout: float,
                       redact: Redact) -> None:
    """Every URL of the channel is told `message` (already redacted by the caller)."""
    # The thread is not interrupted if a service hangs past Apprise's own timeouts, but
    # the channel's worker stops waiting for it.
    limit = timeout * 2 * len(channel["urls"]) + 5
    try:
        await asyncio.wait_for(asyncio.to_thread(_send_all, list(channel["urls"]), message,
                                                 timeout, redact), limit)
    except asyncio.TimeoutError:
        raise DeliveryError(f"Apprise did not finish within {limit:g}s") from None
