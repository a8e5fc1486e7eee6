"""restgen: load a REST API into a dlt destination from a declarative YAML spec."""

from __future__ import annotations

import os

__version__ = "0.1.0"

# restgen runs with dlt's anonymous telemetry off unless the user sets this variable. It is set
# on import because dlt reads its runtime configuration, and starts telemetry, at the first
# config lookup, which loading a spec already does.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
# dlt gzips its intermediate files by default; for a local load that only costs time.
os.environ.setdefault("DATA_WRITER__DISABLE_COMPRESSION", "true")


def source(spec_path, variables=None, *, endpoints=None):  # type: ignore[no-untyped-def]
    """Return the dlt source described by a spec file; see ``restgen.engine.source.source``."""
    from restgen.engine.source import source as build

    return build(spec_path, variables, endpoints=endpoints)
