"""Mistakes a user makes in a spec or on the command line end in one clear line, not a hang or a traceback."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ApiServer, Engine

ITEMS = [{"id": number} for number in range(1, 4)]


def test_server_ignoring_page_param_fails(engine: Engine, api: ApiServer) -> None:
    # The server returns the same full page for every page number and sends no total.
    api.json_route("/items", lambda request: ITEMS)
    pagination = {"type": "page_number", "page_size_param": "size", "page_size": 3}
    spec = engine.write_spec([{"name": "items", "path": "items", "pagination": pagination}])

    code, _, err = engine.cli_run(spec)

    assert code == 1
    assert "items: page 2 has the same body as page 1" in err
    assert len(api.requests_to("/items")) == 2
    assert "Traceback" not in err


def test_selector_matching_nothing_warns(engine: Engine, api: ApiServer, caplog: pytest.LogCaptureFixture) -> None:
    api.json_route("/items", lambda request: {"results": ITEMS})
    spec = engine.write_spec([{"name": "items", "path": "items", "data_selector": "result"}])

    with caplog.at_level(logging.WARNING, logger="restgen"):
        engine.run(spec)

    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert any("data_selector 'result' matched nothing" in message and "results" in message for message in warnings)


@pytest.mark.parametrize(
    ("option", "expected_start", "expected_hint"),
    [
        (["--destination", "nosuch"], "Error: cannot set up the destination 'nosuch'", ""),
        (["--duckdb-memory-limit", "foo"], "Error: --duckdb-memory-limit: invalid DuckDB memory limit 'foo'", "give a size such as 160MB or 4GB, or none"),
    ],
)
def test_bad_load_option_is_usage_error(engine: Engine, api: ApiServer, option: list[str], expected_start: str, expected_hint: str) -> None:
    api.json_route("/items", lambda request: ITEMS)
    spec = engine.write_spec([{"name": "items", "path": "items"}])

    code, _, err = engine.cli_run(spec, *option)

    assert code == 2
    assert err.startswith(expected_start)
    assert expected_hint in err
    assert "Traceback" not in err
    assert api.requests_to("/items") == []


def test_duckdb_file_follows_working_directory(engine: Engine, api: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    api.json_route("/items", lambda request: ITEMS)
    spec = engine.write_spec([{"name": "items", "path": "items"}])
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()

    monkeypatch.chdir(first)
    assert engine.cli_run(spec)[0] == 0
    monkeypatch.chdir(second)
    assert engine.cli_run(spec)[0] == 0

    assert [path.name for path in first.glob("*.duckdb")] == ["testapi_data.duckdb"]
    assert [path.name for path in second.glob("*.duckdb")] == ["testapi_data.duckdb"]


def test_rows_without_preview_is_usage_error(engine: Engine, api: ApiServer) -> None:
    spec = engine.write_spec([{"name": "items", "path": "items"}])

    code, _, err = engine.cli_run(spec, "--rows", "3")

    assert code == 2
    assert "--rows applies to --preview" in err


def test_simulate_bad_port_is_usage_error(engine: Engine) -> None:
    code, _, err = engine.cli("simulate", "mixpanel", "--port", "99999")

    assert code == 2
    assert "--port 99999: a port is a number from 0 to 65535" in err


def test_loading_spec_leaves_dlt_telemetry_off(tmp_path: Path) -> None:
    """Loading a spec reads dlt's config, which starts dlt's telemetry unless restgen turned it off."""
    spec = tmp_path / "spec.yaml"
    spec.write_text("restgen: 1\nsource: demo\nendpoints:\n  - {name: items, path: 'http://127.0.0.1:9/items'}\n", encoding="utf-8")
    script = (
        "import restgen\n"
        "from restgen.spec import load_spec\n"
        f"load_spec({str(spec)!r}, use_dlt=True)\n"
        "from dlt.common.runtime import anon_tracker\n"
        "print(anon_tracker._ANON_TRACKER_ENDPOINT)\n"
    )
    environ = {key: value for key, value in os.environ.items() if key != "RUNTIME__DLTHUB_TELEMETRY"}
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environ, cwd=tmp_path, timeout=120)

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "None"
