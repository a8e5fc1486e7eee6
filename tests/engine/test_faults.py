"""Server faults: retried statuses, Retry-After, cut bodies and error bodies inside a 200."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import ApiServer, Engine, Exchange

ROWS = [{"id": number} for number in range(1, 6)]
JSONL = b"".join(json.dumps(row).encode() + b"\n" for row in ROWS)


def flaky(fail_first: int, failure: Callable[[Exchange], None], success: Callable[[Exchange], None]) -> Callable[[Exchange], None]:
    """Return a handler that serves the first ``fail_first`` requests with ``failure``, later ones with ``success``."""
    calls = {"count": 0}

    def handler(exchange: Exchange) -> None:
        calls["count"] += 1
        if calls["count"] <= fail_first:
            failure(exchange)
        else:
            success(exchange)

    return handler


def send_rows(exchange: Exchange) -> None:
    exchange.send_json(ROWS)


def send_jsonl(exchange: Exchange) -> None:
    exchange.send(200, JSONL, content_type="application/x-ndjson")


def retry_waits(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Return the waits that the HTTP client logged before each retry, e.g. ['0.10']."""
    waits = []
    for record in caplog.records:
        message = record.getMessage()
        if "; attempt " in message and message.endswith(" s"):
            waits.append(message.rsplit(" in ", 1)[1].removesuffix(" s"))
    return waits


def test_5xx_then_success(engine: Engine, api: ApiServer) -> None:
    api.route("/items", flaky(2, lambda exchange: exchange.send_json({"error": "busy"}, status=503), send_rows))
    spec = engine.write_spec([{"name": "items", "path": "items"}])

    result = engine.run(spec)

    assert len(api.requests_to("/items")) == 3
    assert engine.column("items", "id") == [1, 2, 3, 4, 5]
    assert result.stats[0].retries == 2
    assert result.stats[0].requests == 3


def http_date(seconds_from_now: int) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


@pytest.mark.parametrize(
    ("retry_after", "expected_wait"),
    [
        # max_retry_after caps the requested wait at 0.1 s, which shows the header was read.
        (lambda: "30", "0.10"),
        (lambda: http_date(3600), "0.10"),
        # 0 falls back to the exponential backoff (backoff_factor 0.01).
        (lambda: "0", "0.01"),
    ],
    ids=["seconds", "http-date", "zero"],
)
def test_429_retry_after(engine: Engine, api: ApiServer, caplog: pytest.LogCaptureFixture, retry_after: Callable[[], str], expected_wait: str) -> None:
    def too_many(exchange: Exchange) -> None:
        exchange.send_json({"error": "slow down"}, status=429, headers={"Retry-After": retry_after()})

    api.route("/items", flaky(1, too_many, send_rows))
    retry = {"max_attempts": 3, "backoff_factor": 0.01, "jitter": False, "max_retry_after": 0.1}
    spec = engine.write_spec([{"name": "items", "path": "items"}], client={"retry": retry})

    with caplog.at_level(logging.WARNING, logger="restgen"):
        engine.run(spec)

    assert retry_waits(caplog) == [expected_wait]
    assert len(api.requests_to("/items")) == 2
    assert engine.column("items", "id") == [1, 2, 3, 4, 5]


