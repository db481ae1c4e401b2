"""The stream bot's tables the plugin reads, shaped as its Drizzle schema declares them."""

DDL = """
CREATE TABLE users (
    id varchar PRIMARY KEY DEFAULT gen_random_uuid(),
    email text NOT NULL UNIQUE
);
CREATE TABLE platform_connections (
    id varchar PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id varchar NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    platform text NOT NULL,
    platform_username text,
    access_token text,
    is_connected boolean DEFAULT false NOT NULL,
    needs_refresh boolean DEFAULT false NOT NULL,
    last_connected_at timestamp,
    created_at timestamp DEFAULT now() NOT NULL
);
CREATE TABLE message_history (
    id varchar PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id varchar NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    platform text NOT NULL,
    trigger_type text NOT NULL,
    fact_content text NOT NULL,
    posted_at timestamp DEFAULT now() NOT NULL,
    status text DEFAULT 'success' NOT NULL,
    error_message text
);
CREATE TABLE bot_instances (
    id varchar PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id varchar NOT NULL REFERENCES users (id) ON DELETE CASCADE UNIQUE,
    status text DEFAULT 'stopped' NOT NULL,
    last_heartbeat timestamp
);
INSERT INTO users (id, email) VALUES ('u1', 'owner@example.test');
"""


def connect(cluster, db: str, platform: str, *, connected: bool = True,
            needs_refresh: bool = False) -> None:
    cluster.execute(
        "INSERT INTO platform_connections (user_id, platform, platform_username, "
        f"access_token, is_connected, needs_refresh) VALUES ('u1', '{platform}', 'snapple', "
        f"'tok', {connected}, {needs_refresh})", db)


def post_messages(cluster, db: str, count: int, *, status: str = "success",
                  age: str = "0 minutes") -> None:
    cluster.execute(
        "INSERT INTO message_history (user_id, platform, trigger_type, fact_content, "
        f"posted_at, status) SELECT 'u1', 'twitch', 'scheduled', 'fact ' || i, "
        f"now() - interval '{age}', '{status}' FROM generate_series(1, {count}) AS i", db)
