"""``batch_format: arrow``: pages handed to dlt as pyarrow Tables, which dlt loads as parquet.

dlt skips its per-row normalizer for Arrow tables, which is most of a run's time on flat data.
pyarrow is optional: it is imported only when an endpoint sets ``batch_format: arrow``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import ModuleType
from typing import Any

from restgen.engine.arrow_types import ColumnTypes
from restgen.errors import RunError, SpecError, SpecIssue
from restgen.spec import Spec
from restgen.spec.yamlload import PathKey, format_path

Row = dict[str, Any]

# dlt writes the Tables of a `batch_format: arrow` endpoint to this file format and loads the
# file without running its per-row normalizer.
ARROW_FILE_FORMAT = "parquet"
# The Tables handed to dlt end after the page that reaches either bound, so memory stays
# bounded while dlt's per-item cost is paid once per batch, not once per page. On 500,000
# benchmark rows, 10,000 per Table beat 50,000 in time and in peak memory (272 MB against 300).
ARROW_BATCH_ROWS = 10_000
ARROW_BATCH_BYTES = 8 * 1024 * 1024
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


# Exceptions that pyarrow raises when the values of one field cannot share a column (an int and
# a string, an int beyond 64 bits).
_CONVERSION_ERRORS: tuple[type[Exception], ...] = (ValueError, TypeError, OverflowError, NotImplementedError)


class ArrowPages:
    """Convert the pages of one endpoint into pyarrow Tables, joining pages of the same columns.

    ``pyarrow`` is the imported module, passed in so that restgen runs without pyarrow when
    no endpoint uses arrow. Tables keep every field of every row: a field missing from
    some rows is null there. Nested objects become struct columns and lists become list
    columns, which dlt loads as JSON.
    """

    def __init__(self, pyarrow: ModuleType, endpoint: str, primary_key: Sequence[str], declared: Mapping[str, Any] | None = None) -> None:
        self.pa = pyarrow
        self.endpoint = endpoint
        self.primary_key = list(primary_key)
        self.types = ColumnTypes(pyarrow, endpoint, declared)

    def tables(self, pages: Iterable[list[Row]]) -> Iterator[Any]:
        """Yield the pages as Tables, joining consecutive pages of one schema into larger Tables.

        dlt 1.31's extract spent about 1 ms per item whatever its size (measured on 500 pages
        of 1,000 rows), more than converting the rows took. A page whose schema still differs
        from the previous one after ColumnTypes.unify, such as one with a new or missing
        column, starts a new Table.
        """
        pending: list[Any] = []
        rows = 0
        size = 0
        for page in pages:
            table = self.types.unify(self.table(page))
            if pending and not table.schema.equals(pending[0].schema):
                yield self._joined(pending)
                pending, rows, size = [], 0, 0
            pending.append(table)
            rows += table.num_rows
            size += table.nbytes
            if rows >= ARROW_BATCH_ROWS or size >= ARROW_BATCH_BYTES:
                yield self._joined(pending)
                pending, rows, size = [], 0, 0
        if pending:
            yield self._joined(pending)

    def _joined(self, tables: list[Any]) -> Any:
        return tables[0] if len(tables) == 1 else self.pa.concat_tables(tables)

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
            table = self._table_by_field(rows, exc)
        table = self._without_empty_objects(table, rows)
        return self._with_keys_not_null(table)

    def _table_by_field(self, rows: list[Row], error: Exception) -> Any:
        """Build a page whose values of one field do not share an arrow type, one field at a time.

        A declared field becomes an array of its declared type ("7" and 2.0 for bigint); any
        other such field raises RunError naming it.
        """
        pa = self.pa
        arrays = {}
        for name in dict.fromkeys(name for row in rows for name in row):
            values = [row.get(name) for row in rows]
            try:
                arrays[name] = pa.array(values)
            except _CONVERSION_ERRORS:
                try:
                    declared = self.types.declared.array(name, values)
                except _CONVERSION_ERRORS as exc:
                    raise self._conversion_error(rows, exc) from exc
                if declared is None:
                    raise self._conversion_error(rows, error) from error
                arrays[name] = declared
        return pa.Table.from_pydict(arrays)

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


def import_pyarrow(spec: Spec) -> ModuleType:
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


def configure_dlt_for_arrow() -> None:
    for name, value in ARROW_DLT_SETTINGS.items():
        os.environ.setdefault(name, value)
