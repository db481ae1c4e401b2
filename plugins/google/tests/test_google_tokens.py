"""The tokens after consent: refreshed before they expire by the scheduled job, refreshed
once when Google refuses an access token, a clear critical when the refresh token is
revoked, and never readable outside the secret store (nor in clear in the SQLite file)."""

from __future__ import annotations

import json

from google_steps import (
    browse,
    check,
    connect,
    panel,
    panel_data,
    result_of,
)

from tests.waiting import eventually

REFRESH = {"grant_type": "refresh_token"}


async def test_the_job_refreshes_the_access_token_before_it_expires(start_google,
                                                                    google) -> None:
    google.expires_in = 3
    async with start_google(schedule=True, refresh_margin=2, refresh_interval=0.1) as agent:
        await connect(agent)
        [first] = google.grants[0].access.items()
        await eventually(lambda: google.calls("/token", **REFRESH), timeout=5)
        refreshed = google.calls("/token", **REFRESH)[0]["at"]
        assert refreshed < first[1], "refreshed only after the token had expired"
        assert len(google.grants[0].access) == 2
        # The new token is the one in use: no API call is ever refused.
        await panel_data(agent, "upcoming")
        assert await check(agent, "token") == ("ok", "connected; access token valid for 0 min")
    assert google.refused == []


async def test_a_refused_access_token_is_refreshed_once_and_the_call_retried(
        start_google, google) -> None:
    async with start_google() as agent:
        await connect(agent)
        google.expire_access_tokens()  # Google ends them early (password change, say)
        assert (await panel_data(agent, "unread")) == {"value": 0}
        # Four calls were refused at once; one refresh served them all.
        assert len(google.calls("/token", **REFRESH)) == 1
        assert len(google.calls("/calendar/v3/calendars/primary/events")) == 2
        assert (await check(agent, "token"))[0] == "ok"


async def test_revoked_refresh_token_is_critical_until_connected_again(start_google,
                                                                       google) -> None:
    async with start_google() as agent:
        await connect(agent)
        google.revoke_all()  # the owner removed the app at myaccount.google.com
        status, problem = await panel(agent, "upcoming")
        assert status == 502
        assert "invalid_grant: Token has been expired or revoked." in problem["detail"]
        message = ("Google refused the refresh token (invalid_grant: Token has been expired "
                   "or revoked.); access was revoked or has expired: run the google.connect "
                   "action again (nebula action run google.connect)")
        assert await check(agent, "token") == ("critical", message)
        state = await result_of(agent, "status")
        assert state["health"] == "revoked" and state["message"] == message
        # Nothing keeps asking Google with a token it refused.
        refreshes = len(google.calls("/token", **REFRESH))
        await agent.agent.scheduler.jobs["job:google.refresh"].run()
        await check(agent, "token")
        assert len(google.calls("/token", **REFRESH)) == refreshes
        await connect(agent)
        assert (await check(agent, "token"))[0] == "ok"
        assert (await panel_data(agent, "upcoming")) == []


async def test_rejected_client_is_critical_and_names_the_config(start_google, google) -> None:
    google.expires_in = 1
    async with start_google(refresh_margin=5) as agent:
        await connect(agent)
        google.client_secret = "GOCSPX-rotated-in-the-console"
        status, summary = await check(agent, "token")
        assert status == "critical"
        assert summary == ("Google rejected the OAuth client (invalid_client: Unauthorized): "
                           "check client_id and client_secret in [plugins.google]")


async def test_tokens_are_encrypted_at_rest_and_never_shown(start_google, google, tmp_path,
                                                           capsys) -> None:
    google.expires_in = 1
    answers = []
    async with start_google(refresh_margin=5) as agent:
        started = await result_of(agent, "connect")
        await browse(started["authorization_url"])
        await eventually(lambda: len(google.grants) == 1, timeout=5)
        await check(agent, "token")  # a refresh: a second access token
        assert len(google.grants[0].access) == 2
        answers.append(await result_of(agent, "status"))
        for name in ("status", "upcoming", "drive_quota", "unread"):
            answers.append(await panel_data(agent, name))
        for path in ("/api/v1/config", "/api/v1/audit", "/api/v1/events",
                     "/api/v1/plugins/google", "/api/v1/checks"):
            status, body = await agent.get(path)
            assert status == 200, (path, body)
            answers.append(body)
        status, body = await agent.post("/api/v1/tools/google.status/run", {})
        answers.append(body)
    tokens = google.issued()
    assert len(tokens) >= 3  # a refresh token and at least two access tokens
    logs = "".join(capsys.readouterr())
    assert "google.token_refreshed" in logs
    stored = b"".join(p.read_bytes() for p in (tmp_path / "data").glob("nebula.db*"))
    assert b"google" in stored and len(stored) > 4096
    answered = json.dumps(answers)
    for secret in (*tokens, google.client_secret):
        assert secret not in logs
        assert secret not in answered
        assert secret.encode() not in stored
    # ...and yet the store holds them: a new agent on the same data is still connected.
    async with start_google() as agent:
        assert (await result_of(agent, "status"))["connected"] is True
        assert await panel_data(agent, "drive_quota")
