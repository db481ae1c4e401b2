"""Schema migrations, applied in order; `PRAGMA user_version` records how far a store got.

Append new steps; never edit one that has shipped."""

MIGRATIONS: list[str] = [
    """
    CREATE TABLE check_results (
        id INTEGER PRIMARY KEY,
        check_name TEXT NOT NULL,
        ts REAL NOT NULL,
        status TEXT NOT NULL,
        state TEXT NOT NULL,
        summary TEXT NOT NULL,
        metrics TEXT NOT NULL DEFAULT '{}',
        duration_ms REAL NOT NULL DEFAULT 0
    );
    CREATE INDEX check_results_name_ts ON check_results (check_name, ts);
    CREATE INDEX check_results_ts ON check_results (ts);

    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        topic TEXT NOT NULL,
        source TEXT NOT NULL,
        data TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX events_ts ON events (ts);

    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        params TEXT NOT NULL DEFAULT '{}',
        outcome TEXT NOT NULL,
        duration_ms REAL,
        approval_id TEXT,
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_ts ON audit (ts);

    CREATE TABLE approvals (
        id TEXT PRIMARY KEY,
        created REAL NOT NULL,
        action TEXT NOT NULL,
        params TEXT NOT NULL DEFAULT '{}',
        requested_by TEXT NOT NULL,
        status TEXT NOT NULL,
        decided_by TEXT,
        decided_at REAL,
        reason TEXT NOT NULL DEFAULT '',
        result TEXT
    );
    CREATE INDEX approvals_status ON approvals (status, created);

    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        created REAL NOT NULL,
        revoked REAL
    );

    CREATE TABLE kv (
        plugin TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        updated REAL NOT NULL,
        PRIMARY KEY (plugin, key)
    );
    """,
    """
    CREATE TABLE secrets (
        plugin TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        updated REAL NOT NULL,
        PRIMARY KEY (plugin, key)
    );
    """,
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        hash TEXT NOT NULL,
        role TEXT NOT NULL,
        totp_secret TEXT,
        recovery TEXT NOT NULL DEFAULT '[]',
        created REAL NOT NULL,
        last_login REAL
    );

    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        csrf TEXT NOT NULL,
        created REAL NOT NULL,
        expires REAL NOT NULL,
        ip TEXT NOT NULL DEFAULT '',
        user_agent TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX sessions_user ON sessions (user_id);

    CREATE TABLE failed_logins (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        ip TEXT NOT NULL,
        username TEXT NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE INDEX failed_logins_ts ON failed_logins (ts);
    """,
    # Jarvis conversations (nebula.jarvis.conversations): one row per conversation, one per
    # message in the order the model saw them.
    """
    CREATE TABLE jarvis_conversations (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        actor TEXT NOT NULL,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        state TEXT NOT NULL,
        error TEXT,
        tokens INTEGER NOT NULL DEFAULT 0,
        pending TEXT
    );
    CREATE INDEX jarvis_conversations_updated ON jarvis_conversations (updated);

    CREATE TABLE jarvis_messages (
        id INTEGER PRIMARY KEY,
        conversation_id TEXT NOT NULL REFERENCES jarvis_conversations (id) ON DELETE CASCADE,
        ts REAL NOT NULL,
        role TEXT NOT NULL,
        content TEXT,
        tool_calls TEXT,
        tool_call_id TEXT,
        name TEXT
    );
    CREATE INDEX jarvis_messages_conversation ON jarvis_messages (conversation_id, id);
    """,
    # Approvals bound to what the approver saw (nebula.actions): `plan` is the shown copy of
    # what will run (secrets masked), `sealed` the same encrypted with the agent's key (the
    # only copy with the real values), `digest` a hash of the shown copy, `expires` the end of
    # its validity. Existing rows keep params only; they expire like any other.
    # `totp_last_step` refuses a TOTP code used twice within its window.
    """
    ALTER TABLE approvals ADD COLUMN plan TEXT;
    ALTER TABLE approvals ADD COLUMN sealed TEXT;
    ALTER TABLE approvals ADD COLUMN digest TEXT NOT NULL DEFAULT '';
    ALTER TABLE approvals ADD COLUMN expires REAL;
    ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
    """,
    # Action runs (nebula.actions): a long action answers with its run id while it goes on;
    # a run still `running` at the next start was cut short by the agent stopping.
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        action TEXT NOT NULL,
        actor TEXT NOT NULL,
        approval_id TEXT,
        started REAL NOT NULL,
        finished REAL,
        status TEXT NOT NULL,
        outcome TEXT
    );
    CREATE INDEX runs_status ON runs (status, started);
    """,
    # Metric and status history (nebula.history). Portable SQL: the PostgreSQL store runs
    # these too, so only types and clauses both engines know (DOUBLE PRECISION, BOOLEAN with
    # FALSE, composite primary keys; upserts are written as INSERT ... ON CONFLICT).
    # history_series names each (check, metric) once; rollup rows carry its id, keeping a
    # row small (a 5-minute row is written 288 times a day per metric). Buckets are epoch
    # seconds at the bucket's start; `vsum` and `n` rather than a mean, so merging a batch
    # into a bucket is exact. status_spans: one row per continuous period in one status,
    # `end_ts` NULL while it lasts, `seen` the latest result in it (accounted in
    # status_hourly up to there). check_results.maintenance marks a result taken in a
    # maintenance window.
    """
    CREATE TABLE history_series (
        id INTEGER PRIMARY KEY,
        check_name TEXT NOT NULL,
        metric TEXT NOT NULL,
        unit TEXT,
        UNIQUE (check_name, metric)
    );
    CREATE TABLE history_5m (
        series INTEGER NOT NULL,
        bucket INTEGER NOT NULL,
        vmin DOUBLE PRECISION NOT NULL,
        vsum DOUBLE PRECISION NOT NULL,
        vmax DOUBLE PRECISION NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (series, bucket)
    );
    CREATE TABLE history_1h (
        series INTEGER NOT NULL,
        bucket INTEGER NOT NULL,
        vmin DOUBLE PRECISION NOT NULL,
        vsum DOUBLE PRECISION NOT NULL,
        vmax DOUBLE PRECISION NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (series, bucket)
    );
    CREATE TABLE status_spans (
        check_name TEXT NOT NULL,
        start_ts DOUBLE PRECISION NOT NULL,
        end_ts DOUBLE PRECISION,
        seen DOUBLE PRECISION NOT NULL,
        status TEXT NOT NULL,
        summary TEXT NOT NULL,
        maintenance BOOLEAN NOT NULL DEFAULT FALSE,
        PRIMARY KEY (check_name, start_ts)
    );
    CREATE INDEX status_spans_end ON status_spans (end_ts);
    CREATE TABLE status_hourly (
        check_name TEXT NOT NULL,
        bucket INTEGER NOT NULL,
        ok_s DOUBLE PRECISION NOT NULL DEFAULT 0,
        warning_s DOUBLE PRECISION NOT NULL DEFAULT 0,
        critical_s DOUBLE PRECISION NOT NULL DEFAULT 0,
        unknown_s DOUBLE PRECISION NOT NULL DEFAULT 0,
        maintenance_s DOUBLE PRECISION NOT NULL DEFAULT 0,
        PRIMARY KEY (check_name, bucket)
    );
    CREATE INDEX status_hourly_bucket ON status_hourly (bucket);
    ALTER TABLE check_results ADD COLUMN maintenance BOOLEAN NOT NULL DEFAULT FALSE;
    """,
    # Daily status rollups beside the hourly ones (90 days of uptime read 90 rows per check,
    # not 2,160). Both are pruned check by check through their primary keys, so the bucket
    # index goes.
    """
    CREATE TABLE status_daily (
        check_name TEXT NOT NULL,
        bucket INTEGER NOT NULL,
        ok_s DOUBLE PRECISION NOT NULL DEFAULT 0,
        warning_s DOUBLE PRECISION NOT NULL DEFAULT 0,
        critical_s DOUBLE PRECISION NOT NULL DEFAULT 0,
        unknown_s DOUBLE PRECISION NOT NULL DEFAULT 0,
        maintenance_s DOUBLE PRECISION NOT NULL DEFAULT 0,
        PRIMARY KEY (check_name, bucket)
    );
    INSERT INTO status_daily (check_name, bucket, ok_s, warning_s, critical_s, unknown_s,
                              maintenance_s)
        SELECT check_name, bucket - bucket % 86400, sum(ok_s), sum(warning_s),
               sum(critical_s), sum(unknown_s), sum(maintenance_s)
        FROM status_hourly GROUP BY check_name, bucket - bucket % 86400;
    DROP INDEX status_hourly_bucket;
    """,
]
