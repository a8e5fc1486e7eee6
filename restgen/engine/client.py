"""Build the HTTP client of a spec from its ``client`` block."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from restgen.errors import SpecError, SpecIssue
from restgen.http import HttpClient, RateLimit, RateLimiter, Redactor, RetryPolicy, create_auth, secret_values
from restgen.spec import Spec

RATE_KEYS = ("requests_per_second", "requests_per_minute", "requests_per_hour", "max_concurrency")


def _rate_limit(config: Mapping[str, Any]) -> RateLimit:
    return RateLimit(**{key: config[key] for key in RATE_KEYS if config.get(key) is not None})


def _timeout(value: Any) -> float | tuple[float, float]:
    if isinstance(value, Mapping):
        return (float(value.get("connect", 10.0)), float(value.get("read", 60.0)))
    return float(value)


def non_empty(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Drop parameters whose value is None: an unset optional variable sends nothing."""
    return {key: value for key, value in (params or {}).items() if value is not None}


def build_redactor(spec: Spec) -> Redactor:
    auth = spec.client.get("auth")
    return Redactor(
        secrets=[*spec.secrets, *secret_values(auth)],
        sensitive_params=spec.client.get("sensitive_params") or (),
    )


def build_client(spec: Spec, *, pool_size: int = 10) -> HttpClient:
    """Create the shared HttpClient: auth, headers, retries, rate limits and redaction.

    Raises SpecError when a value set through a variable is out of range (a negative rate).
    """
    config = spec.client
    try:
        retry = RetryPolicy(**{
            key: (tuple(value) if key == "retry_statuses" else value)
            for key, value in (config.get("retry") or {}).items()
        })
        default = _rate_limit(config["rate_limit"]) if config.get("rate_limit") else None
        rules = [(rule["url_prefix"], _rate_limit(rule)) for rule in config.get("rate_limits") or []]
        limiter = RateLimiter(default, rules) if default or rules else None
        auth = create_auth(config.get("auth"))
    except ValueError as exc:
        line, column = spec.raw.positions.of_value(("client",))
        raise SpecError([SpecIssue(spec.file, line, column, "client", str(exc))]) from exc
    return HttpClient(
        headers=config.get("headers"),
        auth=auth,
        params=non_empty(config.get("params")),
        timeout=_timeout(config.get("timeout", 60.0)),
        verify=bool(config.get("verify_tls", True)),
        retry=retry,
        rate_limiter=limiter,
        redactor=build_redactor(spec),
        pool_size=pool_size,
    )
