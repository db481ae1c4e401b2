"""Bytes a client got wrong are a 400 (or 415) with one log line, never a 500 with a
traceback.

- Header values must be UTF-8. aiohttp passes undecodable bytes on as surrogates, which
  break the first `.encode()` that meets them: the token hash, the session lookup.
- The agent's own routes take JSON or url-encoded forms, both text: their body is read
  here, under the body timeout, and refused when it is not valid in its charset, before
  a handler or the session's CSRF check parses it. Plugin routes read their own bodies
  (some stream them) and are left alone; so are binary bodies
  (`application/octet-stream`) sent to a plugin's API endpoint, which streams them (the
  media plugin's uploads: gigabytes that must never be held in memory).
- JSON bodies are parsed with bounds: nesting depth (deeper input blows the parser's or
  later the encoder's recursion) and the digits of an integer (Python refuses to convert
  more than 4300, raising a plain ValueError).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from aiohttp import web

from nebula.http.problems import Problem

if TYPE_CHECKING:  # endpoints uses parse_json
    from nebula.http.endpoints import Handler

PLUGIN_PREFIX = "/plugins/{plugin}/"
MAX_DEPTH = 64
FORM = "application/x-www-form-urlencoded"
BINARY = "application/octet-stream"


def _undecodable(value: str) -> bool:
    if value.isascii():
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return True
    return False


def _own_route(request: web.Request) -> bool:
    resource = request.match_info.route.resource
    if resource is None or resource.canonical.startswith(PLUGIN_PREFIX):
        return False
    # aiohttp reports a missing Content-Type as octet-stream: only a declared one counts.
    declared = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if declared == BINARY:
        from nebula.http.app import SURFACES  # app imports this module

        surface = request.app[SURFACES].get(resource.canonical)
        return surface is None or not surface.prefix.startswith("/api/")
    return True


@web.middleware
async def decoding_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    for name, value in request.headers.items():
        if _undecodable(value):
            raise Problem(400, f"the {name} header is not valid UTF-8")
    if request.body_exists and _own_route(request):
        if request.content_type.startswith("multipart/"):
            raise Problem(415, "this route takes JSON or a url-encoded form")
        charset = request.charset or "utf-8"
        raw = await request.read()  # kept by aiohttp for the handler's read(), post()
        try:
            raw.decode(charset)
        except UnicodeDecodeError:
            raise Problem(400, f"the request body is not valid {charset}") from None
        except LookupError:
            raise Problem(415, f"unknown charset {charset!r}") from None
    return await handler(request)


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in `value` (iteratively: it may be deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1)
                         for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_json(raw: bytes) -> Any:
    """A JSON body, or a 400 saying what is wrong with it."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise Problem(400, f"request body is nested more than {MAX_DEPTH} levels deep"
                      ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Problem(400, f"request body is not valid JSON: {exc}") from None
    except ValueError:  # the only other one: an integer too long to convert
        raise Problem(400, "request body has a number with more than "
                           f"{sys.get_int_max_str_digits()} digits") from None
    if _depth(data) > MAX_DEPTH:
        raise Problem(400, f"request body is nested more than {MAX_DEPTH} levels deep")
    return data
