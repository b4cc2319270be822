"""Experiment: aiospaces' bulk workload on its default transport vs an httpx transport over httpcore2's pool.

`python -m benchmarks.pool_experiment [--repetitions N]` writes `results/experiment-pool.json`.

Why: the bulk scenario finds aiospaces spending more CPU per request than huggingface_hub, and the sampling
profile puts the largest single share in httpcore 1.0's connection-pool bookkeeping. huggingface_hub 2.4 runs
on httpx2 / httpcore2, whose pool is linear. This measures what swapping only the pool would change, using
`SpacesClient(transport=...)`; nothing here is part of aiospaces (httpcore2 comes with huggingface_hub, which
the `dev` extra installs). Same Hub process setup as the benchmark: a fresh Hub per run, 50 ms latency.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx

from . import bulk
from ._common import seed_running
from ._measure import measure, median, ratio
from ._procs import HubProcess
from ._report import RESULTS_DIR, machine


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, response: Any) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._response.stream:
            yield part

    async def aclose(self) -> None:
        await self._response.aclose()


class Httpcore2Transport(httpx.AsyncBaseTransport):
    """An httpx transport over httpcore2's connection pool (what httpx2 uses), for this experiment only."""

    def __init__(self, connections: int) -> None:
        import httpcore2

        self._httpcore2 = httpcore2
        self._pool = httpcore2.AsyncConnectionPool(
            max_connections=connections, max_keepalive_connections=connections
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        core = self._httpcore2
        url = core.URL(
            scheme=request.url.raw_scheme,
            host=request.url.raw_host,
            port=request.url.port,
            target=request.url.raw_path,
        )
        response = await self._pool.handle_async_request(
            core.Request(
                method=request.method,
                url=url,
                headers=request.headers.raw,
                content=request.stream,
                extensions=request.extensions,
            )
        )
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


async def _run(url: str, token: str, ids: list[str], width: int, variant: str) -> dict[str, float]:
    from aiospaces import SpacesClient

    transport = Httpcore2Transport(width) if variant == "httpcore2_pool" else None
    async with SpacesClient(token=token, endpoint=url, max_concurrency=width, transport=transport) as client:
        fleet = client.fleet(ids, concurrency=width)
        with measure() as span:
            ok = len((await fleet.add_space_secret(bulk.SECRET_KEY, bulk.SECRET_VALUE)).succeeded)
            ok += len((await fleet.add_space_variable(bulk.VARIABLE_KEY, bulk.VARIABLE_VALUE)).succeeded)
            ok += len((await fleet.request_space_hardware(bulk.HARDWARE)).succeeded)
    return {"wall_s": span.wall_s, "cpu_s": span.cpu_s, "calls_ok": ok}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pool_experiment")
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    params = bulk.params_for(quick=False)
    width = int(params["concurrency"])
    runs: list[dict[str, Any]] = []
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    info = machine()
    for rep in range(args.repetitions):
        variants = ("default", "httpcore2_pool") if rep % 2 == 0 else ("httpcore2_pool", "default")
        for variant in variants:
            with (
                tempfile.TemporaryDirectory(prefix="aiospaces-pool-") as tmp,
                HubProcess.start(Path(tmp), latency_s=params["latency_s"], owner="bench") as hub,
            ):
                ids = seed_running(hub, "bulk", int(params["spaces"]))
                result = anyio.run(_run, hub.url, hub.token, ids, width, variant)
                requests = hub.call("counters")["requests"]
            record = {"repetition": rep, "variant": variant, "server_requests": requests, **result}
            record["cpu_s_per_1000_requests"] = ratio(result["cpu_s"] * 1000, requests)
            print(json.dumps(record), file=sys.stderr)
            if result["calls_ok"] != 3 * len(ids):
                raise SystemExit(f"{variant}: only {result['calls_ok']} calls succeeded")
            runs.append(record)
    summary = {
        variant: {
            metric: median([r[metric] for r in runs if r["variant"] == variant])
            for metric in ("wall_s", "cpu_s", "cpu_s_per_1000_requests")
        }
        for variant in ("default", "httpcore2_pool")
    }
    payload = {
        "what": __doc__.split("\n\n")[0] if __doc__ else "",
        "command": "python -m benchmarks.pool_experiment" + "".join(f" {a}" for a in sys.argv[1:]),
        "started_at": started,
        "machine": info,
        "params": params,
        "runs": runs,
        "summary": summary,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "experiment-pool.json").write_text(json.dumps(payload, indent=1) + "\n")
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
