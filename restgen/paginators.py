"""Paginators: how one endpoint's requests advance from page to page, and when they stop.

A caller drives a paginator in this loop::

    request = PageRequest("GET", url, params={...})
    paginator.init_request(request)          # first-page params
    while True:
        page = send(request)                 # -> Page, with the parsed body and its records
        paginator.update_state(page)         # reads totals, cursors, next links
        yield page.records
        if not paginator.has_next_page:
            break
        paginator.update_request(request)    # next-page params

``PAGINATORS`` maps each ``type`` of the spec to its class, and ``create_paginator`` builds one
from the spec's mapping. An invalid option (a negative ``limit``, an invalid jmespath
expression) raises ValueError with the option's YAML name. Problems found while paging raise
PaginationError.
"""

from __future__ import annotations

import difflib
import inspect
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, get_args
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from jmespath.parser import ParsedResult
from requests.structures import CaseInsensitiveDict
from requests.utils import parse_header_links

from restgen.errors import PaginationError
from restgen.selectors import compile_expression, json_type_name, search

logger = logging.getLogger(__name__)

Location = Literal["query", "json", "form"]
LOCATIONS: tuple[str, ...] = get_args(Location)
COMMON_OPTIONS = ("carry", "location", "max_pages")

# NOTE: a stand-in until the HTTP layer exposes its redaction. Query values whose parameter
# name contains one of these words are masked in messages and reprs.
_SECRET_WORDS = ("token", "secret", "password", "key", "signature", "auth")


@dataclass
class PageRequest:
    """One request that a paginator updates; ``json`` and ``form`` are the body, if any."""

    method: str
    url: str
    params: dict[str, Any] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    form: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Page:
    """One response: its status, headers, final URL (after redirects), body and records.

    ``body`` is the parsed JSON, or None for a JSON Lines body. ``records`` are the records
    selected from it. ``headers`` are looked up case-insensitively; a plain dict is wrapped.
    """

    request: PageRequest
    status: int
    headers: Mapping[str, str]
    url: str
    body: Any
    records: list[dict[str, Any]]

    def __post_init__(self) -> None:
        if not isinstance(self.headers, CaseInsensitiveDict):
            self.headers = CaseInsensitiveDict(self.headers)


