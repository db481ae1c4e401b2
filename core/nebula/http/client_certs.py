"""Who a client certificate is, on the mutual-TLS listener (`[agent] tls_port`).

The TLS layer has already verified the certificate against `[agent] tls_client_ca` (the
fleet hub's CA) and its purpose (clientAuth). One name gets something without a bearer
token: `nebula-scrape`, the certificate `nebula fleet prometheus-config` has the hub sign
for Prometheus, reads `/metrics` and nothing else. Every other request still needs a
token, as on the plain listener.
"""

from __future__ import annotations

from aiohttp import web

from nebula.roles import Principal, Role

SCRAPE_NAME = "nebula-scrape"
# Tokens honoured only with a client certificate of the given name: the token an enrolled
# agent made for its hub works on the mutual-TLS listener, from the hub, and nowhere else
# (a copy read off the wire during enrollment is useless without the hub's key).
CERTIFICATE_BOUND = {"token:fleet-hub": "nebula-hub"}
SCRAPER = Principal(f"certificate:{SCRAPE_NAME}", Role.VIEWER)
SCRAPE_PATHS = frozenset({"/metrics"})


def peer_name(request: web.Request) -> str | None:
    """The common name of the verified client certificate, if the request came with one."""
    transport = request.transport
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if ssl_object is None:
        return None
    cert = ssl_object.getpeercert()
    if not cert:
        return None
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


def certificate_missing(request: web.Request, principal: Principal) -> str | None:
    """Why `principal` (from a token) may not act on this request, or None when it may."""
    wanted = CERTIFICATE_BOUND.get(principal.name)
    if wanted is None or peer_name(request) == wanted:
        return None
    return f"this token is accepted only with the {wanted} client certificate"


def scraper(request: web.Request, path: str | None) -> Principal | None:
    """The scrape principal for a token-less `/metrics` request with the scrape cert."""
    if path not in SCRAPE_PATHS or "Authorization" in request.headers:
        return None
    return SCRAPER if peer_name(request) == SCRAPE_NAME else None
