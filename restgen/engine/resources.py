"""Build one dlt resource per endpoint; a child endpoint becomes a dlt transformer of its parent."""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from restgen.engine.endpoint import EndpointRunner, SkipParent
from restgen.engine.stats import EndpointStats
from restgen.errors import RunError, SpecError, SpecIssue
from restgen.http import HttpClient
from restgen.incremental import STATE_KEY
from restgen.spec import Spec
from restgen.spec.yamlload import PathKey, format_path

logger = logging.getLogger(__name__)
DEFAULT_PARENT_CONCURRENCY = 4
Row = dict[str, Any]

# dlt writes the Tables of a `batch_format: arrow` endpoint to this file format and loads the
# file without running its per-row normalizer.
ARROW_FILE_FORMAT = "parquet"
# dlt settings that arrow endpoints need. They are set as environment variables, so they apply
# to the whole process, and a value the user has set wins.
ARROW_DLT_SETTINGS = {
    # dlt 1.31 fails with IncompatibleArrowSchema when two pages of one table differ in the type
    # of a column, such as an int and a float or objects with other keys. With "default", dlt
    # widens the type without loss or writes the page to a file of its own.
    "DATA_WRITER__ARROW_CONCAT_PROMOTE_OPTIONS": "default",
    # dlt 1.31 adds no _dlt_load_id column to tables loaded from arrow unless configured to,
    # but rows mode always has one. Adding it costs one constant column per page at extract.
    "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID": "true",
}


def uses_arrow(endpoint: Mapping[str, Any]) -> bool:
    """Return True when the endpoint hands dlt pyarrow Tables (``batch_format: arrow``)."""
    return endpoint.get("batch_format", "rows") == "arrow"


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
        # NOTE: a `columns` data_type that differs from a page's arrow type (text hinted as a
        # timestamp) is converted by the destination, and dlt 1.31 logs a WARNING for each page.
        hints["file_format"] = ARROW_FILE_FORMAT
    return hints


# Exceptions that pyarrow raises when the values of one field cannot share a column (an int and
# a string, an int beyond 64 bits).
_CONVERSION_ERRORS: tuple[type[Exception], ...] = (ValueError, TypeError, OverflowError, NotImplementedError)


class ArrowPages:
    """Convert the pages of one endpoint into pyarrow Tables, one Table per page.

    ``pyarrow`` is the imported module, passed in so that restgen runs without pyarrow when
    no endpoint uses arrow. Tables keep every field of every row: a field missing from
    some rows is null there. Nested objects become struct columns and lists become list
    columns, which dlt loads as JSON.
    """

    def __init__(self, pyarrow: ModuleType, endpoint: str, primary_key: Sequence[str]) -> None:
        self.pa = pyarrow
        self.endpoint = endpoint
        self.primary_key = list(primary_key)

    def tables(self, pages: Iterable[list[Row]]) -> Iterator[Any]:
        for rows in pages:
            yield self.table(rows)

    def table(self, rows: list[Row]) -> Any:
        """Return one non-empty page of rows as a pyarrow Table."""
        pa = self.pa
        names = set().union(*rows)
        try:
            if len(names) == len(rows[0]):
                table = pa.Table.from_pylist(rows)
            else:
                # from_pylist takes the column names from the first row only, and would drop
                # a field that the first row lacks.
                ordered = dict.fromkeys(name for row in rows for name in row)
                table = pa.Table.from_pydict({name: [row.get(name) for row in rows] for name in ordered})
        except _CONVERSION_ERRORS as exc:
            raise self._conversion_error(rows, exc) from exc
        table = self._without_empty_objects(table, rows)
        return self._with_keys_not_null(table)

    def _conversion_error(self, rows: list[Row], error: Exception) -> RunError:
        """Name the field whose values pyarrow cannot put in one column."""
        for name in dict.fromkeys(name for row in rows for name in row):
            try:
                self.pa.array([row.get(name) for row in rows])
            except _CONVERSION_ERRORS as exc:
                return RunError(
                    f"{self.endpoint}: batch_format arrow cannot store the field {name!r} of a page in one "
                    f"column ({exc}); remove the field with the drop transform, or set batch_format: rows "
                    "on this endpoint"
                )
        return RunError(f"{self.endpoint}: batch_format arrow cannot convert a page to a pyarrow Table ({error}); set batch_format: rows on this endpoint")

    def _without_empty_objects(self, table: Any, rows: list[Row]) -> Any:
        """Replace empty objects by null in the columns whose type has a struct without fields.

        Parquet cannot store a struct without fields, and rows mode loads nothing for an empty
        object either.
        """
        for index, field in enumerate(table.schema):
            if _has_empty_struct(self.pa, field.type):
                values = [_empty_objects_to_null(row.get(field.name)) for row in rows]
                table = table.set_column(index, field.name, self.pa.array(values))
        return table

    def _with_keys_not_null(self, table: Any) -> Any:
        """Mark primary key columns without nulls as not nullable, as dlt's schema has them.

        Otherwise dlt 1.31 logs a WARNING for every page that the arrow and the resource hints differ.
        """
        schema = table.schema
        for name in self.primary_key:
            index = schema.get_field_index(name)
            if index >= 0 and schema.field(index).nullable and table.column(index).null_count == 0:
                schema = schema.set(index, schema.field(index).with_nullable(False))
        if schema.equals(table.schema):
            return table
        return self.pa.Table.from_arrays(table.columns, schema=schema)


