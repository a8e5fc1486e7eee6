"""Fixtures for the Mixpanel end-to-end tests: an isolated environment and simulators on 127.0.0.1."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from restgen.engine.run import RunResult
from restgen.simulator import MixpanelSimulator

from .mixpanel_run import run_mixpanel, spec_variables, start_simulator


def isolate_environment(monkeypatch: pytest.MonkeyPatch, workdir: os.PathLike[str]) -> None:
    """Keep a run away from the user's Mixpanel settings, ~/.dlt and the repository folder.

    MIXPANEL_* variables would override the spec's defaults (MIXPANEL_API_HOST could even
    point a run at a real host), so they are removed. The DuckDB file goes to the working
    directory and dlt's data folder into ``workdir``.
    """
    for name in list(os.environ):
        if name.startswith("MIXPANEL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DLT_DATA_DIR", os.path.join(workdir, "dlt"))
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    monkeypatch.chdir(workdir)


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_environment(monkeypatch, tmp_path)


@pytest.fixture
def simulator_factory() -> Iterator[Callable[..., MixpanelSimulator]]:
    """Return a function that starts a simulator (see start_simulator) and stops it after the test."""
    started: list[MixpanelSimulator] = []

    def start(**options: Any) -> MixpanelSimulator:
        simulator = start_simulator(**options)
        started.append(simulator)
        return simulator

    yield start
    for simulator in started:
        simulator.stop()


@pytest.fixture
def simulator(simulator_factory: Callable[..., MixpanelSimulator]) -> MixpanelSimulator:
    """A running simulator of the small default project."""
    return simulator_factory()


def load_once(tmp_path_factory: pytest.TempPathFactory, name: str) -> tuple[MixpanelSimulator, RunResult]:
    """Run the default endpoints once against a fresh, fault-free simulator in a folder of its own."""
    workdir = tmp_path_factory.mktemp(name)
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate_environment(monkeypatch, workdir)
        simulator = start_simulator()
        try:
            result = run_mixpanel(spec_variables(simulator), workdir)
        finally:
            simulator.stop()
    return simulator, result
