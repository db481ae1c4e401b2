"""Import from a folder (a NAS share's mount point): browse it, copy a file into a library
through the same checks as an upload; paths that leave the folder are refused."""

from __future__ import annotations

import os
from pathlib import Path

from media_files import ELF_HEADER, MKV_HEADER, blocks
from plex_server import PlexStandIn

MB = 1 << 20


def _share(root: Path) -> Path:
    share = root / "nas-media"
    (share / "Downloads").mkdir(parents=True)
    (share / "Downloads" / "Sintel.mkv").write_bytes(b"".join(blocks(MKV_HEADER, 2 * MB)))
    (share / "Downloads" / "Trojan.mkv").write_bytes(b"".join(blocks(ELF_HEADER, MB)))
    (share / "Downloads" / "passwd.mkv").symlink_to("/etc/passwd")
    return share


async def test_browse_and_import_from_a_share(start_media, folders: dict[str, Path],
                                              plex: PlexStandIn, tmp_path: Path) -> None:
    share = _share(tmp_path)
    async with start_media(import_roots=[{"name": "NAS", "path": str(share)}]) as agent:
        listed = await agent.run_action("media.browse", {"root": "NAS", "path": "Downloads"})
        assert [e["name"] for e in listed["result"]["entries"]] == [
            "Sintel.mkv", "Trojan.mkv", "passwd.mkv"]

        done = await agent.run_action("media.import_file", {
            "root": "NAS", "path": "Downloads/Sintel.mkv", "library": "Movies",
            "folder": "Sintel (2010)"})
        assert done["status"] == "ok", done
        final = folders["movies"] / "Sintel (2010)" / "Sintel.mkv"
        assert final.read_bytes() == (share / "Downloads" / "Sintel.mkv").read_bytes()
        assert plex.refreshes[-1]["path"] == "/data/movies/Sintel (2010)"

        refused = await agent.run_action("media.import_file", {
            "root": "NAS", "path": "Downloads/Trojan.mkv", "library": "Movies"})
        assert refused["status"] == "error" and "executable content" in refused["error"]
        assert not (folders["movies"] / "Trojan.mkv").exists()
        assert os.listdir(folders["quarantine"]) == []

        for path, reason in (("Downloads/passwd.mkv", "leads outside NAS"),
                             ("../etc/passwd", "path part '..' is not a name")):
            status, body = await agent.post("/api/v1/actions/media.import_file/run", {
                "params": {"root": "NAS", "path": path, "library": "Movies"}})
            assert status == 422 and reason in str(body), body
