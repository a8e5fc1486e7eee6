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
from collections.abc import Mapping
from typing import Any

from restgen.pagination.base import (
    COMMON_OPTIONS,
    LOCATIONS,
    Location,
    Page,
    PageRequest,
    Paginator,
)
from restgen.pagination.cursor import CursorPaginator
from restgen.pagination.links import LinkHeaderPaginator, NextUrlPaginator
from restgen.pagination.numbered import OffsetPaginator, PageNumberPaginator, SinglePagePaginator

__all__ = [
    "COMMON_OPTIONS",
    "LOCATIONS",
    "PAGINATORS",
    "CursorPaginator",
    "LinkHeaderPaginator",
    "Location",
    "NextUrlPaginator",
    "OffsetPaginator",
    "Page",
    "PageNumberPaginator",
    "PageRequest",
    "Paginator",
    "SinglePagePaginator",
    "create_paginator",
    "option_names",
    "stop_conditions",
]

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
