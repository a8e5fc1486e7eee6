"""Tests of the streaming JSON Lines decoder and the trailing-marker check."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from restgen.decode import find_trailing_marker, iter_jsonl_batches
from restgen.errors import IncompleteBodyError, ResponseError

MARKER = "terminated early"


class ReadCounter(io.BytesIO):
    """A BytesIO that records the size argument of every read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.read_sizes: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.read_sizes.append(-1 if size is None else size)
        return super().read(size)


def decode(data: bytes, **options: Any) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for batch in iter_jsonl_batches(io.BytesIO(data), **options):
        records.extend(batch)
    return records


def lines_of(records: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


def test_decode_plain_lines() -> None:
    assert decode(b'{"a": 1}\n{"a": 2}\n') == [{"a": 1}, {"a": 2}]


def test_decode_crlf_line_ends() -> None:
    assert decode(b'{"a": 1}\r\n{"a": 2}\r\n') == [{"a": 1}, {"a": 2}]


def test_decode_bare_cr_is_data() -> None:
    records = decode(b'{"text": "one\rtwo"}\n{"a": 2}\n')

    assert records == [{"text": "one\rtwo"}, {"a": 2}]


def test_decode_escaped_newline_in_string() -> None:
    assert decode(b'{"text": "one\\ntwo"}\n') == [{"text": "one\ntwo"}]


def test_decode_utf8_bom() -> None:
    assert decode(b'\xef\xbb\xbf{"a": 1}\n') == [{"a": 1}]


def test_decode_bom_split_across_chunks() -> None:
    assert decode(b'\xef\xbb\xbf{"a": 1}\n', chunk_size=1) == [{"a": 1}]


def test_decode_blank_lines_skipped() -> None:
    assert decode(b'\n{"a": 1}\n\n  \n\r\n{"a": 2}\n\n') == [{"a": 1}, {"a": 2}]


def test_decode_last_line_without_lf() -> None:
    assert decode(b'{"a": 1}\n{"a": 2}') == [{"a": 1}, {"a": 2}]


def test_decode_surrounding_whitespace() -> None:
    assert decode(b'  {"a": 1}  \n\t{"a": 2}\t\n') == [{"a": 1}, {"a": 2}]


def test_decode_non_ascii() -> None:
    assert decode('{"city": "Zürich", "emoji": "😀"}\n'.encode()) == [{"city": "Zürich", "emoji": "😀"}]


def test_decode_empty_body() -> None:
    assert decode(b"") == []


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 7, 64])
def test_decode_chunk_boundaries(chunk_size: int) -> None:
    records = [{"id": index, "name": "é" * index, "crlf": index % 2 == 0} for index in range(20)]
    data = b"\xef\xbb\xbf" + lines_of(records).replace(b"}\n", b"}\r\n", 5) + b"\n\n"

    assert decode(data, chunk_size=chunk_size) == records


def test_decode_batch_sizes() -> None:
    data = lines_of([{"id": index} for index in range(7)])

    batches = list(iter_jsonl_batches(io.BytesIO(data), batch_size=3, chunk_size=4))

    assert [len(batch) for batch in batches] == [3, 3, 1]
    assert [record["id"] for batch in batches for record in batch] == list(range(7))


def test_decode_reads_in_chunks() -> None:
    stream = ReadCounter(lines_of([{"id": index} for index in range(1000)]))

    records = decode_stream(stream, chunk_size=256)

    assert len(records) == 1000
    assert set(stream.read_sizes) == {256}


def decode_stream(stream: io.BytesIO, **options: Any) -> list[dict[str, Any]]:
    return [record for batch in iter_jsonl_batches(stream, **options) for record in batch]


def test_decode_invalid_line_number() -> None:
    data = b'{"a": 1}\n\n{"a": 2}\n{"a": \n{"a": 4}\n'

    with pytest.raises(ResponseError) as info:
        decode(data, source="GET http://127.0.0.1/export")

    assert str(info.value) == (
        "GET http://127.0.0.1/export: line 4 is not valid JSON: "
        'Expecting value at column 7: {"a":'
    )


@pytest.mark.parametrize("chunk_size", [1, 3, 1024])
def test_decode_line_number_across_chunks(chunk_size: int) -> None:
    data = lines_of([{"id": index} for index in range(30)]) + b"oops\n"

    with pytest.raises(ResponseError, match=r"^export: line 31 is not valid JSON"):
        decode(data, source="export", chunk_size=chunk_size)


def test_decode_invalid_line_cut_to_200_chars() -> None:
    long_line = b'{"a": "' + b"x" * 500

    with pytest.raises(ResponseError) as info:
        decode(long_line)

    assert str(info.value).endswith(': {"a": "' + "x" * 193)


def test_decode_extra_data_after_object() -> None:
    with pytest.raises(ResponseError, match=r'line 1 is not valid JSON: Extra data at column 10: \{"a": 1\} 2'):
        decode(b'{"a": 1} 2\n')


