"""The `site.test` zone the domains tests check: what dnsmasq serves for each case, and the
resolvers' addresses. Here, not in conftest.py, which pytest imports under another name."""

ZONE = "site.test"
LABELS = ("valid", "warning", "expiring", "expired", "wrongname", "selfsigned", "slow",
          "error", "loop", "noredirect", "moved")
RECORDS = [
    *(f"host-record={label}.{ZONE},127.0.0.1" for label in LABELS),
    f"host-record=closed.{ZONE},127.0.0.4",  # nothing listens there
    f"host-record=dual.{ZONE},127.0.0.1,::1",
    f"cname=www.{ZONE},valid.{ZONE}",
    f"txt-record=txt.{ZONE},\"v=spf1 -all\"",  # a name with a TXT record and no address
]
# What the second resolver serves: `moved` still on its old address, as during propagation.
LAGGING = [f"host-record=moved.{ZONE},127.0.0.9"]
PRIMARY, SILENT, LAGGARD = "127.0.0.1", "127.0.0.2", "127.0.0.3"
