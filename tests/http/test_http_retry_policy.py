from __future__ import annotations

from email.utils import formatdate

import pytest

from restgen.http import RetryPolicy, parse_retry_after

NOW = 1_700_000_000.0


def test_backoff_doubles_without_jitter() -> None:
    policy = RetryPolicy(backoff_factor=1.0, max_backoff=5.0, jitter=False)
    assert [policy.backoff(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_backoff_jitter_stays_within_bounds() -> None:
    low = RetryPolicy(backoff_factor=2.0, random=lambda: 0.0)
    high = RetryPolicy(backoff_factor=2.0, random=lambda: 0.999999)
    assert low.backoff(2) == 4.0
    assert 5.99 < high.backoff(2) < 6.0


def test_backoff_jitter_is_capped() -> None:
    policy = RetryPolicy(backoff_factor=1.0, max_backoff=3.0, random=lambda: 0.9)
    assert policy.backoff(10) == 3.0


def test_backoff_large_retry_number() -> None:
    assert RetryPolicy(max_backoff=60.0).backoff(5000) == 60.0


def test_parse_retry_after_seconds() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(" 1.5 ") == 1.5


def test_parse_retry_after_http_date() -> None:
    header = formatdate(NOW + 30, usegmt=True)
    assert parse_retry_after(header, now=NOW) == pytest.approx(30.0)


def test_parse_retry_after_invalid() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None


def test_wait_uses_retry_after_capped() -> None:
    policy = RetryPolicy(max_retry_after=10.0, clock=lambda: NOW)
    assert policy.wait_seconds(1, "7") == 7.0
    assert policy.wait_seconds(1, "3600") == 10.0


def test_wait_retry_after_zero_falls_back_to_backoff() -> None:
    policy = RetryPolicy(backoff_factor=0.5, jitter=False, clock=lambda: NOW)
    assert policy.wait_seconds(1, "0") == 0.5
    assert policy.wait_seconds(3, "0") == 2.0


def test_wait_past_date_falls_back_to_backoff() -> None:
    policy = RetryPolicy(backoff_factor=0.5, jitter=False, clock=lambda: NOW)
    assert policy.wait_seconds(1, formatdate(NOW - 60, usegmt=True)) == 0.5


def test_retryable_statuses() -> None:
    policy = RetryPolicy()
    assert [s for s in (200, 404, 429, 500, 501, 503) if policy.is_retryable_status(s)] == [429, 500, 503]


@pytest.mark.parametrize(
    "kwargs", [{"max_attempts": 0}, {"backoff_factor": -1.0}, {"max_retry_after": -1.0}]
)
def test_invalid_policy_raises(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)
