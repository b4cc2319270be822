"""Where the aiospaces client spends its CPU in the bulk scenario: `python -m benchmarks.profile`.

Runs the full-size bulk workload of aiospaces once under `cProfile` (the simulated Hub in its own process, as
in the benchmark) and writes `results/profile-bulk-aiospaces.json`: the top functions by own time, and the
share of the profiled time spent under httpcore's connection-pool bookkeeping. The README's explanation of
the CPU figures quotes this file. Profiling inflates Python-level costs, so use the shares, not the seconds.
"""

from __future__ import annotations

import cProfile
import datetime
import json
import pstats
import sys
import tempfile
from pathlib import Path
from typing import Any

from . import bulk
from ._common import seed_running
from ._procs import HubProcess
from ._report import RESULTS_DIR, machine

POOL_FUNCTION = "_assign_requests_to_connections"


def main() -> int:
    params = bulk.params_for(quick="--quick" in sys.argv[1:])
    with (
        tempfile.TemporaryDirectory(prefix="aiospaces-profile-") as tmp,
        HubProcess.start(Path(tmp), latency_s=params["latency_s"], owner="bench") as hub,
    ):
        ids = seed_running(hub, "bulk", int(params["spaces"]))
        spec = {"ids": ids, "params": params, "token": hub.token, "url": hub.url}
        profiler = cProfile.Profile()
        profiler.enable()
        result = bulk.run_aiospaces(spec, lambda message: None)
        profiler.disable()
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())  # total own time
    rows = []
    for (filename, line, function), (_cc, calls, own, cumulative, _callers) in raw.items():
        rows.append(
            {
                "function": f"{Path(filename).parent.name}/{Path(filename).name}:{line}({function})",
                "calls": calls,
                "own_s": round(own, 3),
                "cumulative_s": round(cumulative, 3),
            }
        )
    rows.sort(key=lambda row: row["own_s"], reverse=True)
    pool = max((entry[3] for key, entry in raw.items() if key[2] == POOL_FUNCTION), default=0.0)
    payload = {
        "what": "aiospaces bulk workload under cProfile (one run)",
        "command": "python -m benchmarks.profile" + (" --quick" if "--quick" in sys.argv[1:] else ""),
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "params": params,
        "machine": machine(),
        "calls_ok": result["calls_ok"],
        "profiled_total_s": round(total, 3),
        "httpcore_pool_assign_cumulative_s": round(pool, 3),
        "httpcore_pool_assign_share": round(pool / total, 3) if total else None,
        "top_by_own_time": rows[:20],
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / "profile-bulk-aiospaces.json"
    path.write_text(json.dumps(payload, indent=1) + "\n")
    print(f"{path}: httpcore pool bookkeeping {payload['httpcore_pool_assign_share']} of profiled time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
