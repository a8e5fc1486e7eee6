"""The spec commands of the command line: validate, schema, list and --help.

These commands only read files, and none of them sends a request.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from restgen.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
MIXPANEL = ROOT / "configs" / "mixpanel.yaml"
SCHEMA_FILE = ROOT / "schemas" / "restgen-spec.schema.json"

VALID = """\
restgen: 1
source: demo
endpoints:
  - name: items
    path: items
  - name: details
    path: "items/${parent.id}"
    depends_on: items
"""
INVALID = """\
restgen: 1
source: demo
endpoints:
  - name: items
    path: items
    method: PUT
    data_selectr: results
"""


@pytest.fixture
def tmp_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def subcommands() -> list[str]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return sorted(action.choices)
    return []


def test_validate_valid_file(tmp_cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("spec.yaml").write_text(VALID, encoding="utf-8")

    code = main(["validate", "spec.yaml"])

    out, err = capsys.readouterr()
    assert code == 0
    assert out == "spec.yaml: ok (2 endpoints)\n"
    assert err == ""


def test_validate_mixpanel(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", str(MIXPANEL)])

    out, err = capsys.readouterr()
    assert code == 0
    assert out == f"{MIXPANEL}: ok (9 endpoints)\n"
    assert err == ""


def test_validate_one_endpoint_singular(tmp_cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("spec.yaml").write_text(VALID.split("  - name: details")[0], encoding="utf-8")

    code = main(["validate", "spec.yaml"])

    out, _ = capsys.readouterr()
    assert code == 0
    assert out == "spec.yaml: ok (1 endpoint)\n"


def test_validate_invalid_file(tmp_cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("spec.yaml").write_text(INVALID, encoding="utf-8")

    code = main(["validate", "spec.yaml"])

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.startswith("Error:")
    assert "Traceback" not in err
    assert err.splitlines() == [
        "Error: 2 problems in spec.yaml:",
        "spec.yaml:6:13: endpoints[0].method: 'PUT' is not one of 'GET', 'POST'",
        "spec.yaml:7:5: endpoints[0].data_selectr: unknown key 'data_selectr' (did you mean 'data_selector'?)",
    ]


def test_validate_one_problem_one_line(tmp_cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("spec.yaml").write_text(INVALID.replace("    method: PUT\n", ""), encoding="utf-8")

    code = main(["validate", "spec.yaml"])

    _, err = capsys.readouterr()
    assert code == 2
    assert err == "Error: spec.yaml:6:5: endpoints[0].data_selectr: unknown key 'data_selectr' (did you mean 'data_selector'?)\n"


def test_validate_yaml_syntax_error(tmp_cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("spec.yaml").write_text("restgen: 1\nsource: demo\nendpoints: [\n", encoding="utf-8")

    code = main(["validate", "spec.yaml"])

    _, err = capsys.readouterr()
    assert code == 2
    assert err.startswith("Error: spec.yaml:4:1: invalid YAML: ")
    assert "Traceback" not in err


def test_validate_missing_file(tmp_cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", "absent.yaml"])

    _, err = capsys.readouterr()
    assert code == 2
    assert err == "Error: absent.yaml: file not found\n"


def test_validate_checks_every_file(tmp_cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("bad.yaml").write_text(INVALID, encoding="utf-8")
    Path("good.yaml").write_text(VALID, encoding="utf-8")

    code = main(["validate", "bad.yaml", "good.yaml"])

    out, err = capsys.readouterr()
    assert code == 2
    assert out == "good.yaml: ok (2 endpoints)\n"
    assert err.startswith("Error: 2 problems in bad.yaml:\n")


def test_validate_prints_warnings(tmp_cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("spec.yaml").write_text(
        VALID.replace("endpoints:\n", "client:\n  auth: {type: bearer, token: abc123}\nendpoints:\n"),
        encoding="utf-8",
    )

    code = main(["validate", "spec.yaml"])

    out, err = capsys.readouterr()
    assert code == 0
    assert out == "spec.yaml: ok (2 endpoints)\n"
    assert err == (
        "warning: spec.yaml:4:31: client.auth.token: a literal secret is written in the spec; "
        "move it to a variable marked 'secret: true' and set it from the environment\n"
    )


def test_schema_prints_schema_file(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["schema"])

    out, err = capsys.readouterr()
    assert code == 0
    assert err == ""
    assert json.loads(out) == json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def test_list_mixpanel(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["list", str(MIXPANEL)])

    out, err = capsys.readouterr()
    assert code == 0
    assert err == ""
    header, *lines = out.splitlines()
    assert header.split() == ["NAME", "METHOD", "PATH", "PAGINATION", "INCREMENTAL", "PARENT", "ENABLED"]
    rows = {columns[0]: (columns[1], columns[3], columns[5]) for columns in (line.split() for line in lines)}
    assert len(lines) == 9
    assert rows == {
        "export": ("GET", "single_page", "-"),
        "engage": ("POST", "page_number", "-"),
        "cohorts": ("GET", "single_page", "-"),
        "cohort_members": ("POST", "page_number", "cohorts"),
        "funnels_list": ("GET", "single_page", "-"),
        "funnels": ("GET", "single_page", "funnels_list"),
        "annotations": ("GET", "single_page", "-"),
        "annotations_legacy": ("GET", "single_page", "-"),
        "revenue": ("GET", "single_page", "-"),
    }


def test_list_shows_disabled_endpoint(capsys: pytest.CaptureFixture[str]) -> None:
    main(["list", str(MIXPANEL)])

    out, _ = capsys.readouterr()
    enabled = {line.split()[0]: line.split()[-1] for line in out.splitlines()[1:]}
    assert enabled["revenue"] == "no"
    assert enabled["export"] == "yes"
    assert enabled["annotations_legacy"] == "${legacy_annotations}"


def test_list_invalid_spec(tmp_cwd: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("spec.yaml").write_text(INVALID, encoding="utf-8")

    code = main(["list", "spec.yaml"])

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.startswith("Error: 2 problems in spec.yaml:")
    assert "Traceback" not in err


def test_top_level_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])

    out, _ = capsys.readouterr()
    assert exited.value.code == 0
    assert out.startswith("usage: restgen")
    for command in subcommands():
        assert command in out


def test_subcommands_found() -> None:
    assert {"validate", "schema", "list"} <= set(subcommands())


@pytest.mark.parametrize("command", subcommands())
def test_subcommand_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])

    out, _ = capsys.readouterr()
    assert exited.value.code == 0
    assert out.startswith(f"usage: restgen {command}")


def test_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["frobnicate"])

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.startswith("Error: argument COMMAND: invalid choice: 'frobnicate'")
    assert "Traceback" not in err


def test_validate_without_spec(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate"])

    _, err = capsys.readouterr()
    assert code == 2
    assert err.startswith("Error: the following arguments are required: SPEC")


@pytest.mark.parametrize(("text", "code"), [(VALID, 0), (INVALID, 2)])
def test_command_exit_code_matches_main(tmp_cwd: Path, text: str, code: int) -> None:
    # The installed command runs console_main, which exits the process itself.
    Path("spec.yaml").write_text(text, encoding="utf-8")

    completed = subprocess.run([sys.executable, "-m", "restgen.cli", "validate", "spec.yaml"], capture_output=True, text=True, timeout=60)

    assert completed.returncode == code
    assert "Traceback" not in completed.stderr


def test_installed_command_is_console_main() -> None:
    project = (ROOT / "pyproject.toml").read_text(encoding="utf-8")

    assert '\nrestgen = "restgen.cli:console_main"\n' in project


def test_collector_untouched_unless_claimed(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from restgen import collector

    frozen = gc.get_freeze_count()
    with collector.importing_engine():
        assert gc.isenabled()
    assert gc.get_freeze_count() == frozen

    monkeypatch.setattr(collector, "_claimed", True)
    try:
        with collector.importing_engine():
            assert not gc.isenabled()
            created = [[index] for index in range(100)]
        # What the block created is frozen, and the collector runs again.
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen + len(created)
    finally:
        gc.unfreeze()
        gc.enable()


def test_dlt_log_cut_before_traceback() -> None:
    import logging

    from restgen.cli import _without_traceback

    message = "Job for items.1.parquet failed terminally in load 1 with message Traceback (most recent call last):\n  File x"
    record = logging.LogRecord("dlt", logging.ERROR, "load.py", 1, message, None, (ValueError, ValueError("x"), None))

    assert _without_traceback(record)
    assert record.getMessage() == "Job for items.1.parquet failed terminally in load 1 with message"
    assert record.exc_info is None
