"""Measurement helpers: wall time, CPU seconds, resident memory, and the summary statistics we report.

Every figure is measured inside the process that runs the client (a fresh subprocess per run, see
`_procs.py`), so the simulated Hub's own CPU and memory, which live in another process, never leak into it.
"""

from __future__ import annotations

import math
import os
import resource
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import attrs

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def current_rss_bytes() -> int:
    """Resident set size of this process right now, from `/proc/self/statm` (Linux).

    Falls back to the peak (`ru_maxrss`) where `/proc` is unavailable, which over-reports but never
    under-reports.
    """
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return peak_rss_bytes()


def peak_rss_bytes() -> int:
    """Peak resident set size of this process since it started (`ru_maxrss`, KiB on Linux)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def cpu_seconds() -> float:
    """User + system CPU seconds of this whole process, all threads included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return float(usage.ru_utime + usage.ru_stime)


def cpu_wait_seconds() -> float:
    """Seconds this process's threads have spent ready to run but waiting for a CPU, summed over its threads
    (`/proc/<tid>/schedstat`, Linux); NaN where the kernel does not say.

    On a shared machine this is the time other work took from the client: a thread that is always busy (an
    event loop) waits behind threads that mostly sleep on sockets (a thread pool)."""
    total = 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return math.nan
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/schedstat", encoding="ascii") as stat:
                total += int(stat.read().split()[1])
        except (OSError, ValueError, IndexError):
            continue  # a thread that ended meanwhile
    return total / 1e9


@attrs.define
class Span:
    """Wall and CPU time spent inside one `measure()` block, and the time its threads waited for a CPU."""

    wall_s: float = 0.0
    cpu_s: float = 0.0
    cpu_wait_s: float = 0.0


@contextmanager
def measure() -> Iterator[Span]:
    """Measure the wall-clock and process CPU time of the block; the span is filled in on exit."""
    span = Span()
    wall0, cpu0, wait0 = time.perf_counter(), cpu_seconds(), cpu_wait_seconds()
    try:
        yield span
    finally:
        span.wall_s = time.perf_counter() - wall0
        span.cpu_s = cpu_seconds() - cpu0
        # Threads that ended inside the block take their waits with them: a lower bound for a thread pool.
        span.cpu_wait_s = cpu_wait_seconds() - wait0


def median(values: Sequence[float]) -> float:
    """The median; NaN for an empty sequence (so a missing figure is visible, never a fake zero)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[mid])
    return (ordered[mid - 1] + ordered[mid]) / 2.0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks; NaN when empty."""
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within [0, 100], got {q!r}")
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN when the denominator is zero or either side is NaN."""
    if denominator == 0 or math.isnan(numerator) or math.isnan(denominator):
        return math.nan
    return numerator / denominator


def mib(n_bytes: float) -> float:
    """Bytes to MiB."""
    return n_bytes / (1024 * 1024)
