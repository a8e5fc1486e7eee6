"""Run a spec through a dlt pipeline and summarize what each endpoint did."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlt
from dlt.common.schema.utils import has_table_seen_data
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials
from dlt.load.exceptions import LoadClientJobFailed, LoadClientJobTerminalRetry
from dlt.pipeline.exceptions import PipelineStepFailed

from restgen.engine.arrow import uses_arrow
from restgen.engine.source import BuiltSource, build_source
from restgen.engine.stats import EndpointStats
from restgen.errors import MemoryLimitError, RestgenError, RunError, UsageError
from restgen.spec import Spec

logger = logging.getLogger(__name__)
# Faster than dlt's default insert_values for DuckDB and needs no extra package.
PREFERRED_FORMATS = ("jsonl",)
# Appended to the default DuckDB file name when the file would be named like the dataset.
DUCKDB_CLASH_SUFFIX = "_data"
# DuckDB's memory_limit for the file restgen chooses, so that memory stays flat however many
# rows a run loads (without it, DuckDB's buffer pool grows with the table up to 80 % of RAM).
DEFAULT_DUCKDB_MEMORY_LIMIT = "160MB"
# Settings that go with restgen's memory_limit, because a load's memory grows with DuckDB's
# threads and with the load jobs at once (read_json asked for 32 MiB buffers). In a DuckDB 2.0
# check on 82 to 490 MB JSON Lines files, one job on 2 threads fit in 128MB but not in 100MB,
# and 4 jobs on 16 threads failed even at 500MB. On one thread, peak RSS grew 14 % from 1 to 2
# million events, and on two it stayed flat.
LIMITED_DUCKDB_THREADS = 2
LIMITED_DUCKDB_LOAD_JOBS = 1


@dataclass
class RunResult:
    """Outcome of a run: per-endpoint counters and the rows dlt normalized per table."""

    pipeline_name: str
    dataset_name: str
    destination: str
    stats: list[EndpointStats]
    table_rows: dict[str, int] = field(default_factory=dict)
    database_path: str | None = None


def _root_cause(error: BaseException) -> RestgenError | None:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, RestgenError):
            return current
        current = getattr(current, "exception", None) if isinstance(current, PipelineStepFailed) else (current.__cause__ or current.__context__)
    return None


def _first_lines(error: BaseException, limit: int = 3) -> str:
    """Return the type and first lines of an error's message, for a one-screen Error: line."""
    lines = [line for line in str(error).splitlines() if line.strip()][:limit]
    text = " ".join(line.strip() for line in lines)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _failed_job_message(error: LoadClientJobTerminalRetry | LoadClientJobFailed, pipeline: dlt.Pipeline) -> str:
    """Name the table and the destination's reason for a load job that cannot succeed, and what to do.

    dlt's message carries the whole traceback of the destination's error, whose last line is the reason.
    """
    table = error.job_id.split(".")[0]
    lines = [line.strip() for line in str(error.failed_message).splitlines() if line.strip()]
    reason = lines[-1] if lines else "no reason given"
    # "dlt.destinations.exceptions.DatabaseTerminalException: Conversion Error: ..." -> "Conversion Error: ..."
    head, _, rest = reason.partition(": ")
    if rest and "." in head and " " not in head:
        reason = rest
    message = f"loading table {table!r} failed in the destination: {reason}"
    if isinstance(error, LoadClientJobFailed):
        return f"{message}; dlt aborted the load package and restored the state from before it"
    return (
        f"{message}; dlt keeps the load package and retries it first on every run. If the data cannot load as "
        "it is, discard the package and restore the cursors from before it with: "
        f"dlt pipeline --pipelines-dir {pipeline.pipelines_dir} {pipeline.pipeline_name} abort-packages"
    )


def _loader_format(pipeline: dlt.Pipeline, requested: str | None) -> str | None:
    if requested:
        return requested
    capabilities = pipeline.destination.capabilities()
    for candidate in PREFERRED_FORMATS:
        if candidate in capabilities.supported_loader_file_formats:
            return candidate
    return None


