"""Webhooks are open to the network, so they are rate-limited: wrong secrets per address
(strictly), calls per address and calls per webhook, each answered with a 429 problem."""

from __future__ import annotations

import asyncio

from nebula.http.webhooks import WEBHOOKS, Limits
from tests.sample_plugins import Switchable
from tests.web.showcase import WEBHOOK_SECRET, Showcase

PROXY = {"trusted_proxies": ["127.0.0.1/32"]}
URL = "/plugins/showcase/hooks/ping"


async def call(a, secret, client="203.0.113.7"):
    """POST the webhook as `client` (through the trusted proxy on loopback)."""
    headers = {"X-Webhook-Secret": secret, "X-Forwarded-For": client}
    async with a.session.post(a.url + URL, json={"n": 1}, headers=headers) as resp:
        return resp.status, resp.headers, await resp.json()


async def test_wrong_secrets_lock_out_their_address_until_the_window_passes(nebula_agent):
    showcase = Showcase()
    async with nebula_agent({"switchable": Switchable(), "showcase": showcase},
                            agent=PROXY) as a:
        window = 1.5
        a.app[WEBHOOKS].limits = Limits(window=window, wrong_per_ip=3)
        assert (await call(a, WEBHOOK_SECRET))[0] == 200
        for _ in range(3):
            assert (await call(a, "guess-guess-guess"))[0] == 401
        status, headers, body = await call(a, "guess-guess-guess")
        assert status == 429 and headers["Content-Type"].startswith("application/problem+json")
        assert body["status"] == 429 and "wrong webhook secrets" in body["detail"]
        assert 1 <= int(headers["Retry-After"]) <= 2
        # Locked out: the right secret from that address is refused too, without a try.
        assert (await call(a, WEBHOOK_SECRET))[0] == 429
        # Another address is not affected.
        assert (await call(a, WEBHOOK_SECRET, client="198.51.100.9"))[0] == 200
        await asyncio.sleep(window + 0.1)
        assert (await call(a, WEBHOOK_SECRET))[0] == 200
        assert len(showcase.calls) == 3


async def test_right_secrets_are_limited_per_webhook_and_per_address(nebula_agent):
    async with nebula_agent({"switchable": Switchable(), "showcase": Showcase()},
                            agent=PROXY) as a:
        a.app[WEBHOOKS].limits = Limits(window=60, per_hook=5, per_ip=3)
        assert [(await call(a, WEBHOOK_SECRET))[0] for _ in range(4)] == [200, 200, 200, 429]
        status, _, body = await call(a, WEBHOOK_SECRET)
        assert status == 429 and "from this address" in body["detail"]
        # Other addresses share the webhook's own budget: two more calls, then 429.
        others = [(await call(a, WEBHOOK_SECRET, client=f"198.51.100.{i}"))
                  for i in range(3)]
        assert [s for s, _, _ in others] == [200, 200, 429]
        assert "showcase.ping is called too often" in others[-1][2]["detail"]
