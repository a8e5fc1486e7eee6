"""Validate a spec against the JSON Schema and turn each error into one located, plain line."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jmespath
import jmespath.exceptions
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from restgen.errors import SpecIssue
from restgen.spec.yamlload import PathKey, Positions, format_path

SCHEMA_NAME = "restgen-spec.schema.json"
NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"
_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


def schema_text() -> str:
    """Return the JSON Schema of a spec: the copy inside the wheel, or the repository's."""
    packaged = resources.files("restgen").joinpath("schemas", SCHEMA_NAME)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parents[2] / "schemas" / SCHEMA_NAME).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def spec_schema() -> dict[str, Any]:
    return json.loads(schema_text())


_format_checker = FormatChecker()


@_format_checker.checks("jmespath", raises=(jmespath.exceptions.JMESPathError, ValueError))
def _is_jmespath(value: object) -> bool:
    if isinstance(value, str):
        jmespath.compile(value)
    return True


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(spec_schema(), format_checker=_format_checker)


def schema_issues(document: Any, positions: Positions, file: str) -> list[SpecIssue]:
    """Return one issue per schema violation, each at the YAML position of the offending value."""
    described = [_describe(error, tuple(error.absolute_path)) for error in _leaf_errors(_validator().iter_errors(document))]

    # A misspelt required key shows up twice, as unknown and as missing; keep the line with the hint.
    suggested = {(path[:-1], hint) for path, _, _, hint in described if hint}
    issues = []
    for path, message, at_key, _ in described:
        if message.startswith("missing required key") and (path, message.split("'")[1]) in suggested:
            continue
        line, column = positions.of_key(path) if at_key else positions.of_value(path)
        issues.append(SpecIssue(file, line, column, format_path(path), message))
    return sorted(set(issues))


def _leaf_errors(errors: Iterable[ValidationError]) -> Iterable[ValidationError]:
    for error in errors:
        # if/then branches report through "then", and the nested error names the actual problem.
        if error.context and error.validator != "propertyNames":
            yield from _leaf_errors(error.context)
        else:
            yield error


