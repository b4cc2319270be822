"""`python -m benchmarks [--quick] [--repetitions N] [scenario ...]`: aiospaces against huggingface_hub.

Scenarios: bulk, watch, ratelimited, scale (all by default). Each run starts the simulated Hub in its own
process on 127.0.0.1 and each client run in a fresh process; clients alternate (ABBA) over repetitions.

`--quick` runs every scenario small, once per client, in seconds, and only checks correctness (every operation
applied, the counters add up): this is what CI runs. It writes nothing into the repository unless `--output`
is given. A full run writes `benchmarks/results/<scenario>.json` and regenerates the tables of
`benchmarks/README.md`; `--report` regenerates the tables from the committed JSON alone.

Exit status: 0 when every correctness check of every run passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import bulk, ratelimited, scale, watch
from ._common import RunContext, all_checks_passed
from ._report import (
    RESULTS_DIR,
    load_results,
    machine,
    render_findings,
    render_tables,
    update_readme,
    write_result,
)

SCENARIOS: dict[str, Callable[[RunContext], dict[str, Any]]] = {
    "bulk": bulk.run,
    "watch": watch.run,
    "ratelimited": ratelimited.run,
    "scale": scale.run,
}
# Full-run repetitions per client, chosen so a whole run fits in about 15 minutes on 2 cores: bulk runs take
# seconds, watch and rate-limited runs about a minute each (their durations are set by simulated time and by
# the rate-limit window), scale runs once.
FULL_REPETITIONS = {"bulk": 5, "watch": 3, "ratelimited": 3, "scale": 1}


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "scenarios", nargs="*", metavar="scenario", help=f"one of {', '.join(SCENARIOS)} (default: all)"
    )
    parser.add_argument("--quick", action="store_true", help="small, fast, correctness-only smoke run")
    parser.add_argument(
        "--repetitions", type=int, default=None, help="repetitions per client (overrides defaults)"
    )
    parser.add_argument(
        "--backend", choices=["asyncio", "trio"], default="asyncio", help="event loop for aiospaces"
    )
    parser.add_argument("--output", type=Path, default=None, help="directory for results JSON")
    parser.add_argument(
        "--no-readme", action="store_true", help="do not regenerate benchmarks/README.md tables"
    )
    parser.add_argument(
        "--report", action="store_true", help="only regenerate README tables from results JSON"
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.scenarios if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; choose from {list(SCENARIOS)}")
    if args.repetitions is not None and args.repetitions < 1:
        parser.error("--repetitions must be at least 1")

    if args.report:
        stored = load_results(args.output or RESULTS_DIR)
        if not update_readme(stored):
            _log("benchmarks/README.md has no results markers")
            return 1
        print(render_tables(stored))
        print(render_findings(stored))
        return 0

    names = args.scenarios or list(SCENARIOS)
    command = "python -m benchmarks " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )
    output = args.output if args.output is not None else (None if args.quick else RESULTS_DIR)
    ok = True
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="aiospaces-bench-") as tmp:
        for name in names:
            repetitions = args.repetitions or (1 if args.quick else FULL_REPETITIONS[name])
            ctx = RunContext(
                workdir=Path(tmp), repetitions=repetitions, quick=args.quick, log=_log, backend=args.backend
            )
            _log(f"{name}: {repetitions} repetition(s) per client{' (quick)' if args.quick else ''}")
            started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
            info = machine()  # before the run: the load average says what else the machine was doing
            t0 = time.perf_counter()
            outcome = SCENARIOS[name](ctx)
            passed = all_checks_passed(outcome["runs"])
            ok = ok and passed
            results[name] = {
                "scenario": name,
                "command": command.strip(),
                "quick": args.quick,
                "started_at": started,
                "duration_s": round(time.perf_counter() - t0, 1),
                "repetitions": repetitions,
                "aiospaces_backend": args.backend,
                "machine": info,
                "checks_passed": passed,
                **outcome,
            }
            if output is not None:
                write_result(output, name, results[name])
            _log(f"{name}: {'all checks passed' if passed else 'SOME CHECKS FAILED'}")
    print(render_tables(results))
    if output == RESULTS_DIR and not args.no_readme:
        update_readme(load_results(RESULTS_DIR))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
