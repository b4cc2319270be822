"""One client run in its own process: `python -m benchmarks._worker` (driven by `_procs.run_worker`).

Reads the run's spec (one JSON line), imports the client library under test (only that one, so the memory
figures are that library's), reports its resident memory after imports and says it is ready; on "go" it runs
the scenario's workload for that client and writes `{"result": {...}}`.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from typing import Any

from ._measure import current_rss_bytes, peak_rss_bytes


def emit(message: dict[str, Any]) -> None:
    """Write one protocol line to the runner."""
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main() -> int:
    spec: dict[str, Any] = json.loads(sys.stdin.readline())
    try:
        client = spec["client"]
        # Import the library under test before the baseline memory reading, so "after imports" is fair.
        importlib.import_module("aiospaces" if client == "aiospaces" else "huggingface_hub")
        scenario = importlib.import_module(f"benchmarks.{spec['scenario']}")
        rss_after_imports = current_rss_bytes()
        emit({"ready": True})
        spec.update(json.loads(sys.stdin.readline()))
        workload = scenario.run_aiospaces if client == "aiospaces" else scenario.run_huggingface_hub
        result: dict[str, Any] = workload(spec, emit)
        result["rss_after_imports_bytes"] = rss_after_imports
        # ru_maxrss is the kernel's high-water mark, which can lag a sample taken moments earlier.
        result["peak_rss_bytes"] = max(
            peak_rss_bytes(), current_rss_bytes(), int(result.get("rss_steady_bytes", 0))
        )
    except Exception as exc:  # report any failure to the runner, with the traceback on stderr
        traceback.print_exc()
        emit({"error": f"{type(exc).__name__}: {exc}"})
        return 1
    emit({"result": result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
