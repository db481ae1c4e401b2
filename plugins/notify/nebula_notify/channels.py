"""How it is said, per service: Discord webhook, ntfy, a JSON webhook and SMTP e-mail.

Each sender delivers one Message or raises DeliveryError. Texts have been redacted by the
caller. Retries (and waiting out a 429) happen in `deliver`, shared by the HTTP senders.
"""

from __future__ import annotations

import asyncio
import base64
import smtplib
import ssl
from collections.abc import Awaitable, Callable, Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from nebula.helpers.net import HTTPFailure, classified
from nebula_notify.messages import Message

MAX_RETRY_AFTER = 60.0
NTFY_PRIORITY = {"critical": "5", "unknown": "4", "warning": "4", "ok": "3", "info": "3"}
NTFY_TAGS = {"critical": "rotating_light", "unknown": "grey_question", "warning": "warning",
             "ok": "white_check_mark", "info": "information_source"}
SMTP_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


class DeliveryError(Exception):
    """A delivery failed; `retry_after` is set when the service asked us to wait."""

    def __init__(self, message: str, retry_after: float | None = None,
                 final: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.final = final  # retrying cannot help (a 4xx other than 429)


def _header_text(text: str) -> str:
    """HTTP headers are Latin-1; ntfy reads RFC 2047 encoded words for anything else."""
    if text.isascii():
        return text.replace("\n", " ")
    return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="


async def _retry_after(resp: aiohttp.ClientResponse) -> float:
    seconds: Any = None
    try:
        body = await resp.json(content_type=None)
        seconds = body.get("retry_after") if isinstance(body, dict) else None
    except (ValueError, aiohttp.ClientError):
        pass
    if seconds is None:
        seconds = resp.headers.get("Retry-After")
    try:
        return min(max(float(seconds), 0.0), MAX_RETRY_AFTER)
    except (TypeError, ValueError):
        return 1.0


def _origin(url: str) -> str:
    """Scheme, host and port: a failure names the service without the path, where a
    Discord webhook keeps its token."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], "", "", ""))


async def _post(session: aiohttp.ClientSession, url: str, timeout: float, service: str,
                **kwargs: Any) -> None:
    try:
        with classified(_origin(url), service=service, timeout=timeout):
            async with session.post(url, timeout=aiohttp.ClientTimeout(total=timeout),
                                    **kwargs) as resp:
                if resp.status == 429:
                    raise DeliveryError("rate limited (429)", await _retry_after(resp))
                if resp.status >= 400:
                    text = (await resp.text())[:200]
                    raise DeliveryError(f"HTTP {resp.status}: {text}".rstrip(": "),
                                        final=resp.status < 500)
    except HTTPFailure as exc:  # no answer: refused, unresolvable, timed out, TLS...
        raise DeliveryError(str(exc)) from None


async def send_discord(session: aiohttp.ClientSession, channel: Mapping[str, Any],
                       message: Message, timeout: float) -> None:
    payload: dict[str, Any] = {"content": f"**{message.title}**\n{message.body}".strip(),
                               "allowed_mentions": {"parse": []}}
    if channel.get("username"):
        payload["username"] = channel["username"]
    await _post(session, channel["url"], timeout, "Discord", json=payload)


async def send_ntfy(session: aiohttp.ClientSession, channel: Mapping[str, Any],
                    message: Message, timeout: float) -> None:
    headers = {"Title": _header_text(message.title),
               "Priority": NTFY_PRIORITY[message.severity],
               "Tags": NTFY_TAGS[message.severity]}
    if channel.get("token"):
        headers["Authorization"] = f"Bearer {channel['token']}"
    url = f"{channel['server'].rstrip('/')}/{channel['topic']}"
    await _post(session, url, timeout, "ntfy", data=message.body.encode(),
                headers=headers)


async def send_webhook(session: aiohttp.ClientSession, channel: Mapping[str, Any],
                       message: Message, timeout: float) -> None:
    headers = {}
    if channel.get("secret"):
        headers[channel["secret_header"]] = channel["secret"]
    payload = {"title": message.title, "message": message.body, "severity": message.severity,
               "kind": message.kind, "topic": message.topic, "subject": message.subject,
               "ts": message.ts, "data": dict(message.data)}
    await _post(session, channel["url"], timeout, "the webhook", json=payload,
                headers=headers)


def _mail(channel: Mapping[str, Any], message: Message) -> EmailMessage:
    mail = EmailMessage()
    mail["Subject"] = f"[nebula] {message.title}"
    mail["From"] = channel["sender"]
    mail["To"] = ", ".join(channel["to"])
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = make_msgid(domain="nebula.local")
    mail["X-Nebula-Severity"] = message.severity
    mail.set_content(message.body or message.title)
    return mail


def _smtp_send(channel: Mapping[str, Any], mail: EmailMessage, timeout: float) -> None:
    security = channel["security"]
    host, port = channel["host"], channel.get("port") or SMTP_PORTS[security]
    context = ssl.create_default_context(cafile=channel.get("ca_bundle"))
    smtp: smtplib.SMTP
    if security == "ssl":
        smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    with smtp:
        if security == "starttls":
            smtp.starttls(context=context)
        if channel.get("username"):
            smtp.login(channel["username"], channel.get("password", ""))
        smtp.send_message(mail)


async def send_email(_session: aiohttp.ClientSession, channel: Mapping[str, Any],
                     message: Message, timeout: float) -> None:
    try:
        # smtplib blocks; aiosmtplib is not a dependency.
        await asyncio.to_thread(_smtp_send, channel, _mail(channel, message), timeout)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"SMTP login refused ({exc.smtp_code})", final=True) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from None


Sender = Callable[[aiohttp.ClientSession, Mapping[str, Any], Message, float], Awaitable[None]]
# The native senders; an Apprise channel's is the runtime's (bound to its redaction).
SENDERS: dict[str, Sender] = {"discord": send_discord, "ntfy": send_ntfy,
                              "webhook": send_webhook, "email": send_email}


async def deliver(session: aiohttp.ClientSession, channel: Mapping[str, Any],
                  message: Message, timeout: float, retries: int,
                  send: Sender | None = None) -> int:
    """Send with retries (backing off, or as long as a 429 asks) by `send`, default the
    channel type's sender; returns the attempts."""
    send = send or SENDERS[channel["type"]]
    for attempt in range(retries + 1):
        try:
            await send(session, channel, message, timeout)
            return attempt + 1
        except DeliveryError as exc:
            if exc.final or attempt == retries:
                raise
            await asyncio.sleep(exc.retry_after if exc.retry_after is not None
                                else 0.5 * 2 ** attempt)
    raise AssertionError("unreachable")
