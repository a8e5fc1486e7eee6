"""Resolve the values of spec variables from the command line, the environment, dlt and defaults."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from collections.abc import Mapping
from typing import Any

from restgen.errors import SpecIssue, UsageError, VariableError
from restgen.spec.yamlload import Positions, format_path
from restgen.template import PLACEHOLDER

logger = logging.getLogger(__name__)
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def builtin_values(today: dt.date | None = None) -> dict[str, Any]:
    """Return the ``${restgen.…}`` values: the version, and today's and yesterday's UTC dates."""
    from restgen import __version__

    today = today or dt.datetime.now(dt.timezone.utc).date()
    return {
        "version": __version__,
        "today": today.isoformat(),
        "yesterday": (today - dt.timedelta(days=1)).isoformat(),
    }


_RELATIVE_DATE = re.compile(r"^\s*(today|yesterday)\s*(?:([+-])\s*(\d+)\s*d)?\s*$")


def parse_date(text: str, today: dt.date | None = None) -> dt.date | None:
    """Parse ``YYYY-MM-DD`` or a date relative to today's UTC date (``today-30d``); None if neither."""
    match = _RELATIVE_DATE.match(text)
    if match:
        base = today or dt.datetime.now(dt.timezone.utc).date()
        if match.group(1) == "yesterday":
            base -= dt.timedelta(days=1)
        if match.group(3):
            days = int(match.group(3))
            base += dt.timedelta(days=days if match.group(2) == "+" else -days)
        return base
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def _from_dlt(source: str, name: str, secret: bool) -> Any:
    """Look the value up in dlt's providers (environment and .dlt/*.toml) as ``sources.<source>.<name>``."""
    import dlt

    key = f"sources.{source}.{name}"
    for provider in (dlt.secrets, dlt.config) if secret else (dlt.config, dlt.secrets):
        try:
            value = provider.get(key)
        except Exception as exc:  # a broken TOML file must not hide the variable's other sources
            logger.debug("dlt could not read %s: %s", key, type(exc).__name__)
            continue
        if value is not None:
            return value
    return None


def convert_value(raw: Any, kind: str) -> Any:
    """Convert ``raw`` to the declared type; raise ValueError with a message naming the type."""
    if kind == "string":
        return raw if isinstance(raw, str) else str(raw)
    if kind == "integer":
        if isinstance(raw, bool) or not (isinstance(raw, int) or (isinstance(raw, str) and raw.strip().lstrip("-").isdigit())):
            raise ValueError(f"expected an integer, got {raw!r}")
        return int(raw)
    if kind == "number":
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"expected a number, got {raw!r}") from None
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise ValueError(f"expected true or false, got {raw!r}")
    if kind == "date":
        parsed = parse_date(str(raw))
        if parsed is None:
            raise ValueError(f"expected a date written YYYY-MM-DD, today, yesterday or today-Nd, got {raw!r}")
        return parsed.isoformat()
    raise ValueError(f"unknown type {kind!r}")


