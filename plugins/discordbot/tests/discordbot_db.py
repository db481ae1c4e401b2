"""The ticket bot's tables the plugin reads, shaped as its Drizzle schema declares them
(`timestamp` without time zone, `defaultNow()`)."""

DDL = """
CREATE TABLE tickets (
    id serial PRIMARY KEY,
    discord_id text,
    title text NOT NULL,
    description text NOT NULL,
    status text NOT NULL DEFAULT 'open',
    priority text DEFAULT 'normal',
    creator_id text NOT NULL,
    server_id text,
    closed_at timestamp,
    created_at timestamp DEFAULT now(),
    updated_at timestamp DEFAULT now()
);
CREATE TABLE stream_notification_log (
    id serial PRIMARY KEY,
    server_id text NOT NULL,
    discord_user_id text NOT NULL,
    platform text NOT NULL,
    stream_id text,
    notified_at timestamp DEFAULT now() NOT NULL,
    source text NOT NULL
);
"""


def add_tickets(cluster, db: str, count: int, *, status: str = "open",
                age: str = "0 minutes") -> None:
    """`count` tickets created `age` ago (an SQL interval)."""
    cluster.execute(
        "INSERT INTO tickets (title, description, status, creator_id, created_at) "
        f"SELECT 'help ' || i, 'please', '{status}', 'u' || i, now() - interval '{age}' "
        f"FROM generate_series(1, {count}) AS i", db)


def add_go_live(cluster, db: str, count: int, *, age: str = "0 minutes") -> None:
    cluster.execute(
        "INSERT INTO stream_notification_log (server_id, discord_user_id, platform, "
        f"stream_id, notified_at, source) SELECT 's1', 'u' || i, 'twitch', 'st' || i, "
        f"now() - interval '{age}', 'webhook' FROM generate_series(1, {count}) AS i", db)
