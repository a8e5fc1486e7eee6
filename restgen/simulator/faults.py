"""Deterministic fault injection: which request gets which failure.

Each fault kind counts the requests it may apply to, and hits request number n when n is a
multiple of its ``every_nth`` setting. With ``every_nth >= 2`` the retry (request n + 1) of a
hit request therefore succeeds, as long as only one kind is enabled.
"""

from __future__ import annotations

import enum
import logging
import threading
from dataclasses import dataclass

logger = logging.getLogger(__name__)

# 5xx faults cycle through these statuses.
SERVER_ERROR_STATUSES = (500, 502, 503)


@dataclass(frozen=True)
class Faults:
    """Fault settings per kind; 0 switches a kind off.

    Fields:
        every_nth_5xx: every n-th data request gets 500, 502 or 503 (in turn) with a JSON error.
        every_nth_429: every n-th data request gets 429 with ``Retry-After: retry_after``.
        retry_after: the Retry-After value of injected 429s: seconds, an HTTP date, or "0".
        every_nth_cut: every n-th data request gets its headers with the full Content-Length,
            about half of its body, and then a closed connection. NOTE: an empty body (an
            export without events) cannot be cut, so that response arrives complete.
        every_nth_terminated_early: every n-th export request returns part of its events
            followed by the line ``terminated early``.
        error_in_200_every: every n-th Query API request gets status 200 with the body
            ``{"error": ..., "status": "error"}``.
    """

    every_nth_5xx: int = 0
    every_nth_429: int = 0
    retry_after: str = "1"
    every_nth_cut: int = 0
    every_nth_terminated_early: int = 0
    error_in_200_every: int = 0

    def __post_init__(self) -> None:
        for name in ("every_nth_5xx", "every_nth_429", "every_nth_cut", "every_nth_terminated_early",
                     "error_in_200_every"):
            value = getattr(self, name)
            if value < 0:
                raise ValueError(f"Faults.{name} must be 0 (off) or a positive request count, got {value}")
        if not self.retry_after.strip():
            raise ValueError("Faults.retry_after must not be empty; use seconds, an HTTP date or '0'")


class FaultKind(enum.Enum):
    """A kind of injected failure."""

    TOO_MANY_REQUESTS = "429"
    SERVER_ERROR = "5xx"
    CUT = "cut"
    TERMINATED_EARLY = "terminated_early"
    ERROR_IN_200 = "error_in_200"


@dataclass(frozen=True)
class Fault:
    """A fault chosen for one request; ``status`` is set for server errors."""

    kind: FaultKind
    status: int = 0


class FaultInjector:
    """Thread-safe per-kind request counters that decide the fault, if any, of each request."""

    def __init__(self, faults: Faults | None) -> None:
        self.faults = faults or Faults()
        self._lock = threading.Lock()
        self._counts = {kind: 0 for kind in FaultKind}
        self._server_error_hits = 0

    def draw(self, api: str) -> Fault | None:
        """Count one authenticated data request of ``api`` ("query", "export" or "app").

        Returns the fault to inject, or None. When several kinds hit the same request, the
        first in this order wins: 429, 5xx, cut, terminated early, error in 200.
        """
        settings = (
            (FaultKind.TOO_MANY_REQUESTS, self.faults.every_nth_429, True),
            (FaultKind.SERVER_ERROR, self.faults.every_nth_5xx, True),
            (FaultKind.CUT, self.faults.every_nth_cut, True),
            (FaultKind.TERMINATED_EARLY, self.faults.every_nth_terminated_early, api == "export"),
            (FaultKind.ERROR_IN_200, self.faults.error_in_200_every, api == "query"),
        )
        chosen: Fault | None = None
        with self._lock:
            for kind, every_nth, applies in settings:
                if not every_nth or not applies:
                    continue
                self._counts[kind] += 1
                if chosen is None and self._counts[kind] % every_nth == 0:
                    chosen = Fault(kind, self._next_server_error_status() if kind is FaultKind.SERVER_ERROR else 0)
                    request_number = self._counts[kind]
        if chosen is not None:
            logger.debug("Injecting fault %s into %s request %d of its kind", chosen.kind.value, api, request_number)
        return chosen

    def _next_server_error_status(self) -> int:
        status = SERVER_ERROR_STATUSES[self._server_error_hits % len(SERVER_ERROR_STATUSES)]
        self._server_error_hits += 1
        return status
