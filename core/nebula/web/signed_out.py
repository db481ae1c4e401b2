"""What a browser without a credential gets when it asks for a page: sent to sign in (the
running authenticator's login page, coming back here after), or, with no plugin signing
browsers in, a page saying how to turn sign-in on. The API answers 401 either way; bearer
tokens work whether or not anyone can sign in."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from nebula.http.keys import agent_of
from nebula.web.html import bare_page, e
from nebula.web.pages import html

# The built-in plugin that signs browsers in (nebula.builtins.auth), named to say how to
# turn it on; the core reaches it only through its authenticator.
AUTH_PLUGIN = "auth"


async def signed_out(request: web.Request) -> web.StreamResponse:
    manager = agent_of(request).manager
    if authenticators := manager.authenticators():
        raise web.HTTPSeeOther(f"{authenticators[0].login_path}"
                               f"?next={quote(request.path_qs, safe='')}")
    record = manager.records.get(AUTH_PLUGIN)
    state = f"{record.state}: {record.error}" if record and record.error else (
        str(record.state) if record else "not installed")
    body = (
        '<h1><span aria-hidden="true">✦</span> Nebula Command</h1>'
        "<h2>Sign-in is off</h2>"
        f"<p>No plugin signs browsers in: the built-in <code>{AUTH_PLUGIN}</code> plugin, "
        f'which does, is <span class="state">{e(state)}</span>.</p>'
        f"<p>Turn it on with <code>nebula plugin enable {AUTH_PLUGIN}</code> (or take "
        f"<code>enabled = false</code> out of <code>[plugins.{AUTH_PLUGIN}]</code> in "
        "nebula.toml and reload), then add yourself with <code>nebula user add NAME</code>."
        "</p><p>The API works meanwhile with a bearer token "
        "(<code>nebula token create NAME</code>).</p>")
    return html(bare_page("Sign-in is off", body), 401)
