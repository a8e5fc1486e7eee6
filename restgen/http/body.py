"""Read a streamed response body into memory or a temporary file, and detect cut bodies."""

from __future__ import annotations

import contextlib
import http.client
import os
import tempfile
from collections.abc import Iterator

import requests
import urllib3.exceptions

from restgen.errors import IncompleteBodyError

CHUNK_SIZE = 64 * 1024

# Responses with these statuses carry no body, even when they have a Content-Length header.
_BODILESS_STATUSES = frozenset({204, 304})

_CUT_ERRORS = (
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.ProtocolError,
    http.client.IncompleteRead,
)


def iter_body(response: requests.Response, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Yield the decoded body (gzip and deflate undone) in chunks of about ``chunk_size``.

    Raises IncompleteBodyError when the connection ends before the body is complete.
    Read timeouts and resets surface as ``requests.ConnectionError``.
    """
    try:
        yield from response.iter_content(chunk_size)
    except _CUT_ERRORS as exc:
        raise IncompleteBodyError(f"body ended early: {exc}") from exc


def check_content_length(response: requests.Response) -> None:
    """Raise IncompleteBodyError if fewer bytes arrived than the Content-Length header promised.

    urllib3 2.x already raises on a short body. This check covers configurations where it
    does not. Bytes are counted on the wire, before gzip decoding.
    """
    if response.request is not None and response.request.method == "HEAD":
        return
    if response.status_code in _BODILESS_STATUSES or response.status_code < 200:
        return
    if "Transfer-Encoding" in response.headers:
        return
    header = response.headers.get("Content-Length")
    if header is None:
        return
    try:
        expected = int(header.split(",")[0].strip())
    except ValueError:
        return
    tell = getattr(response.raw, "tell", None)
    if tell is None:
        return
    received = tell()
    if received < expected:
        raise IncompleteBodyError(f"body ended after {received} of {expected} bytes")


def read_into_memory(response: requests.Response) -> bytes:
    """Return the whole decoded body. Raises IncompleteBodyError for a cut body."""
    chunks = list(iter_body(response))
    check_content_length(response)
    return b"".join(chunks)


def read_into_file(response: requests.Response) -> str:
    """Write the decoded body to a new temporary file and return its path.

    Memory use stays at about one chunk whatever the body size. The caller owns the file.
    On any error the file is deleted before the exception propagates. Raises
    IncompleteBodyError for a cut body.
    """
    fd, path = tempfile.mkstemp(prefix="restgen-", suffix=".body")
    try:
        with os.fdopen(fd, "wb") as file:
            for chunk in iter_body(response):
                file.write(chunk)
        check_content_length(response)
    except BaseException:
        remove_file(path)
        raise
    return path


def remove_file(path: str) -> None:
    """Delete ``path`` if it still exists."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
