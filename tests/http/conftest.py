"""A scriptable HTTP server on 127.0.0.1 for the HTTP layer tests.

Tests register a handler per path. Each handler gets an Exchange with the parsed request and
writes whatever response, broken or not, the test needs.
"""

from __future__ import annotations

import json
import socket
import ssl
import struct
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest


class Exchange:
    """One request received by the LocalServer, with methods to write the response."""

    def __init__(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        self.handler = handler
        parts = urlsplit(handler.path)
        self.method = handler.command
        self.raw_path = handler.path
        self.path = parts.path
        self.query: dict[str, list[str]] = parse_qs(parts.query, keep_blank_values=True)
        self.headers: Message = handler.headers
        self.body = body

    def send(
        self,
        status: int,
        body: bytes | str | Any = b"",
        headers: Mapping[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        """Send a complete response. A ``body`` other than bytes or str is JSON-encoded."""
        if isinstance(body, str):
            payload = body.encode("utf-8")
        elif isinstance(body, bytes):
            payload = body
        else:
            payload = json.dumps(body).encode("utf-8")
        head = {"Content-Type": content_type, "Content-Length": str(len(payload))}
        self.send_head(status, {**head, **(headers or {})})
        self.write(payload)

    def send_head(self, status: int, headers: Mapping[str, str]) -> None:
        """Send the status line and headers, leaving the body to ``write``."""
        self.handler.send_response(status)
        for name, value in headers.items():
            self.handler.send_header(name, value)
        self.handler.end_headers()
        self.handler.wfile.flush()

    def write(self, data: bytes) -> None:
        self.handler.wfile.write(data)
        self.handler.wfile.flush()

    def write_chunk(self, data: bytes) -> None:
        """Write one chunk of a ``Transfer-Encoding: chunked`` body. Empty data ends the body."""
        self.write(f"{len(data):x}\r\n".encode("ascii") + data + b"\r\n")

    def close(self, reset: bool = False) -> None:
        """Close the connection now. With ``reset`` the client gets a TCP RST."""
        self.handler.close_connection = True
        connection: socket.socket = self.handler.connection
        if reset:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        connection.close()


Handler = Callable[[Exchange], None]


class LocalServer:
    """A ThreadingHTTPServer on 127.0.0.1 with an ephemeral port and per-path handlers."""

    def __init__(self, tls_context: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Handler] = {}
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        owner = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _dispatch(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                exchange = Exchange(self, body)
                with owner._lock:
                    owner.exchanges.append(exchange)
                handler = owner.routes.get(exchange.path)
                if handler is None:
                    exchange.send(404, {"error": f"no route for {exchange.path}"})
                    return
                handler(exchange)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _dispatch

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                # Handlers close connections on purpose, so the resulting errors are expected.
                pass

        self._server = Server(("127.0.0.1", 0), RequestHandler)
        if tls_context is not None:
            self._server.socket = tls_context.wrap_socket(self._server.socket, server_side=True)
        host, port = self._server.server_address[:2]
        scheme = "https" if tls_context is not None else "http"
        self.base_url = f"{scheme}://{host}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def route(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def url(self, path_and_query: str) -> str:
        return self.base_url + path_and_query

    def hits(self, path: str) -> int:
        with self._lock:
            return sum(1 for exchange in self.exchanges if exchange.path == path)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    local = LocalServer()
    local.start()
    yield local
    local.stop()


@pytest.fixture
def make_server() -> Iterator[Callable[..., LocalServer]]:
    """Return a factory for extra servers, stopped at the end of the test."""
    started: list[LocalServer] = []

    def factory(tls_context: ssl.SSLContext | None = None) -> LocalServer:
        local = LocalServer(tls_context)
        local.start()
        started.append(local)
        return local

    yield factory
    for local in started:
        local.stop()


@pytest.fixture
def sleeps() -> list[float]:
    """A list that the ``fake_sleep`` fixture appends each requested wait to."""
    return []


@pytest.fixture
def fake_sleep(sleeps: list[float]) -> Callable[[float], None]:
    return sleeps.append


@pytest.fixture(scope="session")
def self_signed_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Return (certificate, key) paths of a self-signed certificate for 127.0.0.1."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    command = [
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        "-keyout", str(key), "-out", str(cert),
    ]  # fmt: skip
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"openssl could not create a test certificate: {exc}")
    return cert, key
