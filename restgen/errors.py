"""The exception tree of restgen, grouped by what the caller does with an error.

    RestgenError                 base; the CLI prints ``Error: <message>`` without a traceback
    ├── UsageError               a bad command line (exit 2)
    ├── SpecError                the spec is invalid; carries every located issue (exit 2)
    │   └── VariableError        a variable is missing or has an invalid value (exit 2)
    └── RunError                 the run failed after the spec validated (exit 1)
        ├── HttpError            a request failed for good (retries exhausted or not retryable)
        │   └── HttpStatusError  the server returned a status that is not retried
        ├── ResponseError        a response body is unusable (invalid JSON, error rule matched)
        │   ├── IncompleteBodyError  a body ended early; retryable while attempts remain
        │   └── PaginationError  pagination cannot go on (repeated cursor, max_pages reached)
        ├── TransformError       a record transform cannot apply (key collision, missing field)
        └── IncrementalError     a cursor value is missing or cannot be parsed

Foreign exceptions (requests, jmespath, yaml, dlt) are converted at the module that calls the
foreign library, with ``raise ... from exc``. Messages never contain secrets: the HTTP layer
redacts them before an error is built.
"""

from __future__ import annotations

from dataclasses import dataclass


class RestgenError(Exception):
    """Base of every error restgen raises on purpose."""

    exit_code = 1


class UsageError(RestgenError):
    """A command line that cannot be carried out."""

    exit_code = 2


class MemoryLimitError(UsageError):
    """A DuckDB memory limit that DuckDB rejects."""


@dataclass(frozen=True, order=True)
class SpecIssue:
    """One located problem in a spec file; sorts by file and position."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        if self.path:
            return f"{where}: {self.path}: {self.message}"
        return f"{where}: {self.message}"


class SpecError(RestgenError):
    """A spec that failed to load or validate; ``issues`` lists every problem found."""

    exit_code = 2

    def __init__(self, issues: list[SpecIssue]) -> None:
        self.issues = sorted(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


class VariableError(SpecError):
    """A variable that is required but unset, or set to a value of the wrong type."""


class RunError(RestgenError):
    """A failure while extracting or loading data."""

    exit_code = 1


class HttpError(RunError):
    """A request that failed for good; ``url`` is already redacted."""

    def __init__(self, message: str, *, url: str = "", attempts: int = 1) -> None:
        super().__init__(message)
        self.url = url
        self.attempts = attempts


class HttpStatusError(HttpError):
    """A response whose status is not retried, or still failing after the last attempt."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        url: str = "",
        body_start: str = "",
        attempts: int = 1,
    ) -> None:
        super().__init__(message, url=url, attempts=attempts)
        self.status = status
        self.body_start = body_start


class ResponseError(RunError):
    """A response body that cannot be used as data."""


class IncompleteBodyError(ResponseError):
    """A body that ended before it was complete (a cut connection or a server marker)."""


class PaginationError(ResponseError):
    """Pagination that cannot continue safely."""


class TransformError(RunError):
    """A record transform that cannot be applied to a record."""


class IncrementalError(RunError):
    """A cursor value that is missing or cannot be parsed."""
