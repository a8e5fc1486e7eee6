"""One type per column across the pyarrow Tables of an arrow endpoint, within a run and across runs.

dlt 1.31 gives a column the type of the last Table that had it, and the destination then
converts every file of the load to that type. A float page followed by an int page made the
column BIGINT and rounded the floats without an error, and floats loaded into a column that an
earlier run created as BIGINT were rounded too. ColumnTypes widens each column to a type that
can store every value seen so far (ints and floats to float, scalars of different kinds to
text), and casts each Table to it, so the last Table carries the widest type. A value that the
column of an earlier run cannot store raises RunError instead. Declared columns are left to
DeclaredColumns.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from restgen.engine.arrow_declared import DeclaredColumns, cast_column, kind_of
from restgen.errors import RunError

# dlt's data types of columns stored by earlier runs, mapped to ColumnTypes' kinds.
_DLT_KINDS = {"bigint": "int", "double": "float", "text": "text", "bool": "bool", "timestamp": "timestamp", "json": "nested"}
_SCALARS = {"bool", "int", "float", "text", "timestamp"}
_NAMES = {"int": "bigint", "float": "double", "text": "text", "bool": "bool", "timestamp": "timestamp", "nested": "json"}
# The largest magnitude up to which a double stores every integer exactly.
_EXACT_IN_DOUBLE = 2**53


class ColumnTypes:
    """The widest type each column of one endpoint has had, and the casts that keep Tables to it.

    Columns with a ``data_type`` in the endpoint's ``columns`` get that type from
    ``declared`` instead, once ``seed`` has the destination's capabilities.
    """

    def __init__(self, pyarrow: ModuleType, endpoint: str, declared: Mapping[str, Any] | None = None) -> None:
        self.pa = pyarrow
        self.endpoint = endpoint
        self.declared = DeclaredColumns(pyarrow, endpoint, declared)
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
        self.declared.seed(capabilities)

    def unify(self, table: Any) -> Any:
        """Return ``table`` with each column cast to the widest type its column has had."""
        self.declared.check_present(table.schema)
        for index, field in enumerate(table.schema):
            name = field.name
            if name in self.declared:
                table = self.declared.convert(table, index)
                continue
            new = kind_of(self.pa, field.type)
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
                table = self._cast(table, index, field, wider)
        return table

    def _track_magnitude(self, name: str, column: Any) -> None:
        # dlt imports pyarrow.compute for its own arrow handling, so this adds no import to a run.
        bounds = importlib.import_module("pyarrow.compute").min_max(column)
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        if low is not None:
            self.largest[name] = max(self.largest.get(name, 0), abs(low), abs(high))

    def _cast(self, table: Any, index: int, field: Any, kind: str) -> Any:
        pa = self.pa
        target = pa.float64() if kind == "float" else pa.string()
        try:
            column = cast_column(pa, table.column(index), target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError) as exc:
            raise RunError(
                f"{self.endpoint}: batch_format arrow cannot convert the field {field.name!r} to {_NAMES[kind]} "
                f"({exc}); set batch_format: rows on this endpoint"
            ) from exc
        return table.set_column(index, pa.field(field.name, target, nullable=field.nullable), column)


def _wider(current: str, new: str) -> str | None:
    """Return the kind that can store values of both kinds, or None when no column can."""
    if {current, new} == {"int", "float"}:
        return "float"
    if current in _SCALARS and new in _SCALARS:
        return "text"
    return None
