"""A plugin watching n8n with nebula.helpers.appwatch, written as a third party would; its
manifest and its ready-made hooks share this one module (a package splits them into
plugin.py and hooks.py, as plugins/discordbot does)."""

from __future__ import annotations

from nebula.api import Manifest
from nebula.helpers.appspec import AppMetric, AppSpec, appwatch_schema
from nebula.helpers.appwatch import AppWatchHooks

FAILED_RUNS = AppMetric("failed_runs", "SELECT count(*) FROM runs WHERE status = 'error'",
                        "Failed runs", "runs", warning=3, critical=10)
WORKERS = AppMetric("workers", "SELECT count(*) FROM workers", "Workers", warning=1,
                    critical=0, below=True)
SPEC = AppSpec(app="n8n", metrics=(FAILED_RUNS, WORKERS))

manifest = Manifest(api_version="1.2", description="Watches n8n.",
                    hooks="tests.appwatch_watcher:hooks", config_schema=appwatch_schema(SPEC))
hooks = AppWatchHooks(SPEC)
