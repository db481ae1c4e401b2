"""The plex plugin in a real agent against the Plex stand-in on loopback, driven through
the agent's HTTP API: health, now playing, libraries, session events, an outage."""

from __future__ import annotations

from plex_api import events, panel, run_checks

from tests.waiting import eventually


async def test_one_poll_feeds_checks_panels_and_tools(start_plex, plex) -> None:
    plex.release = {"version": "1.41.3.9314-a0bfb8370"}
    plex.play("7", "alice", plex.libraries["1"].items[0], player="Living Room TV",
              decision="transcode", bandwidth=12000)
    plex.play("8", "bob", plex.libraries["2"].items[2], player="Phone", bandwidth=3000,
              location="wan")
    async with start_plex() as agent:
        checks = await run_checks(agent)
        assert checks["reachable"]["status"] == "ok"
        assert checks["reachable"]["summary"].startswith(
            "Nebula Test PMS 1.40.2.8395-c67dce28e answers in ")
        assert checks["reachable"]["summary"].endswith("update 1.41.3.9314-a0bfb8370 available")
        assert checks["reachable"]["metrics"]["update_available"] == 1
        assert checks["token"] == {"status": "ok", "summary": "token accepted by Nebula Test "
                                   "PMS", "metrics": {}}
        assert checks["transcodes"]["status"] == "ok"
        assert checks["transcodes"]["summary"] == "1 transcode (limit 2); 2 sessions, 15 Mbps"
        assert checks["transcodes"]["metrics"] == {
            "sessions": 2, "transcodes": 1, "direct_play": 1, "direct_stream": 0,
            "bandwidth_kbps": 15000, "wan_sessions": 1}

        sessions = {s["user"]: s for s in await panel(agent, "sessions")}
        assert sessions["alice"]["title"] == "Movie 1 (2000)"
        assert (sessions["alice"]["decision"], sessions["alice"]["player"]) == (
            "transcode", "Living Room TV")
        assert sessions["bob"]["title"] == "The Expanse — S01E02 · Episode 2"
        assert (sessions["bob"]["decision"], sessions["bob"]["bandwidth_kbps"],
                sessions["bob"]["location"], sessions["bob"]["progress"]) == (
            "direct play", 3000, "wan", 10.0)
        libraries = {lib["title"]: lib for lib in await panel(agent, "libraries")}
        assert {t: (lib["items"], lib["episodes"], lib["tracks"])
                for t, lib in libraries.items()} == {
            "Movies": (3, None, None), "TV Shows": (1, 3, None), "Music": (1, None, 2)}
        assert libraries["Movies"]["scanned_at"] == plex.libraries["1"].scanned_at
        server = await panel(agent, "server")
        assert (server["name"], server["update"], server["sessions"], server["transcodes"],
                server["error"]) == ("Nebula Test PMS", "1.41.3.9314-a0bfb8370", 2, 1, None)
        assert (server["machine_identifier"], server["version"]) == (
            plex.machine_identifier, "1.40.2.8395-c67dce28e")
        assert len(await panel(agent, "recently_added")) == 8  # movies, episodes, tracks

        tools = agent.agent.tools
        playing = await tools["plex.now_playing"].run({})
        assert playing["transcodes"] == 1
        assert {s["user"] for s in playing["sessions"]} == {"alice", "bob"}
        stats = await tools["plex.library_stats"].run({})
        assert [lib["title"] for lib in stats["libraries"]] == ["Movies", "TV Shows", "Music"]
        recent = await tools["plex.recently_added"].run({"limit": 2})
        assert len(recent["items"]) == 2

    # Poll once, read many: three checks, five panels and three tools cost one poll.
    assert sum(r["path"] == "/status/sessions" for r in plex.requests) == 1
    assert sum(r["path"] == "/identity" for r in plex.requests) == 1
    # JSON asked for; the token always in the header, never in a URL.
    assert all(r["accept"] == "application/json" for r in plex.requests)
    assert {r["token"] for r in plex.requests if r["path"] != "/identity"} == {"header"}
    assert all(r["authorized"] for r in plex.requests if r["path"] != "/identity")


