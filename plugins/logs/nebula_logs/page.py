"""The panel's Logs page: the search form, the hit histogram, results with their hits
highlighted and context on demand, and the live tail with pause/resume. The HTML is a
static frame; static/logs.js fills it through the API and the tail's WebSocket, inserting
every log text as text (never as HTML)."""

from __future__ import annotations

from aiohttp import web

FRAME = """
<section class="logs" id="logs-page" data-api="/api/v1/logs" data-tail="/plugins/logs/tail">
  <h1>Logs</h1>
  <form id="logs-search" class="logs-form">
    <input name="q" type="search" placeholder='words, "a phrase", OR, NOT, prefix*'
           aria-label="Search query">
    <input name="since" placeholder="since (2h, 1d, ISO)" aria-label="Since" value="1d">
    <input name="until" placeholder="until" aria-label="Until">
    <input name="source" placeholder="source" aria-label="Source">
    <input name="unit" placeholder="unit or container" aria-label="Unit or container">
    <select name="level" aria-label="Level or worse">
      <option value="">any level</option><option>err</option><option>warning</option>
      <option>notice</option><option>info</option><option>debug</option>
    </select>
    <button type="submit">Search</button>
    <button type="button" id="logs-tail-toggle">Live tail</button>
    <button type="button" id="logs-pause" hidden>Pause</button>
  </form>
  <p id="logs-status" role="status"></p>
  <div id="logs-histogram" class="logs-histogram" aria-label="Hits over time"></div>
  <ol id="logs-lines" class="logs-lines"></ol>
  <button type="button" id="logs-more" hidden>Older lines</button>
</section>
"""


async def render(_request: web.Request) -> str:
    return FRAME
