"""The raw event export endpoint, ``GET /api/2.0/export``: JSON Lines of the events in a date range."""

from __future__ import annotations

import json
from typing import Any

from restgen.simulator.mixpanel_data import MixpanelData
from restgen.simulator.mixpanel_events import GeneratedEvent
from restgen.simulator.mixpanel_params import (
    RequestRejected,
    boolean_param,
    integer_param,
    query_error,
    required_date,
)
from restgen.simulator.mixpanel_where import parse_where
from restgen.simulator.server import SimRequest, SimResponse

MAX_EXPORT_LIMIT = 100_000
TERMINATED_EARLY_LINE = "terminated early"
FUTURE_TO_DATE_MESSAGE = b"to_date cannot be later than today"


def export_events(
    request: SimRequest, params: dict[str, Any], data: MixpanelData, terminate_early: bool = False
) -> SimResponse:
    """Return the export body for ``params``, or raise RequestRejected with a 400.

    ``from_date`` and ``to_date`` are both inclusive. A ``to_date`` after the simulated today
    gets Mixpanel's plain-text 400. With ``terminate_early`` the body holds only the first half
    of the events and ends with the line ``terminated early``.
    """
    first = required_date(request, params, "from_date")
    last = required_date(request, params, "to_date")
    if last > data.today:
        raise RequestRejected(SimResponse(400, FUTURE_TO_DATE_MESSAGE, "text/plain; charset=utf-8"))
    if first > last:
        raise query_error(request, 400, f"from_date {first} is later than to_date {last}")

    names = _event_names(request, params.get("event"))
    limit = integer_param(request, params, "limit", None, 1)
    if limit is not None and limit > MAX_EXPORT_LIMIT:
        raise query_error(request, 400, f"limit must be at most {MAX_EXPORT_LIMIT}, got {limit}")
    time_in_ms = boolean_param(request, params, "time_in_ms")

    events = data.events(first, last, names)
    where = params.get("where")
    if where:
        try:
            matches = parse_where(str(where), {"$time": "time"})
        except ValueError as exc:
            raise query_error(request, 400, str(exc)) from None
        events = [event for event in events if matches(event.wire["properties"])]
    if limit is not None:
        events = events[:limit]

    lines = [_json_line(event, time_in_ms) for event in events]
    if terminate_early:
        lines = lines[: len(lines) // 2] + [TERMINATED_EARLY_LINE]
    body = "".join(line + "\n" for line in lines).encode()
    return SimResponse(200, body, "text/plain; charset=utf-8")


def _event_names(request: SimRequest, value: Any) -> list[str] | None:
    """Parse ``event``, a JSON array of names; an absent or empty array selects every event."""
    if value is None or value == "":
        return None
    names = value
    if isinstance(value, str):
        try:
            names = json.loads(value)
        except ValueError:
            raise query_error(request, 400, f'event must be a JSON array of event names like ["Purchase"], got {value!r}') from None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise query_error(request, 400, f'event must be a JSON array of event names like ["Purchase"], got {value!r}')
    return names or None


def _json_line(event: GeneratedEvent, time_in_ms: bool) -> str:
    return json.dumps(event.render(time_in_ms), ensure_ascii=False, separators=(",", ":"))
