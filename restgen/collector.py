"""Garbage collector settings for the ``restgen`` command, which owns its process.

Importing restgen's engine, dlt included, creates about 80,000 objects that the collector
tracks. With the collector on, Python scans them while they are created, and every later full
collection scans them again. Both cost about 0.1 s of a run that loads 50,000 rows in just
over a second (measured with dlt 1.31 on Python 3.11). The command therefore imports its
engine with the collector off, then freezes what the imports made, so that collections
during the run only scan objects the run created.

The settings apply only when ``console_main`` claims the process. A program or a test that
calls ``restgen.cli.main`` keeps its own collector as it is.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_claimed = False


def claim_process() -> None:
    """Let the restgen command tune the collector of this process."""
    global _claimed
    _claimed = True


@contextmanager
def importing_engine() -> Iterator[None]:
    """Run the imports in the block with the collector off, then freeze what they created."""
    if not _claimed or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def freeze_before_exit() -> None:
    """Freeze every object, so that interpreter shutdown does not scan them before the process ends."""
    if _claimed:
        gc.freeze()
