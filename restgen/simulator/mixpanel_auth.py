"""HTTP Basic authentication as Mixpanel accepts it: service accounts and the project secret.

A service account sends ``username:secret`` and must name the project with ``project_id``.
The deprecated project secret is sent as ``secret:`` or, as Airbyte and tap-mixpanel do, as
the bare secret without a colon, and needs no ``project_id``. Mixpanel also accepts the
credentials unencoded, and tap-mixpanel encodes them with the URL-safe base64 alphabet.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hmac
from dataclasses import dataclass
from typing import Any

from restgen.simulator.mixpanel_params import RequestRejected, json_response
from restgen.simulator.server import SimRequest


@dataclass(frozen=True)
class Credentials:
    """The credentials the simulated project accepts."""

    username: str
    secret: str
    api_secret: str
    project_id: int

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, project_id={self.project_id})"


class Principal(enum.Enum):
    """The kind of credentials a request authenticated with."""

    SERVICE_ACCOUNT = "service_account"
    PROJECT_SECRET = "project_secret"


def authenticate(
    request: SimRequest, params: dict[str, Any], credentials: Credentials, project_in_path: bool = False
) -> Principal:
    """Return who the request authenticates as, or raise RequestRejected.

    Missing or wrong credentials give 401. A service account without ``project_id`` gives
    400 unless the project id is part of the path (``project_in_path``). A ``project_id``
    that names another project gives 403.
    """
    principal = _principal(request.headers.get("authorization", ""), credentials)
    if principal is None:
        raise RequestRejected(
            json_response(
                401,
                {"error": "Invalid credentials: send HTTP Basic auth with a service account "
                          "(username:secret) or the project API secret", "status": "error"},
                {"WWW-Authenticate": 'Basic realm="Mixpanel"'},
            )
        )

    project_id = params.get("project_id")
    if project_id in (None, ""):
        if principal is Principal.SERVICE_ACCOUNT and not project_in_path:
            raise RequestRejected(
                json_response(400, {"request": request.target,
                                    "error": "project_id is required when authenticating with a service account; "
                                             "add the project_id query parameter"})
            )
    elif str(project_id).strip() != str(credentials.project_id):
        raise RequestRejected(
            json_response(403, {"error": f"These credentials have no access to project_id {project_id}",
                                "status": "error"})
        )
    return principal


def _principal(authorization: str, credentials: Credentials) -> Principal | None:
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        return None
    service_account = f"{credentials.username}:{credentials.secret}"
    for candidate in _decoded_candidates(token.strip()):
        if _equal(candidate, service_account):
            return Principal.SERVICE_ACCOUNT
        if _equal(candidate, credentials.api_secret) or _equal(candidate, credentials.api_secret + ":"):
            return Principal.PROJECT_SECRET
    return None


def _decoded_candidates(token: str) -> list[str]:
    candidates = [token]
    padded = token + "=" * (-len(token) % 4)
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            candidates.append(decode(padded.encode()).decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
    return candidates


def _equal(candidate: str, expected: str) -> bool:
    return hmac.compare_digest(candidate.encode(), expected.encode())
