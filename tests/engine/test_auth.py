"""Each auth type reaches the server: the server returns 401 unless the credentials are right."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import ApiServer, Engine, RecordedRequest

SECRET_VARIABLE = {"secret_value": {"required": True, "secret": True}}


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


CASES: dict[str, tuple[dict[str, Any], Callable[[RecordedRequest], bool]]] = {
    "basic": (
        {"type": "basic", "username": "reader", "password": "${secret_value}"},
        lambda request: request.headers.get("Authorization") == basic("reader", "s3cr3t-value"),
    ),
    "basic-empty-password": (
        {"type": "basic", "username": "${secret_value}"},
        lambda request: request.headers.get("Authorization") == basic("s3cr3t-value", ""),
    ),
    "bearer": (
        {"type": "bearer", "token": "${secret_value}"},
        lambda request: request.headers.get("Authorization") == "Bearer s3cr3t-value",
    ),
    "api-key-header": (
        {"type": "api_key", "name": "X-Api-Key", "value": "${secret_value}"},
        lambda request: request.headers.get("X-Api-Key") == "s3cr3t-value" and "X-Api-Key" not in request.query,
    ),
    "api-key-query": (
        {"type": "api_key", "name": "api_key", "value": "${secret_value}", "location": "query"},
        lambda request: request.query.get("api_key") == ["s3cr3t-value"] and request.headers.get("api_key") is None,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_auth_reaches_server(engine: Engine, api: ApiServer, case: str) -> None:
    auth, accepted = CASES[case]

    def guarded(exchange: Any) -> None:
        if accepted(exchange.request):
            exchange.send_json({"results": [{"id": 1}, {"id": 2}], "next": None, "page": 1})
        else:
            exchange.send_json({"error": "unauthorized"}, status=401)

    api.route("/items", guarded)
    pagination = {"type": "page_number", "total_pages_path": "page"}
    endpoint = {"name": "items", "path": "items", "data_selector": "results", "pagination": pagination}
    spec = engine.write_spec([endpoint], client={"auth": auth}, variables=SECRET_VARIABLE)

    engine.run(engine.load(spec, secret_value="s3cr3t-value"))

    requests = api.requests_to("/items")
    assert len(requests) == 1
    assert accepted(requests[0])
    assert engine.column("items", "id") == [1, 2]


def test_wrong_credentials_fail_run(engine: Engine, api: ApiServer) -> None:
    api.route("/items", lambda exchange: exchange.send_json({"error": "unauthorized"}, status=401))
    auth = {"type": "bearer", "token": "${secret_value}"}
    spec = engine.write_spec([{"name": "items", "path": "items"}], client={"auth": auth}, variables=SECRET_VARIABLE)

    code, _, err = engine.cli_run(spec, "--var", "secret_value=wrong-token-value")

    assert code == 1
    assert "401" in err
    assert "items" in err
    assert "wrong-token-value" not in err
    assert "Traceback" not in err
    # A 401 is not retried: the credentials will not get better.
    assert len(api.requests_to("/items")) == 1
