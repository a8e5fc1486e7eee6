"""Incremental loading: cursor values, the range each run requests, and date windows.

restgen keeps its own cursor state, in dlt's resource state, because dlt's ``Incremental``
keeps one cursor per resource while a child endpoint needs one per parent value, and dlt has
no date-window splitting. The state is part of dlt's pipeline state, so it is committed with
the load package that carries the rows it describes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal

import jmespath

from restgen.errors import IncrementalError
from restgen.spec.variables import parse_date
from restgen.timeformat import (
    UTC,
    assume_utc,
    format_time,
    granularity,
    midnight_utc,
    parse_iso8601,
    parse_pattern,
    parse_unix_ms,
    parse_unix_seconds,
)

logger = logging.getLogger(__name__)
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
STATE_KEY = "restgen_cursors"
# The entry of the cursor state that keeps, per partition, digests of the rows loaded at the
# cursor value. Partition names are "" or JSON objects, so they never equal it.
SEEN_KEY = "seen_at_cursor"


def parse_duration(text: str) -> dt.timedelta:
    """Parse ``30s``, ``15m``, ``6h`` or ``1d``; raise ValueError otherwise."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"invalid duration {text!r}; write a whole number followed by s, m, h or d")
    return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def parse_time(value: Any, time_format: str) -> dt.datetime:
    """Read a cursor or bound value as an aware datetime; raise ValueError when it does not parse.

    Datetimes and dates are accepted whatever the declared format, because transforms such as
    ``to_timestamp`` may already have converted the value. A number is read as unix seconds
    in every format but ``unix_ms``. Naive times are read as UTC, and a time with an offset
    keeps it. Raises OverflowError for a time out of range, and with a unix format TypeError
    for a value that is neither a number nor a string.
    """
    if isinstance(value, dt.datetime):
        return assume_utc(value)
    if isinstance(value, dt.date):
        return midnight_utc(value)
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{value!r} is not a time")
    if time_format == "unix_ms":
        return parse_unix_ms(value)
    if time_format == "unix_seconds" or isinstance(value, (int, float)):
        return parse_unix_seconds(value)
    text = str(value).strip()
    if time_format in ("iso8601", "date"):
        relative = parse_date(text)  # YYYY-MM-DD, today, yesterday, today-Nd
        if relative is not None:
            return midnight_utc(relative)
        return parse_iso8601(text)
    return parse_pattern(text, time_format)


