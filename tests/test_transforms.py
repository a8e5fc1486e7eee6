"""Tests of the record transforms, one at a time and as Mixpanel's export chain."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

import pytest

from restgen.errors import TransformError
from restgen.transforms import (
    TRANSFORMS,
    AddFields,
    Drop,
    Explode,
    FillKey,
    Hoist,
    Rename,
    RenamePrefix,
    ToTimestamp,
    apply_transforms,
    create_transforms,
)

UTC = timezone.utc


def run(
    config: dict[str, Any], rows: list[dict[str, Any]], context: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    (transform,) = create_transforms([config])
    return transform.apply(rows, context or {})


# -- explode --------------------------------------------------------------------------------

REVENUE = {
    "computed_at": "2021-07-03T12:43:48.889421+00:00",
    "results": {
        "$overall": {"amount": 0.0, "count": 124},
        "2021-06-01": {"amount": 1.5, "count": 100},
        "2021-06-02": {"amount": 2.5, "count": 24},
    },
}


def test_explode_path_skips_keys() -> None:
    rows = run({"explode": {"path": "results", "skip_keys": ["$overall"], "keep": ["computed_at"]}}, [REVENUE])

    assert rows == [
        {"date": "2021-06-01", "computed_at": REVENUE["computed_at"], "amount": 1.5, "count": 100},
        {"date": "2021-06-02", "computed_at": REVENUE["computed_at"], "amount": 2.5, "count": 24},
    ]


def test_explode_record_itself_keeps_fields() -> None:
    record = {"funnel_id": 7, "2024-01-01": {"steps": 3}, "2024-01-02": {"steps": 4}}

    rows = run({"explode": {"key_field": "day", "keep": ["funnel_id"]}}, [record])

    assert rows == [
        {"day": "2024-01-01", "funnel_id": 7, "steps": 3},
        {"day": "2024-01-02", "funnel_id": 7, "steps": 4},
    ]


def test_explode_scalar_values() -> None:
    config = {"explode": {"path": "counts", "key_field": "event", "value_field": "total"}}

    rows = run(config, [{"counts": {"a": 1, "b": 2}}])

    assert rows == [{"event": "a", "total": 1}, {"event": "b", "total": 2}]


def test_explode_missing_path_gives_no_rows() -> None:
    assert run({"explode": {"path": "results"}}, [{"other": 1}, {"results": None}]) == []


def test_explode_path_not_object() -> None:
    message = r"explode: path 'results' selected a JSON array in a record with keys \[results\]"
    with pytest.raises(TransformError, match=message):
        run({"explode": {"path": "results"}}, [{"results": [1, 2]}])


def test_explode_key_field_collision() -> None:
    with pytest.raises(TransformError) as info:
        run({"explode": {"path": "results"}}, [{"results": {"2024-01-01": {"date": "x"}}}])

    assert str(info.value) == (
        "explode: the object under key '2024-01-01' has its own field 'date', which key_field "
        "would overwrite; set key_field to another name"
    )


def test_explode_keep_collision() -> None:
    record = {"name": "outer", "results": {"k": {"name": "inner"}}}

    with pytest.raises(TransformError, match="explode: kept field 'name' \\('outer'\\) and field 'name'"):
        run({"explode": {"path": "results", "keep": ["name"]}}, [record])


def test_explode_keep_equal_value_allowed() -> None:
    record = {"name": "same", "results": {"k": {"name": "same", "n": 1}}}

    rows = run({"explode": {"path": "results", "keep": ["name"]}}, [record])

    assert rows == [{"date": "k", "name": "same", "n": 1}]


# -- hoist ----------------------------------------------------------------------------------


def test_hoist_moves_keys() -> None:
    rows = run({"hoist": {"field": "properties"}}, [{"event": "a", "properties": {"time": 1, "$browser": "x"}}])

    assert rows == [{"event": "a", "time": 1, "$browser": "x"}]


def test_hoist_missing_or_null_field() -> None:
    rows = run({"hoist": {"field": "properties"}}, [{"event": "a"}, {"event": "b", "properties": None}])

    assert rows == [{"event": "a"}, {"event": "b"}]


def test_hoist_equal_value_not_conflict() -> None:
    rows = run({"hoist": {"field": "p"}}, [{"id": 1, "p": {"id": 1, "x": 2}}])

    assert rows == [{"id": 1, "x": 2}]


def test_hoist_conflict_error() -> None:
    with pytest.raises(TransformError) as info:
        run({"hoist": {"field": "properties"}}, [{"event": "a", "properties": {"event": "b"}}])

    assert str(info.value) == (
        "hoist: properties.event ('b') would overwrite the top-level 'event' ('a') in a record "
        "with keys [event, properties]; rename one of them first or set on_conflict: "
        "keep_outer or keep_nested"
    )


@pytest.mark.parametrize(("on_conflict", "expected"), [("keep_outer", "a"), ("keep_nested", "b")])
def test_hoist_conflict_policies(on_conflict: str, expected: str) -> None:
    rows = run(
        {"hoist": {"field": "properties", "on_conflict": on_conflict}},
        [{"event": "a", "properties": {"event": "b", "x": 1}}],
    )

    assert rows == [{"event": expected, "x": 1}]


def test_hoist_not_object() -> None:
    with pytest.raises(TransformError, match="hoist: field 'properties' is a JSON string, not an object"):
        run({"hoist": {"field": "properties"}}, [{"properties": "x"}])


# -- rename_prefix and rename ---------------------------------------------------------------


def test_rename_prefix() -> None:
    config = {"rename_prefix": {"from": "$", "to": "mp_reserved_"}}

    rows = run(config, [{"$browser": "x", "time": 1, "$os": "y"}])

    assert rows == [{"mp_reserved_browser": "x", "time": 1, "mp_reserved_os": "y"}]
    assert list(rows[0]) == ["mp_reserved_browser", "time", "mp_reserved_os"]


def test_rename_prefix_strip() -> None:
    assert run({"rename_prefix": {"from": "$", "to": ""}}, [{"$email": "a"}]) == [{"email": "a"}]


def test_rename_prefix_collision() -> None:
    with pytest.raises(TransformError) as info:
        run(
            {"rename_prefix": {"from": "$", "to": "mp_reserved_"}},
            [{"$browser": "x", "mp_reserved_browser": "y"}],
        )

    assert str(info.value) == (
        "rename_prefix: '$browser' and 'mp_reserved_browser' would both become "
        "'mp_reserved_browser'; rename or drop one of them first"
    )


def test_rename_prefix_leaves_input_list() -> None:
    rows = [{"$a": 1}]

    renamed = run({"rename_prefix": {"from": "$", "to": "_"}}, rows)

    assert rows == [{"$a": 1}]
    assert renamed == [{"_a": 1}]


def test_rename() -> None:
    rows = run({"rename": {"$distinct_id": "distinct_id"}}, [{"$distinct_id": 4, "x": 1}, {"x": 2}])

    assert rows == [{"distinct_id": 4, "x": 1}, {"x": 2}]


def test_rename_swap() -> None:
    assert run({"rename": {"a": "b", "b": "a"}}, [{"a": 1, "b": 2}]) == [{"b": 1, "a": 2}]


def test_rename_collision() -> None:
    with pytest.raises(TransformError, match="rename: 'id' and 'user_id' would both become 'user_id'"):
        run({"rename": {"id": "user_id"}}, [{"id": 1, "user_id": 2}])


def test_rename_two_sources_same_target() -> None:
    with pytest.raises(ValueError, match="transforms\\[0\\]: rename: 'a' and 'b' are both renamed to 'c'"):
        create_transforms([{"rename": {"a": "c", "b": "c"}}])


# -- add_fields and drop --------------------------------------------------------------------


def test_add_fields_parent_placeholder() -> None:
    config = {"add_fields": {"cohort_id": "${parent.id}", "source": "cohort ${parent.name}"}}
    context = {"parent": {"id": 42, "name": "VIP"}}

    rows = run(config, [{"distinct_id": 1}, {"distinct_id": 2}], context)

    assert rows == [
        {"distinct_id": 1, "cohort_id": 42, "source": "cohort VIP"},
        {"distinct_id": 2, "cohort_id": 42, "source": "cohort VIP"},
    ]


def test_add_fields_renders_once_per_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    import restgen.transforms as transforms_module

    calls: list[Any] = []
    original = transforms_module.render

    def counting_render(value: Any, context: Any) -> Any:
        calls.append(value)
        return original(value, context)

    monkeypatch.setattr(transforms_module, "render", counting_render)

    rows = [{"n": index} for index in range(100)]
    run({"add_fields": {"cohort_id": "${parent.id}"}}, rows, {"parent": {"id": 1}})

    assert len(calls) == 1


def test_add_fields_row_placeholder() -> None:
    config = {"add_fields": {"label": "${parent.name}/${row.id}"}}

    rows = run(config, [{"id": 1}, {"id": 2}], {"parent": {"name": "p"}})

    assert rows == [{"id": 1, "label": "p/1"}, {"id": 2, "label": "p/2"}]


def test_add_fields_unknown_placeholder() -> None:
    message = r"add_fields: unknown placeholder '\$\{parent.id\}' \(available: parent.name\)"
    with pytest.raises(TransformError, match=message):
        run({"add_fields": {"cohort_id": "${parent.id}"}}, [{}], {"parent": {"name": "p"}})


def test_add_fields_conflict() -> None:
    message = "add_fields: the record already has 'cohort_id' = 5, which differs from the added 7"
    with pytest.raises(TransformError, match=message):
        run({"add_fields": {"cohort_id": 7}}, [{"cohort_id": 5}])


def test_add_fields_same_value_allowed() -> None:
    assert run({"add_fields": {"cohort_id": 7}}, [{"cohort_id": 7}]) == [{"cohort_id": 7}]


def test_drop() -> None:
    rows = run({"drop": ["$mp_api_endpoint", "missing"]}, [{"$mp_api_endpoint": "x", "a": 1}, {"a": 2}])

    assert rows == [{"a": 1}, {"a": 2}]


# -- to_timestamp ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("time_format", "value", "expected"),
    [
        ("unix_seconds", 1602611311, datetime(2020, 10, 13, 17, 48, 31, tzinfo=UTC)),
        ("unix_seconds", "1602611311", datetime(2020, 10, 13, 17, 48, 31, tzinfo=UTC)),
        ("unix_seconds", 1602611311.5, datetime(2020, 10, 13, 17, 48, 31, 500000, tzinfo=UTC)),
        ("unix_ms", 1602625711874, datetime(2020, 10, 13, 21, 48, 31, 874000, tzinfo=UTC)),
        ("iso8601", "2008-06-09T23:08:40", datetime(2008, 6, 9, 23, 8, 40, tzinfo=UTC)),
        ("iso8601", "2021-07-03T12:43:48Z", datetime(2021, 7, 3, 12, 43, 48, tzinfo=UTC)),
        ("iso8601", "2021-07-03T14:43:48+02:00", datetime(2021, 7, 3, 12, 43, 48, tzinfo=UTC)),
        ("date", "2021-06-01", datetime(2021, 6, 1, tzinfo=UTC)),
        ("%d/%m/%Y %H:%M", "15/08/2023 10:30", datetime(2023, 8, 15, 10, 30, tzinfo=UTC)),
    ],
)
def test_to_timestamp_formats(time_format: str, value: Any, expected: datetime) -> None:
    rows = run({"to_timestamp": {"fields": ["t"], "format": time_format}}, [{"t": value}])

    assert rows[0]["t"] == expected
    assert rows[0]["t"].utcoffset().total_seconds() == 0


def test_to_timestamp_none_and_missing() -> None:
    rows = run({"to_timestamp": {"fields": ["t"], "format": "unix_seconds"}}, [{"t": None}, {"x": 1}])

    assert rows == [{"t": None}, {"x": 1}]


def test_to_timestamp_datetime_input_normalized() -> None:
    aware = datetime(2021, 1, 1, 2, tzinfo=timezone.utc).astimezone(timezone.max)

    rows = run({"to_timestamp": {"fields": ["t"], "format": "unix_seconds"}}, [{"t": aware}])

    assert rows[0]["t"] == datetime(2021, 1, 1, 2, tzinfo=UTC)
    assert rows[0]["t"].tzinfo == UTC


@pytest.mark.parametrize(
    ("time_format", "value", "reason"),
    [
        ("unix_seconds", "soon", "could not convert string to float: 'soon'"),
        ("unix_seconds", True, "a boolean is not a timestamp"),
        ("iso8601", "15/08/53895", "Invalid isoformat string"),
        ("date", "2021-13-01", "month must be in 1..12"),
    ],
)
def test_to_timestamp_unparsable(time_format: str, value: Any, reason: str) -> None:
    with pytest.raises(TransformError) as info:
        run({"to_timestamp": {"fields": ["t"], "format": time_format}}, [{"t": value}])

    message = str(info.value)
    assert message.startswith(f"to_timestamp: field 't' has value {value!r}, which is not {time_format}: ")
    assert reason in message


def test_to_timestamp_invalid_format() -> None:
    message = "format must be unix_seconds, unix_ms, iso8601, date or a strftime pattern"
    with pytest.raises(ValueError, match=message):
        create_transforms([{"to_timestamp": {"fields": ["t"], "format": "epoch"}}])


# -- fill_key -------------------------------------------------------------------------------


def expected_key(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return "restgen:" + hashlib.sha1(text.encode()).hexdigest()


def test_fill_key_all_fields() -> None:
    rows = run({"fill_key": {"field": "insert_id", "from": "all"}}, [{"b": 2, "a": 1, "insert_id": None}])

    assert rows[0]["insert_id"] == expected_key({"a": 1, "b": 2})


def test_fill_key_listed_fields() -> None:
    config = {"fill_key": {"field": "insert_id", "from": ["event", "time"]}}

    rows = run(config, [{"event": "e", "time": 1, "x": 9}])

    assert rows[0]["insert_id"] == expected_key({"event": "e", "time": 1})


def test_fill_key_default_all() -> None:
    rows = run({"fill_key": {"field": "insert_id"}}, [{"a": 1}])

    assert rows[0]["insert_id"] == expected_key({"a": 1})


def test_fill_key_keeps_existing() -> None:
    rows = run({"fill_key": {"field": "insert_id", "from": "all"}}, [{"insert_id": "abc"}])

    assert rows == [{"insert_id": "abc"}]


def test_fill_key_distinct_and_deterministic() -> None:
    config = {"fill_key": {"field": "insert_id", "from": "all"}}
    rows = [{"event": "a", "time": 1}, {"event": "a", "time": 2}, {"time": 1, "event": "a"}]

    first = run(config, [dict(row) for row in rows])
    second = run(config, [dict(row) for row in rows])

    keys = [row["insert_id"] for row in first]
    assert keys[0] != keys[1]
    assert keys[0] == keys[2]
    assert keys == [row["insert_id"] for row in second]


def test_fill_key_no_listed_field_set() -> None:
    with pytest.raises(TransformError, match="fill_key: none of the fields event, time is set"):
        run({"fill_key": {"field": "insert_id", "from": ["event", "time"]}}, [{"x": 1}])


# -- create_transforms ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("configs", "message"),
    [
        (
            [{"hoist": {"field": "p"}, "drop": ["x"]}],
            "transforms[0]: expected a mapping with exactly one transform name",
        ),
        ([["drop"]], "transforms[0]: expected a mapping with exactly one transform name"),
        (
            [{"hoist": {"field": "p"}}, {"explod": {}}],
            "transforms[1]: unknown transform 'explod' (did you mean 'explode'?)",
        ),
        ([{"hoist": {}}], "transforms[0]: hoist: missing option 'field'"),
        (
            [{"hoist": {"field": "p", "mode": "x"}}],
            "transforms[0]: hoist: unknown option 'mode'; valid options: 'field', 'on_conflict'",
        ),
        (
            [{"hoist": {"field": "p", "on_conflict": "merge"}}],
            "on_conflict must be one of error, keep_outer, keep_nested",
        ),
        ([{"hoist": "properties"}], "transforms[0]: hoist: expected a mapping of options, got a str"),
        ([{"rename_prefix": {"from": "", "to": "x"}}], "'from' must be a non-empty string"),
        ([{"drop": "field"}], "drop must be a list of field names"),
        ([{"fill_key": {"field": "k", "from": "some"}}], "'from' must be 'all' or a list of field names"),
        ([{"explode": {"key_field": "v", "value_field": "v"}}], "key_field and value_field are both 'v'"),
        ([{"explode": {"path": "a..b"}}], "invalid jmespath expression 'a..b'"),
    ],
)
def test_create_transforms_invalid(configs: list[Any], message: str) -> None:
    with pytest.raises(ValueError) as info:
        create_transforms(configs)

    assert message in str(info.value)


def test_registry_names() -> None:
    assert list(TRANSFORMS) == [
        "explode",
        "hoist",
        "rename_prefix",
        "rename",
        "add_fields",
        "drop",
        "to_timestamp",
        "fill_key",
    ]
    for name, cls in TRANSFORMS.items():
        assert cls.name == name


def test_create_transforms_types() -> None:
    transforms = create_transforms(
        [
            {"explode": {}},
            {"hoist": {"field": "p"}},
            {"rename_prefix": {"from": "$", "to": "_"}},
            {"rename": {"a": "b"}},
            {"add_fields": {"c": 1}},
            {"drop": ["d"]},
            {"to_timestamp": {"fields": ["t"], "format": "date"}},
            {"fill_key": {"field": "k", "from": "all"}},
        ]
    )

    assert [type(transform) for transform in transforms] == [
        Explode,
        Hoist,
        RenamePrefix,
        Rename,
        AddFields,
        Drop,
        ToTimestamp,
        FillKey,
    ]


# -- the Mixpanel export chain --------------------------------------------------------------

EXPORT_CHAIN = [
    {"hoist": {"field": "properties"}},
    {"rename_prefix": {"from": "$", "to": "mp_reserved_"}},
    {"to_timestamp": {"fields": ["time"], "format": "unix_seconds"}},
    {"fill_key": {"field": "mp_reserved_insert_id", "from": "all"}},
]


def export_events() -> list[dict[str, Any]]:
    return [
        {
            "event": "Signed up",
            "properties": {
                "time": 1602611311,
                "distinct_id": "u1",
                "$insert_id": "hpuDqcvp",
                "$browser": "Chrome",
                "mp_processing_time_ms": 1602625711874,
            },
        },
        {"event": "Viewed", "properties": {"time": 1602611400, "distinct_id": "u1", "$browser": "Chrome"}},
        {"event": "Viewed", "properties": {"time": 1602611401, "distinct_id": "u1", "$browser": "Chrome"}},
    ]


def test_mixpanel_export_chain() -> None:
    rows = apply_transforms(create_transforms(EXPORT_CHAIN), export_events(), {})

    assert rows[0] == {
        "event": "Signed up",
        "time": datetime(2020, 10, 13, 17, 48, 31, tzinfo=UTC),
        "distinct_id": "u1",
        "mp_reserved_insert_id": "hpuDqcvp",
        "mp_reserved_browser": "Chrome",
        "mp_processing_time_ms": 1602625711874,
    }
    assert rows[1]["mp_reserved_insert_id"].startswith("restgen:")
    assert rows[2]["mp_reserved_insert_id"].startswith("restgen:")
    assert rows[1]["mp_reserved_insert_id"] != rows[2]["mp_reserved_insert_id"]


def test_mixpanel_export_chain_deterministic() -> None:
    transforms = create_transforms(EXPORT_CHAIN)

    first = apply_transforms(transforms, export_events(), {})
    second = apply_transforms(transforms, export_events(), {})

    assert first == second


def test_mixpanel_export_chain_property_collision() -> None:
    event = {"event": "Signed up", "properties": {"time": 1, "$browser": "Chrome", "mp_reserved_browser": "x"}}

    message = "rename_prefix: '\\$browser' and 'mp_reserved_browser' would both become"
    with pytest.raises(TransformError, match=message):
        apply_transforms(create_transforms(EXPORT_CHAIN), [event], {})
