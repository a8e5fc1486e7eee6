"""One benchmark contender loading one workload into a fresh DuckDB file, run as its own process.

``run.py`` starts this script once per measurement, in an empty working folder. The last line
of its standard output is a JSON object with the rows per table, counted in DuckDB after the
load, and, for dlt-based contenders, the seconds of each pipeline step.

Contenders:

- ``count``: not a contender. restgen runs as the ``restgen run`` command; this counts the
  rows it loaded afterwards, outside the measured time.
- ``dlt``: dlt's ``rest_api_source`` with the equivalent config (paged, fanout). For the
  export, which ``rest_api`` cannot read because it parses every body with
  ``response.json()``, a hand-written ``dlt.resource`` streams ``iter_lines()`` instead.
- ``dlt-table``: a dlt pipeline loading one prebuilt pyarrow Table of the paged records,
  read from a file that ``write-table`` wrote beforehand: dlt's own cost, without HTTP or JSON.
- ``floor``: requests, json, one pyarrow Table and one ``INSERT ... SELECT`` into DuckDB.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

DATASET = "bench"
# Not "bench.duckdb": DuckDB names the catalog after the file, and a catalog named like the
# schema makes "bench"."items" ambiguous.
DATABASE_FILE = "load.duckdb"
TABLES = {"paged": ["items"], "jsonl": ["events"], "fanout": ["parents", "children"]}
# Records per list handed to dlt, the same as restgen's default JSON Lines batch size.
BATCH_SIZE = 5000


def count_rows(database: str, schema: str, tables: list[str]) -> dict[str, int]:
    import duckdb

    with duckdb.connect(database, read_only=True) as connection:
        return {table: connection.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0] for table in tables}


def step_seconds(trace: Any) -> dict[str, float]:
    """Return the seconds of each step (extract, normalize, load) of a dlt pipeline trace."""
    if trace is None:
        return {}
    return {
        str(step.step): round((step.finished_at - step.started_at).total_seconds(), 3)
        for step in trace.steps
        if step.finished_at is not None and step.step != "run"
    }


# -- restgen -------------------------------------------------------------------------------


def run_count(args: argparse.Namespace) -> dict[str, Any]:
    """Count what ``restgen run`` loaded into its DuckDB file in the working folder.

    restgen runs as the ``restgen run`` command, as a user runs it. That command prints a table
    for people, so ``run.py`` starts this count afterwards, outside the measured time.
    """
    import dlt

    databases = sorted(Path.cwd().glob("*.duckdb"))
    if len(databases) != 1:
        raise SystemExit(f"expected one DuckDB file in {Path.cwd()}, found {[path.name for path in databases]}")
    pipelines_dir = Path.cwd() / "pipelines"
    pipeline = dlt.attach(pipeline_name=args.pipeline_name, pipelines_dir=str(pipelines_dir))
    return {
        "tables": count_rows(str(databases[0]), pipeline.dataset_name, TABLES[args.workload]),
        "steps": step_seconds(pipeline.last_trace),
    }


# -- dlt -----------------------------------------------------------------------------------


def _dlt_pipeline() -> Any:
    import dlt

    return dlt.pipeline(
        pipeline_name="bench",
        destination=dlt.destinations.duckdb(str(Path.cwd() / DATABASE_FILE)),
        dataset_name=DATASET,
        pipelines_dir=str(Path.cwd() / "pipelines"),
    )


def _paged_config(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "client": {"base_url": f"{args.base_url}/paged/{args.dataset}/"},
        "resources": [
            {
                "name": "items",
                "endpoint": {
                    "path": "items",
                    "params": {"page_size": 1000},
                    "data_selector": "data",
                    "paginator": {"type": "page_number", "base_page": 1, "page_param": "page", "total_path": "total_pages"},
                },
                "write_disposition": "replace",
            }
        ],
    }


def _fanout_config(args: argparse.Namespace) -> dict[str, Any]:
    child: dict[str, Any] = {
        "name": "children",
        "endpoint": {
            "path": "parents/{resources.parents.id}/children",
            "data_selector": "data",
            "paginator": "single_page",
        },
        "include_from_parent": ["id"],
        "write_disposition": "replace",
    }
    if args.parallelized:
        child["parallelized"] = True
    return {
        "client": {"base_url": f"{args.base_url}/fanout/"},
        "resources": [
            {
                "name": "parents",
                "endpoint": {"path": "parents", "data_selector": "data", "paginator": "single_page"},
                "write_disposition": "replace",
            },
            child,
        ],
    }


def _export_resource(args: argparse.Namespace) -> Any:
    import dlt
    from dlt.sources.helpers.rest_client import RESTClient

    @dlt.resource(name="events", write_disposition="append")
    def events() -> Iterator[list[dict[str, Any]]]:
        client = RESTClient(base_url=f"{args.base_url}/export/")
        response = client.get(args.dataset, stream=True)
        batch: list[dict[str, Any]] = []
        for line in response.iter_lines(chunk_size=64 * 1024):
            if not line:
                continue
            batch.append(json.loads(line))
            if len(batch) >= BATCH_SIZE:
                yield batch
                batch = []
        if batch:
            yield batch

    return events


def run_dlt(args: argparse.Namespace) -> dict[str, Any]:
    from dlt.sources.rest_api import rest_api_source

    if args.workload == "paged":
        source: Any = rest_api_source(_paged_config(args), name="bench_paged")
    elif args.workload == "fanout":
        source = rest_api_source(_fanout_config(args), name="bench_fanout")
    else:
        source = _export_resource(args)
    pipeline = _dlt_pipeline()
    pipeline.run(source, loader_file_format=args.format or "jsonl")
    return {
        "tables": count_rows(str(Path.cwd() / DATABASE_FILE), DATASET, TABLES[args.workload]),
        "steps": step_seconds(pipeline.last_trace),
    }


# -- dlt alone -----------------------------------------------------------------------------


def write_table(args: argparse.Namespace) -> dict[str, Any]:
    """Write the paged workload's records, ``created_at`` as a timestamp, to one Arrow IPC file."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from workloads import flat_record

    table = pa.Table.from_pylist([flat_record(index) for index in range(args.rows)])
    created_at = pc.strptime(table["created_at"], format="%Y-%m-%dT%H:%M:%S%z", unit="us")
    table = table.set_column(table.schema.get_field_index("created_at"), "created_at", created_at)
    with pa.OSFile(args.table, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return {"tables": {}, "rows": table.num_rows}


def run_dlt_table(args: argparse.Namespace) -> dict[str, Any]:
    """Load a prebuilt Arrow table with dlt: a dlt run with no HTTP, JSON or conversion.

    Its wall time is the least that any loader built on dlt pays for this many rows, restgen
    included. It imports dlt and treats the garbage collector as the restgen command does.
    """
    # Imported here only: importing restgen sets dlt options that the dlt contenders must not get.
    from restgen.collector import claim_process, importing_engine

    claim_process()
    with importing_engine():
        import dlt
        import pyarrow as pa

    with pa.OSFile(args.table, "rb") as source:
        table = pa.ipc.open_file(source).read_all()
    pipeline = _dlt_pipeline()
    pipeline.run(dlt.resource(table, name="items", write_disposition="replace"), loader_file_format="parquet")
    return {
        "tables": count_rows(str(Path.cwd() / DATABASE_FILE), DATASET, TABLES[args.workload]),
        "steps": step_seconds(pipeline.last_trace),
    }


# -- the columnar floor --------------------------------------------------------------------


def _fetch_paged(session: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    page, total_pages = 1, 1
    while page <= total_pages:
        response = session.get(f"{args.base_url}/paged/{args.dataset}/items", params={"page": page, "page_size": 1000})
        response.raise_for_status()
        body = json.loads(response.content)
        records.extend(body["data"])
        total_pages = body["total_pages"]
        page += 1
    return records


def _fetch_export(session: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    with session.get(f"{args.base_url}/export/{args.dataset}", stream=True) as response:
        response.raise_for_status()
        for line in response.iter_lines(chunk_size=64 * 1024):
            if line:
                event = json.loads(line)
                records.append({"event": event["event"], **event["properties"]})
    return records


class _Pacer:
    """Space request starts at least ``1 / per_second`` seconds apart, across threads."""

    def __init__(self, per_second: float) -> None:
        import threading

        self.interval = 1.0 / per_second
        self.lock = threading.Lock()
        self.next_start = time.monotonic()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_start)
            self.next_start = start + self.interval
        time.sleep(max(0.0, start - now))


def _fetch_fanout(session: Any, args: argparse.Namespace) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    parents = json.loads(session.get(f"{args.base_url}/fanout/parents").content)["data"]
    pacer = _Pacer(args.requests_per_second)

    def children_of(parent: dict[str, Any]) -> list[dict[str, Any]]:
        pacer.wait()
        response = session.get(f"{args.base_url}/fanout/parents/{parent['id']}/children")
        response.raise_for_status()
        return [{**child, "parent_id": parent["id"]} for child in json.loads(response.content)["data"]]

    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        children = [row for rows in pool.map(children_of, parents) for row in rows]
    return parents, children


def _insert(connection: Any, table: str, records: list[dict[str, Any]], casts: str = "") -> None:
    import pyarrow as pa

    arrow_table = pa.Table.from_pylist(records)
    connection.register("arrow_rows", arrow_table)
    select = f"SELECT * {casts} FROM arrow_rows"
    connection.execute(f'CREATE TABLE "{DATASET}"."{table}" AS {select} LIMIT 0')
    connection.execute(f'INSERT INTO "{DATASET}"."{table}" {select}')
    connection.unregister("arrow_rows")


def run_floor(args: argparse.Namespace) -> dict[str, Any]:
    import duckdb
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_connections=1, pool_maxsize=max(10, args.concurrency)))
    database = str(Path.cwd() / DATABASE_FILE)
    fetch_started = time.perf_counter()
    if args.workload == "paged":
        loads = [("items", _fetch_paged(session, args), "REPLACE (CAST(created_at AS TIMESTAMPTZ) AS created_at)")]
    elif args.workload == "jsonl":
        loads = [("events", _fetch_export(session, args), 'REPLACE (to_timestamp("time") AS "time")')]
    else:
        parents, children = _fetch_fanout(session, args)
        loads = [("parents", parents, ""), ("children", children, "")]
    session.close()
    load_started = time.perf_counter()
    with duckdb.connect(database) as connection:
        connection.execute(f'CREATE SCHEMA "{DATASET}"')
        connection.execute("BEGIN")
        for table, records, casts in loads:
            _insert(connection, table, records, casts)
        connection.execute("COMMIT")
    steps = {"fetch": round(load_started - fetch_started, 3), "load": round(time.perf_counter() - load_started, 3)}
    return {"tables": count_rows(database, DATASET, TABLES[args.workload]), "steps": steps}


