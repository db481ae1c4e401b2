"""What plugins add to the panel (nebula_web_pages, nebula_web_assets): their navigation
entries, the sections they put in the overview's side column, and their scripts and
stylesheets, served from their packages at /static/<plugin>/<file>."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from nebula.http.endpoints import endpoint
from nebula.http.keys import agent_of, principal_of
from nebula.http.plugin_endpoints import mounted
from nebula.http.problems import Problem
from nebula.logs import get_logger
from nebula.plugins import LOADED, PluginRecord
from nebula.roles import Role
from nebula.secrets import SECRETS
from nebula.surfaces import OVERVIEW, PAGE, WebPage
from nebula.web.html import e

if TYPE_CHECKING:
    from nebula.agent import Agent

CONTENT_TYPES = {".css": "text/css", ".js": "text/javascript"}
log = get_logger(component="web")
_digests: dict[tuple[Path, float], str] = {}


def _running(agent: Agent) -> list[PluginRecord]:
    return [r for r in sorted(agent.manager.records.values(), key=lambda r: r.name)
            if r.state == LOADED]


def page_path(record: PluginRecord, page: WebPage) -> str:
    return mounted("/", record, page.path)


def nav_links(agent: Agent) -> list[tuple[str, str]]:
    """(href, label) of every page a running plugin lists in the navigation."""
    return [(page_path(r, p), p.title) for r in _running(agent) for p in r.contributions.pages
            if p.slot == PAGE and p.nav]


def _version(path: Path) -> str:
    """A short digest of the file, so a new version is fetched despite the cache."""
    key = (path, path.stat().st_mtime)
    if key not in _digests:
        _digests[key] = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    return _digests[key]


def asset_urls(agent: Agent) -> list[str]:
    return [f"/static/{r.name}/{a.name}?v={_version(a)}" for r in _running(agent)
            for a in r.contributions.assets]


def allowed(request: web.Request, page: WebPage) -> bool:
    return page.role != Role.ADMIN or principal_of(request).is_admin


async def overview_sections(request: web.Request) -> str:
    """The sections plugins add to the overview's side column; one that fails to render
    shows why in its place, and the page goes on."""
    out = []
    for record in _running(agent_of(request)):
        for page in record.contributions.pages:
            if page.slot != OVERVIEW or not allowed(request, page):
                continue
            try:
                out.append(await page.render(request))
            except Exception as exc:
                log.warning("web.section_failed", plugin=record.name, section=page.title,
                            error=SECRETS.redact(f"{type(exc).__name__}: {exc}"))
                out.append(f'<section class="glass"><h2>{e(page.title)}</h2><p class="error">'
                           f'{e(SECRETS.redact(f"{type(exc).__name__}: {exc}"))}</p></section>')
    return "".join(out)


# Behind the session, unlike the core's own assets: the sign-in page needs none of them.
@endpoint("GET", "/static/{plugin}/{file}", "A plugin's script or stylesheet", tag="plugins")
async def plugin_asset(request: web.Request) -> web.StreamResponse:
    name, file = request.match_info["plugin"], request.match_info["file"]
    record = agent_of(request).manager.records.get(name)
    assets = {a.name: a for a in record.contributions.assets} if record else {}
    if file not in assets:
        raise Problem(404, f"no asset {file!r} from plugin {name!r}")
    path = assets[file]
    return web.Response(body=path.read_bytes(), content_type=CONTENT_TYPES[path.suffix],
                        headers={"Cache-Control": "public, max-age=3600"})
