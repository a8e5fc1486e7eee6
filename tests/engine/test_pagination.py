"""Each pagination type, end to end: requests sent to a local API and rows landed in DuckDB."""

from __future__ import annotations

import json
from typing import Any

from .conftest import ApiServer, Engine, RecordedRequest, page_of

ITEMS = [{"id": number, "name": f"item {number}"} for number in range(1, 11)]


def assert_ids(engine: Engine, table: str, expected: list[int]) -> None:
    assert engine.column(table, "id") == expected
    assert engine.query(f'SELECT count(DISTINCT id) FROM "{table}"')[0][0] == len(expected)


def test_single_page_one_request(engine: Engine, api: ApiServer) -> None:
    api.json_route("/items", lambda request: {"count": 3, "results": ITEMS[:3]})
    spec = engine.write_spec([{"name": "items", "path": "items", "data_selector": "results"}])

    result = engine.run(spec)

    assert len(api.requests_to("/items")) == 1
    assert_ids(engine, "items", [1, 2, 3])
    assert result.table_rows["items"] == 3


def test_page_number_total_pages(engine: Engine, api: ApiServer) -> None:
    def pages(request: RecordedRequest) -> dict[str, Any]:
        page = int(request.arg("p") or 0)
        # Page 4 would still return records, so only total_pages can stop the paging.
        return {"pages": 3, "data": page_of(ITEMS, (page - 1) * 3 % 9, 3)}

    api.json_route("/items", pages)
    pagination = {"type": "page_number", "page_param": "p", "start_page": 1, "total_pages_path": "pages", "stop_on_short_page": False}
    spec = engine.write_spec([{"name": "items", "path": "items", "pagination": pagination}])

    engine.run(spec)

    assert [request.arg("p") for request in api.requests_to("/items")] == ["1", "2", "3"]
    assert_ids(engine, "items", list(range(1, 10)))


def test_page_number_capped_page_size(engine: Engine, api: ApiServer) -> None:
    def capped(request: RecordedRequest) -> dict[str, Any]:
        page = int(request.arg("page") or 0)
        size = min(int(request.arg("page_size") or 0), 3)
        return {"page": page, "page_size": size, "results": page_of(ITEMS[:8], page * size, size)}

    api.json_route("/items", capped)
    pagination = {
        "type": "page_number",
        "start_page": 0,
        "page_size_param": "page_size",
        "page_size": 10,
        "page_size_path": "page_size",
    }
    spec = engine.write_spec([{"name": "items", "path": "items", "pagination": pagination}])

    engine.run(spec)

    requests = api.requests_to("/items")
    assert [request.arg("page") for request in requests] == ["0", "1", "2"]
    assert {request.arg("page_size") for request in requests} == {"10"}
    assert_ids(engine, "items", list(range(1, 9)))


def test_page_number_stops_on_short_page(engine: Engine, api: ApiServer) -> None:
    def pages(request: RecordedRequest) -> list[dict[str, Any]]:
        size = int(request.arg("per_page") or 0)
        return page_of(ITEMS, (int(request.arg("page") or 1) - 1) * size, size)

    api.json_route("/items", pages)
    pagination = {"type": "page_number", "page_size_param": "per_page", "page_size": 4}
    spec = engine.write_spec([{"name": "items", "path": "items", "pagination": pagination}])

    engine.run(spec)

    assert [request.arg("page") for request in api.requests_to("/items")] == ["1", "2", "3"]
    assert_ids(engine, "items", list(range(1, 11)))


def test_offset_advances_by_received(engine: Engine, api: ApiServer) -> None:
    def capped(request: RecordedRequest) -> dict[str, Any]:
        limit = min(int(request.arg("limit") or 0), 3)
        return {"items": page_of(ITEMS, int(request.arg("offset") or 0), limit)}

    api.json_route("/items", capped)
    spec = engine.write_spec([{"name": "items", "path": "items", "pagination": {"type": "offset", "limit": 5}}])

    engine.run(spec)

    requests = api.requests_to("/items")
    assert [request.arg("offset") for request in requests] == ["0", "3", "6", "9", "10"]
    assert {request.arg("limit") for request in requests} == {"5"}
    assert_ids(engine, "items", list(range(1, 11)))


