"""The columns of an arrow endpoint declared under ``columns``, converted to their data_type by restgen.

dlt 1.31 leaves a declared type that differs from a Table's arrow type to the destination and
logs a WARNING for each Table. DuckDB then rounds 2.5 into a bigint column without an error,
and a value it cannot convert fails the load and leaves a pending package. restgen converts the
values whose conversion is exact or fails, so dlt gets the declared type and a value that does
not fit stops the run before anything loads. ColumnTypes uses two helpers from here as well:
the kind of an arrow type, and a cast that keeps the spelling of floats.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from restgen.errors import RunError

# The kinds of values that restgen converts to each declared data_type. Other pairs (an epoch
# number or a string to a timestamp) are left to the destination.
_CONVERTED_FROM = {
    "text": {"int", "float", "bool", "text"},
    "bigint": {"int", "float", "text"},
    "double": {"int", "float", "text"},
    "decimal": {"int", "float", "text"},
    "bool": {"bool", "int", "float", "text"},
    "timestamp": {"timestamp"},
}
# Fractional-second digits and pyarrow.compute's name of each arrow time unit.
_UNIT_DIGITS = {"s": 0, "ms": 3, "us": 6, "ns": 9}
_UNIT_NAMES = {"s": "second", "ms": "millisecond", "us": "microsecond", "ns": "nanosecond"}


def kind_of(pa: ModuleType, data_type: Any) -> str:
    """Return the kind of an arrow type's values: null, bool, int, float, text, timestamp or nested."""
    types = pa.types
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


def cast_column(pa: ModuleType, column: Any, target: Any) -> Any:
    """Cast an array or chunked array to ``target``, raising pyarrow's error when a value does not fit."""
    if pa.types.is_string(target) and pa.types.is_floating(column.type):
        # pyarrow writes 9900.0 as "9900"; str keeps the JSON spelling, as DuckDB does when it
        # converts the earlier Tables of a column that turned text.
        return pa.array([None if value is None else str(value) for value in column.to_pylist()], pa.string())
    if pa.types.is_boolean(target) and kind_of(pa, column.type) in ("int", "float"):
        compute = importlib.import_module("pyarrow.compute")
        if not compute.all(compute.is_in(column.drop_null(), value_set=pa.array([0, 1], column.type))).as_py():
            raise pa.ArrowInvalid("only 0 and 1 convert to a bool")
    return column.cast(target)


class DeclaredColumns:
    """The declared columns of one arrow endpoint that have a ``data_type``, and their arrow types.

    The arrow types come from ``seed``, which needs the destination's capabilities. Until then,
    no column is converted.
    """

    def __init__(self, pyarrow: ModuleType, endpoint: str, columns: Mapping[str, Any] | None) -> None:
        self.pa = pyarrow
        self.endpoint = endpoint
        self.columns = {name: dict(column) for name, column in (columns or {}).items() if isinstance(column, Mapping) and column.get("data_type")}
        self.targets: dict[str, Any] = {}

    def __contains__(self, name: str) -> bool:
        return name in self.columns

    def seed(self, capabilities: Any) -> None:
        """Set the arrow type of each converted column from dlt's DestinationCapabilitiesContext."""
        # dlt's pyarrow helpers import pyarrow, which only arrow endpoints need.
        arrow_type = importlib.import_module("dlt.common.libs.pyarrow").get_py_arrow_datatype
        for name, column in self.columns.items():
            if column["data_type"] in _CONVERTED_FROM:
                self.targets[name] = arrow_type(column, capabilities, "UTC")

    def check_present(self, schema: Any) -> None:
        """Raise RunError when a Table lacks a column declared ``nullable: false``."""
        for name, column in self.columns.items():
            if column.get("nullable") is False and schema.get_field_index(name) < 0:
                raise self._null_error(name)

    def convert(self, table: Any, index: int) -> Any:
        """Return ``table`` with column ``index`` cast to its declared type, when restgen converts its kind."""
        field = table.schema.field(index)
        name = field.name
        target = self.targets.get(name)
        kind = kind_of(self.pa, field.type)
        if target is not None and not field.type.equals(target) and (kind == "null" or kind in _CONVERTED_FROM[self.columns[name]["data_type"]]):
            column = table.column(index)
            if kind == "timestamp" and _UNIT_DIGITS[target.unit] < _UNIT_DIGITS[field.type.unit]:
                # A declared precision drops the finer digits, which the safe cast would reject.
                compute = importlib.import_module("pyarrow.compute")
                column = compute.floor_temporal(column, unit=_UNIT_NAMES[target.unit])
            field = self.pa.field(name, target, nullable=field.nullable)
            table = table.set_column(index, field, self._cast(column, name, target))
        if self.columns[name].get("nullable") is False and field.nullable:
            if table.column(index).null_count:
                raise self._null_error(name)
            # As for primary keys, dlt 1.31 logs a WARNING for each Table whose nullable hint differs.
            table = table.set_column(index, field.with_nullable(False), table.column(index))
        return table

    def array(self, name: str, values: list[Any]) -> Any | None:
        """Return the values of one page's field as an array of the declared type.

        Used for a page whose values pyarrow cannot put in one array, such as "7" and 2.0: the
        values of each Python type are converted on their own. Returns None when restgen does
        not convert this field.
        """
        target = self.targets.get(name)
        if target is None:
            return None
        pa = self.pa
        groups: dict[type, list[int]] = {}
        for position, value in enumerate(values):
            if value is not None:
                groups.setdefault(type(value), []).append(position)
        pieces = []
        positions = []
        for members in groups.values():
            piece = pa.array([values[position] for position in members])
            if kind_of(pa, piece.type) not in _CONVERTED_FROM[self.columns[name]["data_type"]]:
                return None
            pieces.append(self._cast(piece, name, target))
            positions.extend(members)
        nulls = [position for position, value in enumerate(values) if value is None]
        pieces.append(pa.nulls(len(nulls), target))
        positions.extend(nulls)
        # The joined pieces are in group order; take puts each value back at its position.
        order = [0] * len(values)
        for joined, position in enumerate(positions):
            order[position] = joined
        return pa.concat_arrays(pieces).take(pa.array(order))

    def _cast(self, column: Any, name: str, target: Any) -> Any:
        pa = self.pa
        try:
            return cast_column(pa, column, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError) as exc:
            value = self._first_misfit(column, target)
            subject = f"the value {value!r}, which" if value is not None else "a value that"
            raise RunError(
                f"{self.endpoint}: the field {name!r} has {subject} its declared data_type {self._type_name(name)} "
                f"cannot store ({exc}); correct the data_type under columns"
            ) from exc

    def _first_misfit(self, column: Any, target: Any) -> Any:
        pa = self.pa
        for value in column.to_pylist():
            if value is None:
                continue
            try:
                cast_column(pa, pa.array([value], column.type), target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError):
                return value
        return None

    def _type_name(self, name: str) -> str:
        column = self.columns[name]
        sizes = [str(column[key]) for key in ("precision", "scale") if column.get(key) is not None]
        return f"{column['data_type']}({','.join(sizes)})" if sizes else str(column["data_type"])

    def _null_error(self, name: str) -> RunError:
        return RunError(
            f"{self.endpoint}: the field {name!r} is declared nullable: false but is null or missing in a record; "
            "correct the declaration under columns"
        )