def _set_file_formats(built: BuiltSource, pipeline: dlt.Pipeline, requested: str | None) -> str | None:
    """Set the loader file format of each endpoint's table and return the format for ``pipeline.run``.

    A requested format goes to ``pipeline.run`` and applies to every table, arrow endpoints
    included. Otherwise rows endpoints get restgen's preferred format as a resource hint, and
    arrow endpoints keep their parquet hint, which a format passed to ``pipeline.run`` would
    replace.
    """
    if requested:
        return requested
    preferred = _loader_format(pipeline, None)
    if preferred is None:
        return None
    for name in built.selected:
        if not uses_arrow(built.spec.endpoint(name)):
            built.source.resources[name].apply_hints(file_format=preferred)
    return None


def _check_batch_format_switch(built: BuiltSource, pipeline: dlt.Pipeline) -> None:
    """Raise RunError when a selected endpoint's table was loaded with the other batch_format.

    dlt 1.31 gives a table loaded from records a NOT NULL ``_dlt_id`` column and does not fill
    it from arrow, so the load would fail, and dlt would retry the failed package first on
    every later run. ``--full-refresh`` drops the table, so the check is skipped then.
    """
    # NOTE: this reads the pipeline's local schema, so a destination table that this pipelines
    # folder has not seen is not checked.
    if built.spec.source not in pipeline.schemas:
        return
    schema = pipeline.schemas[built.spec.source]
    dlt_id = schema.naming.normalize_identifier("_dlt_id")
    for name in built.selected:
        endpoint = built.spec.endpoint(name)
        table_name = schema.naming.normalize_table_identifier(endpoint.get("table_name") or name)
        table = schema.tables.get(table_name)
        if table is None or not has_table_seen_data(table):
            continue
        arrow = uses_arrow(endpoint)
        if arrow == (dlt_id not in table["columns"]):
            continue
        before, now = ("rows", "arrow") if arrow else ("arrow", "rows")
        raise RunError(
            f"{name}: the table {table_name!r} was loaded with batch_format {before}, and a load with batch_format "
            f"{now} would fail on its {dlt_id} column; run this endpoint once with --full-refresh to reload it, "
            "or set another table_name"
        )


def _user_configured_duckdb() -> bool:
    """Return True when the user set DuckDB connection settings through dlt's config."""
    if "DESTINATION__DUCKDB__CREDENTIALS__GLOBAL_CONFIG" in os.environ:
        return True
    try:
        return dlt.config.get("destination.duckdb.credentials.global_config") is not None
    except Exception:  # an unreadable config file means nothing was configured that restgen could honour
        return False


def check_duckdb_memory_limit(memory_limit: str) -> None:
    """Raise MemoryLimitError unless DuckDB accepts ``memory_limit`` as a memory size."""
    import duckdb

    try:
        duckdb.connect(config={"memory_limit": memory_limit}).close()
    except duckdb.Error as exc:
        reason = str(exc).splitlines()[0]
        raise MemoryLimitError(f"invalid DuckDB memory limit {memory_limit!r} ({reason}); give a size such as 160MB or 4GB, or none") from None


def _default_destination(path: Path, memory_limit: str | None) -> Any:
    """Return the DuckDB destination of restgen's own file, with a memory limit unless the user configured one.

    With the limit, DuckDB runs on LIMITED_DUCKDB_THREADS threads and dlt loads one file at a
    time, so that the memory a load needs does not grow with the machine's cores.
    """
    if memory_limit is None:
        return dlt.destinations.duckdb(credentials=str(path))
    if _user_configured_duckdb():
        logger.info("DuckDB's global_config is set in dlt's configuration, so restgen's memory limit %s does not apply", memory_limit)
        return dlt.destinations.duckdb(credentials=str(path))
    credentials = DuckDbCredentials(str(path), global_config={"memory_limit": memory_limit, "threads": LIMITED_DUCKDB_THREADS})
    return dlt.destinations.duckdb(credentials=credentials, max_parallel_load_jobs=LIMITED_DUCKDB_LOAD_JOBS)


