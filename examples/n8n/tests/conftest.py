from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from fake_n8n import FakeN8n, workflow


@pytest.fixture
async def n8n() -> AsyncIterator[FakeN8n]:
    """A stand-in n8n on a loopback port with five workflows, two of them active."""
    fake = FakeN8n({w["id"]: w for w in (
        workflow("1", "Backup photos", True), workflow("2", "Invoice mailer", False),
        workflow("3", "Uptime to Discord", True), workflow("4", "RSS digest", False),
        workflow("5", "Lead import", False))})
    runner = web.AppRunner(fake.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    fake.url = f"http://{host}:{port}"
    yield fake
    if fake.hold is not None:
        fake.hold.set()  # a held request answers, so the server stops at once
    await runner.cleanup()
