"""Transforms declared in a spec, checked on the rows that land in DuckDB."""

from __future__ import annotations

import datetime as dt

from .conftest import ApiServer, Engine

EVENTS = [
    {"event": "Signed up", "properties": {"time": 1704067200, "$browser": "Firefox", "$insert_id": "ins-1", "debug": "x"}},
    {"event": "Purchase", "properties": {"time": 1704153600, "$browser": "Chrome", "debug": "y"}},
    {"event": "Purchase", "properties": {"time": 1704153601, "$browser": "Chrome", "debug": "z"}},
]


def test_hoist_rename_drop_timestamp_key(engine: Engine, api: ApiServer) -> None:
    api.json_route("/events", lambda request: EVENTS)
    transforms = [
        {"hoist": {"field": "properties"}},
        {"rename_prefix": {"from": "$", "to": "mp_"}},
        {"rename": {"event": "event_name"}},
        {"drop": ["debug"]},
        {"to_timestamp": {"fields": ["time"], "format": "unix_seconds"}},
        {"fill_key": {"field": "mp_insert_id", "from": "all"}},
    ]
    endpoint = {"name": "events", "path": "events", "transforms": transforms, "primary_key": "mp_insert_id", "write_disposition": "merge"}
    spec = engine.write_spec([endpoint])

    engine.run(spec)

    columns = {row[0]: row[1] for row in engine.query("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'events' AND table_schema = 'testapi'")}
    assert {"event_name", "mp_browser", "mp_insert_id", "time"} <= set(columns)
    assert "debug" not in columns
    assert "event" not in columns
    assert "properties" not in columns
    assert columns["time"].startswith("TIMESTAMP")
    rows = engine.query("SELECT event_name, mp_browser, mp_insert_id, time FROM events ORDER BY time")
    assert [row[:2] for row in rows] == [("Signed up", "Firefox"), ("Purchase", "Chrome"), ("Purchase", "Chrome")]
    assert rows[0][2] == "ins-1"
    assert rows[1][2].startswith("restgen:")
    assert rows[2][2].startswith("restgen:")
    assert rows[1][2] != rows[2][2]
    assert rows[0][3] == dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


def test_fill_key_stable_across_runs(engine: Engine, api: ApiServer) -> None:
    api.json_route("/events", lambda request: EVENTS)
    transforms = [{"hoist": {"field": "properties"}}, {"fill_key": {"field": "$insert_id", "from": ["time", "event"]}}, {"rename_prefix": {"from": "$", "to": "mp_"}}]
    endpoint = {"name": "events", "path": "events", "transforms": transforms, "primary_key": "mp_insert_id", "write_disposition": "merge"}
    spec = engine.write_spec([endpoint])

    engine.run(spec)
    engine.run(spec)

    assert engine.count("events") == 3
    assert engine.query("SELECT count(DISTINCT mp_insert_id) FROM events")[0][0] == 3


def test_explode_with_parent_fields(engine: Engine, api: ApiServer) -> None:
    api.json_route("/funnels/list", lambda request: [{"id": 7, "name": "Checkout"}, {"id": 8, "name": "Signup"}])

    def funnel(request: object) -> dict[str, object]:
        funnel_id = int(request.arg("funnel_id"))  # type: ignore[attr-defined]
        return {
            "data": {
                "$overall": {"count": 999},
                "2024-01-01": {"count": funnel_id * 10},
                "2024-01-02": {"count": funnel_id * 10 + 1},
            }
        }

    api.json_route("/funnels", funnel)
    child = {
        "name": "funnel_days",
        "path": "funnels",
        "depends_on": "funnels",
        "param_mapping": {"funnel_id": "id"},
        "data_selector": "data",
        "transforms": [
            {"explode": {"key_field": "date", "skip_keys": ["$overall"]}},
            {"add_fields": {"funnel_id": "${parent.id}", "label": "funnel ${parent.name}", "origin": "api"}},
        ],
        "primary_key": ["funnel_id", "date"],
        "write_disposition": "merge",
    }
    spec = engine.write_spec([{"name": "funnels", "path": "funnels/list"}, child])

    engine.run(spec)

    rows = engine.query("SELECT funnel_id, date, count, label, origin FROM funnel_days ORDER BY funnel_id, date")
    assert rows == [
        (7, "2024-01-01", 70, "funnel Checkout", "api"),
        (7, "2024-01-02", 71, "funnel Checkout", "api"),
        (8, "2024-01-01", 80, "funnel Signup", "api"),
        (8, "2024-01-02", 81, "funnel Signup", "api"),
    ]


def test_rename_collision_fails(engine: Engine, api: ApiServer) -> None:
    api.json_route("/users", lambda request: [{"id": 1, "user_name": "a", "name": "b"}])
    endpoint = {"name": "users", "path": "users", "transforms": [{"rename": {"user_name": "name"}}]}
    spec = engine.write_spec([endpoint])

    code, _, err = engine.cli_run(spec)

    assert code == 1
    assert "users: " in err
    assert "rename" in err
    assert "'name'" in err
    assert "Traceback" not in err
    assert "users" not in engine.tables()
