"""Run the request sequences of one endpoint: request, decode, select, transform, page, repeat."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from typing import Any, overload
from urllib.parse import urljoin, urlsplit

from restgen.decode import find_trailing_marker, iter_jsonl_batches
from restgen.engine.client import non_empty
from restgen.engine.rules import ResponseRule, first_match
from restgen.engine.stats import EndpointStats
from restgen.errors import HttpStatusError, IncompleteBodyError, PaginationError, RestgenError, RunError, TransformError
from restgen.http import HttpClient, HttpResponse, Redactor
from restgen.incremental import CursorTracker, IncrementalRule, iter_windows_or_once
from restgen.pagination import Page, PageRequest, create_paginator
from restgen.selectors import compile_expression, select_records
from restgen.template import TemplateError, iter_placeholders, lookup, render
from restgen.transforms import create_transforms

logger = logging.getLogger(__name__)
Row = dict[str, Any]

# Response formats by their YAML name: True when the body is spooled to disk and decoded in
# batches (JSON Lines), False when it is parsed whole as one JSON document.
RESPONSE_FORMATS: dict[str, bool] = {"json": False, "jsonl": True}


def join_url(base_url: str | None, path: str) -> str:
    """Join ``path`` to ``base_url``; an absolute ``path`` is used as is."""
    if urlsplit(path).scheme in ("http", "https"):
        return path
    if not base_url:
        raise RunError(f"path {path!r} is relative but no base_url is set; set client.base_url or the endpoint's base_url")
    base = base_url if base_url.endswith("/") else base_url + "/"
    return urljoin(base, path.lstrip("/"))


# NOTE: rules test only this many bytes of a JSON Lines body, so an error text further in is missed.
RULE_PEEK_BYTES = 64 * 1024
# Responses skipped by a rule that each get a WARNING line; the summary counts them all.
SKIP_WARNINGS = 5


def parse_json_or_none(text: str) -> Any:
    """Return ``text`` parsed as JSON, or None when it is not JSON (or was cut short)."""
    try:
        return json.loads(text)
    except ValueError:
        return None


class RecordCount(Sequence[Row]):
    """The number of records of a streamed JSON Lines page, in place of the records.

    Paginators only take ``len(page.records)``, and keeping every record of a large export
    until the page ends would defeat streaming.
    """

    def __init__(self, count: int) -> None:
        self.count = count

    def __len__(self) -> int:
        return self.count

    @overload
    def __getitem__(self, index: int) -> Row: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Row]: ...

    def __getitem__(self, index: int | slice) -> Row | Sequence[Row]:
        raise TypeError("the records of a JSON Lines page were streamed and not kept; only their number is")


_MISSING = object()


def parent_value(parent: Mapping[str, Any], field: str) -> Any:
    """Return the parent's value at ``field``, a name or a dotted path as in ``${parent.owner.id}``.

    Returns the module's _MISSING marker when the field is absent.
    """
    try:
        return lookup(field, parent)
    except TemplateError:
        return _MISSING


class SkipParent(Exception):
    """A parent record lacks a field and the endpoint skips such parents."""


class RedactedCause(Exception):
    """Stands in for a foreign exception in an error's chain, with its text redacted."""


