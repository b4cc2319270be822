"""Where the aiospaces client spends its CPU in the bulk scenario: `python -m benchmarks.profile`.

Runs the full-size bulk workload of aiospaces once (the simulated Hub in its own process, as in the
benchmark) under a sampling profiler: every millisecond of this process's CPU time (`SIGPROF`), the current
Python stack is sampled. Sampling, unlike `cProfile`, does not inflate code making many small calls, so the
shares are fair. Writes `results/profile-bulk-aiospaces.json`: for each package, the share of samples whose
innermost frame is in it ("self") and whose stack passes through it ("inclusive"), and the top functions.
The README's explanation of the CPU figures quotes this file.
"""

from __future__ import annotations

import datetime
import json
import signal
import sys
import tempfile
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

from . import bulk
from ._common import seed_running
from ._measure import cpu_seconds
from ._procs import HubProcess
from ._report import RESULTS_DIR, machine

INTERVAL_S = 0.001
# httpcore 1.0's pool bookkeeping, run each time a request is queued or released: it scans every pooled
# connection (twice nested) and probes each idle one's socket (`has_expired`).
POOL_FUNCTION = "_assign_requests_to_connections"
PACKAGES = ("aiospaces", "httpx", "httpcore", "h11", "anyio", "asyncio", "json", "attrs", "ssl", "socket")


def package_of(filename: str) -> str:
    """A short package name for a code file: the first known package in its path, else `other`."""
    parts = Path(filename).parts
    for part in reversed(parts):
        name = part.removesuffix(".py")
        if name in PACKAGES:
            return name
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1]
    return "python-stdlib" if "lib" in parts else "other"


class Sampler:
    """Counts the Python stack of the main thread on every `SIGPROF` (CPU-time timer)."""

    def __init__(self) -> None:
        self.samples = 0
        self.self_by_package: Counter[str] = Counter()
        self.inclusive_by_package: Counter[str] = Counter()
        self.self_by_function: Counter[str] = Counter()
        self.under_pool = 0

    def handler(self, signum: int, frame: FrameType | None) -> None:
        if frame is None:
            return
        self.samples += 1
        code = frame.f_code
        self.self_by_package[package_of(code.co_filename)] += 1
        self.self_by_function[f"{package_of(code.co_filename)}:{code.co_name}"] += 1
        seen = set()
        under_pool = False
        walker: FrameType | None = frame
        while walker is not None:
            seen.add(package_of(walker.f_code.co_filename))
            under_pool = under_pool or walker.f_code.co_name == POOL_FUNCTION
            walker = walker.f_back
        self.inclusive_by_package.update(seen)
        self.under_pool += under_pool


def main() -> int:
    params = bulk.params_for(quick="--quick" in sys.argv[1:])
    sampler = Sampler()
    with (
        tempfile.TemporaryDirectory(prefix="aiospaces-profile-") as tmp,
        HubProcess.start(Path(tmp), latency_s=params["latency_s"], owner="bench") as hub,
    ):
        ids = seed_running(hub, "bulk", int(params["spaces"]))
        spec = {"ids": ids, "params": params, "token": hub.token, "url": hub.url, "backend": "asyncio"}
        signal.signal(signal.SIGPROF, sampler.handler)
        cpu0 = cpu_seconds()
        signal.setitimer(signal.ITIMER_PROF, INTERVAL_S, INTERVAL_S)
        try:
            result = bulk.run_aiospaces(spec, lambda message: None)
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0, 0)
        cpu = cpu_seconds() - cpu0
    n = max(sampler.samples, 1)

    def shares(counter: Counter[str], top: int) -> dict[str, float]:
        return {key: round(count / n, 3) for key, count in counter.most_common(top)}

    payload: dict[str, Any] = {
        "what": "aiospaces bulk workload under a 1 ms CPU-time sampling profiler (one run)",
        "command": "python -m benchmarks.profile" + (" --quick" if "--quick" in sys.argv[1:] else ""),
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "params": params,
        "machine": machine(),
        "calls_ok": result["calls_ok"],
        "wall_s": round(result["wall_s"], 3),
        "cpu_s": round(cpu, 3),
        "samples": sampler.samples,
        "httpcore_pool_inclusive_share": round(sampler.under_pool / n, 3),
        "self_share_by_package": shares(sampler.self_by_package, 15),
        "inclusive_share_by_package": shares(sampler.inclusive_by_package, 15),
        "self_share_by_function": shares(sampler.self_by_function, 25),
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / "profile-bulk-aiospaces.json"
    path.write_text(json.dumps(payload, indent=1) + "\n")
    print(json.dumps({k: payload[k] for k in ("cpu_s", "samples", "inclusive_share_by_package")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
