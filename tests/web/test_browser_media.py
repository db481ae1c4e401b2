"""The media plugin's upload page in real headless Chromium: the browser streams the chosen
file as the request body (with the session's CSRF token), the page shows the outcome, and a
file whose content is an executable is refused whatever its name."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from nebula_media import plugin as media_plugin
from tests.web.conftest import sign_in

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plugins" / "media" / "tests"))
from media_files import ELF_HEADER, MKV_HEADER, blocks

pytestmark = pytest.mark.e2e
MB = 1 << 20


@pytest.fixture
def live_config(tmp_path: Path) -> dict[str, Any]:
    return {"plugins": {"media": {
        "quarantine_dir": str(tmp_path / "quarantine"),
        "libraries": [{"name": "Movies", "path": str(tmp_path / "movies")}]}}}


@pytest.mark.parametrize("live_agent", [{"media": media_plugin}], indirect=True)
def test_upload_from_the_panel(page, live_agent, tmp_path: Path) -> None:
    movie = tmp_path / "Big Buck Bunny.mkv"
    movie.write_bytes(b"".join(blocks(MKV_HEADER, 3 * MB)))
    trojan = tmp_path / "Trojan.mkv"
    trojan.write_bytes(b"".join(blocks(ELF_HEADER, MB)))
    sign_in(page)
    page.goto("/media/upload")
    section = page.locator("[data-media-upload]")
    section.get_by_label("Library").select_option("Movies")
    section.get_by_label("Folder (optional)").fill("Big Buck Bunny (2008)")
    section.get_by_label("File").set_input_files(str(movie))
    section.get_by_role("button", name="Upload").click()
    final = tmp_path / "movies" / "Big Buck Bunny (2008)" / "Big Buck Bunny.mkv"
    expect(section.locator(".media-status")).to_have_text(
        f"Imported {final} (video/x-matroska); Plex: not asked (no plex_library)")
    assert final.read_bytes() == movie.read_bytes()

    section.get_by_label("Folder (optional)").fill("")
    section.get_by_label("File").set_input_files(str(trojan))
    section.get_by_role("button", name="Upload").click()
    expect(section.locator(".media-status")).to_contain_text(
        "Refused (415): 'Trojan.mkv' holds executable content")
    assert not (tmp_path / "movies" / "Trojan.mkv").exists()
    assert list((tmp_path / "quarantine").iterdir()) == []
