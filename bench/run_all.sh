#!/usr/bin/env bash
# Every benchmark, one after another (run together they would disturb each other's numbers).
# Arguments go to each script: `bench/run_all.sh --json > results.jsonl` keeps the numbers.
# Exits 1 when any target was missed. About three minutes, mostly the agent's idle window.
# Python: $BENCH_PYTHON, else the project's .venv, else python3.
set -u
cd "$(dirname "$0")/.."
python=${BENCH_PYTHON:-.venv/bin/python}
[ -x "$python" ] || python=python3
for tool in hyperfine wrk; do
    command -v "$tool" >/dev/null || echo "[bench] $tool is not installed (apt-get install" \
        "$tool): its benchmark falls back to a Python loop, less comparable" >&2
done
status=0
for name in cli_help agent_idle scheduler_lateness api_checks docker_refresh postgres_health \
        domains_cycle web_overview plex_poll homeassistant_states discordbot_cycle google_poll \
        jarvis_step jarvis_catalogue notify_remediation_overhead; do
    "$python" "bench/$name.py" "$@" || status=1
done
exit "$status"
