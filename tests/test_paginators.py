"""Tests of the paginators, each driven against a real HTTP server on 127.0.0.1 with requests."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from restgen.errors import PaginationError
from restgen.pagination import (
    PAGINATORS,
    Page,
    PageRequest,
    Paginator,
    create_paginator,
    option_names,
    stop_conditions,
)
from restgen.selectors import select_records


@dataclass
class Received:
    """One request as the test server saw it."""

    method: str
    path: str
    query: dict[str, str]
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)


@dataclass
class Reply:
    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


Route = Callable[[Received, str], Reply]


def items(count: int) -> list[dict[str, int]]:
    return [{"id": index} for index in range(count)]


def page_slice(records: list[dict[str, int]], start: int, size: int) -> list[dict[str, int]]:
    return records[start : start + size]


# -- routes: each takes the request and the server's base URL ---------------------------------

ENGAGE_RECORDS = items(8)
ENGAGE_SIZE_CAP = 3


def engage(received: Received, base_url: str) -> Reply:
    """Mixpanel engage: pages from 0, page_size capped, total on page 0 only, session_id."""
    params = received.form or received.query
    page = int(params.get("page", "0"))
    size = min(int(params.get("page_size", "1000")), ENGAGE_SIZE_CAP)
    if page > 0 and params.get("session_id") != "sess-1":
        return Reply({"error": "page > 0 needs the session_id of page 0"}, status=400)
    body: dict[str, Any] = {
        "page": page,
        "page_size": size,
        "session_id": "sess-1",
        "status": "ok",
        "results": page_slice(ENGAGE_RECORDS, page * size, size),
    }
    if page == 0:
        body["total"] = len(ENGAGE_RECORDS)
    return Reply(body)


def numbered(count: int, with_total: bool) -> Route:
    """Pages from 1 of three records, with meta.total_pages when ``with_total``."""

    def route(received: Received, base_url: str) -> Reply:
        page = int(received.query.get("page", "1"))
        body: dict[str, Any] = {"data": page_slice(items(count), (page - 1) * 3, 3)}
        if with_total:
            body["meta"] = {"total_pages": -(-count // 3)}
        return Reply(body)

    return route


def forever(received: Received, base_url: str) -> Reply:
    page = int(received.query["page"])
    return Reply({"data": [{"id": page * 2}, {"id": page * 2 + 1}]})


def offset_route(received: Received, base_url: str) -> Reply:
    """Ten records; the server caps limit at 4."""
    offset = int(received.query["offset"])
    limit = min(int(received.query["limit"]), 4)
    return Reply({"total": 10, "items": page_slice(items(10), offset, limit)})


def cursor_body(received: Received, base_url: str) -> Reply:
    """Seven records, three per page; ``sticky=1`` keeps a cursor on the last page."""
    start = int(received.query.get("after", "after-0").split("-")[1])
    records = page_slice(items(7), start, 3)
    has_more = start + 3 < 7
    cursor = f"after-{start + 3}" if has_more or received.query.get("sticky") else None
    return Reply({"data": records, "next_cursor": cursor, "has_more": has_more})


def cursor_header(received: Received, base_url: str) -> Reply:
    start = int(received.query.get("cursor", "0"))
    headers = {"X-Next-Cursor": str(start + 3)} if start + 3 < 7 else {}
    return Reply(page_slice(items(7), start, 3), headers=headers)


def cursor_json(received: Received, base_url: str) -> Reply:
    """POST search: the cursor travels in the JSON body."""
    assert received.json["filter"] == "active"
    start = int(received.json.get("cursor") or 0)
    next_cursor = start + 3 if start + 3 < 7 else None
    return Reply({"results": page_slice(items(7), start, 3), "paging": {"next": next_cursor}})


def cursor_repeat(received: Received, base_url: str) -> Reply:
    return Reply({"data": [{"id": 1}], "next_cursor": "same"})


def next_relative(received: Received, base_url: str) -> Reply:
    page = int(received.query.get("page", "1"))
    links = {1: "next?page=2&limit=3", 2: "/next?page=3&limit=3", 3: None}
    return Reply({"results": page_slice(items(8), (page - 1) * 3, 3), "next": links[page]})


def next_loop(received: Received, base_url: str) -> Reply:
    page = int(received.query["page"])
    return Reply({"results": [{"id": page}], "next": f"/next-loop?page={2 if page == 1 else 1}"})


def link_header(received: Received, base_url: str) -> Reply:
    page = int(received.query.get("page", "1"))
    links = []
    if page < 3:
        links.append(f'<{base_url}/link?page={page + 1}>; rel="next"')
    if page > 1:
        links.append(f'<{base_url}/link?page={page - 1}>; rel="prev"')
    links.append(f'<{base_url}/link?page=3>; rel="last"')
    return Reply(page_slice(items(8), (page - 1) * 3, 3), headers={"Link": ", ".join(links)})


ROUTES: dict[str, Route] = {
    "/engage": engage,
    "/numbered-total": numbered(9, with_total=True),
    "/numbered": numbered(6, with_total=False),
    "/forever": forever,
    "/offset": offset_route,
    "/cursor": cursor_body,
    "/cursor-header": cursor_header,
    "/cursor-json": cursor_json,
    "/cursor-repeat": cursor_repeat,
    "/next": next_relative,
    "/next-loop": next_loop,
    "/link": link_header,
}


# -- server and client loop -----------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    server: ApiServer

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        received = Received(self.command, parts.path, dict(parse_qsl(parts.query)))
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            received.json = json.loads(raw)
        elif content_type.startswith("application/x-www-form-urlencoded"):
            received.form = dict(parse_qsl(raw.decode()))
        self.server.received.append(received)

        reply = ROUTES[parts.path](received, self.server.base_url)
        payload = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class ApiServer(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.received: list[Received] = []
        self.base_url = f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    api = ApiServer()
    thread = threading.Thread(target=api.serve_forever, daemon=True)
    thread.start()
    yield api
    api.shutdown()
    api.server_close()
    thread.join(timeout=5)


@pytest.fixture
def api(server: ApiServer) -> ApiServer:
    server.received.clear()
    return server


def fetch_all(
    paginator: Paginator, request: PageRequest, selector: str | None = None
) -> list[dict[str, Any]]:
    """Run the request loop that the engine runs, and return every record."""
    records: list[dict[str, Any]] = []
    with requests.Session() as session:
        paginator.init_request(request)
        while True:
            response = session.request(
                request.method,
                request.url,
                params=request.params,
                json=request.json,
                data=request.form,
                headers=request.headers,
                timeout=5,
            )
            assert response.status_code == 200, response.text
            body = response.json()
            page = Page(
                request=request,
                status=response.status_code,
                headers=response.headers,
                url=response.url,
                body=body,
                records=select_records(body, selector),
            )
            paginator.update_state(page)
            records.extend(page.records)
            if not paginator.has_next_page:
                return records
            paginator.update_request(request)


def get(api: ApiServer, path: str, **params: Any) -> PageRequest:
    return PageRequest("GET", api.base_url + path, params=params)


def ids(records: list[dict[str, Any]]) -> list[int]:
    return [record["id"] for record in records]


# -- single_page ----------------------------------------------------------------------------


def test_single_page_one_request(api: ApiServer) -> None:
    paginator = create_paginator({"type": "single_page"})

    records = fetch_all(paginator, get(api, "/numbered-total"), "data")

    assert ids(records) == [0, 1, 2]
    assert len(api.received) == 1
    assert repr(paginator) == "SinglePagePaginator(pages_fetched=1)"


# -- page_number ----------------------------------------------------------------------------

ENGAGE_CONFIG = {
    "type": "page_number",
    "start_page": 0,
    "page_size_param": "page_size",
    "page_size": 5,
    "page_size_path": "page_size",
    "total_items_path": "total",
    "carry": {"session_id": "session_id"},
}


def test_page_number_engage_carries_session_id(api: ApiServer) -> None:
    paginator = create_paginator(ENGAGE_CONFIG)

    records = fetch_all(paginator, get(api, "/engage"), "results")

    assert ids(records) == list(range(8))
    assert [request.query.get("page") for request in api.received] == ["0", "1", "2"]
    assert [request.query.get("session_id") for request in api.received] == [None, "sess-1", "sess-1"]
    assert {request.query["page_size"] for request in api.received} == {"5"}
    assert paginator.stop_reason == "received total_items=8 records"
    assert repr(paginator) == "PageNumberPaginator(page=2, total_items=8)"


def test_page_number_total_only_on_first_page(api: ApiServer) -> None:
    paginator = create_paginator(ENGAGE_CONFIG)
    fetch_all(paginator, get(api, "/engage"), "results")

    assert paginator.total_items == 8  # type: ignore[attr-defined]
    assert paginator.pages_fetched == 3


def test_page_number_capped_size_short_page(api: ApiServer) -> None:
    config = {key: value for key, value in ENGAGE_CONFIG.items() if key != "total_items_path"}
    paginator = create_paginator(config)

    records = fetch_all(paginator, get(api, "/engage"), "results")

    assert ids(records) == list(range(8))
    assert len(api.received) == 3
    assert paginator.stop_reason == "the page has 2 records, fewer than the size 3"


def test_page_number_requested_size_stops_early(api: ApiServer) -> None:
    # Without page_size_path the capped first page looks short, which is why the option exists.
    config = {
        key: value
        for key, value in ENGAGE_CONFIG.items()
        if key not in ("total_items_path", "page_size_path")
    }
    paginator = create_paginator(config)

    records = fetch_all(paginator, get(api, "/engage"), "results")

    assert ids(records) == [0, 1, 2]
    assert paginator.stop_reason == "the page has 3 records, fewer than the size 5"


def test_page_number_form_location(api: ApiServer) -> None:
    paginator = create_paginator({**ENGAGE_CONFIG, "location": "form"})
    request = PageRequest("POST", api.base_url + "/engage", form={"where": "x"})

    records = fetch_all(paginator, request, "results")

    assert ids(records) == list(range(8))
    assert [received.query for received in api.received] == [{}, {}, {}]
    assert api.received[0].form == {"where": "x", "page": "0", "page_size": "5"}
    assert api.received[2].form == {"where": "x", "page": "2", "page_size": "5", "session_id": "sess-1"}


def test_page_number_total_pages(api: ApiServer) -> None:
    paginator = create_paginator({"type": "page_number", "total_pages_path": "meta.total_pages"})

    records = fetch_all(paginator, get(api, "/numbered-total"), "data")

    assert ids(records) == list(range(9))
    assert [received.query["page"] for received in api.received] == ["1", "2", "3"]
    assert paginator.stop_reason == "fetched total_pages=3 pages"
    assert repr(paginator) == "PageNumberPaginator(page=3, total_pages=3)"


def test_page_number_empty_page(api: ApiServer) -> None:
    paginator = create_paginator({"type": "page_number"})

    records = fetch_all(paginator, get(api, "/numbered"), "data")

    assert ids(records) == list(range(6))
    assert len(api.received) == 3
    assert paginator.stop_reason == "the page has no records"


def test_page_number_short_page_with_page_size(api: ApiServer) -> None:
    paginator = create_paginator({"type": "page_number", "page_size": 3, "stop_on_empty_page": False})

    records = fetch_all(paginator, get(api, "/numbered-total"), "data")

    assert len(records) == 9
    # Nine records in full pages of three: only the empty fourth page is short.
    assert len(api.received) == 4


def test_page_number_missing_total_cannot_stop(api: ApiServer) -> None:
    paginator = create_paginator(
        {"type": "page_number", "total_pages_path": "meta.pages", "stop_on_empty_page": False}
    )

    with pytest.raises(PaginationError) as info:
        fetch_all(paginator, get(api, "/numbered"), "data")

    assert str(info.value) == (
        "page_number paginator cannot tell when to stop after page 1: total_pages_path "
        "'meta.pages' found nothing, no page size is known, stop_on_empty_page is false; "
        "set page_size, stop_on_empty_page: true or a total path that the response contains"
    )


def test_page_number_max_pages(api: ApiServer) -> None:
    paginator = create_paginator({"type": "page_number", "page_size": 2, "max_pages": 3})

    with pytest.raises(PaginationError) as info:
        fetch_all(paginator, get(api, "/forever"), "data")

    assert str(info.value) == (
        "stopped after max_pages=3 pages, but PageNumberPaginator(page=3) has more; "
        "raise max_pages or check the paginator's stop condition"
    )
    assert len(api.received) == 3


def test_page_number_max_pages_reached_exactly(api: ApiServer) -> None:
    paginator = create_paginator(
        {"type": "page_number", "total_pages_path": "meta.total_pages", "max_pages": 3}
    )

    records = fetch_all(paginator, get(api, "/numbered-total"), "data")

    assert len(records) == 9


def test_page_number_reused_after_init(api: ApiServer) -> None:
    paginator = create_paginator(ENGAGE_CONFIG)

    first = fetch_all(paginator, get(api, "/engage"), "results")
    second = fetch_all(paginator, get(api, "/engage"), "results")

    assert first == second
    assert api.received[3].query.get("session_id") is None
    assert api.received[3].query["page"] == "0"


# -- offset ---------------------------------------------------------------------------------


def test_offset_advances_by_received_count(api: ApiServer) -> None:
    paginator = create_paginator({"type": "offset", "limit": 5, "total_path": "total"})

    records = fetch_all(paginator, get(api, "/offset"), "items")

    assert ids(records) == list(range(10))
    assert [received.query["offset"] for received in api.received] == ["0", "4", "8"]
    assert {received.query["limit"] for received in api.received} == {"5"}
    assert paginator.stop_reason == "the offset reached total=10"
    assert repr(paginator) == "OffsetPaginator(offset=10, limit=5, total=10)"


def test_offset_stops_on_empty_page(api: ApiServer) -> None:
    paginator = create_paginator({"type": "offset", "limit": 5})

    records = fetch_all(paginator, get(api, "/offset"), "items")

    assert ids(records) == list(range(10))
    assert [received.query["offset"] for received in api.received] == ["0", "4", "8", "10"]
    assert paginator.stop_reason == "the page has no records"


def test_offset_custom_names_and_start(api: ApiServer) -> None:
    paginator = create_paginator(
        {"type": "offset", "limit": 4, "start_offset": 6, "total_path": "total"}
    )

    records = fetch_all(paginator, get(api, "/offset"), "items")

    assert ids(records) == [6, 7, 8, 9]


# -- cursor ---------------------------------------------------------------------------------


def test_cursor_from_body(api: ApiServer) -> None:
    paginator = create_paginator(
        {"type": "cursor", "cursor_path": "next_cursor", "cursor_param": "after"}
    )

    records = fetch_all(paginator, get(api, "/cursor"), "data")

    assert ids(records) == list(range(7))
    assert [received.query.get("after") for received in api.received] == [None, "after-3", "after-6"]
    assert paginator.stop_reason == "cursor_path 'next_cursor' has no cursor"


def test_cursor_has_more_false_stops(api: ApiServer) -> None:
    paginator = create_paginator(
        {
            "type": "cursor",
            "cursor_path": "next_cursor",
            "cursor_param": "after",
            "has_more_path": "has_more",
        }
    )

    records = fetch_all(paginator, get(api, "/cursor", sticky=1), "data")

    assert len(records) == 7
    assert len(api.received) == 3
    assert paginator.stop_reason == "has_more_path 'has_more' is False"


def test_cursor_from_header(api: ApiServer) -> None:
    paginator = create_paginator({"type": "cursor", "cursor_header": "x-next-cursor"})

    records = fetch_all(paginator, get(api, "/cursor-header"))

    assert ids(records) == list(range(7))
    assert [received.query.get("cursor") for received in api.received] == [None, "3", "6"]


def test_cursor_into_json_body(api: ApiServer) -> None:
    paginator = create_paginator(
        {"type": "cursor", "cursor_path": "paging.next", "location": "json"}
    )
    request = PageRequest("POST", api.base_url + "/cursor-json", json={"filter": "active"})

    records = fetch_all(paginator, request, "results")

    assert ids(records) == list(range(7))
    assert [received.json for received in api.received] == [
        {"filter": "active"},
        {"filter": "active", "cursor": 3},
        {"filter": "active", "cursor": 6},
    ]
    assert [received.query for received in api.received] == [{}, {}, {}]


def test_cursor_repeated(api: ApiServer) -> None:
    paginator = create_paginator({"type": "cursor", "cursor_path": "next_cursor"})

    with pytest.raises(PaginationError) as info:
        fetch_all(paginator, get(api, "/cursor-repeat"), "data")

    assert str(info.value) == (
        "cursor paginator: page 2 returned cursor 'same', which page 1 already returned, "
        "so paging would loop; check that cursor_path 'next_cursor' selects the next page's cursor"
    )
    assert len(api.received) == 2


# -- next_url -------------------------------------------------------------------------------


def test_next_url_relative(api: ApiServer) -> None:
    paginator = create_paginator({"type": "next_url"})

    records = fetch_all(paginator, get(api, "/next", page=1, limit=3), "results")

    assert ids(records) == list(range(8))
    assert [received.query for received in api.received] == [
        {"page": "1", "limit": "3"},
        {"page": "2", "limit": "3"},
        {"page": "3", "limit": "3"},
    ]
    assert paginator.stop_reason == "next_url_path 'next' has no next URL"


def test_next_url_repeated(api: ApiServer) -> None:
    paginator = create_paginator({"type": "next_url"})

    with pytest.raises(PaginationError) as info:
        fetch_all(paginator, get(api, "/next-loop", page=1), "results")

    assert str(info.value) == (
        f"next_url paginator: page 2 links to {api.base_url}/next-loop?page=1, which was "
        "already fetched as page 1, so paging would loop; check next_url_path 'next'"
    )
    assert len(api.received) == 2


def test_next_url_keeps_carried_fields(api: ApiServer) -> None:
    paginator = create_paginator({"type": "next_url", "carry": {"token_page": "results[0].id"}})

    fetch_all(paginator, get(api, "/next", page=1, limit=3), "results")

    assert api.received[1].query == {"page": "2", "limit": "3", "token_page": "0"}


# -- link_header ----------------------------------------------------------------------------


def test_link_header(api: ApiServer) -> None:
    paginator = create_paginator({"type": "link_header"})

    records = fetch_all(paginator, get(api, "/link", per_page=3))

    assert ids(records) == list(range(8))
    assert [received.query for received in api.received] == [
        {"per_page": "3"},
        {"page": "2"},
        {"page": "3"},
    ]
    assert paginator.stop_reason == "the Link header with rel='next' has no next URL"


def test_link_header_other_rel(api: ApiServer) -> None:
    paginator = create_paginator({"type": "link_header", "rel": "LAST"})

    message = "page 2 links to .*/link\\?page=3, which was already fetched as page 2"
    with pytest.raises(PaginationError, match=message):
        fetch_all(paginator, get(api, "/link"))


# -- unit tests without a server -------------------------------------------------------------


def make_page(body: Any, records: list[dict[str, Any]] | None = None, **headers: str) -> Page:
    request = PageRequest("GET", "http://127.0.0.1/items")
    return Page(request, 200, headers, request.url, body, records if records is not None else [])


def test_page_headers_case_insensitive() -> None:
    page = make_page({}, **{"X-Next-Cursor": "abc"})

    assert page.headers["x-next-cursor"] == "abc"


def test_carry_keeps_last_value() -> None:
    paginator = create_paginator({"type": "page_number", "page_size": 1, "carry": {"sid": "sid"}})
    request = PageRequest("GET", "http://127.0.0.1/items")
    paginator.init_request(request)

    paginator.update_state(make_page({"sid": "one"}, [{"id": 1}]))
    paginator.update_request(request)
    paginator.update_state(make_page({}, [{"id": 2}]))
    paginator.update_request(request)

    assert request.params == {"page": 3, "sid": "one"}


def test_carry_boolean_in_query() -> None:
    paginator = create_paginator({"type": "cursor", "cursor_path": "next", "carry": {"flag": "flag"}})
    request = PageRequest("GET", "http://127.0.0.1/items")
    paginator.init_request(request)

    paginator.update_state(make_page({"next": "c1", "flag": True}))
    paginator.update_request(request)

    assert request.params == {"cursor": "c1", "flag": "true"}


def test_init_request_copies_dicts() -> None:
    params = {"a": 1}
    request = PageRequest("GET", "http://127.0.0.1/items", params=params)

    create_paginator({"type": "page_number"}).init_request(request)

    assert params == {"a": 1}
    assert request.params == {"a": 1, "page": 1}


def test_update_request_after_last_page() -> None:
    paginator = create_paginator({"type": "single_page"})
    request = PageRequest("GET", "http://127.0.0.1/items")
    paginator.init_request(request)
    paginator.update_state(make_page({}))

    with pytest.raises(RuntimeError, match="update_request called after the last page"):
        paginator.update_request(request)


def test_total_not_a_number() -> None:
    paginator = create_paginator({"type": "offset", "limit": 2, "total_path": "total"})
    paginator.init_request(PageRequest("GET", "http://127.0.0.1/items"))

    with pytest.raises(PaginationError) as info:
        paginator.update_state(make_page({"total": "many"}, [{"id": 1}]))

    assert str(info.value) == (
        "offset paginator: total_path 'total' selected 'many' on page 1; "
        "expected a whole number of at least 0"
    )


def test_offset_empty_page_without_stop() -> None:
    paginator = create_paginator(
        {"type": "offset", "limit": 2, "total_path": "total", "stop_on_empty_page": False}
    )
    paginator.init_request(PageRequest("GET", "http://127.0.0.1/items"))

    with pytest.raises(PaginationError, match="page 1 at offset=0 has no records, but total is 5"):
        paginator.update_state(make_page({"total": 5}, []))


def test_next_url_not_a_string() -> None:
    paginator = create_paginator({"type": "next_url"})
    paginator.init_request(PageRequest("GET", "http://127.0.0.1/items"))

    with pytest.raises(PaginationError, match="next_url_path 'next' selected a JSON object on page 1"):
        paginator.update_state(make_page({"next": {"href": "/items?page=2"}}))


def test_next_url_repr_masks_secrets() -> None:
    paginator = create_paginator({"type": "next_url"})
    paginator.init_request(PageRequest("GET", "http://127.0.0.1/items"))

    paginator.update_state(make_page({"next": "/items?page=2&access_token=abc123"}))

    assert "abc123" not in repr(paginator)
    assert repr(paginator) == (
        "NextUrlPaginator(next_url='http://127.0.0.1/items?page=2&access_token=***', "
        "pages_fetched=1)"
    )


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"type": "single_page"}, ["after the first page"]),
        ({"type": "page_number"}, ["an empty page"]),
        (
            {"type": "page_number", "stop_on_empty_page": False, "stop_on_short_page": False},
            [],
        ),
        ({"type": "page_number", "stop_on_empty_page": False}, []),
        (
            {"type": "page_number", "stop_on_empty_page": False, "page_size": 100},
            ["a page shorter than page_size=100"],
        ),
        (
            {"type": "page_number", "stop_on_empty_page": False, "total_pages_path": "pages"},
            ["total_pages_path 'pages'"],
        ),
        ({"type": "offset", "limit": 10, "stop_on_empty_page": False}, []),
        (
            {"type": "offset", "limit": 10, "total_path": "total"},
            ["an empty page", "total_path 'total'"],
        ),
        ({"type": "cursor", "cursor_header": "X-Cursor"}, ["a missing, null or empty cursor"]),
        ({"type": "next_url"}, ["no URL at next_url_path 'next'"]),
        ({"type": "link_header"}, ["no Link header with rel='next'"]),
    ],
    ids=[
        "single",
        "page-default",
        "page-none",
        "page-short-without-size",
        "page-short",
        "page-total",
        "offset-none",
        "offset-total",
        "cursor",
        "next-url",
        "link",
    ],
)
def test_stop_conditions(config: dict[str, Any], expected: list[str]) -> None:
    assert stop_conditions(config) == expected


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "pagination: 'type' is missing; expected one of 'single_page', "),
        ({"type": "cursr"}, "pagination: type 'cursr' is not one of "),
        ({"type": "cursr"}, "(did you mean 'cursor'?)"),
        ({"type": "offset"}, "offset paginator: missing required option 'limit'"),
        ({"type": "offset", "limit": 0}, "offset paginator: limit must be an integer of at least 1, got 0"),
        ({"type": "offset", "limit": True}, "limit must be an integer of at least 1, got True"),
        ({"type": "page_number", "pagesize": 3}, "unknown option 'pagesize' (did you mean 'page_size'?)"),
        ({"type": "page_number", "page_size_param": "size"}, "page_size_param 'size' needs page_size"),
        ({"type": "page_number", "location": "body"}, "location must be one of query, json, form"),
        ({"type": "page_number", "max_pages": 0}, "max_pages must be an integer of at least 1"),
        ({"type": "page_number", "stop_on_empty_page": "no"}, "stop_on_empty_page must be true or false"),
        ({"type": "cursor"}, "set exactly one of cursor_path"),
        ({"type": "cursor", "cursor_path": "a", "cursor_header": "b"}, "set exactly one of cursor_path"),
        ({"type": "next_url", "next_url_path": "a..b"}, "next_url_path: invalid jmespath expression 'a..b'"),
        ({"type": "single_page", "carry": {"sid": "$sid"}}, "carry.sid: invalid jmespath expression"),
        ({"type": "single_page", "carry": ["sid"]}, "carry must map request field names"),
    ],
)
def test_create_paginator_invalid(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as info:
        create_paginator(config)

    assert message in str(info.value)


def test_registry_names_match_types() -> None:
    assert list(PAGINATORS) == ["single_page", "page_number", "offset", "cursor", "next_url", "link_header"]
    for name, cls in PAGINATORS.items():
        assert cls.type_name == name
        assert option_names(cls)[-3:] == ["carry", "location", "max_pages"]
