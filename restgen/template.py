"""``${name}`` placeholders in spec strings, resolved against nested mappings.

restgen writes its own small template syntax because a spec needs exactly one construct, a
dotted lookup, and must list every placeholder for validation before anything runs.
``$${`` writes a literal ``${``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\$\$\{|\$\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_$\-]+)*)\s*\}")


class TemplateError(KeyError):
    """A placeholder names something the context does not contain."""

    def __init__(self, name: str, available: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.available = available

    def __str__(self) -> str:
        known = ", ".join(self.available) or "none"
        return f"unknown placeholder '${{{self.name}}}' (available: {known})"


def iter_placeholders(value: Any) -> Iterator[str]:
    """Yield the dotted name of every placeholder in ``value``, searching nested lists and dicts."""
    if isinstance(value, str):
        for match in PLACEHOLDER.finditer(value):
            if match.group(1):
                yield match.group(1)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from iter_placeholders(item)
    elif isinstance(value, list):
        for item in value:
            yield from iter_placeholders(item)


def has_placeholders(value: Any) -> bool:
    return next(iter_placeholders(value), None) is not None


def lookup(name: str, context: Mapping[str, Any]) -> Any:
    """Return the value of dotted ``name`` in ``context``; raise TemplateError if a part is missing."""
    current: Any = context
    parts = name.split(".")
    for index, part in enumerate(parts):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
            continue
        if isinstance(current, Mapping):
            prefix = ".".join(parts[:index])
            available = [f"{prefix}.{key}" if prefix else str(key) for key in current]
        else:
            available = []
        raise TemplateError(name, sorted(available))
    return current


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """Resolve every placeholder in ``value``, recursing into lists and dicts.

    A string that is exactly one placeholder takes the value's own type (an integer stays an
    integer in a JSON body); a placeholder inside longer text is converted to text, with
    booleans as ``true``/``false`` and lists and dicts as compact JSON.
    """
    if isinstance(value, str):
        return _render_string(value, context)
    if isinstance(value, Mapping):
        return {key: render(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item, context) for item in value]
    return value


def _render_string(text: str, context: Mapping[str, Any]) -> Any:
    if "$" not in text:
        return text
    whole = PLACEHOLDER.fullmatch(text.strip()) if text.strip() == text else None
    if whole and whole.group(1):
        return lookup(whole.group(1), context)

    def replace(match: re.Match[str]) -> str:
        if not match.group(1):
            return "${"
        return _to_text(lookup(match.group(1), context))

    return PLACEHOLDER.sub(replace, text)
