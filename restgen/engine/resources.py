"""Build one dlt resource per endpoint; a child endpoint becomes a dlt transformer of its parent."""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dlt
from dlt.common.configuration.container import Container
from dlt.common.destination.capabilities import DestinationCapabilitiesContext
from dlt.extract.resource import DltResource

from restgen.engine.arrow import ARROW_FILE_FORMAT, ArrowPages, configure_dlt_for_arrow, import_pyarrow, uses_arrow
from restgen.engine.endpoint import EndpointRunner
from restgen.engine.feeders import CHILD_RAN_KEY, Feeders, child_pages
from restgen.engine.stats import EndpointStats
from restgen.http import HttpClient
from restgen.incremental import STATE_KEY
from restgen.spec import Spec

logger = logging.getLogger(__name__)
DEFAULT_PARENT_CONCURRENCY = 4
Row = dict[str, Any]


def _hints(endpoint: Mapping[str, Any]) -> dict[str, Any]:
    hints: dict[str, Any] = {
        "name": endpoint["name"],
        "table_name": endpoint.get("table_name") or endpoint["name"],
        "write_disposition": endpoint.get("write_disposition", "append"),
        "selected": endpoint.get("enabled", True) is not False,
    }
    for key in ("primary_key", "merge_key", "columns", "max_table_nesting"):
        if endpoint.get(key) is not None:
            hints[key] = endpoint[key]
    if uses_arrow(endpoint):
        # NOTE: a `columns` data_type that restgen does not convert to (a string or an epoch
        # number to a timestamp) is converted by the destination, and dlt 1.31 logs a WARNING
        # for each Table.
        hints["file_format"] = ARROW_FILE_FORMAT
    return hints


def _log_finished(stats: EndpointStats) -> None:
    rows = "row" if stats.rows == 1 else "rows"
    pages = "page" if stats.pages == 1 else "pages"
    logger.info("%s: finished, %d %s in %d %s, %.1f s", stats.endpoint, stats.rows, rows, stats.pages, pages, stats.seconds)


def _cursor_state() -> dict[str, Any]:
    state: dict[str, Any] = dlt.current.resource_state().setdefault(STATE_KEY, {})
    return state


def _seed_column_types(arrow: ArrowPages | None, table: str) -> None:
    """Give an arrow endpoint the column types that earlier runs stored for its table."""
    if arrow is not None:
        stored = dlt.current.source_schema().tables.get(table, {})
        # dlt injects the destination's capabilities while it extracts; a pipeline without a
        # destination gets dlt's generic ones, as dlt's own extractor does.
        capabilities = Container().get(DestinationCapabilitiesContext) or DestinationCapabilitiesContext.generic_capabilities()
        arrow.types.seed(stored.get("columns", {}), capabilities)


def _root_resource(runner: EndpointRunner, endpoint: Mapping[str, Any], arrow: ArrowPages | None) -> DltResource:
    stats = runner.stats

    def rows() -> Iterator[Any]:
        stats.start()
        logger.info("%s: started", runner.name)
        state = _cursor_state() if runner.incremental else None
        _seed_column_types(arrow, stats.table)
        pages = runner.sequences(None, state)
        yield from arrow.tables(pages) if arrow is not None else pages
        stats.finish()
        _log_finished(stats)

    return dlt.resource(rows, **_hints(endpoint))


def _parent_records(parents: Any) -> list[Row]:
    """Return what a parent resource yielded as a list of records.

    A parent with batch_format arrow yields pyarrow Tables, whose rows come back as dicts. A
    field that a parent record lacked is then None, so the child gets null, not a missing field.
    """
    if isinstance(parents, list):
        return parents
    if isinstance(parents, dict):
        return [parents]
    records: list[Row] = parents.to_pylist()
    return records


