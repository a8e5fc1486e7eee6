"""The bundled specs validate and load, and the JSON Schema is well formed, closed and described."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from restgen.spec import load_spec, read_spec, schema_text

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
SCHEMA_FILE = ROOT / "schemas" / "restgen-spec.schema.json"

# Values for the required variables of each bundled spec, as a user sets them in the shell.
# Every config file needs an entry here, so a new config cannot skip the load test.
ENVIRONMENTS = {
    "mixpanel.yaml": {
        "MIXPANEL_USERNAME": "loader.service-account",
        "MIXPANEL_SECRET": "service-account-secret",
        "MIXPANEL_PROJECT_ID": "12345",
    },
}

# Objects whose keys are chosen by the spec author, so they cannot be closed with
# additionalProperties: false. Paths use YAML notation: `[]` is any list item, `*` any key.
# A map whose values are themselves closed objects (such as `variables`) is listed here too,
# because only its keys are open.
OPEN_MAPS = {
    "variables": "variable name -> variable declaration",
    "variables.*.default_by.values": "value of the chooser variable -> default",
    "client.headers": "header name -> value",
    "client.params": "query parameter name -> value",
    "defaults.params": "query parameter name -> value",
    "defaults.headers": "header name -> value",
    "defaults.form": "form field name -> value",
    "defaults.json": "any JSON request body",
    "defaults.columns": "column name -> column hints",
    "defaults.pagination.carry": "request parameter name -> jmespath",
    "defaults.param_mapping": "query parameter name -> parent field",
    "defaults.include_from_parent": "child column -> parent field",
    "defaults.transforms[].rename": "old field name -> new field name",
    "defaults.transforms[].add_fields": "new field name -> value",
    "endpoints[].params": "query parameter name -> value",
    "endpoints[].headers": "header name -> value",
    "endpoints[].form": "form field name -> value",
    "endpoints[].json": "any JSON request body",
    "endpoints[].columns": "column name -> column hints",
    "endpoints[].pagination.carry": "request parameter name -> jmespath",
    "endpoints[].param_mapping": "query parameter name -> parent field",
    "endpoints[].include_from_parent": "child column -> parent field",
    "endpoints[].transforms[].rename": "old field name -> new field name",
    "endpoints[].transforms[].add_fields": "new field name -> value",
    "dependencies[].param_mapping": "query parameter name -> parent field",
    "dependencies[].include_from_parent": "child column -> parent field",
}


def load_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def test_configs_exist() -> None:
    assert CONFIGS, f"no *.yaml files in {ROOT / 'configs'}"


@pytest.mark.parametrize("config", CONFIGS, ids=lambda path: path.name)
def test_config_validates(config: Path) -> None:
    raw = read_spec(config)

    assert raw.warnings == []
    assert raw.document["endpoints"]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda path: path.name)
def test_config_loads_with_environment(config: Path) -> None:
    assert config.name in ENVIRONMENTS, f"add the required variables of {config.name} to ENVIRONMENTS"
    environ = ENVIRONMENTS[config.name]

    spec = load_spec(config, environ=environ, use_dlt=False)

    names = [endpoint["name"] for endpoint in spec.raw.document["endpoints"]]
    assert [endpoint["name"] for endpoint in spec.endpoints] == names


def test_mixpanel_substitutes_variables() -> None:
    spec = load_spec(ROOT / "configs" / "mixpanel.yaml", environ=ENVIRONMENTS["mixpanel.yaml"], use_dlt=False)

    assert spec.client["base_url"] == "https://mixpanel.com/api/query/"
    assert spec.client["auth"] == {"type": "basic", "username": "loader.service-account", "password": "service-account-secret"}
    assert spec.client["params"] == {"project_id": "12345"}
    assert spec.secrets == {"loader.service-account", "service-account-secret"}
    assert spec.endpoint("export")["base_url"] == "https://data.mixpanel.com/api/2.0/"
    # Runtime placeholders stay as text for the engine.
    assert spec.endpoint("export")["params"]["from_date"] == "${incremental.start}"
    assert spec.endpoint("cohort_members")["form"]["filter_by_cohort"] == '{"id": ${parent.id}}'


def test_mixpanel_region_picks_hosts() -> None:
    environ = {**ENVIRONMENTS["mixpanel.yaml"], "MIXPANEL_REGION": "eu"}

    spec = load_spec(ROOT / "configs" / "mixpanel.yaml", environ=environ, use_dlt=False)

    assert spec.client["base_url"] == "https://eu.mixpanel.com/api/query/"
    assert spec.endpoint("export")["base_url"] == "https://data-eu.mixpanel.com/api/2.0/"


def test_schema_text_matches_file() -> None:
    assert json.loads(schema_text()) == load_schema()


def test_schema_is_valid_draft_2020_12() -> None:
    schema = load_schema()

    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def _child_path(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def iter_schemas(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield every subschema that describes part of a spec, with its YAML path.

    Subschemas under `if` are skipped because they are conditions, not descriptions. The
    branches of allOf, anyOf, oneOf, then and else describe the same value as their parent,
    so they keep its path.
    """
    if not isinstance(node, dict):
        return
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from iter_schemas(child, _child_path(path, name))
    if isinstance(node.get("additionalProperties"), dict):
        yield from iter_schemas(node["additionalProperties"], _child_path(path, "*"))
    if isinstance(node.get("items"), dict):
        yield from iter_schemas(node["items"], path + "[]")
    for keyword in ("allOf", "anyOf", "oneOf"):
        for branch in node.get(keyword, []):
            yield from iter_schemas(branch, path)
    for keyword in ("then", "else"):
        yield from iter_schemas(node.get(keyword), path)


