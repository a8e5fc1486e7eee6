"""The spec side of restgen: load YAML, validate it, set variables."""

from __future__ import annotations

from restgen.spec.model import RawSpec, Spec, load_spec, read_spec
from restgen.spec.schema import schema_text

__all__ = ["RawSpec", "Spec", "load_spec", "read_spec", "schema_text"]
