from __future__ import annotations

import logging
import threading
import time

import pytest

from restgen.http import RateLimit, RateLimiter

# Exact waits below assume windows of their nominal length; the default margin has its own test.
NO_MARGIN = lambda seconds: 0.0  # noqa: E731


class FakeClock:
    """A monotonic clock that only moves when a sleep is requested."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def start_times(limiter: RateLimiter, clock: FakeClock, url: str, count: int) -> list[float]:
    starts = []
    for _ in range(count):
        with limiter.slot(url):
            starts.append(clock.now)
    return starts


def test_per_second_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(requests_per_second=2), [], clock=clock, sleep=clock.sleep, margin=NO_MARGIN)
    assert start_times(limiter, clock, "https://api.example/x", 5) == [0.0, 0.0, 1.0, 1.0, 2.0]


def test_sliding_window_counts_from_each_start() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(requests_per_second=2), [], clock=clock, sleep=clock.sleep, margin=NO_MARGIN)
    with limiter.slot("https://api.example/x"):
        pass
    clock.now = 0.6
    with limiter.slot("https://api.example/x"):
        pass
    with limiter.slot("https://api.example/x"):
        assert clock.now == pytest.approx(1.0)
    with limiter.slot("https://api.example/x"):
        assert clock.now == pytest.approx(1.6)


def test_all_windows_apply() -> None:
    clock = FakeClock()
    limit = RateLimit(requests_per_second=10, requests_per_minute=3)
    limiter = RateLimiter(limit, [], clock=clock, sleep=clock.sleep, margin=NO_MARGIN)
    assert start_times(limiter, clock, "https://api.example/x", 4) == [0.0, 0.0, 0.0, 60.0]


def test_fractional_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(requests_per_second=0.5), [], clock=clock, sleep=clock.sleep, margin=NO_MARGIN)
    assert start_times(limiter, clock, "https://api.example/x", 3) == [0.0, 2.0, 4.0]


def test_uncounted_slot_uses_no_budget() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(requests_per_second=1), [], clock=clock, sleep=clock.sleep, margin=NO_MARGIN)
    with limiter.slot("https://api.example/x"):
        pass
    for _ in range(3):
        with limiter.slot("https://api.example/x", counted=False):
            pass
    assert clock.sleeps == []


def test_hosts_have_separate_budgets() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(requests_per_second=1), [], clock=clock, sleep=clock.sleep, margin=NO_MARGIN)
    for url in ("https://a.example/x", "https://b.example/x", "http://a.example/x"):
        with limiter.slot(url):
            pass
    assert clock.sleeps == []


def test_no_default_means_unlimited() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, [], clock=clock, sleep=clock.sleep, margin=NO_MARGIN)
    assert start_times(limiter, clock, "https://api.example/x", 5) == [0.0] * 5


def test_rule_prefix_matches_path_segments() -> None:
    clock = FakeClock()
    rules = [("https://API.example/v1/export", RateLimit(requests_per_hour=1))]
    limiter = RateLimiter(None, rules, clock=clock, sleep=clock.sleep, margin=NO_MARGIN)
    with limiter.slot("https://api.example:443/v1/export?from=1"):
        pass
    for url in ("https://api.example/v1/exports", "https://api.example/v1/other"):
        with limiter.slot(url):
            pass
    assert clock.sleeps == []
    with limiter.slot("https://api.example/v1/export/more"):
        pass
    assert clock.sleeps == [3600.0]


def test_longest_rule_wins_and_shares_budget() -> None:
    clock = FakeClock()
    rules = [
        ("https://api.example/", RateLimit(requests_per_second=100)),
        ("https://api.example/engage", RateLimit(requests_per_minute=1)),
    ]
    limiter = RateLimiter(None, rules, clock=clock, sleep=clock.sleep, margin=NO_MARGIN)
    with limiter.slot("https://api.example/engage?page=1"):
        pass
    with limiter.slot("https://api.example/events"):
        pass
    assert clock.sleeps == []
    with limiter.slot("https://api.example/engage?page=2"):
        pass
    assert clock.sleeps == [60.0]


def test_long_wait_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(requests_per_minute=1), [], clock=clock, sleep=clock.sleep, margin=NO_MARGIN)
    with caplog.at_level(logging.INFO, logger="restgen.http.ratelimit"):
        start_times(limiter, clock, "https://api.example:8443/x", 2)
    messages = [record.getMessage() for record in caplog.records]
    assert messages == ["Rate limit for api.example:8443 reached; waiting 60.00 s"]
    assert caplog.records[0].levelno == logging.INFO


def test_short_wait_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(requests_per_second=2), [], clock=clock, sleep=clock.sleep, margin=NO_MARGIN)
    with caplog.at_level(logging.INFO, logger="restgen.http.ratelimit"):
        start_times(limiter, clock, "https://api.example/x", 3)
    assert caplog.records == []


def test_max_concurrency_with_threads() -> None:
    limiter = RateLimiter(RateLimit(max_concurrency=2), [])
    lock = threading.Lock()
    active = 0
    peak = 0

    def work() -> None:
        nonlocal active, peak
        with limiter.slot("https://api.example/x"):
            with lock:
                active += 1
                peak = max(peak, active)
            time.sleep(0.02)
            with lock:
                active -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == 2


def test_slot_released_on_error() -> None:
    limiter = RateLimiter(RateLimit(max_concurrency=1), [])
    with pytest.raises(RuntimeError):
        with limiter.slot("https://api.example/x"):
            raise RuntimeError("request failed")
    acquired = threading.Event()

    def work() -> None:
        with limiter.slot("https://api.example/x"):
            acquired.set()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=5)
    assert acquired.is_set()


@pytest.mark.parametrize(
    "kwargs", [{"requests_per_second": 0}, {"requests_per_hour": -1}, {"max_concurrency": 0}]
)
def test_invalid_rate_limit_raises(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RateLimit(**kwargs)


def test_rule_without_host_raises() -> None:
    with pytest.raises(ValueError, match="absolute URL"):
        RateLimiter(None, [("/v1/export", RateLimit(requests_per_second=1))])


def test_default_margin_holds_window_longer() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(requests_per_second=1), [], clock=clock, sleep=clock.sleep)

    for _ in range(2):
        with limiter.slot("https://api.example/items"):
            pass

    assert clock.sleeps == [pytest.approx(1.05)]