def reset_mid_body(exchange: Exchange) -> None:
    body = json.dumps(ROWS).encode()
    exchange.send_head(200, {"Content-Type": "application/json", "Content-Length": str(len(body))})
    exchange.write(body[: len(body) // 2])
    exchange.reset()


@pytest.mark.parametrize("response_format", ["json", "jsonl"])
def test_connection_reset_mid_body(engine: Engine, api: ApiServer, response_format: str) -> None:
    api.route("/items", flaky(1, reset_mid_body, send_rows if response_format == "json" else send_jsonl))
    spec = engine.write_spec([{"name": "items", "path": "items", "response": {"format": response_format}}])

    engine.run(spec)

    assert len(api.requests_to("/items")) == 2
    assert engine.column("items", "id") == [1, 2, 3, 4, 5]


def truncated_jsonl(exchange: Exchange) -> None:
    """Promise more bytes than are sent, then close: the last line is cut in the middle."""
    cut = JSONL[: len(JSONL) - 5]
    exchange.send_head(200, {"Content-Type": "application/x-ndjson", "Content-Length": str(len(JSONL))})
    exchange.write(cut)
    exchange.handler.close_connection = True
    exchange.handler.connection.shutdown(2)


def test_truncated_jsonl_retried(engine: Engine, api: ApiServer) -> None:
    api.route("/export", flaky(1, truncated_jsonl, send_jsonl))
    spec = engine.write_spec([{"name": "events", "path": "export", "response": {"format": "jsonl"}, "primary_key": "id"}])

    engine.run(spec)

    assert len(api.requests_to("/export")) == 2
    assert engine.query("SELECT count(*), count(DISTINCT id) FROM events") == [(5, 5)]


def test_truncated_jsonl_fails_after_retries(engine: Engine, api: ApiServer) -> None:
    api.route("/export", truncated_jsonl)
    spec = engine.write_spec([{"name": "events", "path": "export", "response": {"format": "jsonl"}}])

    code, _, err = engine.cli_run(spec)

    assert code == 1
    assert "events: " in err
    assert "after 4 attempts" in err
    assert "Traceback" not in err
    assert len(api.requests_to("/export")) == 4
    assert "events" not in engine.tables()


def day(number: int, hour: int = 0) -> int:
    return int(dt.datetime(2024, 1, number, hour, tzinfo=dt.timezone.utc).timestamp())


def test_error_body_keeps_state(engine: Engine, api: ApiServer) -> None:
    events = [{"id": 1, "ts": day(1, 6)}]
    broken = {"from": None}

    def export(exchange: Exchange) -> None:
        start, end = int(exchange.request.arg("from") or 0), int(exchange.request.arg("to") or 0)
        if broken["from"] is not None and start >= broken["from"]:
            exchange.send_json({"status": "error", "error": "backend unavailable"})
            return
        exchange.send_json({"status": "ok", "data": [event for event in events if start <= event["ts"] <= end]})

    api.route("/export", export)
    endpoint: dict[str, Any] = {
        "name": "events",
        "path": "export",
        "params": {"from": "${incremental.start}", "to": "${incremental.end}"},
        "data_selector": "data",
        "response": {"rules": [{"body_path": "status == 'error'", "action": "fail", "message": "the API reported an error; run again later"}]},
        "incremental": {
            "cursor_path": "ts",
            "cursor_format": "unix_seconds",
            "initial_value": "2024-01-01",
            "end_value": "2024-01-03T23:59:59Z",
            "range_end": "inclusive",
            "window": "1d",
            "lookback": "1h",
        },
        "primary_key": "id",
        "write_disposition": "merge",
    }
    spec = engine.write_spec([endpoint])
    engine.run(spec)
    assert engine.cursors("events") == {"": "2024-01-01T06:00:00+00:00"}

    # New data on days 2 and 3, but the third window returns an error inside a 200.
    events.extend([{"id": 2, "ts": day(2, 12)}, {"id": 3, "ts": day(3, 12)}])
    broken["from"] = day(3)
    code, _, err = engine.cli_run(spec)

    assert code == 1
    assert "events: the API reported an error; run again later" in err
    assert "backend unavailable" in err
    assert engine.column("events", "id") == [1]
    assert engine.cursors("events") == {"": "2024-01-01T06:00:00+00:00"}

    broken["from"] = None
    api.clear()
    engine.run(spec)

    assert engine.column("events", "id") == [1, 2, 3]
    assert engine.cursors("events") == {"": "2024-01-03T12:00:00+00:00"}
    assert api.requests_to("/export")[0].arg("from") == str(day(1, 5))


def test_jsonl_error_body_rule(engine: Engine, api: ApiServer) -> None:
    api.route("/export", lambda exchange: exchange.send(200, b'{"error": "rate limit exceeded, try later"}\n', content_type="application/x-ndjson"))
    rules = [{"body_contains": "rate limit exceeded", "action": "fail", "message": "the export hit its rate limit"}]
    spec = engine.write_spec([{"name": "events", "path": "export", "response": {"format": "jsonl", "rules": rules}}])

    code, _, err = engine.cli_run(spec)

    assert code == 1
    assert "events: the export hit its rate limit" in err
    assert "events" not in engine.tables()


def test_jsonl_error_body_path_rule(engine: Engine, api: ApiServer) -> None:
    api.route("/export", lambda exchange: exchange.send(200, b'\n{"status": "error", "error": "bad project"}\n', content_type="application/x-ndjson"))
    rules = [{"body_path": "status == 'error'", "action": "fail", "message": "the export failed"}]
    spec = engine.write_spec([{"name": "events", "path": "export", "response": {"format": "jsonl", "rules": rules}}])

    code, _, err = engine.cli_run(spec)

    assert code == 1
    assert "events: the export failed" in err
    assert "bad project" in err


def test_body_path_rule_on_error_status(engine: Engine, api: ApiServer) -> None:
    api.json_route("/items", lambda request: [{"id": 1}, {"id": 2}])
    api.route("/items/1/stats", lambda exchange: exchange.send_json({"hits": 3}))
    api.route("/items/2/stats", lambda exchange: exchange.send_json({"code": "no_data", "detail": "no stats yet"}, status=400))
    rules = [{"status": 400, "body_path": "code == 'no_data'", "action": "skip", "message": "no statistics yet"}]
    child = {"name": "stats", "path": "items/${parent.id}/stats", "depends_on": "items", "include_from_parent": {"item_id": "id"}, "response": {"rules": rules}}
    spec = engine.write_spec([{"name": "items", "path": "items"}, child])

    engine.run(spec)

    assert engine.query("SELECT item_id, hits FROM stats") == [(1, 3)]


def test_jsonl_body_path_ignores_records(engine: Engine, api: ApiServer) -> None:
    # Records that look like the error object are data when the body has several lines.
    payload = b'{"id": 1, "status": "error"}\n{"id": 2, "status": "ok"}\n'
    api.route("/export", lambda exchange: exchange.send(200, payload, content_type="application/x-ndjson"))
    rules = [{"body_path": "status == 'error'", "action": "fail", "message": "the export failed"}]
    spec = engine.write_spec([{"name": "events", "path": "export", "response": {"format": "jsonl", "rules": rules}}])

    engine.run(spec)

    assert engine.query("SELECT id, status FROM events ORDER BY id") == [(1, "error"), (2, "ok")]
