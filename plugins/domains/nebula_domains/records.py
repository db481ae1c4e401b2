"""What one record of each checked type says, as one comparable text, and how an
expectation of that type is met.

Served records and expected ones go through the same canonical form: dnspython's
presentation format with names lower-cased and absolute, so `10 Mail.example.com` in the
config matches the `10 mail.example.com.` a resolver serves, and `0:0::1` matches `::1`.
TXT is the exception: its value is the record's text, its strings joined (a long record
comes in 255-byte pieces), written in the config as plain text."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dns.rdata

ADDRESS_TYPES = ("A", "AAAA")
# How each type is written in `expect`, for the message when it is not.
FORMS = {
    "A": "an IPv4 address or \"public_ip\"",
    "AAAA": "an IPv6 address or \"public_ip\"",
    "CNAME": "a host name",
    "MX": "preference and exchange, e.g. \"10 mail.example.com\"",
    "SRV": "priority, weight, port and target, e.g. \"0 5 5060 sip.example.com\"",
    "CAA": "flags, tag and value, e.g. \"0 issue letsencrypt.org\"",
}
SHOWN_TXT = 100  # longer TXT records (DKIM keys) are cut in messages


def value(rdata: dns.rdata.Rdata) -> str:
    """One served record as its canonical text."""
    import dns.name  # with the first answer or expectation: not while the plugin starts
    import dns.rdata
    import dns.rdatatype

    if rdata.rdtype == dns.rdatatype.TXT:
        return b"".join(rdata.strings).decode("utf-8", "backslashreplace")  # type: ignore[attr-defined]
    # The canonical wire form lower-cases the names in it (RFC 4034, 6.2).
    wire = rdata.to_digestable(dns.name.root)
    return dns.rdata.from_wire(rdata.rdclass, rdata.rdtype, wire, 0, len(wire)).to_text()


def expected(rdtype: str, text: str) -> str:
    """One configured value as its canonical text; ValueError says how to write it."""
    if rdtype == "TXT":
        return text
    import dns.exception
    import dns.name
    import dns.rdata

    try:
        rdata = dns.rdata.from_text("IN", rdtype, text, origin=dns.name.root)
    except (dns.exception.DNSException, ValueError):
        raise ValueError(f"{text!r} is not a valid {rdtype} value ({FORMS[rdtype]})") from None
    return value(rdata)


def met(rdtype: str, want: frozenset[str], served: Iterable[str]) -> bool:
    """Whether a resolver's answer meets the expectation. Each type must be served exactly
    as expected (an extra MX or CAA record matters as much as a missing one), except TXT:
    the expected texts must be among those served, since one name's TXT records serve
    unrelated purposes (SPF, site verifications)."""
    got = frozenset(served)
    return want <= got if rdtype == "TXT" else want == got


def shown(rdtype: str, text: str) -> str:
    """A value as messages show it: TXT quoted (and cut when long), others as they are."""
    if rdtype != "TXT":
        return text
    if len(text) > SHOWN_TXT:
        return json.dumps(text[:SHOWN_TXT], ensure_ascii=False)[:-1] + f'…" ({len(text)} chars)'
    return json.dumps(text, ensure_ascii=False)
