"""What a run loads and where: endpoint selection, tables, write dispositions, preview, restgen.source()."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import dlt
import duckdb

import restgen

from .conftest import SOURCE, ApiServer, Engine, RecordedRequest


def serve(api: ApiServer, path: str, rows: list[dict[str, Any]]) -> None:
    """Serve ``path`` with the current content of ``rows``, so a test can change it between runs."""
    api.json_route(path, lambda request: list(rows))


def test_endpoint_option_selects(engine: Engine, api: ApiServer) -> None:
    serve(api, "/a", [{"id": 1}])
    serve(api, "/b", [{"id": 2}])
    spec = engine.write_spec([{"name": "a", "path": "a"}, {"name": "b", "path": "b"}])

    code, out, err = engine.cli_run(spec, "--endpoint", "b")

    assert code == 0, err
    assert api.requests_to("/a") == []
    assert engine.tables() >= {"b"}
    assert "a" not in engine.tables()
    assert engine.column("b", "id") == [2]
    assert out.splitlines()[0].split() == ["endpoint", "table", "rows", "pages", "requests", "retries", "skipped", "seconds"]
    assert out.splitlines()[1].split()[:5] == ["b", "b", "1", "1", "1"]


def test_unknown_endpoint_is_usage_error(engine: Engine, api: ApiServer) -> None:
    spec = engine.write_spec([{"name": "a", "path": "a"}])

    code, _, err = engine.cli_run(spec, "--endpoint", "nope")

    assert code == 2
    assert "Error: --endpoint nope" in err
    assert "a" in err
    assert api.requests == []


def test_disabled_endpoint(engine: Engine, api: ApiServer) -> None:
    serve(api, "/a", [{"id": 1}])
    serve(api, "/legacy", [{"id": 9}])
    spec = engine.write_spec([{"name": "a", "path": "a"}, {"name": "legacy", "path": "legacy", "enabled": False}])

    engine.run(spec)

    assert api.requests_to("/legacy") == []
    assert "legacy" not in engine.tables()

    engine.run(spec, endpoints=["legacy"])

    assert engine.column("legacy", "id") == [9]
    assert len(api.requests_to("/a")) == 1


def test_table_name(engine: Engine, api: ApiServer) -> None:
    serve(api, "/items", [{"id": 1}, {"id": 2}])
    spec = engine.write_spec([{"name": "items", "path": "items", "table_name": "catalog_items"}])

    result = engine.run(spec)

    assert "catalog_items" in engine.tables()
    assert "items" not in engine.tables()
    assert engine.column("catalog_items", "id") == [1, 2]
    assert result.table_rows["catalog_items"] == 2
    assert result.stats[0].table == "catalog_items"


def test_replace_disposition(engine: Engine, api: ApiServer) -> None:
    rows = [{"id": 1}, {"id": 2}, {"id": 3}]
    serve(api, "/items", rows)
    spec = engine.write_spec([{"name": "items", "path": "items", "write_disposition": "replace"}])
    engine.run(spec)

    rows[:] = [{"id": 4}]
    engine.run(spec)

    assert engine.column("items", "id") == [4]


def test_append_disposition(engine: Engine, api: ApiServer) -> None:
    serve(api, "/items", [{"id": 1}, {"id": 2}])
    spec = engine.write_spec([{"name": "items", "path": "items", "write_disposition": "append"}])

    engine.run(spec)
    engine.run(spec)

    assert engine.column("items", "id") == [1, 1, 2, 2]


def test_merge_disposition(engine: Engine, api: ApiServer) -> None:
    rows = [{"id": 1, "state": "new"}, {"id": 2, "state": "new"}]
    serve(api, "/items", rows)
    spec = engine.write_spec([{"name": "items", "path": "items", "primary_key": "id", "write_disposition": "merge"}])
    engine.run(spec)

    rows[:] = [{"id": 2, "state": "paid"}, {"id": 3, "state": "new"}]
    engine.run(spec)

    assert engine.query("SELECT id, state FROM items ORDER BY id") == [(1, "new"), (2, "paid"), (3, "new")]


def test_full_refresh(engine: Engine, api: ApiServer) -> None:
    rows = [{"id": 1, "day": "2024-01-01"}, {"id": 2, "day": "2024-01-02"}]

    def by_range(request: RecordedRequest) -> list[dict[str, Any]]:
        return [row for row in rows if request.arg("from", "") <= row["day"] <= request.arg("to", "")]

    api.json_route("/items", by_range)
    incremental = {
        "cursor_path": "day",
        "cursor_format": "date",
        "initial_value": "2024-01-01",
        "end_value": "2024-01-03",
        "range_end": "inclusive",
    }
    endpoint = {
        "name": "items",
        "path": "items",
        "params": {"from": "${incremental.start}", "to": "${incremental.end}"},
        "incremental": incremental,
        "primary_key": "id",
        "write_disposition": "merge",
    }
    spec = engine.write_spec([endpoint])
    engine.cli_run(spec)
    assert engine.cursors("items") == {"": "2024-01-02T00:00:00+00:00"}

    # The server dropped row 1; a plain run keeps it, a full refresh reloads from the start.
    rows.pop(0)
    api.clear()
    code, _, err = engine.cli_run(spec, "--full-refresh")

    assert code == 0, err
    assert [request.arg("from") for request in api.requests_to("/items")] == ["2024-01-01"]
    assert engine.column("items", "id") == [2]
    assert engine.cursors("items") == {"": "2024-01-02T00:00:00+00:00"}


def test_default_database_name(engine: Engine, api: ApiServer) -> None:
    serve(api, "/items", [{"id": 1}])
    spec = engine.write_spec([{"name": "items", "path": "items"}])

    code, out, err = engine.cli_run(spec)

    assert code == 0, err
    database = engine.tmp_path / f"{SOURCE}_data.duckdb"
    assert f"Loaded into {database}, dataset {SOURCE}." in out
    assert engine.column("items", "id") == [1]


def test_dataset_option_keeps_file_name(engine: Engine, api: ApiServer) -> None:
    serve(api, "/items", [{"id": 1}])
    spec = engine.write_spec([{"name": "items", "path": "items"}])

    code, out, err = engine.cli_run(spec, "--dataset", "raw")

    assert code == 0, err
    assert f"Loaded into {engine.tmp_path / SOURCE}.duckdb, dataset raw." in out
    assert engine.column("items", "id", dataset="raw") == [1]


def test_preview_loads_nothing(engine: Engine, api: ApiServer) -> None:
    api.json_route("/users", lambda request: {"page": 1, "results": [{"id": number} for number in range(1, 8)]})
    api.json_route("/users/1/orders", lambda request: [{"order": "o-1"}])
    pagination = {"type": "page_number", "page_size": 7, "page_size_param": "size"}
    endpoints = [
        {"name": "users", "path": "users", "pagination": pagination},
        {"name": "orders", "path": "users/${parent.id}/orders", "depends_on": "users", "include_from_parent": {"user_id": "id"}},
    ]
    spec = engine.write_spec(endpoints)

    code, out, err = engine.cli("preview", str(spec), "--var", f"base={api.base_url}", "--rows", "2")

    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "== users: 2 row(s) shown"
    assert [json.loads(line) for line in lines[1:3]] == [{"id": 1}, {"id": 2}]
    assert lines[3] == "== orders: 1 row(s) shown"
    assert json.loads(lines[4]) == {"order": "o-1", "user_id": 1}
    # One page of users only, and the child requested only for the first parent.
    assert len(api.requests_to("/users")) == 1
    assert [request.path for request in api.requests] == ["/users", "/users/1/orders"]
    assert list(engine.tmp_path.glob("*.duckdb")) == []
    assert not engine.pipelines_dir.exists()


def test_source_in_user_pipeline(engine: Engine, api: ApiServer, tmp_path: Path) -> None:
    serve(api, "/items", [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
    spec = engine.write_spec([{"name": "items", "path": "items", "primary_key": "id", "write_disposition": "merge"}])
    database = tmp_path / "mine.duckdb"
    pipeline = dlt.pipeline(
        pipeline_name="my_pipeline",
        destination=dlt.destinations.duckdb(credentials=str(database)),
        dataset_name="my_data",
        pipelines_dir=str(tmp_path / "my_pipelines"),
    )

    pipeline.run(restgen.source(spec, {"base": api.base_url}), loader_file_format="jsonl")
    pipeline.run(restgen.source(spec, {"base": api.base_url}))

    connection = duckdb.connect(str(database))
    try:
        assert connection.execute("SELECT id, name FROM my_data.items ORDER BY id").fetchall() == [(1, "a"), (2, "b")]
    finally:
        connection.close()
    assert len(api.requests_to("/items")) == 2


def test_full_refresh_keeps_other_endpoints(engine: Engine, api: ApiServer) -> None:
    serve(api, "/a", [{"id": 1}])
    serve(api, "/b", [{"id": 2, "day": "2024-01-02"}])
    incremental = {"cursor_path": "day", "cursor_format": "date", "initial_value": "2024-01-01", "end_value": "2024-01-03"}
    spec = engine.write_spec([{"name": "a", "path": "a"}, {"name": "b", "path": "b", "incremental": incremental}])
    engine.cli_run(spec)
    assert engine.cursors("b") == {"": "2024-01-02T00:00:00+00:00"}

    code, _, err = engine.cli_run(spec, "--endpoint", "a", "--full-refresh")

    assert code == 0, err
    assert engine.column("a", "id") == [1]
    assert engine.column("b", "id") == [2]
    assert engine.cursors("b") == {"": "2024-01-02T00:00:00+00:00"}


def test_configured_database_clash(engine: Engine, api: ApiServer, monkeypatch: Any) -> None:
    serve(api, "/items", [{"id": 1}])
    (engine.tmp_path / "warehouse").mkdir()
    database = engine.tmp_path / "warehouse" / f"{SOURCE}.duckdb"
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(database))
    spec = engine.write_spec([{"name": "items", "path": "items"}])

    code, _, err = engine.cli_run(spec)

    assert code == 2
    assert f"Error: the DuckDB file {database} is named like the dataset '{SOURCE}'" in err
    assert "--dataset" in err
    assert api.requests == []


def test_preview_requests_first_window_only(engine: Engine, api: ApiServer) -> None:
    # The first day has no events; preview must not walk on through later windows.
    def by_day(request: RecordedRequest) -> list[dict[str, Any]]:
        return [{"id": 2, "day": "2024-01-02"}] if request.arg("from") == "2024-01-02" else []

    api.json_route("/events", by_day)
    incremental = {"cursor_path": "day", "cursor_format": "date", "initial_value": "2024-01-01", "end_value": "2024-01-05", "window": "1d"}
    endpoint = {"name": "events", "path": "events", "params": {"from": "${incremental.start}"}, "incremental": incremental}
    spec = engine.write_spec([endpoint])

    code, out, err = engine.cli("preview", str(spec), "--var", f"base={api.base_url}")

    assert code == 0, err
    assert out.splitlines() == ["== events: 0 row(s) shown"]
    assert [request.arg("from") for request in api.requests_to("/events")] == ["2024-01-01"]


def test_default_duckdb_file_gets_memory_limit(tmp_path: Path, monkeypatch: Any) -> None:
    from restgen.engine.run import _duckdb_in_working_directory

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DESTINATION__DUCKDB__CREDENTIALS__GLOBAL_CONFIG", raising=False)
    pipeline = dlt.pipeline(pipeline_name="limits", destination="duckdb", dataset_name="limits", pipelines_dir=str(tmp_path / "pipelines"))

    chosen = _duckdb_in_working_directory(pipeline, "100MB")
    credentials = chosen.destination_client().config.credentials

    assert credentials.database == str(tmp_path / "limits_data.duckdb")
    assert credentials.global_config == {"memory_limit": "100MB", "threads": 2}
    assert chosen.destination.capabilities().max_parallel_load_jobs == 1


def test_limited_duckdb_settings_reach_duckdb(tmp_path: Path) -> None:
    from restgen.engine.run import DEFAULT_DUCKDB_MEMORY_LIMIT, _default_destination

    destination = _default_destination(tmp_path / "limited.duckdb", DEFAULT_DUCKDB_MEMORY_LIMIT)
    pipeline = dlt.pipeline(pipeline_name="limited", destination=destination, dataset_name="data", pipelines_dir=str(tmp_path / "pipelines"))

    with pipeline.sql_client() as client:
        threads, limit = client.execute_sql("SELECT current_setting('threads'), current_setting('memory_limit')")[0]
    with duckdb.connect(config={"memory_limit": DEFAULT_DUCKDB_MEMORY_LIMIT}) as reference:
        expected_limit = reference.execute("SELECT current_setting('memory_limit')").fetchone()[0]

    assert threads == 2
    assert limit == expected_limit


def test_many_tables_load_within_default_limit(engine: Engine, api: ApiServer, caplog: Any) -> None:
    # Eight load jobs at once on two threads exceeded a 100MB limit now and then.
    endpoints = []
    for index in range(8):
        serve(api, f"/items{index}", [{"id": number, "name": f"item {number}", "tags": ["a", "b"]} for number in range(50)])
        endpoints.append({"name": f"items{index}", "path": f"items{index}"})
    spec = engine.write_spec(endpoints)

    code, _, err = engine.cli_run(spec)

    assert code == 0, err
    assert "Out of Memory" not in err + caplog.text
    assert engine.column("items7", "id") == list(range(50))


def test_user_duckdb_config_keeps_its_settings(tmp_path: Path, monkeypatch: Any, caplog: Any) -> None:
    from restgen.engine.run import _duckdb_in_working_directory

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS__GLOBAL_CONFIG", '{"memory_limit": "2GB"}')
    pipeline = dlt.pipeline(pipeline_name="mine", destination="duckdb", dataset_name="data", pipelines_dir=str(tmp_path / "pipelines"))

    with caplog.at_level(logging.INFO, logger="restgen"):
        chosen = _duckdb_in_working_directory(pipeline, "100MB")
    credentials = chosen.destination_client().config.credentials

    assert credentials.global_config == {"memory_limit": "2GB"}
    assert chosen.destination.capabilities().max_parallel_load_jobs is None
    assert "restgen's memory limit 100MB does not apply" in caplog.text


def test_cli_memory_limit_default_matches_engine() -> None:
    from restgen.cli import build_parser
    from restgen.engine.run import DEFAULT_DUCKDB_MEMORY_LIMIT

    args = build_parser().parse_args(["run", "spec.yaml"])

    assert args.duckdb_memory_limit == DEFAULT_DUCKDB_MEMORY_LIMIT
