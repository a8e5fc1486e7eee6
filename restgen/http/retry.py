"""Retry policy: which responses to retry and how long to wait before each retry."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timezone
from email.utils import parsedate_to_datetime

# Jitter adds up to this fraction of the exponential wait, so parallel threads that failed
# together do not retry together.
JITTER_FRACTION = 0.5

_SECONDS_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*$")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Return the wait in seconds that a ``Retry-After`` header requests.

    The header is either a number of seconds or an HTTP date, compared with ``now`` (Unix
    time, default the current time). Returns None when the header is missing or cannot be
    parsed. A date in the past gives a negative number.
    """
    if value is None:
        return None
    match = _SECONDS_PATTERN.match(value)
    if match:
        return float(match.group(1))
    try:
        retry_at = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if retry_at.tzinfo is None:
        # parsedate_to_datetime returns a naive datetime for the zone "-0000".
        # HTTP dates are always UTC.
        retry_at = retry_at.replace(tzinfo=timezone.utc)
    current = time.time() if now is None else now
    return retry_at.timestamp() - current


@dataclass(frozen=True)
class RetryPolicy:
    """How often to attempt a request and how long to wait between attempts.

    ``max_attempts`` counts every attempt, the first one included. Waits are in seconds.
    Retry n (1-based) waits ``backoff_factor * 2 ** (n - 1)``, capped at ``max_backoff``. With
    ``jitter`` a random share of up to 50 % is added before the cap, so the wait is never below
    ``min(backoff_factor, max_backoff)``. A positive ``Retry-After`` replaces that wait and is
    capped at ``max_retry_after``. A ``Retry-After`` of 0, in the past or unparseable falls back
    to the exponential wait, so it cannot cause a burst of immediate retries.

    Raises ValueError when a number is out of range.
    """

    max_attempts: int = 5
    backoff_factor: float = 1.0
    max_backoff: float = 60.0
    jitter: bool = True
    max_retry_after: float = 300.0
    retry_statuses: tuple[int, ...] = (429, 500, 502, 503, 504)
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        for name in ("backoff_factor", "max_backoff", "max_retry_after"):
            value = getattr(self, name)
            if value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")
        object.__setattr__(self, "retry_statuses", tuple(self.retry_statuses))

    def is_retryable_status(self, status: int) -> bool:
        """Return whether a response with this status is retried."""
        return status in self.retry_statuses

    def backoff(self, retry_number: int) -> float:
        """Return the exponential wait in seconds before retry ``retry_number`` (1-based)."""
        exponent = max(retry_number - 1, 0)
        # Cap the exponent so that a large attempt count cannot overflow a float.
        base = self.backoff_factor * 2.0 ** min(exponent, 64)
        if self.jitter:
            base += base * JITTER_FRACTION * self.random()
        return min(base, self.max_backoff)

    def wait_seconds(self, retry_number: int, retry_after: str | None = None) -> float:
        """Return the wait in seconds before retry ``retry_number``, honouring ``Retry-After``."""
        requested = parse_retry_after(retry_after, self.clock())
        if requested is not None and requested > 0:
            return min(requested, self.max_retry_after)
        return self.backoff(retry_number)
