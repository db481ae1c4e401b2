"""nebula.helpers.schema: the pieces validate what they say, through the same validator the
core uses for plugin config and action params."""

from __future__ import annotations

import jsonschema
import pytest

from nebula.helpers.checks import Threshold, limit_problems
from nebula.helpers.schema import (
    EMPTY_PARAMS,
    config_schema,
    integer,
    interval,
    limit_pair,
    number,
    params,
    string,
    timeout,
    tls_options,
    url,
)


def valid(schema, instance) -> bool:
    return jsonschema.Draft202012Validator(schema).is_valid(instance)


def test_empty_params_take_nothing() -> None:
    assert valid(EMPTY_PARAMS, {})
    assert not valid(EMPTY_PARAMS, {"anything": 1})
    jsonschema.Draft202012Validator.check_schema(EMPTY_PARAMS)


def test_params_have_exactly_their_properties() -> None:
    schema = params({"tail": integer(100, "Lines.", 1, 10000)}, required=["tail"])
    assert valid(schema, {"tail": 5})
    assert not valid(schema, {})
    assert not valid(schema, {"tail": 0})
    assert not valid(schema, {"tail": 5, "extra": True})
    assert "required" not in params({"a": string()})
    assert params() == EMPTY_PARAMS and params() is not EMPTY_PARAMS


def test_every_call_returns_a_new_dict() -> None:
    first = tls_options("Plex")
    first["verify_tls"]["default"] = False
    assert tls_options("Plex")["verify_tls"]["default"] is True


def test_urls() -> None:
    any_url, base = url("http://127.0.0.1:8123", "Base URL."), url(None, "x", base_only=True)
    assert any_url["default"] == "http://127.0.0.1:8123"
    assert "default" not in base
    for good in ("http://h", "https://h:8123/", "https://h/api?x=1"):
        assert valid(any_url, good)
    for bad in ("ftp://h", "h:8123", "https://", "http:///x"):
        assert not valid(any_url, bad)
    assert valid(base, "https://h:32400/")
    assert not valid(base, "https://h:32400/web")


def test_numbers_timeouts_and_intervals() -> None:
    assert not valid(timeout("Seconds."), 0) and valid(timeout("Seconds."), 0.1)
    assert timeout("Seconds.")["default"] == 10
    assert not valid(interval(60, "Seconds."), 0.5) and valid(interval(60, "Seconds."), 1)
    assert valid(number(5, "", 0, 10), 10) and not valid(number(5, "", 0, 10), 11)
    assert not valid(integer(5), 1.5)
    assert valid(string(min_length=1), "x") and not valid(string(min_length=1), "")


def test_tls_options_and_limit_pairs_fit_the_helpers_that_read_them() -> None:
    schema = config_schema({**tls_options("Home Assistant"),
                            **limit_pair("disk", 80, 90, "Used percent", maximum=100)})
    jsonschema.Draft202012Validator.check_schema(schema)
    assert valid(schema, {"verify_tls": False, "ca_bundle": "/ca.pem", "disk_warning": 50})
    assert not valid(schema, {"verify_tls": "no"})
    assert not valid(schema, {"disk_critical": 101})
    assert not valid(schema, {"disk_warnign": 50})  # a misspelt key is refused
    defaults = {key: prop["default"] for key, prop in schema["properties"].items()
                if "default" in prop}
    assert Threshold.of(defaults, "disk") == Threshold(80, 90)
    assert limit_problems(defaults, ["disk"]) == []
    assert "Home Assistant's TLS certificate" in schema["properties"]["verify_tls"][
        "description"]


@pytest.mark.parametrize("piece", [number(1, "x"), integer(1, "x"), string("a", "x"),
                                   url("http://h", "x"), timeout("x"), interval(5, "x")])
def test_each_piece_is_a_valid_schema_whose_default_validates(piece) -> None:
    jsonschema.Draft202012Validator.check_schema(piece)
    assert valid(piece, piece["default"])
    assert piece["description"] == "x"
