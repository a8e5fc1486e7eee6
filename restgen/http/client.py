"""HttpClient: thread-safe requests with retries, rate limits, body spooling and redaction."""

from __future__ import annotations

import contextlib
import http
import http.client
import logging
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import requests
import urllib3
from dlt.sources.helpers.rest_client.auth import APIKeyAuth
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase

import restgen
from restgen.errors import HttpError, HttpStatusError, IncompleteBodyError, RestgenError
from restgen.http.auth import auth_secret_values
from restgen.http.body import iter_body, read_into_file, read_into_memory
from restgen.http.ratelimit import RateLimiter
from restgen.http.redact import RedactingFilter, Redactor
from restgen.http.response import HttpResponse
from restgen.http.retry import RetryPolicy
from restgen.http.stats import RequestStats, StatsSink

logger = logging.getLogger(__name__)

# Maximum characters of a response body quoted in an error message.
ERROR_BODY_CHARS = 500
# Bytes read from an error response, more than ERROR_BODY_CHARS so that the quote stays
# full after redaction shortens the text.
_ERROR_BODY_BYTES = 64 * 1024

# urllib3 logs request lines, query strings included, at DEBUG on these loggers.
_LIBRARY_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry")

BodyCheck = Callable[[HttpResponse], None]


@dataclass
class _RetryableFailure:
    """An attempt that failed in a way that a later attempt may not."""

    kind: Literal["status", "connection", "body"]
    description: str
    cause: BaseException | None = None
    status: int = 0
    reason: str = ""
    body_start: str = ""
    retry_after: str | None = None


class _Session(requests.Session):
    """A Session that also drops the API key header when a redirect leaves the origin.

    requests itself drops only ``Authorization`` in that case.
    """

    def __init__(self, strip_on_redirect: tuple[str, ...]) -> None:
        super().__init__()
        self.strip_on_redirect = strip_on_redirect

    def rebuild_auth(
        self, prepared_request: requests.PreparedRequest, response: requests.Response
    ) -> None:
        super().rebuild_auth(prepared_request, response)
        original_url = response.request.url if response.request is not None else None
        if original_url and self.should_strip_auth(original_url, prepared_request.url or ""):
            for name in self.strip_on_redirect:
                prepared_request.headers.pop(name, None)


def _reason(status: int, reason: str | None) -> str:
    if reason:
        return reason
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _describe(exc: BaseException, redactor: Redactor) -> str:
    """Describe a failed request in a short clause.

    urllib3's own text repeats the URL and reads "Max retries exceeded", although restgen
    retries itself, so a connection error is named by the operating system's reason instead.
    """
    if isinstance(exc, requests.ConnectTimeout):
        return "timed out while connecting"
    if isinstance(exc, requests.ReadTimeout):
        return "timed out waiting for the server"
    chain = _exception_chain(exc)
    if any(isinstance(error, http.client.RemoteDisconnected) for error in chain):
        return "the server closed the connection without a response"
    cause = next((error for error in chain if isinstance(error, OSError) and type(error).__module__ in ("builtins", "socket")), None)
    if isinstance(exc, requests.ConnectionError) and cause is not None and cause.strerror:
        reason = cause.strerror[0].lower() + cause.strerror[1:]
        if any(isinstance(error, urllib3.exceptions.NewConnectionError) for error in chain):
            return f"cannot connect ({reason})"
        return f"the connection failed ({reason})"
    return redactor.text(f"{type(exc).__name__}: {exc}")


def _exception_chain(exc: BaseException) -> list[BaseException]:
    """Return ``exc`` and the exceptions under it: causes, contexts, urllib3 reasons and arguments."""
    found: list[BaseException] = []
    pending: list[Any] = [exc]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or any(current is known for known in found):
            continue
        found.append(current)
        pending.extend([getattr(current, "reason", None), current.__cause__, current.__context__, *current.args])
    return found


