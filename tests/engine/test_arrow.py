"""batch_format: arrow, where each page goes to dlt as one pyarrow Table and loads as parquet.

The table shapes pinned here are what dlt 1.31 does with Arrow tables into DuckDB: nested
objects and lists become JSON columns, no child tables, and `_dlt_load_id` but no `_dlt_id`.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .conftest import ApiServer, Engine, RecordedRequest, page_of
from .test_formats import jsonl_body

# Flat records of the JSON types, a null and an ISO timestamp. `note` is missing from some.
FLAT = [
    {"id": number, "name": f"item {number}", "score": number / 4, "active": number % 2 == 0, "count": number * 10, "note": None if number % 3 else "third", "created_at": f"2024-01-{number:02d}T12:00:00Z"}
    for number in range(1, 8)
]
for record in FLAT[4:]:
    del record["note"]

PAGE_SIZE = 3
PAGINATION = {"type": "page_number", "page_param": "page", "start_page": 1, "total_pages_path": "total_pages", "stop_on_short_page": False}


def serve_pages(api: ApiServer, path: str, records: list[dict[str, Any]], size: int = PAGE_SIZE) -> None:
    """Serve ``records`` on ``path`` in pages of ``size``, as ``{"data": [...], "total_pages": N}``."""

    def page(request: RecordedRequest) -> dict[str, Any]:
        number = int(request.arg("page") or 1)
        total = max(1, -(-len(records) // size))
        return {"data": page_of(records, (number - 1) * size, size), "total_pages": total}

    api.json_route(path, page)


def paged_endpoint(name: str, **overrides: Any) -> dict[str, Any]:
    endpoint: dict[str, Any] = {"name": name, "path": "items", "data_selector": "data", "pagination": dict(PAGINATION)}
    endpoint.update(overrides)
    return endpoint


def without_nulls(text: str | None) -> dict[str, Any] | None:
    """Decode a JSON object column and drop its null members."""
    if text is None:
        return None
    return {key: value for key, value in json.loads(text).items() if value is not None}


@pytest.fixture
def warnings_logged(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], list[str]]]:
    """Return a function that lists the WARNING messages of restgen and dlt logged so far.

    dlt's logger does not propagate to the root logger, so caplog alone misses its records.
    """
    from_dlt: list[str] = []

    def keep(record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            from_dlt.append(record.getMessage())
        return True

    def logged() -> list[str]:
        return from_dlt + [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]

    dlt_logger = logging.getLogger("dlt")
    dlt_logger.addFilter(keep)
    with caplog.at_level(logging.WARNING):
        yield logged
    dlt_logger.removeFilter(keep)


def column_types(engine: Engine, table: str) -> dict[str, str]:
    rows = engine.query(f"SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'testapi' AND table_name = '{table}'")
    return {name: data_type for name, data_type in rows}


def test_flat_rows_match_rows_mode(engine: Engine, api: ApiServer) -> None:
    serve_pages(api, "/items", FLAT)
    timestamps = [{"to_timestamp": {"fields": ["created_at"], "format": "iso8601"}}]
    # batch_format under defaults applies to every endpoint, and the rows endpoint overrides it.
    spec = engine.write_spec(
        [paged_endpoint("as_arrow"), paged_endpoint("as_rows", batch_format="rows")],
        defaults={"batch_format": "arrow", "transforms": timestamps},
    )

    result = engine.run(spec)

    columns = "id, name, score, active, count, note, created_at"
    assert engine.query(f"SELECT {columns} FROM as_arrow ORDER BY id") == engine.query(f"SELECT {columns} FROM as_rows ORDER BY id")
    assert engine.count("as_arrow") == 7
    arrow_types = column_types(engine, "as_arrow")
    rows_types = column_types(engine, "as_rows")
    assert arrow_types == {name: data_type for name, data_type in rows_types.items() if name != "_dlt_id"}
    assert arrow_types["created_at"] == "TIMESTAMP WITH TIME ZONE"
    assert result.table_rows["as_arrow"] == 7
    assert [(stats.endpoint, stats.rows, stats.pages) for stats in result.stats] == [("as_arrow", 7, 3), ("as_rows", 7, 3)]


def test_arrow_loads_parquet(engine: Engine, api: ApiServer) -> None:
    serve_pages(api, "/items", FLAT)
    spec = engine.write_spec([paged_endpoint("as_arrow", batch_format="arrow"), paged_endpoint("as_rows")])

    engine.run(spec)

    loaded = engine.query("SELECT DISTINCT _dlt_load_id FROM as_arrow")
    jobs = sorted(path.name for path in engine.pipelines_dir.glob(f"*/load/loaded/{loaded[0][0]}/completed_jobs/*"))
    assert any(name.startswith("as_arrow.") and ".parquet" in name for name in jobs), jobs
    assert any(name.startswith("as_rows.") and ".jsonl" in name for name in jobs), jobs


def test_incremental_merge_rerun_no_duplicates(engine: Engine, api: ApiServer) -> None:
    records = [{"id": number, "updated": f"2024-01-{number:02d}T00:00:00Z", "value": f"v{number}"} for number in range(1, 8)]

    def since(request: RecordedRequest) -> dict[str, Any]:
        start = request.arg("since") or ""
        newer = sorted((record for record in records if record["updated"] >= start), key=lambda record: record["id"])
        number = int(request.arg("page") or 1)
        return {"data": page_of(newer, (number - 1) * PAGE_SIZE, PAGE_SIZE), "total_pages": max(1, -(-len(newer) // PAGE_SIZE))}

    api.json_route("/items", since)
    incremental = {"cursor_path": "updated", "cursor_format": "iso8601", "initial_value": "2024-01-01T00:00:00Z", "range_format": "iso8601"}
    endpoint = paged_endpoint(
        "items",
        batch_format="arrow",
        params={"since": "${incremental.start}"},
        incremental=incremental,
        primary_key="id",
        write_disposition="merge",
    )
    spec = engine.write_spec([endpoint])
    engine.run(spec)
    assert engine.count("items") == 7
    assert engine.cursors("items") == {"": "2024-01-07T00:00:00+00:00"}

    # Record 7 changes and record 8 is new. The second run requests from the cursor on.
    records[6] = {"id": 7, "updated": "2024-01-09T00:00:00Z", "value": "v7 changed"}
    records.append({"id": 8, "updated": "2024-01-08T00:00:00Z", "value": "v8"})
    api.clear()
    engine.run(spec)
    engine.run(spec)

    assert [request.arg("since") for request in api.requests_to("/items")][0].startswith("2024-01-07T00:00:00")
    assert engine.query("SELECT count(*), count(DISTINCT id) FROM items") == [(8, 8)]
    assert engine.query("SELECT value FROM items WHERE id IN (1, 7, 8) ORDER BY id") == [("v1",), ("v7 changed",), ("v8",)]
    assert engine.cursors("items") == {"": "2024-01-09T00:00:00+00:00"}


def test_heterogeneous_pages_merge_schemas(engine: Engine, api: ApiServer) -> None:
    records = [
        # Page 1: `extra` only in the second row, `score` an int, `meta` with x and y.
        {"id": 1, "score": 1, "meta": {"x": 1, "y": "a"}, "tags": ["red"]},
        {"id": 2, "score": 2, "meta": {"x": 2, "y": "b"}, "tags": [], "extra": "late key"},
        # Page 2: `score` a float, `meta` with x and z, `tags` empty everywhere, `gone` null only.
        {"id": 3, "score": 3.5, "meta": {"x": 3, "z": True}, "tags": [], "gone": None},
        {"id": 4, "score": 4.5, "meta": None, "tags": [], "gone": None},
        # Page 3: neither `meta` nor `tags`, and a new column.
        {"id": 5, "score": 5, "later": 50},
        {"id": 1, "score": 1.25, "meta": {"x": 10, "y": "again"}, "tags": ["blue"]},
    ]
    serve_pages(api, "/items", records, size=2)
    spec = engine.write_spec([paged_endpoint("items", batch_format="arrow", primary_key="id", write_disposition="merge")])

    engine.run(spec)

    types = column_types(engine, "items")
    assert types == {
        "id": "BIGINT",
        "score": "DOUBLE",
        "meta": "JSON",
        "tags": "JSON",
        "extra": "VARCHAR",
        "later": "BIGINT",
        "_dlt_load_id": "VARCHAR",
    }
    rows = engine.query("SELECT id, score, meta, tags, extra, later FROM items ORDER BY id")
    # Whether `meta` of page 1 also contains z: null depends on how dlt grouped the pages into files.
    decoded = [(id_, score, without_nulls(meta), json.loads(tags) if tags else None, extra, later) for id_, score, meta, tags, extra, later in rows]
    # Record 1 came twice in one load, and the merge keeps one row per primary key.
    assert [row[0] for row in decoded] == [1, 2, 3, 4, 5]
    assert decoded[1:] == [
        (2, 2.0, {"x": 2, "y": "b"}, [], "late key", None),
        (3, 3.5, {"x": 3, "z": True}, [], None, None),
        (4, 4.5, None, [], None, None),
        (5, 5.0, None, None, None, 50),
    ]

    # A second run merges on the key again.
    engine.run(spec)
    assert engine.query("SELECT count(*), count(DISTINCT id) FROM items") == [(5, 5)]


def test_nested_object_table_shape(engine: Engine, api: ApiServer) -> None:
    records = [
        {"id": 1, "owner": {"name": "ada", "address": {"city": "Paris"}}, "tags": ["a", "b"], "lines": [{"sku": "x", "qty": 1}], "empty": {}},
        {"id": 2, "owner": {"name": "bob"}, "tags": [], "lines": [{"sku": "y"}], "empty": {}},
    ]
    api.json_route("/orders", lambda request: records)
    spec = engine.write_spec([
        {"name": "orders", "path": "orders", "batch_format": "arrow"},
        {"name": "orders_rows", "path": "orders"},
    ])

    engine.run(spec)

    # Arrow mode: one JSON column per nested value, no child tables, `{}` stored as nothing.
    assert column_types(engine, "orders") == {"id": "BIGINT", "owner": "JSON", "tags": "JSON", "lines": "JSON", "_dlt_load_id": "VARCHAR"}
    assert not [table for table in engine.tables() if table.startswith("orders__")]
    assert {"orders_rows__tags", "orders_rows__lines"} <= engine.tables()
    rows = [(id_, json.loads(owner), json.loads(tags), json.loads(lines)) for id_, owner, tags, lines in engine.query("SELECT id, owner, tags, lines FROM orders ORDER BY id")]
    # Objects in one column share their keys: a key that an object lacks is null.
    assert rows == [
        (1, {"name": "ada", "address": {"city": "Paris"}}, ["a", "b"], [{"sku": "x", "qty": 1}]),
        (2, {"name": "bob", "address": None}, [], [{"sku": "y", "qty": None}]),
    ]
    # Rows mode, for contrast: the object is flattened into columns.
    assert {"owner__name", "owner__address__city"} <= set(column_types(engine, "orders_rows"))


def test_child_endpoint_arrow(engine: Engine, api: ApiServer) -> None:
    api.json_route("/users", lambda request: [{"id": 1, "name": "ada"}, {"id": 2, "name": "bob"}, {"id": 3}])

    def orders(request: RecordedRequest) -> list[dict[str, Any]]:
        user = int(request.arg("user_id") or 0)
        return [{"order": user * 100 + number, "total": number * 1.5} for number in range(1, 3)]

    api.json_route("/orders", orders)
    endpoints = [
        {"name": "users", "path": "users", "batch_format": "arrow"},
        {"name": "orders", "path": "orders", "batch_format": "arrow", "primary_key": "order", "depends_on": "users", "param_mapping": {"user_id": "id"}, "include_from_parent": {"user_name": "name"}},
        {"name": "orders_rows", "path": "orders", "depends_on": "users", "param_mapping": {"user_id": "id"}},
    ]
    spec = engine.write_spec(endpoints)

    engine.run(spec)

    assert sorted(request.arg("user_id") for request in api.requests_to("/orders")) == ["1", "1", "2", "2", "3", "3"]
    assert engine.query('SELECT "order", total, user_name FROM orders ORDER BY 1') == [
        (101, 1.5, "ada"), (102, 3.0, "ada"), (201, 1.5, "bob"), (202, 3.0, "bob"), (301, 1.5, None), (302, 3.0, None),
    ]
    assert engine.column("orders_rows", "order") == [101, 102, 201, 202, 301, 302]
    assert engine.query("SELECT id, name FROM users ORDER BY id") == [(1, "ada"), (2, "bob"), (3, None)]


def test_jsonl_one_table_per_batch(engine: Engine, api: ApiServer) -> None:
    records = [{"id": number, "event": f"e{number}", "properties": {"n": number}} for number in range(1, 8)]
    # Only the second record of the second batch has `late`.
    records[4]["late"] = True
    api.route("/export", lambda exchange: exchange.send(200, jsonl_body(records), content_type="application/x-ndjson"))
    endpoint = {"name": "events", "path": "export", "batch_format": "arrow", "response": {"format": "jsonl", "batch_size": 3}, "transforms": [{"hoist": {"field": "properties"}}]}
    spec = engine.write_spec([endpoint])

    result = engine.run(spec)

    assert engine.query("SELECT id, event, n, late FROM events ORDER BY id") == [
        (1, "e1", 1, None), (2, "e2", 2, None), (3, "e3", 3, None), (4, "e4", 4, None),
        (5, "e5", 5, True), (6, "e6", 6, None), (7, "e7", 7, None),
    ]
    assert result.table_rows["events"] == 7
    assert result.stats[0].rows == 7


def test_requested_loader_format_applies(engine: Engine, api: ApiServer) -> None:
    serve_pages(api, "/items", FLAT)
    spec = engine.write_spec([paged_endpoint("items", batch_format="arrow")])

    engine.run(spec, loader_file_format="jsonl")

    assert engine.column("items", "id") == [1, 2, 3, 4, 5, 6, 7]
    assert engine.column("items", "note") == ["third", None, None, None, None, None, None]


def test_mixed_types_in_page_fail(engine: Engine, api: ApiServer) -> None:
    api.json_route("/items", lambda request: [{"id": 1, "code": 7}, {"id": 2, "code": "A7"}])
    spec = engine.write_spec([{"name": "items", "path": "items", "batch_format": "arrow"}])

    code, _, err = engine.cli_run(spec)

    assert code == 1
    assert "items: batch_format arrow cannot store the field 'code'" in err
    assert "batch_format: rows" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("where", "expected_path"),
    [("endpoint", "endpoints[1].batch_format"), ("defaults", "defaults.batch_format")],
)
def test_missing_pyarrow_fails_before_requests(engine: Engine, api: ApiServer, monkeypatch: pytest.MonkeyPatch, where: str, expected_path: str) -> None:
    api.json_route("/items", lambda request: [{"id": 1}])
    endpoints: list[dict[str, Any]] = [{"name": "plain", "path": "items", "batch_format": "rows"}, {"name": "items", "path": "items"}]
    if where == "endpoint":
        endpoints[1]["batch_format"] = "arrow"
        spec = engine.write_spec(endpoints)
    else:
        spec = engine.write_spec(endpoints, defaults={"batch_format": "arrow"})
    # A None entry in sys.modules makes `import pyarrow` raise ImportError.
    monkeypatch.setitem(sys.modules, "pyarrow", None)

    code, _, err = engine.cli_run(spec)

    assert code == 2
    line = next(line for line in err.splitlines() if "pyarrow" in line)
    assert line.startswith(f"Error: {spec}:")
    assert line.endswith(f"{expected_path}: arrow needs pyarrow; install restgen[arrow]")
    assert api.requests == []


@pytest.mark.parametrize(("first", "second"), [("rows", "arrow"), ("arrow", "rows")])
def test_switching_batch_format_needs_refresh(engine: Engine, api: ApiServer, first: str, second: str) -> None:
    api.json_route("/items", lambda request: [{"id": 1}, {"id": 2}])
    engine.run(engine.write_spec([{"name": "items", "path": "items", "batch_format": first}]))
    switched = engine.write_spec([{"name": "items", "path": "items", "batch_format": second}])
    api.clear()

    code, _, err = engine.cli_run(switched)

    assert code == 1
    assert f"items: the table 'items' was loaded with batch_format {first}, and a load with batch_format {second} would fail" in err
    assert "--full-refresh" in err
    assert api.requests == []

    code, _, err = engine.cli_run(switched, "--full-refresh")

    assert code == 0, err
    assert engine.column("items", "id") == [1, 2]


def test_same_schema_pages_join(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow

    from restgen.engine import arrow

    pages = [
        [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
        [{"id": 3, "name": "c"}],
        # Another schema: `name` missing, so it starts a new Table.
        [{"id": 4}],
        [{"id": 5, "name": "e"}],
        [{"id": 6, "name": "f"}],
    ]
    converter = arrow.ArrowPages(pyarrow, "items", ["id"])

    tables = list(converter.tables(pages))

    assert [table.to_pylist() for table in tables] == [
        [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}],
        [{"id": 4}],
        [{"id": 5, "name": "e"}, {"id": 6, "name": "f"}],
    ]

    # A Table ends after the page that reaches the row bound.
    monkeypatch.setattr(arrow, "ARROW_BATCH_ROWS", 2)
    sizes = [table.num_rows for table in converter.tables(pages)]
    assert sizes == [2, 1, 1, 2]


def test_many_pages_load_every_row_once(engine: Engine, api: ApiServer) -> None:
    records = [{"id": number, "name": f"item {number}"} for number in range(1, 2001)]
    serve_pages(api, "/items", records, size=100)
    spec = engine.write_spec([paged_endpoint("items", batch_format="arrow", primary_key="id")])

    result = engine.run(spec)

    assert result.table_rows["items"] == 2000
    assert result.stats[0].pages == 20
    assert engine.query("SELECT count(*), count(DISTINCT id), min(id), max(id) FROM items") == [(2000, 2000, 1, 2000)]


def test_floats_between_ints_keep_decimals(engine: Engine, api: ApiServer) -> None:
    # dlt 1.31 alone types a column after its last Table, which rounded these floats into BIGINT.
    scores = [1, 2, 3.5, 4.5, 5, 6]
    serve_pages(api, "/items", [{"id": index, "score": score} for index, score in enumerate(scores, 1)], size=2)
    spec = engine.write_spec([paged_endpoint("items", batch_format="arrow", primary_key="id")])

    engine.run(spec)

    assert column_types(engine, "items")["score"] == "DOUBLE"
    assert engine.column("items", "score") == [1.0, 2.0, 3.5, 4.5, 5.0, 6.0]


def test_text_page_turns_column_to_text(engine: Engine, api: ApiServer) -> None:
    records = [{"id": 1, "code": 7, "flag": True}, {"id": 2, "code": "A7", "flag": 1}, {"id": 3, "code": 9, "flag": False}]
    serve_pages(api, "/items", records, size=1)
    spec = engine.write_spec([paged_endpoint("items", batch_format="arrow", primary_key="id")])

    engine.run(spec)

    assert column_types(engine, "items")["code"] == "VARCHAR"
    assert column_types(engine, "items")["flag"] == "VARCHAR"
    assert engine.query("SELECT code, flag FROM items ORDER BY id") == [("7", "true"), ("A7", "1"), ("9", "false")]


def test_text_column_keeps_float_spelling(engine: Engine, api: ApiServer) -> None:
    records = [{"id": 1, "code": 9900.0}, {"id": 2, "code": "A7"}, {"id": 3, "code": 0.5}]
    serve_pages(api, "/items", records, size=1)
    spec = engine.write_spec([paged_endpoint("items", batch_format="arrow", primary_key="id")])

    engine.run(spec)

    assert engine.query("SELECT code FROM items ORDER BY id") == [("9900.0",), ("A7",), ("0.5",)]


DECLARED = {
    "id": {"data_type": "text"},
    "count": {"data_type": "bigint", "nullable": False},
    "score": {"data_type": "decimal", "precision": 10, "scale": 2},
    "ratio": {"data_type": "double"},
    "label": {"data_type": "text"},
    "active": {"data_type": "bool"},
}


@pytest.mark.parametrize(("batch_format", "false_as_text"), [("arrow", "false"), ("rows", "False")])
def test_declared_types_converted_without_warnings(engine: Engine, api: ApiServer, warnings_logged: Callable[[], list[str]], batch_format: str, false_as_text: str) -> None:
    records = [
        {"id": 1, "count": 2.0, "score": 0.37, "ratio": 3, "label": 1.0, "active": "true"},
        {"id": 2, "count": "12", "score": "4.5", "ratio": "0.25", "label": False, "active": False},
    ]
    serve_pages(api, "/items", records, size=1)
    spec = engine.write_spec([paged_endpoint("items", batch_format=batch_format, primary_key="id", columns=DECLARED)])

    engine.run(spec)

    types = column_types(engine, "items")
    assert [types[name] for name in DECLARED] == ["VARCHAR", "BIGINT", "DECIMAL(10,2)", "DOUBLE", "VARCHAR", "BOOLEAN"]
    rows = engine.query("SELECT id, count, CAST(score AS VARCHAR), ratio, label, active FROM items ORDER BY id")
    assert rows == [("1", 2, "0.37", 3.0, "1.0", True), ("2", 12, "4.50", 0.25, false_as_text, False)]
    assert warnings_logged() == []


MISFITS = [
    pytest.param({"data_type": "bigint"}, [1, 2.5], "the value 2.5, which its declared data_type bigint", "was truncated", id="fraction-bigint"),
    pytest.param({"data_type": "bigint"}, [1, "many"], "the value 'many', which its declared data_type bigint", "Failed to parse", id="word-bigint"),
    # One page of a float and a word: pyarrow cannot build the column, restgen converts each type.
    pytest.param({"data_type": "bigint"}, [2.0, "many"], "the value 'many', which its declared data_type bigint", "Failed to parse", id="word-in-mixed-page"),
    pytest.param({"data_type": "decimal", "precision": 10, "scale": 2}, ["1.5", "1.234"], "the value '1.234', which its declared data_type decimal(10,2)", "data loss", id="scale"),
    pytest.param({"data_type": "bool"}, [1, 0.5], "the value 0.5, which its declared data_type bool", "only 0 and 1", id="half-bool"),
]


@pytest.mark.parametrize(("column", "values", "subject", "reason"), MISFITS)
def test_declared_type_misfit_fails_early(engine: Engine, api: ApiServer, column: dict[str, Any], values: list[Any], subject: str, reason: str) -> None:
    records = [{"id": index, "count": value} for index, value in enumerate(values, 1)]
    # Both values in one page, so that a page of mixed types is covered too.
    serve_pages(api, "/items", records, size=2)
    spec = engine.write_spec([paged_endpoint("items", batch_format="arrow", primary_key="id", columns={"count": column})])

    code, _, err = engine.cli_run(spec)

    assert code == 1
    error = next(line for line in err.splitlines() if line.startswith("Error: "))
    assert error.startswith(f"Error: items: the field 'count' has {subject} cannot store (")
    assert reason in error
    assert error.endswith("; correct the data_type under columns")
    assert "Traceback" not in err
    assert "items" not in engine.tables()


def test_mixed_page_gets_declared_type(engine: Engine, api: ApiServer) -> None:
    beyond_double = 2**53 + 1
    records = [{"id": 1, "count": "7", "flag": 1}, {"id": 2, "count": 2.0, "flag": True}, {"id": 3, "count": beyond_double, "flag": None}]
    serve_pages(api, "/items", records)
    columns = {"count": {"data_type": "bigint"}, "flag": {"data_type": "bool"}}
    spec = engine.write_spec([paged_endpoint("items", batch_format="arrow", primary_key="id", columns=columns)])

    engine.run(spec)

    assert engine.query("SELECT count, flag FROM items ORDER BY id") == [(7, True), (2, True), (beyond_double, None)]


def test_float_into_stored_bigint_fails(engine: Engine, api: ApiServer) -> None:
    records = [{"id": 1, "score": 1}, {"id": 2, "score": 2}]
    serve_pages(api, "/items", records)
    spec = engine.write_spec([paged_endpoint("items", batch_format="arrow", primary_key="id", write_disposition="merge")])
    engine.run(spec)

    records[1]["score"] = 2.5
    code, _, err = engine.cli_run(spec)

    assert code == 1
    assert "items: the field 'score' now has double values, but an earlier run created its column as bigint" in err
    assert "--full-refresh" in err
    assert "Traceback" not in err
    # The failed run loaded nothing, and the first run's rows are intact.
    assert engine.query("SELECT id, score FROM items ORDER BY id") == [(1, 1), (2, 2)]

    engine.run(spec, full_refresh=True)
    assert column_types(engine, "items")["score"] == "DOUBLE"
    assert engine.column("items", "score") == [1.0, 2.5]


def test_int_into_stored_double_cast(engine: Engine, api: ApiServer) -> None:
    records = [{"id": 1, "score": 1.5}]
    serve_pages(api, "/items", records)
    spec = engine.write_spec([paged_endpoint("items", batch_format="arrow", primary_key="id")])
    engine.run(spec)

    records[0]["score"] = 3
    engine.run(spec)

    assert column_types(engine, "items")["score"] == "DOUBLE"
    assert engine.column("items", "score") == [1.5, 3.0]


def test_object_then_number_fails_clearly() -> None:
    import pyarrow

    from restgen.engine.arrow import ArrowPages
    from restgen.errors import RunError

    converter = ArrowPages(pyarrow, "items", ["id"])

    with pytest.raises(RunError, match="cannot store the field 'meta' in one column: it held json values and now has bigint values"):
        list(converter.tables([[{"id": 1, "meta": {"a": 1}}], [{"id": 2, "meta": 5}]]))


def test_large_ints_then_floats_fail_clearly() -> None:
    import pyarrow

    from restgen.engine.arrow import ArrowPages
    from restgen.errors import RunError

    beyond_double = 2**53 + 1
    pages = [[{"id": 1, "amount": beyond_double}], [{"id": 2, "amount": 1.5}]]

    # Either order fails: a double column cannot store 2**53 + 1 exactly.
    with pytest.raises(RunError, match="has floats and integers beyond 2\\*\\*53"):
        list(ArrowPages(pyarrow, "items", ["id"]).tables(pages))
    with pytest.raises(RunError, match="cannot convert the field 'amount' to double"):
        list(ArrowPages(pyarrow, "items", ["id"]).tables(pages[::-1]))


def test_failed_load_names_table(engine: Engine, api: ApiServer) -> None:
    # restgen leaves a string in a column declared date to DuckDB, which rejects the file at load.
    api.json_route("/items", lambda request: [{"id": 1, "day": "not a date"}])
    spec = engine.write_spec([{"name": "items", "path": "items", "batch_format": "arrow", "columns": {"day": {"data_type": "date"}}}])

    code, _, err = engine.cli_run(spec)

    assert code == 1
    # Only the Error line: dlt's log handler may still write to the stderr of an earlier test.
    error = next(line for line in err.splitlines() if line.startswith("Error: "))
    assert error.startswith("Error: loading table 'items' failed in the destination: Conversion Error:")
    assert error.endswith(f"dlt pipeline --pipelines-dir {engine.pipelines_dir} testapi abort-packages")
    assert "Traceback" not in error


def test_declared_precision_truncates_timestamps(engine: Engine, api: ApiServer, warnings_logged: Callable[[], list[str]]) -> None:
    records = [{"id": 1, "seen": "2024-01-01T00:00:00.123456Z"}, {"id": 2, "seen": "2024-01-02T00:00:00Z"}]
    serve_pages(api, "/items", records, size=1)
    # DuckDB has no millisecond type with a time zone.
    columns = {"seen": {"data_type": "timestamp", "precision": 3, "timezone": False}}
    transforms = [{"to_timestamp": {"fields": ["seen"], "format": "iso8601"}}]
    spec = engine.write_spec([paged_endpoint("items", batch_format="arrow", primary_key="id", columns=columns, transforms=transforms)])

    engine.run(spec)

    assert column_types(engine, "items")["seen"] == "TIMESTAMP_MS"
    assert engine.query("SELECT CAST(seen AS VARCHAR) FROM items ORDER BY id") == [("2024-01-01 00:00:00.123",), ("2024-01-02 00:00:00",)]
    assert warnings_logged() == []


@pytest.mark.parametrize("second", [{"id": 2}, {"id": 2, "count": None}], ids=["missing", "null"])
def test_null_in_declared_not_null_fails(engine: Engine, api: ApiServer, second: dict[str, Any]) -> None:
    records = [{"id": 1, "count": 1}, second]
    serve_pages(api, "/items", records, size=1)
    columns = {"count": {"data_type": "bigint", "nullable": False}}
    spec = engine.write_spec([paged_endpoint("items", batch_format="arrow", primary_key="id", columns=columns)])

    code, _, err = engine.cli_run(spec)

    assert code == 1
    assert "Error: items: the field 'count' is declared nullable: false but is null or missing in a record" in err
    assert "items" not in engine.tables()
