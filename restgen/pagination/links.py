"""Paginators that follow a next-page URL: next_url from the body, link_header from ``Link``."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any
from urllib.parse import urljoin

from jmespath.parser import ParsedResult
from requests.utils import parse_header_links

from restgen.errors import PaginationError
from restgen.http.redact import Redactor
from restgen.pagination.base import Page, PageRequest, Paginator, _optional_path, _required_str
from restgen.selectors import json_type_name, search

# Hides userinfo and the values of WELL_KNOWN_SENSITIVE_PARAMS in the URLs of messages and reprs.
# NOTE: paginators do not get the client's redactor, so a URL in a PaginationError still
# shows the spec's own secrets and sensitive_params.
_REDACTOR = Redactor()


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
                f"{_REDACTOR.url(next_url)}, which was already fetched as page {first_page}, "
                f"so paging would loop; check {self._describe_source()}"
            )
        self._seen[next_url] = self.pages_fetched + 1
        self.next_url = next_url

    def _update_request(self, request: PageRequest) -> None:
        assert self.next_url is not None
        request.url = self.next_url
        request.params.clear()

    def __repr__(self) -> str:
        next_url = _REDACTOR.url(self.next_url) if self.next_url else None
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
