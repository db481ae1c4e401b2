"""The `[plugins.advisor]` config schema."""

from __future__ import annotations

from nebula.helpers.schema import Schema, config_schema, integer, interval, number, string

CONFIG_SCHEMA: Schema = config_schema({
    "interval": interval(3600, "Seconds between passes over the history and the peers; "
                               "the check and panel read the last pass."),
    "history_days": integer(30, "Days of history a trend is fitted to (the longer one).", 2),
    "trend_days": integer(7, "Days of the recent trend a forecast follows.", 2),
    "horizon_days": integer(90, "Forecasts further away than this are not told.", 1),
    "warning_days": integer(14, "A disk full sooner than this is a warning.", 1),
    "database_growth_share": number(0.01, "A database growing by this share of its size a "
                                          "day is told (0.01: 1 % a day)."),
    "memory_growth_share": number(0.2, "A container whose memory grew by this share over "
                                        "the recent trend_days is told (0.2: 20 %)."),
    "idle_days": integer(7, "Days a container's CPU must stay below idle_cpu_percent to "
                            "be told idle.", 1),
    "idle_cpu_percent": number(0.5, "CPU (percent of one core) an idle container never "
                                    "reaches."),
    "log_bytes_warning": integer(100 * 1024 ** 2, "A container log larger than this is "
                                                  "told.", 1),
    "digest_cron": string(None, "When a digest is sent (cron, local time; \"0 9 * * 1\": "
                                "Mondays at 9): an `advisor.digest` event, which notify "
                                "channels whose `events` match it deliver. Unset: none."),
})
