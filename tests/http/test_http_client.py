from __future__ import annotations

import gc
import gzip
import logging
import os
import socket
import ssl
import threading
import time
import tracemalloc
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest

from restgen.errors import HttpError, HttpStatusError, IncompleteBodyError, ResponseError
from restgen.http import (
    HttpClient,
    HttpResponse,
    RateLimit,
    RateLimiter,
    RequestStats,
    RetryPolicy,
    create_auth,
)

if TYPE_CHECKING:
    from conftest import Exchange, LocalServer

FAST = RetryPolicy(max_attempts=3, backoff_factor=0.01, jitter=False)


def failing_then_ok(failures: list[Callable[[Exchange], None]]) -> Callable[[Exchange], None]:
    """Return a handler that runs each failure once, in order, then responds 200 {"ok": true}."""
    remaining = list(failures)
    lock = threading.Lock()

    def handler(exchange: Exchange) -> None:
        with lock:
            failure = remaining.pop(0) if remaining else None
        if failure is None:
            exchange.send(200, {"ok": True})
        else:
            failure(exchange)

    return handler


def status(code: int, headers: dict[str, str] | None = None) -> Callable[[Exchange], None]:
    return lambda exchange: exchange.send(code, {"error": f"status {code}"}, headers)


def cut_body(exchange: Exchange) -> None:
    exchange.send_head(200, {"Content-Type": "application/json", "Content-Length": "100"})
    exchange.write(b'{"ok": tr')
    exchange.close()


