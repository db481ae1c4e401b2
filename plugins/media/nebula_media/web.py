"""The upload page of the web panel (`/media/upload`): a library, an optional folder and a
file; static/media.js sends the file itself as the body of `POST /api/v1/media/upload`
(XMLHttpRequest, for its upload progress), so the browser streams it from disk too."""

from __future__ import annotations

from html import escape

from aiohttp import web

from nebula.api import ADMIN, WebPage
from nebula_media.runtime import MediaRuntime


def page(runtime: MediaRuntime) -> WebPage:
    async def render(request: web.Request) -> str:
        options = "".join(f'<option value="{escape(lib.name)}">{escape(lib.name)} '
                          f'({escape(", ".join(lib.kinds))})</option>'
                          for lib in runtime.libraries.values())
        limit = runtime.max_bytes / (1 << 30)
        return (
            '<section class="glass" aria-labelledby="media-h" data-media-upload>'
            '<h1 id="media-h">Import media</h1>'
            f'<p class="muted">Up to {limit:g} GiB. The file\'s content decides its type, '
            'not its name; it is checked in quarantine before it reaches the library, then '
            'Plex scans its folder; the answer shows the item once Plex lists it.</p>'
            '<form class="media-form">'
            f'<label for="media-library">Library</label><select id="media-library" '
            f'name="library" required>{options}</select>'
            '<label for="media-folder">Folder (optional)</label><input id="media-folder" '
            'name="folder" placeholder="Sintel (2010)" maxlength="1000">'
            '<label for="media-file">File</label><input id="media-file" name="file" '
            'type="file" required>'
            '<button class="btn primary" type="submit">Upload</button></form>'
            '<progress class="media-progress" max="1" value="0" hidden></progress>'
            '<p class="media-status" role="status" aria-live="polite"></p></section>')

    return WebPage("Import media", render, path="/upload", nav=True, role=ADMIN)
