"""While Sunshine has never answered, every poll looks for its certificate (trust on first
use). That look verifies nothing, so it must not load the system's CA store each time
(~20 ms of CPU per poll on the 2-core test machine, bench/footprint.py's idle CPU)."""

from __future__ import annotations

import ssl

from nebula_sunshine.client import _insecure


def test_the_first_contact_context_loads_no_ca_store_and_is_made_once() -> None:
    context = _insecure()
    assert context.cert_store_stats()["x509_ca"] == 0
    assert context.verify_mode is ssl.CERT_NONE and not context.check_hostname
    assert _insecure() is context
