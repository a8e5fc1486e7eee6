"""Build ``requests`` auth objects from the plain ``auth`` mapping of a spec.

Accepted mappings:

- ``{type: none}``
- ``{type: basic, username, password}``, where ``password`` defaults to ``""``. An empty
  password sends ``Basic base64(username:)``, the form used by APIs that take a secret as the
  user name (Mixpanel's legacy API secret).
- ``{type: bearer, token}``
- ``{type: api_key, name, value, location}``, where ``location`` is ``header`` (the default) or
  ``query``.

The returned objects are dlt's auth classes, which subclass ``requests.auth.AuthBase`` and work
on a plain ``requests.Session``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dlt.sources.helpers.rest_client.auth import APIKeyAuth, BearerTokenAuth, HttpBasicAuth
from requests.auth import AuthBase

AuthBuilder = Callable[[Mapping[str, Any]], "AuthBase | None"]

API_KEY_LOCATIONS: tuple[str, ...] = ("header", "query")


def _require_string(config: Mapping[str, Any], key: str) -> str:
    value = config.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(
            f"auth type {config.get('type')!r} requires a non-empty string {key!r}"
        )
    return value


def _build_none(config: Mapping[str, Any]) -> AuthBase | None:
    return None


def _build_basic(config: Mapping[str, Any]) -> AuthBase:
    username = _require_string(config, "username")
    password = config.get("password", "")
    if password is None:
        password = ""
    if not isinstance(password, str):
        raise ValueError("auth type 'basic' requires 'password' to be a string")
    return HttpBasicAuth(username=username, password=password)


def _build_bearer(config: Mapping[str, Any]) -> AuthBase:
    return BearerTokenAuth(token=_require_string(config, "token"))


def _build_api_key(config: Mapping[str, Any]) -> AuthBase:
    location = config.get("location", "header")
    if location not in API_KEY_LOCATIONS:
        raise ValueError(
            f"auth type 'api_key' has invalid location {location!r}; "
            f"expected one of {', '.join(API_KEY_LOCATIONS)}"
        )
    return APIKeyAuth(
        name=_require_string(config, "name"),
        api_key=_require_string(config, "value"),
        location=location,
    )


AUTH_TYPES: dict[str, AuthBuilder] = {
    "none": _build_none,
    "basic": _build_basic,
    "bearer": _build_bearer,
    "api_key": _build_api_key,
}


def create_auth(config: Mapping[str, Any] | None) -> AuthBase | None:
    """Build the auth object for an ``auth`` mapping, or return None for None or ``{type: none}``.

    Raises ValueError for an unknown type or a missing or invalid field. The spec validator is
    expected to reject such mappings earlier, with the location in the file.
    """
    if config is None:
        return None
    auth_type = config.get("type")
    builder = AUTH_TYPES.get(auth_type) if isinstance(auth_type, str) else None
    if builder is None:
        raise ValueError(
            f"unknown auth type {auth_type!r}; expected one of {', '.join(AUTH_TYPES)}"
        )
    return builder(config)


def secret_values(config: Mapping[str, Any] | None) -> list[str]:
    """Return the secret strings of an ``auth`` mapping, for a Redactor.

    Basic auth contributes ``"username:password"`` as well, so that the redactor also hides the
    base64 header value. With an empty password the user name is the secret, so it is returned
    instead of the password.
    """
    if not config:
        return []
    auth_type = config.get("type")
    values: list[Any] = []
    if auth_type == "basic":
        username = config.get("username") or ""
        password = config.get("password") or ""
        values = [password, f"{username}:{password}"] if password else [username, f"{username}:"]
    elif auth_type == "bearer":
        values = [config.get("token")]
    elif auth_type == "api_key":
        values = [config.get("value")]
    return [value for value in values if isinstance(value, str) and value]


def auth_secret_values(auth: AuthBase | None) -> list[str]:
    """Return the secret strings held by an auth object built by ``create_auth``.

    Objects of other classes contribute nothing, so their secrets must reach the Redactor
    through ``secret_values`` or the caller.
    """
    if isinstance(auth, HttpBasicAuth):
        return secret_values(
            {"type": "basic", "username": auth.username, "password": auth.password}
        )
    if isinstance(auth, BearerTokenAuth):
        return secret_values({"type": "bearer", "token": auth.token})
    if isinstance(auth, APIKeyAuth):
        return secret_values({"type": "api_key", "value": auth.api_key})
    return []