def _floor(value: dt.datetime, step: dt.timedelta) -> dt.datetime:
    if step >= dt.timedelta(days=1):
        return value.replace(hour=0, minute=0, second=0, microsecond=0)
    seconds = step.total_seconds()
    if seconds >= 1:
        return dt.datetime.fromtimestamp(int(value.timestamp() // seconds * seconds), tz=UTC)
    return value


def _is_date_only(value: Any) -> bool:
    """Return whether a bound is a date without a time: a date object, YYYY-MM-DD or today-Nd."""
    if isinstance(value, dt.datetime):
        return False
    if isinstance(value, dt.date):
        return True
    return isinstance(value, str) and parse_date(value.strip()) is not None


@dataclass(frozen=True)
class Window:
    """One request range, half-open ``[start, stop)``, with the bounds as the request writes them."""

    start: dt.datetime
    stop: dt.datetime
    start_text: Any
    end_text: Any

    def __repr__(self) -> str:
        return f"Window({self.start_text!s}..{self.end_text!s})"


@dataclass
class IncrementalRule:
    """The incremental block of one endpoint, parsed."""

    cursor_path: str
    cursor_format: str
    initial: dt.datetime
    end: dt.datetime | None
    range_format: str
    range_end: Literal["inclusive", "exclusive"]
    window: dt.timedelta | None
    lookback: dt.timedelta
    on_missing: Literal["raise", "include", "exclude"]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> IncrementalRule:
        cursor_format = str(config.get("cursor_format", "iso8601"))
        range_format = str(config.get("range_format", cursor_format))
        range_end = config.get("range_end", "exclusive")
        end = parse_time(config["end_value"], "iso8601") if config.get("end_value") else None
        if end is not None and range_end == "inclusive":
            if _is_date_only(config["end_value"]):
                # An inclusive date is the whole day, whatever the precision of the range format.
                end = _floor(end, dt.timedelta(days=1)) + dt.timedelta(days=1)
            else:
                end = _floor(end, granularity(range_format)) + granularity(range_format)
        return cls(
            cursor_path=str(config["cursor_path"]),
            cursor_format=cursor_format,
            initial=parse_time(config["initial_value"], "iso8601"),
            end=end,
            range_format=range_format,
            range_end=range_end,
            window=parse_duration(config["window"]) if config.get("window") else None,
            lookback=parse_duration(config["lookback"]) if config.get("lookback") else dt.timedelta(0),
            on_missing=config.get("on_cursor_value_missing", "raise"),
        )

    def windows(self, last_value: dt.datetime | None, now: dt.datetime | None = None) -> list[Window]:
        """Return the windows one run requests: from the last cursor minus the lookback, up to the end.

        The first run starts at ``initial_value``; later runs at ``last_value - lookback``, never
        before ``initial_value``. An empty list means there is nothing to request yet.
        """
        step = granularity(self.range_format)
        start = self.initial if last_value is None else max(self.initial, last_value - self.lookback)
        start = _floor(start, step)
        stop = self.end or (now or dt.datetime.now(UTC))
        result = []
        size = self.window or (stop - start)
        cursor = start
        while cursor < stop:
            window_stop = min(cursor + size, stop)
            shown_end = window_stop - step if self.range_end == "inclusive" else window_stop
            result.append(Window(cursor, window_stop, format_time(cursor, self.range_format), format_time(shown_end, self.range_format)))
            cursor = window_stop
        return result


class CursorTracker:
    """Tracker of one partition's cursor: drops rows outside the range and records the maximum.

    ``state`` is the dict stored in dlt's resource state. ``partition`` names the parent value
    (empty for an endpoint without a parent), so every parent keeps its own cursor.
    """

    def __init__(self, rule: IncrementalRule, state: MutableMapping[str, Any], partition: str, endpoint: str) -> None:
        self.rule = rule
        self.state = state
        self.partition = partition
        self.endpoint = endpoint
        self._expression = jmespath.compile(rule.cursor_path)
        stored = state.get(partition)
        self.last_value = dt.datetime.fromisoformat(stored) if stored else None
        self.new_maximum = self.last_value
        self.start: dt.datetime | None = None
        self.stop: dt.datetime | None = None
        # Rows at the stored cursor value that earlier runs loaded. Requests start at that value
        # again, so without these an append table would get them once more per run.
        self.seen: set[str] = set(state.get(SEEN_KEY, {}).get(partition, [])) if stored else set()
        # Digests of the rows this run kept at new_maximum.
        self.at_maximum: set[str] = set()

    def windows(self) -> list[Window]:
        windows = self.rule.windows(self.last_value)
        if windows:
            self.start, self.stop = windows[0].start, windows[-1].stop
        return windows

    def filter(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Return the rows inside the run's range, less those loaded before at the stored cursor value.

        Also remembers the largest cursor value and the rows at it.
        """
        kept = []
        page_maximum: dt.datetime | None = None
        at_page_maximum: list[dict[str, Any]] = []
        for row in rows:
            raw = self._expression.search(row)
            if raw is None:
                if self.rule.on_missing == "include":
                    kept.append(row)
                    continue
                if self.rule.on_missing == "exclude":
                    continue
                raise IncrementalError(
                    f"{self.endpoint}: a record has no value at cursor_path {self.rule.cursor_path!r} "
                    f"(record keys: {', '.join(sorted(row)[:20])}); fix cursor_path or set "
                    "on_cursor_value_missing to include or exclude"
                )
            try:
                value = parse_time(raw, self.rule.cursor_format)
            except (ValueError, OverflowError, OSError) as exc:
                raise IncrementalError(
                    f"{self.endpoint}: cursor value {raw!r} at {self.rule.cursor_path!r} is not "
                    f"{self.rule.cursor_format}: {exc}"
                ) from exc
            if (self.start is not None and value < self.start) or (self.stop is not None and value >= self.stop):
                continue
            if self.seen and value == self.last_value and _digest(row) in self.seen:
                continue
            if page_maximum is None or value > page_maximum:
                page_maximum, at_page_maximum = value, []
            if value == page_maximum:
                at_page_maximum.append(row)
            kept.append(row)
        # Digests only for the rows at the page's maximum, which is one row when rows come in cursor order.
        if page_maximum is not None:
            digests = {_digest(row) for row in at_page_maximum}
            if self.new_maximum is None or page_maximum > self.new_maximum:
                self.new_maximum, self.at_maximum = page_maximum, digests
            elif page_maximum == self.new_maximum:
                self.at_maximum |= digests
        return kept

    def commit(self) -> None:
        """Store the new maximum and the rows at it in the state dict (dlt persists it with the load package)."""
        if self.new_maximum is None:
            return
        if self.new_maximum != self.last_value:
            self.state[self.partition] = self.new_maximum.isoformat()
            seen = self.at_maximum
        else:
            seen = self.seen | self.at_maximum
        if seen:
            self.state.setdefault(SEEN_KEY, {})[self.partition] = sorted(seen)


def _digest(row: dict[str, Any]) -> str:
    """Return a short digest of a row's fields and values, to recognize it in a later run."""
    text = json.dumps(row, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def iter_windows_or_once(tracker: CursorTracker | None) -> Iterator[Window | None]:
    """Yield each window of the tracker, or a single None for an endpoint without incremental."""
    if tracker is None:
        yield None
        return
    windows = tracker.windows()
    if not windows:
        logger.info("%s: nothing to request, the range is empty (cursor at %s)", tracker.endpoint, tracker.last_value)
    yield from windows
