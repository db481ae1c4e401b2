"""SCRAM-SHA-256 verifiers: made on our side, so a password never travels as SQL text
(where a server's statement log could keep it), and checked on our side, so provisioning
can tell "password unchanged" from "needs ALTER ROLE" and a second run changes nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re

ITERATIONS = 4096
_VERIFIER = re.compile(r"^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$")


def _keys(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    # PostgreSQL applies SASLprep; passwords of plain printable ASCII are unchanged by it.
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return stored_key, server_key


def verifier(password: str) -> str:
    salt = os.urandom(16)
    stored, server = _keys(password, salt, ITERATIONS)
    b64 = base64.b64encode
    return (f"SCRAM-SHA-256${ITERATIONS}:{b64(salt).decode()}${b64(stored).decode()}:"
            f"{b64(server).decode()}")


def matches(password: str, stored: str | None) -> bool:
    """Whether `stored` (pg_authid.rolpassword) is a SCRAM verifier of `password`."""
    found = _VERIFIER.match(stored or "")
    if found is None:
        return False
    iterations, salt, stored_key, server_key = found.groups()
    keys = _keys(password, base64.b64decode(salt), int(iterations))
    return hmac.compare_digest(keys[0], base64.b64decode(stored_key)) and \
        hmac.compare_digest(keys[1], base64.b64decode(server_key))
