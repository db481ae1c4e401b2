"""Actions against the stand-in: pairing by PIN, unpair, apps added, edited and removed, the
running app closed and Sunshine restarted; destructive ones wait for an approval of the plan
their prepare step showed."""

from __future__ import annotations

from sunshine_server import SunshineStandIn, log_line


async def test_pairing_takes_the_pin_moonlight_shows(start_sunshine,
                                                     sunshine: SunshineStandIn) -> None:
    async with start_sunshine() as agent:
        client = sunshine.moonlight_waits("4821")
        done = await agent.run_action("sunshine.pair", {"pin": "4821", "name": "Living room"})
        assert done["status"] == "ok", done
        assert sunshine.clients == [{"name": "Living room", "uuid": client}]
        assert "4821" not in str(done)
        panel = await agent.panel("sunshine.clients")
        assert panel == [{"name": "Living room", "uuid": client}]

        sunshine.moonlight_waits("1111")
        wrong = await agent.run_action("sunshine.pair", {"pin": "2222", "name": "Phone"})
        assert wrong["status"] == "error"
        assert "start pairing in Moonlight first" in str(wrong["error"])
        status, body = await agent.post("/api/v1/actions/sunshine.pair/run",
                                        {"params": {"pin": "12345", "name": "x"}})
        assert status == 422, body


async def test_unpair_is_approved_on_the_named_client(start_sunshine,
                                                      sunshine: SunshineStandIn) -> None:
    sunshine.clients = [{"name": "TV", "uuid": "U-1"}, {"name": "Deck", "uuid": "U-2"}]
    async with start_sunshine() as agent:
        status, body = await agent.post("/api/v1/actions/sunshine.unpair/run",
                                        {"params": {"uuid": "U-9"}})
        assert status == 422 and "no paired client U-9" in str(body)
        pending = await agent.run_action("sunshine.unpair", {"uuid": "U-1"}, expect=202)
        assert pending["approval"]["plan"] == {"clients": [{"uuid": "U-1", "name": "TV"}]}
        assert len(sunshine.clients) == 2            # nothing happens before the approval
        done = await agent.approve(pending["approval"]["id"])
        assert done["result"] == {"unpaired": ["TV"], "already_gone": []}
        assert sunshine.clients == [{"name": "Deck", "uuid": "U-2"}]

        every = await agent.run_action("sunshine.unpair", {"all": True}, expect=202)
        sunshine.clients.append({"name": "New phone", "uuid": "U-3"})   # paired meanwhile
        done = await agent.approve(every["approval"]["id"])
        assert done["result"]["unpaired"] == ["Deck"]
        assert sunshine.clients == [{"name": "New phone", "uuid": "U-3"}]


async def test_apps_are_added_edited_and_removed(start_sunshine,
                                                 sunshine: SunshineStandIn) -> None:
    async with start_sunshine() as agent:
        added = await agent.run_action("sunshine.add_app", {
            "name": "Retro", "cmd": "retroarch", "prep-cmd": [{"do": "xrandr --auto"}]})
        assert added["status"] == "ok", added
        assert sunshine.apps[-1] == {"name": "Retro", "cmd": "retroarch",
                                     "prep-cmd": [{"do": "xrandr --auto"}]}
        edited = await agent.run_action("sunshine.edit_app", {
            "name": "Retro", "new_name": "RetroArch", "cmd": "retroarch -f"})
        assert edited["status"] == "ok", edited
        assert sunshine.apps[-1]["name"] == "RetroArch"
        assert sunshine.apps[-1]["cmd"] == "retroarch -f"
        assert sunshine.apps[-1]["prep-cmd"] == [{"do": "xrandr --auto"}]   # kept

        pending = await agent.run_action("sunshine.remove_app", {"name": "RetroArch"},
                                         expect=202)
        assert pending["approval"]["plan"] == {"index": 2, "name": "RetroArch",
                                               "cmd": "retroarch -f"}
        done = await agent.approve(pending["approval"]["id"])
        assert done["status"] == "ok", done
        assert [a["name"] for a in sunshine.apps] == ["Desktop", "Steam Big Picture"]

        status, body = await agent.post("/api/v1/actions/sunshine.remove_app/run",
                                        {"params": {"name": "Nope"}})
        assert status == 422 and "no app 'Nope'" in str(body)


async def test_a_removal_refuses_when_the_list_moved_since_the_approval(
        start_sunshine, sunshine: SunshineStandIn) -> None:
    async with start_sunshine() as agent:
        pending = await agent.run_action("sunshine.remove_app",
                                         {"name": "Steam Big Picture"}, expect=202)
        sunshine.apps.insert(0, {"name": "Inserted"})   # index 1 is now another app
        done = await agent.approve(pending["approval"]["id"])
        assert done["status"] == "error" and "ask again" in str(done["error"])
        assert len(sunshine.apps) == 3


async def test_close_and_restart_show_who_streams(start_sunshine,
                                                  sunshine: SunshineStandIn) -> None:
    sunshine.log.append(log_line("Info", "New streaming session started [active sessions: 1]"))
    sunshine.running_app = 1
    async with start_sunshine() as agent:
        pending = await agent.run_action("sunshine.close_app", expect=202)
        assert pending["approval"]["plan"] == {"active_sessions": 1}
        done = await agent.approve(pending["approval"]["id"])
        assert done["status"] == "ok", done
        assert sunshine.running_app == 0

        pending = await agent.run_action("sunshine.restart", expect=202)
        assert pending["approval"]["plan"] == {"active_sessions": 0}
        done = await agent.approve(pending["approval"]["id"])
        assert done["result"]["status"] == "restart requested", done
        assert sunshine.restarts == 1
