"""Data and restgen specs of the benchmark workloads, built deterministically from their sizes.

- paged: flat records of 8 fields, 1,000 per page, page-number pagination with total_pages.
- jsonl: Mixpanel-shaped events (``event`` plus a nested ``properties`` object), one JSON
  Lines body.
- fanout: parent records, and per parent one child request that returns two child records.
- validate: a spec of many endpoints that use most of the spec language.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

PAGE_SIZE = 1000
CHILDREN_PER_PARENT = 2

_CATEGORIES = ("books", "games", "music", "tools", "garden", "sports", "toys", "food")
_EVENTS = ("Page View", "Sign Up", "Add To Cart", "Purchase", "Search", "Share")
_BROWSERS = ("Chrome", "Firefox", "Safari", "Edge")
_SYSTEMS = ("Linux", "Windows", "Mac OS X", "Android", "iOS")
_CITIES = ("Berlin", "Lagos", "Lima", "Osaka", "Oslo", "Pune", "Quito", "Seoul")
_COUNTRIES = ("DE", "NG", "PE", "JP", "NO", "IN", "EC", "KR")
_PLANS = ("free", "pro", "team")


# -- paged ---------------------------------------------------------------------------------


def flat_record(index: int) -> dict[str, Any]:
    """Return record ``index`` of the paged workload: 8 flat fields of 5 JSON types."""
    day = index % 28 + 1
    second = index % 86400
    return {
        "id": index,
        "name": f"customer {index}",
        "email": f"user{index}@example.org",
        "created_at": f"2024-02-{day:02d}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}+00:00",
        "amount": round((index * 37 % 100000) / 100, 2),
        "active": index % 3 != 0,
        "category": _CATEGORIES[index % len(_CATEGORIES)],
        "score": index * 7919 % 1000,
    }


def paged_bodies(rows: int) -> list[bytes]:
    """Return the pre-serialized pages of a paged dataset of ``rows`` records."""
    total_pages = max(1, -(-rows // PAGE_SIZE))
    pages = []
    for page in range(1, total_pages + 1):
        first = (page - 1) * PAGE_SIZE
        records = [flat_record(index) for index in range(first, min(rows, first + PAGE_SIZE))]
        body = {"data": records, "page": page, "total_pages": total_pages}
        pages.append(json.dumps(body, separators=(",", ":")).encode("utf-8"))
    return pages


# -- jsonl ---------------------------------------------------------------------------------


def event_line(index: int) -> str:
    """Return event ``index`` of the export workload as one JSON line, without the LF.

    Every value is plain ASCII without quotes or backslashes, so the f-string is valid JSON.
    An invalid line would fail every loader's row count check.
    """
    user = index * 7 % 50000
    city = index % len(_CITIES)
    return (
        f'{{"event":"{_EVENTS[index % len(_EVENTS)]}","properties":{{'
        f'"time":{1704067200 + index % 2592000},"distinct_id":"user-{user}",'
        f'"$insert_id":"ev-{index:09d}","$browser":"{_BROWSERS[index % len(_BROWSERS)]}",'
        f'"$os":"{_SYSTEMS[index % len(_SYSTEMS)]}","$city":"{_CITIES[city]}",'
        f'"mp_country_code":"{_COUNTRIES[city]}","$current_url":"/products/{index % 997}",'
        f'"$screen_height":{(720, 1080, 1440)[index % 3]},"plan":"{_PLANS[user % 3]}",'
        f'"amount":{index % 5000 / 100},"items":{index % 4}}}}}'
    )


def export_chunks(events: int, chunk_bytes: int = 1 << 20) -> Iterator[bytes]:
    """Yield a JSON Lines body of ``events`` events in chunks of about ``chunk_bytes``."""
    lines: list[str] = []
    size = 0
    for index in range(events):
        line = event_line(index)
        lines.append(line)
        size += len(line) + 1
        if size >= chunk_bytes:
            lines.append("")
            yield "\n".join(lines).encode("ascii")
            lines, size = [], 0
    if lines:
        lines.append("")
        yield "\n".join(lines).encode("ascii")


# -- fanout --------------------------------------------------------------------------------


def fanout_bodies(parents: int) -> tuple[bytes, dict[str, bytes]]:
    """Return the parents body and each parent's children body, keyed by the parent id."""
    parent_records = [{"id": index, "name": f"parent {index}"} for index in range(parents)]
    children = {}
    for index in range(parents):
        records = [
            {"child_id": index * CHILDREN_PER_PARENT + offset, "kind": _CATEGORIES[offset], "value": index + offset / 10}
            for offset in range(CHILDREN_PER_PARENT)
        ]
        children[str(index)] = json.dumps({"data": records}).encode("utf-8")
    return json.dumps({"data": parent_records}).encode("utf-8"), children


