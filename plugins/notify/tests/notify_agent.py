"""The notify tests' agent: the four stand-in services a test's channels point at, and
the notify plugin started in a real agent next to a plugin whose check status the test
sets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from notify_servers import Discord, Mailbox, Ntfy, Webhook

from nebula.api import Status
from tests.remediation_helpers import Fixable

SMTP_USER = "nebula@example.test"


@dataclass
class Services:
    discord: Discord
    ntfy: Ntfy
    webhook: Webhook
    mail: Mailbox
    smtp_port: int
    smtp_ca: Path
    # Each a secret the agent must never put in a message body.
    ntfy_token: str
    webhook_secret: str
    smtp_password: str

    def channels(self) -> dict[str, dict[str, Any]]:
        """One channel per service, by name; tests narrow them with overrides."""
        return {
            "discord": {"name": "discord", "type": "discord", "url": self.discord.url,
                        "username": "Nebula"},
            "ntfy": {"name": "ntfy", "type": "ntfy", "server": self.ntfy.base,
                     "topic": "nebula-alerts", "token": self.ntfy_token},
            "hook": {"name": "hook", "type": "webhook", "url": f"{self.webhook.base}/hook",
                     "secret": self.webhook_secret},
            "mail": {"name": "mail", "type": "email", "host": "127.0.0.1",
                     "port": self.smtp_port, "security": "starttls",
                     "ca_bundle": str(self.smtp_ca), "username": SMTP_USER,
                     "password": self.smtp_password, "sender": "nebula@example.test",
                     "to": ["owner@example.test"]},
        }

    def everything(self) -> str:
        return "".join(s.raw() for s in (self.discord, self.ntfy, self.webhook, self.mail))

    def counts(self) -> tuple[int, int, int, int]:
        return (len(self.discord.messages), len(self.ntfy.messages),
                len(self.webhook.messages), len(self.mail.messages))


class Started:
    """`async with Started(run_agent(...), switch, first) as (agent, switch):` the agent
    with the watched check's first result already in."""

    def __init__(self, manager: Any, switch: Fixable, first: Status) -> None:
        self.manager, self.switch, self.first = manager, switch, first

    async def __aenter__(self) -> tuple[Any, Fixable]:
        agent = await self.manager.__aenter__()
        # The check's first result: the state every test starts from.
        await force(agent, self.switch, self.first)
        return agent, self.switch

    async def __aexit__(self, *exc: Any) -> None:
        await self.manager.__aexit__(*exc)


async def force(agent: Any, switch: Fixable, status: Status) -> None:
    """The watched check reports `status` (the state moves at once: flap threshold 1)."""
    switch.status = status
    code, body = await agent.post("/api/v1/checks/run", {"names": ["switchable.switch"]})
    assert code == 200 and body["checks"][0]["status"] == status.value, body
