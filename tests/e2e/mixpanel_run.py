"""Run configs/mixpanel.yaml against the bundled Mixpanel simulator and read back what DuckDB holds.

Every run points the shipped spec at a simulator on 127.0.0.1 through spec variables, the
way ``restgen demo`` does, and loads into a DuckDB file and a dlt pipelines folder inside the
test's temporary folder. Nothing here contacts a real Mixpanel host.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import duckdb

from restgen.demo import DEMO_PROJECT_ID, DEMO_SECRET, DEMO_USER, simulator_variables
from restgen.engine.run import RunResult, run_spec
from restgen.simulator import MixpanelSimulator
from restgen.spec import load_spec

SPEC_PATH = Path(__file__).resolve().parents[2] / "configs" / "mixpanel.yaml"
DATASET = "mixpanel"
# Tables of the endpoints that are enabled by default.
DEFAULT_TABLES = ("export", "engage", "cohorts", "cohort_members", "funnels_list", "funnels", "annotations")

# A fixed simulated date, so that every simulator built with the same arguments serves the
# same events, even when a test runs across midnight UTC.
SIMULATOR_TODAY = dt.date(2026, 3, 18)
# Small enough for a run of a few seconds, large enough for several engage pages, several
# events without $insert_id and events with a custom `browser` property.
SMALL_PROJECT: dict[str, Any] = {
    "seed": 3,
    "today": SIMULATOR_TODAY,
    "days": 6,
    "events_per_day": 40,
    "profiles": 150,
    "max_page_size": 40,
}
# Service account credentials of restgen demo, which every simulator of these tests accepts.
CREDENTIALS: dict[str, Any] = {"username": DEMO_USER, "secret": DEMO_SECRET, "project_id": DEMO_PROJECT_ID}
# Backoff of the first retry in fault tests, set through the spec variable retry_backoff_seconds.
FAST_RETRY_BACKOFF = "0.01"
# The simulator enforces no rate limit unless a test gives it Limits. Runs therefore lift the
# export rate above Mixpanel's 3 per second, which would make 9 daily windows take 3 s.
UNTHROTTLED_EXPORT_RATE = "100"
DLT_COLUMNS = ("_dlt_load_id", "_dlt_id", "_dlt_parent_id", "_dlt_root_id")


def start_simulator(**options: Any) -> MixpanelSimulator:
    """Start a simulator with SMALL_PROJECT and the demo credentials, overridden by ``options``."""
    simulator = MixpanelSimulator(**{**SMALL_PROJECT, **CREDENTIALS, **options})
    simulator.start()
    return simulator


def last_day(simulator: MixpanelSimulator) -> dt.date:
    """Return the simulator's yesterday: the last day with events."""
    return simulator.today - dt.timedelta(days=1)


def spec_variables(simulator: MixpanelSimulator, **overrides: Any) -> dict[str, str]:
    """Return the variables that point the spec at ``simulator`` for its whole history.

    ``end_date`` is the simulator's yesterday, not the real one, and the export rate is
    UNTHROTTLED_EXPORT_RATE. An override of None removes
    the variable, so that the spec's default or environment variable applies.
    """
    variables = simulator_variables(simulator.url, simulator.history_start.isoformat())
    variables["end_date"] = last_day(simulator).isoformat()
    variables["export_requests_per_second"] = UNTHROTTLED_EXPORT_RATE
    for name, value in overrides.items():
        if value is None:
            variables.pop(name, None)
        else:
            variables[name] = str(value)
    return variables


def run_mixpanel(
    variables: dict[str, str],
    workdir: Path,
    *,
    endpoints: Sequence[str] | None = None,
    pipeline_name: str = "mixpanel_e2e",
    full_refresh: bool = False,
) -> RunResult:
    """Load the spec with ``variables`` into ``workdir/<pipeline_name>.duckdb``.

    The caller must have made ``workdir`` the working directory, because dlt puts the DuckDB
    file there.
    """
    spec = load_spec(SPEC_PATH, variables, use_dlt=False)
    result = run_spec(
        spec,
        endpoints=endpoints,
        pipeline_name=pipeline_name,
        pipelines_dir=workdir / "pipelines",
        full_refresh=full_refresh,
    )
    assert result.database_path is not None
    assert Path(result.database_path).parent == workdir.resolve()
    return result


def query(database: str | Path, sql: str, parameters: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
    """Run ``sql`` on a read-only connection to ``database`` and return every row."""
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(sql, parameters or []).fetchall()


def scalar(database: str | Path, sql: str, parameters: Sequence[Any] | None = None) -> Any:
    """Return the single value that ``sql`` selects."""
    rows = query(database, sql, parameters)
    assert len(rows) == 1, f"{sql} returned {len(rows)} rows"
    return rows[0][0]


def columns(database: str | Path, table: str) -> dict[str, str]:
    """Return the column names of ``mixpanel.<table>`` with their DuckDB types."""
    rows = query(
        database,
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
        [DATASET, table],
    )
    return dict(rows)


def tables(database: str | Path) -> list[str]:
    """Return the data tables of the dataset, child tables included and dlt's own tables left out."""
    rows = query(
        database,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_name NOT LIKE '\\_dlt%' ESCAPE '\\'",
        [DATASET],
    )
    return sorted(row[0] for row in rows)


def row_counts(database: str | Path, names: Iterable[str]) -> dict[str, int]:
    """Return the number of rows of each table in ``names``."""
    return {name: scalar(database, f'SELECT count(*) FROM {DATASET}."{name}"') for name in names}


def _comparable(row: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((name, repr(value)) for name, value in row.items()))


def _read_rows(connection: duckdb.DuckDBPyConnection, table: str) -> list[dict[str, Any]]:
    cursor = connection.execute(f'SELECT * FROM {DATASET}."{table}"')
    names = [description[0] for description in cursor.description]
    return [dict(zip(names, values)) for values in cursor.fetchall()]


def _without_dlt_ids(row: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in row.items() if name not in DLT_COLUMNS}


def snapshot(database: str | Path) -> dict[str, list[tuple[Any, ...]]]:
    """Return every data table as a sorted list of rows without dlt's load and row ids.

    A row of a child table (such as export__categories) is paired with the content of its
    parent row, so that it compares by content rather than by the random ``_dlt_id`` of its
    parent. Column order does not matter, because it depends on which record dlt saw first.
    """
    result: dict[str, list[tuple[Any, ...]]] = {}
    with duckdb.connect(str(database), read_only=True) as connection:
        rows_by_table = {table: _read_rows(connection, table) for table in tables(database)}
    for table, rows in rows_by_table.items():
        if "__" not in table:
            result[table] = sorted(_comparable(_without_dlt_ids(row)) for row in rows)
            continue
        parent_rows = rows_by_table[table.rsplit("__", 1)[0]]
        parents = {row["_dlt_id"]: _comparable(_without_dlt_ids(row)) for row in parent_rows}
        result[table] = sorted((_comparable(_without_dlt_ids(row)), parents[row["_dlt_parent_id"]]) for row in rows)
    return result
