"""What every scenario shares: the run loop (fresh Hub and fresh client process per run, alternating clients),
counter deltas, correctness checks, and per-scenario summaries.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs

from ._measure import median, ratio
from ._procs import HubProcess, run_worker

CLIENTS = ("aiospaces", "huggingface_hub")

TOKEN = "hf_bench_token_not_a_secret"
OWNER = "bench"


def space_ids(prefix: str, count: int) -> list[str]:
    """`count` Space ids of the benchmark user, e.g. `bench/bulk-00042`."""
    return [f"{OWNER}/{prefix}-{i:05d}" for i in range(count)]


def seed_running(hub: HubProcess, prefix: str, count: int) -> list[str]:
    """Create `count` running Spaces directly in the Hub (no HTTP); return their ids."""
    ids = space_ids(prefix, count)
    for start in range(0, count, 1000):  # in chunks, to keep each control message small
        hub.call("seed", ids=ids[start : start + 1000])
    return ids


@attrs.define
class RunContext:
    """Where a run keeps its scratch files, and how many repetitions it makes."""

    workdir: Path
    repetitions: int
    quick: bool
    log: Callable[[str], None]
    backend: str = "asyncio"  # the event loop aiospaces runs on: "asyncio" or "trio"
    widths: tuple[int, ...] | None = None  # the bulk sweep's widths (None: the scenario's own)


class ScenarioHooks(Protocol):
    """What a scenario module plugs into `run_alternating`."""

    def prepare(self, hub: HubProcess, params: Mapping[str, Any]) -> dict[str, Any]:
        """Seed the fresh Hub; return the state the run needs (at least `ids`)."""
        ...

    def go(self, hub: HubProcess, params: Mapping[str, Any], state: dict[str, Any]) -> dict[str, Any]:
        """Called once the worker has imported its client: start what is timed; return the go payload."""
        ...

    def finish(
        self,
        hub: HubProcess,
        params: Mapping[str, Any],
        state: dict[str, Any],
        client: str,
        result: dict[str, Any],
        seen: dict[str, Any],
    ) -> dict[str, Any]:
        """Turn one worker result plus the Hub's counter deltas into a run record with `checks`."""
        ...