def cut_chunked_body(exchange: Exchange) -> None:
    exchange.send_head(200, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    exchange.write_chunk(b'{"ok": ')
    exchange.close()


def reset(exchange: Exchange) -> None:
    exchange.close(reset=True)


# Retries


def test_server_error_then_success(server: LocalServer, fake_sleep, sleeps) -> None:
    server.route("/x", failing_then_ok([status(500), status(503)]))
    stats = RequestStats()
    with HttpClient(retry=FAST, sleep=fake_sleep) as client:
        response = client.request("GET", server.url("/x"), stats=stats)
    assert response.json() == {"ok": True}
    assert response.attempts == 3
    assert server.hits("/x") == 3
    assert sleeps == [0.01, 0.02]
    assert (stats.requests, stats.retries) == (3, 2)


def test_429_with_retry_after_seconds(server: LocalServer, fake_sleep, sleeps) -> None:
    server.route("/x", failing_then_ok([status(429, {"Retry-After": "2"})]))
    with HttpClient(retry=FAST, sleep=fake_sleep) as client:
        response = client.request("GET", server.url("/x"))
    assert response.status_code == 200
    assert sleeps == [2.0]


def test_retry_after_http_date(server: LocalServer, fake_sleep, sleeps) -> None:
    def busy(exchange: Exchange) -> None:
        exchange.send(503, "busy", {"Retry-After": formatdate(time.time() + 3, usegmt=True)})

    server.route("/x", failing_then_ok([busy]))
    with HttpClient(retry=FAST, sleep=fake_sleep) as client:
        client.request("GET", server.url("/x"))
    assert len(sleeps) == 1
    # HTTP dates have a resolution of one second.
    assert 1.0 < sleeps[0] <= 3.0


def test_retry_after_zero_does_not_storm(server: LocalServer, fake_sleep, sleeps) -> None:
    server.route("/x", status(429, {"Retry-After": "0"}))
    policy = RetryPolicy(max_attempts=4, backoff_factor=0.05, jitter=False)
    with HttpClient(retry=policy, sleep=fake_sleep) as client:
        with pytest.raises(HttpStatusError) as caught:
            client.request("GET", server.url("/x"))
    assert server.hits("/x") == 4
    assert sleeps == [0.05, 0.1, 0.2]
    assert caught.value.status == 429
    assert caught.value.attempts == 4
    assert "failed with status 429 Too Many Requests after 4 attempts" in str(caught.value)


def test_retry_after_capped(server: LocalServer, fake_sleep, sleeps) -> None:
    server.route("/x", failing_then_ok([status(503, {"Retry-After": "86400"})]))
    policy = RetryPolicy(max_attempts=2, max_retry_after=5.0)
    with HttpClient(retry=policy, sleep=fake_sleep) as client:
        client.request("GET", server.url("/x"))
    assert sleeps == [5.0]


def test_connection_reset_retried(server: LocalServer, fake_sleep, sleeps) -> None:
    server.route("/x", failing_then_ok([reset]))
    with HttpClient(retry=FAST, sleep=fake_sleep) as client:
        response = client.request("GET", server.url("/x"))
    assert response.json() == {"ok": True}
    assert response.attempts == 2


def test_refused_connection_named(fake_sleep) -> None:
    # A port that was just free: nothing listens there, so the connection is refused.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with HttpClient(retry=FAST, sleep=fake_sleep) as client:
        with pytest.raises(HttpError) as caught:
            client.request("GET", f"http://127.0.0.1:{port}/x")
    assert str(caught.value) == f"GET http://127.0.0.1:{port}/x failed: cannot connect (connection refused) (after 3 attempts)"


def test_connection_failure_after_last_attempt(server: LocalServer, fake_sleep) -> None:
    server.route("/x", reset)
    with HttpClient(retry=FAST, sleep=fake_sleep) as client:
        with pytest.raises(HttpError) as caught:
            client.request("GET", server.url("/x"))
    assert type(caught.value) is HttpError
    assert caught.value.attempts == 3
    assert "(after 3 attempts)" in str(caught.value)
    assert "failed: the server closed the connection without a response (after 3 attempts)" in str(caught.value)
    assert caught.value.__cause__ is not None


def test_read_timeout_retried(server: LocalServer, fake_sleep) -> None:
    def slow(exchange: Exchange) -> None:
        time.sleep(0.5)
        exchange.send(200, {"late": True})

    server.route("/x", failing_then_ok([slow]))
    with HttpClient(retry=FAST, timeout=(5.0, 0.1), sleep=fake_sleep) as client:
        response = client.request("GET", server.url("/x"))
    assert response.json() == {"ok": True}
    assert response.attempts == 2


def test_body_cut_mid_stream_retried(server: LocalServer, fake_sleep) -> None:
    server.route("/x", failing_then_ok([cut_body]))
    with HttpClient(retry=FAST, sleep=fake_sleep) as client:
        response = client.request("GET", server.url("/x"))
    assert response.json() == {"ok": True}
    assert response.attempts == 2


def test_spooled_body_cut_retried(server: LocalServer, fake_sleep, tmp_path) -> None:
    server.route("/x", failing_then_ok([cut_chunked_body]))
    with HttpClient(retry=FAST, sleep=fake_sleep) as client:
        response = client.request("GET", server.url("/x"), spool=True)
    with response:
        assert response.json() == {"ok": True}
        assert response.attempts == 2


def test_body_always_cut_raises_incomplete(server: LocalServer, fake_sleep) -> None:
    server.route("/x", cut_body)
    with HttpClient(retry=FAST, sleep=fake_sleep) as client:
        with pytest.raises(IncompleteBodyError, match=r"after 3 attempts"):
            client.request("GET", server.url("/x"))
    assert server.hits("/x") == 3


def test_check_body_incomplete_retried(server: LocalServer, fake_sleep) -> None:
    answers = iter([b'{"n": 1}\n{"error": "terminated early"}\n', b'{"n": 1}\n{"n": 2}\n'])
    server.route("/x", lambda exchange: exchange.send(200, next(answers)))

    def check(response: HttpResponse) -> None:
        if b"terminated early" in response.content:
            raise IncompleteBodyError("export terminated early")

    with HttpClient(retry=FAST, sleep=fake_sleep) as client:
        response = client.request("GET", server.url("/x"), check_body=check)
    assert response.content == b'{"n": 1}\n{"n": 2}\n'
    assert response.attempts == 2


def test_check_body_always_failing(server: LocalServer, fake_sleep) -> None:
    server.route("/x", lambda exchange: exchange.send(200, b"{}"))

    def check(response: HttpResponse) -> None:
        raise IncompleteBodyError("export terminated early")

    with HttpClient(retry=FAST, sleep=fake_sleep) as client:
        with pytest.raises(IncompleteBodyError, match="terminated early.*after 3 attempts"):
            client.request("GET", server.url("/x"), check_body=check, spool=True)


def test_retries_logged_at_warning(server: LocalServer, fake_sleep, caplog) -> None:
    server.route("/x", failing_then_ok([status(503), reset]))
    with caplog.at_level(logging.WARNING, logger="restgen.http.client"):
        with HttpClient(retry=FAST, sleep=fake_sleep) as client:
            client.request("GET", server.url("/x?token=t0k&page=1"))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    url = server.url("/x?token=***&page=1")
    assert warnings[0] == f"GET {url} returned 503 Service Unavailable; attempt 2 of 3 in 0.01 s"
    assert warnings[1] == f"GET {url} failed: the server closed the connection without a response; attempt 3 of 3 in 0.02 s"
    assert len(warnings) == 2


def test_each_attempt_logged_at_debug(server: LocalServer, caplog) -> None:
    server.route("/x", lambda exchange: exchange.send(200, b"{}"))
    with caplog.at_level(logging.DEBUG, logger="restgen.http.client"):
        with HttpClient(retry=FAST) as client:
            client.request("GET", server.url("/x?api_key=k9"))
    debug = [r.getMessage() for r in caplog.records if r.name == "restgen.http.client"]
    assert debug[0] == f"GET {server.url('/x?api_key=***')} (attempt 1 of 3)"


def test_stats_accepts_any_object(server: LocalServer, fake_sleep) -> None:
    server.route("/x", failing_then_ok([status(502)]))
    stats = SimpleNamespace(requests=10, retries=0)
    with HttpClient(retry=FAST, sleep=fake_sleep) as client:
        client.request("GET", server.url("/x"), stats=stats)
    assert (stats.requests, stats.retries) == (12, 1)


# Errors that are not retried


def test_client_error_fails_at_once(server: LocalServer, fake_sleep, sleeps) -> None:
    body = '{"error": "no such project", "echo": "secret-key"}' + "x" * 2000
    server.route("/x", lambda exchange: exchange.send(404, body))
    redacted_url = server.url("/x?project=7&api_key=***")
    with HttpClient(retry=FAST, sleep=fake_sleep) as client:
        with pytest.raises(HttpStatusError) as caught:
            client.request("GET", server.url("/x"), params={"project": 7, "api_key": "secret-key"})
    error = caught.value
    assert server.hits("/x") == 1
    assert sleeps == []
    assert error.status == 404
    assert error.attempts == 1
    assert error.url == redacted_url
    assert str(error).startswith(f'GET {redacted_url} failed with status 404 Not Found: {{"error": "no such project"')
    assert error.body_start.startswith('{"error": "no such project", "echo": "***"}')
    assert len(error.body_start) == 500
    assert "secret-key" not in str(error)


def test_invalid_url_raises_http_error() -> None:
    with HttpClient(retry=FAST) as client:
        with pytest.raises(HttpError, match="invalid request"):
            client.request("GET", "not a url")


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_tls_verified_by_default(make_server, self_signed_cert, fake_sleep) -> None:
    cert, key = self_signed_cert
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    tls_server = make_server(context)
    tls_server.route("/x", lambda exchange: exchange.send(200, {"ok": True}))

    with HttpClient(retry=FAST, sleep=fake_sleep) as client:
        with pytest.raises(HttpError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
            client.request("GET", tls_server.url("/x"))
    with HttpClient(retry=FAST, verify=False, sleep=fake_sleep) as client:
        assert client.request("GET", tls_server.url("/x")).json() == {"ok": True}


# Bodies


def test_response_fields_in_memory(server: LocalServer) -> None:
    server.route("/x", lambda exchange: exchange.send(200, "é", {"X-Id": "7"}, "text/plain; charset=latin-1"))
    with HttpClient(retry=FAST) as client:
        response = client.request("GET", server.url("/x?token=abc"))
    assert response.status_code == 200
    assert response.headers["x-id"] == "7"
    assert response.url == server.url("/x?token=abc")
    assert response.display_url == server.url("/x?token=***")
    assert response.path is None
    assert response.elapsed >= 0
    assert response.content == "é".encode()
    assert response.text == "Ã©"
    with response.open() as file:
        assert file.read() == "é".encode()


def test_json_error_names_url_and_position(server: LocalServer) -> None:
    server.route("/x", lambda exchange: exchange.send(200, '{"a": 1}\n{"a": 2}\n'))
    with HttpClient(retry=FAST) as client:
        response = client.request("GET", server.url("/x?token=abc"))
    with pytest.raises(ResponseError) as caught:
        response.json()
    message = str(caught.value)
    assert server.url("/x?token=***") in message
    assert "Extra data at line 2 column 1 (char 9)" in message


def test_gzip_body_spooled_and_decoded(server: LocalServer) -> None:
    lines = b"".join(b'{"event": "e%d"}\n' % i for i in range(1000))
    compressed = gzip.compress(lines)
    server.route(
        "/export",
        lambda exchange: exchange.send(200, compressed, {"Content-Encoding": "gzip"}, "application/x-ndjson"),
    )
    with HttpClient(retry=FAST) as client:
        response = client.request("GET", server.url("/export"), spool=True)
    path = response.path
    assert path is not None
    assert os.path.exists(path)
    assert Path(path).read_bytes() == lines
    with response.open() as file:
        assert file.readline() == b'{"event": "e0"}\n'
    response.close()
    assert not os.path.exists(path)
    with pytest.raises(ValueError):
        response.open()


def test_spool_file_deleted_on_gc(server: LocalServer) -> None:
    server.route("/x", lambda exchange: exchange.send(200, b"[1, 2]"))
    with HttpClient(retry=FAST) as client:
        response = client.request("GET", server.url("/x"), spool=True)
    path = response.path
    assert path is not None and os.path.exists(path)
    del response
    gc.collect()
    assert not os.path.exists(path)


def test_spool_memory_stays_flat(server: LocalServer) -> None:
    line = b'{"event": "page_view", "properties": {"distinct_id": "abcdefgh", "time": 1700000000}}\n'
    body_size = 40 * 1024 * 1024
    decoded = line * (body_size // len(line))
    compressed = gzip.compress(decoded)
    del decoded
    server.route("/big", lambda exchange: exchange.send(200, compressed, {"Content-Encoding": "gzip"}))

    with HttpClient(retry=FAST) as client:
        tracemalloc.start()
        try:
            response = client.request("GET", server.url("/big"), spool=True)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    with response:
        assert response.path is not None
        assert os.path.getsize(response.path) == body_size // len(line) * len(line)
    assert peak < 4 * 1024 * 1024


# Rate limits and threads


def test_rate_limit_per_second_window(server: LocalServer) -> None:
    arrivals: list[float] = []
    lock = threading.Lock()

    def record(exchange: Exchange) -> None:
        with lock:
            arrivals.append(time.monotonic())
        exchange.send(200, b"{}")

    server.route("/x", record)
    limiter = RateLimiter(RateLimit(requests_per_second=10), [])
    with HttpClient(retry=FAST, rate_limiter=limiter) as client:
        threads = [
            threading.Thread(target=lambda: [client.request("GET", server.url("/x")) for _ in range(6)])
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    arrivals.sort()
    assert len(arrivals) == 24
    # No 11 arrivals fall within one second. The window checked is 0.9 s so that
    # differences in latency between requests cannot make the test flaky.
    for first, eleventh in zip(arrivals, arrivals[10:]):
        assert eleventh - first > 0.9


def test_concurrency_slot_covers_body_read(server: LocalServer) -> None:
    lock = threading.Lock()
    active = 0
    peak = 0

    def slow_body(exchange: Exchange) -> None:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        exchange.send_head(200, {"Content-Type": "application/json", "Content-Length": "2"})
        exchange.write(b"{")
        time.sleep(0.03)
        # Leave the count before the last byte, so the client cannot start its next
        # request while this one is still counted.
        with lock:
            active -= 1
        exchange.write(b"}")

    server.route("/x", slow_body)
    limiter = RateLimiter(RateLimit(max_concurrency=2), [])
    results: list[HttpResponse] = []

    def work() -> None:
        for _ in range(3):
            results.append(client.request("GET", server.url("/x")))

    with HttpClient(retry=FAST, rate_limiter=limiter) as client:
        threads = [threading.Thread(target=work) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert len(results) == 18
    assert all(response.content == b"{}" for response in results)
    assert peak == 2


# Secrets


def test_secrets_never_logged_or_raised(server: LocalServer, fake_sleep, caplog) -> None:
    password, token, api_key = "pa55-word", "bearer-t0ken", "qu3ry-key"
    server.route("/flaky", failing_then_ok([status(503), reset]))
    server.route("/missing", lambda exchange: exchange.send(404, exchange.headers.get("Authorization") or ""))
    server.route("/down", reset)
    configs = [
        {"type": "basic", "username": "ann", "password": password},
        {"type": "bearer", "token": token},
        {"type": "api_key", "name": "api_key", "value": api_key, "location": "query"},
        {"type": "api_key", "name": "sig", "value": api_key, "location": "query"},
    ]
    errors: list[str] = []
    # The CLI tests raise urllib3's level to WARNING; this test needs its DEBUG lines.
    caplog.set_level(logging.DEBUG, logger="urllib3")
    with caplog.at_level(logging.DEBUG):
        for config in configs:
            with HttpClient(auth=create_auth(config), retry=FAST, sleep=fake_sleep) as client:
                client.request("GET", server.url("/flaky"))
                for path in ("/missing", "/down"):
                    with pytest.raises(HttpError) as caught:
                        client.request("GET", server.url(path))
                    errors.append(str(caught.value))
                    errors.append(repr(caught.value.__cause__))

    text = caplog.text + "\n".join(errors)
    assert "urllib3.connectionpool" in caplog.text
    assert "/flaky?api_key=*** HTTP/1.1" in caplog.text
    assert "/missing?sig=***" in "\n".join(errors)
    encoded = "YW5uOnBhNTUtd29yZA=="  # base64 of "ann:pa55-word"
    for secret in (password, token, api_key, encoded):
        assert secret not in text


def test_redirect_drops_api_key_header(server: LocalServer, make_server) -> None:
    other = make_server()
    other.route("/landing", lambda exchange: exchange.send(200, {"key": exchange.headers.get("X-Api-Key")}))
    server.route("/same", lambda exchange: exchange.send(302, b"", {"Location": "/landing"}))
    server.route("/landing", lambda exchange: exchange.send(200, {"key": exchange.headers.get("X-Api-Key")}))
    server.route("/away", lambda exchange: exchange.send(302, b"", {"Location": other.url("/landing")}))
    auth = create_auth({"type": "api_key", "name": "X-Api-Key", "value": "k1"})
    with HttpClient(auth=auth, retry=FAST) as client:
        assert client.request("GET", server.url("/same")).json() == {"key": "k1"}
        assert client.request("GET", server.url("/away")).json() == {"key": None}


def test_close_removes_log_filters(server: LocalServer) -> None:
    library_logger = logging.getLogger("urllib3.connectionpool")
    before = list(library_logger.filters)
    client = HttpClient()
    assert len(library_logger.filters) == len(before) + 1
    client.close()
    assert library_logger.filters == before
    with pytest.raises(RuntimeError, match="closed"):
        client.request("GET", server.url("/x"))
