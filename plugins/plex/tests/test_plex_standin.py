"""The stand-in keeps the real server's wire habits the plugin depends on (protocols.md §1),
checked with a bare HTTP client rather than the plugin."""

from __future__ import annotations

from xml.etree import ElementTree

import aiohttp


async def test_wire_format_auth_and_paging(plex, plex_site, plex_token) -> None:
    async with aiohttp.ClientSession() as http:
        # XML unless JSON is asked for; the token as a header or a query parameter.
        async with http.get(f"{plex_site.url}/library/sections",
                            params={"X-Plex-Token": plex_token}) as resp:
            assert resp.status == 200 and resp.headers["x-plex-protocol"] == "1.0"
            root = ElementTree.fromstring(await resp.text())
        assert root.tag == "MediaContainer"
        assert [d.get("title") for d in root.iter("Directory")] == ["Movies", "TV Shows",
                                                                     "Music"]
        assert root.find("Directory").get("refreshing") == "0"
        json_headers = {"Accept": "application/json", "X-Plex-Token": plex_token}
        async with http.get(f"{plex_site.url}/status/sessions", headers=json_headers) as resp:
            assert await resp.json() == {"MediaContainer": {"size": 0}}  # no Metadata key
        async with http.get(f"{plex_site.url}/library/sections/2/all",
                            params={"type": 4, "X-Plex-Container-Start": 1,
                                    "X-Plex-Container-Size": 1}, headers=json_headers) as resp:
            page = (await resp.json())["MediaContainer"]
        assert (page["size"], page["totalSize"], page["offset"]) == (1, 3, 1)
        assert page["Metadata"][0]["title"] == "Episode 2"
        # /identity answers without a token; everything else is a 91-byte HTML 401.
        async with http.get(f"{plex_site.url}/identity") as resp:
            assert resp.status == 200
        async with http.get(f"{plex_site.url}/", headers={"Accept": "application/json",
                                                          "X-Plex-Token": "wrong"}) as resp:
            assert resp.status == 401 and resp.content_type == "text/html"
            assert len(await resp.read()) == 91
