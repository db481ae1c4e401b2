"""What the streambot plugin watches by default, how its Jarvis tools speak of it, and the
config schema that follows (plain data: the manifest reads it).

The SQL follows the stream bot's own schema (Drizzle, `shared/schema.ts`):
`platform_connections` (platform, is_connected, needs_refresh), `message_history` (one row
per message the bot posted: platform, posted_at, status 'success' / 'failed') and
`bot_instances` (status 'running' / 'stopped' / 'error'). Every query can be overridden in
`[plugins.streambot.metrics]`.
"""

from nebula.helpers.appspec import AppMetric, AppSpec, appwatch_schema

CONNECTED_PLATFORMS = AppMetric(
    "connected_platforms",
    "SELECT count(DISTINCT platform) FROM platform_connections WHERE is_connected",
    "Connected platforms", "platforms", warning=0, below=True,
    question="On how many platforms (Twitch, YouTube, Kick) is the stream "
             "bot connected right now?",
    description="Platforms with a live connection; none connected warns (lost connections).")

REAUTH_NEEDED = AppMetric(
    "platforms_needing_reauth",
    "SELECT count(*) FROM platform_connections WHERE needs_refresh",
    "Connections needing re-authentication", "connections", warning=1,
    question="How many of the stream bot's platform connections need the owner to log in "
             "again?",
    description="Connections whose token can no longer be refreshed.")

MESSAGES_LAST_HOUR = AppMetric(
    "messages_last_hour",
    "SELECT count(*) FROM message_history WHERE posted_at > now() - interval '1 hour'",
    "Messages in the last hour", "messages/h",
    question="How many chat messages did the stream bot post in the last hour (its message "
             "rate)?",
    description="Messages the bot posted to chat in the last hour.")

FAILED_LAST_HOUR = AppMetric(
    "failed_messages_last_hour",
    "SELECT count(*) FROM message_history WHERE status = 'failed' AND posted_at > now() - "
    "interval '1 hour'",
    "Failed messages in the last hour", "messages/h", warning=5, critical=50,
    question="How many of the stream bot's chat messages failed in the last hour?",
    description="Messages the bot could not post in the last hour.")

INSTANCES_IN_ERROR = AppMetric(
    "instances_in_error",
    "SELECT count(*) FROM bot_instances WHERE status = 'error'",
    "Bot instances in error", "instances", warning=1,
    question="How many of the stream bot's per-user bot instances are in an error state?",
    description="Per-user bot instances whose status is error.")

SPEC = AppSpec(
    app="stream bot",
    container="stream-bot",
    database="streambot",
    health_url="https://stream.rig-city.com/health",
    metrics=(CONNECTED_PLATFORMS, REAUTH_NEEDED, MESSAGES_LAST_HOUR, FAILED_LAST_HOUR,
             INSTANCES_IN_ERROR),
    health_question="Is the stream bot (SnappleBotAI) healthy? Checks its health endpoint, "
                    "its container (running, restarts), its database, connected platforms, "
                    "its message rate and failures.",
)

CONFIG_SCHEMA = appwatch_schema(SPEC)
