"""`python -m benchmarks [--quick] [--repetitions N] [--widths 32,128,512] [scenario ...]`: aiospaces against
huggingface_hub.

Scenarios: bulk, watch, ratelimited, scale, watch_writes (all by default). Each run starts the simulated Hub
in its own process on 127.0.0.1 and each client run in a fresh process; clients alternate (ABBA) over
repetitions, and the bulk scenario sweeps the width (32, 128, 512), both clients at every width, within the
one run.

`--busy N` keeps N other processes spinning on the CPU for the whole run (a busy shared machine,
reproduced). The README tables show aiospaces on asyncio on a quiet machine: a busy run, or one with
`--backend trio`, writes its results apart, under `benchmarks/results/busy/`, `trio/` or `trio-busy/` (or
`--output`), and leaves the tables alone.

`--quick` runs every scenario small, once per client, in seconds, and only checks correctness (every operation
applied, the counters add up): this is what CI runs; it needs neither matplotlib nor any file in the
repository. It writes nothing into the repository unless `--output` is given. A full run writes
`benchmarks/results/<scenario>.json`, draws `benchmarks/results/bulk.png` from the bulk JSON (matplotlib, the
`bench` extra) and regenerates the tables of `benchmarks/README.md`; `--report` regenerates the tables and the
plot from the committed JSON alone.

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

from . import bulk, ratelimited, scale, watch, watch_writes
from ._common import RunContext, all_checks_passed
from ._procs import busy_cores
from ._report import (
    RESULTS_DIR,
    load_results,
    machine,
    render_findings,
    render_tables,
    update_overview,
    update_readme,
    write_result,
)

SCENARIOS: dict[str, Callable[[RunContext], dict[str, Any]]] = {
    "bulk": bulk.run,
    "watch": watch.run,
    "ratelimited": ratelimited.run,
    "scale": scale.run,
    "watch_writes": watch_writes.run,
}
# Full-run repetitions per client (bulk: at each width), chosen so a whole run fits in about 20 minutes on 2
# cores: bulk runs take seconds, watch and rate-limited runs about a minute each (their durations are set by
# simulated time and by the rate-limit window), scale runs once, watch_writes (two points of about two
# minutes each, set by its 30-second windows) once.
FULL_REPETITIONS = {"bulk": 5, "watch": 3, "ratelimited": 3, "scale": 1, "watch_writes": 1}


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
    parser.add_argument(
        "--widths",
        type=_widths,
        default=None,
        help="bulk sweep widths, comma-separated (default: 32,128,512; quick: 4,16)",
    )
    parser.add_argument(
        "--busy",
        type=int,
        default=0,
        metavar="N",
        help="keep N processes spinning on the CPU during the run (results: benchmarks/results/busy/)",
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
    if args.busy < 0:
        parser.error("--busy must be 0 or more")

    if args.report:
        directory = args.output or RESULTS_DIR
        stored = load_results(directory)
        if not update_readme(stored) or not update_overview(stored):
            _log("benchmarks/README.md or README.md has no results markers")
            return 1
        print(render_tables(stored))
        print(render_findings(stored))
        return 0 if _plot(directory) and _plot_watch(directory) else 1

    names = args.scenarios or list(SCENARIOS)
    command = "python -m benchmarks " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )
    output = args.output if args.output is not None else (None if args.quick else RESULTS_DIR)
    # The tables show aiospaces on asyncio on a quiet machine; other runs are kept beside them, apart.
    apart = "-".join(([args.backend] if args.backend != "asyncio" else []) + (["busy"] if args.busy else []))
    if output == RESULTS_DIR and apart:
        output = RESULTS_DIR / apart
    ok = True
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="aiospaces-bench-") as tmp, busy_cores(args.busy):
        for name in names:
            repetitions = args.repetitions or (1 if args.quick else FULL_REPETITIONS[name])
            ctx = RunContext(
                workdir=Path(tmp),
                repetitions=repetitions,
                quick=args.quick,
                log=_log,
                backend=args.backend,
                widths=args.widths,
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
                "busy_processes": args.busy,
                "machine": info,
                "checks_passed": passed,
                **outcome,
            }
            if output is not None:
                write_result(output, name, results[name])
            _log(f"{name}: {'all checks passed' if passed else 'SOME CHECKS FAILED'}")
    print(render_tables(results))
    if output is not None and "bulk" in results and not args.quick:
        ok = _plot(output) and ok
    if output is not None and "watch" in results and not args.quick:
        ok = _plot_watch(output) and ok
    if output == RESULTS_DIR and not args.no_readme:
        stored = load_results(RESULTS_DIR)
        update_readme(stored)
        update_overview(stored)
    return 0 if ok else 1


def _widths(text: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"widths must be at least 1, got {text!r}")
    return widths


def _plot(directory: Path) -> bool:
    """Draw `bulk.png` from `bulk.json` in `directory`; False (with the reason logged) when it cannot."""
    if not (directory / "bulk.json").exists():
        return True
    try:
        from .plot import plot_bulk
    except ImportError as exc:  # matplotlib is in the `bench` extra only
        _log(
            f"bulk.png NOT regenerated ({exc}): pip install -e '.[bench]', then python -m benchmarks --report"
        )
        return False
    path = plot_bulk(directory / "bulk.json", directory / "bulk.png")
    _log(f"wrote {path}")
    return True


def _plot_watch(directory: Path) -> bool:
    """Draw the watch plots from `watch.json` in `directory`; False (the reason logged) when it cannot."""
    if not (directory / "watch.json").exists():
        return True
    try:
        from .plot_watch import plot_watch
    except ImportError as exc:  # matplotlib is in the `bench` extra only
        _log(f"watch plots NOT regenerated ({exc}): pip install -e '.[bench]', then --report")
        return False
    try:
        paths = plot_watch(directory / "watch.json", directory)
    except ValueError as exc:  # results from before the per-Space lags were kept
        _log(f"watch plots NOT regenerated: {exc}")
        return False
    for path in paths:
        _log(f"wrote {path}")
    return True


if __name__ == "__main__":
    sys.exit(main())
