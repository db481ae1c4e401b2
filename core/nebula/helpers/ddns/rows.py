"""Panel and tool rows, with the fields that declare them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nebula.api import Field
from nebula.helpers.ddns.updater import Observation, state_key


def history_fields(provider: str, show_provider: bool = False) -> tuple[Field, ...]:
    """The history panel's columns; `provider` names the service in their descriptions."""
    return (
        Field("t", "Time", "s", f"Epoch seconds of the request to {provider}."),
        Field("host", "Host", "", "The host name updated."),
        Field("family", "Family", "", "ipv4 (A record) or ipv6 (AAAA record)."),
        *((Field("provider", "Provider", "", "The provider that keeps this host."),)
          if show_provider else ()),
        Field("ip", "New IP", "", f"The address sent to {provider}."),
        Field("previous", "DNS before", "", "What each resolver served before the update."),
        Field("outcome", "Outcome", "", "updated, unchanged, rate_limited, bad_auth, "
                                        "unknown_host, bad_request or failed."),
        Field("code", "Code", "", f"{provider}'s answer code (or the HTTP status)."),
        Field("message", "Message", "", f"{provider}'s answer, explained."),
        Field("verified", "Verified", "", "Whether DNS served the new address afterwards."),
        Field("trigger", "Trigger", "", "schedule, or action when asked for."),
    )


def record_fields(provider: str, show_provider: bool = False) -> tuple[Field, ...]:
    return (
        Field("host", "Host", "", "A configured host."),
        *((Field("provider", "Provider", "", "The provider that keeps this host."),)
          if show_provider else ()),
        Field("family", "Family", "", "ipv4 or ipv6."),
        Field("public_ip", "Public IP", "", "What the echo services agreed on (empty: they "
                                            "did not)."),
        Field("served", "DNS serves", "", "Each resolver's answer."),
        Field("match", "Match", "", "Every resolver serves the public IP."),
        Field("next_update", "Next update", "s", f"Epoch seconds from which {provider} may be "
                                                 "asked again (min interval or backoff)."),
    )


def records(obs: Observation, states: Mapping[str, Mapping[str, Any]],
            min_interval: Mapping[str, float],
            providers: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """One row per host and family; `providers` (host to label) adds a provider column."""
    rows = []
    for (host, family), pub in sorted(obs.published.items()):
        ip = obs.consensus[family].ip
        state = states.get(state_key(host, family), {})
        floor = min_interval[host]
        next_update = max(state.get("backoff_until", 0.0),
                          state.get("last_request", -floor) + floor)
        rows.append({"host": host, **({"provider": providers[host]} if providers else {}),
                     "family": f"ipv{family}", "public_ip": ip,
                     "served": pub.describe(), "match": pub.matches(ip) if ip else False,
                     "next_update": round(next_update, 1) if next_update > 0 else None})
    return rows

