"""``restgen demo``: the shipped spec against the bundled simulator, from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from restgen.cli import main as cli_main

from .mixpanel_run import DEFAULT_TABLES, row_counts


def summary_rows(output: str) -> dict[str, int]:
    """Return the rows column of the summary table, per table name."""
    lines = output.splitlines()
    header = next(index for index, line in enumerate(lines) if line.split()[:3] == ["endpoint", "table", "rows"])
    rows: dict[str, int] = {}
    for line in lines[header + 1:]:
        cells = line.split()
        if len(cells) != 8:
            break
        rows[cells[1]] = int(cells[2])
    return rows


def test_demo_loads_every_enabled_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exit_code = cli_main(["demo"])

    output = capsys.readouterr().out
    assert exit_code == 0
    rows = summary_rows(output)
    assert sorted(rows) == sorted(DEFAULT_TABLES)
    for table in DEFAULT_TABLES:
        assert rows[table] > 0, f"the demo loaded no rows into {table}"
    database = tmp_path / "mixpanel_demo.duckdb"
    assert f"Loaded into {database}" in output
    assert row_counts(database, DEFAULT_TABLES) == rows
    assert (tmp_path / "dlt").is_dir(), "dlt's data folder must follow DLT_DATA_DIR into the test folder"