async def test_more_transcodes_than_allowed_warn_and_name_them(start_plex, plex) -> None:
    movies = plex.libraries["1"].items
    for key, user in enumerate(("alice", "bob")):
        plex.play(str(key), user, movies[key], player=f"TV {key}", decision="transcode")
    plex.play("9", "carol", movies[2], player="Shield", decision="copy")
    async with start_plex(max_transcodes=1) as agent:
        result = (await run_checks(agent))["transcodes"]
    assert result["status"] == "warning"
    assert result["summary"].startswith("2 transcodes, more than 1 (3 sessions, 21 Mbps): ")
    assert "alice: Movie 1 (2000) on TV 0" in result["summary"]
    assert "bob: Big Buck Bunny (2008) on TV 1" in result["summary"]
    assert (result["metrics"]["direct_stream"], result["metrics"]["transcodes"]) == (1, 2)


async def test_a_session_starting_and_ending_emits_events_and_updates_the_panel(
        start_plex, plex) -> None:
    async with start_plex(interval=1) as agent:
        assert await panel(agent, "sessions") == []  # the first poll is the baseline
        plex.play("42", "alice", plex.libraries["3"].items[1], player="Kitchen Speaker",
                  bandwidth=320)
        rows = await eventually(lambda: panel(agent, "sessions"), timeout=5)
        assert [(r["user"], r["title"], r["decision"]) for r in rows] == [
            ("alice", "Daft Punk — One More Time", "direct play")]
        [started] = await events(agent)
        assert started["topic"] == "plex.session_started"
        assert started["data"]["session"] == "42"
        assert (started["data"]["user"], started["data"]["player"]) == (
            "alice", "Kitchen Speaker")

        plex.stop("42")
        await eventually(lambda: _no_sessions(agent), timeout=5)
        assert [e["topic"] for e in await events(agent)] == ["plex.session_started",
                                                             "plex.session_ended"]
        ended = (await events(agent))[-1]
        assert ended["data"]["title"] == "Daft Punk — One More Time"
        # Each poll is a point of the streams timeseries.
        points = await panel(agent, "streams")
        assert max(p["sessions"] for p in points) == 1 and points[-1]["sessions"] == 0


async def _no_sessions(agent):
    return await panel(agent, "sessions") == []


async def test_server_down_mid_cycle_is_critical_then_recovers(start_plex, plex,
                                                               plex_site) -> None:
    async with start_plex(interval=1) as agent:
        assert {c["status"] for c in (await run_checks(agent)).values()} == {"ok"}
        await plex_site.stop()
        checks = await eventually(lambda: _reachable(agent, "critical"), timeout=5)
        assert checks["reachable"]["summary"] == (
            f"Plex unreachable: connection refused by 127.0.0.1:{plex_site.port}: Plex is not "
            "listening there; check the URL's host and port, and that it is running")
        assert checks["token"]["status"] == "unknown"
        assert checks["transcodes"]["status"] == "unknown"
        # The panels say why instead of showing an empty "nothing playing".
        status, body = await agent.get("/api/v1/panels/plex.sessions")
        assert status == 502 and "connection refused" in body["detail"]
        assert "connection refused" in (await panel(agent, "server"))["error"]
        answer = await agent.agent.tools["plex.now_playing"].run({})
        assert "connection refused" in answer["error"]

        await plex_site.start()
        checks = await eventually(lambda: _reachable(agent, "ok"), timeout=5)
        assert {c["status"] for c in checks.values()} == {"ok"}
        assert (await panel(agent, "server"))["error"] is None


async def _reachable(agent, status):
    checks = await run_checks(agent)
    return checks if checks["reachable"]["status"] == status else None


async def test_the_web_panel_shows_the_plugin_page(start_plex, plex, plex_token) -> None:
    plex.play("3", "alice", plex.libraries["1"].items[1], player="Living Room TV",
              decision="transcode")
    async with start_plex() as agent:
        status, page = await agent.get("/plugin/plex")
    assert status == 200
    for title in ("Plex server", "Now playing", "Streams", "Libraries", "Recently added",
                  "Scan library files", "Empty trash", "Optimise database",
                  "Big Buck Bunny (2008)", "Living Room TV", "TV Shows"):
        assert title in page, title
    assert plex_token not in page
