"""The panel's rows and fields."""

from __future__ import annotations

from nebula.api import Field

HISTORY_FIELDS = (
    Field("ts", "Time", "s", "Epoch seconds the message was made."),
    Field("channel", "Channel", "", "The channel it went to."),
    Field("kind", "Kind", "", "problem, reminder, recovery, event, test, or digest (what a "
          "channel missed while it was down)."),
    Field("severity", "Severity", "", "info, ok, warning, unknown or critical."),
    Field("title", "Title", "", "The message's first line."),
    Field("outcome", "Outcome", "", "sent, failed or held (quiet hours)."),
    Field("detail", "Detail", "", "Why it failed or was held; attempts when sent."),
)

CHANNEL_FIELDS = (
    Field("channel", "Channel", "", "The channel's name."),
    Field("type", "Type", "", "discord, ntfy, webhook, email or apprise."),
    Field("added", "Added", "", "Added by an admin at run time (notify.add_channel), not "
          "in the config file."),
    Field("last_outcome", "Last outcome", "", "sent or failed; empty before the first."),
    Field("last_at", "Last at", "s", "Epoch seconds of the last delivery attempt."),
    Field("last_error", "Last error", "", "Why the last delivery failed."),
    Field("sent", "Sent", "", "Messages delivered since the plugin started."),
    Field("failed", "Failed", "", "Messages that could not be delivered since the start."),
    Field("down_since", "Down since", "s",
          "Epoch seconds of the failed delivery that took the channel down; empty while up."),
    Field("retry_at", "Next try", "s",
          "Epoch seconds when what it missed is next sent, as one digest; empty while up."),
)
