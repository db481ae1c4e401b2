"""The maintenance actions over the agent's HTTP API against the Plex stand-in: a library
scan imports new files; emptying the trash waits for an admin; optimising is refused while
someone watches unless forced."""

from __future__ import annotations

from plex_api import approve, panel, run_action


async def _libraries(agent):
    return {lib["title"]: lib for lib in await panel(agent, "libraries")}


async def test_a_file_is_found_once_a_scan_listed_it(start_plex, plex, tmp_path) -> None:
    (tmp_path / "movies" / "Sintel (2010)").mkdir(parents=True)
    (tmp_path / "movies" / "Sintel (2010)" / "Sintel.mkv").write_bytes(b"\x1a\x45\xdf\xa3")
    plex.libraries["1"].locations.append("/data/movies-nas")
    plex.mounts["/data/movies-nas"] = str(tmp_path / "movies")
    file = "/data/movies-nas/Sintel (2010)/Sintel.mkv"
    async with start_plex() as agent:
        status, outcome = await run_action(agent, "find_file", library="Movies", path=file)
        assert status == 200 and outcome["result"] == {"found": False}, outcome
        await run_action(agent, "scan_library", library="Movies",
                         path="/data/movies-nas/Sintel (2010)")
        status, outcome = await run_action(agent, "find_file", library="1", path=file)
        found = outcome["result"]
        assert found["found"] and found["item"]["title"] == "Sintel", outcome
        # Among the newest items of the section's movies, as the server sorts them.
        [*_, ask] = [r for r in plex.requests if r["path"] == "/library/sections/1/all"]
        assert ask["query"] == {"type": "1", "sort": "addedAt:desc",
                                "X-Plex-Container-Start": "0", "X-Plex-Container-Size": "50"}


async def test_a_library_scan_imports_the_files_that_landed(start_plex, plex) -> None:
    folder = "/data/movies/Tears of Steel (2012)"
    plex.land_file("1", "Tears of Steel", "movie", f"{folder}/Tears.of.Steel.mkv", year=2012)
    async with start_plex() as agent:
        before = (await _libraries(agent))["Movies"]
        assert before["items"] == 3
        status, outcome = await run_action(agent, "scan_library", library="movies",
                                           path=folder)
        # Not destructive: it runs at once, no approval.
        assert status == 200 and outcome["status"] == "ok", outcome
        assert outcome["result"] == {"status": "scan started", "path": folder,
                                     "libraries": [{"key": "1", "title": "Movies"}]}
        assert plex.refreshes == [{"library": "1", "path": folder, "force": None}]
        after = (await _libraries(agent))["Movies"]
        assert after["items"] == 4 and after["scanned_at"] >= before["scanned_at"]
        newest = (await panel(agent, "recently_added"))[0]
        assert (newest["title"], newest["library"]) == ("Tears of Steel (2012)", "Movies")

        # By section key, and every library at once.
        assert (await run_action(agent, "scan_library", library="2"))[1]["status"] == "ok"
        status, outcome = await run_action(agent, "scan_library")
        assert [s["title"] for s in outcome["result"]["libraries"]] == [
            "Movies", "TV Shows", "Music"]
        assert [r["library"] for r in plex.refreshes] == ["1", "2", "all"]

        status, outcome = await run_action(agent, "scan_library", library="Anime")
        assert status == 502 and outcome["status"] == "error"
        assert outcome["error"] == ("UnknownLibrary: no library 'Anime' on this server; "
                                    "libraries: Movies (1), TV Shows (2), Music (3)")
        assert len(plex.refreshes) == 3
        # Jarvis reaches the scan through the action, so the same rules apply.
        assert agent.agent.tools["plex.scan_library"].action == "plex.scan_library"


async def test_emptying_the_trash_waits_for_an_admin(start_plex, plex) -> None:
    plex.lose_file("1", "Sintel")  # the NAS share lost a file
    async with start_plex() as agent:
        await run_action(agent, "scan_library", library="Movies")
        assert (await _libraries(agent))["Movies"]["items"] == 3  # in the trash, still listed
        status, pending = await run_action(agent, "empty_trash", library="Movies")
        assert status == 202 and pending["status"] == "pending_approval", pending
        assert plex.emptied == []
        outcome = await approve(agent, pending)
        assert outcome["status"] == "ok", outcome
        assert outcome["result"] == {"status": "trash emptied",
                                     "libraries": [{"key": "1", "title": "Movies"}]}
        assert plex.emptied == ["1"]
        assert (await _libraries(agent))["Movies"]["items"] == 2

        # Without a library: every library's trash, after approval again.
        status, pending = await run_action(agent, "empty_trash")
        assert status == 202
        await approve(agent, pending)
        assert plex.emptied == ["1", "1", "2", "3"]
        _, actions = await agent.get("/api/v1/actions")
        declared = {a["name"]: a["destructive"] for a in actions["actions"]
                    if a["plugin"] == "plex"}
        assert declared == {"plex.scan_library": False, "plex.empty_trash": True,
                            "plex.optimize_database": False, "plex.find_file": False}


async def test_optimising_is_refused_while_someone_watches_unless_forced(start_plex,
                                                                         plex) -> None:
    plex.play("5", "alice", plex.libraries["1"].items[0], player="TV")
    async with start_plex() as agent:
        status, outcome = await run_action(agent, "optimize_database")
        assert status == 502 and outcome["status"] == "error"  # a failed run
        assert outcome["error"] == ("RuntimeError: 1 stream(s) playing: optimising now could "
                                    "stall them; try later, or pass force = true")
        assert plex.optimized == []
        status, outcome = await run_action(agent, "optimize_database", force=True)
        assert (outcome["status"], outcome["result"]) == ("ok", {"status": "optimisation "
                                                                           "started"})
        plex.stop("5")
        status, outcome = await run_action(agent, "optimize_database")
        assert outcome["status"] == "ok"
    assert plex.optimized == [{"async": "1"}, {"async": "1"}]
    assert all(r["method"] == "PUT" for r in plex.requests if r["path"] == "/library/optimize")
