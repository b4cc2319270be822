"""Scenario 2, watch: N Spaces start building at once and reach RUNNING at random times spread over a window
(200 Spaces over 60 simulated seconds in full mode); each client watches all of them until every one is
RUNNING.

Measured: requests per Space the Hub saw, and the detection lag of each Space (the moment the client saw it
RUNNING minus the moment the Hub made it RUNNING). Checked: every Space detected, none detected before it was
RUNNING, no 429. Each run record also keeps every lag (`lags_s`), the requests the Hub received in each second
of the run (`requests_per_s`) and, for aiospaces, its polling budget in requests per second
(`poll_budget_per_s`, from the quota the Hub advertised): `plot_watch.py` draws both from the JSON.

Both clients get the same schedule for the same repetition (a seeded random generator). `HfApi` is driven as
its users drive it: one `wait_for_space` (default 1-second polling) per Space in a `ThreadPoolExecutor`, as
wide as aiospaces' concurrency.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ._common import OWNER, RunContext, check, run_alternating, space_ids, summarize
from ._measure import measure, median, mib, percentile, ratio
from ._procs import HubProcess

METRICS = [
    "requests_per_space",
    "lag_median_s",
    "lag_p95_s",
    "lag_max_s",
    "wall_s",
    "cpu_s",
    "peak_rss_mib",
    "status_429",
]
# A detection may precede the Hub's own transition time by clock skew between two processes reading the
# same system clock (microseconds); anything earlier would mean the client reported RUNNING too soon.
EARLY_TOLERANCE_S = 0.005


def params_for(quick: bool) -> dict[str, Any]:
    """200 Spaces over 60 s in full mode (width 200: no Space waits for a free thread); 10 over 3 s quick."""
    if quick:
        return {"spaces": 10, "spread_s": 3.0, "concurrency": 10, "latency_s": 0.01, "speed": 1.0}
    return {"spaces": 200, "spread_s": 60.0, "concurrency": 200, "latency_s": 0.05, "speed": 1.0}


def _is_running(stage: Any) -> bool:
    return str(getattr(stage, "value", stage)) == "RUNNING"


# --- the workloads (run inside the worker process) -------------------------------------------------------


def run_aiospaces(spec: dict[str, Any], emit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """`watch_many` over every Space until each has been seen RUNNING."""
    import anyio

    return anyio.run(_aiospaces_main, spec, backend=spec["backend"])


async def _aiospaces_main(spec: dict[str, Any]) -> dict[str, Any]:
    import anyio

    from aiospaces import PollPolicy, SpacesClient

    ids: list[str] = spec["ids"]
    params = spec["params"]
    detected: dict[str, float] = {}
    with measure() as span:
        async with SpacesClient(
            token=spec["token"], endpoint=spec["url"], max_concurrency=int(params["concurrency"])
        ) as client:
            with anyio.fail_after(float(params["spread_s"]) * 3 + 60):
                async for change in client.watch_many(ids):
                    if _is_running(change.current.stage) and change.repo_id not in detected:
                        detected[change.repo_id] = time.time()
                        if len(detected) == len(ids):
                            break
            # The polling budget the client worked under: its policy's share of the quota the Hub advertised.
            share = PollPolicy().poll_share
            limit, window = client.rate_limit.limit, client.rate_limit.window
    return {
        "wall_s": span.wall_s,
        "cpu_s": span.cpu_s,
        "detected_at": detected,
        "poll_budget_per_s": int(share * limit) / window if limit and window else None,
    }


def run_huggingface_hub(spec: dict[str, Any], emit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """One `wait_for_space` per Space (default 1-second polling), in a thread pool of the same width."""
    from huggingface_hub import HfApi

    ids: list[str] = spec["ids"]
    params = spec["params"]
    api = HfApi(endpoint=spec["url"], token=spec["token"])
    timeout = float(params["spread_s"]) * 3 + 60

    def wait(repo_id: str) -> tuple[str, float, str]:
        runtime = api.wait_for_space(repo_id, timeout=timeout)
        return repo_id, time.time(), str(runtime.stage)

    detected: dict[str, float] = {}
    with measure() as span, ThreadPoolExecutor(max_workers=int(params["concurrency"])) as pool:
        for repo_id, when, stage in pool.map(wait, ids):
            if _is_running(stage):
                detected[repo_id] = when
    return {"wall_s": span.wall_s, "cpu_s": span.cpu_s, "detected_at": detected}


# --- the runner side ---------------------------------------------------------------------------------------


def per_second(times: list[float], start: float) -> list[int]:
    """How many of `times` fall in each whole second after `start` (index 0: the first second)."""
    counts: list[int] = []
    for t in times:
        second = max(0, int(t - start))
        if second >= len(counts):
            counts.extend([0] * (second + 1 - len(counts)))
        counts[second] += 1
    return counts


class WatchHooks:
    """On "go", creates N Spaces whose first builds end at random times (a seeded schedule)."""

    def __init__(self) -> None:
        self._repetition = 0

    def prepare(self, hub: HubProcess, params: Mapping[str, Any]) -> dict[str, Any]:
        # The Spaces are created when the client is ready (`go`), each with its first build starting then.
        return {"ids": space_ids("watch", int(params["spaces"]))}

    def go(self, hub: HubProcess, params: Mapping[str, Any], state: dict[str, Any]) -> dict[str, Any]:
        # Same schedule for both clients within a repetition: the run loop alternates clients, two per rep.
        rng = random.Random(1000 + self._repetition // 2)
        self._repetition += 1
        spread = float(params["spread_s"])
        durations = [rng.uniform(0.5, spread) for _ in state["ids"]]
        state["go_at"] = time.time()
        answer = hub.call("start_builds", ids=state["ids"], durations=durations)
        state["running_at"] = dict(zip(state["ids"], answer["running_at"], strict=True))
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
        detected: dict[str, float] = result["detected_at"]
        lags = [detected[i] - state["running_at"][i] for i in ids if i in detected]
        checks: list[dict[str, Any]] = []
        check(
            checks, "every Space detected RUNNING", len(detected) == len(ids), f"{len(detected)}/{len(ids)}"
        )
        early = [lag for lag in lags if lag < -EARLY_TOLERANCE_S]
        check(
            checks,
            "no Space reported RUNNING before it was",
            not early,
            f"earliest lag {min(lags, default=0):.3f}s",
        )
        check(checks, "no 429", seen["status_429"] == 0, str(seen["status_429"]))
        check(checks, "the Hub saw requests", seen["requests"] > 0, str(seen["requests"]))
        timeline = hub.call("timeline", since=state["go_at"])
        return {
            "lags_s": [round(lag, 4) for lag in lags],
            "requests_per_s": per_second(timeline["times"], state["go_at"]),
            "poll_budget_per_s": result.get("poll_budget_per_s"),
            "requests_per_space": ratio(seen["requests"], len(ids)),
            "server_requests": seen["requests"],
            "lag_median_s": median(lags),
            "lag_p95_s": percentile(lags, 95),
            "lag_max_s": max(lags, default=float("nan")),
            "wall_s": result["wall_s"],
            "cpu_s": result["cpu_s"],
            "peak_rss_mib": mib(result["peak_rss_bytes"]),
            "status_429": seen["status_429"],
            "checks": checks,
            "headline": ["requests_per_space", "lag_median_s", "lag_p95_s"],
        }


def run(ctx: RunContext) -> dict[str, Any]:
    """Run the watch scenario for both clients, alternating, and summarize."""
    params = params_for(ctx.quick)
    hub_config = {"latency_s": params["latency_s"], "owner": OWNER, "speed": params["speed"]}
    runs = run_alternating("watch", WatchHooks(), params, hub_config, ctx)
    return {"params": params, "runs": runs, "summary": summarize(runs, METRICS)}
