"""A small threaded HTTP server that hands each parsed request to an application callable.

The application is a plain function from :class:`SimRequest` to :class:`SimResponse`, so the
endpoint logic of a simulator stays free of socket handling. This module owns the wire-level
behaviour: body reading (Content-Length or chunked), gzip when the client accepts it, and the
"cut" fault that closes the connection halfway through a body.
"""

from __future__ import annotations

import gzip
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

# Mixpanel gzips export bodies larger than this many bytes when the client accepts gzip.
GZIP_MIN_BYTES = 1400

# An idle keep-alive connection is closed after this many seconds so its thread ends.
IDLE_CONNECTION_TIMEOUT = 30.0


@dataclass(frozen=True)
class SimRequest:
    """One parsed HTTP request.

    ``target`` is the raw request target (path plus query string, as sent), ``path`` its
    path part and ``query`` its query string, neither of them percent-decoded. Header names
    are lower-case.
    """

    method: str
    target: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


@dataclass
class SimResponse:
    """The response an application returns.

    ``cut`` makes the server send the headers with the full Content-Length, then only
    about half of the body, and then close the connection.
    """

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    cut: bool = False


Application = Callable[[SimRequest], SimResponse]


def accepts_gzip(accept_encoding: str) -> bool:
    """Return whether an Accept-Encoding header value allows gzip (a q of 0 rejects it)."""
    for item in accept_encoding.split(","):
        coding, _, parameters = item.strip().partition(";")
        if coding.strip().lower() not in ("gzip", "*"):
            continue
        quality = parameters.strip().lower()
        if quality.startswith("q="):
            try:
                return float(quality[2:]) > 0
            except ValueError:
                return False
        return True
    return False


class _RequestHandler(BaseHTTPRequestHandler):
    """Parse a request, call the server's application and write its response."""

    protocol_version = "HTTP/1.1"
    server_version = "restgen-simulator"
    timeout = IDLE_CONNECTION_TIMEOUT
    server: SimulatorHTTPServer

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except ValueError as exc:
            logger.warning("Rejected a request body for %s %s: %s", self.command, self.path, exc)
            self._write(SimResponse(400, b'{"error": "invalid request body framing"}'))
            self.close_connection = True
            return

        split = urlsplit(self.path)
        request = SimRequest(
            method=self.command,
            target=self.path,
            path=split.path,
            query=split.query,
            headers={key.lower(): value for key, value in self.headers.items()},
            body=body,
        )
        try:
            response = self.server.application(request)
        except Exception:
            # Every request must get a response, so a bug surfaces as a 500 and a log line.
            logger.exception("Simulator application failed on %s %s", self.command, split.path)
            response = SimResponse(500, b'{"error": "simulator internal error"}')
        self._write(response)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked_body()
        length_header = self.headers.get("Content-Length")
        if not length_header:
            return b""
        length = int(length_header)
        if length < 0:
            raise ValueError(f"negative Content-Length {length}")
        return self.rfile.read(length)

    def _read_chunked_body(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size_line = self.rfile.readline(1024)
            size = int(size_line.split(b";", 1)[0].strip() or b"x", 16)
            if size == 0:
                # Skip optional trailer headers up to the blank line that ends the body.
                while self.rfile.readline(1024).strip():
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _write(self, response: SimResponse) -> None:
        body = response.body
        headers = dict(response.headers)
        if len(body) > GZIP_MIN_BYTES and accepts_gzip(self.headers.get("Accept-Encoding", "")):
            body = gzip.compress(body, compresslevel=5, mtime=0)
            headers["Content-Encoding"] = "gzip"
            headers["Vary"] = "Accept-Encoding"

        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        if response.cut:
            self.send_header("Connection", "close")
        self.end_headers()

        if self.command == "HEAD":
            return
        if response.cut:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        # The request line contains no credentials, because they travel in the Authorization header.
        logger.debug("%s " + format, self.address_string(), *args)


class SimulatorHTTPServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer whose handler threads call ``application`` for every request."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], application: Application) -> None:
        self.application = application
        super().__init__(address, _RequestHandler)

    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        # A client that hangs up mid-response is normal in fault tests, so it gets no traceback.
        logger.debug("Connection from %s:%s ended with an error", *client_address[:2], exc_info=True)


class ServerThread:
    """Run a :class:`SimulatorHTTPServer` in a daemon thread until :meth:`stop` is called."""

    def __init__(self, application: Application, host: str, port: int) -> None:
        self._server = SimulatorHTTPServer((host, port), application)
        self._host = host
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"simulator-{self._server.server_port}",
            daemon=True,
        )

    @property
    def url(self) -> str:
        """The base URL, ``http://HOST:PORT``, of the listening socket."""
        return f"http://{self._host}:{self._server.server_port}"

    def start(self) -> None:
        """Start serving in the background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting requests, close the listening socket and wait for the loop to end."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def wait(self, poll_seconds: float = 0.5) -> None:
        """Block until the server stops; short joins keep KeyboardInterrupt deliverable."""
        while self._thread.is_alive():
            self._thread.join(poll_seconds)
