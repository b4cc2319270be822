"""Scenario 5, watch while writing: the watch scenario's Spaces (200 reaching RUNNING at random over 60 s) are
watched while the same client writes a secret and a variable to 200 other Spaces, against a Hub limited to
the free account's quota scaled down (100 requests per 30 s instead of 1,000 per 300 s, hub-api.md §4.2).

Two points per repetition, aiospaces only (huggingface_hub's `wait_for_space` has no quota to share, and its
Space calls fail on 429, see the rate-limited scenario): the writes alone, then the writes with the watch
running. Measured: the time the writes take, the share of the requests the Hub saw that were polls
(runtime reads and listings), failed calls and 429s, and the watch's detection lags (as in the watch
scenario). The targets: polling at most 25% of the Hub's requests
(the default `PollPolicy.poll_share`), no failed call, and the writes within 1.35x of their time alone.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import Any

from . import bulk
from ._common import OWNER, RunContext, check, run_alternating, seed_running, space_ids
from ._measure import median, percentile, ratio
from ._procs import HubProcess

# The Hub's route names of the polls (`SimulatedHub.route_names()`).
POLL_ROUTES = ("GET /api/spaces/{id}/runtime", "GET /api/spaces")
METRICS = ["writes_s", "poll_share", "polls", "server_requests", "calls_failed", "status_429"]
LAG_METRICS = ["lag_median_s", "lag_p95_s", "lag_max_s"]


def params_for(quick: bool) -> dict[str, Any]:
    """200 watched + 200 written Spaces under 100 requests per 30 s in full mode; a handful, fast, quick."""
    if quick:
        return {
            "watched": 6,
            "written": 6,
            "spread_s": 2.0,
            "concurrency": 4,
            "latency_s": 0.01,
            "quota": 20,
            "window_s": 2,
        }
    return {
        "watched": 200,
        "written": 200,
        "spread_s": 60.0,
        "concurrency": 32,
        "latency_s": 0.05,
        "quota": 100,
        "window_s": 30,
    }


# --- the workload (run inside the worker process) -----------------------------------------------------------


def run_aiospaces(spec: dict[str, Any], emit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Write a secret and a variable to every written Space, with or without watching the others."""
    import anyio

    return anyio.run(_aiospaces_main, spec, backend=spec["backend"])


async def _aiospaces_main(spec: dict[str, Any]) -> dict[str, Any]:
    import anyio

    from aiospaces import SpacesClient

    params = spec["params"]
    written: list[str] = spec["ids"]
    watched: list[str] = spec["watched"]
    width = int(params["concurrency"])
    detected: dict[str, float] = {}
    failed: list[str] = []
    writes_s = 0.0
    async with SpacesClient(token=spec["token"], endpoint=spec["url"], max_concurrency=width) as client:

        async def watch() -> None:
            with anyio.fail_after(float(params["spread_s"]) * 3 + 120):
                async for change in client.watch_many(watched):
                    if str(getattr(change.stage, "value", change.stage)) == "RUNNING":
                        detected.setdefault(change.repo_id, time.time())
                        if len(detected) == len(watched):
                            break

        async def write() -> None:
            nonlocal writes_s
            started = time.perf_counter()
            fleet = client.fleet(written, concurrency=width)
            for report in (
                await fleet.add_space_secret(bulk.SECRET_KEY, bulk.SECRET_VALUE),
                await fleet.add_space_variable(bulk.VARIABLE_KEY, bulk.VARIABLE_VALUE),
            ):
                failed.extend(type(o.error).__name__ for o in report.failed)
            writes_s = time.perf_counter() - started

        async with anyio.create_task_group() as tg:
            if params["watch"]:
                tg.start_soon(watch)
            tg.start_soon(write)
    return {
        "wall_s": writes_s,
        "writes_s": writes_s,
        "calls": 2 * len(written),
        "calls_failed": len(failed),
        "errors": sorted(set(failed)),
        "detected_at": detected,
    }


# --- the runner side ---------------------------------------------------------------------------------------


