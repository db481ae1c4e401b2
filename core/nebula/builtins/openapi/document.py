"""The OpenAPI 3.1 document, generated from the endpoint table.

It is written for client generators: every operation has a stable, unique operationId
derived from its method and path (a plugin's prefixed by the plugin's name), every error
answer it can give points at the shared problem+json schema, and every schema with a
`title` becomes a named component (one model per shape in a generated client).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from nebula import __version__
from nebula.http.endpoints import ADMIN, PUBLIC, Endpoint
from nebula.http.schemas import PROBLEM
from nebula.surfaces import PAGE_TAG, SESSION_TAG

ANY_METHOD = ("get", "post", "put", "patch", "delete")
API_PREFIX = "/api/v1/"
_PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")
_COMPONENT_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
# Keywords whose values are data, not schemas: a "title" in them names nothing.
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples", "example"})
PAGE_TAGS = frozenset({PAGE_TAG, SESSION_TAG})
JSON = "application/json"


def operation_id(method: str, path: str, tag: str, plugin: str | None = None) -> str:
    """`get_checks`, `post_actions_name_run`; a panel page's `web_get_approvals`; a
    plugin's `jarvis_get_status` (its path relative to where its endpoints are mounted)."""
    rest = path[len(API_PREFIX):] if path.startswith(API_PREFIX) else path.lstrip("/")
    if plugin is not None and (rest == plugin or rest.startswith(plugin + "/")):
        rest = rest[len(plugin):]
    slug = re.sub(r"[^0-9a-z]+", "_", _PARAM.sub(r"/\1/", rest).lower()).strip("_")
    words = [plugin or "", "web" if tag in PAGE_TAGS else "", method.lower(), slug]
    return "_".join(w for w in words if w)


def _problem_name(status: int) -> str:
    return "".join(word.capitalize() for word in HTTPStatus(status).name.split("_"))


def _problems(ep: Endpoint, plugin: str | None) -> set[int]:
    """The problem statuses a route can answer, beyond what it declares: a bad header or
    body anywhere (400), a missing or refused credential (401, 403), an unknown name in
    its path (404), a body that fails its schema (422), its plugin stopping (503)."""
    found = {400, *ep.problems}
    if ep.role != PUBLIC:
        found |= {401, 403}
    if _PARAM.search(ep.path):
        found.add(404)
    if ep.body is not None:
        found.add(422)
    if plugin is not None:
        found.add(503)
    return found


def _content(ep: Endpoint) -> dict[str, Any]:
    schema: Mapping[str, Any] = ep.response if ep.response is not None else (
        {"type": "string"} if ep.tag in PAGE_TAGS else {})
    media = schema.get("contentMediaType", "text/html" if ep.response is None
                       and ep.tag in PAGE_TAGS else JSON)
    if media != JSON:
        schema = {k: v for k, v in schema.items() if k != "contentMediaType"}
    return {media: {"schema": dict(schema)}}


def _operation(ep: Endpoint, method: str, plugin: str | None) -> dict[str, Any]:
    params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
              for n in _PARAM.findall(ep.path)]
    params += [{"name": n, "in": "query", "required": False, "description": d,
                "schema": {"type": "string"}} for n, d in ep.query.items()]
    content = _content(ep)
    responses: dict[str, Any] = {
        str(status): {"description": HTTPStatus(status).phrase, "content": content}
        for status in ep.statuses}
    for status in sorted(_problems(ep, plugin) - set(ep.statuses)):
        responses[str(status)] = {"$ref": f"#/components/responses/{_problem_name(status)}"}
    op: dict[str, Any] = {
        "summary": ep.summary,
        "operationId": operation_id(method, ep.path, ep.tag, plugin),
        "tags": [ep.tag],
        "parameters": params,
        "responses": responses,
    }
    if ep.role == PUBLIC:
        op["security"] = []
    elif ep.role == ADMIN:
        op["description"] = "Needs an admin token."
    if ep.body is not None:
        op["requestBody"] = {"required": False,
                             "content": {JSON: {"schema": dict(ep.body)}}}
    return op


class _Components:
    """Named schemas: a titled schema met anywhere becomes `#/components/schemas/<title>`
    (the first of a title wins; a different schema with a taken title stays inline)."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def hoist(self, value: Any, key: str = "") -> Any:
        if key in _DATA_KEYWORDS:
            return value
        if isinstance(value, list):
            return [self.hoist(item) for item in value]
        if not isinstance(value, Mapping):
            return value
        inner = {k: self.hoist(v, k) for k, v in value.items()}
        title = value.get("title")
        if isinstance(title, str) and _COMPONENT_NAME.match(title) \
                and self.schemas.setdefault(title, inner) == inner:
            return {"$ref": f"#/components/schemas/{title}"}
        return inner


def document(endpoints: Iterable[Endpoint],
             plugin_endpoints: Iterable[tuple[str, Endpoint]] = ()) -> dict[str, Any]:
    """The document for the core's `endpoints` and the running plugins' (plugin name,
    endpoint at its full path)."""
    routes = [(None, ep) for ep in endpoints] + list(plugin_endpoints)
    paths: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    for plugin, ep in routes:
        methods = ANY_METHOD if ep.method == "*" else (ep.method.lower(),)
        for method in methods:
            op = _operation(ep, method, plugin)
            # Derived names can only meet through punctuation ("/a-b" and "/a_b"): the
            # later one is numbered rather than making the document invalid.
            base, n = op["operationId"], 1
            while op["operationId"] in used:
                n += 1
                op["operationId"] = f"{base}_{n}"
            used.add(op["operationId"])
            paths.setdefault(_PARAM.sub(r"{\1}", ep.path), {})[method] = op
    components = _Components()
    problem = components.hoist(PROBLEM)
    statuses = sorted({int(code) for ops in paths.values() for op in ops.values()
                       for code, answer in op["responses"].items() if "$ref" in answer})
    return {
        "openapi": "3.1.0",
        "info": {"title": "Nebula Command agent API", "version": __version__},
        "paths": components.hoist(paths),
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "an API token (nebula token "
                                                          "create)"}},
            "responses": {_problem_name(status): {
                "description": f"{HTTPStatus(status).phrase} (a problem, RFC 9457)",
                "content": {"application/problem+json": {"schema": problem}}}
                for status in statuses},
            "schemas": components.schemas,
        },
    }
