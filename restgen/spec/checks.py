"""Checks that JSON Schema cannot express: names, references, cycles, stop conditions, placeholders."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from restgen.errors import SpecIssue
from restgen.spec.yamlload import PathKey, Positions, format_path
from restgen.template import PLACEHOLDER

# Namespaces resolved while the run goes on, not when the spec loads.
RUNTIME_NAMESPACES = {"parent", "incremental"}
BUILTINS = {"restgen": {"version", "today", "yesterday"}}
INCREMENTAL_NAMES = {"start", "end"}
AUTH_SECRET_FIELDS = {"basic": "password", "bearer": "token", "api_key": "value"}


class _Collector:
    def __init__(self, file: str, positions: Positions) -> None:
        self.file = file
        self.positions = positions
        self.issues: list[SpecIssue] = []

    def add(self, path: PathKey, message: str, *, at_key: bool = False) -> None:
        line, column = self.positions.of_key(path) if at_key else self.positions.of_value(path)
        self.issues.append(SpecIssue(self.file, line, column, format_path(path), message))


def _endpoints(document: Mapping[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    endpoints = document.get("endpoints")
    if not isinstance(endpoints, list):
        return []
    return [(index, item) for index, item in enumerate(endpoints) if isinstance(item, dict)]


def check_spec(document: Any, positions: Positions, file: str) -> tuple[list[SpecIssue], list[SpecIssue]]:
    """Return the errors and the warnings that the cross-field rules find in a raw spec."""
    errors = _Collector(file, positions)
    warnings = _Collector(file, positions)
    if not isinstance(document, dict):
        return [], []

    names = _check_names(document, errors)
    parents = _check_dependencies(document, names, errors)
    _check_cycles(parents, names, errors)
    variables = _check_variables(document, errors)
    for index, endpoint in _endpoints(document):
        path: PathKey = ("endpoints", index)
        has_parent = isinstance(endpoint.get("depends_on"), str) or endpoint.get("name") in parents
        _check_pagination(endpoint.get("pagination"), (*path, "pagination"), errors)
        _check_endpoint_rules(endpoint, path, has_parent, errors)
        _check_placeholders(endpoint, path, variables, errors, parent=has_parent, incremental=isinstance(endpoint.get("incremental"), dict))
    for key in ("client", "variables"):
        if key in document:
            _check_placeholders(document[key], (key,), variables, errors, parent=False, incremental=False)
    if isinstance(document.get("defaults"), dict):
        _check_pagination(document["defaults"].get("pagination"), ("defaults", "pagination"), errors)
        _check_placeholders(document["defaults"], ("defaults",), variables, errors, parent=True, incremental=True)
    _check_literal_secrets(document, warnings)
    return errors.issues, warnings.issues


def _check_names(document: Mapping[str, Any], errors: _Collector) -> dict[str, int]:
    names: dict[str, int] = {}
    for index, endpoint in _endpoints(document):
        name = endpoint.get("name")
        if not isinstance(name, str):
            continue
        if name in names:
            errors.add(("endpoints", index, "name"), f"duplicate endpoint name {name!r}; endpoints[{names[name]}] already uses it")
        else:
            names[name] = index
    return names


def _check_dependencies(document: Mapping[str, Any], names: dict[str, int], errors: _Collector) -> dict[str, tuple[str, PathKey]]:
    """Return child name -> (parent name, path of the reference), from endpoints and the dependencies list."""
    parents: dict[str, tuple[str, PathKey]] = {}
    for index, endpoint in _endpoints(document):
        parent = endpoint.get("depends_on")
        if isinstance(parent, str) and isinstance(endpoint.get("name"), str):
            parents[endpoint["name"]] = (parent, ("endpoints", index, "depends_on"))

    dependencies = document.get("dependencies")
    listed: dict[str, int] = {}
    for index, entry in enumerate(dependencies if isinstance(dependencies, list) else []):
        if not isinstance(entry, dict) or not isinstance(entry.get("endpoint"), str):
            continue
        child = entry["endpoint"]
        path: PathKey = ("dependencies", index)
        if child not in names:
            errors.add((*path, "endpoint"), _not_found("endpoint", child, names))
            continue
        if child in listed:
            errors.add((*path, "endpoint"), f"endpoint {child!r} is already listed in dependencies[{listed[child]}]; keep one of the two")
            continue
        listed[child] = index
        if child in parents:
            errors.add((*path, "endpoint"), f"endpoint {child!r} already sets depends_on in endpoints[{names[child]}]; keep one of the two")
            continue
        if isinstance(entry.get("depends_on"), str):
            parents[child] = (entry["depends_on"], (*path, "depends_on"))

    for child, (parent, path) in parents.items():
        if parent == child:
            errors.add(path, f"endpoint {child!r} cannot depend on itself")
        elif parent not in names:
            errors.add(path, _not_found("parent endpoint", parent, names))
    return parents


def _not_found(what: str, name: str, names: Mapping[str, int]) -> str:
    known = ", ".join(sorted(names)) or "none"
    return f"unknown {what} {name!r}; endpoints defined: {known}"


def _check_cycles(parents: dict[str, tuple[str, PathKey]], names: dict[str, int], errors: _Collector) -> None:
    reported: set[str] = set()
    for start in parents:
        chain = [start]
        current = start
        while current in parents:
            current = parents[current][0]
            if current == start and len(chain) > 1:
                cycle = frozenset(chain)
                if not reported & cycle:
                    reported |= cycle
                    errors.add(parents[start][1], "dependency cycle: " + " -> ".join([*chain, start]))
                break
            if current in chain or current not in names:
                break
            chain.append(current)


def _flag(config: Mapping[str, Any], key: str, default: bool) -> bool:
    value = config.get(key, default)
    return value if isinstance(value, bool) else True  # a ${variable} may turn it on


def _check_pagination(config: Any, path: PathKey, errors: _Collector) -> None:
    if not isinstance(config, dict):
        return
    kind = config.get("type")
    if kind == "page_number":
        stops = (
            "total_pages_path" in config
            or "total_items_path" in config
            or _flag(config, "stop_on_empty_page", True)
            or _flag(config, "stop_on_short_page", True)
        )
        if not stops:
            errors.add(path, "page_number pagination has no way to stop; set total_pages_path or total_items_path, or leave stop_on_empty_page or stop_on_short_page true")
    elif kind == "offset":
        if "total_path" not in config and not _flag(config, "stop_on_empty_page", True):
            errors.add(path, "offset pagination has no way to stop; set total_path or leave stop_on_empty_page true")
    elif kind == "cursor":
        if "cursor_path" in config and "cursor_header" in config:
            errors.add(path, "set cursor_path or cursor_header, not both")
        elif "cursor_path" not in config and "cursor_header" not in config:
            errors.add(path, "cursor pagination needs cursor_path (a jmespath into the body) or cursor_header")
    if kind == "page_number" and "page_size_param" in config and "page_size" not in config:
        errors.add(path, "page_size_param is set but page_size is not; set the page size to request")


def _check_endpoint_rules(endpoint: Mapping[str, Any], path: PathKey, has_parent: bool, errors: _Collector) -> None:
    if endpoint.get("write_disposition") == "merge" and "primary_key" not in endpoint and "merge_key" not in endpoint:
        errors.add((*path, "write_disposition"), "write_disposition 'merge' needs primary_key or merge_key, or rows are only appended")
    for key in ("param_mapping", "include_from_parent", "on_missing_parent_field", "parent_concurrency"):
        if key in endpoint and not has_parent:
            errors.add((*path, key), f"{key} needs depends_on naming the parent endpoint")
    if endpoint.get("method", "GET") == "GET" and ("json" in endpoint or "form" in endpoint):
        errors.add((*path, "json" if "json" in endpoint else "form"), "a GET request has no body; set method: POST or move the values to params")
    if "json" in endpoint and "form" in endpoint:
        errors.add((*path, "form"), "set json or form, not both")
    incremental = endpoint.get("incremental")
    if isinstance(incremental, dict) and "window" in incremental:
        used = set(_placeholders_in({key: endpoint.get(key) for key in ("path", "params", "json", "form", "headers")}))
        if not used & {"incremental.start", "incremental.end"}:
            errors.add((*path, "incremental", "window"), "a window has no effect unless the request uses ${incremental.start} or ${incremental.end}; add them to params, json or form")


def _check_variables(document: Mapping[str, Any], errors: _Collector) -> set[str]:
    declared = document.get("variables")
    if not isinstance(declared, dict):
        return set()
    names = set(declared)
    for name, spec in declared.items():
        path: PathKey = ("variables", name)
        if name in RUNTIME_NAMESPACES or name in BUILTINS:
            errors.add(path, f"variable name {name!r} is reserved for ${{{name}.…}} placeholders; choose another name", at_key=True)
        if not isinstance(spec, dict):
            continue
        choices = spec.get("enum")
        if isinstance(choices, list) and "default" in spec and not _has_placeholder(spec["default"]) and spec["default"] not in choices:
            errors.add((*path, "default"), f"default {spec['default']!r} is not one of the allowed values {choices!r}")
        kind = spec.get("type", "string")
        if "default" in spec and not _has_placeholder(spec["default"]) and kind != "string":
            from restgen.spec.variables import convert_value

            try:
                convert_value(spec["default"], kind)
            except ValueError as exc:
                errors.add((*path, "default"), str(exc))
        chooser = spec.get("default_by")
        if isinstance(chooser, dict) and isinstance(chooser.get("variable"), str) and chooser["variable"] not in declared:
            errors.add((*path, "default_by", "variable"), f"unknown variable {chooser['variable']!r}; variables declared: {', '.join(sorted(declared))}")
    return names


def _has_placeholder(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def _placeholders_in(value: Any) -> Iterator[str]:
    for _, name in _walk_placeholders(value, ()):
        yield name


def _walk_placeholders(value: Any, path: PathKey) -> Iterator[tuple[PathKey, str]]:
    if isinstance(value, str):
        for match in PLACEHOLDER.finditer(value):
            if match.group(1):
                yield path, match.group(1)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk_placeholders(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk_placeholders(item, (*path, index))


def _check_placeholders(value: Any, base: PathKey, variables: set[str], errors: _Collector, *, parent: bool, incremental: bool) -> None:
    for relative, name in _walk_placeholders(value, ()):
        path = (*base, *relative)
        root, _, rest = name.partition(".")
        if root == "parent":
            if not parent:
                errors.add(path, f"'${{{name}}}' needs depends_on naming the parent endpoint")
            elif not rest:
                errors.add(path, "write '${parent.<field>}' with the parent record's field name")
        elif root == "incremental":
            if not incremental:
                errors.add(path, f"'${{{name}}}' needs an incremental block on this endpoint")
            elif rest not in INCREMENTAL_NAMES:
                errors.add(path, f"unknown placeholder '${{{name}}}'; use ${{incremental.start}} or ${{incremental.end}}")
        elif root in BUILTINS:
            if rest not in BUILTINS[root]:
                allowed = ", ".join(f"${{{root}.{item}}}" for item in sorted(BUILTINS[root]))
                errors.add(path, f"unknown placeholder '${{{name}}}'; built-in values: {allowed}")
        elif root not in variables:
            known = ", ".join(sorted(variables)) or "none"
            errors.add(path, f"unknown variable '${{{name}}}'; declare it under variables (declared: {known})")
        elif rest:
            errors.add(path, f"'${{{name}}}': a variable has no fields; write '${{{root}}}'")


def _check_literal_secrets(document: Mapping[str, Any], warnings: _Collector) -> None:
    client = document.get("client")
    auth = client.get("auth") if isinstance(client, dict) else None
    if not isinstance(auth, dict):
        return
    field = AUTH_SECRET_FIELDS.get(str(auth.get("type")))
    value = auth.get(field) if field else None
    if isinstance(value, str) and value and not _has_placeholder(value):
        warnings.add(("client", "auth", field), "a literal secret is written in the spec; move it to a variable marked 'secret: true' and set it from the environment")
