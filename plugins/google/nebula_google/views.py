"""What panels and tools show: rows shaped from the poller's snapshot, with field labels."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from nebula.api import Field

EVENT_FIELDS = (
    Field("start", "Starts", description="Date (all-day) or date and time with offset"),
    Field("end", "Ends", description="All-day events end the day before this date"),
    Field("summary", "Event", description="Title; (busy) when the event is private"),
    Field("location", "Where"),
    Field("all_day", "All day"),
)
MAIL_FIELDS = (
    Field("received", "Received", "epoch s"),
    Field("from", "From"),
    Field("subject", "Subject"),
)
QUOTA_FIELDS = (
    Field("account", "Account"),
    Field("usage", "Used", "bytes", "Storage used across Drive, Gmail and Photos"),
    Field("limit", "Quota", "bytes", "Absent for unlimited accounts"),
    Field("percent", "Used", "%"),
    Field("usage_in_drive", "Drive files", "bytes"),
    Field("usage_in_trash", "Drive trash", "bytes"),
)
STATUS_FIELDS = (
    Field("connected", "Connected"),
    Field("health", "Token health", description="ok, revoked, client_rejected or failing"),
    Field("message", "Last problem"),
    Field("scope", "Granted scopes"),
    Field("access_expires_in", "Access token expires in", "s"),
    Field("refreshed_at", "Last refresh", "epoch s"),
    Field("consent", "Consent flow", description="waiting, connected or failed"),
)


def event_row(event: Mapping[str, Any]) -> dict[str, Any]:
    return {k: event[k] for k in ("start", "end", "summary", "location", "all_day")}


def status(connected: bool, health: Mapping[str, Any], meta: Mapping[str, Any],
           consent: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "connected": connected,
        "health": health["state"] if connected else "not_connected",
        "message": health.get("message", "") if connected else "",
        "scope": meta.get("scope", "") if connected else "",
        "access_expires_in": round(meta["expires_at"] - time.time())
        if connected and "expires_at" in meta else None,
        "refreshed_at": meta.get("refreshed_at") if connected else None,
        "consent": consent["status"] if consent else None,
    }
    if consent:
        out["consent_error"] = consent["error"]
        for key in ("authorization_url", "verification_url", "user_code", "expires_in"):
            if consent["status"] == "waiting" and key in consent:
                out[f"consent_{key}"] = consent[key]
    return out
