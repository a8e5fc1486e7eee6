"""Incremental loading: windows, inclusive ends, cursor state across runs, per-parent cursors."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest

from .conftest import ApiServer, Engine, RecordedRequest

UTC = dt.timezone.utc


def ts(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return int(dt.datetime(2024, 1, day, hour, minute, second, tzinfo=UTC).timestamp())


INCREMENTAL = {
    "cursor_path": "ts",
    "cursor_format": "unix_seconds",
    "initial_value": "2024-01-01T00:00:00Z",
    "end_value": "2024-01-03T23:59:59Z",
    "range_format": "unix_seconds",
    "range_end": "inclusive",
    "window": "1d",
    "lookback": "1h",
}


def serve_range(api: ApiServer, path: str, events: list[dict[str, Any]]) -> None:
    """Serve ``path`` with the events whose ts lies in [from, to], both inclusive."""

    def in_range(request: RecordedRequest) -> dict[str, Any]:
        start, end = int(request.arg("from") or 0), int(request.arg("to") or 0)
        return {"events": [event for event in events if start <= event["ts"] <= end]}

    api.json_route(path, in_range)


def event_endpoint(**overrides: Any) -> dict[str, Any]:
    endpoint: dict[str, Any] = {
        "name": "events",
        "path": "events",
        "params": {"from": "${incremental.start}", "to": "${incremental.end}"},
        "data_selector": "events",
        "incremental": dict(INCREMENTAL),
        "primary_key": "id",
        "write_disposition": "merge",
    }
    endpoint.update(overrides)
    return endpoint


def ranges(api: ApiServer, path: str) -> list[tuple[int, int]]:
    return [(int(request.arg("from") or 0), int(request.arg("to") or 0)) for request in api.requests_to(path)]


def test_windows_inclusive_end(engine: Engine, api: ApiServer) -> None:
    # The last second of each day proves the inclusive end: an exclusive server bound would drop it.
    events = [
        {"id": 1, "ts": ts(1, 0)},
        {"id": 2, "ts": ts(1, 23, 59, 59)},
        {"id": 3, "ts": ts(2, 12)},
        {"id": 4, "ts": ts(3, 23, 59, 59)},
    ]
    serve_range(api, "/events", events)
    spec = engine.write_spec([event_endpoint()])

    engine.run(spec)

    assert ranges(api, "/events") == [
        (ts(1), ts(1, 23, 59, 59)),
        (ts(2), ts(2, 23, 59, 59)),
        (ts(3), ts(3, 23, 59, 59)),
    ]
    assert engine.column("events", "id") == [1, 2, 3, 4]
    assert engine.cursors("events") == {"": "2024-01-03T23:59:59+00:00"}


def test_second_run_resumes_with_lookback(engine: Engine, api: ApiServer) -> None:
    events = [{"id": 1, "ts": ts(1, 6)}, {"id": 2, "ts": ts(2, 6)}, {"id": 3, "ts": ts(3, 12)}]
    serve_range(api, "/events", events)
    spec = engine.write_spec([event_endpoint()])
    engine.run(spec)
    assert engine.cursors("events") == {"": "2024-01-03T12:00:00+00:00"}

    # A late event inside the lookback and a new one after the cursor.
    events.extend([{"id": 4, "ts": ts(3, 11, 30)}, {"id": 5, "ts": ts(3, 18)}])
    api.clear()
    engine.run(spec)

    assert ranges(api, "/events") == [(ts(3, 11), ts(3, 23, 59, 59))]
    assert engine.column("events", "id") == [1, 2, 3, 4, 5]
    assert engine.query("SELECT count(*), count(DISTINCT id) FROM events") == [(5, 5)]
    assert engine.cursors("events") == {"": "2024-01-03T18:00:00+00:00"}


def test_third_run_loads_no_duplicates(engine: Engine, api: ApiServer) -> None:
    events = [{"id": 1, "ts": ts(3, 10)}, {"id": 2, "ts": ts(3, 12)}]
    serve_range(api, "/events", events)
    spec = engine.write_spec([event_endpoint()])

    for _ in range(3):
        engine.run(spec)

    assert engine.query("SELECT count(*), count(DISTINCT id) FROM events") == [(2, 2)]


@pytest.mark.parametrize(("mode", "expected"), [("include", [1, 2, 3]), ("exclude", [1, 3])])
def test_missing_cursor_include_exclude(engine: Engine, api: ApiServer, mode: str, expected: list[int]) -> None:
    events = [{"id": 1, "ts": ts(1, 1)}, {"id": 2, "ts": None}, {"id": 3, "ts": ts(1, 2)}]
    api.json_route("/events", lambda request: {"events": events})
    incremental = {**INCREMENTAL, "on_cursor_value_missing": mode, "window": None}
    incremental.pop("window")
    spec = engine.write_spec([event_endpoint(incremental=incremental)])

    engine.run(spec)

    assert engine.column("events", "id") == expected
    assert engine.cursors("events") == {"": "2024-01-01T02:00:00+00:00"}


def test_missing_cursor_raise(engine: Engine, api: ApiServer) -> None:
    api.json_route("/events", lambda request: {"events": [{"id": 1, "ts": ts(1, 1)}, {"id": 2}]})
    incremental = {key: value for key, value in INCREMENTAL.items() if key != "window"}
    spec = engine.write_spec([event_endpoint(incremental=incremental)])

    code, _, err = engine.cli_run(spec)

    assert code == 1
    assert "events: " in err
    assert "cursor_path 'ts'" in err
    assert "on_cursor_value_missing" in err
    assert "events" not in engine.tables()


def child_spec(engine: Engine) -> Any:
    child = {
        "name": "account_events",
        "path": "accounts/${parent.id}/events",
        "depends_on": "accounts",
        "params": {"from": "${incremental.start}", "to": "${incremental.end}"},
        "data_selector": "events",
        "include_from_parent": {"account_id": "id"},
        "incremental": {key: value for key, value in INCREMENTAL.items() if key != "window"},
        "primary_key": ["account_id", "id"],
        "write_disposition": "merge",
    }
    return engine.write_spec([{"name": "accounts", "path": "accounts", "primary_key": "id", "write_disposition": "merge"}, child])


def test_child_cursor_per_parent(engine: Engine, api: ApiServer) -> None:
    accounts = [{"id": 1}, {"id": 2}]
    events = {
        1: [{"id": 10, "ts": ts(1, 5)}, {"id": 11, "ts": ts(2, 5)}],
        2: [{"id": 20, "ts": ts(3, 5)}],
        3: [{"id": 30, "ts": ts(1, 1)}, {"id": 31, "ts": ts(3, 20)}],
    }
    api.json_route("/accounts", lambda request: accounts)
    for account, rows in events.items():
        serve_range(api, f"/accounts/{account}/events", rows)
    spec = child_spec(engine)

    engine.run(spec)

    assert engine.cursors("account_events") == {
        '{"id": 1}': "2024-01-02T05:00:00+00:00",
        '{"id": 2}': "2024-01-03T05:00:00+00:00",
    }
    assert engine.query("SELECT account_id, id FROM account_events ORDER BY 1, 2") == [(1, 10), (1, 11), (2, 20)]

    accounts.append({"id": 3})
    api.clear()
    engine.run(spec)

    end = ts(3, 23, 59, 59)
    assert ranges(api, "/accounts/1/events") == [(ts(2, 4), end)]
    assert ranges(api, "/accounts/2/events") == [(ts(3, 4), end)]
    assert ranges(api, "/accounts/3/events") == [(ts(1), end)]
    assert engine.query("SELECT account_id, id FROM account_events ORDER BY 1, 2") == [(1, 10), (1, 11), (2, 20), (3, 30), (3, 31)]
    assert engine.cursors("account_events")['{"id": 3}'] == "2024-01-03T20:00:00+00:00"


def test_date_range_windows(engine: Engine, api: ApiServer) -> None:
    # Mixpanel's export: unix-second cursors, inclusive YYYY-MM-DD ranges, a day per request.
    events = [{"id": 1, "ts": ts(1, 8)}, {"id": 2, "ts": ts(2, 8)}, {"id": 3, "ts": ts(3, 8)}]

    def by_date(request: RecordedRequest) -> dict[str, Any]:
        start, end = request.arg("from_date") or "", request.arg("to_date") or ""
        return {"events": [event for event in events if start <= dt.datetime.fromtimestamp(event["ts"], UTC).date().isoformat() <= end]}

    api.json_route("/events", by_date)
    incremental = {**INCREMENTAL, "initial_value": "2024-01-01", "end_value": "2024-01-03", "range_format": "%Y-%m-%d", "lookback": "1d"}
    endpoint = event_endpoint(params={"from_date": "${incremental.start}", "to_date": "${incremental.end}"}, incremental=incremental)
    spec = engine.write_spec([endpoint])

    engine.run(spec)

    dates = [(request.arg("from_date"), request.arg("to_date")) for request in api.requests_to("/events")]
    assert dates == [("2024-01-01", "2024-01-01"), ("2024-01-02", "2024-01-02"), ("2024-01-03", "2024-01-03")]
    assert engine.column("events", "id") == [1, 2, 3]

    api.clear()
    engine.run(spec)

    dates = [(request.arg("from_date"), request.arg("to_date")) for request in api.requests_to("/events")]
    assert dates == [("2024-01-02", "2024-01-02"), ("2024-01-03", "2024-01-03")]
    assert engine.query("SELECT count(*), count(DISTINCT id) FROM events") == [(3, 3)]


def test_inclusive_date_end_covers_day(engine: Engine, api: ApiServer) -> None:
    events = [{"id": 1, "ts": ts(2, 6)}, {"id": 2, "ts": ts(3, 18)}]
    serve_range(api, "/events", events)
    spec = engine.write_spec([event_endpoint(incremental={**INCREMENTAL, "initial_value": "2024-01-02", "end_value": "2024-01-03"})])

    engine.run(spec)

    assert ranges(api, "/events") == [(ts(2), ts(2, 23, 59, 59)), (ts(3), ts(3, 23, 59, 59))]
    assert engine.column("events", "id") == [1, 2]


def test_window_log_names_parent(engine: Engine, api: ApiServer, caplog: Any) -> None:
    api.json_route("/accounts", lambda request: [{"id": 1}, {"id": 2}])
    serve_range(api, "/accounts/1/events", [{"id": 10, "ts": ts(1, 5)}])
    serve_range(api, "/accounts/2/events", [{"id": 20, "ts": ts(2, 5)}])
    spec = child_spec(engine)

    with caplog.at_level(logging.INFO, logger="restgen"):
        engine.run(spec)

    requesting = [record.getMessage() for record in caplog.records if ": requesting " in record.getMessage()]
    assert len(requesting) == 2
    assert requesting[0].endswith(' for parent {"id": 1}')
    assert requesting[1].endswith(' for parent {"id": 2}')


def open_ended_events(api: ApiServer, events: list[dict[str, Any]]) -> None:
    """Serve ``/events`` with the events whose ts is at or after ``since``, as many APIs do."""
    api.json_route("/events", lambda request: [event for event in events if event["ts"] >= int(request.arg("since") or 0)])


def append_endpoint() -> dict[str, Any]:
    return {
        "name": "events",
        "path": "events",
        "params": {"since": "${incremental.start}"},
        "incremental": {"cursor_path": "ts", "cursor_format": "unix_seconds", "initial_value": "2024-01-01T00:00:00Z"},
        "write_disposition": "append",
    }


def test_append_skips_rows_at_stored_cursor(engine: Engine, api: ApiServer) -> None:
    events = [{"id": 1, "ts": ts(1, 1)}, {"id": 2, "ts": ts(1, 2)}, {"id": 3, "ts": ts(1, 2)}]
    open_ended_events(api, events)
    spec = engine.write_spec([append_endpoint()])
    engine.run(spec)

    # Each later run requests from the stored cursor again, so events 2 and 3 come back every time.
    engine.run(spec)
    events.append({"id": 4, "ts": ts(1, 2)})
    engine.run(spec)
    events.append({"id": 5, "ts": ts(1, 3)})
    engine.run(spec)

    assert [request.arg("since") for request in api.requests_to("/events")] == [str(ts(1)), str(ts(1, 2)), str(ts(1, 2)), str(ts(1, 2))]
    assert engine.column("events", "id") == [1, 2, 3, 4, 5]