def test_offset_stops_at_total(engine: Engine, api: ApiServer) -> None:
    def pages(request: RecordedRequest) -> dict[str, Any]:
        return {"total": 10, "items": page_of(ITEMS, int(request.arg("start") or 0), int(request.arg("count") or 0))}

    api.json_route("/items", pages)
    pagination = {"type": "offset", "limit": 4, "offset_param": "start", "limit_param": "count", "total_path": "total"}
    spec = engine.write_spec([{"name": "items", "path": "items", "pagination": pagination}])

    engine.run(spec)

    assert [request.arg("start") for request in api.requests_to("/items")] == ["0", "4", "8"]
    assert_ids(engine, "items", list(range(1, 11)))


def cursor_pages(request_cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """Serve ITEMS in pages of 4 behind opaque cursors 'c4' and 'c8'."""
    start = int(request_cursor[1:]) if request_cursor else 0
    following = f"c{start + 4}" if start + 4 < len(ITEMS) else None
    return page_of(ITEMS, start, 4), following


def test_cursor_from_body(engine: Engine, api: ApiServer) -> None:
    def pages(request: RecordedRequest) -> dict[str, Any]:
        records, following = cursor_pages(request.arg("after"))
        return {"data": records, "paging": {"next": following}}

    api.json_route("/items", pages)
    pagination = {"type": "cursor", "cursor_path": "paging.next", "cursor_param": "after"}
    spec = engine.write_spec([{"name": "items", "path": "items", "data_selector": "data", "pagination": pagination}])

    engine.run(spec)

    assert [request.arg("after") for request in api.requests_to("/items")] == [None, "c4", "c8"]
    assert_ids(engine, "items", list(range(1, 11)))


def test_cursor_from_header(engine: Engine, api: ApiServer) -> None:
    def pages(exchange: Any) -> None:
        records, following = cursor_pages(exchange.request.arg("cursor"))
        exchange.send_json(records, headers={"X-Next-Cursor": following} if following else None)

    api.route("/items", pages)
    spec = engine.write_spec([{"name": "items", "path": "items", "pagination": {"type": "cursor", "cursor_header": "x-next-cursor"}}])

    engine.run(spec)

    assert [request.arg("cursor") for request in api.requests_to("/items")] == [None, "c4", "c8"]
    assert_ids(engine, "items", list(range(1, 11)))


def test_cursor_in_json_body(engine: Engine, api: ApiServer) -> None:
    def search(request: RecordedRequest) -> dict[str, Any]:
        body = request.json()
        assert body["filter"] == {"kind": "all"}
        records, following = cursor_pages(body.get("cursor"))
        return {"hits": records, "next_cursor": following}

    api.json_route("/search", search)
    endpoint = {
        "name": "hits",
        "path": "search",
        "method": "POST",
        "json": {"filter": {"kind": "all"}},
        "data_selector": "hits",
        "pagination": {"type": "cursor", "cursor_path": "next_cursor", "location": "json"},
    }
    spec = engine.write_spec([endpoint])

    engine.run(spec)

    requests = api.requests_to("/search")
    assert [request.method for request in requests] == ["POST"] * 3
    assert [request.json().get("cursor") for request in requests] == [None, "c4", "c8"]
    assert all(request.query == {} for request in requests)
    assert_ids(engine, "hits", list(range(1, 11)))


def test_next_url_relative(engine: Engine, api: ApiServer) -> None:
    def pages(request: RecordedRequest) -> dict[str, Any]:
        page = int(request.arg("page") or 1)
        following = f"items?page={page + 1}&size=5" if page < 2 else None
        return {"results": page_of(ITEMS, (page - 1) * 5, 5), "links": {"next": following}}

    api.json_route("/v1/items", pages)
    endpoint = {"name": "items", "path": "v1/items", "params": {"size": 5}, "pagination": {"type": "next_url", "next_url_path": "links.next"}}
    spec = engine.write_spec([endpoint])

    engine.run(spec)

    requests = api.requests_to("/v1/items")
    assert [request.raw_path for request in requests] == ["/v1/items?size=5", "/v1/items?page=2&size=5"]
    assert_ids(engine, "items", list(range(1, 11)))


def test_link_header_pages(engine: Engine, api: ApiServer) -> None:
    def pages(exchange: Any) -> None:
        page = int(exchange.request.arg("page") or 1)
        links = [f'<{api.base_url}/items?page=1>; rel="first"']
        if page < 3:
            # One absolute and one relative next link, as real APIs mix them.
            target = f"{api.base_url}/items?page={page + 1}" if page == 1 else f"/items?page={page + 1}"
            links.append(f'<{target}>; rel="next"')
        exchange.send_json(page_of(ITEMS, (page - 1) * 4, 4), headers={"Link": ", ".join(links)})

    api.route("/items", pages)
    spec = engine.write_spec([{"name": "items", "path": "items", "pagination": {"type": "link_header"}}])

    engine.run(spec)

    assert [request.arg("page") for request in api.requests_to("/items")] == [None, "2", "3"]
    assert_ids(engine, "items", list(range(1, 11)))


def test_carry_session_field(engine: Engine, api: ApiServer) -> None:
    sessions: list[str | None] = []

    def engage(request: RecordedRequest) -> dict[str, Any]:
        form = request.form()
        page = int(form["page"])
        sessions.append(form.get("session_id"))
        body: dict[str, Any] = {"page": page, "page_size": 4, "results": page_of(ITEMS, page * 4, 4)}
        if page == 0:
            body.update(session_id="sess-1", total=len(ITEMS))
        return body

    api.json_route("/engage", engage)
    pagination = {
        "type": "page_number",
        "start_page": 0,
        "page_size_param": "page_size",
        "page_size": 4,
        "total_items_path": "total",
        "location": "form",
        "carry": {"session_id": "session_id"},
    }
    endpoint = {"name": "profiles", "path": "engage", "method": "POST", "form": {"where": "x > 1"}, "pagination": pagination}
    spec = engine.write_spec([endpoint])

    engine.run(spec)

    assert sessions == [None, "sess-1", "sess-1"]
    assert {request.form()["where"] for request in api.requests_to("/engage")} == {"x > 1"}
    assert_ids(engine, "profiles", list(range(1, 11)))


def test_repeated_cursor_fails_cli(engine: Engine, api: ApiServer) -> None:
    api.json_route("/items", lambda request: {"data": ITEMS[:2], "next": "same-cursor"})
    spec = engine.write_spec([{"name": "items", "path": "items", "data_selector": "data", "pagination": {"type": "cursor", "cursor_path": "next"}}])

    code, out, err = engine.cli_run(spec)

    assert code == 1
    assert err.startswith("Error: ") or "\nError: " in err
    assert "items" in err
    assert "'same-cursor'" in err
    assert "loop" in err
    assert "Traceback" not in err
    assert len(api.requests_to("/items")) == 2
    assert "items" not in engine.tables()


def test_offset_jsonl_pages(engine: Engine, api: ApiServer) -> None:
    def pages(exchange: Any) -> None:
        request = exchange.request
        records = page_of(ITEMS, int(request.arg("offset") or 0), int(request.arg("limit") or 0))
        exchange.send(200, "".join(json.dumps(record) + "\n" for record in records), content_type="application/x-ndjson")

    api.route("/export", pages)
    endpoint = {"name": "items", "path": "export", "response": {"format": "jsonl"}, "pagination": {"type": "offset", "limit": 4}}
    spec = engine.write_spec([endpoint])

    engine.run(spec)

    assert [request.arg("offset") for request in api.requests_to("/export")] == ["0", "4", "8", "10"]
    assert_ids(engine, "items", list(range(1, 11)))


def test_cursor_read_before_transforms(engine: Engine, api: ApiServer) -> None:
    # The cursor sits inside the records, in a field that a transform moves away.
    def pages(request: RecordedRequest) -> dict[str, Any]:
        start = int(request.arg("after") or 0)
        records = [{"id": item["id"], "meta": {"seq": item["id"]}} for item in page_of(ITEMS, start, 4)]
        return {"items": records, "more": start + 4 < len(ITEMS)}

    api.json_route("/items", pages)
    pagination = {"type": "cursor", "cursor_path": "items[-1].meta.seq", "cursor_param": "after", "has_more_path": "more"}
    endpoint = {"name": "items", "path": "items", "data_selector": "items", "pagination": pagination, "transforms": [{"hoist": {"field": "meta"}}]}
    spec = engine.write_spec([endpoint])

    engine.run(spec)

    assert [request.arg("after") for request in api.requests_to("/items")] == [None, "4", "8"]
    assert_ids(engine, "items", list(range(1, 11)))
    assert engine.column("items", "seq") == list(range(1, 11))
