"""Fixtures for the engine tests: a scriptable API on 127.0.0.1, spec files and DuckDB reads.

Every test runs the real engine: specs are YAML files in ``tmp_path``, requests go to an
``ApiServer`` (a ThreadingHTTPServer on 127.0.0.1 with an ephemeral port), and rows are read
back from the DuckDB file that dlt wrote in ``tmp_path``. The working directory is
``tmp_path`` too, so nothing lands in the repository.
"""

from __future__ import annotations

import json
import logging
import socket
import struct
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import dlt
import duckdb
import pytest
import yaml

from restgen.cli import main as cli_main
from restgen.engine.run import RunResult, run_spec
from restgen.incremental import SEEN_KEY, STATE_KEY
from restgen.spec import Spec, load_spec

logger = logging.getLogger(__name__)

SOURCE = "testapi"
# Tiny backoffs keep retry tests fast; jitter off keeps the waits predictable.
FAST_RETRY = {"max_attempts": 4, "backoff_factor": 0.01, "max_backoff": 0.05, "jitter": False, "max_retry_after": 2}


@dataclass
class RecordedRequest:
    """One request the ApiServer received."""

    method: str
    path: str
    raw_path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes

    def arg(self, name: str, default: str | None = None) -> str | None:
        """Return the first query value of ``name``, or ``default``."""
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def form(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(self.body.decode("utf-8"), keep_blank_values=True).items()}


