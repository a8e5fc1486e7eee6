"""Request parameters and error responses shared by the simulated Mixpanel endpoints."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any
from urllib.parse import parse_qs

from restgen.simulator.server import SimRequest, SimResponse

_DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")


class RequestRejected(Exception):
    """Raised by an endpoint to send ``response`` in place of a result."""

    def __init__(self, response: SimResponse) -> None:
        super().__init__(response.status)
        self.response = response


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> SimResponse:
    """Return a JSON response; non-ASCII text is sent as UTF-8."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return SimResponse(status, body, "application/json", dict(headers or {}))


def query_error(request: SimRequest, status: int, message: str) -> RequestRejected:
    """Return a Query/export API error, shaped ``{"request": "<path?query>", "error": message}``."""
    return RequestRejected(json_response(status, {"request": request.target, "error": message}))


def app_error(status: int, message: str) -> RequestRejected:
    """Return an App API error, shaped ``{"error": message, "status": "error"}``."""
    return RequestRejected(json_response(status, {"error": message, "status": "error"}))


def merge_params(request: SimRequest) -> dict[str, Any]:
    """Merge the query string with a JSON or form body; body values win.

    A body that is not a JSON object is read as form data, as Mixpanel's server does. Query
    string and form values are strings (the last one wins when a name repeats), and JSON
    values keep their JSON types.
    """
    params: dict[str, Any] = _parse_form(request.query)
    if not request.body:
        return params
    text = request.body.decode("utf-8", errors="replace")
    try:
        decoded = json.loads(text)
    except ValueError:
        decoded = None
    if isinstance(decoded, dict):
        params.update(decoded)
    else:
        params.update(_parse_form(text))
    return params


def _parse_form(text: str) -> dict[str, Any]:
    return {name: values[-1] for name, values in parse_qs(text, keep_blank_values=True).items()}


def parse_date(value: Any, name: str) -> date:
    """Parse a ``YYYY-MM-DD`` value; raise ValueError naming the parameter otherwise."""
    text = str(value).strip()
    if not _DATE_PATTERN.fullmatch(text):
        raise ValueError(f"{name} must be a date formatted YYYY-MM-DD, got {text!r}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name} is not a valid calendar date: {text!r}") from None


def required_date(request: SimRequest, params: dict[str, Any], name: str) -> date:
    """Return a required date parameter, or raise a 400 Query API error."""
    if params.get(name) in (None, ""):
        raise query_error(request, 400, f"{name} is required (format YYYY-MM-DD)")
    try:
        return parse_date(params[name], name)
    except ValueError as exc:
        raise query_error(request, 400, str(exc)) from None


def integer_param(
    request: SimRequest, params: dict[str, Any], name: str, default: int | None, minimum: int
) -> int | None:
    """Return an integer parameter of at least ``minimum``, ``default`` when absent, or raise a 400."""
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(str(value).strip())
    except ValueError:
        raise query_error(request, 400, f"{name} must be an integer, got {value!r}") from None
    if number < minimum:
        raise query_error(request, 400, f"{name} must be {minimum} or more, got {number}")
    return number


def boolean_param(request: SimRequest, params: dict[str, Any], name: str) -> bool:
    """Return a boolean parameter (true/false/1/0, any case; false when absent), or raise a 400."""
    value = params.get(name)
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise query_error(request, 400, f"{name} must be true or false, got {value!r}")


def require_day_unit(request: SimRequest, params: dict[str, Any]) -> None:
    """Raise a 400 unless ``unit`` is absent or ``day``, the only unit the simulator computes."""
    unit = str(params.get("unit") or "day")
    if unit != "day":
        raise query_error(request, 400, f"unit {unit!r} is not supported by the simulator; use unit=day")
