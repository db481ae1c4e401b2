"""Panel and tool rows, with the fields that declare them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.api import Field
from nebula_zoneedit.coordinator import Observation

HISTORY_FIELDS = (
    Field("t", "Time", "s", "Epoch seconds of the request to ZoneEdit."),
    Field("host", "Host", "", "The host name updated."),
    Field("family", "Family", "", "ipv4 (A record) or ipv6 (AAAA record)."),
    Field("ip", "New IP", "", "The address sent to ZoneEdit."),
    Field("previous", "DNS before", "", "What each resolver served before the update."),
    Field("outcome", "Outcome", "", "updated, unchanged, rate_limited, bad_auth, "
                                    "unknown_host, bad_request or failed."),
    Field("code", "Code", "", "ZoneEdit's answer code (or the HTTP status)."),
    Field("message", "Message", "", "ZoneEdit's answer, explained."),
    Field("verified", "Verified", "", "Whether DNS served the new address afterwards."),
    Field("trigger", "Trigger", "", "schedule, or action when asked for."),
)

RECORD_FIELDS = (
    Field("host", "Host", "", "A configured host."),
    Field("family", "Family", "", "ipv4 or ipv6."),
    Field("public_ip", "Public IP", "", "What the echo services agreed on (empty: they "
                                        "did not)."),
    Field("served", "DNS serves", "", "Each resolver's answer."),
    Field("match", "Match", "", "Every resolver serves the public IP."),
    Field("next_update", "Next update", "s", "Epoch seconds from which ZoneEdit may be "
                                             "asked again (min interval or backoff)."),
)


def records(obs: Observation, states: Mapping[str, Mapping[str, Any]],
            min_interval: float) -> list[dict[str, Any]]:
    rows = []
    for (host, family), pub in sorted(obs.published.items()):
        ip = obs.consensus[family].ip
        state = states.get(f"{host}/ipv{family}", {})
        next_update = max(state.get("backoff_until", 0.0),
                          state.get("last_request", -min_interval) + min_interval)
        rows.append({"host": host, "family": f"ipv{family}", "public_ip": ip,
                     "served": pub.describe(), "match": pub.matches(ip) if ip else False,
                     "next_update": round(next_update, 1) if next_update > 0 else None})
    return rows

