"""A validated spec with variables substituted, defaults merged and dependencies attached."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from restgen.errors import SpecError, SpecIssue
from restgen.spec.checks import RUNTIME_NAMESPACES, check_spec
from restgen.spec.schema import schema_issues
from restgen.spec.variables import builtin_values, resolve_variables
from restgen.spec.yamlload import PathKey, Positions, format_path, load_yaml
from restgen.template import PLACEHOLDER, lookup

# Endpoint keys whose mappings are merged key by key with `defaults`; other keys are replaced.
MERGED_KEYS = ("params", "headers", "json", "form", "response", "columns")
DEPENDENCY_KEYS = ("depends_on", "param_mapping", "include_from_parent", "on_missing_parent_field", "parent_concurrency")


@dataclass
class RawSpec:
    """A spec file that passed the schema and the cross-field checks; variables are not yet set."""

    file: str
    document: dict[str, Any]
    positions: Positions
    warnings: list[SpecIssue] = field(default_factory=list)

    @property
    def source(self) -> str:
        return str(self.document["source"])

    def endpoint_documents(self) -> list[dict[str, Any]]:
        """Return each endpoint merged with `defaults` and its entry in `dependencies`, before substitution."""
        defaults = self.document.get("defaults") or {}
        links = {entry["endpoint"]: entry for entry in self.document.get("dependencies") or []}
        merged = []
        for endpoint in self.document["endpoints"]:
            result = _merge_defaults(defaults, endpoint)
            link = links.get(endpoint["name"])
            if link:
                result.update({key: copy.deepcopy(link[key]) for key in DEPENDENCY_KEYS if key in link})
            merged.append(result)
        return merged

    def position_of(self, path: PathKey) -> str:
        line, column = self.positions.of_value(path)
        return f"{self.file}:{line}:{column}"


@dataclass
class Spec:
    """A spec ready to run: ``client`` and ``endpoints`` have variables substituted.

    Placeholders of the runtime namespaces (``${parent.…}``, ``${incremental.…}``) remain as
    text; the engine renders them per parent record and per window.
    """

    raw: RawSpec
    variables: dict[str, Any]
    secrets: set[str]
    client: dict[str, Any]
    endpoints: list[dict[str, Any]]

    @property
    def source(self) -> str:
        return self.raw.source

    @property
    def file(self) -> str:
        return self.raw.file

    def endpoint(self, name: str) -> dict[str, Any]:
        for endpoint in self.endpoints:
            if endpoint["name"] == name:
                return endpoint
        raise KeyError(name)

    def ancestors(self, name: str) -> list[str]:
        """Return the endpoints that ``name`` depends on, its parent first; checks ruled out cycles."""
        found = []
        parent = self.endpoint(name).get("depends_on")
        while parent:
            found.append(parent)
            parent = self.endpoint(parent).get("depends_on")
        return found


def _merge_defaults(defaults: Mapping[str, Any], endpoint: Mapping[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(dict(defaults))
    for key, value in endpoint.items():
        if key in MERGED_KEYS and isinstance(value, dict) and isinstance(result.get(key), dict):
            if key == "response" and value.get("format", "json") != result[key].get("format", "json"):
                result[key] = copy.deepcopy(value)
            else:
                result[key] = {**result[key], **copy.deepcopy(value)}
        else:
            result[key] = copy.deepcopy(value)
    return result


def read_spec(path: str | Path) -> RawSpec:
    """Load and validate a spec file without setting variables.

    Raises SpecError with every problem, sorted by position: YAML syntax, schema violations
    and cross-field rules (unknown parents, cycles, duplicate names, unknown placeholders).
    """
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([SpecIssue(file, 0, 0, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([SpecIssue(file, 0, 0, "", f"cannot read the file: {exc}")]) from exc

    document, positions = load_yaml(text, file)
    if not isinstance(document, dict):
        raise SpecError([SpecIssue(file, 1, 1, "", "a spec is a mapping that starts with 'restgen: 1'")])
    issues = schema_issues(document, positions, file)
    errors, warnings = check_spec(document, positions, file)
    if issues or errors:
        raise SpecError(issues + errors)
    return RawSpec(file, document, positions, warnings)


def load_spec(
    path: str | Path,
    variables: Mapping[str, str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    use_dlt: bool = True,
) -> Spec:
    """Read a spec, set its variables and substitute them everywhere but runtime placeholders.

    Raises SpecError (or its subclass VariableError) for an invalid spec or unset required
    variables, and UsageError for a ``variables`` entry the spec does not declare.
    """
    raw = read_spec(path)
    values, secrets = resolve_variables(
        raw.document.get("variables") or {},
        dict(variables or {}),
        source=raw.source,
        file=raw.file,
        positions=raw.positions,
        environ=environ,
        use_dlt=use_dlt,
    )
    context = {**values, "restgen": builtin_values()}
    client = _substitute(raw.document.get("client") or {}, context)
    endpoints = [_substitute(endpoint, context) for endpoint in raw.endpoint_documents()]
    _check_substituted(raw, client, endpoints)
    return Spec(raw, values, secrets, client, endpoints)


def _substitute(value: Any, context: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return _substitute_string(value, context)
    if isinstance(value, dict):
        return {key: _substitute(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, context) for item in value]
    return value


def _substitute_string(text: str, context: Mapping[str, Any]) -> Any:
    if "${" not in text:
        return text
    whole = PLACEHOLDER.fullmatch(text)
    if whole and whole.group(1) and whole.group(1).split(".")[0] not in RUNTIME_NAMESPACES:
        return lookup(whole.group(1), context)

    def replace(match: Any) -> str:
        name = match.group(1)
        if not name:
            return "$${"  # stays escaped until the runtime rendering writes the literal
        if name.split(".")[0] in RUNTIME_NAMESPACES:
            return match.group(0)
        value = lookup(name, context)
        return "" if value is None else str(value)

    return PLACEHOLDER.sub(replace, text)


def _check_substituted(raw: RawSpec, client: dict[str, Any], endpoints: list[dict[str, Any]]) -> None:
    """Validate the schema again with variables set, so a bad value is reported where it is used."""
    document = {**raw.document, "client": client, "endpoints": endpoints}
    document.pop("defaults", None)
    document.pop("dependencies", None)
    document.pop("variables", None)
    issues = schema_issues(document, raw.positions, raw.file)
    if issues:
        fixed = [
            SpecIssue(issue.file, issue.line, issue.column, issue.path, issue.message + " (after variables were set)")
            for issue in issues
        ]
        raise SpecError(fixed)


__all__ = ["RawSpec", "Spec", "format_path", "load_spec", "read_spec"]
