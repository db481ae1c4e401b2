"""The OpenAPI 3.1 document, generated from the endpoint table."""

from __future__ import annotations

import re
from typing import Any

from nebula import __version__
from nebula.http.endpoints import ADMIN, PUBLIC, Endpoint

ANY_METHOD = ("get", "post", "put", "patch", "delete")
_PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")
PROBLEM = {"description": "Problem (RFC 9457)", "content": {
    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _operation(ep: Endpoint) -> dict[str, Any]:
    params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
              for n in _PARAM.findall(ep.path)]
    params += [{"name": n, "in": "query", "required": False, "description": d,
                "schema": {"type": "string"}} for n, d in ep.query.items()]
    op: dict[str, Any] = {
        "summary": ep.summary,
        "operationId": ep.handler.__name__,
        "tags": [ep.tag],
        "parameters": params,
        "responses": {"200": {"description": "OK", "content": {"application/json": {}}},
                      "400": PROBLEM, "404": PROBLEM},
    }
    if ep.role == PUBLIC:
        op["security"] = []
    else:
        op["responses"]["401"] = PROBLEM
        if ep.role == ADMIN:
            op["responses"]["403"] = PROBLEM
            op["description"] = "Needs an admin token."
    if ep.body is not None:
        op["requestBody"] = {"required": False,
                             "content": {"application/json": {"schema": ep.body}}}
        op["responses"]["422"] = PROBLEM
    return op


def document(endpoints: list[Endpoint]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        methods = ANY_METHOD if ep.method == "*" else (ep.method.lower(),)
        for method in methods:
            paths.setdefault(_PARAM.sub(r"{\1}", ep.path), {})[method] = _operation(ep)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Nebula Command agent API", "version": __version__},
        "paths": paths,
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Problem": {
                "type": "object",
                "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                               "status": {"type": "integer"}, "detail": {"type": "string"},
                               "errors": {"type": "array"}},
            }},
        },
    }
