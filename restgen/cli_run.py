"""Commands that send requests: run, preview, demo and simulate."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from restgen.collector import importing_engine
from restgen.errors import MemoryLimitError, UsageError


def _parse_vars(items: list[str] | None) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in items or []:
        name, separator, value = item.partition("=")
        if not separator or not name.strip():
            raise UsageError(f"--var {item!r}: write NAME=VALUE")
        values[name.strip()] = value
    return values


def _add_spec_options(parser: argparse.ArgumentParser, verb: str = "load") -> None:
    parser.add_argument("spec", metavar="SPEC", help="spec file")
    parser.add_argument("--endpoint", action="append", metavar="NAME", help=f"{verb} only this endpoint (repeatable); default every enabled endpoint")
    parser.add_argument("--var", action="append", metavar="NAME=VALUE", help="set a spec variable (repeatable); beats environment and defaults")


def _add_load_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--destination", default="duckdb", help="dlt destination name (default: duckdb, a file <pipeline-name>.duckdb in the working directory, or <pipeline-name>_data.duckdb when the dataset has the same name, which DuckDB cannot tell apart)")
    parser.add_argument("--dataset", metavar="NAME", help="dataset (schema) name; default the spec's source")
    parser.add_argument("--pipeline-name", metavar="NAME", help="dlt pipeline name; default the spec's source")
    parser.add_argument("--pipelines-dir", metavar="DIR", help="where dlt keeps pipeline state and cursors (default: dlt's, ~/.dlt/pipelines or /var/dlt/pipelines for root)")
    parser.add_argument("--loader-file-format", metavar="FORMAT", help="dlt loader file format; default jsonl where the destination supports it")
    parser.add_argument(
        "--duckdb-memory-limit",
        default="160MB",
        metavar="SIZE",
        help="memory limit of DuckDB itself (not of the whole process), e.g. 160MB or 4GB. With a limit, DuckDB "
        "runs on 2 threads and dlt loads one file at a time. 'none' for DuckDB's defaults: 80%% of RAM, every "
        "core and parallel loads. Applies to the DuckDB file restgen chooses with --destination duckdb, not "
        "when dlt's configuration names a DuckDB file or sets its global_config (default 160MB)",
    )
    parser.add_argument("--full-refresh", action="store_true", help="drop the selected endpoints' tables and cursor state first, then load them again from the start")


def add_run_commands(commands: Any, add_debug: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register the commands that need the engine."""
    run = commands.add_parser(
        "run",
        help="load a spec's endpoints into a dlt destination",
        description="Extract the endpoints of a spec and load them with dlt, DuckDB by default. "
        "Example: restgen run configs/mixpanel.yaml --endpoint engage --var project_id=42",
    )
    _add_spec_options(run)
    _add_load_options(run)
    run.add_argument("--preview", action="store_true", help="fetch the first page of each endpoint and print a few rows; load nothing")
    run.add_argument("--rows", type=int, default=5, help="rows shown per endpoint; needs --preview (default 5)")
    add_debug(run)

    preview = commands.add_parser(
        "preview",
        help="print the first rows of each endpoint without loading",
        description="Fetch the first page of each selected endpoint (the first parent only, for a child), "
        "apply the selector and transforms, and print a few rows. Nothing is loaded and no state changes. "
        "Example: restgen preview configs/mixpanel.yaml --endpoint engage",
    )
    _add_spec_options(preview, verb="preview")
    preview.add_argument("--rows", type=int, default=5, help="rows shown per endpoint (default 5)")
    add_debug(preview)

    demo = commands.add_parser(
        "demo",
        help="run configs/mixpanel.yaml against the bundled Mixpanel simulator",
        description="Start the Mixpanel simulator on a free port of 127.0.0.1, load the shipped Mixpanel spec "
        "into mixpanel_demo.duckdb and print a query to look at the data. Needs no account and no network.",
    )
    demo.add_argument("--seed", type=int, default=0, help="seed of the generated data (default 0)")
    demo.add_argument("--days", type=int, default=14, help="days of generated history (default 14)")
    add_debug(demo)

    simulate = commands.add_parser(
        "simulate",
        help="serve a simulated API on 127.0.0.1",
        description="Serve the Mixpanel simulator until interrupted. Example: restgen simulate mixpanel --port 8765",
    )
    simulate.add_argument("api", choices=["mixpanel"], help="the API to simulate")
    simulate.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    simulate.add_argument("--seed", type=int, default=0, help="seed of the generated data (default 0)")
    simulate.add_argument("--days", type=int, default=30, help="days of generated history (default 30)")
    add_debug(simulate)


