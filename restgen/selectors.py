"""jmespath expressions that pick records and single values out of a response body.

restgen uses jmespath rather than the JSONPath that dlt uses, because jmespath has one
specification with a compliance test suite, so an expression means the same thing in every
implementation, while JSONPath dialects differ in filters and quoting.

A key that contains ``$`` or other characters outside ``[A-Za-z0-9_]`` must be quoted with
double quotes: ``"$properties"`` or ``results."$overall"``.
"""

from __future__ import annotations

from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

from restgen.errors import ResponseError

_QUOTING_HINT = (
    "; a key that contains '$' or other special characters must be quoted, "
    'as in "$properties"'
)


def compile_expression(expression: str) -> ParsedResult:
    """Compile a jmespath expression for repeated use.

    Raises ValueError("invalid jmespath expression 'a..b': <reason>") when the expression
    does not parse; the reason is jmespath's own, without its multi-line caret drawing.
    """
    if not isinstance(expression, str):
        raise ValueError(
            f"invalid jmespath expression {expression!r}: expected a string, "
            f"got {type(expression).__name__}"
        )
    try:
        return jmespath.compile(expression)
    except JMESPathError as exc:
        reason = _parse_error_reason(exc)
        if "Unknown token $" in reason:
            reason += _QUOTING_HINT
        raise ValueError(f"invalid jmespath expression {expression!r}: {reason}") from exc


def _parse_error_reason(exc: JMESPathError) -> str:
    first_line = str(exc).split("\n", 1)[0]
    prefixes = (
        "Invalid jmespath expression: ",
        "Bad jmespath expression: ",
        "Invalid JMESPath expression: ",
    )
    for prefix in prefixes:
        first_line = first_line.removeprefix(prefix)
    return first_line.removesuffix(":").removesuffix(", for expression").rstrip(".")


def search(expression: ParsedResult, data: Any) -> Any:
    """Evaluate a compiled expression against ``data``; None when the path is missing.

    Raises ResponseError when jmespath fails at evaluation time, for example when a function
    such as ``length()`` gets a value of the wrong type.
    """
    try:
        return expression.search(data)
    except JMESPathError as exc:
        raise ResponseError(
            f"jmespath expression {expression.expression!r} failed on the response: {exc}"
        ) from exc


def select_records(body: Any, selector: ParsedResult | str | None = None) -> list[dict[str, Any]]:
    """Return the records of one response body as a list of dicts.

    With a selector (the spec's ``data_selector``), its result is used: a list as is, an
    object as one record, and null (a missing path) as an empty page.

    Without a selector, the body decides:

    - a list is the records;
    - an object with exactly one list-valued key gives that list, as in
      ``{"page": 0, "results": [...]}``;
    - an object with no list value is one record;
    - an object with several list-valued keys raises ResponseError, because guessing could
      load the wrong list. The message names the keys and suggests a ``data_selector``;
    - null (an empty body) is an empty page.

    Inside the list, objects are records. A list of scalars (strings, numbers, booleans,
    nulls), such as ``["Signed up", "Purchase"]``, becomes ``[{"value": "Signed up"},
    {"value": "Purchase"}]``. A nested list, or a list that mixes objects with other values,
    raises ResponseError naming the first bad item, since it usually means the selector
    points at the wrong place.

    The returned list and dicts are the body's own objects, not copies.
    """
    if isinstance(selector, str):
        selector = compile_expression(selector)

    if selector is not None:
        selected = search(selector, body)
        where = f"data_selector {selector.expression!r}"
        if selected is None:
            return []
        if isinstance(selected, dict):
            return [selected]
        if isinstance(selected, list):
            return _as_records(selected, where)
        raise ResponseError(
            f"{where} selected a JSON {json_type_name(selected)} ({_shorten(selected)}); "
            "expected an array of records, one object or null"
        )

    if body is None:
        return []
    if isinstance(body, list):
        return _as_records(body, "the response body")
    if not isinstance(body, dict):
        raise ResponseError(
            f"the response body is a JSON {json_type_name(body)} ({_shorten(body)}); "
            "expected an array of records or an object"
        )

    list_keys = [key for key, value in body.items() if isinstance(value, list)]
    if not list_keys:
        return [body]
    if len(list_keys) == 1:
        return _as_records(body[list_keys[0]], f"the response key {list_keys[0]!r}")
    names = ", ".join(repr(key) for key in list_keys)
    raise ResponseError(
        f"the response has several arrays ({names}), so the records are ambiguous; "
        f"set data_selector to one of them, for example data_selector: {_quote_key(list_keys[0])}"
    )


def _as_records(items: list[Any], where: str) -> list[dict[str, Any]]:
    if all(isinstance(item, dict) for item in items):
        return items
    if all(not isinstance(item, (dict, list)) for item in items):
        return [{"value": item} for item in items]
    first_is_object = isinstance(items[0], dict)
    for index, item in enumerate(items):
        if isinstance(item, list):
            raise ResponseError(
                f"{where} item {index} is an array ({_shorten(item)}); records must be objects "
                "or scalars, so check data_selector"
            )
        if isinstance(item, dict) != first_is_object:
            raise ResponseError(
                f"{where} item {index} is a JSON {json_type_name(item)} ({_shorten(item)}) "
                f"but item 0 is a JSON {json_type_name(items[0])}; records must all be objects "
                "or all be scalars, so check data_selector"
            )
    raise AssertionError("unreachable: a mixed list always has a first bad item")


def _quote_key(key: str) -> str:
    if key.isidentifier() and key.isascii():
        return key
    escaped = key.replace('"', '\\"')
    return f"'\"{escaped}\"'"


def json_type_name(value: Any) -> str:
    """Return the JSON type name of a parsed value, such as "object", "array" or "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _shorten(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
