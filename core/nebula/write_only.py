"""Parameters an action's schema marks `"writeOnly": true` (a lock PIN, a password):
found and masked by walking the schema beside the value.

The walk follows `properties`, `additionalProperties`, `patternProperties`, `items`,
`prefixItems` and the `allOf`/`anyOf`/`oneOf` branches, which covers the schemas plugins
write; a `$ref` is not followed (plugins' action schemas are self-contained).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from nebula.secrets import MASK, Secrets

Schema = Mapping[str, Any]


def _branches(schema: Schema) -> Iterator[Schema]:
    yield schema
    for key in ("allOf", "anyOf", "oneOf"):
        for branch in schema.get(key) or ():
            if isinstance(branch, Mapping):
                yield from _branches(branch)


def _member_schemas(schema: Schema, key: str) -> Iterator[Schema]:
    for branch in _branches(schema):
        props = branch.get("properties") or {}
        if key in props:
            yield props[key]
            continue
        matched = [s for pattern, s in (branch.get("patternProperties") or {}).items()
                   if re.search(pattern, key)]
        yield from matched
        extra = branch.get("additionalProperties")
        if not matched and isinstance(extra, Mapping):
            yield extra


def _item_schemas(schema: Schema, index: int) -> Iterator[Schema]:
    for branch in _branches(schema):
        prefix = branch.get("prefixItems") or ()
        if index < len(prefix):
            yield prefix[index]
        elif isinstance(branch.get("items"), Mapping):
            yield branch["items"]


def _walk(schema: Any, value: Any, on_secret: Callable[[Any], Any]) -> Any:
    if not isinstance(schema, Mapping):
        return value
    if any(b.get("writeOnly") for b in _branches(schema)) and value not in (None, ""):
        return on_secret(value)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            for sub in _member_schemas(schema, str(key)):
                item = _walk(sub, item, on_secret)
            out[key] = item
        return out
    if isinstance(value, list):
        out_list = []
        for index, item in enumerate(value):
            for sub in _item_schemas(schema, index):
                item = _walk(sub, item, on_secret)
            out_list.append(item)
        return out_list
    return value


def mask(schema: Schema, value: Any) -> Any:
    """A copy of `value` with every write-only member replaced by the mask."""
    return _walk(schema, value, lambda _secret: MASK)


def values(schema: Schema, value: Any) -> Secrets:
    """The write-only values in `value`, as a redactor for anything derived from them (a
    plan, a result that echoes them). Short values count too: a 4-digit PIN is a secret
    here, where it is masked only in what this one request produced."""
    found = Secrets(min_length=1)

    def keep(secret: Any) -> Any:
        for leaf in _leaves(secret):
            found.add(str(leaf))
        return secret

    _walk(schema, value, keep)
    return found


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    elif value is not None and not isinstance(value, bool):
        yield value
