"""Preview: the first rows of each endpoint, fetched and transformed but not loaded."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from restgen.engine.client import build_client
from restgen.engine.endpoint import EndpointRunner, SkipParent
from restgen.engine.source import select_endpoints
from restgen.engine.stats import EndpointStats
from restgen.spec import Spec

Row = dict[str, Any]


def preview_spec(spec: Spec, endpoints: Sequence[str] | None = None, *, rows: int = 5) -> Iterator[tuple[str, list[Row]]]:
    """Yield (endpoint, first rows) for each selected endpoint; a child uses its parent's first row.

    Only the first page of the first window is requested, and no cursor state is kept.
    """
    client = build_client(spec)
    endpoint_map = {endpoint["name"]: endpoint for endpoint in spec.endpoints}
    first_rows: dict[str, list[Row]] = {}

    def first_page(name: str) -> list[Row]:
        if name in first_rows:
            return first_rows[name]
        endpoint = endpoint_map[name]
        runner = EndpointRunner(endpoint, client, spec.client.get("base_url"), EndpointStats(name, name))
        parent = None
        if endpoint.get("depends_on"):
            parents = first_page(endpoint["depends_on"])
            if not parents:
                first_rows[name] = []
                return []
            parent = parents[0]
            try:
                runner.check_parent(parent)
            except SkipParent:
                first_rows[name] = []
                return []
        pages = runner.sequences(parent, {}, max_pages=1, max_windows=1)
        try:
            page = next(pages, [])
        finally:
            pages.close()
        first_rows[name] = page
        return page

    try:
        for name in select_endpoints(spec, endpoints):
            yield name, first_page(name)[:rows]
    finally:
        client.close()
