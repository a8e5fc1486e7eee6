"""Tests of jmespath compilation and record selection from response bodies."""

from __future__ import annotations

from typing import Any

import pytest

from restgen.errors import ResponseError
from restgen.selectors import compile_expression, json_type_name, search, select_records


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("a..b", "Expecting: "),
        ("", "cannot be empty"),
        ("a[", "Incomplete expression"),
    ],
    ids=["double-dot", "empty", "incomplete"],
)
def test_compile_expression_invalid(expression: str, reason: str) -> None:
    with pytest.raises(ValueError) as info:
        compile_expression(expression)

    message = str(info.value)
    assert message.startswith(f"invalid jmespath expression {expression!r}: ")
    assert reason in message
    assert "\n" not in message


def test_compile_expression_dollar_hint() -> None:
    with pytest.raises(ValueError, match=r'must be quoted, as in "\$properties"'):
        compile_expression("$properties")


def test_compile_expression_quoted_dollar_key() -> None:
    expression = compile_expression('"$properties"."$email"')

    assert expression.search({"$properties": {"$email": "a@example.com"}}) == "a@example.com"


def test_compile_expression_rejects_non_string() -> None:
    with pytest.raises(ValueError, match="expected a string, got int"):
        compile_expression(5)  # type: ignore[arg-type]


def test_search_type_error_becomes_response_error() -> None:
    expression = compile_expression("length(total)")

    with pytest.raises(ResponseError, match="'length\\(total\\)' failed on the response"):
        search(expression, {"total": 5})


def test_search_missing_path_is_none() -> None:
    assert search(compile_expression("a.b.c"), {"a": {}}) is None


@pytest.mark.parametrize(
    ("selector", "body", "expected"),
    [
        ("results", {"results": [{"id": 1}, {"id": 2}]}, [{"id": 1}, {"id": 2}]),
        ("data.item", {"data": {"item": {"id": 1}}}, [{"id": 1}]),
        ("data.missing", {"data": {}}, []),
        ("data", {"data": None}, []),
        ("names", {"names": ["a", "b"]}, [{"value": "a"}, {"value": "b"}]),
        ("results[?count > `1`]", {"results": [{"count": 1}, {"count": 2}]}, [{"count": 2}]),
    ],
    ids=["list", "object", "missing", "null", "scalars", "filter"],
)
def test_select_records_with_selector(selector: str, body: Any, expected: list[dict[str, Any]]) -> None:
    assert select_records(body, compile_expression(selector)) == expected


def test_select_records_accepts_string_selector() -> None:
    assert select_records({"items": [{"id": 1}]}, "items") == [{"id": 1}]


def test_select_records_selector_scalar_rejected() -> None:
    with pytest.raises(ResponseError) as info:
        select_records({"total": 5}, "total")

    assert str(info.value) == (
        "data_selector 'total' selected a JSON number (5); "
        "expected an array of records, one object or null"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([{"id": 1}], [{"id": 1}]),
        ({"page": 0, "total": 2, "results": [{"id": 1}, {"id": 2}]}, [{"id": 1}, {"id": 2}]),
        ({"id": 7, "meta": {"dates": ["2024-01-01"]}}, [{"id": 7, "meta": {"dates": ["2024-01-01"]}}]),
        (None, []),
        ([], []),
        ([1, None, True], [{"value": 1}, {"value": None}, {"value": True}]),
    ],
    ids=["list", "one-list-key", "no-list", "null-body", "empty-list", "scalars"],
)
def test_select_records_without_selector(body: Any, expected: list[dict[str, Any]]) -> None:
    assert select_records(body) == expected


def test_select_records_returns_body_objects() -> None:
    body = {"results": [{"id": 1}]}

    records = select_records(body)

    assert records is body["results"]


def test_select_records_several_lists() -> None:
    with pytest.raises(ResponseError) as info:
        select_records({"$overall": [], "data": [{"id": 1}]})

    message = str(info.value)
    assert "several arrays ('$overall', 'data')" in message
    assert "set data_selector to one of them" in message
    assert "data_selector: '\"$overall\"'" in message


def test_select_records_mixed_items() -> None:
    with pytest.raises(ResponseError) as info:
        select_records([{"id": 1}, "two"])

    assert str(info.value) == (
        "the response body item 1 is a JSON string ('two') but item 0 is a JSON object; "
        "records must all be objects or all be scalars, so check data_selector"
    )


def test_select_records_nested_list() -> None:
    with pytest.raises(ResponseError, match=r"the response key 'rows' item 0 is an array"):
        select_records({"rows": [[1, 2], [3, 4]]})


def test_select_records_scalar_body() -> None:
    with pytest.raises(ResponseError, match="the response body is a JSON string"):
        select_records("ok")


@pytest.mark.parametrize(
    ("value", "name"),
    [({}, "object"), ([], "array"), ("", "string"), (1.5, "number"), (False, "boolean"), (None, "null")],
)
def test_json_type_name(value: Any, name: str) -> None:
    assert json_type_name(value) == name
