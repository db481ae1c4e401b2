"""Providers' answers as docs/protocols/ records them, turned into outcomes."""

from __future__ import annotations

import pytest

from nebula.helpers.ddns.outcome import Outcome
from nebula_ddns.duckdns import parse


@pytest.mark.parametrize(("status", "body", "outcome", "code"), [
    (200, "OK", Outcome.UPDATED, "OK"),
    (200, "OK\n203.0.113.7\n\nUPDATED", Outcome.UPDATED, "OK"),
    (200, "OK\n203.0.113.7\n2001:db8::7\nNOCHANGE", Outcome.UNCHANGED, "OK"),
    (200, "KO", Outcome.BAD_AUTH, "KO"),
    (429, "", Outcome.RATE_LIMITED, 429),
    (502, "<html>Bad gateway</html>", Outcome.FAILED, 502),
    (200, "<html>Please log in</html>", Outcome.FAILED, None),
])
def test_duckdns_answers(status, body, outcome, code) -> None:
    answer = parse(status, body)
    assert (answer.outcome, answer.code) == (outcome, code)


def test_ko_says_what_to_check() -> None:
    assert parse(200, "KO").describe() == (
        "DuckDNS answered KO: the token is wrong or the sub-name is not in this account "
        "(DuckDNS KO: KO)")