def _child_resource(
    runner: EndpointRunner, endpoint: Mapping[str, Any], parent: DltResource | None, arrow: ArrowPages | None, feeders: Feeders | None
) -> DltResource:
    """Return a dlt transformer of ``parent``, or a resource that reads its parents itself.

    ``feeders`` are the unselected endpoints between the child and ``parent`` (or the root,
    when ``parent`` is None), whose records become the child's parents.
    """
    stats = runner.stats
    workers = int(endpoint.get("parent_concurrency", DEFAULT_PARENT_CONCURRENCY))

    def pages_of(batch: list[Row], state: dict[str, Any] | None) -> Iterator[list[Row]]:
        # Child requests of different parents run in parallel; the rate limiter bounds them.
        pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(batch))), thread_name_prefix=f"restgen-{runner.name}")
        failed = threading.Event()

        def pages_unless_failed(record: Row) -> list[list[Row]]:
            # Once one parent failed, the parents waiting in the pool send no requests: against
            # a server that went down, each would otherwise spend its whole retry budget.
            if failed.is_set():
                return []
            try:
                return child_pages(runner, record, state)
            except BaseException:
                failed.set()
                raise

        try:
            futures = [pool.submit(pages_unless_failed, record) for record in batch]
            for future in futures:
                yield from future.result()
        finally:
            # After a failure the queued parents are dropped: under a tight rate limit they could
            # delay the error by hours, and the run fails anyway.
            pool.shutdown(wait=True, cancel_futures=True)

    def rows_of(records: list[Row] | None) -> Iterator[Any]:
        stats.start()
        state = _cursor_state() if runner.incremental else None
        _seed_column_types(arrow, stats.table)
        if feeders is None:
            dlt.current.resource_state()[CHILD_RAN_KEY] = True
            batches: Iterator[list[Row]] = iter([records or []])
        else:
            batches = feeders.records(records, feeders.states())
        pages = (page for batch in batches for page in pages_of(batch, state))
        yield from arrow.tables(pages) if arrow is not None else pages
        stats.finish()

    if parent is not None:

        def rows(parents: Any) -> Iterator[Any]:
            yield from rows_of(_parent_records(parents))

        return dlt.transformer(rows, data_from=parent, **_hints(endpoint))

    def fed_rows() -> Iterator[Any]:
        logger.info("%s: started", runner.name)
        yield from rows_of(None)
        _log_finished(stats)

    return dlt.resource(fed_rows, **_hints(endpoint))


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def build_resources(
    spec: Spec, client: HttpClient, selected: Collection[str] | None = None
) -> tuple[dict[str, DltResource], dict[str, EndpointStats]]:
    """Return a dlt resource per selected endpoint (default: all), parents built before children.

    A parent that is not selected but feeds a selected child gets no resource: the child reads
    it through Feeders. Every endpoint that runs gets a stats object.
    """
    base_url = spec.client.get("base_url")
    endpoints = {endpoint["name"]: endpoint for endpoint in spec.endpoints}
    chosen = set(endpoints if selected is None else selected)
    resources: dict[str, DltResource] = {}
    stats: dict[str, EndpointStats] = {}
    runners: dict[str, EndpointRunner] = {}
    pyarrow: Any = None
    if any(uses_arrow(endpoints[name]) for name in chosen):
        # Before any request: a spec that cannot run here fails where it sets arrow.
        pyarrow = import_pyarrow(spec)
        configure_dlt_for_arrow()

    def runner_of(name: str) -> EndpointRunner:
        if name not in runners:
            endpoint = endpoints[name]
            stats[name] = EndpointStats(name, endpoint.get("table_name") or name)
            runners[name] = EndpointRunner(endpoint, client, base_url, stats[name])
        return runners[name]

    def build(name: str) -> DltResource:
        if name in resources:
            return resources[name]
        endpoint = endpoints[name]
        runner = runner_of(name)
        arrow = None
        if pyarrow is not None and uses_arrow(endpoint):
            arrow = ArrowPages(pyarrow, name, _as_list(endpoint.get("primary_key")), endpoint.get("columns"))
        ancestors = spec.ancestors(name)
        nearest = next((ancestor for ancestor in ancestors if ancestor in chosen), None)
        # The unselected ancestors below the nearest selected one feed the child, outermost first.
        between = ancestors[: ancestors.index(nearest)] if nearest else ancestors
        feeders = Feeders([runner_of(feeder) for feeder in reversed(between)]) if between else None
        if nearest:
            resource = _child_resource(runner, endpoint, build(nearest), arrow, feeders)
        elif feeders is not None:
            resource = _child_resource(runner, endpoint, None, arrow, feeders)
        else:
            resource = _root_resource(runner, endpoint, arrow)
        resources[name] = resource
        return resource

    for name in endpoints:
        if name in chosen:
            build(name)
    return resources, stats
