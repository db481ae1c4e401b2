"""One host's report: the facts of one check and the problems found in them, shaped for
the check's summary, the domain table and the Jarvis tools."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nebula.api import Field, Status
from nebula_domains.probe import Https, Redirect, Tls
from nebula_domains.resolve import OK, Answer
from nebula_domains.verdicts import Problem

TABLE_FIELDS = (
    Field("host", "Host", "", "The host name."),
    Field("status", "Status", "", "ok, warning, critical, or pending before the first check."),
    Field("dns", "DNS", "", "Each checked record type and what the resolvers answer."),
    Field("http_status", "HTTP", "", "Final HTTPS status after redirects."),
    Field("latency_ms", "Latency", "ms", "HTTPS time, every redirect and handshake "
                                         "included."),
    Field("redirects", "Redirects", "", "The redirect chain, as status and URL per hop."),
    Field("https_redirect", "HTTP→HTTPS", "", "Whether plain HTTP redirects to HTTPS."),
    Field("tls_days_left", "TLS days left", "d", "Days until the certificate expires."),
    Field("tls_issuer", "Issuer", "", "Who issued the certificate."),
    Field("tls_version", "TLS", "", "Negotiated protocol version."),
    Field("problem", "Problem", "", "The worst problem, if any."),
    Field("checked", "Checked", "s", "Epoch seconds of the check."),
)


@dataclass(frozen=True)
class HostReport:
    host: str
    taken: float
    duration_ms: float
    dns: Mapping[str, tuple[Answer, ...]] = field(default_factory=dict)
    https: Https | None = None
    tls: Tls | None = None
    redirect: Redirect | None = None
    problems: tuple[Problem, ...] = ()

    @property
    def status(self) -> Status:
        return max((p.status for p in self.problems), key=lambda s: s.severity,
                   default=Status.OK)

    def ordered_problems(self) -> list[Problem]:
        return sorted(self.problems, key=lambda p: -p.status.severity)

    def dns_text(self) -> str:
        parts = []
        for rdtype, answers in self.dns.items():
            good = {a.describe() for a in answers if a.outcome == OK}
            text = " | ".join(sorted(good)) if good else answers[0].describe() if answers else ""
            parts.append(f"{rdtype} {text}")
        return "; ".join(parts)

    def days_left(self) -> float | None:
        cert = self.tls.certificate if self.tls else None
        return round(cert.days_left(self.taken), 1) if cert else None

    def summary(self) -> str:
        if self.problems:
            return f"{self.host}: " + "; ".join(p.message for p in self.ordered_problems())
        parts = [self.dns_text()] if self.dns else []
        if self.https is not None and self.https.hops:
            parts.append(f"HTTPS {self.https.status} in {self.https.ms:.0f} ms")
        if self.tls is not None and self.tls.certificate is not None:
            parts.append(f"certificate {self.days_left():.0f} days left "
                         f"({self.tls.certificate.issuer}, {self.tls.version})")
        return f"{self.host}: " + "; ".join(parts)

    def metrics(self) -> dict[str, float]:
        out = {"duration_ms": self.duration_ms}
        if self.https is not None and self.https.hops:
            out["https.latency_ms"] = self.https.ms
            out["https.status"] = float(self.https.status or 0)
        if (days := self.days_left()) is not None:
            out["tls.days_left"] = days
        return out

    def row(self) -> dict[str, Any]:
        https, tls = self.https, self.tls
        cert = tls.certificate if tls else None
        worst = self.ordered_problems()
        return {
            "host": self.host, "status": self.status.value, "dns": self.dns_text(),
            "http_status": https.status if https else None,
            "latency_ms": https.ms if https and https.hops else None,
            "redirects": [f"{h.status} {h.url}" for h in https.hops[:-1]] if https else [],
            "https_redirect": self.redirect.to_https if self.redirect else None,
            "tls_days_left": self.days_left(), "tls_issuer": cert.issuer if cert else None,
            "tls_version": tls.version if tls else None,
            "problem": worst[0].message if worst else "", "checked": round(self.taken, 3),
        }

    def public(self) -> dict[str, Any]:
        """Everything, for a tool: the row plus each resolver's answer and every problem."""
        return {
            **self.row(), "summary": self.summary(), "duration_ms": self.duration_ms,
            "resolvers": {rdtype: [{"resolver": a.resolver, "outcome": a.outcome,
                                    "answer": a.describe(), "ms": a.ms} for a in answers]
                          for rdtype, answers in self.dns.items()},
            "tls": self._tls(),
            "problems": [p.public() for p in self.ordered_problems()],
        }

    def _tls(self) -> dict[str, Any] | None:
        tls = self.tls
        if tls is None:
            return None
        cert = tls.certificate
        return {"verified": tls.verified, "verify_error": tls.verify_error,
                "error": tls.error, "subject": cert.subject if cert else None,
                "names": list(cert.names) if cert else [],
                "issuer": cert.issuer if cert else None, "days_left": self.days_left(),
                "version": tls.version}


def pending(host: str) -> dict[str, Any]:
    return {"host": host, "status": "pending", "dns": "", "http_status": None,
            "latency_ms": None, "redirects": [], "https_redirect": None,
            "tls_days_left": None, "tls_issuer": None, "tls_version": None,
            "problem": "", "checked": None}