def _error_body_start(response: requests.Response, redactor: Redactor) -> str:
    """Return the first ERROR_BODY_CHARS characters of an error body, redacted."""
    received = bytearray()
    with contextlib.suppress(requests.RequestException, IncompleteBodyError):
        for chunk in iter_body(response, chunk_size=8192):
            received += chunk
            if len(received) >= _ERROR_BODY_BYTES:
                break
    try:
        text = received.decode(response.encoding or "utf-8", errors="replace")
    except LookupError:
        text = received.decode("utf-8", errors="replace")
    # Redact before cutting, so that a secret crossing the cut is still masked.
    return redactor.text(text)[:ERROR_BODY_CHARS]


def _remove_log_filters(log_filter: logging.Filter) -> None:
    for name in _LIBRARY_LOGGERS:
        logging.getLogger(name).removeFilter(log_filter)


class HttpClient:
    """Send HTTP requests with retries, client-side rate limits and redacted logs.

    restgen runs its own retry loop because dlt's ``dlt.sources.helpers.requests.Client``
    (dlt 1.31) retries only ``Session.send``. A body streamed with ``stream=True`` and cut
    while it is read is therefore not retried, and that client logs no retries and adds no
    jitter.

    The client is thread-safe. Each thread gets its own ``requests.Session``, and all sessions
    share one connection pool of ``pool_size`` connections per host. ``timeout`` is in seconds,
    either one value or a (connect, read) pair. TLS certificates are verified unless ``verify``
    is False. ``headers``, ``auth`` and ``params`` apply to every request.

    Added to the ``redactor`` automatically: the secrets of an auth object built by
    ``create_auth``, and the values of sensitive query parameters. Secrets elsewhere, such as a
    token in ``headers``, must be in the redactor passed in. While the client is open, a
    RedactingFilter on urllib3's loggers masks the query strings that urllib3 logs at DEBUG.
    ``sleep`` is the function that waits between attempts.
    """

    def __init__(
        self,
        *,
        headers: Mapping[str, str] | None = None,
        auth: AuthBase | None = None,
        params: Mapping[str, Any] | None = None,
        timeout: float | tuple[float, float] = 60.0,
        verify: bool = True,
        retry: RetryPolicy | None = None,
        rate_limiter: RateLimiter | None = None,
        redactor: Redactor | None = None,
        user_agent: str = f"restgen/{restgen.__version__}",
        pool_size: int = 10,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._headers = {"User-Agent": user_agent, **(headers or {})}
        self._auth = auth
        self._params = dict(params or {})
        self._timeout = timeout
        self._verify = verify
        self._retry = retry or RetryPolicy()
        self._rate_limiter = rate_limiter
        base_redactor = redactor or Redactor()
        param_secrets = [
            str(value)
            for name, value in self._params.items()
            if name.lower() in base_redactor.sensitive_params and value not in (None, "")
        ]
        self._redactor = base_redactor.extend([*auth_secret_values(auth), *param_secrets])
        self._sleep = sleep

        self._strip_on_redirect: tuple[str, ...] = ()
        if isinstance(auth, APIKeyAuth) and auth.location == "header":
            self._strip_on_redirect = (auth.name,)

        self._adapter = HTTPAdapter(
            pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0
        )
        self._local = threading.local()
        self._lock = threading.Lock()
        self._closed = False

        self._log_filter = RedactingFilter(self._redactor)
        for name in _LIBRARY_LOGGERS:
            logging.getLogger(name).addFilter(self._log_filter)
        self._remove_filters = weakref.finalize(self, _remove_log_filters, self._log_filter)

    @property
    def redactor(self) -> Redactor:
        """The redactor used for logs and errors, including the auth object's secrets."""
        return self._redactor

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy applied to every request."""
        return self._retry

    def close(self) -> None:
        """Close pooled connections and remove the log filters.

        Later requests raise RuntimeError.
        """
        self._closed = True
        self._adapter.close()
        self._remove_filters()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _session(self) -> requests.Session:
        if self._closed:
            raise RuntimeError("HttpClient is closed")
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = _Session(self._strip_on_redirect)
            session.headers.update(self._headers)
            session.auth = self._auth
            session.params = dict(self._params)
            session.verify = self._verify
            session.mount("http://", self._adapter)
            session.mount("https://", self._adapter)
            self._local.session = session
        return session

    def _count(self, stats: StatsSink | None, name: str) -> None:
        if stats is None:
            return
        if isinstance(stats, RequestStats):
            stats.increment(name)
            return
        with self._lock:
            setattr(stats, name, getattr(stats, name) + 1)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        spool: bool = False,
        check_body: BodyCheck | None = None,
        counted: bool = True,
        stats: StatsSink | None = None,
    ) -> HttpResponse:
        """Send a request, retrying per the policy, and return the completely read response.

        ``params`` and ``headers`` are merged over the client's. ``json`` or ``data`` is the
        body. ``data`` must not be a stream or generator, because a retry sends it again.
        With ``spool`` the body goes to a temporary file instead of memory. ``check_body`` is
        called with each successful response and may raise IncompleteBodyError to have the
        request retried. ``counted=False`` takes a rate limiter concurrency slot but no window
        budget. ``stats.requests`` is incremented per attempt and ``stats.retries`` per retry.

        Raises:
            HttpStatusError: a status of 400 or more that is not retried, or a retryable
                status on the last attempt.
            HttpError: a connection failure or timeout on the last attempt, a TLS error, or
                an invalid request.
            IncompleteBodyError: the body was cut or failed ``check_body`` on the last attempt.
        """
        method = method.upper()
        session = self._session()
        request = requests.Request(
            method,
            url,
            params=dict(params or {}),
            json=json,
            data=data,
            headers=dict(headers or {}),
        )
        max_attempts = self._retry.max_attempts
        attempt = 0
        while True:
            attempt += 1
            self._count(stats, "requests")
            try:
                prepared = session.prepare_request(request)
            except requests.RequestException as exc:
                raise HttpError(
                    f"{method} {self._redactor.url(url)} is an invalid request: "
                    f"{_describe(exc, self._redactor)}",
                    url=self._redactor.url(url),
                    attempts=attempt,
                ) from exc
            # Values of sensitive query parameters are secrets wherever the server echoes them.
            new_secrets = self._redactor.sensitive_values(prepared.url or url)
            redactor = self._redactor.extend(new_secrets) if new_secrets else self._redactor
            display_url = redactor.url(prepared.url or url)

            outcome = self._attempt(session, prepared, redactor, attempt, spool, counted)
            if isinstance(outcome, HttpResponse) and check_body is not None:
                outcome = self._check_body(outcome, check_body, redactor)
            if isinstance(outcome, HttpResponse):
                return outcome

            if attempt >= max_attempts:
                error = self._final_error(method, display_url, outcome, attempt)
                raise error from outcome.cause
            wait = self._retry.wait_seconds(attempt, outcome.retry_after)
            logger.warning(
                "%s %s %s; attempt %d of %d in %.2f s",
                method,
                display_url,
                outcome.description,
                attempt + 1,
                max_attempts,
                wait,
            )
            self._count(stats, "retries")
            self._sleep(wait)

    def _limit(self, url: str, counted: bool) -> contextlib.AbstractContextManager[None]:
        if self._rate_limiter is None:
            return contextlib.nullcontext()
        return self._rate_limiter.slot(url, counted)

    def _attempt(
        self,
        session: requests.Session,
        prepared: requests.PreparedRequest,
        redactor: Redactor,
        attempt: int,
        spool: bool,
        counted: bool,
    ) -> HttpResponse | _RetryableFailure:
        """Send one attempt and read its body while holding a rate limiter slot."""
        method = prepared.method or ""
        url = prepared.url or ""
        display_url = redactor.url(url)
        # An explicit verify keeps verify=False from being overridden by REQUESTS_CA_BUNDLE,
        # while verify=True still uses a CA bundle named in the environment.
        settings = session.merge_environment_settings(url, {}, None, self._verify, None)
        settings["stream"] = True

        with self._limit(url, counted):
            logger.debug(
                "%s %s (attempt %d of %d)", method, display_url, attempt, self._retry.max_attempts
            )
            started = time.monotonic()
            try:
                response = session.send(prepared, timeout=self._timeout, **settings)
            except requests.exceptions.SSLError as exc:
                # Certificate and TLS setup errors do not go away on retry.
                # NOTE: a TLS handshake cut by the network is not retried either.
                raise HttpError(
                    f"{method} {display_url} failed: {_describe(exc, redactor)}",
                    url=display_url,
                    attempts=attempt,
                ) from exc
            except (requests.ConnectionError, requests.Timeout) as exc:
                return _RetryableFailure("connection", f"failed: {_describe(exc, redactor)}", exc)
            except requests.RequestException as exc:
                raise HttpError(
                    f"{method} {display_url} failed: {_describe(exc, redactor)}",
                    url=display_url,
                    attempts=attempt,
                ) from exc

            try:
                return self._read(response, method, redactor, attempt, spool, started)
            finally:
                response.close()

    def _read(
        self,
        response: requests.Response,
        method: str,
        redactor: Redactor,
        attempt: int,
        spool: bool,
        started: float,
    ) -> HttpResponse | _RetryableFailure:
        display_url = redactor.url(response.url)
        status = response.status_code
        reason = _reason(status, response.reason)
        if self._retry.is_retryable_status(status):
            return _RetryableFailure(
                "status",
                f"returned {status} {reason}".rstrip(),
                status=status,
                reason=reason,
                body_start=_error_body_start(response, redactor),
                retry_after=response.headers.get("Retry-After"),
            )
        if status >= 400:
            body_start = _error_body_start(response, redactor)
            raise HttpStatusError(
                f"{method} {display_url} failed with status {status} {reason}: {body_start}",
                status=status,
                url=display_url,
                body_start=body_start,
                attempts=attempt,
            )

        try:
            if spool:
                content, path = None, read_into_file(response)
            else:
                content, path = read_into_memory(response), None
        except IncompleteBodyError as exc:
            return _RetryableFailure("body", redactor.text(str(exc)), exc)
        except (requests.ConnectionError, requests.Timeout) as exc:
            return _RetryableFailure("connection", f"failed: {_describe(exc, redactor)}", exc)
        except requests.RequestException as exc:
            raise HttpError(
                f"{method} {display_url} failed while reading the body: "
                f"{_describe(exc, redactor)}",
                url=display_url,
                attempts=attempt,
            ) from exc

        elapsed = time.monotonic() - started
        logger.debug("%s %s returned %d in %.2f s", method, display_url, status, elapsed)
        return HttpResponse(
            status_code=status,
            reason=reason,
            headers=response.headers,
            url=response.url,
            display_url=redactor.url(response.url),
            attempts=attempt,
            elapsed=elapsed,
            content=content,
            path=path,
        )

    def _check_body(
        self, response: HttpResponse, check_body: BodyCheck, redactor: Redactor
    ) -> HttpResponse | _RetryableFailure:
        try:
            check_body(response)
        except IncompleteBodyError as exc:
            response.close()
            return _RetryableFailure("body", redactor.text(str(exc)), exc)
        except BaseException:
            response.close()
            raise
        return response

    def _final_error(
        self, method: str, display_url: str, failure: _RetryableFailure, attempts: int
    ) -> RestgenError:
        if failure.kind == "status":
            return HttpStatusError(
                f"{method} {display_url} failed with status {failure.status} {failure.reason} "
                f"after {attempts} attempts: {failure.body_start}",
                status=failure.status,
                url=display_url,
                body_start=failure.body_start,
                attempts=attempts,
            )
        if failure.kind == "body":
            return IncompleteBodyError(
                f"{method} {display_url}: {failure.description} (after {attempts} attempts)"
            )
        return HttpError(
            f"{method} {display_url} {failure.description} (after {attempts} attempts)",
            url=display_url,
            attempts=attempts,
        )
