from __future__ import annotations

import base64
from typing import TYPE_CHECKING

import pytest
import requests

from restgen.http import AUTH_TYPES, HttpClient, create_auth, secret_values

if TYPE_CHECKING:
    from conftest import Exchange, LocalServer


def echo(exchange: Exchange) -> None:
    exchange.send(
        200,
        {
            "authorization": exchange.headers.get("Authorization"),
            "api_key_header": exchange.headers.get("X-Api-Key"),
            "query": exchange.query,
        },
    )


def fetch_echo(server: LocalServer, config: dict[str, str], path: str = "/echo") -> dict:
    server.route("/echo", echo)
    with HttpClient(auth=create_auth(config)) as client:
        return client.request("GET", server.url(path)).json()


def basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def test_auth_types_registry() -> None:
    assert set(AUTH_TYPES) == {"none", "basic", "bearer", "api_key"}


def test_none_sends_no_authorization(server: LocalServer) -> None:
    echoed = fetch_echo(server, {"type": "none"})
    assert echoed["authorization"] is None
    assert create_auth(None) is None


def test_basic_sends_username_and_password(server: LocalServer) -> None:
    echoed = fetch_echo(server, {"type": "basic", "username": "ann", "password": "s3cret"})
    assert echoed["authorization"] == basic("ann:s3cret")


def test_basic_empty_password_form(server: LocalServer) -> None:
    echoed = fetch_echo(server, {"type": "basic", "username": "API_SECRET"})
    assert echoed["authorization"] == basic("API_SECRET:")
    assert echoed["authorization"] == "Basic QVBJX1NFQ1JFVDo="


def test_bearer_sends_token(server: LocalServer) -> None:
    echoed = fetch_echo(server, {"type": "bearer", "token": "tok-123"})
    assert echoed["authorization"] == "Bearer tok-123"


def test_api_key_in_header(server: LocalServer) -> None:
    config = {"type": "api_key", "name": "X-Api-Key", "value": "k-1", "location": "header"}
    echoed = fetch_echo(server, config)
    assert echoed["api_key_header"] == "k-1"
    assert echoed["authorization"] is None


def test_api_key_location_defaults_to_header(server: LocalServer) -> None:
    echoed = fetch_echo(server, {"type": "api_key", "name": "X-Api-Key", "value": "k-2"})
    assert echoed["api_key_header"] == "k-2"


def test_api_key_in_query(server: LocalServer) -> None:
    config = {"type": "api_key", "name": "api_key", "value": "k 3", "location": "query"}
    echoed = fetch_echo(server, config, path="/echo?page=2")
    assert echoed["query"] == {"page": ["2"], "api_key": ["k 3"]}


@pytest.mark.parametrize(
    ("config", "header"),
    [
        ({"type": "basic", "username": "ann", "password": "pw"}, basic("ann:pw")),
        ({"type": "bearer", "token": "tok"}, "Bearer tok"),
    ],
)
def test_auth_objects_work_with_plain_requests(
    server: LocalServer, config: dict[str, str], header: str
) -> None:
    server.route("/echo", echo)
    response = requests.get(server.url("/echo"), auth=create_auth(config), timeout=10)
    assert response.json()["authorization"] == header


def test_unknown_auth_type_raises() -> None:
    with pytest.raises(ValueError, match="unknown auth type 'digest'"):
        create_auth({"type": "digest"})


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"type": "basic"}, "username"),
        ({"type": "bearer", "token": ""}, "token"),
        ({"type": "api_key", "value": "v"}, "name"),
        ({"type": "api_key", "name": "n"}, "value"),
    ],
)
def test_missing_auth_field_raises(config: dict[str, str], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        create_auth(config)


def test_api_key_cookie_location_raises() -> None:
    with pytest.raises(ValueError, match="invalid location 'cookie'"):
        create_auth({"type": "api_key", "name": "n", "value": "v", "location": "cookie"})


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"type": "none"}, []),
        ({"type": "basic", "username": "ann", "password": "pw"}, ["pw", "ann:pw"]),
        ({"type": "basic", "username": "SECRET", "password": ""}, ["SECRET", "SECRET:"]),
        ({"type": "bearer", "token": "tok"}, ["tok"]),
        ({"type": "api_key", "name": "key", "value": "v1"}, ["v1"]),
    ],
)
def test_secret_values_per_type(config: dict[str, str], expected: list[str]) -> None:
    assert secret_values(config) == expected
