"""Request counters shared by the threads of one run."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol


class StatsSink(Protocol):
    """Any object with integer ``requests`` and ``retries`` attributes."""

    requests: int
    retries: int


@dataclass
class RequestStats:
    """Counts of HTTP attempts (``requests``) and of retries among them.

    ``increment`` is thread-safe. Plain ``+=`` on the fields is not.
    """

    requests: int = 0
    retries: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def increment(self, name: str) -> None:
        """Add one to the counter ``name`` (``"requests"`` or ``"retries"``)."""
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)