def _duckdb_in_working_directory(pipeline: dlt.Pipeline, memory_limit: str | None = DEFAULT_DUCKDB_MEMORY_LIMIT) -> dlt.Pipeline:
    """Return a pipeline whose default DuckDB file is in the current directory and not named like the dataset.

    dlt remembers the directory where a pipeline first ran and keeps its default file
    ``<pipeline>.duckdb`` there, so a later run from elsewhere would write to the old place.
    restgen writes to the working directory instead. DuckDB also names the catalog of a file after its
    stem, and ``"x"."table"`` is ambiguous when both a catalog and a schema are called ``x``,
    so when the pipeline and the dataset share a name the file becomes
    ``<pipeline>_data.duckdb``. A file the user configured is kept, and a clash there raises
    UsageError naming the fix. restgen's own file gets DuckDB's ``memory_limit``, because
    DuckDB's buffer pool otherwise grows with the table during the load, up to 80 % of RAM.
    """
    credentials: Any = getattr(pipeline.destination_client().config, "credentials", None)
    database = getattr(credentials, "database", None)
    if not isinstance(database, str):
        return pipeline
    configured = Path(database)
    try:
        first_directory = Path(pipeline.get_local_state_val("initial_cwd"))
    except KeyError:
        first_directory = Path.cwd()
    dlt_default = first_directory / f"{pipeline.pipeline_name}.duckdb"
    if configured.resolve() != dlt_default.resolve():
        if configured.stem == pipeline.dataset_name:
            raise UsageError(
                f"the DuckDB file {database} is named like the dataset {pipeline.dataset_name!r}, which "
                "DuckDB cannot tell apart; pass another --dataset or configure another file name"
            )
        return pipeline

    suffix = DUCKDB_CLASH_SUFFIX if pipeline.pipeline_name == pipeline.dataset_name else ""
    target = Path.cwd() / f"{pipeline.pipeline_name}{suffix}.duckdb"
    if suffix and configured.resolve() != target.resolve():
        logger.info("loading into %s: the file %s would be named like the dataset %s", target, configured.name, pipeline.dataset_name)
    return dlt.pipeline(
        pipeline_name=pipeline.pipeline_name,
        destination=_default_destination(target, memory_limit),
        dataset_name=pipeline.dataset_name,
        pipelines_dir=pipeline.pipelines_dir,
    )


