"""Mixpanel-style rate limits: rolling request windows and concurrency caps per API.

Mixpanel limits the Query API to 60 requests per rolling hour and 5 concurrent requests per
project, and the export API to 60 per hour, 3 per second and 100 concurrent. Rejected
requests do not use up budget.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """Rate limits to enforce; None leaves a limit off. Windows are rolling, in seconds.

    The Query API window counts only budgeted requests (the first page of an engage query,
    cohorts/list, funnels, funnels/list, revenue), while its concurrency cap applies to every
    Query API request. Annotations are never limited.
    """

    query_per_window: int | None = None
    query_concurrency: int | None = None
    export_per_window: int | None = None
    export_per_second: int | None = None
    export_concurrency: int | None = None
    window_seconds: float = 3600.0

    def __post_init__(self) -> None:
        for name in ("query_per_window", "query_concurrency", "export_per_window", "export_per_second",
                     "export_concurrency"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"Limits.{name} must be None (unlimited) or 1 or more, got {value}")
        if self.window_seconds <= 0:
            raise ValueError(f"Limits.window_seconds must be positive, got {self.window_seconds}")


@dataclass(frozen=True)
class Admission:
    """The limiter's decision on one request.

    When rejected, ``violation`` names the exceeded limit, ``retry_after`` is the whole
    number of seconds until it frees a slot, and ``headers`` are RateLimit-Policy and
    RateLimit headers to send.
    """

    admitted: bool
    counted: bool = False
    violation: str = ""
    retry_after: int = 0
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)


class _Window:
    """Timestamps of admitted requests within a rolling window."""

    def __init__(self, limit: int | None, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self.stamps: deque[float] = deque()

    def prune(self, now: float) -> None:
        while self.stamps and self.stamps[0] <= now - self.seconds:
            self.stamps.popleft()

    def is_full(self) -> bool:
        return self.limit is not None and len(self.stamps) >= self.limit

    def seconds_until_free(self, now: float) -> int:
        if not self.stamps:
            return 1
        return max(1, math.ceil(self.stamps[0] + self.seconds - now))

    def remaining(self) -> int:
        return max(0, (self.limit or 0) - len(self.stamps))


class RateLimiter:
    """Thread-safe admission control for the "query" and "export" APIs of one project.

    Call :meth:`acquire` before serving a request and :meth:`release` after an admitted one.
    Requests of any other API are admitted without limits but still tracked for concurrency.
    """

    def __init__(self, limits: Limits | None, project_id: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits or Limits()
        self.project_id = project_id
        self._clock = clock
        self._lock = threading.Lock()
        window = self.limits.window_seconds
        self._query_window = _Window(self.limits.query_per_window, window)
        self._export_window = _Window(self.limits.export_per_window, window)
        self._export_second = _Window(self.limits.export_per_second, 1.0)
        self._in_flight: dict[str, int] = {}
        self._max_in_flight: dict[str, int] = {}
        self._violations: dict[str, int] = {}

    @property
    def violations(self) -> dict[str, int]:
        """Rejected requests per exceeded limit, e.g. ``{"query_window": 2}``."""
        with self._lock:
            return dict(self._violations)

    @property
    def max_concurrency_seen(self) -> dict[str, int]:
        """The maximum number of admitted requests in flight at once, per API."""
        with self._lock:
            return dict(self._max_in_flight)

    def acquire(self, api: str, budgeted: bool) -> Admission:
        """Admit or reject one request of ``api``; ``budgeted`` requests use window budget."""
        with self._lock:
            now = self._clock()
            if api == "query":
                rejection = self._check_query(now, budgeted)
            elif api == "export":
                rejection = self._check_export(now, budgeted)
            else:
                rejection = None
            if rejection is not None:
                self._violations[rejection.violation] = self._violations.get(rejection.violation, 0) + 1
                logger.info("Rate limit %s exceeded for project %d", rejection.violation, self.project_id)
                return rejection

            counted = budgeted and api in ("query", "export")
            if counted and api == "query":
                self._query_window.stamps.append(now)
            elif counted:
                self._export_window.stamps.append(now)
                self._export_second.stamps.append(now)
            in_flight = self._in_flight.get(api, 0) + 1
            self._in_flight[api] = in_flight
            self._max_in_flight[api] = max(self._max_in_flight.get(api, 0), in_flight)
            return Admission(admitted=True, counted=counted)

    def release(self, api: str) -> None:
        """End an admitted request of ``api``."""
        with self._lock:
            self._in_flight[api] = max(0, self._in_flight.get(api, 0) - 1)

    def _check_query(self, now: float, budgeted: bool) -> Admission | None:
        limits = self.limits
        self._query_window.prune(now)
        running = self._in_flight.get("query", 0)
        policy = _policy_headers("project", self._query_window, limits.query_concurrency, running, now)
        if limits.query_concurrency is not None and running >= limits.query_concurrency:
            detail = f"exceeded the concurrency limit ({running + 1}/{limits.query_concurrency} queries running concurrently)"
            return self._reject("query_concurrency", "Query", 1, detail, policy)
        if budgeted and self._query_window.is_full():
            detail = (
                f"exceeded the rate limit ({len(self._query_window.stamps) + 1}/{limits.query_per_window} "
                f"queries running in the last {_seconds_text(limits.window_seconds)})"
            )
            return self._reject("query_window", "Query", self._query_window.seconds_until_free(now), detail, policy)
        return None

    def _check_export(self, now: float, budgeted: bool) -> Admission | None:
        limits = self.limits
        self._export_window.prune(now)
        self._export_second.prune(now)
        running = self._in_flight.get("export", 0)
        policy = _policy_headers(
            "export", self._export_window, limits.export_concurrency, running, now, self._export_second
        )
        if limits.export_concurrency is not None and running >= limits.export_concurrency:
            detail = f"exceeded the concurrency limit ({running + 1}/{limits.export_concurrency} exports running concurrently)"
            return self._reject("export_concurrency", "Export", 1, detail, policy)
        if budgeted and self._export_second.is_full():
            detail = f"exceeded the rate limit ({len(self._export_second.stamps) + 1}/{limits.export_per_second} exports in the last second)"
            return self._reject("export_second", "Export", self._export_second.seconds_until_free(now), detail, policy)
        if budgeted and self._export_window.is_full():
            detail = (
                f"exceeded the rate limit ({len(self._export_window.stamps) + 1}/{limits.export_per_window} "
                f"exports in the last {_seconds_text(limits.window_seconds)})"
            )
            return self._reject("export_window", "Export", self._export_window.seconds_until_free(now), detail, policy)
        return None

    def _reject(self, violation: str, api_label: str, retry_after: int, detail: str,
                headers: dict[str, str]) -> Admission:
        message = (
            f"{api_label} rate limit exceeded for project_id: {self.project_id}. This request {detail}. "
            "Wait for the Retry-After seconds before retrying."
        )
        return Admission(admitted=False, violation=violation, retry_after=retry_after, message=message,
                         headers={**headers, "Retry-After": str(retry_after)})


def _policy_headers(
    name: str,
    window: _Window,
    concurrency: int | None,
    running: int,
    now: float,
    second_window: _Window | None = None,
) -> dict[str, str]:
    """Build RateLimit-Policy and RateLimit headers in the structured-field form Mixpanel sends.

    Only configured limits appear. With no limit configured the result is empty.
    """
    policies: list[str] = []
    states: list[str] = []
    if window.limit is not None:
        policies.append(f'"{name}";q={window.limit};w={math.ceil(window.seconds)}')
        states.append(f'"{name}";r={window.remaining()};t={window.seconds_until_free(now)}')
    if second_window is not None and second_window.limit is not None:
        policies.append(f'"{name}-second";q={second_window.limit};w=1')
        states.append(f'"{name}-second";r={second_window.remaining()};t=1')
    if concurrency is not None:
        policies.append(f'"{name}-concurrency";q={concurrency};qu="concurrent-requests"')
        states.append(f'"{name}-concurrency";r={max(0, concurrency - running)}')
    if not policies:
        return {}
    return {"RateLimit-Policy": ", ".join(policies), "RateLimit": ", ".join(states)}


def _seconds_text(seconds: float) -> str:
    if seconds == 3600:
        return "hour"
    return f"{seconds:g} seconds"
