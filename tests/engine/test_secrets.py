"""Credentials never reach logs, error text, pipeline files or the DuckDB file.

The server echoes the credentials it receives into error bodies and next-page links, as
real APIs do, so redaction is tested where leaks happen in practice.
"""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from typing import Any

import pytest

from .conftest import ApiServer, Engine, Exchange

SECRET = "Zq9-very-secret-credential-4711"
USER = "loader"

AUTH_CASES: dict[str, dict[str, Any]] = {
    "bearer": {"type": "bearer", "token": "${secret}"},
    "basic": {"type": "basic", "username": USER, "password": "${secret}"},
    "api-key-query": {"type": "api_key", "name": "api_key", "value": "${secret}", "location": "query"},
}


def forbidden(case: str) -> list[bytes]:
    """Return the byte strings that must not appear anywhere: the secret and its encodings."""
    values = [SECRET.encode()]
    if case == "basic":
        values.append(base64.b64encode(f"{USER}:{SECRET}".encode()))
    return values


def echo(exchange: Exchange) -> dict[str, Any]:
    request = exchange.request
    return {"authorization": request.headers.get("Authorization"), "url": request.raw_path}


def paged_echo(exchange: Exchange) -> None:
    """Two pages; the next link repeats the request's query, credentials included."""
    request = exchange.request
    if request.arg("page") == "2":
        exchange.send_json({"data": [{"id": 2}], "next": None})
        return
    query = request.raw_path.partition("?")[2]
    exchange.send_json({"data": [{"id": 1}], "next": f"/items?page=2&{query}" if query else "/items?page=2"})


def failing_echo(exchange: Exchange) -> None:
    exchange.send_json({"error": "internal error", "request": echo(exchange)}, status=500)


def assert_sent(case: str, api: ApiServer) -> None:
    """Check that the server got the credentials, so their absence elsewhere means something."""
    request = api.requests_to("/items")[0]
    received = f"{request.headers.get('Authorization')} {request.raw_path}"
    assert any(value.decode() in received for value in forbidden(case))


def assert_no_secret(case: str, texts: list[str], folder: Path) -> None:
    files = [path for path in folder.rglob("*") if path.is_file()]
    assert any(path.suffix == ".duckdb" for path in files)
    assert any("pipelines" in path.parts for path in files)
    for value in forbidden(case):
        for text in texts:
            assert value.decode() not in text
        for path in files:
            assert value not in path.read_bytes(), f"{value!r} found in {path}"


def spec_for(engine: Engine, case: str) -> Path:
    endpoint = {"name": "items", "path": "items", "data_selector": "data", "pagination": {"type": "next_url"}}
    return engine.write_spec([endpoint], client={"auth": AUTH_CASES[case]}, variables={"secret": {"required": True, "secret": True}})


@pytest.mark.parametrize("case", list(AUTH_CASES))
def test_secret_absent_after_run(engine: Engine, api: ApiServer, caplog: pytest.LogCaptureFixture, case: str) -> None:
    api.route("/items", paged_echo)
    spec = spec_for(engine, case)

    with caplog.at_level(logging.DEBUG):
        engine.run(engine.load(spec, secret=SECRET))

    assert engine.column("items", "id") == [1, 2]
    assert len(api.requests_to("/items")) == 2
    assert_sent(case, api)
    assert_no_secret(case, [caplog.text], engine.tmp_path)


@pytest.mark.parametrize("case", list(AUTH_CASES))
def test_secret_absent_after_error(engine: Engine, api: ApiServer, caplog: pytest.LogCaptureFixture, case: str) -> None:
    api.route("/items", failing_echo)
    spec = spec_for(engine, case)

    with caplog.at_level(logging.DEBUG):
        code, out, err = engine.cli_run(spec, "--var", f"secret={SECRET}")

    assert code == 1
    assert "500" in err
    assert_sent(case, api)
    assert_no_secret(case, [caplog.text, out, err], engine.tmp_path)


def reset(exchange: Exchange) -> None:
    exchange.reset()


@pytest.mark.parametrize("case", list(AUTH_CASES))
def test_secret_absent_debug_traceback(engine: Engine, api: ApiServer, caplog: pytest.LogCaptureFixture, case: str) -> None:
    # A connection failure chains a requests exception whose text names the full URL.
    api.route("/items", reset)
    spec = spec_for(engine, case)

    with caplog.at_level(logging.DEBUG):
        code, out, err = engine.cli_run(spec, "--var", f"secret={SECRET}", "--debug")

    assert code == 1
    assert "Traceback" in caplog.text or "Traceback" in err
    assert_sent(case, api)
    assert_no_secret(case, [caplog.text, out, err], engine.tmp_path)


@pytest.mark.parametrize("case", list(AUTH_CASES))
def test_secret_absent_connection_refused(engine: Engine, caplog: pytest.LogCaptureFixture, case: str) -> None:
    # requests names the whole URL, query included, when a connection is refused.
    closed = ApiServer()
    closed.start()
    closed.stop()
    spec = spec_for(engine, case)

    with caplog.at_level(logging.DEBUG):
        code, out, err = engine.cli_run(spec, "--var", f"secret={SECRET}", "--var", f"base={closed.base_url}", "--debug")

    assert code == 1
    assert "Traceback" in caplog.text or "Traceback" in err
    assert_no_secret(case, [caplog.text, out, err], engine.tmp_path)
