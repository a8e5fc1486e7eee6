"""Client-side rate limits, so that a run sends no request the server would reject with 429."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

# Waits up to this many seconds are routine and are not logged.
LOG_WAIT_THRESHOLD = 1.0

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class RateLimit:
    """Limits for one group of requests. None means no limit of that kind.

    A rate of ``r`` requests per window allows ``floor(r)`` requests in any window of that
    length. A rate below 1, such as 0.5 per second, allows one request per ``1 / r`` windows.
    ``max_concurrency`` is the maximum number of requests in flight at once.

    Raises ValueError when a limit is not positive.
    """

    requests_per_second: float | None = None
    requests_per_minute: float | None = None
    requests_per_hour: float | None = None
    max_concurrency: int | None = None

    def __post_init__(self) -> None:
        for name in (
            "requests_per_second",
            "requests_per_minute",
            "requests_per_hour",
            "max_concurrency",
        ):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive, got {value}")

    def windows(self) -> list[tuple[float, int]]:
        """Return the sliding windows as (length in seconds, maximum requests) pairs."""
        windows: list[tuple[float, int]] = []
        for seconds, rate in (
            (1.0, self.requests_per_second),
            (60.0, self.requests_per_minute),
            (3600.0, self.requests_per_hour),
        ):
            if rate is None:
                continue
            if rate < 1:
                windows.append((seconds / rate, 1))
            else:
                windows.append((seconds, math.floor(rate)))
        return windows


def window_margin(seconds: float) -> float:
    """Return how much longer than ``seconds`` a window is held: 1 %, and at least 50 ms.

    NOTE: 50 ms is an estimate. The benchmark's fan-out saw requests reach the server more
    than 25 ms after their slot was granted while another process loaded both cores.
    """
    return max(0.05, seconds * 0.01)


class _Bucket:
    """Window history and concurrency slots shared by all requests of one group."""

    def __init__(self, limit: RateLimit, margin: Callable[[float], float]) -> None:
        self._margin = margin
        self._windows = [(seconds, count, deque[float]()) for seconds, count in limit.windows()]
        self._lock = threading.Lock()
        self._semaphore = (
            threading.BoundedSemaphore(limit.max_concurrency) if limit.max_concurrency else None
        )

    def acquire_concurrency(self) -> None:
        if self._semaphore is not None:
            self._semaphore.acquire()

    def release_concurrency(self) -> None:
        if self._semaphore is not None:
            self._semaphore.release()

    def reserve(self, now: float) -> float:
        """Record a request at ``now`` and return 0, or return the seconds to wait first.

        A start is recorded when the slot is granted, not when the server receives the request,
        and a thread may wait some milliseconds for the interpreter lock in between. Each window
        is therefore held ``margin(seconds)`` longer than its length, so requests that leave
        unevenly still fit the server's window.
        """
        with self._lock:
            wait = 0.0
            for seconds, count, starts in self._windows:
                held = seconds + self._margin(seconds)
                while starts and starts[0] <= now - held:
                    starts.popleft()
                if len(starts) >= count:
                    # Wait until the oldest of the last `count` starts leaves the window.
                    wait = max(wait, starts[len(starts) - count] + held - now)
            if wait > 0:
                return wait
            for _seconds, _count, starts in self._windows:
                starts.append(now)
            return 0.0


def _origin_and_path(url: str) -> tuple[str, str]:
    """Return ("scheme://host:port", path) with the scheme and host lower-cased."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = _DEFAULT_PORTS.get(scheme)
    origin = f"{scheme}://{host}:{port}" if port is not None else f"{scheme}://{host}"
    return origin, parts.path


class RateLimiter:
    """Blocks requests until they fit the configured limits.

    Each rule applies to URLs that start with its prefix: the same scheme and host and a path
    that equals the prefix path or continues it after a ``/``. The longest matching prefix
    wins, and all URLs matching one rule share one budget. A URL that matches no rule uses a
    budget per scheme and host with the ``default`` limits, or is not limited when ``default``
    is None. Limits count request starts in sliding windows and are thread-safe.

    ``clock`` (monotonic seconds) and ``sleep`` can be replaced in tests.
    Raises ValueError for a rule prefix without a scheme and host.
    """

    def __init__(
        self,
        default: RateLimit | None = None,
        rules: list[tuple[str, RateLimit]] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        margin: Callable[[float], float] = window_margin,
    ) -> None:
        self._default = default
        self._margin = margin
        self._clock = clock
        self._sleep = sleep
        self._rules: list[tuple[str, str, _Bucket]] = []
        for prefix, limit in rules or []:
            if not urlsplit(prefix).hostname:
                raise ValueError(
                    f"rate limit prefix {prefix!r} must be an absolute URL with scheme and host"
                )
            origin, path = _origin_and_path(prefix)
            self._rules.append((origin, path.rstrip("/"), _Bucket(limit, self._margin)))
        # Longest path first, so the most specific rule is found first.
        self._rules.sort(key=lambda rule: len(rule[1]), reverse=True)
        self._host_buckets: dict[str, _Bucket] = {}
        self._host_buckets_lock = threading.Lock()

    def _bucket_for(self, url: str) -> _Bucket | None:
        origin, path = _origin_and_path(url)
        for rule_origin, rule_path, bucket in self._rules:
            if origin != rule_origin:
                continue
            if not rule_path or path == rule_path or path.startswith(rule_path + "/"):
                return bucket
        if self._default is None:
            return None
        with self._host_buckets_lock:
            bucket = self._host_buckets.get(origin)
            if bucket is None:
                bucket = self._host_buckets[origin] = _Bucket(self._default, self._margin)
            return bucket

    @contextmanager
    def slot(self, url: str, counted: bool = True) -> Iterator[None]:
        """Block until a request to ``url`` is allowed, and hold its concurrency slot.

        Wrap the whole request, reading the body included, because the concurrency slot is
        released on exit. With ``counted=False`` the request takes a concurrency slot but no
        window budget, for requests the server does not count. A wait of more than 1 s is
        logged at INFO with the host and the wait in seconds.
        """
        bucket = self._bucket_for(url)
        if bucket is None:
            yield
            return

        host = urlsplit(url).netloc.rpartition("@")[2]
        started = self._clock()
        logged = False
        bucket.acquire_concurrency()
        try:
            while counted:
                wait = bucket.reserve(self._clock())
                if wait <= 0:
                    break
                if wait > LOG_WAIT_THRESHOLD and not logged:
                    logger.info("Rate limit for %s reached; waiting %.2f s", host, wait)
                    logged = True
                self._sleep(wait)

            waited = self._clock() - started
            if waited > LOG_WAIT_THRESHOLD and not logged:
                logger.info("Waited %.2f s for a rate limit slot for %s", waited, host)
            yield
        finally:
            bucket.release_concurrency()
