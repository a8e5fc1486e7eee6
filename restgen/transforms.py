"""Record transforms declared in a spec and applied in order to each batch of records.

A spec lists them as one-key mappings, for example Mixpanel's export::

    transforms:
      - hoist: {field: properties}
      - rename_prefix: {from: "$", to: "mp_reserved_"}
      - to_timestamp: {fields: [time], format: unix_seconds}
      - fill_key: {field: mp_reserved_insert_id, from: all}

Transforms run on every record, so each one precomputes what it can in ``__init__``.
``hoist``, ``add_fields``, ``drop``, ``to_timestamp`` and ``fill_key`` change the records
in place, so the records must belong to the caller alone, as freshly parsed JSON does, and
anything that reads the parsed body (a paginator's ``update_state``) must run before the
transforms. ``explode``, ``rename`` and ``rename_prefix`` build new records.

No transform overwrites a field silently: a name that two fields would share raises
TransformError.
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
import json
from abc import ABC, abstractmethod
from collections import ChainMap
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Literal

from jmespath.parser import ParsedResult

from restgen.errors import TransformError
from restgen.selectors import compile_expression, json_type_name, search
from restgen.template import TemplateError, iter_placeholders, render
from restgen.timeformat import converter, to_utc

Record = dict[str, Any]
OnConflict = Literal["error", "keep_outer", "keep_nested"]

_FILL_KEY_PREFIX = "restgen:"


class Transform(ABC):
    """One step that turns a batch of records into another batch."""

    name: ClassVar[str]

    @classmethod
    def from_options(cls, options: Any) -> Transform:
        """Build the transform from its YAML options; raises ValueError for invalid ones.

        The default accepts a mapping whose keys are the constructor's keyword-only
        arguments; those without a default are required.
        """
        keyword = [
            parameter
            for parameter in inspect.signature(cls.__init__).parameters.values()
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY
        ]
        required = [item.name for item in keyword if item.default is item.empty]
        optional = [item.name for item in keyword if item.default is not item.empty]
        return cls(**_options(options, required=required, optional=optional))

    @abstractmethod
    def apply(self, rows: list[Record], context: Mapping[str, Any]) -> list[Record]:
        """Return the transformed batch; ``rows`` and its records may be changed in place.

        ``context`` contains the values that placeholders can name, such as ``parent``. Raises
        TransformError when a record cannot be transformed.
        """


class Explode(Transform):
    """Turn an object keyed by date or id into one record per key.

    ``{"results": {"$overall": {...}, "2024-06-01": {"count": 124}}}`` with
    ``explode: {path: results, skip_keys: ["$overall"]}`` gives
    ``{"date": "2024-06-01", "count": 124}``.

    Options: ``path`` (jmespath; default the record itself), ``key_field`` (default
    ``date``) receives the key, ``skip_keys`` are left out, ``value_field`` (default
    ``value``) receives a value that is not an object, and the ``keep`` fields of the outer
    record are copied into each new record. When ``path`` is not set, the ``keep`` fields
    are copied rather than exploded. A missing or null object gives no records.
    """

    name = "explode"

    def __init__(
        self,
        *,
        path: str | None = None,
        key_field: str = "date",
        skip_keys: Sequence[str] = (),
        value_field: str = "value",
        keep: Sequence[str] = (),
    ) -> None:
        self.path: ParsedResult | None = None if path is None else compile_expression(path)
        self.key_field = _field_name("key_field", key_field)
        self.value_field = _field_name("value_field", value_field)
        self.skip_keys = frozenset(_field_names("skip_keys", skip_keys))
        self.keep = tuple(_field_names("keep", keep))
        if self.key_field == self.value_field:
            raise ValueError(f"key_field and value_field are both {key_field!r}; choose two names")
        for option, field in (("key_field", self.key_field), ("value_field", self.value_field)):
            if field in self.keep:
                raise ValueError(f"{option} {field!r} is also listed in keep; choose another name")
        if path is None:
            self._not_exploded = self.skip_keys | frozenset(self.keep)
        else:
            self._not_exploded = self.skip_keys

    def apply(self, rows: list[Record], context: Mapping[str, Any]) -> list[Record]:
        exploded: list[Record] = []
        key_field = self.key_field
        value_field = self.value_field
        not_exploded = self._not_exploded
        for row in rows:
            target = row if self.path is None else search(self.path, row)
            if target is None:
                continue
            if not isinstance(target, dict):
                raise TransformError(
                    f"explode: path {self._path_text()} selected a JSON {json_type_name(target)}"
                    f" in a record with keys {_keys(row)}; expected an object keyed by date or id"
                )
            outer = {field: row[field] for field in self.keep if field in row}
            for key, value in target.items():
                if key in not_exploded:
                    continue
                if isinstance(value, dict):
                    self._check_value_fields(key, value, outer)
                    new_row = {key_field: key, **outer, **value}
                else:
                    new_row = {key_field: key, **outer, value_field: value}
                exploded.append(new_row)
        return exploded

    def _check_value_fields(self, key: str, value: Record, outer: Record) -> None:
        if self.key_field in value:
            raise TransformError(
                f"explode: the object under key {key!r} has its own field {self.key_field!r}, "
                f"which key_field would overwrite; set key_field to another name"
            )
        for field in outer.keys() & value.keys():
            if outer[field] != value[field]:
                raise TransformError(
                    f"explode: kept field {field!r} ({outer[field]!r}) and field {field!r} of "
                    f"the object under key {key!r} ({value[field]!r}) differ; remove "
                    f"{field!r} from keep or rename it first"
                )

    def _path_text(self) -> str:
        return "(the record)" if self.path is None else repr(self.path.expression)

    def __repr__(self) -> str:
        return f"Explode(path={self._path_text()}, key_field={self.key_field!r})"


class Hoist(Transform):
    """Move the keys of a nested object to the top level and remove the nested field.

    ``{"event": "Signed up", "properties": {"time": 1602611311}}`` with
    ``hoist: {field: properties}`` gives ``{"event": "Signed up", "time": 1602611311}``.

    ``on_conflict`` decides what happens when a nested key already exists at the top level
    with a different value: ``error`` (default) raises TransformError naming both keys,
    ``keep_outer`` keeps the top-level value, ``keep_nested`` takes the nested one. Equal
    values are never a conflict. A missing or null field is removed and nothing is hoisted.
    """

    name = "hoist"

    def __init__(self, *, field: str, on_conflict: OnConflict = "error") -> None:
        self.field = _field_name("field", field)
        if on_conflict not in ("error", "keep_outer", "keep_nested"):
            raise ValueError(
                f"on_conflict must be one of error, keep_outer, keep_nested, got {on_conflict!r}"
            )
        self.on_conflict: OnConflict = on_conflict

    def apply(self, rows: list[Record], context: Mapping[str, Any]) -> list[Record]:
        field = self.field
        for row in rows:
            nested = row.pop(field, None)
            if nested is None:
                continue
            if not isinstance(nested, dict):
                raise TransformError(
                    f"hoist: field {field!r} is a JSON {json_type_name(nested)}, not an object, "
                    f"in a record with keys {_keys(row, field)}"
                )
            if row.keys().isdisjoint(nested):
                row.update(nested)
            else:
                self._merge_overlapping(row, nested)
        return rows

    def _merge_overlapping(self, row: Record, nested: Record) -> None:
        if self.on_conflict == "keep_nested":
            row.update(nested)
            return
        for key, value in nested.items():
            if key not in row:
                row[key] = value
            elif row[key] != value and self.on_conflict == "error":
                raise TransformError(
                    f"hoist: {self.field}.{key} ({value!r}) would overwrite the top-level "
                    f"{key!r} ({row[key]!r}) in a record with keys {_keys(row, self.field)}; "
                    "rename one of them first or set on_conflict: keep_outer or keep_nested"
                )

    def __repr__(self) -> str:
        return f"Hoist(field={self.field!r}, on_conflict={self.on_conflict!r})"


class _RenameCache(dict[str, str]):
    """Old key -> new key, computed on first sight; keys without the prefix map to themselves."""

    max_size = 100_000

    def __init__(self, prefix: str, replacement: str) -> None:
        super().__init__()
        self.prefix = prefix
        self.replacement = replacement

    def __missing__(self, key: str) -> str:
        new = self.replacement + key[len(self.prefix) :] if key.startswith(self.prefix) else key
        # Records keyed by ids could grow the cache without bound, so it stops learning.
        if len(self) < self.max_size:
            self[key] = new
        return new


class RenamePrefix(Transform):
    """Rename every key that starts with a prefix, replacing the prefix.

    ``rename_prefix: {from: "$", to: "mp_reserved_"}`` turns ``$browser`` into
    ``mp_reserved_browser``. Only top-level keys are renamed. When the new name is already a
    key of the record, or two keys would get the same name, TransformError is raised.
    """

    name = "rename_prefix"

    def __init__(self, prefix: str, replacement: str) -> None:
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"'from' must be a non-empty string, got {prefix!r}")
        if not isinstance(replacement, str):
            raise ValueError(f"'to' must be a string, got {replacement!r}")
        self.prefix = prefix
        self.replacement = replacement
        self._names = _RenameCache(prefix, replacement)

    @classmethod
    def from_options(cls, options: Any) -> Transform:
        values = _options(options, required=("from", "to"), optional=())
        return cls(values["from"], values["to"])

    def apply(self, rows: list[Record], context: Mapping[str, Any]) -> list[Record]:
        names = self._names
        renamed_rows = []
        for row in rows:
            renamed = {names[key]: value for key, value in row.items()}
            if len(renamed) != len(row):
                _raise_rename_collision(self.name, row, names.__getitem__)
            renamed_rows.append(renamed)
        return renamed_rows

    def __repr__(self) -> str:
        return f"RenamePrefix(from={self.prefix!r}, to={self.replacement!r})"


class Rename(Transform):
    """Rename fields by an ``{old: new}`` mapping, all at once, so ``{a: b, b: a}`` swaps.

    A new name that another field of the record already has raises TransformError.
    """

    name = "rename"

    def __init__(self, mapping: Mapping[str, str]) -> None:
        if not isinstance(mapping, Mapping) or not mapping:
            raise ValueError(
                f"expected a non-empty mapping of old name to new name, got {mapping!r}"
            )
        targets: dict[str, str] = {}
        for old, new in mapping.items():
            _field_name(f"new name for {old!r}", new)
            if new in targets:
                raise ValueError(f"{targets[new]!r} and {old!r} are both renamed to {new!r}")
            targets[new] = old
        self.mapping = dict(mapping)
        self._olds = frozenset(mapping)

    @classmethod
    def from_options(cls, options: Any) -> Transform:
        return cls(options)

    def apply(self, rows: list[Record], context: Mapping[str, Any]) -> list[Record]:
        mapping = self.mapping
        olds = self._olds
        renamed_rows = []
        for row in rows:
            if row.keys().isdisjoint(olds):
                renamed_rows.append(row)
                continue
            renamed = {mapping.get(key, key): value for key, value in row.items()}
            if len(renamed) != len(row):
                _raise_rename_collision(self.name, row, lambda key: mapping.get(key, key))
            renamed_rows.append(renamed)
        return renamed_rows

    def __repr__(self) -> str:
        return f"Rename({self.mapping!r})"


class AddFields(Transform):
    """Add fields with fixed values, which may contain ``${...}`` placeholders.

    ``add_fields: {cohort_id: "${parent.id}"}`` copies the parent record's ``id`` into every
    record. Placeholders are rendered against the context once per batch. A placeholder that
    starts with ``row.`` names a field of the record itself, so it is rendered per record. A
    field the record already has with a different value raises TransformError. Object and
    array values are shared by the records of a batch, not copied.
    """

    name = "add_fields"

    def __init__(self, fields: Mapping[str, Any]) -> None:
        if not isinstance(fields, Mapping) or not fields:
            raise ValueError(f"expected a non-empty mapping of field name to value, got {fields!r}")
        for name in fields:
            _field_name("field name", name)
        self.fields = dict(fields)
        placeholders = list(iter_placeholders(self.fields))
        self._has_placeholders = bool(placeholders)
        self._per_row = any(name.split(".", 1)[0] == "row" for name in placeholders)

    @classmethod
    def from_options(cls, options: Any) -> Transform:
        return cls(options)

    def apply(self, rows: list[Record], context: Mapping[str, Any]) -> list[Record]:
        if self._per_row:
            for row in rows:
                self._add(row, self._render(ChainMap({"row": row}, context)))
            return rows
        values = self._render(context) if self._has_placeholders else self.fields
        for row in rows:
            self._add(row, values)
        return rows

    def _render(self, context: Mapping[str, Any]) -> Record:
        try:
            return render(self.fields, context)  # type: ignore[no-any-return]
        except TemplateError as exc:
            raise TransformError(f"add_fields: {exc}") from exc

    def _add(self, row: Record, values: Record) -> None:
        if not row.keys().isdisjoint(values):
            for name, value in values.items():
                if name in row and row[name] != value:
                    raise TransformError(
                        f"add_fields: the record already has {name!r} = {row[name]!r}, which "
                        f"differs from the added {value!r}; rename or drop the field first"
                    )
        row.update(values)

    def __repr__(self) -> str:
        return f"AddFields({self.fields!r})"


class Drop(Transform):
    """Remove the listed fields; a field a record does not have is ignored."""

    name = "drop"

    def __init__(self, fields: Sequence[str]) -> None:
        self.fields = frozenset(_field_names("drop", fields))
        if not self.fields:
            raise ValueError("expected a non-empty list of field names")

    @classmethod
    def from_options(cls, options: Any) -> Transform:
        return cls(options)

    def apply(self, rows: list[Record], context: Mapping[str, Any]) -> list[Record]:
        fields = self.fields
        for row in rows:
            if row.keys().isdisjoint(fields):
                continue
            for field in fields:
                row.pop(field, None)
        return rows

    def __repr__(self) -> str:
        return f"Drop({sorted(self.fields)!r})"


class ToTimestamp(Transform):
    """Convert fields to timezone-aware UTC datetimes.

    ``format`` is one of:

    - ``unix_seconds`` or ``unix_ms``: a number (or numeric string) since 1970-01-01 UTC;
    - ``iso8601``: ISO 8601 text such as ``2021-06-01T12:00:00Z``; text without an offset
      is read as UTC;
    - ``date``: ``YYYY-MM-DD``, giving midnight UTC;
    - a strftime pattern containing ``%``, such as ``%d/%m/%Y %H:%M``, parsed with
      ``datetime.strptime``; a result without an offset is read as UTC.

    None and missing fields are left as they are, and datetimes are converted to UTC. A value
    that does not parse raises TransformError naming the field and the value.
    """

    name = "to_timestamp"

    def __init__(self, fields: Sequence[str], time_format: str) -> None:
        self.fields = tuple(_field_names("fields", fields))
        if not self.fields:
            raise ValueError("fields must list at least one field name")
        self.time_format = time_format
        self._convert = converter(time_format)

    @classmethod
    def from_options(cls, options: Any) -> Transform:
        values = _options(options, required=("fields", "format"), optional=())
        return cls(values["fields"], values["format"])

    def apply(self, rows: list[Record], context: Mapping[str, Any]) -> list[Record]:
        convert = self._convert
        for row in rows:
            for field in self.fields:
                value = row.get(field)
                if value is None:
                    continue
                if isinstance(value, datetime):
                    row[field] = to_utc(value)
                    continue
                try:
                    row[field] = convert(value)
                except (ValueError, TypeError, OverflowError) as exc:
                    raise TransformError(
                        f"to_timestamp: field {field!r} has value {value!r}, which is not "
                        f"{self.time_format}: {exc}"
                    ) from exc
        return rows

    def __repr__(self) -> str:
        return f"ToTimestamp(fields={list(self.fields)!r}, format={self.time_format!r})"


class FillKey(Transform):
    """Fill a missing or null key field with a deterministic hash, so no record lacks a key.

    ``fill_key: {field: mp_reserved_insert_id, from: all}`` sets ``mp_reserved_insert_id``
    to ``restgen:<sha1 hex>`` of the record's canonical JSON (sorted keys, other values as
    ``str()``, the key field itself left out) where it is missing or null. ``from: all`` is
    the default. With ``from: [time, distinct_id, event]`` only those fields are hashed.
    Records with a key keep it.

    Events without Mixpanel's ``$insert_id`` are thus neither dropped nor merged into one
    row by a merge load. Records that are identical in the hashed fields get the same key,
    which is intended because they are duplicates.

    Raises TransformError when none of the listed fields is set, because every such record
    would get the same key.
    """

    name = "fill_key"

    def __init__(self, field: str, source: Sequence[str] | Literal["all"] = "all") -> None:
        self.field = _field_name("field", field)
        if source == "all":
            self.source: tuple[str, ...] | None = None
        else:
            if isinstance(source, str):
                raise ValueError(f"'from' must be 'all' or a list of field names, got {source!r}")
            self.source = tuple(_field_names("from", source))
            if not self.source:
                raise ValueError("'from' must list at least one field name, or be 'all'")

    @classmethod
    def from_options(cls, options: Any) -> Transform:
        values = _options(options, required=("field",), optional=("from",))
        return cls(values["field"], values.get("from", "all"))

    def apply(self, rows: list[Record], context: Mapping[str, Any]) -> list[Record]:
        field = self.field
        for row in rows:
            if row.get(field) is not None:
                continue
            if self.source is None:
                hashed = {key: value for key, value in row.items() if key != field}
            else:
                hashed = {name: row.get(name) for name in self.source}
                if all(value is None for value in hashed.values()):
                    raise TransformError(
                        f"fill_key: none of the fields {', '.join(self.source)} is set in a "
                        f"record with keys {_keys(row)}, so {field!r} cannot be filled "
                        "uniquely; list other fields in 'from' or use from: all"
                    )
            row[field] = _FILL_KEY_PREFIX + _digest(hashed)
        return rows

    def __repr__(self) -> str:
        source = "all" if self.source is None else list(self.source)
        return f"FillKey(field={self.field!r}, from={source!r})"


TRANSFORMS: dict[str, type[Transform]] = {
    cls.name: cls
    for cls in (Explode, Hoist, RenamePrefix, Rename, AddFields, Drop, ToTimestamp, FillKey)
}


def create_transforms(configs: Sequence[Mapping[str, Any]]) -> list[Transform]:
    """Build transforms from the spec's list of one-key mappings ``{name: options}``.

    Raises ValueError naming the list index for a malformed entry, an unknown name or
    invalid options.
    """
    transforms: list[Transform] = []
    for index, config in enumerate(configs):
        where = f"transforms[{index}]"
        if not isinstance(config, Mapping) or len(config) != 1:
            raise ValueError(
                f"{where}: expected a mapping with exactly one transform name, such as "
                f"{{drop: [field]}}, got {config!r}"
            )
        ((name, options),) = config.items()
        cls = TRANSFORMS.get(name)
        if cls is None:
            close = difflib.get_close_matches(str(name), TRANSFORMS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            known = ", ".join(TRANSFORMS)
            raise ValueError(f"{where}: unknown transform {name!r}{hint}; known: {known}")
        try:
            transforms.append(cls.from_options(options))
        except ValueError as exc:
            raise ValueError(f"{where}: {name}: {exc}") from exc
    return transforms


def apply_transforms(
    transforms: Iterable[Transform], rows: list[Record], context: Mapping[str, Any]
) -> list[Record]:
    """Apply ``transforms`` in order to one batch and return the result."""
    for transform in transforms:
        rows = transform.apply(rows, context)
    return rows


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _raise_rename_collision(name: str, row: Record, new_name: Callable[[str], str]) -> None:
    sources: dict[str, list[str]] = {}
    for key in row:
        sources.setdefault(new_name(key), []).append(key)
    for target, keys in sources.items():
        if len(keys) > 1:
            both = " and ".join(repr(key) for key in keys)
            raise TransformError(
                f"{name}: {both} would both become {target!r}; rename or drop one of them first"
            )
    raise AssertionError("unreachable: a shorter renamed record has a shared name")


def _options(options: Any, *, required: Sequence[str], optional: Sequence[str]) -> dict[str, Any]:
    if not isinstance(options, Mapping):
        raise ValueError(f"expected a mapping of options, got {_yaml_type(options)}")
    missing = [name for name in required if name not in options]
    if missing:
        raise ValueError(f"missing option {', '.join(repr(name) for name in missing)}")
    unknown = sorted(set(options) - set(required) - set(optional))
    if unknown:
        valid = ", ".join(repr(name) for name in (*required, *optional))
        names = ", ".join(repr(name) for name in unknown)
        raise ValueError(f"unknown option {names}; valid options: {valid}")
    return dict(options)


def _field_name(option: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{option} must be a non-empty string, got {value!r}")
    return value


def _field_names(option: str, values: Any) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise ValueError(f"{option} must be a list of field names, got {values!r}")
    return [_field_name(f"{option} item", value) for value in values]


def _keys(row: Record, *extra: str) -> str:
    keys = list(row) + [key for key in extra if key not in row]
    listed = ", ".join(keys[:20])
    return f"[{listed}, ...]" if len(keys) > 20 else f"[{listed}]"


def _yaml_type(value: Any) -> str:
    return "a list" if isinstance(value, list) else f"a {type(value).__name__}"
