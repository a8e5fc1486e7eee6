"""The request, the page and the Paginator interface that every pagination type shares.

Also the checks of option values, which raise ValueError naming the paginator type and the
option's YAML name.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, get_args

from jmespath.parser import ParsedResult
from requests.structures import CaseInsensitiveDict

from restgen.errors import PaginationError
from restgen.selectors import compile_expression, search

logger = logging.getLogger(__name__)

Location = Literal["query", "json", "form"]
LOCATIONS: tuple[str, ...] = get_args(Location)
COMMON_OPTIONS = ("carry", "location", "max_pages")


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
