"""Scenario 4, scale: one process watches 10,000 Spaces (full mode) with `watch_many`.

Measured: resident memory of the client process (after imports, once every Space has been observed, and
peak), the time to observe every Space once, and the requests per second the Hub sees in steady state (after
that first observation, over a fixed window). Checked: every Space observed, no 429.

aiospaces only: `huggingface_hub` has no fleet watch. Its way to watch a Space is `wait_for_space`, one
blocking thread per Space polling once a second, i.e. 10,000 threads and 10,000 requests per second for this
fleet, which this 2-core machine (client and simulated Hub together) cannot run; the README says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from ._common import OWNER, RunContext, check, run_alternating, seed_running
from ._measure import cpu_seconds, current_rss_bytes, measure, median, mib, ratio
from ._procs import HubProcess

METRICS = [
    "rss_steady_mib",
    "rss_per_space_kib",
    "peak_rss_mib",
    "first_sweep_s",
    "steady_requests_per_s",
    "cpu_s_steady",
]


def params_for(quick: bool) -> dict[str, Any]:
    """10,000 Spaces, 30 s of steady state in full mode; 200 Spaces, 2 s in quick mode."""
    if quick:
        return {"spaces": 200, "steady_s": 2.0, "concurrency": 16, "latency_s": 0.01}
    return {"spaces": 10_000, "steady_s": 30.0, "concurrency": 32, "latency_s": 0.05}


def run_aiospaces(spec: dict[str, Any], emit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """`watch_many` over every Space; announce the first full sweep, then keep watching for `steady_s`."""
    import anyio

    return anyio.run(_aiospaces_main, spec, emit, backend=spec["backend"])


async def _aiospaces_main(spec: dict[str, Any], emit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    import anyio

    from aiospaces import SpacesClient

    ids: list[str] = spec["ids"]
    params = spec["params"]
    observed: set[str] = set()
    all_observed = anyio.Event()
    with measure() as span:
        async with SpacesClient(
            token=spec["token"], endpoint=spec["url"], max_concurrency=int(params["concurrency"])
        ) as client:

            async def consume() -> None:
                async for change in client.watch_many(ids):
                    observed.add(change.repo_id)
                    if len(observed) == len(ids):
                        all_observed.set()

            start = time.perf_counter()
            async with anyio.create_task_group() as tg:
                tg.start_soon(consume)
                with anyio.fail_after(600):
                    await all_observed.wait()
                first_sweep_s = time.perf_counter() - start
                emit({"event": "steady_start"})
                cpu_at_sweep = cpu_seconds()
                # The same watch keeps running through the steady window: nothing changes, so this measures
                # what the poll loop costs the Hub (requests per second) and the client (memory, CPU) at rest.
                await anyio.sleep(float(params["steady_s"]))
                cpu_steady = cpu_seconds() - cpu_at_sweep
                rss_steady = current_rss_bytes()
                emit({"event": "steady_end"})
                tg.cancel_scope.cancel()
    return {
        "wall_s": span.wall_s,
        "cpu_s": span.cpu_s,
        "cpu_s_steady": cpu_steady,
        "observed": len(observed),
        "first_sweep_s": first_sweep_s,
        "rss_steady_bytes": rss_steady,
    }


def run_huggingface_hub(spec: dict[str, Any], emit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Not run: see the module docstring."""
    raise NotImplementedError("huggingface_hub has no fleet watch; the scale scenario runs aiospaces only")


class ScaleHooks:
    """Seeds N running Spaces; samples the Hub's counters at the start and end of the steady window."""

    def prepare(self, hub: HubProcess, params: Mapping[str, Any]) -> dict[str, Any]:
        return {"ids": seed_running(hub, "scale", int(params["spaces"]))}

    def go(self, hub: HubProcess, params: Mapping[str, Any], state: dict[str, Any]) -> dict[str, Any]:
        return {}

    def on_event(self, hub: HubProcess, state: dict[str, Any], message: dict[str, Any]) -> None:
        state[message["event"]] = (time.perf_counter(), hub.call("counters"))

    def finish(
        self,
        hub: HubProcess,
        params: Mapping[str, Any],
        state: dict[str, Any],
        client: str,
        result: dict[str, Any],
        seen: dict[str, Any],
    ) -> dict[str, Any]:
        n = len(state["ids"])
        checks: list[dict[str, Any]] = []
        check(checks, "every Space observed", result["observed"] == n, f"{result['observed']}/{n}")
        check(checks, "no 429", seen["status_429"] == 0, str(seen["status_429"]))
        steady_rps = float("nan")
        if "steady_start" in state and "steady_end" in state:
            (t0, c0), (t1, c1) = state["steady_start"], state["steady_end"]
            steady_rps = ratio(c1["requests"] - c0["requests"], t1 - t0)
        check(checks, "steady window sampled", steady_rps == steady_rps, "")
        return {
            "spaces": n,
            "rss_after_imports_mib": mib(result["rss_after_imports_bytes"]),
            "rss_steady_mib": mib(result["rss_steady_bytes"]),
            "rss_per_space_kib": ratio(result["rss_steady_bytes"] - result["rss_after_imports_bytes"], n)
            / 1024,
            "peak_rss_mib": mib(result["peak_rss_bytes"]),
            "first_sweep_s": result["first_sweep_s"],
            "first_sweep_requests": (
                state["steady_start"][1]["requests"] if "steady_start" in state else None
            ),
            "steady_requests_per_s": steady_rps,
            "cpu_s_steady": result["cpu_s_steady"],
            "server_requests": seen["requests"],
            "status_429": seen["status_429"],
            "checks": checks,
            "headline": ["rss_steady_mib", "first_sweep_s", "steady_requests_per_s"],
        }


def run(ctx: RunContext) -> dict[str, Any]:
    """Run the scale scenario (aiospaces only) and summarize."""
    params = params_for(ctx.quick)
    hooks = ScaleHooks()
    hub_config = {"latency_s": params["latency_s"], "owner": OWNER}
    runs = run_alternating(
        "scale", hooks, params, hub_config, ctx, clients=("aiospaces",), on_event=hooks.on_event
    )
    ours: dict[str, Any] = {m: median([float(r[m]) for r in runs]) for m in METRICS}
    ours["runs"] = len(runs)
    summary = {
        "aiospaces": ours,
        "huggingface_hub": {"not_run": "no fleet watch (one thread and 1 request/s per Space)"},
    }
    return {"params": params, "runs": runs, "summary": summary}
