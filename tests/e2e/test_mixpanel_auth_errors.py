"""Credentials and request errors: the legacy project secret, a to_date after today, a missing project id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from restgen.cli import main as cli_main
from restgen.errors import RunError
from restgen.simulator import MixpanelSimulator

from .mixpanel_run import DEFAULT_TABLES, SPEC_PATH, row_counts, run_mixpanel, spec_variables

API_SECRET = "e2e-project-secret"


def cli_arguments(variables: dict[str, str], workdir: Path, *extra: str) -> list[str]:
    arguments = ["run", str(SPEC_PATH), "--pipelines-dir", str(workdir / "pipelines"), *extra]
    for name, value in variables.items():
        arguments += ["--var", f"{name}={value}"]
    return arguments


# Legacy project secret


def test_project_secret_as_username_loads_everything(
    simulator_factory: Callable[..., MixpanelSimulator], tmp_path: Path
) -> None:
    simulator = simulator_factory(api_secret=API_SECRET)
    variables = spec_variables(simulator, username=API_SECRET, secret="")

    result = run_mixpanel(variables, tmp_path)

    counts = row_counts(str(result.database_path), DEFAULT_TABLES)
    assert counts["export"] == len(simulator.events())
    assert counts["engage"] == len(simulator.profiles())
    assert all(count > 0 for count in counts.values()), counts
    assert all(request.status == 200 for request in simulator.requests)
    # The App API accepts service accounts only, so the annotations come from the legacy path.
    assert counts["annotations"] == len(simulator.annotations())
    assert [stats.endpoint for stats in result.stats if stats.endpoint.startswith("annotations")] == ["annotations_legacy"]
    assert not any(request.path.startswith("/api/app/") for request in simulator.requests)


def test_service_account_reads_app_annotations(simulator_factory: Callable[..., MixpanelSimulator], tmp_path: Path) -> None:
    simulator = simulator_factory(api_secret=API_SECRET)

    result = run_mixpanel(spec_variables(simulator), tmp_path)

    assert [stats.endpoint for stats in result.stats if stats.endpoint.startswith("annotations")] == ["annotations"]
    assert row_counts(str(result.database_path), ["annotations"])["annotations"] == len(simulator.annotations())


def test_project_secret_on_app_annotations_fails(simulator_factory: Callable[..., MixpanelSimulator], tmp_path: Path) -> None:
    simulator = simulator_factory(api_secret=API_SECRET)
    variables = spec_variables(simulator, username=API_SECRET, secret="")

    with pytest.raises(RunError) as failure:
        run_mixpanel(variables, tmp_path, endpoints=["annotations"])

    assert "401" in str(failure.value)
    assert "service accounts only" in str(failure.value)
    assert API_SECRET not in str(failure.value)


def test_project_secret_from_environment(
    simulator_factory: Callable[..., MixpanelSimulator], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MIXPANEL_API_SECRET alone sets the Basic user name, and no endpoint needs project_id."""
    simulator = simulator_factory(api_secret=API_SECRET)
    monkeypatch.setenv("MIXPANEL_API_SECRET", API_SECRET)
    variables = spec_variables(simulator, username=None, secret=None, project_id=None)

    result = run_mixpanel(variables, tmp_path)

    counts = row_counts(str(result.database_path), DEFAULT_TABLES)
    assert counts["annotations"] == len(simulator.annotations())
    assert counts["export"] == len(simulator.events())
    assert counts["cohort_members"] > 0
    assert all("project_id" not in request.params for request in simulator.requests)


def test_wrong_secret_fails_with_401(simulator_factory: Callable[..., MixpanelSimulator], tmp_path: Path) -> None:
    simulator = simulator_factory(api_secret=API_SECRET)
    variables = spec_variables(simulator, username="not-the-secret", secret="")

    with pytest.raises(RunError) as failure:
        run_mixpanel(variables, tmp_path, endpoints=["cohorts"])

    assert "401" in str(failure.value)
    assert "not-the-secret" not in str(failure.value)


def test_annotations_without_project_id_names_it(
    simulator_factory: Callable[..., MixpanelSimulator], tmp_path: Path
) -> None:
    simulator = simulator_factory()
    variables = spec_variables(simulator, project_id=None)

    with pytest.raises(RunError) as failure:
        run_mixpanel(variables, tmp_path, endpoints=["annotations"])

    message = str(failure.value)
    assert message.startswith("annotations: ")
    assert "project_id" in message
    assert "status 404" in message


# to_date later than the project's today


def test_future_end_date_names_variable(simulator_factory: Callable[..., MixpanelSimulator], tmp_path: Path) -> None:
    simulator = simulator_factory()
    tomorrow = (simulator.today + dt.timedelta(days=1)).isoformat()
    variables = spec_variables(simulator, end_date=tomorrow)

    with pytest.raises(RunError) as failure:
        run_mixpanel(variables, tmp_path, endpoints=["export"])

    message = str(failure.value)
    assert "to_date cannot be later than today" in message
    assert "variable end_date" in message
    assert f"(now {tomorrow})" in message
    assert "--var end_date=" in message
    assert any(request.status == 400 for request in simulator.requests)


def test_future_end_date_cli_exits_1(
    simulator_factory: Callable[..., MixpanelSimulator], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator = simulator_factory()
    tomorrow = (simulator.today + dt.timedelta(days=1)).isoformat()
    variables = spec_variables(simulator, end_date=tomorrow)

    exit_code = cli_main(cli_arguments(variables, tmp_path, "--endpoint", "export"))

    error_output = capsys.readouterr().err
    assert exit_code == 1
    assert "Error: export: Mixpanel rejected to_date as later than today" in error_output
    assert "end_date" in error_output
    assert "Traceback" not in error_output
