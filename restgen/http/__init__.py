"""The HTTP layer: auth, retries, rate limits, redaction and a thread-safe client.

It takes plain Python values and does not depend on the YAML spec.
"""

from __future__ import annotations

from restgen.http.auth import AUTH_TYPES, auth_secret_values, create_auth, secret_values
from restgen.http.client import HttpClient
from restgen.http.ratelimit import RateLimit, RateLimiter
from restgen.http.redact import RedactingFilter, Redactor
from restgen.http.response import HttpResponse
from restgen.http.retry import RetryPolicy, parse_retry_after
from restgen.http.stats import RequestStats

__all__ = [
    "AUTH_TYPES",
    "HttpClient",
    "HttpResponse",
    "RateLimit",
    "RateLimiter",
    "RedactingFilter",
    "Redactor",
    "RequestStats",
    "RetryPolicy",
    "auth_secret_values",
    "create_auth",
    "parse_retry_after",
    "secret_values",
]
