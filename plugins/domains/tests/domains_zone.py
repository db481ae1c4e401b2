"""The `site.test` zone the domains tests check: what dnsmasq serves for each case, and the
resolvers' addresses. Here, not in conftest.py, which pytest imports under another name."""

ZONE = "site.test"
DKIM = "v=DKIM1; k=rsa; p=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" * 7
LABELS = ("valid", "warning", "expiring", "expired", "wrongname", "selfsigned", "slow",
          "error", "loop", "noredirect", "moved")
RECORDS = [
    *(f"host-record={label}.{ZONE},127.0.0.1" for label in LABELS),
    f"host-record=closed.{ZONE},127.0.0.4",  # nothing listens there
    f"host-record=dual.{ZONE},127.0.0.1,::1",
    f"cname=www.{ZONE},valid.{ZONE}",
    # A name with TXT records and no address: SPF beside a site verification.
    f"txt-record=txt.{ZONE},\"v=spf1 -all\"",
    f"txt-record=txt.{ZONE},\"site-verification=abc123\"",
    f"txt-record=dkim.{ZONE},\"{DKIM}\"",  # longer than 255: served in two strings
    f"mx-host=mail.{ZONE},mx1.{ZONE},10",
    f"mx-host=mail.{ZONE},mx2.{ZONE},20",
    f"srv-host=_sip._tcp.{ZONE},sip.{ZONE},5060,0,5",
    f"caa-record=caa.{ZONE},0,issue,letsencrypt.org",
    f"caa-record=caa.{ZONE},0,iodef,mailto:admin@{ZONE}",
]
# What the second resolver serves: `moved` still on its old address, and `mail` with its
# old mail exchanger, as during propagation.
LAGGING = [f"host-record=moved.{ZONE},127.0.0.9", f"mx-host=mail.{ZONE},mx0.{ZONE},10"]
PRIMARY, SILENT, LAGGARD = "127.0.0.1", "127.0.0.2", "127.0.0.3"
