"""ZoneEdit's answers and the echo services' formats, as the protocol notes record them."""

from __future__ import annotations

import pytest

from nebula.helpers.ddns.echo import EchoAnswer, agree, parse_ip
from nebula_zoneedit.answers import Outcome, parse
from tests.echo_services import FORMATS


def test_success_is_picked_by_host_among_tags_sharing_a_line() -> None:
    body = ('<SUCCESS CODE="200" TEXT="Update succeeded." ZONE="example.com" '
            'HOST="a.example.com" IP="203.0.113.7"> <error code="709" text="invalid hostname" '
            'HOST="b.example.com"><SUCCESS CODE="200" TEXT="Update succeeded.">')
    assert parse(200, body, "a.example.com", 600).outcome is Outcome.UPDATED
    bad = parse(200, body, "b.example.com", 600)
    assert (bad.outcome, bad.code) == (Outcome.UNKNOWN_HOST, 709)


@pytest.mark.parametrize(("body", "outcome", "retry"), [
    ('<SUCCESS CODE="201" TEXT="No records need updating." ZONE="example.com">',
     Outcome.UNCHANGED, None),
    ('<ERROR CODE="700" TEXT="no update required" ZONE="example.com">', Outcome.UNCHANGED, None),
    ('<ERROR CODE="707" TEXT="Duplicate updates for the same host/ip, adjust client settings" '
     'ZONE="example.com" HOST="h.example.com">', Outcome.UNCHANGED, None),
    ('<ERROR CODE="707" TEXT="Too frequent updates for the same host, adjust client settings" '
     'ZONE="example.com" HOST="h.example.com">', Outcome.RATE_LIMITED, 600),
    ('<ERROR CODE="702" PARAM="900" TEXT="Minimum 900 seconds between requests" '
     'ZONE="example.com">', Outcome.RATE_LIMITED, 900),
    ('<ERROR CODE="708" TEXT="Login/authorization error" ZONE="">', Outcome.BAD_AUTH, None),
    ('<ERROR CODE="701" TEXT="Zone is not set up in this account." ZONE="x.com">',
     Outcome.UNKNOWN_HOST, None),
    ('<ERROR CODE="704" TEXT="Zone must be a valid \'dotted\' internet name." ZONE="x">',
     Outcome.BAD_REQUEST, None),
    ("<html>Service unavailable</html>", Outcome.FAILED, None),
])
def test_each_code_gets_its_outcome(body: str, outcome: Outcome, retry: float | None) -> None:
    answer = parse(200, body, "h.example.com", 60)
    assert answer.outcome is outcome
    assert answer.retry_after == retry


def test_http_401_is_bad_credentials_and_the_message_says_what_to_check() -> None:
    answer = parse(401, "<title>Authentication Failed </title>", "h.example.com", 600)
    assert answer.outcome is Outcome.BAD_AUTH
    assert "credentials" in answer.describe() and "token" in answer.describe()


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_echo_format_gives_the_ip(name: str) -> None:
    body, _ = FORMATS[name]("203.0.113.7")
    assert parse_ip(body, 4) == "203.0.113.7"
    body6, _ = FORMATS[name]("2001:db8::7")
    assert parse_ip(body6, 6) == "2001:db8::7"


def test_non_ip_answers_and_wrong_families_give_nothing() -> None:
    assert parse_ip("<html>Please log in</html>", 4) is None
    assert parse_ip("2001:db8::7", 4) is None
    assert parse_ip("999.1.1.1", 4) is None


def test_agreement_needs_no_dissent_and_enough_voices() -> None:
    a, b = "203.0.113.7", "203.0.113.8"
    assert agree([EchoAnswer("u1", a), EchoAnswer("u2", a), EchoAnswer("u3", None, "x")],
                 4, 2).ip == a
    split = agree([EchoAnswer("u1", a), EchoAnswer("u2", b), EchoAnswer("u3", a)], 4, 2)
    assert split.ip is None and "disagree" in split.reason
    lonely = agree([EchoAnswer("u1", a), EchoAnswer("u2", None, "timeout")], 4, 2)
    assert lonely.ip is None and "2 must agree" in lonely.reason