# -- restgen specs -------------------------------------------------------------------------


def write_yaml(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def paged_spec(base_url: str, dataset: str) -> dict[str, Any]:
    """Return the restgen spec that loads one paged dataset into table ``items``."""
    return {
        "restgen": 1,
        "source": "bench_paged",
        "client": {"base_url": f"{base_url}/paged/{dataset}/"},
        "endpoints": [
            {
                "name": "items",
                "path": "items",
                "data_selector": "data",
                "pagination": {
                    "type": "page_number",
                    "page_param": "page",
                    "start_page": 1,
                    "page_size_param": "page_size",
                    "page_size": PAGE_SIZE,
                    "total_pages_path": "total_pages",
                },
                "write_disposition": "replace",
                # One pyarrow Table per page, loaded by dlt as parquet without its per-row normalizer.
                "batch_format": "arrow",
                # dlt's normalizer and the floor store created_at as a timestamp; so does restgen.
                "transforms": [{"to_timestamp": {"fields": ["created_at"], "format": "iso8601"}}],
            }
        ],
    }


def export_spec(base_url: str, dataset: str) -> dict[str, Any]:
    """Return the restgen spec that loads one export body into table ``events``.

    The transforms are those of ``configs/mixpanel.yaml`` without ``fill_key`` (every event
    has an ``$insert_id``), and rows are appended rather than merged, as the other contenders do.
    """
    return {
        "restgen": 1,
        "source": "bench_export",
        "client": {"base_url": f"{base_url}/export/"},
        "endpoints": [
            {
                "name": "events",
                "path": dataset,
                "response": {"format": "jsonl"},
                "transforms": [
                    {"hoist": {"field": "properties"}},
                    {"rename_prefix": {"from": "$", "to": "mp_reserved_"}},
                    {"to_timestamp": {"fields": ["time"], "format": "unix_seconds"}},
                ],
                "write_disposition": "append",
            }
        ],
    }


def fanout_spec(base_url: str, max_concurrency: int, requests_per_second: int) -> dict[str, Any]:
    """Return the restgen spec of the fan-out: ``parents`` and one child request per parent."""
    return {
        "restgen": 1,
        "source": "bench_fanout",
        "client": {
            "base_url": f"{base_url}/fanout/",
            "rate_limit": {"max_concurrency": max_concurrency, "requests_per_second": requests_per_second},
        },
        "endpoints": [
            {"name": "parents", "path": "parents", "data_selector": "data", "write_disposition": "replace"},
            {
                "name": "children",
                "path": "parents/${parent.id}/children",
                "depends_on": "parents",
                "parent_concurrency": max_concurrency,
                "include_from_parent": {"parent_id": "id"},
                "data_selector": "data",
                "write_disposition": "replace",
            },
        ],
    }


def large_spec(endpoints: int) -> dict[str, Any]:
    """Return a valid spec of ``endpoints`` endpoints that cycles through six endpoint shapes.

    The shapes cover each pagination type, incremental windows, transforms, response rules
    and parent/child links, so validation runs most of the schema and the cross-field checks.
    """
    document: dict[str, Any] = {
        "restgen": 1,
        "source": "bench_validate",
        "description": "A generated spec for timing restgen validate.",
        "variables": {
            "api_host": {"description": "Scheme and host of the API.", "default": "http://127.0.0.1:9"},
            "token": {"description": "Bearer token.", "env": "BENCH_TOKEN", "default": "unused", "secret": True},
            "start_date": {"description": "First day to load.", "type": "date", "default": "2024-01-01"},
            "page_size": {"description": "Records per page.", "type": "integer", "default": 100},
        },
        "client": {
            "base_url": "${api_host}/v1/",
            "auth": {"type": "bearer", "token": "${token}"},
            "headers": {"Accept": "application/json"},
            "timeout": {"connect": 10, "read": 60},
            "retry": {"max_attempts": 4, "backoff_factor": 1, "max_backoff": 30},
            "rate_limit": {"requests_per_second": 10, "max_concurrency": 4},
        },
        "defaults": {"write_disposition": "merge", "primary_key": "id"},
        "endpoints": [],
    }
    shapes = [_page_number_endpoint, _offset_endpoint, _cursor_endpoint, _next_url_endpoint, _incremental_endpoint, _child_endpoint]
    for index in range(endpoints):
        shape = shapes[index % len(shapes)]
        document["endpoints"].append(shape(index))
    return document


def _page_number_endpoint(index: int) -> dict[str, Any]:
    return {
        "name": f"resource_{index}",
        "description": "Records paged by page number.",
        "path": f"resource_{index}",
        "params": {"sort": "id", "status": "active"},
        "data_selector": "data",
        "pagination": {
            "type": "page_number",
            "start_page": 1,
            "page_size_param": "per_page",
            "page_size": "${page_size}",
            "total_pages_path": "meta.total_pages",
        },
        "transforms": [{"rename": {"ID": "id"}}, {"drop": ["internal_notes"]}],
    }


def _offset_endpoint(index: int) -> dict[str, Any]:
    return {
        "name": f"resource_{index}",
        "path": f"resource_{index}",
        "data_selector": "items",
        "pagination": {"type": "offset", "limit": 200, "total_path": "total"},
        "response": {"rules": [{"status": 404, "action": "skip", "message": "The resource is gone."}]},
        "columns": {"updated_at": {"data_type": "timestamp"}},
    }


def _cursor_endpoint(index: int) -> dict[str, Any]:
    return {
        "name": f"resource_{index}",
        "path": f"resource_{index}",
        "method": "POST",
        "json": {"filter": {"kind": "all"}},
        "data_selector": "results",
        "pagination": {"type": "cursor", "cursor_path": "next_cursor", "cursor_param": "cursor", "location": "json"},
        "transforms": [{"hoist": {"field": "attributes"}}, {"rename_prefix": {"from": "$", "to": "x_"}}],
    }


def _next_url_endpoint(index: int) -> dict[str, Any]:
    return {
        "name": f"resource_{index}",
        "path": f"resource_{index}",
        "pagination": {"type": "next_url", "next_url_path": "links.next"},
        "write_disposition": "append",
        "max_table_nesting": 0,
    }


def _incremental_endpoint(index: int) -> dict[str, Any]:
    return {
        "name": f"resource_{index}",
        "path": f"resource_{index}",
        "params": {"from": "${incremental.start}", "to": "${incremental.end}"},
        "data_selector": "data",
        "incremental": {
            "cursor_path": "updated_at",
            "cursor_format": "iso8601",
            "initial_value": "${start_date}",
            "range_format": "%Y-%m-%d",
            "window": "7d",
            "lookback": "1d",
        },
        "transforms": [{"to_timestamp": {"fields": ["updated_at"], "format": "iso8601"}}],
    }


def _child_endpoint(index: int) -> dict[str, Any]:
    return {
        "name": f"resource_{index}",
        "path": f"resource_{index - 1}/${{parent.id}}/details",
        "depends_on": f"resource_{index - 1}",
        "include_from_parent": {"parent_id": "id"},
        "pagination": {"type": "link_header"},
        "primary_key": ["parent_id", "id"],
    }
