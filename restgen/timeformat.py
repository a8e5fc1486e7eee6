"""Time formats of a spec: reading values as datetimes and writing datetimes back.

A format is ``unix_seconds`` or ``unix_ms`` (a number since 1970-01-01 UTC), ``iso8601``,
``date`` (``YYYY-MM-DD``) or a strftime pattern containing ``%``. A time without an offset is
read as UTC.

``converter`` builds the strict reader of the ``to_timestamp`` transform. Incremental's
``parse_time`` reads cursors and bounds more leniently with the same functions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def converter(time_format: str) -> Callable[[Any], datetime]:
    """Return a function that reads one value written in ``time_format`` as a UTC datetime.

    The unix formats take a number or a numeric string, and the others take a string. The
    function raises TypeError for a value of another type, and ValueError or OverflowError
    for one that does not parse. Raises ValueError for an unknown format.
    """
    if time_format == "unix_seconds":
        return parse_unix_seconds
    if time_format == "unix_ms":
        return parse_unix_ms
    if time_format == "iso8601":
        return _convert_iso8601
    if time_format == "date":
        return _convert_date
    if isinstance(time_format, str) and "%" in time_format:
        return lambda value: _convert_pattern(value, time_format)
    raise ValueError(
        f"format must be unix_seconds, unix_ms, iso8601, date or a strftime pattern with "
        f"% directives, got {time_format!r}"
    )


def parse_number(value: Any) -> float | int:
    """Return a number, or the number in a string, where a whole number gives an exact int.

    Raises TypeError for a boolean or a value that is neither a number nor a string, and
    ValueError for text that is not a number.
    """
    if isinstance(value, bool):
        raise TypeError("a boolean is not a timestamp")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        text = value.strip()
        return int(text) if text.lstrip("-").isdigit() else float(text)
    raise TypeError(f"expected a number, got {type(value).__name__}")


def parse_unix_seconds(value: Any) -> datetime:
    """Read seconds since 1970-01-01 UTC, a number or a numeric string, as a UTC datetime."""
    return EPOCH + timedelta(seconds=parse_number(value))


def parse_unix_ms(value: Any) -> datetime:
    """Read milliseconds since 1970-01-01 UTC, a number or a numeric string, as a UTC datetime."""
    return EPOCH + timedelta(milliseconds=parse_number(value))


def parse_iso8601(text: str) -> datetime:
    """Parse ISO 8601 text as an aware datetime that keeps the text's offset, if it has one."""
    return assume_utc(_fromisoformat(text))


def parse_date(text: str) -> datetime:
    """Parse ``YYYY-MM-DD`` text, with surrounding white space, as midnight UTC."""
    return midnight_utc(date.fromisoformat(text.strip()))


def parse_pattern(text: str, pattern: str) -> datetime:
    """Parse text with the strftime ``pattern`` as an aware datetime that keeps a parsed offset."""
    return assume_utc(datetime.strptime(text, pattern))


def midnight_utc(day: date) -> datetime:
    """Return the start of ``day`` in UTC."""
    return datetime.combine(day, time(), tzinfo=UTC)


def assume_utc(value: datetime) -> datetime:
    """Return ``value`` unchanged when it is aware, and with UTC attached when it is naive."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def to_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC, reading a naive value as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def format_time(value: datetime, time_format: str) -> str | int:
    """Write a UTC datetime in ``time_format`` (unix formats give integers)."""
    if time_format == "unix_seconds":
        return int(value.timestamp())
    if time_format == "unix_ms":
        return int(value.timestamp() * 1000)
    if time_format == "date":
        return value.date().isoformat()
    if time_format == "iso8601":
        return value.isoformat().replace("+00:00", "Z")
    return value.strftime(time_format)


def granularity(time_format: str) -> timedelta:
    """Return the smallest step a format can write: the gap between an inclusive end and the next start."""
    if time_format == "date" or (("%d" in time_format or "%j" in time_format) and "%H" not in time_format):
        return timedelta(days=1)
    if time_format == "unix_ms" or "%f" in time_format:
        return timedelta(milliseconds=1)
    if time_format == "iso8601":
        return timedelta(microseconds=1)
    if "%S" in time_format or time_format == "unix_seconds" or "%s" in time_format:
        return timedelta(seconds=1)
    if "%M" in time_format:
        return timedelta(minutes=1)
    return timedelta(hours=1)


def _convert_iso8601(value: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected ISO 8601 text, got {type(value).__name__}")
    text = value.strip()
    # RFC 3339 allows a lowercase z.
    # NOTE: incremental's parse_time rejects a trailing lowercase z, so cursors need a Z.
    if text.endswith("z"):
        text = text[:-1] + "Z"
    return to_utc(_fromisoformat(text))


def _convert_date(value: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected YYYY-MM-DD text, got {type(value).__name__}")
    return parse_date(value)


def _convert_pattern(value: Any, pattern: str) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected text in the form {pattern!r}, got {type(value).__name__}")
    return to_utc(parse_pattern(value, pattern))


def _fromisoformat(text: str) -> datetime:
    """Parse ISO 8601 text that may end in ``Z``, giving a naive datetime when it has no offset."""
    # Python 3.10's fromisoformat does not accept the Z suffix.
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)