class Exchange:
    """A request in progress: the recorded request and the methods that write its response."""

    def __init__(self, handler: BaseHTTPRequestHandler, request: RecordedRequest, server: ApiServer) -> None:
        self.handler = handler
        self.request = request
        self.server = server

    def send(self, status: int, payload: bytes | str = b"", headers: Mapping[str, str] | None = None, content_type: str = "application/json") -> None:
        """Send a complete response with a correct Content-Length."""
        data = payload.encode("utf-8") if isinstance(payload, str) else payload
        self.send_head(status, {"Content-Type": content_type, "Content-Length": str(len(data)), **(headers or {})})
        self.write(data)

    def send_json(self, body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> None:
        self.send(status, json.dumps(body), headers)

    def send_head(self, status: int, headers: Mapping[str, str]) -> None:
        self.handler.send_response(status)
        for name, value in headers.items():
            self.handler.send_header(name, value)
        self.handler.end_headers()
        self.handler.wfile.flush()

    def write(self, data: bytes) -> None:
        self.handler.wfile.write(data)
        self.handler.wfile.flush()

    def reset(self) -> None:
        """Close the connection with a TCP RST, as a crashed server or a proxy would."""
        self.handler.close_connection = True
        connection: socket.socket = self.handler.connection
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()


Handler = Callable[[Exchange], None]


class ApiServer:
    """A ThreadingHTTPServer on 127.0.0.1 with handlers per path and a log of every request.

    ``in_flight`` counts requests whose handler is running; ``max_in_flight`` is its maximum
    over the server's life, so tests can prove that requests overlapped, or did not.
    """

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._condition = threading.Condition()
        owner = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _dispatch(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = RecordedRequest(
                    method=self.command,
                    path=parts.path,
                    raw_path=self.path,
                    query=parse_qs(parts.query, keep_blank_values=True),
                    headers=self.headers,
                    body=body,
                )
                owner._enter(request)
                try:
                    exchange = Exchange(self, request, owner)
                    route = owner.routes.get(parts.path)
                    if route is None:
                        exchange.send_json({"error": f"no route for {parts.path}"}, status=404)
                    else:
                        route(exchange)
                finally:
                    owner._leave()

            do_GET = do_POST = _dispatch

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                # Handlers cut connections on purpose; the broken pipes that follow are expected.
                pass

        self._server = Server(("127.0.0.1", 0), RequestHandler)
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def _enter(self, request: RecordedRequest) -> None:
        with self._condition:
            self.requests.append(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._condition.notify_all()

    def _leave(self) -> None:
        with self._condition:
            self.in_flight -= 1
            self._condition.notify_all()

    def wait_for_in_flight(self, count: int, timeout: float) -> bool:
        """Block a handler until ``count`` requests are in flight; False when ``timeout`` passed first."""
        with self._condition:
            return self._condition.wait_for(lambda: self.in_flight >= count, timeout=timeout)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def route(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def json_route(self, path: str, build: Callable[[RecordedRequest], Any]) -> None:
        """Serve ``path`` with status 200 and the JSON that ``build`` returns for each request."""
        self.routes[path] = lambda exchange: exchange.send_json(build(exchange.request))

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._condition:
            return [request for request in self.requests if request.path == path]

    def clear(self) -> None:
        with self._condition:
            self.requests.clear()
            self.max_in_flight = self.in_flight


@pytest.fixture
def api() -> Iterator[ApiServer]:
    server = ApiServer()
    server.start()
    yield server
    server.stop()


@dataclass
class Engine:
    """Writes specs, runs them through the real engine and reads what landed in DuckDB."""

    tmp_path: Path
    api: ApiServer
    capsys: pytest.CaptureFixture[str]
    database: str | None = None
    pipeline_name: str = SOURCE
    spec_count: int = field(default=0)

    @property
    def pipelines_dir(self) -> Path:
        return self.tmp_path / "pipelines"

    def write_spec(
        self,
        endpoints: Sequence[Mapping[str, Any]],
        *,
        client: Mapping[str, Any] | None = None,
        variables: Mapping[str, Any] | None = None,
        dependencies: Sequence[Mapping[str, Any]] | None = None,
        defaults: Mapping[str, Any] | None = None,
        source: str = SOURCE,
    ) -> Path:
        """Write a spec whose client points at ``${base}`` with fast retries; return its path."""
        document: dict[str, Any] = {
            "restgen": 1,
            "source": source,
            "variables": {"base": {"required": True}, **(variables or {})},
            "client": {"base_url": "${base}", "retry": dict(FAST_RETRY), **(client or {})},
            "endpoints": [dict(endpoint) for endpoint in endpoints],
        }
        if defaults:
            document["defaults"] = dict(defaults)
        if dependencies:
            document["dependencies"] = [dict(item) for item in dependencies]
        self.spec_count += 1
        path = self.tmp_path / f"spec{self.spec_count}.yaml"
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return path

    def load(self, path: Path, **variables: str) -> Spec:
        return load_spec(path, {"base": self.api.base_url, **variables}, environ={}, use_dlt=False)

    def run(self, spec: Spec | Path, **options: Any) -> RunResult:
        """Run ``spec`` (a Spec or a spec file) into DuckDB under ``tmp_path``."""
        if isinstance(spec, Path):
            spec = self.load(spec)
        result = run_spec(spec, pipelines_dir=self.pipelines_dir, **options)
        self.database = result.database_path
        self.pipeline_name = result.pipeline_name
        return result

    def cli(self, *args: str) -> tuple[int, str, str]:
        """Run the restgen command line; return (exit code, stdout, stderr)."""
        self.capsys.readouterr()
        code = cli_main(list(args))
        out, err = self.capsys.readouterr()
        return code, out, err

    def cli_run(self, path: Path, *args: str) -> tuple[int, str, str]:
        """Run ``restgen run`` on ``path`` against the ApiServer, with pipelines in ``tmp_path``."""
        result = self.cli("run", str(path), "--var", f"base={self.api.base_url}", "--pipelines-dir", str(self.pipelines_dir), *args)
        databases = sorted(self.tmp_path.glob("*.duckdb"))
        if databases:
            self.database = str(databases[0])
        return result

    def query(self, sql: str, dataset: str = SOURCE) -> list[tuple[Any, ...]]:
        """Run ``sql`` on the DuckDB file of the last run, with ``dataset`` as the schema."""
        assert self.database is not None, "no run has written a DuckDB file yet"
        connection = duckdb.connect(self.database)
        try:
            connection.execute(f'SET schema = "{dataset}"')
            return connection.execute(sql).fetchall()
        finally:
            connection.close()

    def tables(self, dataset: str = SOURCE) -> set[str]:
        if self.database is None:
            return set()
        connection = duckdb.connect(self.database)
        try:
            rows = connection.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = ?", [dataset]).fetchall()
        finally:
            connection.close()
        return {row[0] for row in rows}

    def count(self, table: str, dataset: str = SOURCE) -> int:
        return int(self.query(f'SELECT count(*) FROM "{table}"', dataset)[0][0])

    def column(self, table: str, column: str, dataset: str = SOURCE) -> list[Any]:
        """Return one column of a table, sorted."""
        return [row[0] for row in self.query(f'SELECT "{column}" FROM "{table}" ORDER BY 1', dataset)]

    def cursors(self, endpoint: str, source: str = SOURCE) -> dict[str, str]:
        """Return restgen's cursor state of ``endpoint`` as the pipeline stored it."""
        pipeline = dlt.attach(pipeline_name=self.pipeline_name, pipelines_dir=str(self.pipelines_dir))
        resources = pipeline.state.get("sources", {}).get(source, {}).get("resources", {})
        cursors = dict(resources.get(endpoint, {}).get(STATE_KEY, {}))
        cursors.pop(SEEN_KEY, None)
        return cursors


@pytest.fixture
def engine(tmp_path: Path, api: ApiServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    return Engine(tmp_path, api, capsys)


def page_of(items: Sequence[Any], start: int, size: int) -> list[Any]:
    return list(items[start : start + size])
