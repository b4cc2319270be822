"""Where the aiospaces client spends its CPU in the bulk scenario: `python -m benchmarks.profile [--width N]
[--quick]`.

Runs the full-size bulk workload of aiospaces once at one width (default 32; the simulated Hub in its own
process, as in the benchmark) under a sampling profiler: every millisecond of this process's CPU time
(`SIGPROF`), the current Python stack is sampled. Sampling, unlike `cProfile`, does not inflate code making
many small calls, so the shares are fair. Each sample is put in one of three places:

- **HTTP stack**: under aiospaces' call into httpx2 (httpx2, httpcore2, h11 and the socket layer below,
  aiospaces' `_netio` and `_netio_trio` included);
- **event loop**: no aiospaces frame on the stack (asyncio's I/O callbacks, task scheduling, `select`);
- **aiospaces' own work**: anything else, i.e. aiospaces' code and what it calls besides httpx2 (validation,
  request building, headers, rate-limit bookkeeping, concurrency limiters, fleet scheduling, parsing),
  also listed by the aiospaces line it was on.

Writes `results/profile-bulk-aiospaces.json`, which the findings of `benchmarks/README.md` quote.
"""

from __future__ import annotations

import argparse
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
PACKAGES = (
    "aiospaces",
    "httpx2",
    "httpcore2",
    "h11",
    "anyio",
    "asyncio",
    "json",
    "attrs",
    "ssl",
    "socket",
    "logging",
)
HTTP_STACK = frozenset({"httpx2", "httpcore2", "h11", "netio"})


def package_of(filename: str) -> str:
    """A short package name for a code file: the first known package in its path, else `other`. aiospaces'
    socket layer under httpcore2 counts as part of the HTTP stack."""
    parts = Path(filename).parts
    if parts[-2:] in (("aiospaces", "_netio.py"), ("aiospaces", "_netio_trio.py")):
        return "netio"
    for part in reversed(parts):
        name = part.removesuffix(".py")
        if name in PACKAGES:
            return name
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1]
    return "python-stdlib" if "lib" in parts else "other"


def _is_sdk(filename: str) -> bool:
    """aiospaces' client code (the simulated Hub runs in another process, but never count it)."""
    return package_of(filename) == "aiospaces" and "hubsim" not in filename


class Sampler:
    """Classifies the Python stack of the main thread on every `SIGPROF` (CPU-time timer)."""

    def __init__(self) -> None:
        self.samples = 0
        self.where: Counter[str] = Counter()
        self.own_by_line: Counter[str] = Counter()
        self.self_by_package: Counter[str] = Counter()
        self.inclusive_by_package: Counter[str] = Counter()
        self.self_by_function: Counter[str] = Counter()

    def handler(self, signum: int, frame: FrameType | None) -> None:
        if frame is None:
            return
        self.samples += 1
        code = frame.f_code
        self.self_by_package[package_of(code.co_filename)] += 1
        self.self_by_function[f"{package_of(code.co_filename)}:{code.co_name}"] += 1
        seen = set()
        callee: FrameType | None = None  # the frame just inside the innermost aiospaces frame
        sdk: FrameType | None = None
        walker: FrameType | None = frame
        while walker is not None:
            seen.add(package_of(walker.f_code.co_filename))
            if sdk is None:
                if _is_sdk(walker.f_code.co_filename):
                    sdk = walker
                else:
                    callee = walker
            walker = walker.f_back
        self.inclusive_by_package.update(seen)
        if sdk is None:
            self.where["event_loop"] += 1
            return
        into = package_of(callee.f_code.co_filename) if callee is not None else None
        if into in HTTP_STACK:
            self.where["http_stack"] += 1
            return
        self.where["aiospaces_own"] += 1
        line = f"{Path(sdk.f_code.co_filename).name}:{sdk.f_lineno} {sdk.f_code.co_name}"
        if callee is not None:
            line += f" → {into}:{callee.f_code.co_name}"
        self.own_by_line[line] += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.profile", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--width", type=int, default=None, help="the width to profile (default: 32)")
    parser.add_argument("--quick", action="store_true", help="the quick bulk size (a smoke test)")
    args = parser.parse_args(argv)
    params = bulk.params_for(quick=args.quick)
    if args.width is not None:
        params["concurrency"] = args.width
    import aiospaces  # noqa: F401  (imported before sampling starts: import time is not per-request work)

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

    command = "python -m benchmarks.profile" + "".join(f" {a}" for a in (argv or sys.argv[1:]))
    payload: dict[str, Any] = {
        "what": "aiospaces bulk workload under a 1 ms CPU-time sampling profiler (one run)",
        "command": command,
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "params": params,
        "machine": machine(),
        "calls_ok": result["calls_ok"],
        "wall_s": round(result["wall_s"], 3),
        "cpu_s": round(cpu, 3),
        "samples": sampler.samples,
        "where": {
            key: round(sampler.where[key] / n, 3) for key in ("http_stack", "event_loop", "aiospaces_own")
        },
        "aiospaces_own_by_line": shares(sampler.own_by_line, 20),
        "self_share_by_package": shares(sampler.self_by_package, 15),
        "inclusive_share_by_package": shares(sampler.inclusive_by_package, 15),
        "self_share_by_function": shares(sampler.self_by_function, 25),
    }
    if not args.quick:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        (RESULTS_DIR / "profile-bulk-aiospaces.json").write_text(json.dumps(payload, indent=1) + "\n")
    print(
        json.dumps({k: payload[k] for k in ("cpu_s", "samples", "where", "aiospaces_own_by_line")}, indent=1)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