def run_spec(
    spec: Spec,
    *,
    endpoints: Sequence[str] | None = None,
    destination: str = "duckdb",
    dataset_name: str | None = None,
    pipeline_name: str | None = None,
    full_refresh: bool = False,
    pipelines_dir: str | Path | None = None,
    loader_file_format: str | None = None,
    duckdb_memory_limit: str | None = DEFAULT_DUCKDB_MEMORY_LIMIT,
) -> RunResult:
    """Extract the selected endpoints of ``spec`` and load them into ``destination``.

    ``duckdb_memory_limit`` (DuckDB's syntax, e.g. ``"160MB"``; None for DuckDB's default)
    applies to the DuckDB file restgen chooses, not to one the user configured. Raises
    MemoryLimitError when DuckDB rejects it.

    Raises RunError with the failing endpoint's message. dlt keeps any package that was
    extracted but not loaded and loads it first on the next run. Cursor state advances only
    with the package that carries the rows.
    """
    # restgen's default is known to be valid, and the check opens a DuckDB connection.
    if destination == "duckdb" and duckdb_memory_limit not in (None, DEFAULT_DUCKDB_MEMORY_LIMIT):
        check_duckdb_memory_limit(duckdb_memory_limit)
    built = build_source(spec, endpoints)
    name = pipeline_name or spec.source
    try:
        pipeline = dlt.pipeline(
            pipeline_name=name,
            destination=destination,
            dataset_name=dataset_name or spec.source,
            pipelines_dir=str(pipelines_dir) if pipelines_dir else None,
        )
        if destination == "duckdb":
            pipeline = _duckdb_in_working_directory(pipeline, duckdb_memory_limit)
        file_format = _set_file_formats(built, pipeline, loader_file_format)
        if not full_refresh:
            _check_batch_format_switch(built, pipeline)
    except (UsageError, RunError):
        built.client.close()
        raise
    except Exception as exc:  # dlt raises many kinds for an unknown or misconfigured destination
        built.client.close()
        reason = built.client.redactor.text(_first_lines(exc))
        raise UsageError(f"cannot set up the destination {destination!r}: {reason}") from exc
    logger.info("running %s: endpoints %s into %s dataset %s", spec.file, ", ".join(built.selected), destination, pipeline.dataset_name)
    # drop_resources, not drop_sources: with --endpoint, drop_sources would also drop the tables
    # and cursors of the endpoints that this run does not load again.
    refresh = "drop_resources" if full_refresh else None
    try:
        pipeline.run(built.source, loader_file_format=file_format, refresh=refresh)
    except PipelineStepFailed as exc:
        cause = _root_cause(exc)
        if cause is not None:
            # The cause already carries the endpoint and a redacted message; dlt's wrapper adds nothing for the user.
            raise cause from None
        inner = getattr(exc, "exception", None) or exc
        if isinstance(inner, KeyboardInterrupt):
            raise KeyboardInterrupt from exc
        if isinstance(inner, (LoadClientJobTerminalRetry, LoadClientJobFailed)):
            message = built.client.redactor.text(_failed_job_message(inner, pipeline))
            raise RunError(message) from exc
        message = built.client.redactor.text(_first_lines(inner))
        raise RunError(f"the pipeline failed at step {exc.step}: {message}") from exc
    finally:
        built.client.close()

    for stats in built.stats.values():
        _warn_if_all_skipped(spec, stats)
    table_rows: dict[str, int] = {}
    trace = pipeline.last_trace
    if trace is not None and trace.last_normalize_info is not None:
        table_rows = dict(trace.last_normalize_info.row_counts)
    database = None
    if destination == "duckdb":
        credentials: Any = getattr(pipeline.destination_client().config, "credentials", None)
        database = getattr(credentials, "database", None)
    return RunResult(name, pipeline.dataset_name, destination, [built.stats[n] for n in built.stats if n in built.selected], table_rows, database)


def _warn_if_all_skipped(spec: Spec, stats: EndpointStats) -> None:
    """Warn when a response rule skipped every response of an endpoint, as a wrong path does with a 404 rule."""
    # Retried attempts had no final response, so they are not counted against the skips.
    if not stats.skipped or stats.skipped < stats.requests - stats.retries:
        return
    message = f"{stats.endpoint}: a response rule skipped all {stats.skipped} responses, so nothing was loaded from it; check the endpoint's path and parameters"
    if spec.endpoint(stats.endpoint).get("depends_on"):
        # An incremental parent has moved on, so only a full refresh requests the child again.
        message += f"; after a fix, --endpoint {stats.endpoint} --full-refresh reloads it for every parent"
    logger.warning("%s", message)


def format_summary(result: RunResult) -> str:
    """Return the per-endpoint table printed at the end of a run."""
    rows = [("endpoint", "table", "rows", "pages", "requests", "retries", "skipped", "seconds")]
    for stats in result.stats:
        loaded = result.table_rows.get(stats.table, 0)
        counts = (loaded, stats.pages, stats.requests, stats.retries, stats.skipped)
        rows.append((stats.endpoint, stats.table, *(str(count) for count in counts), f"{stats.seconds:.1f}"))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) if index < 2 else cell.rjust(width) for index, (cell, width) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
