"""restgen: load a REST API into a dlt destination from a declarative YAML spec."""

from __future__ import annotations

__version__ = "0.1.0"


def source(spec_path, variables=None, *, endpoints=None):  # type: ignore[no-untyped-def]
    """Return the dlt source described by a spec file; see ``restgen.engine.source.source``."""
    from restgen.engine.source import source as build

    return build(spec_path, variables, endpoints=endpoints)
