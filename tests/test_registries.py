"""The JSON Schema's closed sets must name exactly what the engine implements."""

from __future__ import annotations

from typing import Any

from restgen.http import AUTH_TYPES
from restgen.pagination import PAGINATORS
from restgen.spec.schema import spec_schema
from restgen.transforms import TRANSFORMS
from restgen.engine.endpoint import RESPONSE_FORMATS


def _union_names(union: dict[str, Any], key: str) -> set[str]:
    return set(union["properties"][key]["enum"])


def _endpoint() -> dict[str, Any]:
    return spec_schema()["properties"]["endpoints"]["items"]


def test_pagination_types_match_paginators() -> None:
    assert _union_names(_endpoint()["properties"]["pagination"], "type") == set(PAGINATORS)


def test_auth_types_match_auth_builders() -> None:
    client = spec_schema()["properties"]["client"]
    assert _union_names(client["properties"]["auth"], "type") == set(AUTH_TYPES)


def test_transform_names_match_transforms() -> None:
    items = _endpoint()["properties"]["transforms"]["items"]
    assert set(items["propertyNames"]["enum"]) == set(TRANSFORMS)
    assert set(items["properties"]) == set(TRANSFORMS)


def test_response_formats_match_decoders() -> None:
    assert _union_names(_endpoint()["properties"]["response"], "format") == set(RESPONSE_FORMATS)


def test_paginator_options_match_schema() -> None:
    """Every option the schema allows for a paginator type is a constructor option, and back."""
    from restgen.pagination import option_names

    union = _endpoint()["properties"]["pagination"]
    for branch in union["allOf"]:
        name = branch["if"]["properties"]["type"]["const"] if "properties" in branch["if"] else branch["if"]["anyOf"][1]["properties"]["type"]["const"]
        allowed = set(branch["then"]["properties"]) - {"type"}
        assert allowed == set(option_names(PAGINATORS[name])), name


def test_retry_defaults_match_policy() -> None:
    from dataclasses import fields

    from restgen.http.retry import RetryPolicy

    retry = spec_schema()["properties"]["client"]["properties"]["retry"]["properties"]
    policy = RetryPolicy()
    for field in fields(RetryPolicy):
        if not field.compare:
            continue  # random and clock are for tests, not for specs
        default = getattr(policy, field.name)
        assert retry[field.name]["default"] == (list(default) if isinstance(default, tuple) else default), field.name


def test_parent_concurrency_default_matches_engine() -> None:
    from restgen.engine.resources import DEFAULT_PARENT_CONCURRENCY

    assert _endpoint()["properties"]["parent_concurrency"]["default"] == DEFAULT_PARENT_CONCURRENCY
