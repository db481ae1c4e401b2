"""Re-make docs/overview.png, the README's picture of the panel: a real agent with a few
plugins' worth of checks in mixed states, photographed by headless Chromium.

    python bench/web_screenshot.py [--out docs/overview.png] [--bits 8]

Chromium's own PNGs are large (its gradients are dithered, which defeats compression), and
no image library is a dependency, so the picture is made compact here: the browser maps it
to a 256-colour palette (optionally dropping low bits first, `--bits`), and Python
deflates it at level 9 and writes the PNG chunks.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import re
import struct
import zlib
from collections.abc import Awaitable, Callable, Collection, Mapping
from pathlib import Path
from typing import Any

import aiohttp
from processes import scratch

from nebula.api import Check, CheckResult, Manifest, Status, hookimpl
from nebula.config import load
from nebula.logs import configure
from nebula.testing import run_agent, write_config

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PASSWORD = "screenshot password"
# plugin -> [(check, title, status, summary, metric)]
HOST = {
    "system": [("cpu", "CPU", "ok", "CPU 12% (warning at 85%)", 12),
               ("memory", "Memory", "ok", "memory 41% used", 41),
               ("disk_root", "Disk /", "warning", "disk 88% used on / (warning at 85%)", 88),
               ("load", "Load", "ok", "load 0.42 per core", 0.4),
               ("temperature", "Temperature", "ok", "CPU package 52 °C", 52)],
    "docker": [("daemon", "Docker daemon", "ok", "engine 26.1 answering", 1),
               ("plex", "plex container", "ok", "running, healthy", 1),
               ("discordbot", "discordbot container", "critical",
                "exited (137) 4 minutes ago", 0),
               ("n8n", "n8n container", "ok", "running", 1)],
    "postgres": [("primary", "PostgreSQL", "ok", "accepting connections, 14 ms", 14),
                 ("backup", "Nightly backup", "ok", "last dump 6 h ago, 212 MB", 6)],
    "domains": [("evindrake_net", "evindrake.net TLS", "ok", "certificate valid 61 days", 61),
                ("dns", "DNS records", "unknown", "resolver timed out", 0)],
}


# Runs in a blank page: the screenshot reduced to 256 colours. The 160 commonest go in as
# they are (the background's shades, so no banding); the rest of the palette is filled
# with rarer colours far from all chosen ones (a status colour used by one badge), and
# every pixel takes its nearest palette entry.
TO_PALETTE = """async ([src, bits]) => {
  const img = new Image();
  img.src = src;
  await img.decode();
  const w = img.width, h = img.height;
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  const g = canvas.getContext("2d");
  g.drawImage(img, 0, 0);
  const px = g.getImageData(0, 0, w, h).data;
  const mask = 0xff & ~((1 << (8 - bits)) - 1);
  const keys = new Uint32Array(w * h);
  const count = new Map();
  for (let i = 0, j = 0; i < px.length; i += 4, j++) {
    const k = ((px[i] & mask) << 16) | ((px[i + 1] & mask) << 8) | (px[i + 2] & mask);
    keys[j] = k;
    count.set(k, (count.get(k) || 0) + 1);
  }
  const dist = (k, q) => ((k >> 16) - (q >> 16)) ** 2
    + (((k >> 8) & 255) - ((q >> 8) & 255)) ** 2 + ((k & 255) - (q & 255)) ** 2;
  const ranked = [...count.entries()].sort((a, b) => b[1] - a[1]).map((e) => e[0]);
  const palette = ranked.slice(0, 160);
  for (const k of ranked.slice(160)) {
    if (palette.length >= 256) break;
    if (palette.every((q) => dist(k, q) > 900)) palette.push(k);
  }
  const index = new Map(palette.map((k, i) => [k, i]));
  const nearest = (k) => {
    let best = 0, bestDist = Infinity;
    palette.forEach((q, i) => {
      const d = dist(k, q);
      if (d < bestDist) { bestDist = d; best = i; }
    });
    index.set(k, best);
    return best;
  };
  const rows = new Uint8Array(h * (w + 1)); // filter byte 0 (none) then indices, per row
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const k = keys[y * w + x];
      const i = index.get(k);
      rows[y * (w + 1) + 1 + x] = i === undefined ? nearest(k) : i;
    }
  }
  const rgb = new Uint8Array(palette.length * 3);
  palette.forEach((k, i) => { rgb.set([k >> 16, (k >> 8) & 255, k & 255], i * 3); });
  const b64 = (a) => {
    let s = "";
    for (let i = 0; i < a.length; i += 0x8000) {
      s += String.fromCharCode.apply(null, a.subarray(i, i + 0x8000));
    }
    return btoa(s);
  };
  return [w, h, b64(rgb), b64(rows)];
}"""


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


async def compact_png(browser: Any, png: bytes, bits: int) -> bytes:
    """`png` as an 8-bit palette PNG, deflated at level 9."""
    page = await browser.new_page()
    src = "data:image/png;base64," + base64.b64encode(png).decode()
    width, height, palette, rows = await page.evaluate(TO_PALETTE, [src, bits])
    await page.close()
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)  # 8-bit indexed colour
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"PLTE", base64.b64decode(palette))
            + _chunk(b"IDAT", zlib.compress(base64.b64decode(rows), 9)) + _chunk(b"IEND", b""))


WIDTHS = {1440: 900, 390: 844}


async def shoot_pages(url: str, cookie: str, pages: Mapping[str, str], out: Path, *,
                      prefix: str = "", no_live: Collection[str] = (),
                      visitor: Collection[str] = (),
                      prepare: Callable[[Any, str], Awaitable[None]] | None = None
                      ) -> list[Path]:
    """Each of `pages` (name: path) at every width of WIDTHS, full page, into
    out/<prefix><name>-<width>.png: signed in with the session `cookie` except for the
    `visitor` pages; a page not in `no_live` is shot once its live connection is up;
    `prepare(page, name)` runs last (a click that shows a result)."""
    from playwright.async_api import async_playwright

    written = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium",
                                           args=CHROMIUM_ARGS)
        for width, height in WIDTHS.items():
            context = await browser.new_context(viewport={"width": width, "height": height},
                                                is_mobile=width < 600, has_touch=width < 600)
            page = await context.new_page()
            for name, path in pages.items():
                await context.clear_cookies()
                if name not in visitor:
                    await context.add_cookies([{"name": "nebula_session", "value": cookie,
                                                "url": url}])
                await page.goto(url + path)
                if name not in no_live and name not in visitor:
                    await page.wait_for_selector('#conn[data-state="online"]')
                # Tiles off the screen are not painted until scrolled to (content-visibility:
                # auto); a full-page picture shows them all. Set from script: the CSP keeps
                # inline styles out.
                await page.evaluate("document.querySelectorAll('.tile').forEach("
                                    "(t) => { t.style.contentVisibility = 'visible'; })")
                if prepare is not None:
                    await prepare(page, name)
                target = out / f"{prefix}{name}-{width}.png"
                target.write_bytes(await compact_png(
                    browser, await page.screenshot(full_page=True), 8))
                written.append(target)
            await context.close()
        await browser.close()
    return written


class Host:
    def __init__(self, plugin: str, rows: list[tuple[Any, ...]]) -> None:
        self.manifest = Manifest(api_version="1.0", description=f"{plugin} (picture)")
        self.rows = rows
        self.tick = 0

    def _run(self, status: str, summary: str, metric: float) -> Any:
        async def run() -> CheckResult:
            self.tick += 1
            wobble = (self.tick * 7) % 5
            return CheckResult(Status(status), summary, {"value": float(metric + wobble)})
        return run

    @hookimpl
    def nebula_checks(self) -> list[Check]:
        return [Check(name, self._run(status, summary, metric), title=title, interval=3600)
                for name, title, status, summary, metric in self.rows]


async def shoot(bits: int) -> bytes:
    from playwright.async_api import async_playwright

    configure("json", "warning")
    with scratch("shot") as root:
        config = load(write_config(root / "nebula.toml", {"flap_threshold": 1}))
        plugins = {name: Host(name, rows) for name, rows in HOST.items()}
        async with run_agent(config, plugins, schedule=False) as agent:
            await agent.post("/api/v1/users", {"name": "evin", "password": PASSWORD})
            for _ in range(12):
                await agent.post("/api/v1/checks/run")
            await agent.agent.bus.publish("docker.container.died", {"summary": "discordbot"},
                                          "docker")
            async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
                async with session.get(agent.url + "/login") as resp:
                    login = resp.cookies["nebula_login"].value
                    csrf = re.search(r'name="csrf" value="([^"]+)"', await resp.text()).group(1)
                async with session.post(agent.url + "/login", allow_redirects=False,
                                        headers={"Cookie": f"nebula_login={login}"},
                                        data={"username": "evin", "password": PASSWORD,
                                              "csrf": csrf}) as resp:
                    cookie = resp.cookies["nebula_session"].value
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path="/usr/bin/chromium",
                                                   args=CHROMIUM_ARGS)
                context = await browser.new_context(viewport={"width": 1280, "height": 860})
                await context.add_cookies([{"name": "nebula_session", "value": cookie,
                                            "url": agent.url}])
                page = await context.new_page()
                await page.goto(agent.url + "/")
                await page.wait_for_selector('#conn[data-state="online"]')
                png = await compact_png(browser, await page.screenshot(), bits)
                await browser.close()
    return png


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "overview.png")
    parser.add_argument("--bits", type=int, default=8, choices=range(4, 9),
                        help="bits kept per colour channel")
    args = parser.parse_args()
    args.out.write_bytes(asyncio.run(shoot(args.bits)))
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