def counter_delta(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """after - before for the Hub's counters (`requests`, `status_429`, `by_route`); `max_in_flight` as is."""
    by_route_before = before.get("by_route", {})
    by_route = {
        route: count - by_route_before.get(route, 0)
        for route, count in after.get("by_route", {}).items()
        if count - by_route_before.get(route, 0)
    }
    return {
        "requests": after["requests"] - before["requests"],
        "status_429": after["status_429"] - before["status_429"],
        "by_route": dict(sorted(by_route.items())),
        "max_in_flight": after.get("max_in_flight"),
        "hub_cpu_s": after.get("cpu_s", 0.0) - before.get("cpu_s", 0.0),
        "server_errors": after.get("server_errors", 0) - before.get("server_errors", 0),
        "unknown_routes": _new_items(before.get("unknown_routes", []), after.get("unknown_routes", [])),
    }


def _new_items(before: list[str], after: list[str]) -> list[str]:
    return [item for item in after if item not in before]


def check(checks: list[dict[str, Any]], name: str, passed: bool, detail: str = "") -> None:
    """Record one correctness check (never a timing check)."""
    checks.append({"check": name, "passed": bool(passed), "detail": detail})


def run_alternating(
    scenario: str,
    hooks: ScenarioHooks,
    params: Mapping[str, Any],
    hub_config: Mapping[str, Any],
    ctx: RunContext,
    clients: tuple[str, ...] = CLIENTS,
    on_event: Callable[[HubProcess, dict[str, Any], dict[str, Any]], None] | None = None,
    points: Sequence[Mapping[str, Any]] = ({},),
) -> list[dict[str, Any]]:
    """Run `repetitions` rounds, alternating which client goes first (ABBA), each run on a fresh Hub process.

    A fresh Hub per run means no run inherits another's Spaces, secrets or rate-limit window, and its counters
    start from zero; a fresh client process per run keeps memory and CPU figures to that run alone.

    `points` sweeps a parameter within the one run (e.g. `[{"concurrency": 32}, {"concurrency": 128}]`):
    each round visits every point, both clients back to back at each, the first client flipping from one
    point to the next and from one round to the next, so a slow spell of the shared machine hits both
    clients at the same point. Each point's keys override `params` and are copied into its run records.
    """
    runs: list[dict[str, Any]] = []
    for rep in range(ctx.repetitions):
        for index, point in enumerate(points):
            order = clients if (rep + index) % 2 == 0 else tuple(reversed(clients))
            for client in order:
                runs.append(
                    _run_one(
                        scenario, hooks, {**params, **point}, point, hub_config, ctx, client, rep, on_event
                    )
                )
    return runs


def _run_one(
    scenario: str,
    hooks: ScenarioHooks,
    params: Mapping[str, Any],
    point: Mapping[str, Any],
    hub_config: Mapping[str, Any],
    ctx: RunContext,
    client: str,
    rep: int,
    on_event: Callable[[HubProcess, dict[str, Any], dict[str, Any]], None] | None,
) -> dict[str, Any]:
    """One client's run on a fresh Hub process: prepare, run the worker, verify; returns the run record."""
    with HubProcess.start(ctx.workdir, **hub_config) as hub:
        state = hooks.prepare(hub, params)
        before = hub.call("counters")
        spec = {
            "scenario": scenario,
            "client": client,
            "url": hub.url,
            "token": hub.token,
            "params": dict(params),
            "ids": state["ids"],
            "backend": ctx.backend,
        }

        def ready(hub: HubProcess = hub, state: dict[str, Any] = state) -> dict[str, Any]:
            return hooks.go(hub, params, state)

        def event(message: dict[str, Any], hub: HubProcess = hub, state: dict[str, Any] = state) -> None:
            if on_event is not None:
                on_event(hub, state, message)

        result = run_worker(spec, ctx.workdir, on_ready=ready, on_event=event)
        seen = counter_delta(before, hub.call("counters"))
        record = hooks.finish(hub, params, state, client, result, seen)
    # Whatever the scenario: the Hub never failed internally and every request hit a known route.
    checks = record["checks"]
    check(checks, "no Hub internal error", seen["server_errors"] == 0, str(seen["server_errors"]))
    check(checks, "no unknown route", not seen["unknown_routes"], str(seen["unknown_routes"]))
    record.update({**point, "repetition": rep, "client": client, "hub_counters": seen})
    record.setdefault("peak_rss_bytes", result.get("peak_rss_bytes"))
    record.setdefault("rss_after_imports_bytes", result.get("rss_after_imports_bytes"))
    failed = [c["check"] for c in record["checks"] if not c["passed"]]
    where = "".join(f" {k}={v}" for k, v in point.items())
    ctx.log(
        f"  {scenario}{where} rep {rep + 1}/{ctx.repetitions} {client:<16} "
        + ", ".join(f"{k}={_fmt(record[k])}" for k in record.get("headline", []))
        + (f"  FAILED CHECKS: {failed}" if failed else "  checks ok")
    )
    return record


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def summarize(runs: list[dict[str, Any]], metrics: list[str]) -> dict[str, Any]:
    """Per client, the median of each metric over repetitions; plus aiospaces/huggingface_hub ratios."""
    summary: dict[str, Any] = {}
    for client in CLIENTS:
        mine = [r for r in runs if r["client"] == client]
        if not mine:
            continue
        summary[client] = {
            metric: median([float(r[metric]) for r in mine if _is_number(r.get(metric))])
            for metric in metrics
        }
        summary[client]["runs"] = len(mine)
    if all(c in summary for c in CLIENTS):
        summary["ratio_aiospaces_over_huggingface_hub"] = {
            metric: ratio(summary["aiospaces"][metric], summary["huggingface_hub"][metric])
            for metric in metrics
        }
    return summary


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)


def all_checks_passed(runs: list[dict[str, Any]]) -> bool:
    """Whether every correctness check of every run passed."""
    return all(c["passed"] for r in runs for c in r["checks"])
