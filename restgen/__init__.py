"""restgen: load a REST API into a dlt destination from a declarative YAML spec."""

from __future__ import annotations

__version__ = "0.1.0"