class WatchWritesHooks:
    """Seeds the written Spaces; on "go" starts the watched Spaces' builds (both points, for the same Hub
    load); after the run, checks the writes and the detections."""

    def __init__(self) -> None:
        self._repetition = 0

    def prepare(self, hub: HubProcess, params: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "ids": seed_running(hub, "written", int(params["written"])),
            "watched": space_ids("watched", int(params["watched"])),
        }

    def go(self, hub: HubProcess, params: Mapping[str, Any], state: dict[str, Any]) -> dict[str, Any]:
        rng = random.Random(2000 + self._repetition // 2)
        self._repetition += 1
        durations = [rng.uniform(0.5, float(params["spread_s"])) for _ in state["watched"]]
        answer = hub.call("start_builds", ids=state["watched"], durations=durations)
        state["running_at"] = dict(zip(state["watched"], answer["running_at"], strict=True))
        return {"watched": state["watched"]}

    def finish(
        self,
        hub: HubProcess,
        params: Mapping[str, Any],
        state: dict[str, Any],
        client: str,
        result: dict[str, Any],
        seen: dict[str, Any],
    ) -> dict[str, Any]:
        written = state["ids"]
        final = hub.call(
            "verify",
            ids=written,
            secret=bulk.SECRET_KEY,
            variable=[bulk.VARIABLE_KEY, bulk.VARIABLE_VALUE],
            requested_hardware=bulk.HARDWARE,
        )
        checks: list[dict[str, Any]] = []
        check(checks, "no call failed", result["calls_failed"] == 0, str(result["errors"]))
        check(
            checks,
            "every written Space has its secret and variable",
            final["secret_present"] == final["variable_matches"] == len(written),
            f"{final['secret_present']}, {final['variable_matches']} of {len(written)}",
        )
        detected: dict[str, float] = result["detected_at"]
        lags = [at - state["running_at"][repo_id] for repo_id, at in detected.items()]
        if params["watch"]:
            check(
                checks,
                "every watched Space detected RUNNING",
                len(detected) == len(state["watched"]),
                f"{len(detected)}/{len(state['watched'])}",
            )
        polls = sum(int(seen["by_route"].get(route, 0)) for route in POLL_ROUTES)
        requests = int(seen["requests"])
        return {
            "writes_s": result["writes_s"],
            "wall_s": result["wall_s"],
            "polls": polls,
            "server_requests": requests,
            "poll_share": ratio(polls, requests),
            "calls": result["calls"],
            "calls_failed": result["calls_failed"],
            "status_429": seen["status_429"],
            "lag_median_s": median(lags),
            "lag_p95_s": percentile(lags, 95),
            "lag_max_s": max(lags, default=float("nan")),
            "checks": checks,
            "headline": ["writes_s", "polls", "server_requests", "calls_failed"],
        }


def summarize_points(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians per point (writes alone, writes while watching) and the writes' slowdown between them."""
    summary: dict[str, Any] = {}
    for name, watching in (("writes_alone", False), ("writes_while_watching", True)):
        mine = [r for r in runs if bool(r.get("watch")) is watching]
        summary[name] = {m: median([float(r[m]) for r in mine]) for m in METRICS}
        if watching:
            summary[name].update({m: median([float(r[m]) for r in mine]) for m in LAG_METRICS})
        summary[name]["runs"] = len(mine)
    summary["writes_slowdown"] = ratio(
        summary["writes_while_watching"]["writes_s"], summary["writes_alone"]["writes_s"]
    )
    return summary


def run(ctx: RunContext) -> dict[str, Any]:
    """Run the writes alone and with the watch, alternating, aiospaces only, and summarize."""
    params = params_for(ctx.quick)
    hub_config = {
        "latency_s": params["latency_s"],
        "owner": OWNER,
        "rate_limit": [params["quota"], params["window_s"]],
    }
    points = [{"watch": False}, {"watch": True}]
    runs = run_alternating(
        "watch_writes", WatchWritesHooks(), params, hub_config, ctx, clients=("aiospaces",), points=points
    )
    return {"params": params, "runs": runs, "summary": summarize_points(runs)}
