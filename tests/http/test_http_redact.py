from __future__ import annotations

import base64
import logging

import pytest

from restgen.http import RedactingFilter, Redactor


def test_text_masks_plain_secret() -> None:
    redactor = Redactor(["s3cr3t"])
    assert redactor.text("token is s3cr3t.") == "token is ***."


def test_text_masks_url_encoded_secret() -> None:
    redactor = Redactor(["a b/c&d"])
    assert redactor.text("q=a%20b%2Fc%26d") == "q=***"
    assert redactor.text("q=a+b%2Fc%26d") == "q=***"


def test_text_masks_base64_basic_credentials() -> None:
    redactor = Redactor(["ann:pw"])
    header = "Basic " + base64.b64encode(b"ann:pw").decode()
    assert redactor.text(f"Authorization: {header}") == "Authorization: Basic ***"


def test_text_masks_longest_secret_first() -> None:
    redactor = Redactor(["abc", "abcdef"])
    assert redactor.text("xabcdefx") == "x***x"


def test_text_masks_sensitive_query_in_message() -> None:
    redactor = Redactor()
    message = "Max retries exceeded with url: /x?page=1&api_key=zzz (Caused by reset)"
    assert redactor.text(message) == "Max retries exceeded with url: /x?page=1&api_key=*** (Caused by reset)"


def test_text_removes_userinfo() -> None:
    assert Redactor().text("see https://ann:pw@host/x") == "see https://host/x"


def test_empty_secret_is_ignored() -> None:
    assert Redactor([""]).text("abc") == "abc"


def test_url_masks_well_known_params() -> None:
    redactor = Redactor()
    url = "https://host/api?token=t1&page=2&Access_Token=t2&client_secret=t3"
    assert redactor.url(url) == "https://host/api?token=***&page=2&Access_Token=***&client_secret=***"


def test_url_masks_configured_sensitive_param() -> None:
    redactor = Redactor(sensitive_params=["Sig"])
    assert redactor.url("https://host/api?sig=abc&x=1") == "https://host/api?sig=***&x=1"


def test_url_masks_param_whose_value_is_secret() -> None:
    redactor = Redactor(["p@ss word"])
    assert redactor.url("https://host/api?q=p%40ss+word&x=1") == "https://host/api?q=***&x=1"


def test_url_removes_userinfo_and_keeps_encoding() -> None:
    redactor = Redactor()
    url = "https://ann:pw@host:8443/a%20b?q=x%2Fy&flag"
    assert redactor.url(url) == "https://host:8443/a%20b?q=x%2Fy&flag"


def test_url_masks_secret_in_path() -> None:
    redactor = Redactor(["tok"])
    assert redactor.url("https://host/hooks/tok/run") == "https://host/hooks/***/run"


def test_extend_keeps_old_and_adds_new() -> None:
    redactor = Redactor(["one"], ["sig"]).extend(["two"], ["hmac"])
    assert redactor.text("one two") == "*** ***"
    assert redactor.url("https://h/?sig=1&hmac=2") == "https://h/?sig=***&hmac=***"


def test_filter_redacts_after_formatting(caplog: pytest.LogCaptureFixture) -> None:
    test_logger = logging.getLogger("restgen.tests.redact")
    log_filter = RedactingFilter(Redactor(["hunter2"]))
    caplog.handler.addFilter(log_filter)
    try:
        with caplog.at_level(logging.INFO, logger="restgen.tests.redact"):
            test_logger.info("password %s and url %s", "hunter2", "https://h/?key=abc")
    finally:
        caplog.handler.removeFilter(log_filter)
    assert caplog.records[0].getMessage() == "password *** and url https://h/?key=***"
    assert "hunter2" not in caplog.text


def test_filter_redacts_traceback(caplog: pytest.LogCaptureFixture) -> None:
    test_logger = logging.getLogger("restgen.tests.redact")
    log_filter = RedactingFilter(Redactor(["hunter2"]))
    caplog.handler.addFilter(log_filter)
    try:
        with caplog.at_level(logging.INFO, logger="restgen.tests.redact"):
            try:
                raise RuntimeError("bad password hunter2")
            except RuntimeError:
                test_logger.exception("request failed")
    finally:
        caplog.handler.removeFilter(log_filter)
    assert "bad password ***" in caplog.text
    assert "hunter2" not in caplog.text


def test_names_containing_secret_words_masked() -> None:
    redactor = Redactor()

    url = redactor.url("https://api.example/x?page=2&refresh_token=r1&X-Amz-Signature=s1&db_password=p1&sort_key=a")

    assert url == "https://api.example/x?page=2&refresh_token=***&X-Amz-Signature=***&db_password=***&sort_key=a"
    assert redactor.text("failed: https://api.example/x?auth_token=t1&page=1") == "failed: https://api.example/x?auth_token=***&page=1"
