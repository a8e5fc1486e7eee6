"""A small subset of Mixpanel segmentation expressions, for the ``where`` parameter.

Supported: comparisons joined by ``and``, each ``properties["NAME"] OP LITERAL`` (or
``event["NAME"]``), where OP is one of ``>= > <= < == !=`` and LITERAL is a number, a
double-quoted string, ``datetime(EPOCH_SECONDS)`` or ``datetime("YYYY-MM-DDTHH:MM:SS")``.
That covers the filters Airbyte sends (``properties["$time"]>=datetime(1700000000)`` on
export, ``properties["$last_seen"] >= "2024-01-01T00:00:00"`` on engage). Anything else is
rejected, so a client never silently gets unfiltered data.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

_CONDITION = re.compile(
    r"""\s*(?:properties|event)\["(?P<name>[^"]+)"\]\s*
        (?P<op>>=|<=|==|!=|>|<)\s*
        (?P<literal>datetime\(\s*(?:-?\d+(?:\.\d+)?|"[^"]*")\s*\)|-?\d+(?:\.\d+)?|"[^"]*")\s*""",
    re.VERBOSE,
)
_AND = re.compile(r"and\b", re.IGNORECASE)
_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq, "!=": operator.ne,
}

Predicate = Callable[[Mapping[str, Any]], bool]


class _DateTimeLiteral:
    """A ``datetime(...)`` literal as Unix seconds, compared with epoch numbers or naive ISO strings."""

    def __init__(self, epoch: float) -> None:
        self.epoch = epoch


def parse_where(expression: str, aliases: Mapping[str, str] | None = None) -> Predicate:
    """Compile ``expression`` into a predicate over a property mapping.

    ``aliases`` maps expression names to property names, e.g. ``{"$time": "time"}`` for
    export events. A missing property or a value of another type fails the comparison.
    Raises ValueError with the supported grammar for anything outside it.
    """
    conditions: list[tuple[str, Callable[[Any, Any], bool], Any]] = []
    position = 0
    while True:
        match = _CONDITION.match(expression, position)
        if match is None:
            raise ValueError(
                f"unsupported where expression {expression!r}; the simulator supports comparisons "
                'like properties["$time"] >= datetime(1700000000) joined by "and"'
            )
        name = match["name"]
        conditions.append(((aliases or {}).get(name, name), _OPERATORS[match["op"]], _parse_literal(match["literal"])))
        position = match.end()
        if position == len(expression):
            break
        joiner = _AND.match(expression, position)
        if joiner is None:
            raise ValueError(f"unsupported where expression {expression!r}; expected 'and' at offset {position}")
        position = joiner.end()

    def predicate(properties: Mapping[str, Any]) -> bool:
        return all(_compare(properties.get(name), compare, literal) for name, compare, literal in conditions)

    return predicate


def _parse_literal(text: str) -> Any:
    if text.startswith("datetime("):
        inner = text[len("datetime("):-1].strip()
        if inner.startswith('"'):
            moment = datetime.fromisoformat(inner.strip('"'))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            return _DateTimeLiteral(moment.timestamp())
        return _DateTimeLiteral(float(inner))
    if text.startswith('"'):
        return text[1:-1]
    return float(text)


def _compare(value: Any, compare: Callable[[Any, Any], bool], literal: Any) -> bool:
    if isinstance(literal, _DateTimeLiteral):
        epoch = _epoch_of(value)
        return epoch is not None and compare(epoch, literal.epoch)
    if isinstance(literal, str):
        return isinstance(value, str) and compare(value, literal)
    return isinstance(value, (int, float)) and not isinstance(value, bool) and compare(value, literal)


def _epoch_of(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    return None
