"""Commands that send requests: run, preview, demo and simulate (filled in by the engine)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

RUN_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def add_run_commands(commands: Any, add_debug: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register the commands that need the engine."""