def _describe(error: ValidationError, path: PathKey) -> tuple[PathKey, str, bool, str | None]:
    """Describe one error: the path to report, the message, whether to point at the key, and a suggested key."""
    validator = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance

    if validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extra = sorted(set(instance) - set(allowed)) if isinstance(instance, dict) else []
        key = extra[0] if extra else "?"
        hint = _closest(key, allowed)
        if hint:
            return (*path, key), f"unknown key {key!r} (did you mean {hint!r}?)", True, hint
        return (*path, key), f"unknown key {key!r}; allowed keys: {', '.join(allowed)}", True, None
    if validator == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else "?"
        return path, f"missing required key {missing!r}", False, None
    if validator == "dependentRequired" and isinstance(instance, dict):
        for key, needed in error.validator_value.items():
            missing = [name for name in needed if name not in instance]
            if key in instance and missing:
                return (*path, key), f"{key!r} needs {missing[0]!r} next to it", True, None
    if validator == "pattern" and "propertyNames" in error.schema_path:
        noun = "variable" if path[:1] == ("variables",) else "key"
        return (*path, str(instance)), f"invalid {noun} name {instance!r}; use letters, digits and underscores, and do not start with a digit", True, None
    if validator == "enum" and "propertyNames" in error.schema_path:
        options = [str(option) for option in error.validator_value]
        noun = "transform" if "explode" in options else "name"
        message = f"unknown {noun} {instance!r}; allowed: {', '.join(options)}"
        return (*path, str(instance)), _with_hint(message, str(instance), options), True, None
    if validator == "enum":
        options = [str(option) for option in error.validator_value]
        return path, _with_hint(f"{instance!r} is not one of {_quoted(options)}", str(instance), options), False, None
    if validator == "propertyNames":
        name = error.context[0].instance if error.context else instance
        options = [str(option) for option in error.context[0].validator_value] if error.context and error.context[0].validator == "enum" else []
        noun = "transform" if options and "explode" in options else "name"
        message = f"unknown {noun} {name!r}; allowed: {', '.join(options)}" if options else f"invalid name {name!r}"
        return (*path, str(name)), _with_hint(message, str(name), options), True, None
    if validator == "const":
        return path, f"must be {error.validator_value!r}, not {instance!r}", False, None
    if validator == "type":
        return path, _wrong_type(instance, error.validator_value, schema), False, None
    if validator == "pattern":
        hint = schema.get("x-pattern-hint")
        if isinstance(instance, str) and "integer" in _as_list(schema.get("type")):
            return path, f"expected an integer or a '${{variable}}' placeholder, got {instance!r}", False, None
        if isinstance(instance, str) and "number" in _as_list(schema.get("type")):
            return path, f"expected a number or a '${{variable}}' placeholder, got {instance!r}", False, None
        if isinstance(instance, str) and "boolean" in _as_list(schema.get("type")):
            return path, f"expected true, false or a '${{variable}}' placeholder, got {instance!r}", False, None
        if hint:
            return path, f"{instance!r} is not {hint}", False, None
        if error.validator_value == NAME_PATTERN:
            noun = _name_noun(path)
            return path, f"invalid {noun} name {instance!r}; use letters, digits and underscores, and do not start with a digit", False, None
        return path, f"{instance!r} does not match the pattern {error.validator_value!r}", False, None
    if validator == "format" and error.validator_value == "jmespath":
        cause = error.cause
        reason = getattr(cause, "msg", None) or str(cause).splitlines()[0]
        return path, f"invalid jmespath expression {instance!r}: {reason}", False, None
    if validator == "minItems" and path == ("endpoints",):
        return path, "list at least one endpoint", False, None
    if validator == "minimum":
        return path, f"must be at least {error.validator_value}, got {instance!r}", False, None
    if validator == "exclusiveMinimum":
        return path, f"must be greater than {error.validator_value}, got {instance!r}", False, None
    if validator in ("minProperties", "maxProperties") and isinstance(instance, dict):
        return path, "write exactly one transform per list item, e.g. '- drop: [field]'", False, None
    return path, error.message, False, None


def _name_noun(path: PathKey) -> str:
    """Name what a name pattern applies to at ``path``, for the message."""
    if path[:1] == ("variables",):
        return "variable"
    if path[-1:] == ("name",):
        return "endpoint"
    if path[-1:] == ("table_name",):
        return "table"
    return "source"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _quoted(options: list[str]) -> str:
    return ", ".join(repr(option) for option in options)


# Keys that other loaders use for what restgen names otherwise (Airbyte, Singer, dlt).
_OTHER_TOOLS_KEYS = {
    "cursor_field": "cursor_path",
    "replication_key": "cursor_path",
    "paginator": "pagination",
    "record_selector": "data_selector",
    "records_jsonpath": "data_selector",
}


def _closest(given: str, options: list[str]) -> str | None:
    if _OTHER_TOOLS_KEYS.get(given) in options:
        return _OTHER_TOOLS_KEYS[given]
    close = difflib.get_close_matches(given, options, n=1, cutoff=0.6)
    return close[0] if close else None


def _with_hint(message: str, given: str, options: list[str]) -> str:
    hint = _closest(given, options)
    return f"{message} (did you mean {hint!r}?)" if hint else message


def _wrong_type(instance: Any, expected: Any, schema: dict[str, Any]) -> str:
    names = [_TYPE_NAMES.get(name, name) for name in _as_list(expected)]
    if "string" in _as_list(expected) and "pattern" in schema and len(names) > 1:
        names = [name for name in names if name != "a string"] + ["a '${variable}' placeholder"]
    wanted = " or ".join(names)
    return f"expected {wanted}, got {_type_name(instance)} {_short(instance)}"


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    return {int: "integer", float: "number", str: "string"}.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
