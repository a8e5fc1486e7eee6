"""Every table that configs/mixpanel.yaml loads, compared with the data the simulator generated."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from restgen.engine.run import RunResult
from restgen.simulator import MixpanelSimulator

from .conftest import load_once
from .mixpanel_run import (
    DATASET,
    DEFAULT_TABLES,
    columns,
    last_day,
    query,
    run_mixpanel,
    scalar,
    spec_variables,
    tables,
)

RESTGEN_KEY = re.compile(r"^restgen:[0-9a-f]{40}$")


@dataclass
class Loaded:
    """One full run of the default endpoints and the simulator it read from (stopped by now)."""

    simulator: MixpanelSimulator
    result: RunResult
    database: Path

    @property
    def first_day(self) -> dt.date:
        return self.simulator.history_start

    @property
    def last_day(self) -> dt.date:
        return last_day(self.simulator)

    def events(self) -> list[dict[str, Any]]:
        return self.simulator.events(self.first_day, self.last_day)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    """Load every default endpoint once. The tests of this module only read the result."""
    simulator, result = load_once(tmp_path_factory, "tables")
    return Loaded(simulator, result, Path(str(result.database_path)))


def event_identity(properties: dict[str, Any], name: str) -> tuple[int, str, str]:
    """Identify an event by time, name and distinct_id, because the simulator gives each event its own second."""
    return (int(properties["time"]), name, properties["distinct_id"])


def export_rows(loaded: Loaded) -> dict[tuple[int, str, str], dict[str, Any]]:
    names = ("seconds", "event", "distinct_id", "mp_reserved_insert_id", "browser", "mp_reserved_browser",
             "mp_reserved_city", "mp_reserved_current_url", "mp_lib", "mp_processing_time_ms", "cart__total")
    rows = query(
        loaded.database,
        f"SELECT epoch(time), {', '.join(names[1:])} FROM {DATASET}.export",
    )
    by_identity = {}
    for values in rows:
        row = dict(zip(names, values))
        identity = (int(row["seconds"]), row["event"], row["distinct_id"])
        assert identity not in by_identity, f"two export rows for the event {identity}"
        by_identity[identity] = row
    return by_identity


# Run summary and table set


def test_run_loads_every_default_table(loaded: Loaded) -> None:
    loaded_tables = tables(loaded.database)

    for table in DEFAULT_TABLES:
        assert table in loaded_tables
    assert "revenue" not in loaded_tables, "revenue is disabled by default"


def test_run_summary_counts_match_tables(loaded: Loaded) -> None:
    for table in DEFAULT_TABLES:
        in_table = scalar(loaded.database, f"SELECT count(*) FROM {DATASET}.{table}")
        assert loaded.result.table_rows.get(table) == in_table, table


def test_no_column_keeps_a_dollar_sign(loaded: Loaded) -> None:
    for table in tables(loaded.database):
        names = [name for name in columns(loaded.database, table) if "$" in name]
        assert names == [], f"{table} has columns with $: {names}"


# export


def test_export_has_one_row_per_event(loaded: Loaded) -> None:
    events = loaded.events()
    rows = export_rows(loaded)

    assert len(events) == 240
    assert len(rows) == len(events)
    expected = {event_identity(event["properties"], event["event"]) for event in events}
    assert set(rows) == expected


def test_export_row_values_match_events(loaded: Loaded) -> None:
    rows = export_rows(loaded)

    for event in loaded.events():
        properties = event["properties"]
        row = rows[event_identity(properties, event["event"])]
        assert row["mp_reserved_browser"] == properties["$browser"]
        assert row["browser"] == properties.get("browser")
        assert row["mp_reserved_city"] == properties["$city"]
        assert row["mp_reserved_current_url"] == properties["$current_url"]
        assert row["mp_lib"] == properties["mp_lib"]
        assert row["mp_processing_time_ms"] == properties["mp_processing_time_ms"]
        assert row["cart__total"] == properties.get("cart", {}).get("total")


def test_export_keys_are_present_and_unique(loaded: Loaded) -> None:
    total = scalar(loaded.database, f"SELECT count(*) FROM {DATASET}.export")
    with_key = scalar(loaded.database, f"SELECT count(mp_reserved_insert_id) FROM {DATASET}.export")
    distinct = scalar(loaded.database, f"SELECT count(DISTINCT mp_reserved_insert_id) FROM {DATASET}.export")

    assert with_key == total
    assert distinct == total


def test_export_keeps_mixpanel_insert_ids(loaded: Loaded) -> None:
    rows = export_rows(loaded)

    for event in loaded.events():
        properties = event["properties"]
        if "$insert_id" in properties:
            assert rows[event_identity(properties, event["event"])]["mp_reserved_insert_id"] == properties["$insert_id"]


def test_export_fills_missing_insert_ids(loaded: Loaded) -> None:
    """Events sent without $insert_id keep one row each, under a restgen: key."""
    rows = export_rows(loaded)
    without_id = [event for event in loaded.events() if "$insert_id" not in event["properties"]]
    assert len(without_id) >= 2, "the simulated project must contain events without $insert_id"

    keys = [rows[event_identity(event["properties"], event["event"])]["mp_reserved_insert_id"] for event in without_id]
    for key in keys:
        assert RESTGEN_KEY.match(key), key
    assert len(set(keys)) == len(keys)
    generated = scalar(loaded.database, f"SELECT count(*) FROM {DATASET}.export WHERE mp_reserved_insert_id LIKE 'restgen:%'")
    assert generated == len(without_id)


def test_export_keeps_both_browser_columns(loaded: Loaded) -> None:
    export_columns = columns(loaded.database, "export")
    rows = export_rows(loaded).values()

    assert "browser" in export_columns
    assert "mp_reserved_browser" in export_columns
    both = [row for row in rows if row["browser"] is not None]
    assert both, "the simulated project must contain events with a custom browser property"
    assert all(row["mp_reserved_browser"] is not None for row in rows)
    assert any(row["browser"] != row["mp_reserved_browser"] for row in both)


def test_export_time_is_utc_timestamp(loaded: Loaded) -> None:
    assert columns(loaded.database, "export")["time"] == "TIMESTAMP WITH TIME ZONE"

    per_day = dict(query(
        loaded.database,
        f"SELECT strftime(time AT TIME ZONE 'UTC', '%Y-%m-%d'), count(*) FROM {DATASET}.export GROUP BY 1",
    ))
    expected = Counter(
        dt.datetime.fromtimestamp(event["properties"]["time"], dt.timezone.utc).date().isoformat()
        for event in loaded.events()
    )
    assert per_day == dict(expected)
    assert len(per_day) == 6


def test_export_lists_become_child_rows(loaded: Loaded) -> None:
    expected = sum(len(event["properties"].get("categories", [])) for event in loaded.events())

    loaded_values = scalar(loaded.database, f"SELECT count(*) FROM {DATASET}.export__categories")

    assert expected > 0
    assert loaded_values == expected


# engage


def test_engage_has_one_row_per_profile(loaded: Loaded) -> None:
    profiles = loaded.simulator.profiles()
    total = scalar(loaded.database, f"SELECT count(*) FROM {DATASET}.engage")
    distinct_ids = [row[0] for row in query(loaded.database, f"SELECT distinct_id FROM {DATASET}.engage")]

    assert len(profiles) == 150
    assert total == len(profiles)
    assert len(set(distinct_ids)) == len(distinct_ids)
    assert set(distinct_ids) == {profile["$distinct_id"] for profile in profiles}


def test_engage_renames_reserved_properties(loaded: Loaded) -> None:
    engage_columns = columns(loaded.database, "engage")

    for name in ("mp_reserved_email", "mp_reserved_first_name", "mp_reserved_last_name",
                 "mp_reserved_created", "mp_reserved_last_seen", "mp_reserved_city", "plan"):
        assert name in engage_columns, name


def test_engage_keeps_custom_email_apart(loaded: Loaded) -> None:
    rows = {
        distinct_id: (reserved, custom)
        for distinct_id, reserved, custom in query(
            loaded.database, f"SELECT distinct_id, mp_reserved_email, email FROM {DATASET}.engage"
        )
    }
    custom_count = 0

    for profile in loaded.simulator.profiles():
        properties = profile["$properties"]
        reserved, custom = rows[profile["$distinct_id"]]
        assert reserved == properties["$email"]
        assert custom == properties.get("email")
        custom_count += "email" in properties
    assert custom_count > 0, "the simulated project must contain profiles with a custom email"


# cohorts and cohort_members


def test_cohorts_match_simulator(loaded: Loaded) -> None:
    rows = query(loaded.database, f"SELECT id, name, count, is_visible, description, project_id FROM {DATASET}.cohorts ORDER BY id")
    expected = [
        (cohort["id"], cohort["name"], cohort["count"], cohort["is_visible"], cohort["description"], cohort["project_id"])
        for cohort in sorted(loaded.simulator.cohorts(), key=lambda cohort: cohort["id"])
    ]

    assert rows == expected
    assert len(rows) == 4


def test_cohort_members_match_each_cohort(loaded: Loaded) -> None:
    for cohort in loaded.simulator.cohorts():
        members = loaded.simulator.cohort_members(cohort["id"])
        loaded_ids = [
            row[0]
            for row in query(loaded.database, f"SELECT distinct_id FROM {DATASET}.cohort_members WHERE cohort_id = ?", [cohort["id"]])
        ]
        assert len(loaded_ids) == len(members), f"cohort {cohort['id']}"
        assert set(loaded_ids) == {member["$distinct_id"] for member in members}, f"cohort {cohort['id']}"


def test_cohort_members_key_is_unique(loaded: Loaded) -> None:
    total = scalar(loaded.database, f"SELECT count(*) FROM {DATASET}.cohort_members")
    distinct = scalar(loaded.database, f"SELECT count(*) FROM (SELECT DISTINCT cohort_id, distinct_id FROM {DATASET}.cohort_members)")
    expected = sum(len(loaded.simulator.cohort_members(cohort["id"])) for cohort in loaded.simulator.cohorts())

    assert total == expected
    assert distinct == total


def test_cohort_members_carry_profile_columns(loaded: Loaded) -> None:
    member_columns = columns(loaded.database, "cohort_members")

    for name in ("cohort_id", "distinct_id", "mp_reserved_email", "mp_reserved_last_seen"):
        assert name in member_columns, name


# funnels_list and funnels


def test_funnels_list_matches_simulator(loaded: Loaded) -> None:
    rows = query(loaded.database, f"SELECT funnel_id, name FROM {DATASET}.funnels_list ORDER BY funnel_id")

    assert rows == [(funnel["funnel_id"], funnel["name"]) for funnel in loaded.simulator.funnels_list()]


def test_funnels_have_one_row_per_funnel_and_date(loaded: Loaded) -> None:
    rows = query(loaded.database, f"SELECT funnel_id, strftime(date, '%Y-%m-%d'), funnel_name FROM {DATASET}.funnels")
    expected = {
        (funnel["funnel_id"], day, funnel["name"])
        for funnel in loaded.simulator.funnels_list()
        for day in loaded.simulator.funnel_data(funnel["funnel_id"], loaded.first_day, loaded.last_day)
    }

    assert len(rows) == 3 * 6
    assert len(set(rows)) == len(rows)
    assert set(rows) == expected
    assert all(row[1] != "$overall" for row in rows)


def test_funnel_values_match_simulator(loaded: Loaded) -> None:
    rows = {
        (funnel_id, day): (completion, starting_amount)
        for funnel_id, day, completion, starting_amount in query(
            loaded.database,
            f"SELECT funnel_id, strftime(date, '%Y-%m-%d'), analysis__completion, analysis__starting_amount FROM {DATASET}.funnels",
        )
    }
    expected_steps = 0

    for funnel in loaded.simulator.funnels_list():
        data = loaded.simulator.funnel_data(funnel["funnel_id"], loaded.first_day, loaded.last_day)
        for day, result in data.items():
            analysis = result["analysis"]
            assert rows[(funnel["funnel_id"], day)] == (analysis["completion"], analysis["starting_amount"])
            expected_steps += len(result["steps"])
    assert scalar(loaded.database, f"SELECT count(*) FROM {DATASET}.funnels__steps") == expected_steps


# annotations


def test_annotations_match_simulator(loaded: Loaded) -> None:
    rows = query(
        loaded.database,
        f"SELECT id, description, strftime(date AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S'), user__id FROM {DATASET}.annotations ORDER BY id",
    )
    expected = [
        (record["id"], record["description"], record["date"], record["user"]["id"])
        for record in sorted(loaded.simulator.annotations(), key=lambda record: record["id"])
    ]

    assert rows == expected
    assert len(rows) == 7


# revenue (disabled by default)


def test_revenue_loads_when_enabled(simulator: MixpanelSimulator, tmp_path: Path) -> None:
    result = run_mixpanel(spec_variables(simulator), tmp_path, endpoints=["revenue"])
    database = str(result.database_path)
    rows = query(database, f"SELECT strftime(date, '%Y-%m-%d'), amount, count, paid_count FROM {DATASET}.revenue ORDER BY date")
    expected = simulator.revenue(simulator.history_start, last_day(simulator))

    assert "$overall" in expected
    assert [row[0] for row in rows] == sorted(day for day in expected if day != "$overall")
    for day, amount, count, paid_count in rows:
        assert (amount, count, paid_count) == (expected[day]["amount"], expected[day]["count"], expected[day]["paid_count"]), day
    assert tables(database) == ["revenue"]


# The events variable


def test_events_variable_filters_export(simulator: MixpanelSimulator, tmp_path: Path) -> None:
    variables = spec_variables(simulator, events='["Purchase", "Sign up"]')

    result = run_mixpanel(variables, tmp_path, endpoints=["export"])

    counts = dict(query(str(result.database_path), f"SELECT event, count(*) FROM {DATASET}.export GROUP BY event"))
    expected = Counter(event["event"] for event in simulator.events(event_names=["Purchase", "Sign up"]))
    assert counts == dict(expected)
    assert set(counts) == {"Purchase", "Sign up"}


def test_funnel_dates_are_date_columns(loaded: Loaded) -> None:
    kinds = query(
        loaded.database,
        "SELECT data_type FROM information_schema.columns WHERE table_schema = ? AND table_name = 'funnels' AND column_name = 'date'",
        [DATASET],
    )

    assert kinds == [("DATE",)]
