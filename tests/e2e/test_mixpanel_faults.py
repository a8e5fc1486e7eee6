"""Server faults: retried failures leave the tables of a fault-free run, and an error in a 200 fails the run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from restgen.cli import main as cli_main
from restgen.errors import RunError
from restgen.simulator import Faults, MixpanelSimulator

from .conftest import load_once
from .mixpanel_run import (
    DEFAULT_TABLES,
    FAST_RETRY_BACKOFF,
    SPEC_PATH,
    run_mixpanel,
    snapshot,
    spec_variables,
)

FAULTS = {
    "5xx": Faults(every_nth_5xx=3),
    "429 with Retry-After 1": Faults(every_nth_429=5, retry_after="1"),
    "429 with Retry-After 0": Faults(every_nth_429=3, retry_after="0"),
    "cut bodies": Faults(every_nth_cut=3),
    "terminated early": Faults(every_nth_terminated_early=2),
    # Co-prime periods, so that retries of one request rarely meet a second fault.
    "all kinds": Faults(every_nth_5xx=7, every_nth_429=11, retry_after="0", every_nth_cut=5, every_nth_terminated_early=4),
}


@pytest.fixture(scope="module")
def fault_free_tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Return the snapshot of a run against a simulator without faults."""
    _, result = load_once(tmp_path_factory, "fault_free")
    tables = snapshot(str(result.database_path))
    for table in DEFAULT_TABLES:
        assert tables[table], f"the fault-free run loaded no rows into {table}"
    return tables


@pytest.mark.parametrize("faults", list(FAULTS.values()), ids=list(FAULTS))
def test_faults_are_retried_to_same_tables(
    faults: Faults,
    fault_free_tables: dict[str, Any],
    simulator_factory: Callable[..., MixpanelSimulator],
    tmp_path: Path,
) -> None:
    simulator = simulator_factory(faults=faults)
    variables = spec_variables(simulator, retry_backoff_seconds=FAST_RETRY_BACKOFF)

    result = run_mixpanel(variables, tmp_path)

    retries = {stats.endpoint: stats.retries for stats in result.stats}
    assert sum(retries.values()) > 0, f"no fault was injected: {retries}"
    if faults.every_nth_terminated_early:
        assert retries["export"] > 0
    tables = snapshot(str(result.database_path))
    assert sorted(tables) == sorted(fault_free_tables)
    for table, rows in fault_free_tables.items():
        assert len(tables[table]) == len(rows), table
        assert tables[table] == rows, table


def test_failed_statuses_reach_the_client(simulator_factory: Callable[..., MixpanelSimulator], tmp_path: Path) -> None:
    simulator = simulator_factory(faults=Faults(every_nth_5xx=4, every_nth_429=5, retry_after="0"))

    run_mixpanel(spec_variables(simulator, retry_backoff_seconds=FAST_RETRY_BACKOFF), tmp_path)

    statuses = {request.status for request in simulator.requests}
    assert 429 in statuses
    assert statuses & {500, 502, 503}


def test_error_in_200_fails_run(simulator_factory: Callable[..., MixpanelSimulator], tmp_path: Path) -> None:
    simulator = simulator_factory(faults=Faults(error_in_200_every=1))

    with pytest.raises(RunError) as failure:
        run_mixpanel(spec_variables(simulator), tmp_path)

    message = str(failure.value)
    assert "Mixpanel returned an error inside a 200 response" in message
    assert "status 200" in message
    assert "Internal query failure" in message


def test_error_in_200_cli_exits_1(
    simulator_factory: Callable[..., MixpanelSimulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator = simulator_factory(faults=Faults(error_in_200_every=1))
    arguments = ["run", str(SPEC_PATH), "--pipelines-dir", str(tmp_path / "pipelines")]
    for name, value in spec_variables(simulator).items():
        arguments += ["--var", f"{name}={value}"]

    exit_code = cli_main(arguments)

    error_output = capsys.readouterr().err
    assert exit_code == 1
    assert "Error: " in error_output
    assert "Mixpanel returned an error inside a 200 response" in error_output
    assert "Traceback" not in error_output
