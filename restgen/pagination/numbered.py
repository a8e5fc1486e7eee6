"""Paginators that count pages or records: single_page, page_number and offset."""

from __future__ import annotations

from typing import Any

from restgen.errors import PaginationError
from restgen.pagination.base import (
    Page,
    PageRequest,
    Paginator,
    _bool,
    _optional_int,
    _optional_path,
    _optional_str,
    _required_int,
    _required_str,
)


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
