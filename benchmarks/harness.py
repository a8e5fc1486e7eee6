"""Run one contender process and record its wall time, CPU time and peak RSS."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Lines of a failed child's standard error shown in the harness output.
STDERR_TAIL_LINES = 15


@dataclass
class Sample:
    """One run of one contender."""

    wall: float
    cpu: float
    peak_rss_mb: float
    exit_code: int
    output: dict[str, Any]
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Contender:
    """One row of the results table: a command and the rows it must load.

    ``key`` names the contender within its workload and size (``restgen``, ``dlt``, ``floor``,
    ...) for the ratios and targets; ``label`` is what the table shows.
    ``argv`` receives the run's empty working folder. ``expected_rows`` maps each table to its
    row count, or is None for commands that load nothing (validate). ``after`` runs in the
    harness right after the process ends, for figures the server collected. ``count``, when
    set, is a second command run in the same folder outside the measured time, and its standard
    output replaces the first command's. The ``restgen run`` command prints a table for people,
    so its rows are counted that way.
    """

    workload: str
    size: str
    key: str
    label: str
    argv: Callable[[Path], list[str]]
    expected_rows: dict[str, int] | None
    before: Callable[[], None] | None = None
    after: Callable[[], dict[str, Any]] | None = None
    count: Callable[[Path], list[str]] | None = None
    skipped: str = ""
    samples: list[Sample] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum((self.expected_rows or {}).values())

    @property
    def ok_samples(self) -> list[Sample]:
        return [sample for sample in self.samples if not sample.error]

    @property
    def failed(self) -> bool:
        return any(sample.error for sample in self.samples)

    def median(self, name: str) -> float | None:
        values = [getattr(sample, name) for sample in self.ok_samples]
        return statistics.median(values) if values else None

    def median_step(self, name: str) -> float | None:
        """Return the median seconds of one step that the contender reported in its output."""
        values = [sample.output["steps"][name] for sample in self.ok_samples if name in sample.output.get("steps", {})]
        return statistics.median(values) if values else None

    def median_extra(self, name: str) -> float | None:
        values = [sample.extra[name] for sample in self.ok_samples if sample.extra.get(name) is not None]
        return statistics.median(values) if values else None


def resident_mb() -> float:
    """Return this process's peak resident set size in MB (``VmHWM``), or 0 where unknown."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def child_environment() -> dict[str, str]:
    """Return the environment of contender processes: dlt telemetry off, logs at WARNING."""
    env = dict(os.environ)
    env["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    env["RUNTIME__LOG_LEVEL"] = "WARNING"
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def run_once(contender: Contender, timeout: float) -> Sample:
    """Run the contender's command once in a fresh folder and measure it.

    Peak RSS comes from ``os.wait4``'s rusage (``ru_maxrss``, KiB on Linux). A process still
    running after ``timeout`` seconds is killed and the sample is a failure.
    """
    folder = Path(tempfile.mkdtemp(prefix="restgen-bench-"))
    try:
        argv = contender.argv(folder)
        if contender.before is not None:
            contender.before()
        with open(folder / "stdout.txt", "wb") as stdout, open(folder / "stderr.txt", "wb") as stderr:
            started = time.perf_counter()
            process = subprocess.Popen(argv, cwd=folder, stdout=stdout, stderr=stderr, env=child_environment())
            timer = threading.Timer(timeout, process.kill)
            timer.start()
            try:
                _, status, usage = os.wait4(process.pid, 0)
            except BaseException:
                # Interrupted (Ctrl-C): end the child instead of leaving it running.
                process.kill()
                process.wait()
                raise
            finally:
                timer.cancel()
            wall = time.perf_counter() - started
        exit_code = os.waitstatus_to_exitcode(status)
        process.returncode = exit_code
        extra = contender.after() if contender.after is not None else {}
        output_text = (folder / "stdout.txt").read_text(encoding="utf-8", errors="replace")
        error_text = (folder / "stderr.txt").read_text(encoding="utf-8", errors="replace")
        if contender.count is not None and exit_code == 0:
            counted = subprocess.run(contender.count(folder), cwd=folder, capture_output=True, text=True, env=child_environment(), timeout=timeout)
            output_text, error_text = counted.stdout, error_text + counted.stderr
        output = _last_json_line(output_text)
        error = _check(contender, exit_code, output, error_text, wall, timeout)
        return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, exit_code, output, error, extra)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _last_json_line(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                return {}
            return value if isinstance(value, dict) else {}
    return {}


def _check(contender: Contender, exit_code: int, output: dict[str, Any], stderr: str, wall: float, timeout: float) -> str:
    """Return why the sample failed, or an empty string."""
    tail = "\n".join(stderr.strip().splitlines()[-STDERR_TAIL_LINES:])
    if exit_code != 0:
        reason = f"killed after the {timeout:.0f} s timeout" if wall >= timeout else f"exit code {exit_code}"
        return f"{reason}\n{tail}"
    if contender.expected_rows is not None and output.get("tables") != contender.expected_rows:
        return f"loaded {output.get('tables')}, expected {contender.expected_rows}"
    return ""


def run_rounds(contenders: Sequence[Contender], repeat: int, timeout: float, log: Callable[[str], None]) -> None:
    """Run every contender ``repeat`` times, one round of all contenders after another.

    Interleaving the rounds spreads slow phases of a shared machine over all contenders
    instead of charging them to whichever ran at that moment.
    """
    for round_number in range(1, repeat + 1):
        for contender in contenders:
            if contender.skipped:
                continue
            sample = run_once(contender, timeout)
            contender.samples.append(sample)
            status = "FAILED: " + sample.error if sample.error else f"{sample.wall:.2f} s, {sample.peak_rss_mb:.0f} MB"
            if sample.extra and not sample.error:
                status += ", server: " + ", ".join(f"{name} {value:.3g}" for name, value in sample.extra.items() if value is not None)
            log(f"  [{round_number}/{repeat}] {contender.workload} {contender.size} {contender.label}: {status}")
