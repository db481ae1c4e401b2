"""The discordbot plugin against real components: its health endpoint on loopback (shaped
like the bot's own /health answer), a ticketbot database on a real PostgreSQL reached
through the postgres plugin's settings, and its container on a real Podman engine through
the docker plugin's actions."""

from __future__ import annotations

from discordbot_db import DDL, add_go_live, add_tickets

import nebula_discordbot.plugin
import nebula_docker.plugin
import nebula_postgres.plugin
from tests.appwatch_support import WatchApi, app_database, assert_stopping_cancels_a_reading
from tests.waiting import eventually

BOT_HEALTH = {"status": "healthy", "service": "discord-bot",
              "dependencies": {"database": {"status": "up", "latency": 2},
                               "discord": {"status": "up", "latency": 40, "guilds": 3}}}


def bot_config(cluster, database: str, health_url: str, **extra):
    return {"postgres": cluster.config(),
            "discordbot": {"database": database, "health_url": health_url, "container": "",
                           "interval": 3600, "reuse_seconds": 0, **extra}}


PLUGINS = {"discordbot": nebula_discordbot.plugin, "postgres": nebula_postgres.plugin}


async def test_a_ticket_burst_warns_and_jarvis_counts_open_tickets(
        nebula_agent, cluster, health_endpoint) -> None:
    health_endpoint.body = BOT_HEALTH
    with app_database(cluster, "ticketbot", DDL) as db:
        add_tickets(cluster, db, 5, age="3 hours")
        add_tickets(cluster, db, 4, status="closed", age="3 hours")
        config = bot_config(cluster, db, health_endpoint.url)
        async with nebula_agent(PLUGINS, config=config, schedule=False) as agent:
            bot = WatchApi(agent, "discordbot")
            results = await bot.checks("health", "database", "open_tickets",
                                       "tickets_last_hour")
            assert {k: r["last_status"] for k, r in results.items()} == {
                "health": "ok", "database": "ok", "open_tickets": "ok",
                "tickets_last_hour": "ok"}
            assert results["open_tickets"]["summary"] == "Open tickets: 5 tickets"

            add_tickets(cluster, db, 25)  # ticket spam: 25 new tickets at once
            burst = await bot.check("tickets_last_hour")
            assert burst["last_status"] == "warning"
            assert burst["summary"] == ("Tickets created in the last hour: 25 tickets/h "
                                        "(≥ warning 20)")
            assert burst["metrics"] == {"tickets_last_hour": 25}

            answer = await bot.tool("open_tickets")
            assert answer["status"] == "ok" and answer["result"]["value"] == 30
            healthy = await bot.tool("status")
            assert healthy["result"]["status"] == "warning"
            assert healthy["result"]["health"]["status"] == "ok"
            by_metric = {m["metric"]: m for m in healthy["result"]["metrics"]}
            assert by_metric["tickets_last_hour"]["status"] == "warning"

            # The Discord gateway drops: the bot says so on its health endpoint.
            health_endpoint.body = {**BOT_HEALTH, "status": "degraded", "dependencies": {
                **BOT_HEALTH["dependencies"], "discord": {"status": "down"}}}
            result = await bot.check("health")
            assert result["last_status"] == "critical"
            assert "dependencies.discord.status is 'down', expected 'up'" in result["summary"]

            # The connection settings are the postgres plugin's; its password shows nowhere.
            answers = [healthy, await bot.panel("status"), await bot.panel("metrics"),
                       (await agent.get("/api/v1/plugins/discordbot"))[1]]
            assert cluster.password not in str(answers)


async def test_go_live_notifications_are_watched_as_a_rate(nebula_agent, cluster,
                                                           health_endpoint) -> None:
    with app_database(cluster, "ticketbot", DDL) as db:
        add_go_live(cluster, db, 200, age="2 hours")  # yesterday's streams count no more
        add_go_live(cluster, db, 3)
        config = bot_config(cluster, db, health_endpoint.url)
        async with nebula_agent(PLUGINS, config=config, schedule=False) as agent:
            bot = WatchApi(agent, "discordbot")
            result = await bot.check("go_live_last_hour")
            assert result["last_status"] == "ok"
            assert result["summary"] == ("Go-live notifications in the last hour: 3 "
                                         "notifications/h")
            add_go_live(cluster, db, 30)  # a notification loop
            result = await bot.check("go_live_last_hour")
            assert result["last_status"] == "warning"
            # Each reading is a point of the history panel (its own read is the last).
            history = await bot.panel("history")
            assert [p["go_live_last_hour"] for p in history] == [3, 33, 33]
            assert history[0]["t"] <= history[1]["t"] <= history[2]["t"]