# -- command line --------------------------------------------------------------------------

RUNNERS = {"count": run_count, "dlt": run_dlt, "dlt-table": run_dlt_table, "floor": run_floor, "write-table": write_table}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run one benchmark contender and print one JSON line with the loaded rows.")
    parser.add_argument("contender", choices=sorted(RUNNERS))
    parser.add_argument("--workload", required=True, choices=sorted(TABLES))
    parser.add_argument("--base-url", help="URL of the benchmark server, e.g. http://127.0.0.1:8765")
    parser.add_argument("--dataset", help="name of the dataset on the server")
    parser.add_argument("--table", help="dlt-table and write-table: the Arrow IPC file of the paged records")
    parser.add_argument("--rows", type=int, help="write-table: the number of paged records")
    parser.add_argument("--pipeline-name", help="count: the pipeline whose DuckDB file and dataset to count")
    parser.add_argument("--format", choices=["jsonl", "parquet"], help="loader file format of the dlt contenders (default jsonl)")
    parser.add_argument("--parallelized", action="store_true", help="dlt fan-out: run child requests in dlt's thread pool")
    parser.add_argument("--concurrency", type=int, default=10, help="floor fan-out: requests in flight at once")
    parser.add_argument("--requests-per-second", type=float, default=400, help="floor fan-out: maximum request starts per second")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the run to FILE")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runner = RUNNERS[args.contender]
    started = time.perf_counter()
    if args.profile:
        profiler = cProfile.Profile()
        result = profiler.runcall(runner, args)
        profiler.dump_stats(args.profile)
    else:
        result = runner(args)
    result["seconds"] = round(time.perf_counter() - started, 3)
    print(json.dumps(result), flush=True)
    if args.contender == "dlt-table":
        from restgen.collector import freeze_before_exit

        # The same exit as the restgen command.
        freeze_before_exit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
