"""Scenario 3, rate-limited bulk: the bulk workload (secret, variable, hardware per Space) against a Hub
limited to a fixed window (300 requests per 10 s in full mode), 1,500 calls in all.

Measured: wall time against the ideal (calls ÷ quota × window), 429s the Hub sent, calls that failed.
aiospaces must finish with zero failed calls; `HfApi` does not retry Space calls on 429 (hub-api.md §4.3), so
its failures are reported, and checked to equal the Hub's 429 count.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import bulk
from ._common import OWNER, RunContext, run_alternating, summarize
from ._measure import ratio
from ._procs import HubProcess

METRICS = ["wall_s", "ideal_s", "wall_over_ideal", "calls_failed", "status_429", "server_requests", "cpu_s"]


def params_for(quick: bool) -> dict[str, Any]:
    """1,500 calls under 300 per 10 s in full mode; 48 calls under 24 per 2 s in quick mode."""
    if quick:
        return {"spaces": 16, "concurrency": 8, "latency_s": 0.01, "quota": 24, "window_s": 2}
    return {"spaces": 500, "concurrency": 32, "latency_s": 0.05, "quota": 300, "window_s": 10}


def run_aiospaces(spec: dict[str, Any], emit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """The bulk workload, unchanged: pacing is the client's job, not the caller's."""
    return bulk.run_aiospaces(spec, emit)


def run_huggingface_hub(spec: dict[str, Any], emit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """The bulk workload with `HfApi`, unchanged: its users get a `HfHubHTTPError` per throttled call."""
    return bulk.run_huggingface_hub(spec, emit)


class RateLimitedHooks(bulk.BulkHooks):
    """Bulk's checks (aiospaces: zero failures), plus the window-bound ideal."""

    def __init__(self) -> None:
        super().__init__(expect_no_failures=("aiospaces",))

    def finish(
        self,
        hub: HubProcess,
        params: Mapping[str, Any],
        state: dict[str, Any],
        client: str,
        result: dict[str, Any],
        seen: dict[str, Any],
    ) -> dict[str, Any]:
        record = super().finish(hub, params, state, client, result, seen)
        ideal = record["calls"] / int(params["quota"]) * float(params["window_s"])
        record["ideal_s"] = ideal
        record["wall_over_ideal"] = ratio(record["wall_s"], ideal)
        record["headline"] = ["wall_s", "ideal_s", "status_429", "calls_failed"]
        return record


def run(ctx: RunContext) -> dict[str, Any]:
    """Run the rate-limited scenario for both clients, alternating, and summarize."""
    params = params_for(ctx.quick)
    hub_config = {
        "latency_s": params["latency_s"],
        "owner": OWNER,
        "rate_limit": [params["quota"], params["window_s"]],
    }
    runs = run_alternating("ratelimited", RateLimitedHooks(), params, hub_config, ctx)
    return {"params": params, "runs": runs, "summary": summarize(runs, METRICS)}
