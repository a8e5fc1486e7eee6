"""The cursor paginator, which sends back the cursor that each response gives."""

from __future__ import annotations

import json
from typing import Any

from restgen.errors import PaginationError
from restgen.pagination.base import (
    Page,
    PageRequest,
    Paginator,
    _optional_path,
    _optional_str,
    _required_str,
)
from restgen.selectors import search


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
