"""Benchmark restgen against dlt's rest_api and a columnar floor on a local HTTP server.

Usage: python benchmarks/run.py [--smoke] [--repeat 3] [--workload paged,jsonl,fanout,validate]
                               [--output FILE] [--profile DIR]

Every contender runs as its own process into a fresh DuckDB file, against a server this
script starts on 127.0.0.1. The table of medians goes to standard output and to
benchmarks/RESULTS.md (with --smoke, to a temporary file). benchmarks/README.md describes
the workloads, the contenders and the targets.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import Contender, child_environment, resident_mb, run_rounds
from loopback_server import FanoutLimits
from report import results_block, table_text, targets, targets_text, write_results
from workloads import CHILDREN_PER_PARENT, export_spec, fanout_spec, large_spec, paged_spec, write_yaml

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
CONTENDERS_SCRIPT = str(HERE / "contenders.py")
SERVER_SCRIPT = str(HERE / "loopback_server.py")
# Seconds the server may take to build its data: about 10 s for the full sizes on 2 cores.
SERVER_START_TIMEOUT = 300
WORKLOADS = ("paged", "jsonl", "fanout", "validate")


@dataclass(frozen=True)
class Sizes:
    """The sizes of one benchmark mode."""

    paged_rows: tuple[int, ...]
    # Every contender loads the first size, and restgen alone also loads the second.
    export_events: tuple[int, int]
    fanout_parents: int
    child_latency: float
    fanout_limits: FanoutLimits
    validate_endpoints: int
    timeout: float


FULL = Sizes((50_000, 500_000), (1_000_000, 2_000_000), 500, 0.020, FanoutLimits(10, 400), 200, 1800.0)
SMOKE = Sizes((2_000,), (3_000, 6_000), 20, 0.020, FanoutLimits(10, 400), 200, 120.0)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark restgen against dlt rest_api and a columnar floor on 127.0.0.1.")
    parser.add_argument("--smoke", action="store_true", help="a few thousand rows and one run per contender, written to a temporary file")
    parser.add_argument("--repeat", type=int, help="runs per contender; the table shows medians (default 3, smoke 1)")
    parser.add_argument(
        "--workload", default=",".join(WORKLOADS), help=f"comma-separated workloads to run (default: {','.join(WORKLOADS)})"
    )
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="write a cProfile file per contender run into DIR (validate excluded); slows every run"
    )
    parser.add_argument("--output", type=Path, help="Markdown file for the results (default: benchmarks/RESULTS.md, smoke: a temporary file)")
    args = parser.parse_args(argv)
    args.workloads = [name.strip() for name in args.workload.split(",") if name.strip()]
    unknown = sorted(set(args.workloads) - set(WORKLOADS))
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    if args.repeat is None:
        args.repeat = 1 if args.smoke else 3
    if args.repeat < 1:
        parser.error(f"--repeat must be at least 1, got {args.repeat}")
    return args


def log(message: str) -> None:
    print(message, flush=True)


def contender_command(*arguments: str) -> list[str]:
    return [sys.executable, CONTENDERS_SCRIPT, *arguments]


def restgen_cli() -> list[str]:
    """Return the ``restgen`` command installed next to this interpreter, as a user runs it."""
    restgen = Path(sys.executable).parent / "restgen"
    return [str(restgen)] if restgen.exists() else [sys.executable, "-m", "restgen.cli"]


def restgen_contender(workload: str, size: str, label: str, document: dict[str, Any], expected: dict[str, int]) -> Contender:
    """Return the contender that runs ``restgen run`` on the spec ``document``, with its rows counted afterwards."""

    def argv(folder: Path) -> list[str]:
        path = write_yaml(folder / "spec.yaml", document)
        return [*restgen_cli(), "run", str(path), "--pipelines-dir", str(folder / "pipelines")]

    def count(folder: Path) -> list[str]:
        return contender_command("count", "--workload", workload, "--pipeline-name", document["source"])

    return Contender(workload, size, "restgen", label, argv, expected, count=count)


def fixed_command(arguments: list[str]) -> Callable[[Path], list[str]]:
    return lambda folder: arguments


class ServerProcess:
    """The benchmark server, run as a child process so that the harness stays small."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, SERVER_SCRIPT, json.dumps(config)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the benchmark server exited with code {self.process.wait(timeout=10)} before it was ready")
        self.base_url: str = json.loads(line)["base_url"]

    def control(self, name: str, method: str = "GET") -> dict[str, Any]:
        request = urllib.request.Request(f"{self.base_url}/_control/{name}", method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(request, timeout=30) as response:
            result: dict[str, Any] = json.loads(response.read())
            return result

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def server_config(sizes: Sizes, workloads: list[str]) -> dict[str, Any]:
    """Return the datasets the server must build for the selected workloads."""
    config: dict[str, Any] = {}
    if "paged" in workloads:
        config["paged"] = list(sizes.paged_rows)
    if "jsonl" in workloads:
        config["exports"] = list(sizes.export_events)
    if "fanout" in workloads:
        limits = sizes.fanout_limits
        config["fanout"] = {
            "parents": sizes.fanout_parents,
            "latency": sizes.child_latency,
            "max_concurrency": limits.max_concurrency,
            "requests_per_second": limits.requests_per_second,
        }
    return config


def table_writer(path: Path, rows: int) -> Callable[[], None]:
    """Return a hook that writes the dlt-table contender's Arrow file once, in a child process.

    The harness itself never imports pyarrow: its peak RSS would carry into every child's.
    """

    def write() -> None:
        if not path.exists():
            command = contender_command("write-table", "--workload", "paged", "--rows", str(rows), "--table", str(path))
            subprocess.run(command, check=True, capture_output=True, env=child_environment())

    return write


def paged_contenders(base_url: str, rows: int, pyarrow: str, scratch: Path) -> list[Contender]:
    name = f"p{rows}"
    size = f"{rows:,} rows"
    expected = {"items": rows}
    common = ["--workload", "paged", "--base-url", base_url, "--dataset", name]
    table = scratch / f"paged-{rows}.arrow"
    dlt_alone = contender_command("dlt-table", "--workload", "paged", "--table", str(table))
    return [
        restgen_contender("paged", size, "restgen (arrow)", paged_spec(base_url, name), expected),
        Contender("paged", size, "dlt", "dlt rest_api_source (jsonl)", fixed_command(contender_command("dlt", *common, "--format", "jsonl")), expected),
        Contender("paged", size, "dlt-parquet", "dlt rest_api_source (parquet)", fixed_command(contender_command("dlt", *common, "--format", "parquet")), expected, skipped=pyarrow),
        Contender("paged", size, "floor", "floor: requests + pyarrow + INSERT", fixed_command(contender_command("floor", *common)), expected, skipped=pyarrow),
        Contender("paged", size, "dlt-table", "dlt alone: a prebuilt Arrow table, no HTTP", fixed_command(dlt_alone), expected, before=table_writer(table, rows), skipped=pyarrow),
    ]


def export_contenders(base_url: str, events: tuple[int, int], pyarrow: str) -> list[Contender]:
    contenders = []
    for index, count in enumerate(events):
        name = f"e{count}"
        size = f"{count:,} events"
        expected = {"events": count}
        contenders.append(
            restgen_contender("jsonl", size, "restgen (jsonl)", export_spec(base_url, name), expected)
        )
        if index > 0:
            continue
        common = ["--workload", "jsonl", "--base-url", base_url, "--dataset", name]
        contenders += [
            Contender("jsonl", size, "dlt", "dlt.resource + iter_lines (jsonl)", fixed_command(contender_command("dlt", *common, "--format", "jsonl")), expected),
            Contender("jsonl", size, "dlt-parquet", "dlt.resource + iter_lines (parquet)", fixed_command(contender_command("dlt", *common, "--format", "parquet")), expected, skipped=pyarrow),
            Contender("jsonl", size, "floor", "floor: requests + pyarrow + INSERT", fixed_command(contender_command("floor", *common)), expected, skipped=pyarrow),
        ]
    return contenders


def fanout_contenders(server: ServerProcess, sizes: Sizes, pyarrow: str) -> list[Contender]:
    limits = sizes.fanout_limits
    base_url = server.base_url
    size = f"{sizes.fanout_parents} parents"
    expected = {"parents": sizes.fanout_parents, "children": sizes.fanout_parents * CHILDREN_PER_PARENT}
    common = ["--workload", "fanout", "--base-url", base_url]
    floor_limits = ["--concurrency", str(limits.max_concurrency), "--requests-per-second", str(limits.requests_per_second)]
    spec = fanout_spec(base_url, limits.max_concurrency, limits.requests_per_second)
    contenders = [
        restgen_contender("fanout", size, "restgen (jsonl)", spec, expected),
        Contender("fanout", size, "dlt", "dlt rest_api_source, sequential (jsonl)", fixed_command(contender_command("dlt", *common)), expected),
        Contender("fanout", size, "dlt-parallel", "dlt rest_api_source, parallelized (jsonl)", fixed_command(contender_command("dlt", *common, "--parallelized")), expected),
        Contender("fanout", size, "floor", "floor: 10 threads + pyarrow + INSERT", fixed_command(contender_command("floor", *common, *floor_limits)), expected, skipped=pyarrow),
    ]
    for contender in contenders:
        contender.before = lambda: server.control("reset", "POST")
        contender.after = lambda: server.control("counters")
    return contenders


def validate_contenders(sizes: Sizes, folder: Path) -> list[Contender]:
    spec_path = write_yaml(folder / "validate.yaml", large_spec(sizes.validate_endpoints))
    cli = restgen_cli()
    size = f"{sizes.validate_endpoints} endpoints"
    return [
        Contender("validate", size, "startup", "python -c pass", fixed_command([sys.executable, "-c", "pass"]), None),
        Contender("validate", size, "version", "restgen --version", fixed_command([*cli, "--version"]), None),
        Contender("validate", size, "validate", "restgen validate", fixed_command([*cli, "validate", str(spec_path)]), None),
    ]


def add_profiling(contender: Contender, folder: Path) -> None:
    """Make the contender's runs write ``<workload>-<size>-<key>-<run>.prof`` files into ``folder``."""
    command = contender.argv
    name = "-".join(re.sub(r"[^A-Za-z0-9]+", "_", part) for part in (contender.workload, contender.size, contender.key))
    runs = itertools.count(1)

    def argv(work: Path) -> list[str]:
        arguments, output = command(work), str(folder / f"{name}-{next(runs)}.prof")
        cli = restgen_cli()
        if arguments[: len(cli)] == cli:
            # The restgen command has no --profile option, so its module runs under cProfile instead.
            return [sys.executable, "-m", "cProfile", "-o", output, "-m", "restgen.cli", *arguments[len(cli) :]]
        return [*arguments, "--profile", output]

    contender.argv = argv


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = SMOKE if args.smoke else FULL
    pyarrow = "" if importlib.util.find_spec("pyarrow") else "pyarrow is not installed"
    # Validate is cheap and its target is an absolute 0.3 s, so it gets three times the runs.
    validate_repeat = args.repeat if args.smoke else 3 * args.repeat
    command = "python benchmarks/run.py" + (" --smoke" if args.smoke else "") + f" --repeat {args.repeat} --workload {','.join(args.workloads)}"

    scratch = Path(tempfile.mkdtemp(prefix="restgen-bench-specs-"))
    started = time.perf_counter()
    server = ServerProcess(server_config(sizes, args.workloads))
    log(f"server on {server.base_url}, data built in {time.perf_counter() - started:.1f} s; {args.repeat} run(s) per contender")
    contenders: list[Contender] = []
    try:
        groups: list[tuple[list[Contender], int]] = []
        if "paged" in args.workloads:
            groups.append(([c for rows in sizes.paged_rows for c in paged_contenders(server.base_url, rows, pyarrow, scratch)], args.repeat))
        if "jsonl" in args.workloads:
            groups.append((export_contenders(server.base_url, sizes.export_events, pyarrow), args.repeat))
        if "fanout" in args.workloads:
            groups.append((fanout_contenders(server, sizes, pyarrow), args.repeat))
        if "validate" in args.workloads:
            groups.append((validate_contenders(sizes, scratch), validate_repeat))
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            for group, _ in groups:
                for contender in group:
                    if contender.workload != "validate":
                        add_profiling(contender, args.profile.resolve())
        harness_rss = resident_mb()
        for group, repeat in groups:
            run_rounds(group, repeat, sizes.timeout, log)
            contenders += group
    finally:
        server.stop()
        shutil.rmtree(scratch, ignore_errors=True)

    latency_sum = sizes.fanout_parents * sizes.child_latency
    limits = sizes.fanout_limits
    rate_limit = f"max_concurrency {limits.max_concurrency}, requests_per_second {limits.requests_per_second}"
    tables = table_text(contenders, latency_sum, rate_limit)
    jsonl_sizes = [f"{count:,} events" for count in sizes.export_events]
    target_table = targets_text(targets(contenders, [f"{rows:,} rows" for rows in sizes.paged_rows], jsonl_sizes, latency_sum))
    notes = [
        f"Medians of {args.repeat} run(s) per contender ({validate_repeat} for validate), rounds interleaved. "
        "Wall and CPU time are of the whole process, interpreter start-up included; rows/s is rows loaded "
        "divided by that wall time. Peak RSS is `ru_maxrss` from `os.wait4`. Linux carries the forking "
        f"process's peak RSS into the child's, so no reading is below the harness's own {harness_rss:.0f} MB.",
    ]
    output = args.output or (Path(tempfile.mkstemp(prefix="restgen-bench-", suffix=".md")[1]) if args.smoke else HERE / "RESULTS.md")
    write_results(output, results_block(command, PROJECT, tables, target_table, notes))
    log("")
    log(tables)
    log("")
    log(target_table)
    log(f"\nresults written to {output}")
    failed = [f"{c.workload} {c.size} {c.label}" for c in contenders if c.failed]
    if failed:
        log("failed: " + "; ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
