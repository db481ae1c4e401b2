"""Errors as RFC 9457 `application/problem+json`; never a traceback on the wire."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from aiohttp import web

from nebula.secrets import SECRETS

PROBLEM_TYPE = "application/problem+json"


def problem(status: int, detail: str = "", **extra: Any) -> web.Response:
    """A problem answer. Details often quote the request, which may carry a secret, so the
    whole body is redacted here, once, for every error the API gives."""
    body: dict[str, Any] = {"type": "about:blank", "title": HTTPStatus(status).phrase,
                            "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return web.Response(status=status, text=json.dumps(SECRETS.redact(body), default=str),
                        content_type=PROBLEM_TYPE)


class Problem(web.HTTPException):
    """Raise to answer with a problem document from anywhere in a handler."""

    def __init__(self, status: int, detail: str = "", **extra: Any) -> None:
        self.status_code = status
        super().__init__()
        self.detail = detail
        self.response = problem(status, detail, **extra)
