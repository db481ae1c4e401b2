"""What the discordbot plugin watches by default, how its Jarvis tools speak of it, and the
config schema that follows (plain data: the manifest reads it).

The SQL follows the ticket bot's own schema (Drizzle, `shared/schema.ts`): `tickets`
(status 'open' / 'closed', created_at) and `stream_notification_log` (one row per go-live
notification sent, notified_at). Every query can be overridden in `[plugins.discordbot.metrics]`.
"""

from nebula.helpers.appspec import AppMetric, AppSpec, appwatch_schema

OPEN_TICKETS = AppMetric(
    "open_tickets", "SELECT count(*) FROM tickets WHERE status = 'open'",
    "Open tickets", "tickets", warning=50, critical=200,
    question="How many open tickets does the Discord ticket bot have? Answers the count "
             "and whether it is above the owner's thresholds.",
    description="Tickets whose status is open; a growing pile means nobody answers them.")

TICKETS_LAST_HOUR = AppMetric(
    "tickets_last_hour",
    "SELECT count(*) FROM tickets WHERE created_at > now() - interval '1 hour'",
    "Tickets created in the last hour", "tickets/h", warning=20, critical=100,
    question="How many tickets were created in the last hour? A burst means ticket spam.",
    description="New tickets in the last hour: a burst (ticket spam) warns.")

GO_LIVE_LAST_HOUR = AppMetric(
    "go_live_last_hour",
    "SELECT count(*) FROM stream_notification_log WHERE notified_at > now() - "
    "interval '1 hour'",
    "Go-live notifications in the last hour", "notifications/h", warning=30,
    question="How many stream go-live notifications did the Discord bot send in the "
             "last hour?",
    description="Rate of stream go-live notifications; a flood means a notification loop.")

SPEC = AppSpec(
    app="Discord ticket bot",
    container="discord-bot",
    database="ticketbot",
    health_url="https://bot.rig-city.com/health",
    # The bot's health answer reports its dependencies; "degraded" alone (a slow
    # gateway) is not worth a page, a dependency that is down is.
    health_json={"dependencies.discord.status": "up", "dependencies.database.status": "up"},
    metrics=(OPEN_TICKETS, TICKETS_LAST_HOUR, GO_LIVE_LAST_HOUR),
    health_question="Is the Discord ticket bot healthy? Checks its health endpoint (Discord "
                    "gateway and database up), its container (running, restarts), its "
                    "database, open tickets, the ticket rate and go-live notifications.",
)

CONFIG_SCHEMA = appwatch_schema(SPEC)
