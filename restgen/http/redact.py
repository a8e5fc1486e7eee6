"""Secret redaction for URLs, log records and error messages."""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote_plus, urlsplit, urlunsplit

MASK = "***"

WELL_KNOWN_SENSITIVE_PARAMS: frozenset[str] = frozenset(
    {
        "api_key",
        "token",
        "key",
        "access_token",
        "apikey",
        "secret",
        "password",
        "client_secret",
    }
)

# A parameter whose name contains one of these is sensitive too: refresh_token, X-Amz-Signature,
# db_password and the like are common, and a listed name can never cover them all.
SENSITIVE_NAME_PARTS: tuple[str, ...] = ("token", "secret", "password", "passwd", "signature", "apikey", "api_key", "api-key", "credential")

# Userinfo ("user:password@") in any absolute URL inside free text.
_USERINFO_PATTERN = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/?#@\s]*@")


def _encoded_forms(secret: str) -> set[str]:
    """Return the secret as written, URL-encoded and base64-encoded."""
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}
    raw = secret.encode("utf-8")
    forms.add(base64.b64encode(raw).decode("ascii"))
    forms.add(base64.urlsafe_b64encode(raw).decode("ascii"))
    return forms


class Redactor:
    """Replace secrets with ``***`` in text and URLs.

    ``secrets`` are literal values such as tokens and passwords. Each one is also hidden in its
    URL-encoded and base64 forms, so passing ``"user:password"`` hides the value of a
    ``Authorization: Basic`` header. ``sensitive_params`` are query parameter names whose values
    are always hidden, in addition to WELL_KNOWN_SENSITIVE_PARAMS and every name that contains one
    of SENSITIVE_NAME_PARTS. Parameter names match case-insensitively. Empty secrets are ignored. A very short secret is still replaced
    everywhere it occurs, even inside unrelated words.
    """

    def __init__(self, secrets: Iterable[str] = (), sensitive_params: Iterable[str] = ()) -> None:
        self._secrets: frozenset[str] = frozenset(s for s in secrets if s)
        self._sensitive_params: frozenset[str] = WELL_KNOWN_SENSITIVE_PARAMS | {
            name.lower() for name in sensitive_params
        }

        forms: set[str] = set()
        for secret in self._secrets:
            forms |= _encoded_forms(secret)
        # Longest first, so a secret that contains another one is replaced as a whole.
        ordered = sorted((form for form in forms if form), key=len, reverse=True)
        self._secret_pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

        self._param_pattern = re.compile(r"(?P<prefix>[?&;](?P<name>[^=&#?;\s'\"]+)=)(?P<value>[^&#\s'\"]*)")

    def is_sensitive_name(self, name: str) -> bool:
        """Return True when a parameter named ``name`` (URL-encoded or not) carries a secret."""
        lowered = unquote_plus(name).lower()
        return lowered in self._sensitive_params or any(part in lowered for part in SENSITIVE_NAME_PARTS)

    @property
    def secrets(self) -> frozenset[str]:
        """Secret values this redactor hides."""
        return self._secrets

    @property
    def sensitive_params(self) -> frozenset[str]:
        """Lower-cased query parameter names whose values are hidden."""
        return self._sensitive_params

    def extend(
        self, secrets: Iterable[str] = (), sensitive_params: Iterable[str] = ()
    ) -> Redactor:
        """Return a new redactor that also hides the given secrets and parameters."""
        return Redactor(
            [*self._secrets, *secrets], [*self._sensitive_params, *sensitive_params]
        )

    def sensitive_values(self, url: str) -> list[str]:
        """Return the decoded values of sensitive query parameters in ``url`` not yet in secrets.

        A client adds them to its secrets, so that a server echoing such a value in a body or
        header does not reveal it.
        """
        values = []
        for item in urlsplit(url).query.split("&"):
            name, separator, value = item.partition("=")
            decoded = unquote_plus(value)
            if (
                separator
                and decoded
                and self.is_sensitive_name(name)
                and decoded not in self._secrets
            ):
                values.append(decoded)
        return values

    def text(self, text: str) -> str:
        """Return ``text`` with secrets, sensitive query values and URL userinfo masked.

        Query values are recognised after ``?``, ``&`` or ``;`` followed by a sensitive name
        and ``=``, which covers URLs quoted inside exception messages.
        """
        if self._secret_pattern is not None:
            text = self._secret_pattern.sub(MASK, text)
        text = self._param_pattern.sub(self._mask_sensitive_param, text)
        return _USERINFO_PATTERN.sub(r"\g<scheme>", text)

    def url(self, url: str) -> str:
        """Return ``url`` fit for logs: no userinfo, sensitive query values shown as ``***``.

        A query value is masked when its parameter name is sensitive or its decoded value is
        a secret. Other parameters keep their original encoding. Secrets elsewhere in the URL,
        for example in a path segment, are masked as in ``text``.
        """
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
        query = "&".join(self._redact_query_item(item) for item in parts.query.split("&"))
        rebuilt = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
        return self.text(rebuilt)

    def _mask_sensitive_param(self, match: re.Match[str]) -> str:
        if self.is_sensitive_name(match.group("name")):
            return match.group("prefix") + MASK
        return match.group(0)

    def _redact_query_item(self, item: str) -> str:
        name, separator, value = item.partition("=")
        if not separator:
            return item
        if self.is_sensitive_name(name):
            return f"{name}={MASK}"
        if unquote_plus(value) in self._secrets:
            return f"{name}={MASK}"
        return item


class RedactingFilter(logging.Filter):
    """Logging filter that masks secrets in each record's formatted message and traceback.

    Attach it to a handler, or to the logger that creates the records: a filter on a parent
    logger does not see records that propagate from its children. The record is changed in
    place, so every later handler gets the masked text.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            # Leave a malformed record to the handler, which reports formatting errors itself.
            return True
        record.msg = self.redactor.text(message)
        record.args = None

        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor.text(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor.text(record.stack_info)
        return True
