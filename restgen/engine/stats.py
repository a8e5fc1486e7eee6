"""Counters of one endpoint's run, shown in the summary table."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass
class EndpointStats:
    """Rows, pages, HTTP attempts, retries and responses skipped by a rule of one endpoint, and its busy time."""

    endpoint: str
    table: str
    rows: int = 0
    pages: int = 0
    requests: int = 0
    retries: int = 0
    skipped: int = 0
    started: float | None = None
    finished: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def increment(self, name: str, amount: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def start(self) -> None:
        with self._lock:
            if self.started is None:
                self.started = time.monotonic()

    def finish(self) -> None:
        with self._lock:
            self.finished = time.monotonic()

    @property
    def seconds(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.monotonic()) - self.started
