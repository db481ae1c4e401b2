"""Turning one host's facts into problems: each with a status, the area it concerns, a
one-line message, and a hint at the usual cause (what the "why is it failing" tool says)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nebula.api import Status
from nebula_domains import records, resolve
from nebula_domains.hosts import Host
from nebula_domains.probe import Https, Redirect, Tls
from nebula_domains.resolve import Answer
from nebula_domains.schema import PUBLIC_IP

HINTS = {
    resolve.NXDOMAIN: "The name does not exist: create the record at the DNS provider "
                      "(ZoneEdit) or fix a typo in the config.",
    resolve.SERVFAIL: "The zone's name servers fail to answer: check the delegation (NS "
                      "records at the registrar) and DNSSEC.",
    resolve.TIMEOUT: "The resolver did not answer: it is unreachable, or the network "
                     "blocks DNS.",
    resolve.NODATA: "The name exists but has no record of this type.",
    resolve.REFUSED: "The resolver refuses to answer for this name.",
    resolve.ERROR: "The resolver's answer could not be used.",
    "wrong": "DNS points somewhere else than expected. If the public IP changed, the "
             "ddns or zoneedit plugin updates the record (see its record_status tool).",
    "unresolved": "The name has no address on the configured resolvers, so its site was not "
                  "fetched: fix DNS first (see the DNS problem).",
    "public_ip": "Our public IP is unknown (no ddns or zoneedit plugin is loaded, or its echo "
                 "services disagree), so the answer cannot be compared with it.",
    "propagation": "Resolvers give different answers: a change is still propagating (wait "
                   "for the TTL), or one resolver serves stale data.",
    "connect": "Nothing answers on the HTTPS port: the web server (Caddy) is down, or the "
               "router no longer forwards the port to this server.",
    "status": "The site answers with an error status: check the application behind Caddy.",
    "keyword": "The page does not contain the expected text: another site or an error page "
               "is served.",
    "slow": "The site answers slowly: check the server's load and the upstream application.",
    "redirect": "Plain HTTP does not redirect to HTTPS: check Caddy's automatic HTTPS "
                "redirects for this site.",
    "expired": "The certificate expired: renewal failed. Check Caddy's logs for ACME errors "
               "(port 80/443 reachable from outside? DNS right?).",
    "expiring": "Caddy renews certificates about 30 days before expiry; this close to it, "
                "renewal is failing. Check Caddy's logs for ACME errors.",
    "hostname": "The certificate does not cover this name: add the name to its site block "
                "in the Caddyfile.",
    "untrusted": "The certificate chain does not validate: a self-signed or internal "
                 "certificate is served, or the chain is incomplete.",
    "tls_version": "The server negotiates an old TLS version: update its TLS settings.",
}


@dataclass(frozen=True)
class Problem:
    status: Status
    area: str  # dns, https, http, tls
    code: str
    message: str

    @property
    def hint(self) -> str:
        return HINTS.get(self.code, "")

    def public(self) -> dict[str, Any]:
        return {"status": self.status.value, "area": self.area, "code": self.code,
                "message": self.message, "hint": self.hint}


def expected(host: Host, rdtype: str,
             public: Mapping[str, str | None]) -> tuple[frozenset[str] | None, str | None]:
    """The expected values for `rdtype` (canonical), and why they cannot be known if they
    cannot."""
    spec = host.expect.get(rdtype)
    if spec is None or PUBLIC_IP not in spec:
        return spec, None
    ip = public.get(rdtype)
    if ip is None:
        return None, public.get("reason") or "our public IP is unknown"
    return spec - {PUBLIC_IP} | {ip}, None


def dns_problems(host: Host, rdtype: str, answers: Sequence[Answer],
                 public: Mapping[str, str | None]) -> list[Problem]:
    def problem(status: Status, code: str, message: str) -> Problem:
        return Problem(status, "dns", code, f"{rdtype}: {message}")

    good = [a for a in answers if a.outcome == resolve.OK]
    bad = [a for a in answers if a.outcome != resolve.OK]
    if not good:
        kinds = Counter(a.outcome for a in bad)
        outcome = kinds.most_common(1)[0][0]
        detail = "; ".join(f"{a.resolver}: {a.describe()}" for a in bad)
        where = (f"on all {len(bad)} resolvers" if len(kinds) == 1 else "")
        return [problem(Status.CRITICAL, outcome,
                        f"{resolve.DESCRIBE[outcome]} {where} ({detail})".replace("  ", " "))]
    found: list[Problem] = []
    want, unknown = expected(host, rdtype, public)
    if unknown:
        found.append(problem(Status.WARNING, "public_ip", f"cannot compare with our public "
                                                          f"IP: {unknown}"))
    if want is not None:
        wrong = [a for a in good if not records.met(rdtype, want, a.values)]
        if wrong:
            served = "; ".join(f"{a.resolver} serves {a.describe()}" for a in wrong)
            shown = ", ".join(records.shown(rdtype, v) for v in sorted(want))
            among = " among the records" if rdtype == "TXT" else ""
            found.append(problem(Status.CRITICAL, "wrong",
                                 f"wrong answer, expected {shown}{among}: {served}"))
    for a in bad:
        found.append(problem(Status.WARNING, a.outcome, f"{a.resolver}: {a.describe()}"))
    if len({a.values for a in good}) > 1 and not any(p.code == "wrong" for p in found):
        served = "; ".join(f"{a.resolver}: {a.describe()}" for a in good)
        found.append(problem(Status.WARNING, "propagation", f"resolvers disagree ({served})"))
    return found


def web_problems(host: Host, https: Https | None, tls: Tls | None, redirect: Redirect | None,
                 now: float, config: Mapping[str, Any], resolved: bool = True) -> list[Problem]:
    if not resolved:
        what = " and ".join(w for w, on in (("HTTPS", host.https), ("HTTP", host.http_redirect))
                            if on)
        return [Problem(Status.CRITICAL, "https" if host.https else "http", "unresolved",
                        f"{what} not probed: does not resolve")]
    found: list[Problem] = []
    if https is not None:
        found += _https_problems(host, https, config)
    if tls is not None and (tls.certificate or tls.verified is False):
        # A host that cannot be reached at all is already critical as "connect".
        found += _tls_problems(tls, now, config)
    if redirect is not None and not redirect.to_https:
        what = (redirect.error if redirect.error
                else f"answers {redirect.status}" + (f" → {redirect.location}"
                                                    if redirect.location else ""))
        found.append(Problem(Status.WARNING, "http", "redirect",
                             f"http:// does not redirect to https:// ({what})"))
    return found


def _https_problems(host: Host, https: Https, config: Mapping[str, Any]) -> list[Problem]:
    if https.error and not https.hops:
        return [Problem(Status.CRITICAL, "https", "connect", f"cannot fetch: {https.error}")]
    found = []
    if https.error:
        found.append(Problem(Status.CRITICAL, "https", "status", https.error))
    status = https.status
    ok = status in host.expect_status if host.expect_status else (status or 999) < 400
    if not ok:
        found.append(Problem(Status.CRITICAL, "https", "status",
                             f"final status {status} after {len(https.hops)} request(s)"))
    if https.keyword_found is False:
        found.append(Problem(Status.CRITICAL, "https", "keyword",
                             f"keyword {host.keyword!r} not found"))
    if https.ms >= config["slow_ms"]:
        found.append(Problem(Status.WARNING, "https", "slow",
                             f"answered in {https.ms:.0f} ms (warning at "
                             f"{config['slow_ms']:g} ms)"))
    return found


def _tls_problems(tls: Tls, now: float, config: Mapping[str, Any]) -> list[Problem]:
    cert = tls.certificate
    found = []
    if tls.verified is False:
        reason = tls.verify_error or "verification failed"
        lowered = reason.lower()
        code = ("expired" if "expired" in lowered
                else "hostname" if "hostname" in lowered or "not valid for" in lowered
                else "untrusted")
        found.append(Problem(Status.CRITICAL, "tls", code, f"certificate rejected: {reason}"))
    if cert is not None:
        days = cert.days_left(now)
        if days <= 0:
            if not any(p.code == "expired" for p in found):
                found.append(Problem(Status.CRITICAL, "tls", "expired",
                                     f"certificate expired {-days:.0f} days ago"))
        elif days <= config["tls_critical_days"]:
            found.append(Problem(Status.CRITICAL, "tls", "expiring",
                                 f"certificate expires in {days:.1f} days (critical at "
                                 f"{config['tls_critical_days']:g})"))
        elif days <= config["tls_warning_days"]:
            found.append(Problem(Status.WARNING, "tls", "expiring",
                                 f"certificate expires in {days:.1f} days (warning at "
                                 f"{config['tls_warning_days']:g})"))
    if tls.version in ("SSLv3", "TLSv1", "TLSv1.1"):
        found.append(Problem(Status.WARNING, "tls", "tls_version", f"negotiated {tls.version}"))
    return found
