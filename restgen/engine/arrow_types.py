"""One type per column across the pyarrow Tables of an arrow endpoint, within a run and across runs.

dlt 1.31 gives a column the type of the last Table that had it, and the destination then
converts every file of the load to that type. A float page followed by an int page made the
column BIGINT and rounded the floats without an error, and floats loaded into a column that an
earlier run created as BIGINT were rounded too. ColumnTypes widens each column to a type that
can store every value seen so far (ints and floats to float, scalars of different kinds to
text), and casts each Table to it, so the last Table carries the widest type. A value that the
column of an earlier run cannot store raises RunError instead.

A column declared under ``columns`` with a ``data_type`` is converted to that type here where
the conversion is exact or fails (a string of digits to bigint, 2.5 to bigint fails), so dlt
gets the declared type and a value that does not fit stops the run before anything loads.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from restgen.errors import RunError

# dlt's data types of columns stored by earlier runs, mapped to ColumnTypes' kinds.
_DLT_KINDS = {"bigint": "int", "double": "float", "text": "text", "bool": "bool", "timestamp": "timestamp", "json": "nested"}
_SCALARS = {"bool", "int", "float", "text", "timestamp"}
_NAMES = {"int": "bigint", "float": "double", "text": "text", "bool": "bool", "timestamp": "timestamp", "nested": "json"}
# The largest magnitude up to which a double stores every integer exactly.
_EXACT_IN_DOUBLE = 2**53
# The kinds of values that restgen converts to each declared data_type. Other pairs (an epoch
# number or a string to a timestamp) are left to the destination.
_DECLARED_FROM = {
    "text": {"int", "float", "bool", "text"},
    "bigint": {"int", "float", "text"},
    "double": {"int", "float", "text"},
    "decimal": {"int", "float", "text"},
    "bool": {"bool", "text"},
    "timestamp": {"timestamp"},
}
# Fractional-second digits and pyarrow.compute's name of each arrow time unit.
_UNIT_DIGITS = {"s": 0, "ms": 3, "us": 6, "ns": 9}
_UNIT_NAMES = {"s": "second", "ms": "millisecond", "us": "microsecond", "ns": "nanosecond"}


class ColumnTypes:
    """The widest type each column of one endpoint has had, and the casts that keep Tables to it.

    Columns with a ``data_type`` in the endpoint's ``columns`` get that type instead, once
    ``seed`` has the destination's capabilities.
    """

    def __init__(self, pyarrow: ModuleType, endpoint: str, declared: Mapping[str, Any] | None = None) -> None:
        self.pa = pyarrow
        self.endpoint = endpoint
        self.declared = {name: dict(column) for name, column in (declared or {}).items() if isinstance(column, Mapping) and column.get("data_type")}
        # The arrow type of each declared column that restgen converts, set by seed.
        self.targets: dict[str, Any] = {}
        self.kinds: dict[str, str] = {}
        # Columns whose type an earlier run fixed in the destination.
        self.stored: set[str] = set()
        # The largest magnitude of each int column so far, to tell whether doubles can store them.
        self.largest: dict[str, int] = {}
        self.seeded = False

    def seed(self, columns: Mapping[str, Mapping[str, Any]], capabilities: Any) -> None:
        """Take the column types that earlier runs stored (dlt's schema), once per run.

        ``capabilities`` are the destination's (dlt's DestinationCapabilitiesContext), which
        give a declared decimal or timestamp without precision its arrow type.
        """
        if self.seeded:
            return
        self.seeded = True
        for name, column in columns.items():
            kind = _DLT_KINDS.get(column.get("data_type", ""))
            if kind is not None and name not in self.declared:
                self.kinds[name] = kind
                self.stored.add(name)
        # dlt's pyarrow helpers import pyarrow, which only arrow endpoints need.
        arrow_type = importlib.import_module("dlt.common.libs.pyarrow").get_py_arrow_datatype
        for name, column in self.declared.items():
            if column["data_type"] in _DECLARED_FROM:
                self.targets[name] = arrow_type(column, capabilities, "UTC")

    def unify(self, table: Any) -> Any:
        """Return ``table`` with each column cast to the widest type its column has had."""
        for name, column in self.declared.items():
            if column.get("nullable") is False and table.schema.get_field_index(name) < 0:
                raise self._null_error(name)
        for index, field in enumerate(table.schema):
            name = field.name
            new = self._kind(field.type)
            if name in self.declared:
                table = self._to_declared(table, index, field, new)
                continue
            if new == "null":
                continue
            current = self.kinds.setdefault(name, new)
            # A stored int column never widens (that raises below), so its magnitude is not needed.
            if new == "int" and current == "int" and name not in self.stored:
                self._track_magnitude(name, table.column(index))
            if new == current:
                continue
            wider = _wider(current, new)
            if wider is None:
                raise RunError(
                    f"{self.endpoint}: batch_format arrow cannot store the field {name!r} in one column: it held "
                    f"{_NAMES.get(current, current)} values and now has {_NAMES.get(new, new)} values; remove the "
                    "field with the drop transform, or set batch_format: rows on this endpoint"
                )
            if wider != current:
                if name in self.stored:
                    raise RunError(
                        f"{self.endpoint}: the field {name!r} now has {_NAMES[new]} values, but an earlier run created "
                        f"its column as {_NAMES[current]}, and the destination would convert them without an error; "
                        "run once with --full-refresh to recreate the table"
                    )
                if wider == "float" and self.largest.get(name, 0) > _EXACT_IN_DOUBLE:
                    raise RunError(
                        f"{self.endpoint}: the field {name!r} has floats and integers beyond 2**53, which one double "
                        "column cannot store exactly; set batch_format: rows on this endpoint"
                    )
                self.kinds[name] = wider
            if wider != new:
                target = self.pa.float64() if wider == "float" else self.pa.string()
                problem = f"batch_format arrow cannot convert the field {name!r} to {_NAMES[wider]}"
                table = self._cast(table, index, field, target, problem, "set batch_format: rows on this endpoint")
        return table

    def _to_declared(self, table: Any, index: int, field: Any, kind: str) -> Any:
        """Cast a declared column to its declared type, when restgen converts values of this kind."""
        name = field.name
        column = self.declared[name]
        target = self.targets.get(name)
        if target is not None and not field.type.equals(target) and (kind == "null" or kind in _DECLARED_FROM[column["data_type"]]):
            if kind == "timestamp" and _UNIT_DIGITS[target.unit] < _UNIT_DIGITS[field.type.unit]:
                # A declared precision drops the finer digits, which the safe cast below would reject.
                compute = importlib.import_module("pyarrow.compute")
                truncated = compute.floor_temporal(table.column(index), unit=_UNIT_NAMES[target.unit])
                table = table.set_column(index, field, truncated)
            problem = f"the field {name!r} has a value that its declared data_type {column['data_type']} cannot store"
            table = self._cast(table, index, field, target, problem, "correct the data_type under columns")
        if column.get("nullable") is False and table.schema.field(index).nullable:
            if table.column(index).null_count:
                raise self._null_error(name)
            # As for primary keys, dlt 1.31 logs a WARNING for each Table whose nullable hint differs.
            table = table.set_column(index, table.schema.field(index).with_nullable(False), table.column(index))
        return table

    def _null_error(self, name: str) -> RunError:
        return RunError(f"{self.endpoint}: the field {name!r} is declared nullable: false but is null or missing in a record; correct the declaration under columns")

    def _track_magnitude(self, name: str, column: Any) -> None:
        # dlt imports pyarrow.compute for its own arrow handling, so this adds no import to a run.
        bounds = importlib.import_module("pyarrow.compute").min_max(column)
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        if low is not None:
            self.largest[name] = max(self.largest.get(name, 0), abs(low), abs(high))

    def _kind(self, data_type: Any) -> str:
        types = self.pa.types
        if types.is_null(data_type):
            return "null"
        if types.is_boolean(data_type):
            return "bool"
        if types.is_integer(data_type):
            return "int"
        if types.is_floating(data_type):
            return "float"
        if types.is_string(data_type) or types.is_large_string(data_type):
            return "text"
        if types.is_timestamp(data_type):
            return "timestamp"
        if types.is_struct(data_type) or types.is_list(data_type) or types.is_large_list(data_type) or types.is_map(data_type):
            return "nested"
        return str(data_type)

    def _cast(self, table: Any, index: int, field: Any, target: Any, problem: str, remedy: str) -> Any:
        pa = self.pa
        column = table.column(index)
        try:
            if pa.types.is_string(target) and pa.types.is_floating(field.type):
                # pyarrow writes 9900.0 as "9900"; str keeps the JSON spelling, as DuckDB does when
                # it converts the earlier Tables of a column that turned text.
                column = pa.array([None if value is None else str(value) for value in column.to_pylist()], pa.string())
            else:
                column = column.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError) as exc:
            raise RunError(f"{self.endpoint}: {problem} ({exc}); {remedy}") from exc
        return table.set_column(index, pa.field(field.name, target, nullable=field.nullable), column)


def _wider(current: str, new: str) -> str | None:
    """Return the kind that can store values of both kinds, or None when no column can."""
    if {current, new} == {"int", "float"}:
        return "float"
    if current in _SCALARS and new in _SCALARS:
        return "text"
    return None
