"""Response formats (JSON and JSON Lines) and how records are selected from a body."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from .conftest import ApiServer, Engine


def jsonl_body(records: list[dict[str, Any]], newline: bytes = b"\n") -> bytes:
    return b"".join(json.dumps(record).encode() + newline for record in records)


def test_data_selector_nested(engine: Engine, api: ApiServer) -> None:
    body = {"meta": {"ids": [9, 9]}, "data": {"items": [{"id": 1}, {"id": 2}, {"id": 3}]}}
    api.json_route("/items", lambda request: body)
    spec = engine.write_spec([{"name": "items", "path": "items", "data_selector": "data.items"}])

    engine.run(spec)

    assert engine.column("items", "id") == [1, 2, 3]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([{"id": 1}, {"id": 2}], [1, 2]),
        ({"page": 1, "results": [{"id": 3}, {"id": 4}]}, [3, 4]),
        ({"id": 5, "name": "only"}, [5]),
    ],
    ids=["list", "single-list-key", "one-object"],
)
def test_default_selection(engine: Engine, api: ApiServer, body: Any, expected: list[int]) -> None:
    api.json_route("/items", lambda request: body)
    spec = engine.write_spec([{"name": "items", "path": "items"}])

    engine.run(spec)

    assert engine.column("items", "id") == expected


def test_ambiguous_body_names_selector(engine: Engine, api: ApiServer) -> None:
    api.json_route("/items", lambda request: {"users": [{"id": 1}], "groups": [{"id": 2}]})
    spec = engine.write_spec([{"name": "items", "path": "items"}])

    code, _, err = engine.cli_run(spec)

    assert code == 1
    assert "items: " in err
    assert "data_selector" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzip"])
def test_jsonl_crlf_blank_lines(engine: Engine, api: ApiServer, gzipped: bool) -> None:
    records = [{"id": number, "text": f"line {number}"} for number in range(1, 8)]
    payload = b"\r\n".join([jsonl_body(records[:3], b"\r\n"), b"", jsonl_body(records[3:], b"\r\n")]) + b"\r\n\r\n"
    headers = {}
    if gzipped:
        payload = gzip.compress(payload)
        headers["Content-Encoding"] = "gzip"

    api.route("/export", lambda exchange: exchange.send(200, payload, headers, content_type="application/x-ndjson"))
    endpoint = {"name": "events", "path": "export", "response": {"format": "jsonl", "batch_size": 2}}
    spec = engine.write_spec([endpoint])

    result = engine.run(spec)

    assert engine.column("events", "id") == list(range(1, 8))
    assert engine.column("events", "text") == sorted(f"line {number}" for number in range(1, 8))
    assert result.table_rows["events"] == 7
    assert len(api.requests_to("/export")) == 1


def test_jsonl_invalid_line_fails(engine: Engine, api: ApiServer) -> None:
    payload = b'{"id": 1}\n{"id": 2\n{"id": 3}\n'
    api.route("/export", lambda exchange: exchange.send(200, payload, content_type="application/x-ndjson"))
    spec = engine.write_spec([{"name": "events", "path": "export", "response": {"format": "jsonl"}}])

    code, _, err = engine.cli_run(spec)

    assert code == 1
    assert "events: " in err
    assert "line 2" in err
    assert "events" not in engine.tables()


@pytest.mark.parametrize("status", [200, 204])
def test_empty_body_is_empty_page(engine: Engine, api: ApiServer, status: int) -> None:
    api.json_route("/items", lambda request: [{"id": 1}, {"id": 2}])
    api.route("/items/1/tags", lambda exchange: exchange.send_json([{"tag": "red"}]))
    api.route("/items/2/tags", lambda exchange: exchange.send(status, b""))
    child = {"name": "tags", "path": "items/${parent.id}/tags", "depends_on": "items", "include_from_parent": {"item_id": "id"}}
    spec = engine.write_spec([{"name": "items", "path": "items"}, child])

    engine.run(spec)

    assert engine.query("SELECT item_id, tag FROM tags") == [(1, "red")]
