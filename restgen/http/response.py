"""HttpResponse: a fully read response whose body is held in memory or in a temporary file."""

from __future__ import annotations

import codecs
import io
import json
import weakref
from collections.abc import Mapping
from types import TracebackType
from typing import Any, BinaryIO

from requests.structures import CaseInsensitiveDict

from restgen.errors import ResponseError
from restgen.http.body import remove_file

DEFAULT_ENCODING = "utf-8"


def _charset(content_type: str) -> str | None:
    """Return the charset parameter of a Content-Type value, if it names a known codec."""
    for parameter in content_type.split(";")[1:]:
        key, _, value = parameter.strip().partition("=")
        if key.strip().lower() != "charset":
            continue
        name = value.strip().strip("\"'")
        try:
            return codecs.lookup(name).name
        except LookupError:
            return None
    return None


class HttpResponse:
    """A response whose body was read completely before it was returned.

    ``url`` is the final URL after redirects and may contain secrets, so it is for requests
    only. ``display_url`` is the redacted form for logs and messages. ``elapsed`` is the time
    in seconds of the successful attempt, from sending the request until the body was read.

    In spool mode the body is in the temporary file ``path``, which is deleted by ``close()``
    or when the object is garbage collected. ``content``, ``text`` and ``json()`` then read the
    whole file into memory, so use ``open()`` for large bodies.
    """

    def __init__(
        self,
        *,
        status_code: int,
        reason: str,
        headers: Mapping[str, str],
        url: str,
        display_url: str,
        attempts: int,
        elapsed: float,
        content: bytes | None = None,
        path: str | None = None,
    ) -> None:
        if (content is None) == (path is None):
            raise ValueError("pass exactly one of content and path")
        self.status_code = status_code
        self.reason = reason
        self.headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(headers)
        self.url = url
        self.display_url = display_url
        self.attempts = attempts
        self.elapsed = elapsed
        self._content = content
        self.path = path
        self._finalizer = weakref.finalize(self, remove_file, path) if path else None

    @property
    def closed(self) -> bool:
        """Whether the spooled body file was deleted. It is always False in memory mode."""
        return self._finalizer is not None and not self._finalizer.alive

    @property
    def encoding(self) -> str:
        """Codec name from the Content-Type charset, or UTF-8 when none is given."""
        return _charset(self.headers.get("Content-Type", "")) or DEFAULT_ENCODING

    @property
    def content(self) -> bytes:
        """The decoded body. Raises ValueError once a spooled response is closed."""
        if self._content is not None:
            return self._content
        with self.open() as file:
            return file.read()

    @property
    def text(self) -> str:
        """The body decoded with ``encoding``, with undecodable bytes replaced by U+FFFD."""
        return self.content.decode(self.encoding, errors="replace")

    def json(self) -> Any:
        """Parse the body as JSON.

        Raises ResponseError naming the redacted URL and the position of the first error.
        """
        content = self.content
        try:
            return json.loads(content)
        except json.JSONDecodeError as exc:
            raise ResponseError(
                f"invalid JSON in the response of {self.display_url}: {exc.msg} "
                f"at line {exc.lineno} column {exc.colno} (char {exc.pos})"
            ) from exc
        except UnicodeDecodeError as exc:
            raise ResponseError(
                f"invalid JSON in the response of {self.display_url}: "
                f"the body is not UTF-8, UTF-16 or UTF-32 text ({exc.reason} at byte {exc.start})"
            ) from exc

    def open(self) -> BinaryIO:
        """Return a new binary file object over the body, positioned at 0, for the caller to close.

        Raises ValueError once a spooled response is closed.
        """
        if self._content is not None:
            return io.BytesIO(self._content)
        if self.closed or self.path is None:
            raise ValueError(f"the body of {self.display_url} was deleted by close()")
        return open(self.path, "rb")

    def close(self) -> None:
        """Delete the spooled body file. Calling it again, or in memory mode, does nothing."""
        if self._finalizer is not None:
            self._finalizer()

    def __enter__(self) -> HttpResponse:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<HttpResponse {self.status_code} {self.display_url}>"