def _is_object_schema(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in schema


def _closed_by_branches(schema: dict[str, Any]) -> bool:
    """Tell whether an if/then object closes every value of its discriminator in a `then` branch.

    The spec's pagination, auth and response objects pick their keys by `type` or `format`:
    the outer schema lists only that key, and each `then` branch is closed.
    """
    branches = [entry.get("then") for entry in schema.get("allOf", [])]
    if not branches or any(not isinstance(branch, dict) or branch.get("additionalProperties") is not False for branch in branches):
        return False
    for key, choice in schema.get("properties", {}).items():
        if "enum" in choice:
            covered = {branch.get("properties", {}).get(key, {}).get("const") for branch in branches}
            return set(choice["enum"]) <= covered
    return False


def _is_closed(schema: dict[str, Any]) -> bool:
    if schema.get("additionalProperties") is False:
        return True
    names = schema.get("propertyNames")
    if isinstance(names, dict) and "enum" in names:
        return True  # a transform item: its one key must be a known transform name
    return _closed_by_branches(schema)


def test_schema_objects_closed() -> None:
    open_paths = {path for path, schema in iter_schemas(load_schema()) if _is_object_schema(schema) and not _is_closed(schema)}

    undeclared = sorted(open_paths - set(OPEN_MAPS))
    stale = sorted(set(OPEN_MAPS) - open_paths)
    assert undeclared == [], "set additionalProperties: false, or add the path to OPEN_MAPS with its reason"
    assert stale == [], "these OPEN_MAPS entries no longer name an open object; remove them"


def test_schema_properties_described() -> None:
    missing = [
        _child_path(path, name)
        for path, schema in iter_schemas(load_schema())
        for name, child in schema.get("properties", {}).items()
        if not (isinstance(child, dict) and str(child.get("description", "")).strip())
    ]

    assert missing == []


def test_schema_walk_reaches_branches() -> None:
    # Guards the two tests above against a walker that silently skips the if/then branches.
    paths = {path for path, _ in iter_schemas(load_schema())}

    assert "endpoints[].pagination.cursor_path" in paths
    assert "client.auth.password" in paths
    assert "endpoints[].response.incomplete_markers" in paths
    assert "endpoints[].transforms[].hoist.field" in paths