def test_decode_two_objects_on_one_line() -> None:
    with pytest.raises(ResponseError, match="line 1 is not valid JSON: Extra data"):
        decode(b'{"a": 1}{"a": 2}\n')


@pytest.mark.parametrize(
    ("line", "kind"),
    [(b"[1, 2]", "array"), (b'"text"', "string"), (b"42", "number"), (b"null", "null")],
)
def test_decode_line_not_an_object(line: bytes, kind: str) -> None:
    with pytest.raises(ResponseError) as info:
        decode(b'{"a": 1}\n' + line + b"\n", source="export")

    assert str(info.value) == f"export: line 2 is not a JSON object but a JSON {kind}: {line.decode()}"


def test_decode_invalid_utf8() -> None:
    with pytest.raises(ResponseError, match=r"export: line 2 is not valid UTF-8: invalid start byte"):
        decode(b'{"a": 1}\n{"a": "\xff"}\n', source="export", chunk_size=4)


def test_decode_default_source_name() -> None:
    with pytest.raises(ResponseError, match=r"^JSON Lines response: line 1 "):
        decode(b"oops\n")


def test_decode_marker_at_end() -> None:
    data = b'{"a": 1}\n{"a": 2}\nterminated early\n\n'

    with pytest.raises(IncompleteBodyError) as info:
        decode(data, source="export", markers=[MARKER])

    assert str(info.value) == (
        "export: the body ends with the server marker 'terminated early' at line 3; "
        "the response is incomplete"
    )


@pytest.mark.parametrize("chunk_size", [1, 4, 1024])
def test_decode_marker_in_middle(chunk_size: int) -> None:
    data = b'{"a": 1}\nterminated early\n{"a": 2}\n'

    with pytest.raises(IncompleteBodyError, match="the body contains the server marker .* at line 2"):
        decode(data, markers=[MARKER], chunk_size=chunk_size)


def test_decode_marker_with_crlf_and_no_final_lf() -> None:
    with pytest.raises(IncompleteBodyError, match="ends with the server marker"):
        decode(b'{"a": 1}\r\nterminated early\r', markers=[MARKER], chunk_size=3)


def test_decode_marker_without_markers_option() -> None:
    with pytest.raises(ResponseError) as info:
        decode(b'{"a": 1}\nterminated early\n')

    assert not isinstance(info.value, IncompleteBodyError)
    assert "line 2 is not valid JSON" in str(info.value)


def test_decode_batches_before_marker_are_yielded() -> None:
    data = lines_of([{"id": index} for index in range(5)]) + b"terminated early\n"
    batches = iter_jsonl_batches(io.BytesIO(data), batch_size=2, markers=[MARKER])

    received = [next(batches), next(batches)]

    assert received == [[{"id": 0}, {"id": 1}], [{"id": 2}, {"id": 3}]]
    with pytest.raises(IncompleteBodyError):
        next(batches)


def test_decode_invalid_batch_size() -> None:
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        iter_jsonl_batches(io.BytesIO(b""), batch_size=0)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"a": 1}\nterminated early\n', MARKER),
        (b'{"a": 1}\nterminated early', MARKER),
        (b'{"a": 1}\r\n  terminated early \r\n\r\n\n', MARKER),
        (b"terminated early", MARKER),
        (b"\xef\xbb\xbfterminated early\n", MARKER),
        (b'{"a": 1}\n{"a": 2}\n', None),
        (b'{"a": 1}\nnot terminated early\n', None),
        (b"", None),
        (b"\n\n", None),
    ],
    ids=["lf", "no-final-lf", "crlf-and-blanks", "only-line", "bom", "clean", "longer-line", "empty", "blank"],
)
def test_find_trailing_marker(data: bytes, expected: str | None) -> None:
    assert find_trailing_marker(io.BytesIO(data), [MARKER, "[terminated early]"]) == expected


def test_find_trailing_marker_long_last_line() -> None:
    data = b"x" * 10_000 + b"terminated early"

    assert find_trailing_marker(io.BytesIO(data), [MARKER]) is None


def test_find_trailing_marker_after_many_blank_lines() -> None:
    data = b'{"a": 1}\nterminated early' + b"\n" * 20_000

    assert find_trailing_marker(io.BytesIO(data), [MARKER]) == MARKER


def test_find_trailing_marker_reads_only_tail() -> None:
    stream = ReadCounter(lines_of([{"id": index} for index in range(100_000)]) + b"terminated early\n")
    stream.seek(5)

    marker = find_trailing_marker(stream, [MARKER])

    assert marker == MARKER
    assert sum(stream.read_sizes) <= 8192
    assert stream.tell() == 5


def test_find_trailing_marker_not_seekable() -> None:
    class Unseekable(io.BytesIO):
        def seekable(self) -> bool:
            return False

    with pytest.raises(ValueError, match="needs a seekable stream"):
        find_trailing_marker(Unseekable(b""), [MARKER])
