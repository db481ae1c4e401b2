"""Jarvis's chat pane in the overview's side column; static/jarvis.js asks
/api/v1/jarvis/status whether to offer the form and streams answers from the events
WebSocket."""

from __future__ import annotations

from aiohttp import web

from nebula.http.keys import principal_of
from nebula.surfaces import OVERVIEW, WebPage


async def pane(request: web.Request) -> str:
    admin = principal_of(request).is_admin
    form = ('<form class="jarvis-form" hidden><label for="jarvis-msg">Ask Jarvis</label>'
            '<textarea id="jarvis-msg" name="message" rows="2" maxlength="20000" required '
            'aria-describedby="jarvis-hint"></textarea><small id="jarvis-hint">Enter sends, '
            'Shift+Enter starts a new line.</small>'
            '<button class="btn primary" type="submit">Send</button></form>' if admin else
            '<p class="muted">Only admins can ask Jarvis.</p>')
    return (f'<section class="jarvis glass" aria-labelledby="jarvis-h" data-jarvis '
            f'data-admin="{"true" if admin else "false"}"><h2 id="jarvis-h">Jarvis</h2>'
            '<p class="jarvis-status muted" role="status">checking…</p>'
            '<ol class="jarvis-log" aria-label="conversation with Jarvis" aria-live="polite">'
            f"</ol>{form}</section>")


PANE = WebPage("Jarvis", pane, slot=OVERVIEW)
