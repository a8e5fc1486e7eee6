"""Proactive rate limits: with client limits at least as strict as the server's, no request is rejected."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from restgen.simulator import Limits, MixpanelSimulator

from .mixpanel_run import SPEC_PATH, row_counts, spec_variables

# The client's windows are fixed at 1 s, 60 s and 3600 s, so a 2-second server window can
# only be matched by an hourly budget no larger than the server's window budget. The budget
# is therefore the number of counted requests of one run of the small project: the first
# engage page, cohorts/list, the first member page of 4 cohorts, funnels/list and 3 funnels.
QUERY_BUDGET = 10
# One export request per day of the 6-day history.
EXPORT_BUDGET = 6
SERVER_LIMITS = Limits(
    query_per_window=QUERY_BUDGET,
    query_concurrency=2,
    export_per_window=EXPORT_BUDGET,
    export_per_second=4,
    export_concurrency=1,
    window_seconds=2,
)
# Half the server's per-second export rate leaves room for requests that arrive at the
# server closer together than the client sent them.
CLIENT_LIMITS = {
    "query_requests_per_hour": QUERY_BUDGET,
    "query_concurrency": 2,
    "export_requests_per_hour": EXPORT_BUDGET,
    "export_requests_per_second": 2,
}
# A client that overran an hourly budget would wait up to an hour, so the run is a child
# process that is killed after this many seconds.
RUN_TIMEOUT_SECONDS = 120
CLI_COMMAND = "import sys; from restgen.cli import main; sys.exit(main(sys.argv[1:]))"


def run_cli_process(variables: dict[str, str], workdir: Path) -> subprocess.CompletedProcess[str]:
    arguments = [sys.executable, "-c", CLI_COMMAND, "run", str(SPEC_PATH), "--pipelines-dir", str(workdir / "pipelines")]
    for name, value in variables.items():
        arguments += ["--var", f"{name}={value}"]
    try:
        return subprocess.run(arguments, cwd=workdir, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"restgen run timed out after {RUN_TIMEOUT_SECONDS} s. The client probably sent more counted "
            "requests than its hourly budget allows and is waiting for the window to free a slot."
        )


def loaded_database(output: str) -> str:
    """Return the DuckDB path from the line ``Loaded into PATH, dataset NAME.`` of restgen run."""
    match = re.search(r"^Loaded into (.+), dataset \w+\.$", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def test_client_limits_avoid_violations(simulator_factory: Callable[..., MixpanelSimulator], tmp_path: Path) -> None:
    # Latency keeps requests in flight long enough for the concurrency caps to matter.
    simulator = simulator_factory(limits=SERVER_LIMITS, latency=0.05)
    variables = spec_variables(simulator, **CLIENT_LIMITS)

    completed = run_cli_process(variables, tmp_path)

    assert completed.returncode == 0, completed.stderr[-3000:]
    assert simulator.violations == {}
    assert all(request.status != 429 for request in simulator.requests)
    counted = [request for request in simulator.requests if request.counted]
    assert sum(1 for request in counted if request.path.startswith("/api/query/")) == QUERY_BUDGET
    assert sum(1 for request in counted if request.path == "/api/2.0/export") == EXPORT_BUDGET
    concurrency = simulator.max_concurrency_seen
    assert concurrency["query"] <= 2
    assert concurrency["export"] == 1
    database = loaded_database(completed.stdout)
    assert Path(database).parent == tmp_path
    counts = row_counts(database, ["export", "engage"])
    assert counts["export"] == len(simulator.events())
    assert counts["engage"] == len(simulator.profiles())


def test_engage_later_pages_use_no_budget(simulator_factory: Callable[..., MixpanelSimulator], tmp_path: Path) -> None:
    """Engage pages after the first are free on the server, and the client does not count them either.

    The run sends more Query API requests than the hourly budget allows, so a client that
    counted every engage page would wait for the window and hit the timeout.
    """
    simulator = simulator_factory(limits=SERVER_LIMITS)
    variables = spec_variables(simulator, **CLIENT_LIMITS)

    completed = run_cli_process(variables, tmp_path)

    assert completed.returncode == 0, completed.stderr[-3000:]
    query_requests = [request for request in simulator.requests if request.path.startswith("/api/query/")]
    assert len(query_requests) > QUERY_BUDGET
    assert simulator.violations == {}

