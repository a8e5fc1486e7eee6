"""The benchmark's HTTP server on 127.0.0.1: pre-serialized bodies, keep-alive, request counters.

``run.py`` starts it as its own process (``python loopback_server.py CONFIG_JSON``), so that
the harness, which forks every contender, stays small: Linux carries the forking process's
peak RSS into the child's ``ru_maxrss``. The server builds its datasets, prints one JSON line
with its base URL, and stops when its standard input closes.

Routes (every body is built before the server starts, so serving costs no JSON encoding):

- ``GET /paged/<name>/items?page=N``: page N (1-based) of a paged dataset, ``{"data": [...],
  "page": N, "total_pages": T}``; a page past the end has an empty ``data`` list.
- ``GET /export/<name>``: a JSON Lines body, written in 1 MiB chunks with a Content-Length.
- ``GET /fanout/parents`` and ``GET /fanout/parents/<id>/children``: the fan-out workload.
  Each child request sleeps ``child_latency`` seconds first and is checked against the
  configured rate limit (see ``FanoutLimits``).
- ``GET /_control/counters`` returns the fan-out counters as JSON, and ``POST /_control/reset``
  clears them before a run.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger("loopback_server")

JSON_TYPE = "application/json"
JSONL_TYPE = "application/x-ndjson"


@dataclass(frozen=True)
class FanoutLimits:
    """The rate limit written into the fan-out clients' configs, which the server checks.

    A request in flight counts from the moment its handler starts until just before the
    response is written, so a client that waits for each response before it sends the next
    request can never be seen above its own concurrency. Request starts are counted in
    sliding windows of ``1 s - window_slack``. The slack absorbs loopback scheduling jitter,
    which can make two requests sent 1.000 s apart arrive a few milliseconds closer.
    """

    max_concurrency: int
    requests_per_second: int
    window_slack: float = 0.010


@dataclass
class FanoutCounters:
    """Counters of one fan-out run, measured by the server: concurrency, starts and handler time."""

    in_flight: int = 0
    max_in_flight: int = 0
    child_requests: int = 0
    parent_requests: int = 0
    starts: list[float] = field(default_factory=list)
    first_start: float | None = None
    last_end: float | None = None
    handler_seconds: float = 0.0
    concurrency_violations: int = 0

    def max_starts_in_window(self, window: float) -> int:
        """Return the largest number of request starts inside any window of ``window`` s."""
        starts = sorted(self.starts)
        best = 0
        left = 0
        for right, started in enumerate(starts):
            while started - starts[left] >= window:
                left += 1
            best = max(best, right - left + 1)
        return best

    def summary(self, limits: FanoutLimits | None) -> dict[str, float | int | None]:
        """Return the figures ``run.py`` reports: span, concurrency and limit violations."""
        span = self.last_end - self.first_start if self.last_end is not None and self.first_start is not None else None
        max_starts = self.max_starts_in_window(1.0 - limits.window_slack) if limits else 0
        excess = max(0, max_starts - limits.requests_per_second) if limits else 0
        return {
            "span": span,
            "handler_seconds": self.handler_seconds,
            "child_requests": self.child_requests,
            "max_in_flight": self.max_in_flight,
            "max_starts": max_starts,
            "violations": self.concurrency_violations + excess,
        }


class Dataset:
    """Bodies of one workload, each a list of byte chunks with a known total length."""

    def __init__(self, content_type: str, chunks: Sequence[bytes]) -> None:
        self.content_type = content_type
        self.chunks = list(chunks)
        self.length = sum(len(chunk) for chunk in self.chunks)


class LoopbackServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer bound to 127.0.0.1 on a free port, serving registered bodies."""

    daemon_threads = True
    # Connections of a 500-request fan-out can arrive faster than the default backlog of 5.
    request_queue_size = 128

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.pages: dict[str, list[bytes]] = {}
        self.exports: dict[str, Dataset] = {}
        self.parents_body = b'{"data": []}'
        self.children_bodies: dict[str, bytes] = {}
        self.child_latency = 0.0
        self.limits: FanoutLimits | None = None
        self.counters = FanoutCounters()
        self.counter_lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="bench-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def reset_counters(self) -> None:
        with self.counter_lock:
            self.counters = FanoutCounters()

    def set_fanout(self, parents_body: bytes, children: dict[str, bytes], latency: float, limits: FanoutLimits) -> None:
        self.parents_body = parents_body
        self.children_bodies = children
        self.child_latency = latency
        self.limits = limits

    # -- fan-out accounting, called from handler threads ----------------------------------

    def enter_child(self) -> None:
        now = time.monotonic()
        with self.counter_lock:
            counters = self.counters
            counters.in_flight += 1
            counters.child_requests += 1
            counters.starts.append(now)
            counters.max_in_flight = max(counters.max_in_flight, counters.in_flight)
            if self.limits is not None and counters.in_flight > self.limits.max_concurrency:
                counters.concurrency_violations += 1
            if counters.first_start is None:
                counters.first_start = now

    def leave_child(self, started: float) -> None:
        now = time.monotonic()
        with self.counter_lock:
            counters = self.counters
            counters.in_flight -= 1
            counters.handler_seconds += now - started
            counters.last_end = now if counters.last_end is None else max(counters.last_end, now)

    def enter_parent(self) -> None:
        now = time.monotonic()
        with self.counter_lock:
            self.counters.parent_requests += 1
            if self.counters.first_start is None:
                self.counters.first_start = now


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Small responses would otherwise wait for the client's delayed ACK (Nagle's algorithm).
    disable_nagle_algorithm = True
    server: LoopbackServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        """Keep the benchmark's output free of one access-log line per request."""

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if urlsplit(self.path).path == "/_control/reset":
            self.server.reset_counters()
            self._send_body(JSON_TYPE, [b'{"reset": true}'])
        else:
            self._send_body(JSON_TYPE, [b'{"error": "not found"}'], status=404)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        parts = urlsplit(self.path)
        segments = [segment for segment in parts.path.split("/") if segment]
        if segments == ["_control", "counters"]:
            with self.server.counter_lock:
                summary = self.server.counters.summary(self.server.limits)
            self._send_body(JSON_TYPE, [json.dumps(summary).encode("utf-8")])
        elif len(segments) == 3 and segments[0] == "paged" and segments[2] == "items":
            self._send_page(segments[1], parse_qs(parts.query))
        elif len(segments) == 2 and segments[0] == "export":
            self._send_export(segments[1])
        elif segments == ["fanout", "parents"]:
            self.server.enter_parent()
            self._send_body(JSON_TYPE, [self.server.parents_body])
        elif len(segments) == 4 and segments[:2] == ["fanout", "parents"] and segments[3] == "children":
            self._send_child(segments[2])
        else:
            self._send_body(JSON_TYPE, [b'{"error": "not found"}'], status=404)

    def _send_page(self, name: str, query: dict[str, list[str]]) -> None:
        pages = self.server.pages.get(name)
        if pages is None:
            self._send_body(JSON_TYPE, [b'{"error": "unknown dataset"}'], status=404)
            return
        try:
            number = int(query.get("page", ["1"])[0])
        except ValueError:
            self._send_body(JSON_TYPE, [b'{"error": "page must be an integer"}'], status=400)
            return
        if 1 <= number <= len(pages):
            body = pages[number - 1]
        else:
            body = b'{"data": [], "page": %d, "total_pages": %d}' % (number, len(pages))
        self._send_body(JSON_TYPE, [body])

    def _send_export(self, name: str) -> None:
        dataset = self.server.exports.get(name)
        if dataset is None:
            self._send_body(JSON_TYPE, [b'{"error": "unknown dataset"}'], status=404)
            return
        self._send_body(dataset.content_type, dataset.chunks, length=dataset.length)

    def _send_child(self, parent_id: str) -> None:
        body = self.server.children_bodies.get(parent_id)
        started = time.monotonic()
        self.server.enter_child()
        try:
            time.sleep(self.server.child_latency)
        finally:
            # Leave before writing, so that a client reusing this slot is never double counted.
            self.server.leave_child(started)
        if body is None:
            self._send_body(JSON_TYPE, [b'{"error": "unknown parent"}'], status=404)
            return
        self._send_body(JSON_TYPE, [body])

    def _send_body(self, content_type: str, chunks: Sequence[bytes], *, status: int = 200, length: int | None = None) -> None:
        if status >= 400:
            logger.warning("%s %s returned %d", self.command, self.path, status)
        total = length if length is not None else sum(len(chunk) for chunk in chunks)
        head = (
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {total}\r\n"
            "Connection: keep-alive\r\n\r\n"
        ).encode("ascii")
        # The header and a small body leave in one write. Large bodies go chunk by chunk.
        if chunks and len(chunks[0]) < 65536:
            self.wfile.write(head + chunks[0])
            rest = chunks[1:]
        else:
            self.wfile.write(head)
            rest = chunks
        for chunk in rest:
            self.wfile.write(chunk)


def build_server(config: dict) -> LoopbackServer:
    """Create a server with the datasets that ``config`` names (see ``run.py``'s ``server_config``)."""
    from workloads import export_chunks, fanout_bodies, paged_bodies

    server = LoopbackServer()
    for rows in config.get("paged", []):
        server.pages[f"p{rows}"] = paged_bodies(rows)
    for events in config.get("exports", []):
        server.exports[f"e{events}"] = Dataset(JSONL_TYPE, list(export_chunks(events)))
    fanout = config.get("fanout")
    if fanout:
        parents_body, children = fanout_bodies(fanout["parents"])
        limits = FanoutLimits(fanout["max_concurrency"], fanout["requests_per_second"])
        server.set_fanout(parents_body, children, fanout["latency"], limits)
    return server


def main(argv: list[str]) -> int:
    server = build_server(json.loads(argv[1]))
    server.start()
    print(json.dumps({"base_url": server.base_url}), flush=True)
    # The harness keeps this pipe open while it runs, so the server ends with it, even when
    # the harness is killed.
    sys.stdin.read()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
