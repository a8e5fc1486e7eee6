from __future__ import annotations

import io

import pytest
import requests
import urllib3

from restgen.errors import IncompleteBodyError
from restgen.http.body import check_content_length, read_into_memory


def response_with_body(body: bytes, content_length: int, status: int = 200) -> requests.Response:
    """Build a response over a urllib3 response that does not enforce Content-Length itself."""
    raw = urllib3.HTTPResponse(
        body=io.BytesIO(body),
        headers={"Content-Length": str(content_length)},
        status=status,
        preload_content=False,
        enforce_content_length=False,
    )
    response = requests.Response()
    response.raw = raw
    response.status_code = status
    response.headers = requests.structures.CaseInsensitiveDict(raw.headers)
    return response


def test_short_body_detected_by_length_check() -> None:
    response = response_with_body(b'{"ok": tr', content_length=100)
    with pytest.raises(IncompleteBodyError, match="body ended after 9 of 100 bytes"):
        read_into_memory(response)


def test_complete_body_accepted() -> None:
    response = response_with_body(b"[1, 2]", content_length=6)
    assert read_into_memory(response) == b"[1, 2]"


def test_bodiless_status_not_checked() -> None:
    response = response_with_body(b"", content_length=100, status=304)
    check_content_length(response)