class _Resolver:
    def __init__(self, declared: Mapping[str, Any], overrides: Mapping[str, str], source: str,
                 environ: Mapping[str, str], use_dlt: bool, file: str, positions: Positions) -> None:
        self.declared = declared
        self.overrides = overrides
        self.source = source
        self.environ = environ
        self.use_dlt = use_dlt
        self.file = file
        self.positions = positions
        self.values: dict[str, Any] = {}
        self.origins: dict[str, str] = {}
        self.issues: list[SpecIssue] = []
        self.active: list[str] = []

    def issue(self, name: str, message: str, key: str | None = None) -> None:
        path = ("variables", name) if key is None else ("variables", name, key)
        line, column = self.positions.of_key(path) if key is None else self.positions.of_value(path)
        self.issues.append(SpecIssue(self.file, line, column, format_path(path), message))

    def resolve(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        if name in self.active:
            cycle = " -> ".join([*self.active[self.active.index(name):], name])
            self.issue(name, f"variable defaults refer to each other in a cycle: {cycle}")
            return None
        self.active.append(name)
        try:
            value = self._resolve(name, self.declared.get(name) or {})
        finally:
            self.active.pop()
        self.values[name] = value
        return value

    def _resolve(self, name: str, spec: Mapping[str, Any]) -> Any:
        raw, origin = self._raw_value(name, spec)
        self.origins[name] = origin
        if raw is None:
            if spec.get("required"):
                self.issue(name, self._missing_message(name, spec))
            return None
        try:
            value = convert_value(raw, spec.get("type", "string"))
        except ValueError as exc:
            shown = "***" if spec.get("secret") else None
            message = str(exc) if shown is None else f"invalid value for {'an' if str(spec.get('type', '')).startswith(('i', 'a', 'e', 'o', 'u')) else 'a'} {spec.get('type')} variable"
            self.issue(name, f"{message} (set by {origin})")
            return None
        choices = spec.get("enum")
        if choices and value not in choices:
            self.issue(name, f"{value!r} is not one of {', '.join(repr(choice) for choice in choices)} (set by {origin})")
            return None
        return value

    def _raw_value(self, name: str, spec: Mapping[str, Any]) -> tuple[Any, str]:
        if name in self.overrides:
            return self.overrides[name], f"--var {name}"
        env_name = spec.get("env")
        if env_name and self.environ.get(env_name, "") != "":
            return self.environ[env_name], f"the environment variable {env_name}"
        if self.use_dlt:
            found = _from_dlt(self.source, name, bool(spec.get("secret")))
            if found is not None:
                return found, f"dlt config sources.{self.source}.{name}"
        chooser = spec.get("default_by")
        if isinstance(chooser, Mapping):
            selected = self.resolve(chooser["variable"])
            values = chooser.get("values", {})
            if selected in values:
                return self._expand(name, values[selected]), f"default_by {chooser['variable']}={selected}"
            if selected is not None and "default" not in spec:
                self.issue(name, f"default_by has no value for {chooser['variable']}={selected!r}; add it under values", "default_by")
                return None, "default_by"
        if "default" in spec:
            return self._expand(name, spec["default"]), "the default"
        return None, "nothing"

    def _expand(self, name: str, value: Any) -> Any:
        if not isinstance(value, str) or "${" not in value:
            return value
        builtins = builtin_values()

        def replace(match: Any) -> str:
            inner = match.group(1)
            if not inner:
                return "${"
            root, _, rest = inner.partition(".")
            if root == "restgen":
                return str(builtins.get(rest, match.group(0)))
            resolved = self.resolve(root)
            return "" if resolved is None else str(resolved)

        whole = PLACEHOLDER.fullmatch(value)
        if whole and whole.group(1) and not whole.group(1).startswith("restgen."):
            return self.resolve(whole.group(1))
        return PLACEHOLDER.sub(replace, value)

    def _missing_message(self, name: str, spec: Mapping[str, Any]) -> str:
        # A secret given with --var stays in the shell's history, so --var is offered last.
        secret = bool(spec.get("secret"))
        ways = [] if secret else [f"--var {name}=VALUE"]
        if spec.get("env"):
            ways.append(f"the environment variable {spec['env']}")
        stores = "dlt secrets" if secret else "dlt secrets or config"
        ways.append(f"{stores} key sources.{self.source}.{name}")
        described = f" ({spec['description'].strip()})" if spec.get("description") else ""
        message = f"required variable {name!r}{described} is not set; set it with " + ", or ".join(ways)
        if secret:
            message += f"; --var {name}=VALUE works too, but leaves the secret in the shell's history"
        return message


def resolve_variables(
    declared: Mapping[str, Any],
    overrides: Mapping[str, str],
    *,
    source: str,
    file: str,
    positions: Positions,
    environ: Mapping[str, str] | None = None,
    use_dlt: bool = True,
) -> tuple[dict[str, Any], set[str]]:
    """Return every variable's value and the set of secret values.

    A value comes from ``overrides`` (``--var``), else the variable's ``env``, else dlt's
    providers as ``sources.<source>.<name>``, else ``default_by`` or ``default``.
    Raises UsageError for an override of an undeclared variable and VariableError listing
    every required variable that is unset or every value of the wrong type.
    """
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise UsageError(f"--var {unknown[0]}: the spec declares no such variable (declared: {known})")
    resolver = _Resolver(declared, overrides, source, os.environ if environ is None else environ, use_dlt, file, positions)
    for name in declared:
        resolver.resolve(name)
    if resolver.issues:
        raise VariableError(resolver.issues)
    secrets = {
        str(resolver.values[name])
        for name, spec in declared.items()
        if isinstance(spec, Mapping) and spec.get("secret") and resolver.values.get(name) not in (None, "")
    }
    return resolver.values, secrets