def redact_chain(error: BaseException, redactor: Redactor) -> None:
    """Replace every non-restgen exception in ``error``'s cause/context chain by a RedactedCause.

    restgen's own messages are redacted when they are built, but the exceptions they are
    raised from (requests' ConnectionError names the whole URL, API keys included) are not.
    Tracebacks under ``--debug`` and the trace dlt stores in the pipelines folder print the
    whole chain, following ``__context__`` even where the context is suppressed.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for attribute in ("__cause__", "__context__"):
            linked = getattr(current, attribute)
            if linked is not None and not isinstance(linked, (RestgenError, RedactedCause)):
                stand_in = RedactedCause(redactor.text(f"{type(linked).__name__}: {linked}"))
                stand_in.__traceback__ = linked.__traceback__
                setattr(current, attribute, stand_in)
        current = current.__cause__ or current.__context__


class EndpointRunner:
    """Everything one endpoint needs to fetch its rows, built once from the spec.

    ``sequences`` runs one request sequence per incremental window (or one without
    incremental), for one parent record or none, and yields pages of finished rows.
    """

    def __init__(self, endpoint: Mapping[str, Any], client: HttpClient, default_base_url: str | None, stats: EndpointStats) -> None:
        self.name: str = endpoint["name"]
        self.client = client
        self.stats = stats
        self.method: str = endpoint.get("method", "GET")
        self.url_template = join_url(endpoint.get("base_url") or default_base_url, endpoint["path"])

        params = dict(endpoint.get("params") or {})
        for param, field in (endpoint.get("param_mapping") or {}).items():
            params[param] = "${parent." + field + "}"
        self.params = params
        self.json = endpoint.get("json")
        self.form = endpoint.get("form")
        self.headers = endpoint.get("headers") or {}

        response = endpoint.get("response") or {}
        self.jsonl = RESPONSE_FORMATS[response.get("format", "json")]
        self.markers: list[str] = list(response.get("incomplete_markers") or [])
        self.batch_size = int(response.get("batch_size", 5000))
        self.rules = [ResponseRule.from_config(rule) for rule in response.get("rules") or []]
        self.selector = compile_expression(endpoint["data_selector"]) if endpoint.get("data_selector") else None
        self.pagination = dict(endpoint.get("pagination") or {"type": "single_page"})
        self.transforms = create_transforms(endpoint.get("transforms") or [])
        self.incremental = IncrementalRule.from_config(endpoint["incremental"]) if endpoint.get("incremental") else None
        self._selector_checked = False
        self.count_every_page = endpoint.get("rate_limit_pages", "all") == "all"

        self.include_from_parent: dict[str, str] = dict(endpoint.get("include_from_parent") or {})
        self.on_missing_parent_field = endpoint.get("on_missing_parent_field", "raise")
        self.parent_name: str | None = endpoint.get("depends_on")
        templated = [self.url_template, self.params, self.json, self.form, self.headers, endpoint.get("transforms")]
        fields = {name.split(".", 1)[1] for name in iter_placeholders(templated) if name.startswith("parent.")}
        self.parent_fields = sorted(fields | set(self.include_from_parent.values()))

    # -- one parent, all windows -------------------------------------------------------------

    def partition_key(self, parent: Mapping[str, Any] | None) -> str:
        """Name the cursor state of one parent: its fields this endpoint uses, as JSON."""
        if parent is None:
            return ""
        values = {field: parent_value(parent, field) for field in self.parent_fields}
        return json.dumps({field: None if value is _MISSING else value for field, value in values.items()}, sort_keys=True, default=str)

    def check_parent(self, parent: Mapping[str, Any]) -> None:
        """Raise RunError, or SkipParent per ``on_missing_parent_field``, if a needed field is absent."""
        missing = [field for field in self.parent_fields if parent_value(parent, field) is _MISSING]
        if not missing:
            return
        message = (
            f"{self.name}: a record of parent endpoint {self.parent_name!r} has no field "
            f"{missing[0]!r} (its fields: {', '.join(sorted(parent)[:20])})"
        )
        if self.on_missing_parent_field == "skip":
            logger.warning("%s; skipping that parent", message)
            raise SkipParent(message)
        raise RunError(message + "; fix the placeholder or set on_missing_parent_field: skip")

    def sequences(
        self,
        parent: Mapping[str, Any] | None,
        state: MutableMapping[str, Any] | None,
        *,
        max_pages: int | None = None,
        max_windows: int | None = None,
    ) -> Iterator[list[Row]]:
        """Yield pages of rows for one parent (or none), one request sequence per window.

        ``max_pages`` and ``max_windows`` cut the sequences short, for a preview. The cursor
        state in ``state`` advances only after every requested window succeeded.
        """
        context: dict[str, Any] = {"parent": dict(parent)} if parent is not None else {}
        tracker = None
        of_parent = ""
        if self.incremental is not None:
            key = self.partition_key(parent)
            tracker = CursorTracker(self.incremental, state if state is not None else {}, key, self.name)
            if parent is not None:
                of_parent = f" for parent {key}"
        try:
            for index, window in enumerate(iter_windows_or_once(tracker)):
                if max_windows is not None and index >= max_windows:
                    break
                window_context = dict(context)
                if window is not None:
                    window_context["incremental"] = {"start": window.start_text, "end": window.end_text}
                    logger.info("%s: requesting %s to %s%s", self.name, window.start_text, window.end_text, of_parent)
                yield from self._pages(window_context, tracker, max_pages)
        except RunError as exc:
            redact_chain(exc, self.client.redactor)
            # Paginators, selectors and transforms do not know the endpoint; the user needs it.
            named = self._named(exc)
            if named is exc:
                raise
            raise named from exc
        if tracker is not None:
            tracker.commit()

    def _named(self, error: RunError) -> RunError:
        """Return ``error`` with the endpoint name in front of its message (once)."""
        message = str(error)
        if message.startswith(f"{self.name}: "):
            return error
        try:
            return type(error)(f"{self.name}: {message}")
        except TypeError:
            return RunError(f"{self.name}: {message}")

    # -- one request sequence ----------------------------------------------------------------

    def _first_request(self, context: Mapping[str, Any]) -> PageRequest:
        try:
            url = render(self.url_template, context)
            params = non_empty(render(self.params, context))
            body_json = render(self.json, context) if self.json is not None else None
            form = non_empty(render(self.form, context)) if self.form is not None else None
            headers = {key: str(value) for key, value in render(self.headers, context).items()}
        except TemplateError as exc:
            raise RunError(f"{self.name}: {exc}") from exc
        return PageRequest(method=self.method, url=str(url), params=params, json=body_json, form=form, headers=headers)

    def _pages(self, context: Mapping[str, Any], tracker: CursorTracker | None, max_pages: int | None) -> Iterator[list[Row]]:
        request = self._first_request(context)
        paginator = create_paginator(self.pagination)
        paginator.init_request(request)
        page_number = 0
        previous_digest: bytes | None = None
        while True:
            response = self._send(request, counted=self.count_every_page or page_number == 0)
            if response is None:
                return
            with response:
                if self.jsonl:
                    if self._jsonl_rule_skips(response):
                        return
                    received = 0
                    for batch in iter_jsonl_batches(response.open(), batch_size=self.batch_size, source=f"{self.name}: {response.display_url}", markers=self.markers):
                        received += len(batch)
                        rows = self._finish(batch, context, tracker)
                        if rows:
                            yield rows
                    records = RecordCount(received)
                    paginator.update_state(Page(request=request, status=response.status_code, headers=response.headers, url=response.url, body=None, records=records))  # type: ignore[arg-type]
                else:
                    # An empty body (a 204, or a 200 without content) is an empty page.
                    body = response.json() if response.content.strip() else None
                    rule = first_match(self.rules, response.status_code, response.text, body)
                    if rule is not None and self._apply_rule(rule, response.status_code, response.display_url, response.text):
                        return
                    if page_number == 0 and self.selector is not None and body is not None:
                        self._warn_if_selector_empty(body, response.display_url)
                    records = select_records(body, self.selector)
                    # The paginator reads the body before transforms change its records in place.
                    paginator.update_state(Page(request=request, status=response.status_code, headers=response.headers, url=response.url, body=body, records=records))
                    # After the paginator, so its own more precise loop checks speak first.
                    previous_digest = self._check_repeated_page(response.content, records, previous_digest, page_number)
                    rows = self._finish(records, context, tracker)
                    if rows:
                        yield rows
            self.stats.increment("pages")
            page_number += 1
            if not paginator.has_next_page or (max_pages is not None and page_number >= max_pages):
                logger.debug("%s: pagination ended at %r", self.name, paginator)
                return
            paginator.update_request(request)

    def _warn_if_selector_empty(self, body: Any, url: str) -> None:
        """Log once when data_selector finds nothing, the usual sign of a misspelt key."""
        if self._selector_checked:
            return
        self._selector_checked = True
        if self.selector is not None and self.selector.search(body) is None:
            keys = ", ".join(sorted(body)[:20]) if isinstance(body, dict) else type(body).__name__
            logger.warning("%s: data_selector %r matched nothing in the response of %s (top-level keys: %s)", self.name, self.selector.expression, url, keys)

    def _check_repeated_page(self, content: bytes, records: list[Row], previous: bytes | None, page_number: int) -> bytes | None:
        """Raise PaginationError when a page repeats the previous one byte for byte.

        A server that ignores the page parameter returns the same body for every page, and a paginator
        without a total would then never stop.
        """
        if self.pagination.get("type", "single_page") == "single_page" or not records:
            return None
        digest = hashlib.sha1(content).digest()
        if digest == previous:
            raise PaginationError(
                f"{self.name}: page {page_number + 1} has the same body as page {page_number}; the server "
                "seems to ignore the pagination parameters, so check the pagination settings or set a "
                "total path or max_pages"
            )
        return digest

    def _send(self, request: PageRequest, *, counted: bool) -> HttpResponse | None:
        check = None
        if self.jsonl and self.markers:
            check = self._check_markers
        try:
            return self.client.request(
                request.method,
                request.url,
                params=request.params,
                json=request.json,
                data=request.form,
                headers=request.headers,
                spool=self.jsonl,
                check_body=check,
                counted=counted,
                stats=self.stats,
            )
        except HttpStatusError as exc:
            rule = first_match(self.rules, exc.status, exc.body_start, parse_json_or_none(exc.body_start))
            if rule is not None and self._apply_rule(rule, exc.status, exc.url, exc.body_start):
                return None
            raise RunError(f"{self.name}: {exc}") from exc
        except RunError as exc:
            raise type(exc)(f"{self.name}: {exc}") from exc

    def _check_markers(self, response: HttpResponse) -> None:
        with response.open() as stream:
            marker = find_trailing_marker(stream, self.markers)
        if marker is not None:
            raise IncompleteBodyError(f"the body ends with the server marker {marker!r}; the response is incomplete")

    def _jsonl_rule_skips(self, response: HttpResponse) -> bool:
        """Check the rules against the start of a JSON Lines body; True when a rule skips it.

        ``body_contains`` is tested on the first RULE_PEEK_BYTES of the body, because a JSON
        Lines body can be far too large to read twice. ``body_path`` is evaluated only on a body
        of a single line within that size, the shape of an error object, because on the first
        of many records ``status == 'error'`` would match data.
        """
        if not self.rules:
            return False
        with response.open() as stream:
            head = stream.read(RULE_PEEK_BYTES + 1)
        text = head[:RULE_PEEK_BYTES].decode(response.encoding, errors="replace")
        lines = [line for line in text.splitlines() if line.strip()]
        single = parse_json_or_none(lines[0]) if len(head) <= RULE_PEEK_BYTES and len(lines) == 1 else None
        rule = first_match(self.rules, response.status_code, text, single)
        return rule is not None and self._apply_rule(rule, response.status_code, response.display_url, text)

    def _apply_rule(self, rule: ResponseRule, status: int, url: str, text: str | None) -> bool:
        """Return True when the response is skipped; raise RunError when the rule fails the run."""
        body_start = self.client.redactor.text((text or "")[:300])
        if rule.action == "skip":
            self.stats.increment("skipped")
            # A child skips one response per missing parent, which can be thousands of lines.
            if self.stats.skipped <= SKIP_WARNINGS:
                more = "; the summary counts further skips" if self.stats.skipped == SKIP_WARNINGS else ""
                logger.warning("%s: skipping the response of %s (status %d): %s%s", self.name, url, status, rule.message, more)
            return True
        raise RunError(f"{self.name}: {rule.message} (status {status} from {url}: {body_start})")

    def _finish(self, records: list[Row], context: Mapping[str, Any], tracker: CursorTracker | None) -> list[Row]:
        rows = records
        for transform in self.transforms:
            rows = transform.apply(rows, context)
        if self.include_from_parent and "parent" in context:
            parent = context["parent"]
            extra = {column: parent_value(parent, field) for column, field in self.include_from_parent.items()}
            extra = {column: None if value is _MISSING else value for column, value in extra.items()}
            for row in rows:
                for column, value in extra.items():
                    if column in row and row[column] != value:
                        raise TransformError(
                            f"{self.name}: include_from_parent would overwrite the field {column!r} "
                            f"({row[column]!r}) with the parent's {value!r}; choose another column name"
                        )
                row.update(extra)
        if tracker is not None:
            rows = tracker.filter(rows)
        self.stats.increment("rows", len(rows))
        return rows
