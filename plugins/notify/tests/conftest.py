"""Fixtures for the notify tests: the four stand-in services on loopback, and the notify
plugin in a real agent next to a plugin whose check status the test sets."""

from __future__ import annotations

import itertools
import secrets
import ssl
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from notify_agent import SMTP_USER, Services, Started
from notify_servers import Discord, Mailbox, Ntfy, Webhook, smtp_server

from nebula.api import Status
from nebula.config import load
from nebula.testing import run_agent
from nebula_notify import plugin
from tests.loopback import serving
from tests.remediation_helpers import Fixable, policy_config


@pytest.fixture(scope="session")
def smtp_password() -> str:
    return f"smtp-{secrets.token_hex(10)}"


@pytest.fixture(scope="session")
def smtp_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path]:
    ca = trustme.CA()
    path = tmp_path_factory.mktemp("notify-ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, path


@pytest.fixture(scope="session")
def mail_server(smtp_password: str, smtp_ca: tuple[trustme.CA, Path]
                ) -> Iterator[tuple[Mailbox, int]]:
    """STARTTLS required, then AUTH: as a submission server (port 587) behaves."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    smtp_ca[0].issue_cert("127.0.0.1").configure_cert(context)
    with smtp_server(SMTP_USER, smtp_password, tls=context) as server:
        yield server


@pytest.fixture
async def services(mail_server: tuple[Mailbox, int], smtp_password: str,
                   smtp_ca: tuple[trustme.CA, Path]) -> AsyncIterator[Services]:
    mail, port = mail_server
    mail.messages.clear()
    ntfy = Ntfy()
    ntfy.token = f"tk_{secrets.token_hex(12)}"
    found = Services(Discord(), ntfy, Webhook(), mail, port, smtp_ca[1], ntfy.token,
                     f"whsec-{secrets.token_hex(10)}", smtp_password)
    async with serving(found.discord.app()) as d, serving(found.ntfy.app()) as n, \
            serving(found.webhook.app()) as w:
        found.discord.base, found.ntfy.base, found.webhook.base = d, n, w
        yield found


@pytest.fixture
def switch_token() -> str:
    """The watched plugin's api_token: a secret the agent knows from config."""
    return f"switch-{secrets.token_hex(10)}"


@pytest.fixture
def start_notify(services: Services, switch_token: str, tmp_path: Path) -> Callable[..., Any]:
    """`async with start_notify(channels=[...], policies=[...], **notify_keys) as (agent,
    switch):`; channels default to all four services, policies to none. Each start has a
    fresh data dir (a new host) unless given one (the same host started again)."""
    starts = itertools.count()

    def start(channels: list[dict[str, Any]] | None = None, schedule: bool = True,
              policies: list[dict[str, Any]] | None = None, first: Status = Status.OK,
              data_dir: Path | None = None, **notify: Any) -> Any:
        switch = Fixable()
        n = next(starts)
        path = policy_config(tmp_path / f"nebula{n}.toml", policies or [], plugins={
            "notify": {"channels": channels or list(services.channels().values()),
                       "timeout": 3, "retries": 0, **notify},
            "switchable": {"api_token": switch_token}},
            agent={"data_dir": str(data_dir or tmp_path / f"data{n}")})
        return Started(run_agent(load(path), {"notify": plugin, "switchable": switch},
                                  schedule=schedule), switch, first)

    return start