async def test_jarvis_tools_and_actions_speak_of_the_ticket_bot(nebula_agent) -> None:
    async with nebula_agent({"discordbot": nebula_discordbot.plugin}, config={
            "discordbot": {"interval": 3600}}) as agent:
        _, body = await agent.get("/api/v1/tools")
        tools = {t["name"]: t for t in body["tools"] if t["name"].startswith("discordbot.")}
        assert tools["discordbot.status"]["description"].startswith(
            "Is the Discord ticket bot healthy?")
        assert tools["discordbot.open_tickets"]["description"].startswith(
            "How many open tickets does the Discord ticket bot have?")
        assert set(tools) >= {"discordbot.tickets_last_hour", "discordbot.go_live_last_hour",
                              "discordbot.logs", "discordbot.restart"}
        _, body = await agent.get("/api/v1/actions")
        actions = {a["name"]: a for a in body["actions"] if a["plugin"] == "discordbot"}
        assert set(actions) == {"discordbot.logs", "discordbot.restart"}
        _, body = await agent.get("/api/v1/checks")
        checks = {c["name"] for c in body["checks"] if c["name"].startswith("discordbot.")}
        assert checks == {"discordbot.health", "discordbot.container", "discordbot.database",
                          "discordbot.open_tickets", "discordbot.tickets_last_hour",
                          "discordbot.go_live_last_hour"}


async def test_container_logs_and_an_approved_restart(nebula_agent, podman, client,
                                                      run_container) -> None:
    bot = run_container(["sh", "-c", "echo ticket bot ready; exec sleep 1000"])
    config = {"docker": {"base_url": podman.base_url, "interval": 3600},
              "discordbot": {"container": bot.name, "health_url": "", "database": "",
                             "interval": 3600, "reuse_seconds": 0, "restarts_warning": 1}}
    plugins = {"discordbot": nebula_discordbot.plugin, "docker": nebula_docker.plugin}
    async with nebula_agent(plugins, config=config) as agent:
        watch = WatchApi(agent, "discordbot")
        result = await watch.check("container")
        assert result["last_status"] == "ok", result
        assert result["summary"].startswith(f"container {bot.name} running, up ")
        assert result["summary"].endswith(", 0 restarts in 60 min")

        async def ready():
            outcome = await watch.action("logs", {"tail": 5})
            return outcome if "ticket bot ready" in outcome["result"]["lines"] else None

        await eventually(ready, timeout=10)

        started = client.api.inspect_container(bot.id)["State"]["StartedAt"]
        outcome = await watch.action("restart", {"timeout": 0})
        pending = outcome["result"]
        # The request became docker.restart's approval; nothing restarted yet.
        assert pending["status"] == "pending_approval"
        assert pending["approval"]["action"] == "docker.restart"
        assert pending["approval"]["params"] == {"container": bot.name, "timeout": 0}
        assert client.api.inspect_container(bot.id)["State"]["StartedAt"] == started
        approved = await watch.approve(pending["approval"])
        assert approved["status"] == "ok" and approved["result"]["state"] == "running"

        result = await watch.check("container")
        assert result["last_status"] == "warning"
        assert result["summary"].endswith(", 1 restarts in 60 min")
        assert result["metrics"]["restarts"] == 1

        # Jarvis's restart tool goes to docker.restart too, and stops at the approval.
        status, body = await agent.post("/api/v1/tools/discordbot.restart/run",
                                         {"container": bot.name})
        assert status == 202 and body["status"] == "pending_approval", body

        client.api.stop(bot.id, timeout=0)
        result = await watch.check("container")
        assert result["last_status"] == "critical"
        assert result["summary"].startswith(f"container {bot.name} is exited")


async def test_disabling_the_plugin_closes_its_watch(nebula_agent, cluster,
                                                     health_endpoint) -> None:
    stuck = {"stuck": {"sql": "SELECT 1 FROM pg_sleep(120)"}}
    with app_database(cluster, "ticketbot", DDL) as db:
        config = bot_config(cluster, db, health_endpoint.url, metrics=stuck,
                            statement_timeout_ms=600_000)
        async with nebula_agent(PLUGINS, config=config, schedule=False) as agent:
            await assert_stopping_cancels_a_reading(agent, "discordbot", cluster, db)