class Paginator(ABC):
    """The state of one paginated sequence of requests.

    restgen has its own interface instead of dlt's ``BasePaginator`` because dlt's paginators
    parse the body again with ``response.json()`` on every page, which fails on JSON Lines.
    They also cannot carry response fields into the next request, and they do not detect a
    server that sends the same cursor or next URL twice.

    Options shared by every type:

    - ``carry: {request_name: body_path}`` copies response fields into every later request,
      as Mixpanel's engage endpoint needs ``session_id``. A field missing from a later
      response keeps its last value.
    - ``location: query | json | form`` (default ``query``) sets where page parameters and
      carried fields go: the query string, the JSON body or the form body.
    - ``max_pages`` stops a runaway loop. Reaching it while pages remain raises
      PaginationError instead of stopping cleanly, because a clean stop would load a partial
      result that looks complete, and an incremental cursor would then move past the
      missing rows. A paginator that ends on its own at exactly ``max_pages`` pages does not
      raise.

    ``init_request`` starts a new sequence and resets all state, so one instance can page
    through several parents one after another. The request's dicts are copied there once and
    then updated in place.
    """

    type_name: ClassVar[str]

    def __init__(
        self,
        *,
        carry: Mapping[str, str] | None = None,
        location: Location = "query",
        max_pages: int | None = None,
    ) -> None:
        if location not in LOCATIONS:
            raise ValueError(
                f"{self.type_name} paginator: location must be one of {', '.join(LOCATIONS)}, "
                f"got {location!r}"
            )
        self.location: Location = location
        self.max_pages = _optional_int(self.type_name, "max_pages", max_pages, minimum=1)
        self.carry = _compile_carry(self.type_name, carry or {})
        self.pages_fetched = 0
        self.stop_reason: str | None = None
        self._has_next_page = True
        self._carried: dict[str, Any] = {}

    @property
    def has_next_page(self) -> bool:
        """Whether another request is needed; True until ``update_state`` reads the last page."""
        return self._has_next_page

    def init_request(self, request: PageRequest) -> None:
        """Reset the state and put the first page's parameters into ``request``."""
        self.pages_fetched = 0
        self.stop_reason = None
        self._has_next_page = True
        self._carried = {}
        request.params = dict(request.params)
        request.headers = dict(request.headers)
        if request.json is not None:
            request.json = dict(request.json)
        if request.form is not None:
            request.form = dict(request.form)
        self._reset()
        self._init_request(request)

    def update_state(self, page: Page) -> None:
        """Read one response and decide whether another page follows.

        Raises PaginationError when the response shows that paging cannot continue safely,
        such as a cursor or next URL the server already sent.
        """
        self.pages_fetched += 1
        for name, path in self.carry.items():
            value = search(path, page.body)
            if value is not None:
                self._carried[name] = value
        self._update_state(page)
        logger.debug(
            "%r read page %d with %d records", self, self.pages_fetched, len(page.records)
        )

    def update_request(self, request: PageRequest) -> None:
        """Put the next page's parameters and the carried fields into ``request``.

        Raises PaginationError when ``max_pages`` pages were fetched and more remain, and
        RuntimeError when called after the last page.
        """
        if not self._has_next_page:
            raise RuntimeError(f"update_request called after the last page: {self!r}")
        if self.max_pages is not None and self.pages_fetched >= self.max_pages:
            raise PaginationError(
                f"stopped after max_pages={self.max_pages} pages, but {self!r} has more; "
                "raise max_pages or check the paginator's stop condition"
            )
        self._update_request(request)
        for name, value in self._carried.items():
            self._set_param(request, name, value)

    def stop_conditions(self) -> list[str]:
        """List the ways this paginator can stop on its own, for the spec validator.

        An empty list means the paginator can only end by ``max_pages`` or an error, which
        the validator rejects. ``max_pages`` is not a stop condition because reaching it
        raises.
        """
        return []

    def _reset(self) -> None:
        """Clear the state of the type; called by ``init_request``."""

    def _init_request(self, request: PageRequest) -> None:
        """Put the first page's parameters into ``request``."""

    @abstractmethod
    def _update_state(self, page: Page) -> None:
        """Read ``page`` and call ``_stop`` when it is the last one."""

    @abstractmethod
    def _update_request(self, request: PageRequest) -> None:
        """Put the next page's parameters into ``request``."""

    def _stop(self, reason: str) -> None:
        self._has_next_page = False
        self.stop_reason = reason
        logger.debug("%r stops after page %d: %s", self, self.pages_fetched, reason)

    def _set_param(self, request: PageRequest, name: str, value: Any) -> None:
        """Set (or with None, remove) one parameter at ``location``."""
        if self.location == "query":
            target = request.params
        elif self.location == "json":
            if request.json is None:
                request.json = {}
            target = request.json
        else:
            if request.form is None:
                request.form = {}
            target = request.form
        if value is None:
            target.pop(name, None)
        elif isinstance(value, bool) and self.location != "json":
            target[name] = "true" if value else "false"
        else:
            target[name] = value

    def _read_count(self, page: Page, option: str, path: ParsedResult | None) -> int | None:
        """Return the whole number at ``path`` in the body, or None when it is missing."""
        if path is None:
            return None
        value = search(path, page.body)
        if value is None:
            return None
        if isinstance(value, bool):
            number = None
        elif isinstance(value, int):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str) and value.strip().isdigit():
            number = int(value)
        else:
            number = None
        if number is None or number < 0:
            raise PaginationError(
                f"{self.type_name} paginator: {option} {path.expression!r} selected "
                f"{value!r} on page {self.pages_fetched}; expected a whole number of at least 0"
            )
        return number


class SinglePagePaginator(Paginator):
    """One request, no pagination.

    Sample response: any body, such as ``{"results": [{"id": 1}, {"id": 2}]}``.

    YAML::

        pagination:
          type: single_page
    """

    type_name = "single_page"

    def _update_state(self, page: Page) -> None:
        self._stop("single_page fetches one page")

    def _update_request(self, request: PageRequest) -> None:
        raise AssertionError("unreachable: single_page always stops after the first page")

    def stop_conditions(self) -> list[str]:
        return ["after the first page"]

    def __repr__(self) -> str:
        return f"SinglePagePaginator(pages_fetched={self.pages_fetched})"


