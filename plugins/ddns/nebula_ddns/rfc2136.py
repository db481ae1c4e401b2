"""RFC 2136 dynamic update, signed with TSIG (RFC 8945), through dnspython's `dns.update`:
for BIND, Knot, PowerDNS, Technitium or any primary server that takes updates.

One update per host and family replaces the name's whole A (or AAAA) set with the new
address (a delete of the set and an add, in one message, applied atomically by the server).
The server's answer code is the outcome; a TSIG failure comes back as an unsigned answer
that dnspython raises on (BADKEY, BADSIG, BADTIME)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nebula.helpers.ddns.outcome import Answer, Outcome
from nebula.helpers.ddns.updater import Provider, Target
from nebula.helpers.nameservers import Nameserver

if TYPE_CHECKING:  # dnspython (~2.4 MB of heap, ~40 ms) loads with the first update
    import dns.message
    import dns.name
    import dns.rcode
    import dns.update

RDTYPE = {4: "A", 6: "AAAA"}


def _tsig_errors() -> dict[type[Exception], str]:
    import dns.tsig

    return {dns.tsig.PeerBadKey: "BADKEY", dns.tsig.PeerBadSignature: "BADSIG",
            dns.tsig.PeerBadTime: "BADTIME", dns.tsig.PeerBadTruncation: "BADTRUNC"}


class Rfc2136(Provider):
    """The zone and key are checked when the config is (schema.py: the zone a host name,
    the secret base64); dnspython parses them with the first update, not at the start."""

    def __init__(self, server: Nameserver, zone: str, key_name: str, key_algorithm: str,
                 key_secret: str, *, ttl: int, timeout: float) -> None:
        self.server = server
        self._zone_text = zone
        self.label = f"DNS server {server.label}"
        self.key = f"rfc2136:{server.label}/{zone.rstrip('.')}"
        self._key_secret = key_secret
        self._key_name = key_name
        self._algorithm = key_algorithm
        self._ttl = ttl
        self._timeout = timeout
        self._signing: tuple[dns.name.Name, Any, dns.name.Name] | None = None

    def _zone_and_key(self) -> tuple[dns.name.Name, Any, dns.name.Name]:
        """The zone's name, the TSIG keyring and the key's name, made once."""
        if self._signing is None:
            import dns.name
            import dns.tsigkeyring

            self._signing = (dns.name.from_text(self._zone_text),
                             dns.tsigkeyring.from_text({self._key_name: self._key_secret}),
                             dns.name.from_text(self._key_name))
        return self._signing

    def _answer(self, outcome: Outcome, code: str | None, text: str,
                meaning: str | None = None) -> Answer:
        return Answer(outcome, code, text, self.label, meaning=meaning)

    def _message(self, target: Target) -> tuple[dns.update.UpdateMessage, dns.name.Name]:
        import dns.name
        import dns.update

        zone, keyring, key = self._zone_and_key()
        message = dns.update.UpdateMessage(zone, keyring=keyring, keyname=key,
                                           keyalgorithm=self._algorithm)
        return message, dns.name.from_text(target.host).relativize(zone)

    async def update(self, target: Target, family: int, ip: str) -> Answer:
        message, name = self._message(target)
        message.replace(name, self._ttl, RDTYPE[family], ip)
        return await self._exchange(message)

    async def delete(self, target: Target, family: int) -> Answer:
        """Deletes the name's whole A (or AAAA) set: NOERROR also when there was none."""
        message, name = self._message(target)
        message.delete(name, RDTYPE[family])
        return await self._exchange(message)

    async def _exchange(self, message: dns.update.UpdateMessage) -> Answer:
        import dns.exception

        tsig_errors = _tsig_errors()
        try:
            response = await self._send(message)
        except tuple(tsig_errors) as exc:
            code = tsig_errors[type(exc)]
            return self._answer(Outcome.BAD_AUTH, code, f"TSIG {code}",
                                f"{self.label} refused key {self._key_name!r}: check the "
                                "key's name, algorithm and secret (and the clocks)")
        except dns.exception.Timeout:
            return self._answer(Outcome.FAILED, None,
                                f"no answer within {self._timeout:g}s")
        except (OSError, dns.exception.DNSException) as exc:
            return self._answer(Outcome.FAILED, None, f"{type(exc).__name__}: {exc}")
        return self._classify(response.rcode())

    async def _send(self, message: dns.update.UpdateMessage) -> dns.message.Message:
        import dns.asyncquery
        import dns.flags

        where = dict(where=self.server.address, port=self.server.port, timeout=self._timeout)
        response = await dns.asyncquery.udp(message, **where)  # type: ignore[arg-type]
        if response.flags & dns.flags.TC:  # too big for UDP: again over TCP
            response = await dns.asyncquery.tcp(message, **where)  # type: ignore[arg-type]
        return response

    def _classify(self, rcode: dns.rcode.Rcode) -> Answer:
        import dns.rcode

        text = dns.rcode.to_text(rcode)
        zone = self._zone_and_key()[0].to_text(omit_final_dot=True)
        if rcode == dns.rcode.NOERROR:
            return self._answer(Outcome.UPDATED, text, "update applied")
        if rcode == dns.rcode.REFUSED:
            # The server's policy: this key may not update this zone (or these names).
            return self._answer(Outcome.BAD_AUTH, text, "update refused by policy",
                                f"{self.label} refused the update: key {self._key_name!r} "
                                f"may not update zone {zone}")
        if rcode == dns.rcode.NOTAUTH:
            return self._answer(Outcome.BAD_REQUEST, text, "not authoritative",
                                f"{self.label} is not the primary of zone {zone}")
        if rcode == dns.rcode.NOTZONE:
            return self._answer(Outcome.UNKNOWN_HOST, text, "name outside the zone")
        if rcode in (dns.rcode.FORMERR, dns.rcode.NOTIMP):
            return self._answer(Outcome.BAD_REQUEST, text, "the server does not take this "
                                                           "update")
        return self._answer(Outcome.FAILED, text, "the server could not apply the update")
