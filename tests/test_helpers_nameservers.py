"""nebula.helpers.nameservers: each configured DNS server with its own port or the default."""

from __future__ import annotations

import re

import pytest

from nebula.helpers.nameservers import Nameserver, parse, problems


@pytest.mark.parametrize(("spec", "address", "port"), [
    ("1.1.1.1", "1.1.1.1", 53),
    ("127.0.0.1:5353", "127.0.0.1", 5353),
    ("2606:4700::1111", "2606:4700::1111", 53),  # bare IPv6: every colon is the address's
    ("[::1]:5353", "::1", 5353),
    ("[2001:DB8::1]", "2001:db8::1", 53),
    (" 9.9.9.9:53 ", "9.9.9.9", 53),
])
def test_each_form_gives_its_address_and_port(spec: str, address: str, port: int) -> None:
    assert parse(spec, 53) == Nameserver(address, port, spec.strip())


def test_the_default_port_is_the_callers() -> None:
    assert parse("127.0.0.1", 1053).port == 1053
    assert parse("127.0.0.1:99", 1053).port == 99


@pytest.mark.parametrize(("spec", "message"), [
    ("dns.google", "is not an IP address, address:port or [IPv6]:port"),
    ("dns.google:53", "is not an IP address"),
    ("127.0.0.1:dns", "the port must be a number from 1 to 65535"),
    ("127.0.0.1:0", "the port must be a number from 1 to 65535"),
    ("127.0.0.1:70000", "the port must be a number from 1 to 65535"),
    ("127.0.0.1:53/tcp", "is not an IP address"),
    ("user@127.0.0.1", "is not an IP address"),
])
def test_what_is_not_a_server_is_named(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse(spec, 53)
    (found,) = problems(["1.1.1.1", spec], key="resolvers")
    assert found.startswith(f"resolvers: {spec!r}") and message in found
