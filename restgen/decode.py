"""Streaming JSON Lines decoding: one JSON object per line, read in fixed-size chunks.

restgen parses JSON Lines itself because dlt's REST client parses every body with
``response.json()``, which rejects a JSON Lines body and would hold the whole body in memory.
"""

from __future__ import annotations

import codecs
import io
import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any, BinaryIO

from restgen.errors import IncompleteBodyError, ResponseError
from restgen.selectors import json_type_name

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 64 * 1024
"""Bytes read per ``stream.read()`` call."""

_SHOWN_CHARS = 200
_TAIL_BLOCK = 4096

# strict=False accepts raw control characters such as a bare CR inside JSON strings, which
# some servers write unescaped. raw_decode skips the trailing-whitespace regex that decode()
# runs on every call.
_raw_decode = json.JSONDecoder(strict=False).raw_decode


def iter_jsonl_batches(
    stream: BinaryIO,
    *,
    batch_size: int = 2000,
    source: str = "",
    markers: Sequence[str] = (),
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[list[dict[str, Any]]]:
    """Yield the objects of a JSON Lines byte stream in lists of up to ``batch_size``.

    Records are split on LF only, so a bare CR is data. One trailing CR per line (a CRLF line
    end) and all other whitespace around a line are ignored. A UTF-8 byte order mark at the
    start is skipped, blank lines are skipped, and a last line without LF is accepted.

    The stream is read ``chunk_size`` bytes at a time, so memory stays flat for any body
    size. The exception is one very long line, which is held whole while it is parsed.

    ``source`` names the body in messages (for example the redacted URL); line numbers are
    1-based and count blank lines.

    Raises:
        ResponseError: ``"<source>: line 123 is not valid JSON: <reason>: <first 200
            chars>"``, also for a line that is valid JSON but not an object, and for bytes
            that are not UTF-8.
        IncompleteBodyError: with ``markers``, when a line equals one of them, such as
            Mixpanel's ``terminated early``. Batches before the marker line have already
            been yielded, so a caller that retries must discard them.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    reader = _JsonLinesReader(stream, source or "JSON Lines response", markers, chunk_size)
    return reader.iter_batches(batch_size)


_BLANK = object()


class _JsonLinesReader:
    """The state of one pass over a stream: the partial last line and the line count."""

    def __init__(
        self, stream: BinaryIO, name: str, markers: Sequence[str], chunk_size: int
    ) -> None:
        self.read = stream.read
        self.name = name
        self.markers = frozenset(marker.strip() for marker in markers)
        self.chunk_size = chunk_size
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.pending: list[str] = []
        self.lines: list[str] = []
        self.lines_done = 0

    def iter_batches(self, batch_size: int) -> Iterator[list[dict[str, Any]]]:
        batch: list[dict[str, Any]] = []
        record_count = 0
        final = False
        while not final:
            chunk = self.read(self.chunk_size)
            final = not chunk
            text = self._decode(chunk, final)
            if not final and "\n" not in text:
                self.pending.append(text)
                continue
            if self.pending:
                self.pending.append(text)
                text = "".join(self.pending)
                self.pending.clear()
            self.lines = lines = text.split("\n")
            if not final:
                self.pending.append(lines.pop())

            for index, line in enumerate(lines):
                try:
                    record, end = _raw_decode(line)
                except json.JSONDecodeError:
                    record, end = _BLANK, -1
                # raw_decode stops after the first value, so text after it is checked here.
                if end != len(line) and (end < 0 or not line[end:].isspace()):
                    record = self._parse_slow(line, index)
                    if record is _BLANK:
                        continue
                if type(record) is not dict:
                    self._reject_value(line, index, record)
                batch.append(record)
                if len(batch) >= batch_size:
                    record_count += len(batch)
                    yield batch
                    batch = []
            self.lines_done += len(lines)

        if batch:
            record_count += len(batch)
            yield batch
        logger.debug("%s: decoded %d records", self.name, record_count)

    def _decode(self, chunk: bytes, final: bool) -> str:
        try:
            return self.decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            line_number = self.lines_done + exc.object[: exc.start].count(b"\n") + 1
            raise ResponseError(
                f"{self.name}: line {line_number} is not valid UTF-8: {exc.reason} at bytes "
                f"{exc.object[exc.start : exc.end]!r}"
            ) from exc

    def _parse_slow(self, line: str, index: int) -> Any:
        """Parse a line the fast path rejected; return _BLANK for a blank line."""
        stripped = line.strip()
        if not stripped:
            return _BLANK
        if stripped in self.markers:
            self._raise_marker(stripped, index)
        try:
            # The unstripped line keeps the reported column true to the body.
            return json.loads(line, strict=False)
        except json.JSONDecodeError as exc:
            raise ResponseError(
                f"{self.name}: line {self.lines_done + index + 1} is not valid JSON: "
                f"{exc.msg} at column {exc.colno}: {stripped[:_SHOWN_CHARS]}"
            ) from exc

    def _reject_value(self, line: str, index: int, value: Any) -> None:
        stripped = line.strip()
        if stripped in self.markers:
            self._raise_marker(stripped, index)
        raise ResponseError(
            f"{self.name}: line {self.lines_done + index + 1} is not a JSON object but a JSON "
            f"{json_type_name(value)}: {stripped[:_SHOWN_CHARS]}"
        )

    def _raise_marker(self, marker: str, index: int) -> None:
        where = "ends with" if self._only_blank_after(index) else "contains"
        raise IncompleteBodyError(
            f"{self.name}: the body {where} the server marker {marker!r} at line "
            f"{self.lines_done + index + 1}; the response is incomplete"
        )

    def _only_blank_after(self, index: int) -> bool:
        """Return whether the body after line ``index`` of the current chunk is whitespace.

        Reads the stream on until the first byte that is not whitespace, so a marker at the
        end costs at most one more read.
        """
        rest = self.lines[index + 1 :] + self.pending
        if any(text.strip() for text in rest):
            return False
        while True:
            chunk = self.read(self.chunk_size)
            if not chunk:
                return True
            if chunk.strip():
                return False


def find_trailing_marker(stream: BinaryIO, markers: Sequence[str]) -> str | None:
    """Return the marker that the last non-blank line of ``stream`` equals, or None.

    Only the tail of the stream is read, so this is cheap on a body spooled to a file. The
    stream position is restored before returning. Surrounding whitespace is ignored on both
    the line and the markers.

    Raises ValueError when the stream is not seekable.
    """
    if not stream.seekable():
        raise ValueError("find_trailing_marker needs a seekable stream, such as a spooled file")
    markers_by_line = {marker.strip().encode("utf-8"): marker for marker in markers}
    if not markers_by_line:
        return None
    longest = max(len(line) for line in markers_by_line)
    position = stream.tell()
    try:
        last_line = _read_last_line(stream, longest)
    finally:
        stream.seek(position)
    if last_line is None:
        return None
    return markers_by_line.get(last_line.removeprefix(codecs.BOM_UTF8).strip())


def _read_last_line(stream: BinaryIO, longest: int) -> bytes | None:
    """Return the last non-blank line, or None when it is longer than ``longest`` bytes."""
    end = stream.seek(0, io.SEEK_END)
    block = max(_TAIL_BLOCK, 2 * longest + 8)
    tail = b""
    while True:
        start = max(0, end - block)
        stream.seek(start)
        tail = stream.read(end - start) + tail
        content = tail.rstrip()
        if not content:
            # Trailing whitespace cannot be part of the last line, so it is not kept.
            tail = b""
        newline = content.rfind(b"\n")
        if newline >= 0:
            return content[newline + 1 :]
        if start == 0:
            return content
        if len(content) > longest + len(codecs.BOM_UTF8):
            return None
        end = start
