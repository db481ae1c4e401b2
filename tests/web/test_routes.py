"""Every registered route refuses a request without a session or token, except `/healthz`,
the way in (the auth plugin's sign-in page and forms, and the static assets they need) and
plugin webhooks, which refuse a wrong secret instead. A new route is covered the moment it
is registered: the core's, and those of the running plugins (the auth plugin's included)."""

from __future__ import annotations

import re

import pytest

from nebula.api import Manifest, Webhook, hookimpl
from nebula.http.app import SURFACES, open_routes
from tests.sample_plugins import Switchable
from tests.web.showcase import WEBHOOK_SECRET, Showcase

SAMPLE = {"plugin": "showcase", "hook": "ping", "name": "switchable.echo",
          "panel": "showcase.count", "id": "1", "file": "nebula.css", "tail": "hello/x",
          "check": "switchable.switch", "slug": "nope"}
# The only routes that answer without credentials, and why.
OPEN = {
    ("GET", "/healthz"): "liveness for probes",
    ("GET", "/login"): "the sign-in form",
    ("GET", "/setup"): "the first admin's form (while no user exists, else off to /login)",
    ("GET", "/static/{file}"): "the stylesheet and script the sign-in page needs",
    ("GET", "/favicon.svg"): "the icon, which the sign-in page shows too",
    ("GET", "/favicon.ico"): "the icon where browsers look for it unasked",
}
# Open too, and refusing without the sign-in form's double-submit token.
SIGN_IN_FORMS = {("POST", "/login"), ("POST", "/login/totp"), ("POST", "/setup")}
WEBHOOK = "/plugins/{plugin}/hooks/{hook}"
# Open too: the uptime built-in's status pages; one nobody published answers 404.
STATUS_PAGE = ("GET", "/status/{slug}")


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)(?::[^}]*)?\}", lambda m: SAMPLE[m.group(1)], path)


async def test_every_route_refuses_an_unauthenticated_request(nebula_agent):
    async with nebula_agent({"switchable": Switchable(), "showcase": Showcase()}) as a:
        core = {(r.method, r.resource.canonical) for r in a.app.router.routes()
                if r.method != "HEAD"}
        plugins = {(ep.method, ep.path) for surface in set(a.app[SURFACES].values())
                   for ep in surface.running()}
        assert ("POST", "/security/totp") in plugins and ("GET", "/api/v1/users") in plugins
        routes = sorted(core | plugins)
        assert len(routes) > 55
        checked = 0
        for method, path in routes:
            for verb in (("GET", "POST", "DELETE") if method == "*" else (method,)):
                url = a.url + concrete(path)
                async with a.session.request(verb, url, allow_redirects=False) as resp:
                    text = await resp.text()
                    where = f"{verb} {path}"
                    if (verb, path) in OPEN:
                        assert resp.status == 200, where
                    elif (verb, path) in SIGN_IN_FORMS:
                        assert resp.status == 403, where
                    elif path == WEBHOOK:
                        assert resp.status == 401, where
                    elif (verb, path) == STATUS_PAGE:
                        assert resp.status == 404, where
                    elif resp.status == 303:  # a page: off to sign in, showing nothing
                        assert resp.headers["Location"].startswith("/login?next="), where
                        assert text in ("", "303: See Other"), where
                    else:
                        assert resp.status in (401, 403), (where, resp.status, text)
                checked += 1
        assert checked > 60


async def test_the_open_routes_are_exactly_the_declared_ones(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        expected = {*OPEN, *SIGN_IN_FORMS, *(("*", WEBHOOK),), STATUS_PAGE}
        assert open_routes(a.app) == expected
        # /login/totp and POST /login are open so a browser can sign in, but without the
        # form's double-submit token they refuse.
        for path in ("/login", "/login/totp", "/setup"):
            async with a.session.post(a.url + path, data={"username": "x"}) as resp:
                assert resp.status == 403


async def test_static_serves_only_its_own_assets(nebula_agent):
    async with nebula_agent({"switchable": Switchable()}) as a:
        for name, kind in (("nebula.css", "text/css"), ("nebula.js", "text/javascript")):
            async with a.session.get(f"{a.url}/static/{name}") as resp:
                assert (resp.status, resp.content_type) == (200, kind)
        for probe in ("..%2fusers.py", "pages.py", "%2e%2e%2f%2e%2e%2fnebula.db", "x"):
            async with a.session.get(f"{a.url}/static/{probe}") as resp:
                assert resp.status in (401, 404), probe


async def test_a_webhook_runs_with_its_secret_only(nebula_agent):
    showcase = Showcase()
    async with nebula_agent({"switchable": Switchable(), "showcase": showcase}) as a:
        url = a.url + "/plugins/showcase/hooks/ping"
        for headers in ({}, {"X-Webhook-Secret": "wrong"},
                        {"X-Webhook-Secret": WEBHOOK_SECRET + "x"},
                        {"Authorization": f"Bearer {a.token}"}):
            async with a.session.post(url, json={"n": 1}, headers=headers) as resp:
                assert resp.status == 401, headers
        assert showcase.calls == []
        async with a.session.post(a.url + "/plugins/showcase/hooks/nope", json={},
                                  headers={"X-Webhook-Secret": WEBHOOK_SECRET}) as resp:
            assert resp.status == 401
        async with a.session.post(url, json={"n": 2},
                                  headers={"X-Webhook-Secret": WEBHOOK_SECRET}) as resp:
            assert (resp.status, await resp.json()) == (200, {"ok": True})
        async with a.session.get(url, headers={"X-Webhook-Secret": WEBHOOK_SECRET}) as resp:
            assert resp.status == 405
        assert showcase.calls == [{"n": 2}]
        _, events = await a.get("/api/v1/events?topic=showcase.*")
        assert events["events"][-1]["topic"] == "showcase.pinged"
        # The secret is a secret: masked wherever it could surface.
        _, body = await a.get("/api/v1/plugins/showcase")
        assert WEBHOOK_SECRET not in str(body)


class WeakWebhook:
    manifest = Manifest(api_version="1.0")

    @hookimpl
    def nebula_webhooks(self):
        async def handler(request):
            raise AssertionError("never served")

        return [Webhook("hook", handler, secret="short")]


async def test_a_webhook_with_a_weak_secret_fails_its_plugin(nebula_agent):
    async with nebula_agent({"weak": WeakWebhook()}) as a:
        _, body = await a.get("/api/v1/plugins/weak")
        assert body["state"] == "failed"
        assert "at least 16 characters" in body["error"]


@pytest.mark.parametrize("path", ["/", "/plugin/switchable", "/approvals", "/audit"])
async def test_bearer_tokens_can_read_pages_too(nebula_agent, path):
    async with nebula_agent({"switchable": Switchable()}) as a:
        status, text = await a.get(path)
        assert status == 200 and "<!doctype html>" in text
