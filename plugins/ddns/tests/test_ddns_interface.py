"""IPv6 from the host's own global address, read from the kernel (/proc/net/if_inet6).

A real address is added to a real interface inside a throwaway network namespace
(`unshare -n`, so the machine's own network is untouched), and the reader runs there."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nebula.helpers.ddns.echo import EchoAnswer, agree, global_ipv6

pytestmark = pytest.mark.e2e

STABLE, TEMPORARY, ULA = "2a02:db8:1::7", "2a02:db8:1::99", "fd00::2"


AGENT = Path(__file__).with_name("ddns_netns_agent.py")
SETUP = (f"ip link set lo up && ip -6 addr add {STABLE}/64 dev lo nodad && "
         f"ip -6 addr add {ULA}/64 dev lo nodad && "
         f"ip -6 addr add {TEMPORARY}/64 dev lo nodad deprecated preferred_lft 0")


def in_namespace(command: str, timeout: float = 30) -> str:
    done = subprocess.run(["unshare", "-n", "sh", "-c", f"{SETUP} && {command}"],
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def test_the_stable_global_address_of_the_interface_is_one_voice() -> None:
    out = in_namespace(f"{sys.executable} -c " + _quote(textwrap.dedent("""
        from nebula.helpers.ddns.echo import interface_answer
        a = interface_answer("lo"); b = interface_answer("*"); c = interface_answer("eth9")
        print(a.url, a.ip, a.error, b.ip, c.ip, c.error, sep="|")
    """)))
    # The ULA and the deprecated address are left out; another interface has none.
    assert out == f"interface lo|{STABLE}|None|{STABLE}|None|no stable global IPv6 address"


def test_the_interface_agrees_or_disagrees_like_any_echo_service() -> None:
    table = ("2a020db8000100000000000000000007 01 40 00 80       lo\n"
             "fd000000000000000000000000000002 01 40 00 80       lo\n"
             "2a020db8000100000000000000000099 01 40 00 01       lo\n"
             "fe800000000000000000000000000001 01 40 20 80       lo\n")
    assert global_ipv6("lo", table) == [STABLE]  # temporary, ULA and link-local left out
    own = EchoAnswer("interface lo", STABLE)
    assert agree([own, EchoAnswer("u1", STABLE)], 6, 2).ip == STABLE
    split = agree([own, EchoAnswer("u1", "2a02:db8:1::8")], 6, 2)
    assert split.ip is None and "disagree" in split.reason


def agent_in_namespace(tmp_path: Path, echo_ipv6: str) -> dict:
    return json.loads(in_namespace(f"{sys.executable} {AGENT} {tmp_path} {echo_ipv6}",
                                   timeout=90))


def test_the_aaaa_record_follows_the_host_address_when_an_echo_service_agrees(
        tmp_path: Path) -> None:
    found = agent_in_namespace(tmp_path, STABLE)
    assert found["ipv6"]["ip"] == STABLE
    assert {a["url"].rsplit("/", 1)[-1]: a["ip"] for a in found["ipv6"]["answers"]} == {
        "ipify": STABLE, "interface lo": STABLE}
    v6 = found["results"]["ipv6"]
    assert (v6["action"], v6["verified"]) == ("updated", True)
    assert found["aaaa"] == [STABLE]


def test_a_disagreeing_echo_service_keeps_the_aaaa_record(tmp_path: Path) -> None:
    found = agent_in_namespace(tmp_path, "2a02:db8:1::8")
    assert found["ipv6"]["ip"] is None
    assert "echo services disagree" in found["ipv6"]["reason"]
    assert found["results"]["ipv6"]["action"] == "skipped"
    assert found["results"]["ipv4"]["action"] == "updated"  # IPv4 goes its own way
    assert found["aaaa"] == ["2001:db8::1"]