class PageNumberPaginator(Paginator):
    """A page number in the request, counted up from ``start_page``.

    Sample response (Mixpanel engage, where ``total`` counts records and is only on page 0)::

        {"page": 0, "page_size": 1000, "session_id": "1234567890-EXAMPL",
         "total": 2430, "results": [{"$distinct_id": 4, "$properties": {...}}, ...]}

    YAML::

        pagination:
          type: page_number
          start_page: 0
          page_size_param: page_size
          page_size: 1000
          page_size_path: page_size
          total_items_path: total
          carry: {session_id: session_id}

    Paging stops at the first of these:

    - ``stop_on_empty_page`` (default true): a page with no records;
    - ``total_pages_path``: that many pages were fetched;
    - ``total_items_path``: that many records were received in all. When a later page omits
      the total, the last value seen is kept;
    - ``stop_on_short_page`` (default true): a page with fewer records than the page size,
      tested only while no total is known, because a server that caps ``page_size`` sends
      short pages that are not the last. The page size is the number at ``page_size_path``
      when the response has it, and otherwise ``page_size``. Without either, this test is
      skipped.

    Raises PaginationError when none of these can apply to a response (its total paths
    found nothing, no page size is known and ``stop_on_empty_page`` is false).
    """

    type_name = "page_number"

    def __init__(
        self,
        *,
        page_param: str = "page",
        start_page: int = 1,
        page_size_param: str | None = None,
        page_size: int | None = None,
        page_size_path: str | None = None,
        total_pages_path: str | None = None,
        total_items_path: str | None = None,
        stop_on_empty_page: bool = True,
        stop_on_short_page: bool = True,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.page_param = _required_str(self.type_name, "page_param", page_param)
        self.start_page = _required_int(self.type_name, "start_page", start_page, minimum=0)
        self.page_size_param = _optional_str(self.type_name, "page_size_param", page_size_param)
        self.page_size = _optional_int(self.type_name, "page_size", page_size, minimum=1)
        if self.page_size_param is not None and self.page_size is None:
            raise ValueError(
                f"{self.type_name} paginator: page_size_param {page_size_param!r} needs "
                "page_size, the number of records to request per page"
            )
        self.page_size_path = _optional_path(self.type_name, "page_size_path", page_size_path)
        name = self.type_name
        self.total_pages_path = _optional_path(name, "total_pages_path", total_pages_path)
        self.total_items_path = _optional_path(name, "total_items_path", total_items_path)
        self.stop_on_empty_page = _bool(name, "stop_on_empty_page", stop_on_empty_page)
        self.stop_on_short_page = _bool(name, "stop_on_short_page", stop_on_short_page)
        self._reset()

    def _reset(self) -> None:
        self.page = self.start_page
        self.total_pages: int | None = None
        self.total_items: int | None = None
        self.records_received = 0

    def _init_request(self, request: PageRequest) -> None:
        self._set_param(request, self.page_param, self.page)
        if self.page_size_param is not None:
            self._set_param(request, self.page_size_param, self.page_size)

    def _update_state(self, page: Page) -> None:
        count = len(page.records)
        self.records_received += count
        total_pages = self._read_count(page, "total_pages_path", self.total_pages_path)
        if total_pages is not None:
            self.total_pages = total_pages
        total_items = self._read_count(page, "total_items_path", self.total_items_path)
        if total_items is not None:
            self.total_items = total_items
        served_size = self._read_count(page, "page_size_path", self.page_size_path)
        effective_size = served_size if served_size else self.page_size

        if count == 0 and self.stop_on_empty_page:
            self._stop("the page has no records")
        elif self.total_pages is not None or self.total_items is not None:
            # A known total beats the short-page test, which a capped page_size can fool.
            if self.total_pages is not None and self.pages_fetched >= self.total_pages:
                self._stop(f"fetched total_pages={self.total_pages} pages")
            elif self.total_items is not None and self.records_received >= self.total_items:
                self._stop(f"received total_items={self.total_items} records")
        elif self.stop_on_short_page and effective_size is not None:
            if count < effective_size:
                self._stop(f"the page has {count} records, fewer than the size {effective_size}")
        elif not self.stop_on_empty_page:
            raise PaginationError(
                f"{self.type_name} paginator cannot tell when to stop after page "
                f"{self.page}: {self._missing_stop_reason()}; set page_size, "
                "stop_on_empty_page: true or a total path that the response contains"
            )

    def _missing_stop_reason(self) -> str:
        reasons = []
        for option, path in (
            ("total_pages_path", self.total_pages_path),
            ("total_items_path", self.total_items_path),
        ):
            if path is not None:
                reasons.append(f"{option} {path.expression!r} found nothing")
        reasons.append("no page size is known")
        reasons.append("stop_on_empty_page is false")
        return ", ".join(reasons)

    def _update_request(self, request: PageRequest) -> None:
        self.page += 1
        self._set_param(request, self.page_param, self.page)

    def stop_conditions(self) -> list[str]:
        conditions = []
        if self.stop_on_empty_page:
            conditions.append("an empty page")
        if self.total_pages_path is not None:
            conditions.append(f"total_pages_path {self.total_pages_path.expression!r}")
        if self.total_items_path is not None:
            conditions.append(f"total_items_path {self.total_items_path.expression!r}")
        if self.stop_on_short_page and self.page_size is not None:
            conditions.append(f"a page shorter than page_size={self.page_size}")
        elif self.stop_on_short_page and self.page_size_path is not None:
            size_path = self.page_size_path.expression
            conditions.append(f"a page shorter than page_size_path {size_path!r}")
        return conditions

    def __repr__(self) -> str:
        parts = [f"page={self.page}"]
        if self.total_pages_path is not None:
            parts.append(f"total_pages={self.total_pages}")
        if self.total_items_path is not None:
            parts.append(f"total_items={self.total_items}")
        return f"PageNumberPaginator({', '.join(parts)})"


class OffsetPaginator(Paginator):
    """An offset and a limit in the request; the offset advances by the records received.

    Sample response::

        {"total": 1234, "items": [{"id": 1}, {"id": 2}, ...]}

    YAML::

        pagination:
          type: offset
          limit: 100
          total_path: total

    The offset advances by the number of records actually received, not by ``limit``,
    because servers cap the limit. For the same reason a short page does not stop paging.
    Paging stops at an empty page (``stop_on_empty_page``, default true) or when the offset
    reaches the number at ``total_path``.

    Raises PaginationError when an empty page arrives with ``stop_on_empty_page: false``
    before the total is reached, because the offset could not advance.
    """

    type_name = "offset"

    def __init__(
        self,
        *,
        limit: int,
        offset_param: str = "offset",
        limit_param: str = "limit",
        start_offset: int = 0,
        total_path: str | None = None,
        stop_on_empty_page: bool = True,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        self.limit = _required_int(self.type_name, "limit", limit, minimum=1)
        self.offset_param = _required_str(self.type_name, "offset_param", offset_param)
        self.limit_param = _required_str(self.type_name, "limit_param", limit_param)
        name = self.type_name
        self.start_offset = _required_int(name, "start_offset", start_offset, minimum=0)
        self.total_path = _optional_path(name, "total_path", total_path)
        self.stop_on_empty_page = _bool(name, "stop_on_empty_page", stop_on_empty_page)
        self._reset()

    def _reset(self) -> None:
        self.offset = self.start_offset
        self.total: int | None = None

    def _init_request(self, request: PageRequest) -> None:
        self._set_param(request, self.offset_param, self.offset)
        self._set_param(request, self.limit_param, self.limit)

    def _update_state(self, page: Page) -> None:
        count = len(page.records)
        total = self._read_count(page, "total_path", self.total_path)
        if total is not None:
            self.total = total
        self.offset += count

        if count == 0 and self.stop_on_empty_page:
            self._stop("the page has no records")
        elif self.total is not None and self.offset >= self.total:
            self._stop(f"the offset reached total={self.total}")
        elif count == 0:
            raise PaginationError(
                f"{self.type_name} paginator: page {self.pages_fetched} at offset={self.offset} "
                f"has no records, but total is {self.total}, so the offset cannot advance; "
                "set stop_on_empty_page: true or check total_path"
            )

    def _update_request(self, request: PageRequest) -> None:
        self._set_param(request, self.offset_param, self.offset)

    def stop_conditions(self) -> list[str]:
        conditions = []
        if self.stop_on_empty_page:
            conditions.append("an empty page")
        if self.total_path is not None:
            conditions.append(f"total_path {self.total_path.expression!r}")
        return conditions

    def __repr__(self) -> str:
        return f"OffsetPaginator(offset={self.offset}, limit={self.limit}, total={self.total})"


class CursorPaginator(Paginator):
    """A cursor from the response, sent back as ``cursor_param`` in the next request.

    Sample response::

        {"data": [{"id": 1}, ...], "paging": {"next_cursor": "c2Vjb25k", "has_more": true}}

    YAML::

        pagination:
          type: cursor
          cursor_path: paging.next_cursor
          has_more_path: paging.has_more
          cursor_param: after

    The cursor comes from the body (``cursor_path``) or from a response header
    (``cursor_header``), exactly one of them. Paging stops when the cursor is missing, null
    or empty, or when the value at ``has_more_path`` is false.

    Raises PaginationError when the server sends a cursor it sent before, since paging
    would loop.
    """

    type_name = "cursor"

    def __init__(
        self,
        *,
        cursor_path: str | None = None,
        cursor_header: str | None = None,
        cursor_param: str = "cursor",
        has_more_path: str | None = None,
        **common: Any,
    ) -> None:
        super().__init__(**common)
        if (cursor_path is None) == (cursor_header is None):
            raise ValueError(
                f"{self.type_name} paginator: set exactly one of cursor_path (a jmespath "
                "expression in the body) and cursor_header (a response header name)"
            )
        self.cursor_path = _optional_path(self.type_name, "cursor_path", cursor_path)
        self.cursor_header = _optional_str(self.type_name, "cursor_header", cursor_header)
        self.cursor_param = _required_str(self.type_name, "cursor_param", cursor_param)
        self.has_more_path = _optional_path(self.type_name, "has_more_path", has_more_path)
        self._reset()

    def _reset(self) -> None:
        self.cursor: Any = None
        self._seen: dict[Any, int] = {}

    def _update_state(self, page: Page) -> None:
        if self.has_more_path is not None:
            has_more = search(self.has_more_path, page.body)
            if _is_false(has_more):
                self._stop(f"has_more_path {self.has_more_path.expression!r} is {has_more!r}")
                return

        if self.cursor_path is not None:
            cursor = search(self.cursor_path, page.body)
            where = f"cursor_path {self.cursor_path.expression!r}"
        else:
            cursor = page.headers.get(self.cursor_header or "")
            where = f"cursor_header {self.cursor_header!r}"
        if cursor is None or cursor == "":
            self._stop(f"{where} has no cursor")
            return

        key = _hashable(cursor)
        first_page = self._seen.get(key)
        if first_page is not None:
            raise PaginationError(
                f"{self.type_name} paginator: page {self.pages_fetched} returned cursor "
                f"{cursor!r}, which page {first_page} already returned, so paging would loop; "
                f"check that {where} selects the next page's cursor"
            )
        self._seen[key] = self.pages_fetched
        self.cursor = cursor

    def _update_request(self, request: PageRequest) -> None:
        self._set_param(request, self.cursor_param, self.cursor)

    def stop_conditions(self) -> list[str]:
        conditions = ["a missing, null or empty cursor"]
        if self.has_more_path is not None:
            conditions.append(f"has_more_path {self.has_more_path.expression!r}")
        return conditions

    def __repr__(self) -> str:
        return f"CursorPaginator(cursor={self.cursor!r}, pages_fetched={self.pages_fetched})"


class _NextUrlBase(Paginator):
    """A paginator that follows a URL given by each response, which replaces the query."""

    def _reset(self) -> None:
        self.next_url: str | None = None
        self._seen: dict[str, int] = {}

    @abstractmethod
    def _find_next_url(self, page: Page) -> str | None:
        """Return the next URL as the response gives it, possibly relative, or None."""

    @abstractmethod
    def _describe_source(self) -> str:
        """Name the option that locates the next URL, for messages."""

    def _update_state(self, page: Page) -> None:
        current_url = page.url or page.request.url
        self._seen.setdefault(current_url, self.pages_fetched)

        found = self._find_next_url(page)
        if found is None or found == "":
            self._stop(f"{self._describe_source()} has no next URL")
            return

        next_url = urljoin(current_url, found)
        first_page = self._seen.get(next_url)
        if first_page is not None:
            raise PaginationError(
                f"{self.type_name} paginator: page {self.pages_fetched} links to "
                f"{_display_url(next_url)}, which was already fetched as page {first_page}, "
                f"so paging would loop; check {self._describe_source()}"
            )
        self._seen[next_url] = self.pages_fetched + 1
        self.next_url = next_url

    def _update_request(self, request: PageRequest) -> None:
        assert self.next_url is not None
        request.url = self.next_url
        request.params.clear()

    def __repr__(self) -> str:
        next_url = _display_url(self.next_url) if self.next_url else None
        return f"{type(self).__name__}(next_url={next_url!r}, pages_fetched={self.pages_fetched})"


class NextUrlPaginator(_NextUrlBase):
    """The URL of the next page, taken from the response body.

    Sample response::

        {"results": [{"id": 1}, ...], "next": "https://api.example.com/items?page=2"}

    YAML::

        pagination:
          type: next_url
          next_url_path: next

    A relative URL (``/items?page=2`` or ``?page=2``) is resolved against the URL of the
    current page. The next URL carries its own query, so the request's query parameters are
    cleared, and only carried fields with ``location: query`` are added back. Paging stops
    when the next URL is missing, null or empty.

    Raises PaginationError when the next URL was already fetched, and when
    ``next_url_path`` selects something other than a string.
    """

    type_name = "next_url"

    def __init__(self, *, next_url_path: str = "next", **common: Any) -> None:
        super().__init__(**common)
        path = _optional_path(self.type_name, "next_url_path", next_url_path)
        assert path is not None
        self.next_url_path: ParsedResult = path
        self._reset()

    def _find_next_url(self, page: Page) -> str | None:
        value = search(self.next_url_path, page.body)
        if value is None or isinstance(value, str):
            return value
        raise PaginationError(
            f"{self.type_name} paginator: next_url_path {self.next_url_path.expression!r} "
            f"selected a JSON {json_type_name(value)} on page {self.pages_fetched}; expected "
            "a URL string, so point next_url_path at the URL itself"
        )

    def _describe_source(self) -> str:
        return f"next_url_path {self.next_url_path.expression!r}"

    def stop_conditions(self) -> list[str]:
        return [f"no URL at next_url_path {self.next_url_path.expression!r}"]


class LinkHeaderPaginator(_NextUrlBase):
    """The URL of the next page, taken from the ``Link`` response header (RFC 8288).

    Sample response headers::

        Link: <https://api.example.com/items?page=2>; rel="next",
              <https://api.example.com/items?page=9>; rel="last"

    YAML::

        pagination:
          type: link_header
          rel: next

    The link whose ``rel`` contains ``rel`` (compared case-insensitively) is followed; a
    relative URL is resolved against the current page's URL. Query parameters are replaced
    as for ``next_url``. Paging stops when no such link is present.

    Raises PaginationError when the linked URL was already fetched.
    """

    type_name = "link_header"

    def __init__(self, *, rel: str = "next", **common: Any) -> None:
        super().__init__(**common)
        self.rel = _required_str(self.type_name, "rel", rel).lower()
        self._reset()

    def _find_next_url(self, page: Page) -> str | None:
        header = page.headers.get("Link")
        if not header:
            return None
        for link in parse_header_links(header):
            if self.rel in link.get("rel", "").lower().split():
                return link.get("url")
        return None

    def _describe_source(self) -> str:
        return f"the Link header with rel={self.rel!r}"

    def stop_conditions(self) -> list[str]:
        return [f"no Link header with rel={self.rel!r}"]


PAGINATORS: dict[str, type[Paginator]] = {
    cls.type_name: cls
    for cls in (
        SinglePagePaginator,
        PageNumberPaginator,
        OffsetPaginator,
        CursorPaginator,
        NextUrlPaginator,
        LinkHeaderPaginator,
    )
}


def create_paginator(config: Mapping[str, Any]) -> Paginator:
    """Build a paginator from the spec's mapping: ``type`` plus that type's options.

    Option names are the YAML keys. Raises ValueError for a missing or unknown ``type``, an
    unknown option (with the valid ones listed) or an invalid option value.
    """
    options = dict(config)
    type_name = options.pop("type", None)
    if type_name is None:
        raise ValueError(f"pagination: 'type' is missing; expected one of {_known_types()}")
    cls = PAGINATORS.get(type_name) if isinstance(type_name, str) else None
    if cls is None:
        close = difflib.get_close_matches(str(type_name), PAGINATORS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"pagination: type {type_name!r} is not one of {_known_types()}{hint}")
    valid = option_names(cls)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        close = difflib.get_close_matches(unknown[0], valid, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"{type_name} paginator: unknown option {names}{hint}; "
            f"valid options: {', '.join(valid)}"
        )
    missing = [name for name in _required_options(cls) if name not in options]
    if missing:
        names = ", ".join(repr(name) for name in missing)
        raise ValueError(f"{type_name} paginator: missing required option {names}")
    return cls(**options)


def option_names(cls: type[Paginator]) -> list[str]:
    """Return the YAML option names that a paginator type accepts, besides ``type``."""
    parameters = inspect.signature(cls.__init__).parameters.values()
    own = [
        parameter.name
        for parameter in parameters
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    return own + [name for name in COMMON_OPTIONS if name not in own]


def _required_options(cls: type[Paginator]) -> list[str]:
    parameters = inspect.signature(cls.__init__).parameters.values()
    return [
        parameter.name
        for parameter in parameters
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
        and parameter.default is inspect.Parameter.empty
    ]


def stop_conditions(config: Mapping[str, Any]) -> list[str]:
    """List how the paginator described by ``config`` can stop; empty means it cannot.

    The spec validator rejects a paginator with no stop condition. ``config`` must have its
    placeholders rendered already, because this function builds the paginator. Raises
    ValueError as ``create_paginator`` does.
    """
    return create_paginator(config).stop_conditions()


def _known_types() -> str:
    return ", ".join(repr(name) for name in PAGINATORS)


def _is_false(value: Any) -> bool:
    if value is False:
        return True
    if isinstance(value, str):
        return value.strip().lower() in ("false", "0", "")
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0


def _hashable(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def _display_url(url: str) -> str:
    """Return ``url`` with the values of secret-looking query parameters masked."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(_looks_secret(name) for name, _ in pairs):
        return url
    masked = [(name, "***" if _looks_secret(name) else value) for name, value in pairs]
    return urlunsplit(parts._replace(query=urlencode(masked, safe="*")))


def _looks_secret(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def _compile_carry(type_name: str, carry: Mapping[str, str]) -> dict[str, ParsedResult]:
    if not isinstance(carry, Mapping):
        raise ValueError(
            f"{type_name} paginator: carry must map request field names to response paths, "
            f"got a {type(carry).__name__}"
        )
    compiled = {}
    for name, path in carry.items():
        compiled[str(name)] = _optional_path(type_name, f"carry.{name}", path)
    return compiled


def _optional_path(type_name: str, option: str, expression: Any) -> ParsedResult | None:
    if expression is None:
        return None
    try:
        return compile_expression(expression)
    except ValueError as exc:
        raise ValueError(f"{type_name} paginator: {option}: {exc}") from exc


def _required_str(type_name: str, option: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(
            f"{type_name} paginator: {option} must be a non-empty string, got {value!r}"
        )
    return value


def _optional_str(type_name: str, option: str, value: Any) -> str | None:
    return None if value is None else _required_str(type_name, option, value)


def _required_int(type_name: str, option: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(
            f"{type_name} paginator: {option} must be an integer of at least {minimum}, "
            f"got {value!r}"
        )
    return value


def _optional_int(type_name: str, option: str, value: Any, *, minimum: int) -> int | None:
    return None if value is None else _required_int(type_name, option, value, minimum=minimum)


def _bool(type_name: str, option: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{type_name} paginator: {option} must be true or false, got {value!r}")
    return value
