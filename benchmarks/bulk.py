"""Scenario 1, bulk: N Spaces × (add a secret, add a variable, request hardware), every request delayed by the
injected latency, swept over the width (aiospaces' `max_concurrency` and fleet concurrency; huggingface_hub's
thread-pool size): 32, 128 and 512 in a full run, both clients alternating at every width within the one run.

Measured per run: wall time, client CPU seconds per 1,000 requests, peak memory of the client process, the
requests the Hub saw, and the latency-bound ideal (requests × latency ÷ width). Checked: every call succeeded,
every Space ends with the secret, the variable and the requested hardware, and the Hub saw each write once.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ._common import CLIENTS, OWNER, RunContext, check, run_alternating, seed_running, summarize
from ._measure import measure, mib, ratio
from ._procs import HubProcess

SECRET_KEY = "BENCH_SECRET"
SECRET_VALUE = "bench-secret-value"  # a fixture value, not a credential
VARIABLE_KEY = "BENCH_VARIABLE"
VARIABLE_VALUE = "bench-variable-value"
HARDWARE = "t4-medium"
# The Hub's routes for the three writes (hub-api.md §7, §8.2), matched against the simulator's route names.
WRITE_ROUTES = {"secrets": "secrets", "variables": "variables", "hardware": "hardware"}

METRICS = [
    "wall_s",
    "cpu_s",
    "cpu_s_per_1000_requests",
    "peak_rss_mib",
    "hub_cpu_s",
    "client_cpu_per_wall",
    "cpu_wait_s",
    "server_requests",
    "ideal_s",
    "wall_over_ideal",
    "calls_failed",
    "status_429",
]


FULL_WIDTHS = (32, 128, 512)
QUICK_WIDTHS = (4, 16)


def params_for(quick: bool, widths: Sequence[int] | None = None) -> dict[str, Any]:
    """Scenario size: 1,000 Spaces at 50 ms latency, widths 32, 128 and 512 in full mode; a handful of Spaces
    at two small widths in quick mode. `concurrency` is the first width (the size a single run uses, e.g. the
    profiler's)."""
    chosen = list(widths or (QUICK_WIDTHS if quick else FULL_WIDTHS))
    if quick:
        return {"spaces": 24, "widths": chosen, "concurrency": chosen[0], "latency_s": 0.02}
    return {"spaces": 1000, "widths": chosen, "concurrency": chosen[0], "latency_s": 0.05}


# --- the workloads (run inside the worker process) -------------------------------------------------------


def _error_name(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None) or getattr(exc, "status", None)
    return f"{type(exc).__name__}({status})" if status else type(exc).__name__


def run_aiospaces(spec: dict[str, Any], emit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """The three calls per Space, Spaces `width` at a time through a fleet, as an aiospaces user writes it."""
    import anyio

    return anyio.run(_aiospaces_main, spec, backend=spec["backend"])


async def _aiospaces_main(spec: dict[str, Any]) -> dict[str, Any]:
    from aiospaces import SpacesClient
    from aiospaces.errors import SpacesError

    ids: list[str] = spec["ids"]
    width = int(spec["params"]["concurrency"])
    errors: Counter[str] = Counter()
    with measure() as span:
        async with SpacesClient(token=spec["token"], endpoint=spec["url"], max_concurrency=width) as client:

            async def one_space(repo_id: str) -> list[str]:
                # The same shape as huggingface_hub's pool below: each Space's three calls back to back, every
                # call attempted even if an earlier one failed.
                failures = []
                for call in (
                    lambda: client.add_space_secret(repo_id, SECRET_KEY, SECRET_VALUE),
                    lambda: client.add_space_variable(repo_id, VARIABLE_KEY, VARIABLE_VALUE),
                    lambda: client.request_space_hardware(repo_id, HARDWARE),
                ):
                    try:
                        await call()
                    except SpacesError as exc:
                        failures.append(_error_name(exc))
                return failures

            report = await client.fleet(ids, concurrency=width).run(one_space)
    for outcome in report:
        # one_space catches every SDK error itself, so no outcome carries one.
        errors.update(outcome.result or [])
    failed = sum(errors.values())
    return {
        "wall_s": span.wall_s,
        "cpu_s": span.cpu_s,
        "cpu_wait_s": span.cpu_wait_s,
        "calls": 3 * len(ids),
        "calls_ok": 3 * len(ids) - failed,
        "calls_failed": failed,
        "errors": dict(errors),
    }


def run_huggingface_hub(spec: dict[str, Any], emit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """The same three calls per Space with `HfApi`, from a `ThreadPoolExecutor` of the same width.

    Every call is attempted even if an earlier one for the same Space failed, so "calls failed" counts
    calls, not Spaces.
    """
    from huggingface_hub import HfApi, SpaceHardware

    ids: list[str] = spec["ids"]
    width = int(spec["params"]["concurrency"])
    api = HfApi(endpoint=spec["url"], token=spec["token"])

    def one_space(repo_id: str) -> list[str]:
        failures = []
        for call in (
            lambda: api.add_space_secret(repo_id, SECRET_KEY, SECRET_VALUE),
            lambda: api.add_space_variable(repo_id, VARIABLE_KEY, VARIABLE_VALUE),
            lambda: api.request_space_hardware(repo_id, SpaceHardware(HARDWARE)),
        ):
            try:
                call()
            except Exception as exc:  # what a user's script would catch per call
                failures.append(_error_name(exc))
        return failures

    errors: Counter[str] = Counter()
    # The measured block ends before the pool shuts down, while its threads (and their counters of time
    # spent waiting for a CPU) still exist; shutting down idle threads is not the workload.
    with ThreadPoolExecutor(max_workers=width) as pool, measure() as span:
        for failures in pool.map(one_space, ids):
            errors.update(failures)
    failed = sum(errors.values())
    return {
        "wall_s": span.wall_s,
        "cpu_s": span.cpu_s,
        "cpu_wait_s": span.cpu_wait_s,
        "calls": 3 * len(ids),
        "calls_ok": 3 * len(ids) - failed,
        "calls_failed": failed,
        "errors": dict(errors),
    }


# --- the runner side ---------------------------------------------------------------------------------------


def route_count(seen: Mapping[str, Any], method: str, fragment: str) -> int:
    """Requests the Hub counted on routes of `method` whose name ends with `fragment`."""
    total = 0
    for route, count in seen["by_route"].items():
        name = route.split("?")[0].rstrip("/")
        if name.upper().startswith(method + " ") and name.endswith("/" + fragment):
            total += int(count)
    return total


class BulkHooks:
    """Seeds N running Spaces; after the run, verifies the Hub's final state and counters."""

    def __init__(self, expect_no_failures: tuple[str, ...] = ("aiospaces", "huggingface_hub")) -> None:
        self.expect_no_failures = expect_no_failures

    def prepare(self, hub: HubProcess, params: Mapping[str, Any]) -> dict[str, Any]:
        return {"ids": seed_running(hub, "bulk", int(params["spaces"]))}

    def go(self, hub: HubProcess, params: Mapping[str, Any], state: dict[str, Any]) -> dict[str, Any]:
        return {}

    def finish(
        self,
        hub: HubProcess,
        params: Mapping[str, Any],
        state: dict[str, Any],
        client: str,
        result: dict[str, Any],
        seen: dict[str, Any],
    ) -> dict[str, Any]:
        ids = state["ids"]
        n = len(ids)
        calls = int(result["calls"])
        final = hub.call(
            "verify",
            ids=ids,
            secret=SECRET_KEY,
            variable=[VARIABLE_KEY, VARIABLE_VALUE],
            requested_hardware=HARDWARE,
        )
        checks: list[dict[str, Any]] = []
        check(checks, "calls add up", result["calls_ok"] + result["calls_failed"] == calls == 3 * n)
        if client in self.expect_no_failures:
            check(checks, "no call failed", result["calls_failed"] == 0, str(result["errors"]))
        ok_writes = {
            "secret": final["secret_present"],
            "variable": final["variable_matches"],
            "hardware": final["hardware_requested"],
        }
        if result["calls_failed"] == 0:
            for what, count in ok_writes.items():
                check(checks, f"every Space has its {what}", count == n, f"{count}/{n}")
        else:
            # Some calls failed (e.g. 429s): the Hub must hold exactly the writes the client saw succeed.
            check(
                checks,
                "Hub state matches successful calls",
                sum(ok_writes.values()) == result["calls_ok"],
                f"{ok_writes} vs {result['calls_ok']} ok",
            )
        writes_seen = {what: route_count(seen, "POST", route) for what, route in WRITE_ROUTES.items()}
        if seen["status_429"] == 0:
            check(
                checks,
                "the Hub saw each write exactly once",
                all(count == n for count in writes_seen.values()),
                str(writes_seen),
            )
        if client == "huggingface_hub":
            # HfApi does not retry Space calls (hub-api.md §4.3): each 429 the Hub sent is one failed call.
            check(
                checks,
                "client failures are the Hub's 429s",
                result["calls_failed"] == seen["status_429"],
                f"failed={result['calls_failed']} 429s={seen['status_429']}",
            )
        requests = int(seen["requests"])
        latency = float(params["latency_s"])
        ideal = calls * latency / int(params["concurrency"])
        return {
            "wall_s": result["wall_s"],
            "cpu_s": result["cpu_s"],
            "cpu_s_per_1000_requests": ratio(result["cpu_s"] * 1000, requests),
            "peak_rss_mib": mib(result["peak_rss_bytes"]),
            "hub_cpu_s": seen["hub_cpu_s"],
            # The client's CPU seconds per wall second: near 1.0, an event loop (one thread) was busy for the
            # whole run, so its CPU cost per request, not the injected latency, set the pace.
            "client_cpu_per_wall": ratio(result["cpu_s"], result["wall_s"]),
            # Time the client's threads were ready but other work on the machine had the CPUs.
            "cpu_wait_s": result.get("cpu_wait_s", math.nan),
            "rss_after_imports_mib": mib(result["rss_after_imports_bytes"]),
            "server_requests": requests,
            "writes_seen": writes_seen,
            "ideal_s": ideal,
            "wall_over_ideal": ratio(result["wall_s"], ideal),
            "calls": calls,
            "calls_failed": result["calls_failed"],
            "errors": result["errors"],
            "status_429": seen["status_429"],
            "checks": checks,
            "headline": ["wall_s", "cpu_s", "server_requests", "calls_failed"],
        }


# Metrics whose spread (lowest and highest run) is kept next to the median, for the plot's error bars.
SPREAD_METRICS = ("wall_s", "cpu_s_per_1000_requests")


def summarize_sweep(runs: list[dict[str, Any]], widths: Sequence[int]) -> list[dict[str, Any]]:
    """Per width: the medians and ratios of `summarize`, plus each client's lowest and highest run."""
    sweep = []
    for width in widths:
        mine = [r for r in runs if r.get("concurrency") == width]
        spread = {
            client: {
                metric: [min(values), max(values)]
                for metric in SPREAD_METRICS
                if (values := [float(r[metric]) for r in mine if r["client"] == client])
            }
            for client in CLIENTS
        }
        sweep.append({"concurrency": width, "summary": summarize(mine, METRICS), "spread": spread})
    return sweep


def run(ctx: RunContext) -> dict[str, Any]:
    """Run the bulk scenario for both clients at every width, alternating, and summarize per width."""
    params = params_for(ctx.quick, ctx.widths)
    hub_config = {"latency_s": params["latency_s"], "owner": OWNER}
    points = [{"concurrency": width} for width in params["widths"]]
    runs = run_alternating("bulk", BulkHooks(), params, hub_config, ctx, points=points)
    return {"params": params, "runs": runs, "sweep": summarize_sweep(runs, params["widths"])}