def _has_empty_struct(pa: ModuleType, data_type: Any) -> bool:
    if pa.types.is_struct(data_type):
        children = [data_type.field(index).type for index in range(data_type.num_fields)]
        return not children or any(_has_empty_struct(pa, child) for child in children)
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        return _has_empty_struct(pa, data_type.value_type)
    return False


def _empty_objects_to_null(value: Any) -> Any:
    if isinstance(value, dict):
        cleaned = {key: _empty_objects_to_null(item) for key, item in value.items()}
        return cleaned or None
    if isinstance(value, list):
        return [_empty_objects_to_null(item) for item in value]
    return value


def _import_pyarrow(spec: Spec) -> ModuleType:
    """Import pyarrow for the spec's arrow endpoints; raise SpecError at each batch_format when it is missing."""
    try:
        return importlib.import_module("pyarrow")
    except ImportError as exc:
        # One issue per place that sets arrow: an endpoint's own key, or `defaults` once.
        paths: dict[PathKey, None] = {}
        for index, endpoint in enumerate(spec.raw.document["endpoints"]):
            if uses_arrow(spec.endpoints[index]):
                path: PathKey = ("endpoints", index, "batch_format") if "batch_format" in endpoint else ("defaults", "batch_format")
                paths[path] = None
        issues = []
        for path in paths:
            line, column = spec.raw.positions.of_value(path)
            issues.append(SpecIssue(spec.file, line, column, format_path(path), "arrow needs pyarrow; install restgen[arrow]"))
        raise SpecError(issues) from exc


def _configure_dlt_for_arrow() -> None:
    for name, value in ARROW_DLT_SETTINGS.items():
        os.environ.setdefault(name, value)


def _cursor_state() -> dict[str, Any]:
    state: dict[str, Any] = dlt.current.resource_state().setdefault(STATE_KEY, {})
    return state


def _root_resource(runner: EndpointRunner, endpoint: Mapping[str, Any], arrow: ArrowPages | None) -> DltResource:
    stats = runner.stats

    def rows() -> Iterator[Any]:
        stats.start()
        logger.info("%s: started", runner.name)
        state = _cursor_state() if runner.incremental else None
        pages = runner.sequences(None, state)
        yield from arrow.tables(pages) if arrow is not None else pages
        stats.finish()
        logger.info("%s: finished, %d rows in %d pages, %.1f s", runner.name, stats.rows, stats.pages, stats.seconds)

    return dlt.resource(rows, **_hints(endpoint))


def _child_pages(runner: EndpointRunner, parent: Mapping[str, Any], state: dict[str, Any] | None) -> list[list[dict[str, Any]]]:
    try:
        runner.check_parent(parent)
    except SkipParent:
        return []
    return list(runner.sequences(parent, state))


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


def _child_resource(runner: EndpointRunner, endpoint: Mapping[str, Any], parent: DltResource, arrow: ArrowPages | None) -> DltResource:
    stats = runner.stats
    workers = int(endpoint.get("parent_concurrency", DEFAULT_PARENT_CONCURRENCY))

    def rows(parents: Any) -> Iterator[Any]:
        stats.start()
        batch = _parent_records(parents)
        state = _cursor_state() if runner.incremental else None
        # Child requests of different parents run in parallel; the rate limiter bounds them.
        pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(batch))), thread_name_prefix=f"restgen-{runner.name}")
        try:
            futures = [pool.submit(_child_pages, runner, record, state) for record in batch]
            for future in futures:
                pages = future.result()
                yield from arrow.tables(pages) if arrow is not None else pages
        finally:
            # After a failure the queued parents are dropped: under a tight rate limit they could
            # delay the error by hours, and the run fails anyway.
            pool.shutdown(wait=True, cancel_futures=True)
        stats.finish()

    return dlt.transformer(rows, data_from=parent, **_hints(endpoint))


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def build_resources(spec: Spec, client: HttpClient) -> tuple[dict[str, DltResource], dict[str, EndpointStats]]:
    """Return a dlt resource and a stats object per endpoint, parents built before children."""
    base_url = spec.client.get("base_url")
    endpoints = {endpoint["name"]: endpoint for endpoint in spec.endpoints}
    resources: dict[str, DltResource] = {}
    stats: dict[str, EndpointStats] = {}
    pyarrow: ModuleType | None = None
    if any(uses_arrow(endpoint) for endpoint in spec.endpoints):
        # Before any request: a spec that cannot run here fails where it sets arrow.
        pyarrow = _import_pyarrow(spec)
        _configure_dlt_for_arrow()

    def build(name: str) -> DltResource:
        if name in resources:
            return resources[name]
        endpoint = endpoints[name]
        stats[name] = EndpointStats(name, endpoint.get("table_name") or name)
        runner = EndpointRunner(endpoint, client, base_url, stats[name])
        arrow = None
        if pyarrow is not None and uses_arrow(endpoint):
            arrow = ArrowPages(pyarrow, name, _as_list(endpoint.get("primary_key")))
        parent_name = endpoint.get("depends_on")
        if parent_name:
            resource = _child_resource(runner, endpoint, build(parent_name), arrow)
        else:
            resource = _root_resource(runner, endpoint, arrow)
        resources[name] = resource
        return resource

    for name in endpoints:
        build(name)
    return resources, stats
