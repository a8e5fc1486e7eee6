"""Later runs: re-reading the attribution window changes nothing, and a new day adds exactly its events."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from restgen.simulator import MixpanelSimulator

from .conftest import isolate_environment
from .mixpanel_run import (
    DATASET,
    DEFAULT_TABLES,
    last_day,
    query,
    row_counts,
    run_mixpanel,
    snapshot,
    spec_variables,
    start_simulator,
)

# The spec's default of attribution_window_days.
ATTRIBUTION_WINDOW_DAYS = 5
# More days than the attribution window, so a second run requests fewer days than the first.
HISTORY_DAYS = 9


@dataclass
class TableState:
    """What the database held after one run, and the date ranges that run requested."""

    counts: dict[str, int]
    tables: dict[str, Any]
    insert_ids: set[str]
    export_ranges: list[tuple[str, str]]
    funnel_ranges: list[tuple[str, str]]


@dataclass
class TwoRuns:
    """A simulator and the state after a first and a second run against it."""

    simulator: MixpanelSimulator
    database: str
    first: TableState
    second: TableState


def days(first: dt.date, last: dt.date) -> list[str]:
    count = (last - first).days + 1
    return [(first + dt.timedelta(days=offset)).isoformat() for offset in range(count)]


def requested_ranges(simulator: MixpanelSimulator, path: str) -> list[tuple[str, str]]:
    """Return the (from_date, to_date) of every request to ``path``, in the order received."""
    return [
        (request.params["from_date"], request.params["to_date"])
        for request in simulator.requests
        if request.path == path
    ]


def table_state(simulator: MixpanelSimulator, database: str) -> TableState:
    ids = {row[0] for row in query(database, f"SELECT mp_reserved_insert_id FROM {DATASET}.export")}
    return TableState(
        counts=row_counts(database, DEFAULT_TABLES),
        tables=snapshot(database),
        insert_ids=ids,
        export_ranges=requested_ranges(simulator, "/api/2.0/export"),
        funnel_ranges=requested_ranges(simulator, "/api/query/funnels"),
    )


def run_twice(tmp_path_factory: pytest.TempPathFactory, name: str, add_day: bool) -> TwoRuns:
    """Run the spec, optionally complete a simulated day, and run it again with end_date at the last day."""
    workdir = tmp_path_factory.mktemp(name)
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate_environment(monkeypatch, workdir)
        simulator = start_simulator(days=HISTORY_DAYS)
        try:
            database = str(run_mixpanel(spec_variables(simulator), workdir).database_path)
            first = table_state(simulator, database)
            if add_day:
                simulator.add_day()
            simulator.reset_requests()
            run_mixpanel(spec_variables(simulator), workdir)
            second = table_state(simulator, database)
        finally:
            simulator.stop()
    return TwoRuns(simulator, database, first, second)


@pytest.fixture(scope="module")
def rerun(tmp_path_factory: pytest.TempPathFactory) -> TwoRuns:
    """Two runs with no new data in between."""
    return run_twice(tmp_path_factory, "rerun", add_day=False)


@pytest.fixture(scope="module")
def next_day(tmp_path_factory: pytest.TempPathFactory) -> TwoRuns:
    """Two runs with one simulated day completed in between, and the second ends on that day."""
    return run_twice(tmp_path_factory, "next_day", add_day=True)


# A second run without new data


def test_second_run_keeps_row_counts(rerun: TwoRuns) -> None:
    assert rerun.second.counts == rerun.first.counts
    assert rerun.first.counts["export"] == len(rerun.simulator.events())


def test_second_run_keeps_table_contents(rerun: TwoRuns) -> None:
    for table, rows in rerun.first.tables.items():
        assert rerun.second.tables[table] == rows, table


def test_second_run_keeps_generated_keys(rerun: TwoRuns) -> None:
    """Re-read events without $insert_id get the same restgen: key again, so merge replaces them."""
    generated_before = {key for key in rerun.first.insert_ids if key.startswith("restgen:")}
    generated_after = {key for key in rerun.second.insert_ids if key.startswith("restgen:")}

    assert generated_before, "the simulated project must contain events without $insert_id"
    assert generated_after == generated_before


def test_second_run_adds_no_duplicate_keys(rerun: TwoRuns) -> None:
    keys = {
        "export": "mp_reserved_insert_id",
        "engage": "distinct_id",
        "cohorts": "id",
        "cohort_members": "(cohort_id, distinct_id)",
        "funnels_list": "funnel_id",
        "funnels": "(funnel_id, date)",
        "annotations": "id",
    }
    for table, key in keys.items():
        total, distinct = query(rerun.database, f"SELECT count(*), count(DISTINCT {key}) FROM {DATASET}.{table}")[0]
        assert total == distinct, table


def test_first_run_requests_each_day(rerun: TwoRuns) -> None:
    history = days(rerun.simulator.history_start, last_day(rerun.simulator))

    # window_days is 1, so each export request covers one day.
    assert rerun.first.export_ranges == [(day, day) for day in history]
    funnels = len(rerun.simulator.funnels_list())
    assert rerun.first.funnel_ranges == [(history[0], history[-1])] * funnels


def test_second_run_requests_only_lookback(rerun: TwoRuns) -> None:
    end = last_day(rerun.simulator)
    # The cursor is the time of the last event, which is on the last day. The second run
    # starts the attribution window before that day and ends at end_date.
    lookback = days(end - dt.timedelta(days=ATTRIBUTION_WINDOW_DAYS), end)

    assert len(lookback) < HISTORY_DAYS
    assert rerun.second.export_ranges == [(day, day) for day in lookback]
    funnels = len(rerun.simulator.funnels_list())
    assert rerun.second.funnel_ranges == [(lookback[0], lookback[-1])] * funnels


# A second run after a new day


def test_new_day_adds_its_events(next_day: TwoRuns) -> None:
    new_day = last_day(next_day.simulator)
    new_events = next_day.simulator.events(new_day, new_day)
    added = next_day.second.insert_ids - next_day.first.insert_ids

    assert len(new_events) == 40
    assert next_day.second.counts["export"] == next_day.first.counts["export"] + len(new_events)
    assert len(added) == len(new_events)
    assert next_day.first.insert_ids <= next_day.second.insert_ids
    with_ids = {event["properties"]["$insert_id"] for event in new_events if "$insert_id" in event["properties"]}
    assert with_ids <= added


def test_new_day_requests_end_on_it(next_day: TwoRuns) -> None:
    new_day = last_day(next_day.simulator)
    lookback = days(new_day - dt.timedelta(days=ATTRIBUTION_WINDOW_DAYS + 1), new_day)

    assert next_day.second.export_ranges == [(day, day) for day in lookback]


def test_new_day_adds_funnel_rows(next_day: TwoRuns) -> None:
    new_day = last_day(next_day.simulator)
    funnels = next_day.simulator.funnels_list()
    new_rows = query(next_day.database, f"SELECT funnel_id FROM {DATASET}.funnels WHERE date = ? ORDER BY funnel_id", [new_day.isoformat()])

    assert next_day.second.counts["funnels"] == next_day.first.counts["funnels"] + len(funnels)
    assert [row[0] for row in new_rows] == [funnel["funnel_id"] for funnel in funnels]


def test_new_day_keeps_other_tables(next_day: TwoRuns) -> None:
    for table in ("engage", "cohorts", "cohort_members", "funnels_list", "annotations"):
        assert next_day.second.counts[table] == next_day.first.counts[table], table
        assert next_day.second.tables[table] == next_day.first.tables[table], table