def _cmd_run(args: argparse.Namespace) -> int:
    if args.preview:
        return _cmd_preview(args)
    if args.rows != 5:
        raise UsageError("--rows applies to --preview; add --preview or drop --rows")
    with importing_engine():
        from restgen.engine.run import format_summary, run_spec
        from restgen.spec import load_spec

    spec = load_spec(args.spec, _parse_vars(args.var))
    try:
        result = run_spec(
            spec,
            endpoints=args.endpoint,
            destination=args.destination,
            dataset_name=args.dataset,
            pipeline_name=args.pipeline_name,
            full_refresh=args.full_refresh,
            pipelines_dir=args.pipelines_dir,
            loader_file_format=args.loader_file_format,
            duckdb_memory_limit=None if args.duckdb_memory_limit.lower() == "none" else args.duckdb_memory_limit,
        )
    except MemoryLimitError as exc:
        raise UsageError(f"--duckdb-memory-limit: {exc}") from None
    print(format_summary(result))
    if result.database_path:
        print(f"\nLoaded into {result.database_path}, dataset {result.dataset_name}.")
    return 0


def _cmd_preview(args: argparse.Namespace) -> int:
    with importing_engine():
        from restgen.engine.preview import preview_spec
        from restgen.spec import load_spec

    spec = load_spec(args.spec, _parse_vars(args.var))
    for name, rows in preview_spec(spec, args.endpoint, rows=args.rows):
        print(f"== {name}: {len(rows)} row(s) shown")
        for row in rows:
            print(json.dumps(row, default=str, ensure_ascii=False)[:2000])
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    with importing_engine():
        from restgen.demo import run_demo

    return run_demo(seed=args.seed, days=args.days)


def _cmd_simulate(args: argparse.Namespace) -> int:
    from restgen.demo import DEMO_API_SECRET, DEMO_PROJECT_ID, DEMO_SECRET, DEMO_USER
    from restgen.simulator import MixpanelSimulator

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: a port is a number from 0 to 65535 (0 picks a free one)")
    simulator = MixpanelSimulator(
        seed=args.seed, days=args.days, username=DEMO_USER, secret=DEMO_SECRET, api_secret=DEMO_API_SECRET, project_id=DEMO_PROJECT_ID
    )
    try:
        url = simulator.start(port=args.port)
    except OSError as exc:
        raise UsageError(f"--port {args.port}: cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}; choose another port or 0") from exc
    print("# Point configs/mixpanel.yaml at the simulator by pasting these lines into a shell:")
    print(f"export MIXPANEL_API_HOST={url} MIXPANEL_EXPORT_HOST={url}")
    print(f"export MIXPANEL_USERNAME={DEMO_USER} MIXPANEL_SECRET={DEMO_SECRET} MIXPANEL_PROJECT_ID={DEMO_PROJECT_ID}")
    print(f"# (or, as a legacy project secret, instead of the line above: export MIXPANEL_API_SECRET={DEMO_API_SECRET})")
    # A pipeline name of its own keeps these cursors apart from those of runs against the real API.
    print(f"# then: restgen run configs/mixpanel.yaml --var start_date={simulator.history_start.isoformat()} --pipeline-name mixpanel_simulator", flush=True)
    print("Serving until Ctrl-C.", file=sys.stderr, flush=True)
    simulator.serve_forever()
    return 0


RUN_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": _cmd_run,
    "preview": _cmd_preview,
    "demo": _cmd_demo,
    "simulate": _cmd_simulate,
}
