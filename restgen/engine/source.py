"""Assemble a dlt source from a spec file: the library's entry point."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import dlt
from dlt.extract.source import DltSource

from restgen.engine.client import build_client
from restgen.engine.resources import build_resources
from restgen.engine.stats import EndpointStats
from restgen.errors import UsageError
from restgen.http import HttpClient
from restgen.spec import Spec, load_spec

logger = logging.getLogger(__name__)


@dataclass
class BuiltSource:
    """A dlt source with what restgen needs to report on it after a run."""

    spec: Spec
    source: DltSource
    client: HttpClient
    stats: dict[str, EndpointStats]
    selected: list[str]


def select_endpoints(spec: Spec, names: Sequence[str] | None) -> list[str]:
    """Return the endpoints to load: the named ones, or every enabled one.

    Raises UsageError for a name the spec does not define.
    """
    known = [endpoint["name"] for endpoint in spec.endpoints]
    if not names:
        return [endpoint["name"] for endpoint in spec.endpoints if endpoint.get("enabled", True) is not False]
    for name in names:
        if name not in known:
            raise UsageError(f"--endpoint {name}: the spec defines no such endpoint (endpoints: {', '.join(known)})")
    return list(dict.fromkeys(names))


def warn_children_left_out(spec: Spec, selected: Sequence[str]) -> None:
    """Warn when an incremental endpoint runs without an enabled endpoint that depends on it.

    The parent's cursor advances past the records this run loads, so no later run requests the
    child's data for them, unless the child runs alone with --full-refresh, which reads every parent.
    """
    left_out = [name for name in select_endpoints(spec, None) if name not in selected]
    for name in selected:
        if not spec.endpoint(name).get("incremental"):
            continue
        children = [child for child in left_out if name in spec.ancestors(child)]
        if children:
            logger.warning(
                "%s: its child endpoints %s are not selected, so no run will ask them for the records this run loads; "
                "select them too, or reload them later with --endpoint %s --full-refresh",
                name, ", ".join(children), " --endpoint ".join(children),
            )


def build_source(spec: Spec, endpoints: Sequence[str] | None = None) -> BuiltSource:
    """Build the dlt source of a loaded spec, with a resource per selected endpoint.

    A selected child of an unselected parent reads the parent itself (see engine.feeders), so
    the source has no resource for that parent.
    """
    selected = select_endpoints(spec, endpoints)
    warn_children_left_out(spec, selected)
    concurrency = sum(int(endpoint.get("parent_concurrency", 4)) for endpoint in spec.endpoints if endpoint.get("depends_on"))
    client = build_client(spec, pool_size=max(10, concurrency))
    resources, stats = build_resources(spec, client, selected)

    def endpoints_of_spec() -> list:
        return list(resources.values())

    source = dlt.source(endpoints_of_spec, name=spec.source, section=spec.source)()
    source = source.with_resources(*selected)
    return BuiltSource(spec, source, client, stats, selected)


def source(
    spec_path: str | Path,
    variables: Mapping[str, str] | None = None,
    *,
    endpoints: Sequence[str] | None = None,
) -> DltSource:
    """Return the dlt source described by a spec file, ready for ``pipeline.run(...)``.

    ``variables`` set spec variables as ``--var`` does. Raises SpecError (exit 2 in the CLI)
    for an invalid spec or unset required variables.

    Example::

        import dlt, restgen
        pipeline = dlt.pipeline("mixpanel", destination="duckdb")
        pipeline.run(restgen.source("configs/mixpanel.yaml", {"project_id": "42"}), loader_file_format="jsonl")
    """
    spec = load_spec(spec_path, variables)
    return build_source(spec, endpoints).source
