"""The streambot plugin against real components: its health endpoint on loopback and a
streambot database on a real PostgreSQL reached through the postgres plugin's settings.
(Its container goes through the same appwatch code as discordbot's, tested there with
Podman.)"""

from __future__ import annotations

from streambot_db import DDL, connect, post_messages

import nebula_postgres.plugin
import nebula_streambot.plugin
from tests.appwatch_support import WatchApi, app_database, assert_stopping_cancels_a_reading

PLUGINS = {"streambot": nebula_streambot.plugin, "postgres": nebula_postgres.plugin}
METRICS = ("connected_platforms", "platforms_needing_reauth", "messages_last_hour",
           "failed_messages_last_hour", "instances_in_error")


def bot_config(cluster, database: str, health_url: str, **extra):
    return {"postgres": cluster.config(),
            "streambot": {"database": database, "health_url": health_url, "container": "",
                          "interval": 3600, "reuse_seconds": 0, **extra}}


async def test_lost_connections_and_failing_messages_show(nebula_agent, cluster,
                                                          health_endpoint) -> None:
    with app_database(cluster, "streambot", DDL) as db:
        connect(cluster, db, "twitch")
        connect(cluster, db, "kick")
        connect(cluster, db, "youtube", connected=False)
        post_messages(cluster, db, 500, age="3 hours")
        post_messages(cluster, db, 40)
        config = bot_config(cluster, db, health_endpoint.url)
        async with nebula_agent(PLUGINS, config=config, schedule=False) as agent:
            bot = WatchApi(agent, "streambot")
            results = await bot.checks("health", "database", *METRICS)
            assert {k: r["last_status"] for k, r in results.items()} == dict.fromkeys(
                ("health", "database", *METRICS), "ok")
            assert results["connected_platforms"]["summary"] == (
                "Connected platforms: 2 platforms")
            assert results["messages_last_hour"]["metrics"] == {"messages_last_hour": 40}

            post_messages(cluster, db, 6, status="failed")
            cluster.execute("UPDATE platform_connections SET needs_refresh = true "
                            "WHERE platform = 'kick'", db)
            results = await bot.checks(*METRICS)
            assert results["failed_messages_last_hour"]["last_status"] == "warning"
            assert results["failed_messages_last_hour"]["summary"] == (
                "Failed messages in the last hour: 6 messages/h (≥ warning 5)")
            assert results["platforms_needing_reauth"]["last_status"] == "warning"
            assert results["messages_last_hour"]["metrics"] == {"messages_last_hour": 46}

            # Every platform drops: fewer is worse for this one.
            cluster.execute("UPDATE platform_connections SET is_connected = false", db)
            result = await bot.check("connected_platforms")
            assert result["last_status"] == "warning"
            assert result["summary"] == "Connected platforms: 0 platforms (≤ warning 0)"

            answer = await bot.tool("connected_platforms")
            assert answer["result"]["value"] == 0
            status = await bot.tool("status")
            assert status["result"]["status"] == "warning"
            assert status["result"]["health"]["status"] == "ok"
            rows = {r["metric"]: r["value"] for r in await bot.panel("metrics")}
            assert rows == {"connected_platforms": 0, "platforms_needing_reauth": 1,
                            "messages_last_hour": 46, "failed_messages_last_hour": 6,
                            "instances_in_error": 0}
            assert cluster.password not in str([status, rows, await bot.panel("status")])


async def test_the_stream_bot_without_its_database_still_answers(nebula_agent,
                                                                 health_endpoint) -> None:
    # No postgres plugin, no docker plugin: the HTTP probe alone still works, the rest is
    # unknown with the reason, and Jarvis's tools speak of the stream bot.
    config = {"streambot": {"health_url": health_endpoint.url, "interval": 3600}}
    async with nebula_agent({"streambot": nebula_streambot.plugin}, config=config) as agent:
        bot = WatchApi(agent, "streambot")
        results = await bot.checks("health", "container", "connected_platforms")
        assert results["health"]["last_status"] == "ok"
        assert results["container"]["summary"] == (
            "the docker plugin is not running, so container 'stream-bot' cannot be read")
        assert results["connected_platforms"]["summary"] == (
            "the postgres plugin is not running, so database 'streambot' cannot be read")
        _, body = await agent.get("/api/v1/tools")
        tools = {t["name"]: t["description"] for t in body["tools"]
                 if t["name"].startswith("streambot.")}
        assert tools["streambot.status"].startswith("Is the stream bot (SnappleBotAI) "
                                                    "healthy?")
        assert "message rate" in tools["streambot.messages_last_hour"]
        assert tools["streambot.connected_platforms"].startswith("On how many platforms")


async def test_disabling_the_plugin_closes_its_watch(nebula_agent, cluster,
                                                     health_endpoint) -> None:
    stuck = {"stuck": {"sql": "SELECT 1 FROM pg_sleep(120)"}}
    with app_database(cluster, "streambot", DDL) as db:
        config = bot_config(cluster, db, health_endpoint.url, metrics=stuck,
                            statement_timeout_ms=600_000)
        async with nebula_agent(PLUGINS, config=config, schedule=False) as agent:
            await assert_stopping_cancels_a_reading(agent, "streambot", cluster, db)
