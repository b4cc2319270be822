"""Simulator test controls: rate limits, fault injection, counters, and streamed logs, in virtual time."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import anyio
import httpx2
import pytest

from aiospaces.hubsim import SimulatedHub

ALICE = {"authorization": "Bearer hf_alice"}
RUNTIME = "GET /api/spaces/{id}/runtime"
# The official client's header parsing (hub-api.md §4.1).
RATELIMIT_RE = re.compile(r'"(\w+)"\s*;\s*r=(\d+)\s*;\s*t=(\d+)')
POLICY_RE = re.compile(r"q=(\d+).*w=(\d+)")


@pytest.fixture
def hub() -> SimulatedHub:
    hub = SimulatedHub(clock="manual", seed=7)
    hub.add_user("alice", token="hf_alice")
    hub.add_user("bob", token="hf_bob")
    hub.create_space("alice/demo")
    hub.set_durations(build=30, start=10)
    return hub


@pytest.fixture
async def client(hub: SimulatedHub) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=hub.transport(), base_url="http://hub.test", headers=ALICE) as c:
        yield c


# ------------------------------------------------------------------------------------------ rate limit
@pytest.mark.anyio
async def test_rate_limit_headers_by_default(client: httpx2.AsyncClient) -> None:
    """Without a configured limit every answer still carries the RateLimit headers, and none is a 429."""
    for _ in range(50):
        r = await client.get("/api/spaces/alice/demo/runtime")
        assert r.status_code == 200
        assert r.headers["ratelimit-policy"] == '"fixed window";"api";q=100000;w=300'
    assert r.headers["ratelimit"].startswith('"api";r=99950;t=')
    download = await client.get("/spaces/alice/demo/resolve/main/README.md")
    assert download.headers["ratelimit-policy"] == '"fixed window";"resolvers";q=500000;w=300'


@pytest.mark.anyio
async def test_fixed_window_rate_limit_per_token(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """Each token gets `requests` per fixed window, headers on every answer, then 429 + Retry-After."""
    hub.set_rate_limit(3, 60)
    remaining = []
    for _ in range(3):
        r = await client.get("/api/spaces/alice/demo/runtime")
        assert r.status_code == 200
        bucket, left, reset = RATELIMIT_RE.search(r.headers["ratelimit"]).groups()  # type: ignore[union-attr]
        assert (bucket, reset) == ("api", "60")
        assert POLICY_RE.search(r.headers["ratelimit-policy"]).groups() == ("3", "60")  # type: ignore[union-attr]
        assert r.headers["ratelimit-policy"].startswith('"fixed window";"api";')
        remaining.append(int(left))
    assert remaining == [2, 1, 0]
    hub.advance(15)
    r = await client.get("/api/spaces/alice/demo/runtime")
    assert r.status_code == 429
    assert r.headers["retry-after"] == "45"
    assert r.headers["ratelimit"] == '"api";r=0;t=45'
    assert "error" in r.json()
    assert hub.counters.rate_limited == 1
    # Another token has its own window.
    r = await client.get("/api/spaces/alice/demo/runtime", headers={"authorization": "Bearer hf_bob"})
    assert r.status_code == 200
    hub.advance(45)
    r = await client.get("/api/spaces/alice/demo/runtime")
    assert (r.status_code, r.headers["ratelimit"]) == (200, '"api";r=2;t=60')
    hub.set_rate_limit(None)
    unlimited = await client.get("/api/spaces/alice/demo/runtime")
    assert unlimited.headers["ratelimit-policy"] == '"fixed window";"api";q=100000;w=300'


def test_rate_limit_arguments_are_checked(hub: SimulatedHub) -> None:
    """set_rate_limit rejects non-positive quotas and windows and unknown buckets."""
    for args in [(0, 60), (-1, 60), (10, 0)]:
        with pytest.raises(ValueError, match=r"requests|window"):
            hub.set_rate_limit(*args)
    with pytest.raises(ValueError, match="bucket"):
        hub.set_rate_limit(10, 60, bucket="web")


# ----------------------------------------------------------------------------------------------- faults
@pytest.mark.anyio
async def test_error_fault_fires_count_times_on_its_route(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """An `error` fault answers its status on the matching route only, `count` times, without applying."""
    fault = hub.add_fault("error", route="POST /api/spaces/{id}/pause", count=2, status=503)
    for _ in range(2):
        r = await client.post("/api/spaces/alice/demo/pause")
        assert r.status_code == 503
        assert "error" in r.json()
        assert hub.space_stage("alice/demo") == "RUNNING"
    assert (await client.get("/api/spaces/alice/demo/runtime")).status_code == 200
    assert (await client.post("/api/spaces/alice/demo/pause")).status_code == 200
    assert fault.injected == 2
    assert hub.counters.faults["error"] == 2
    assert hub.counters.statuses[503] == 2


@pytest.mark.anyio
async def test_probabilistic_faults_are_reproducible_with_a_seed() -> None:
    """Two hubs with the same seed inject the same faults on the same requests."""
    outcomes = []
    for _ in range(2):
        hub = SimulatedHub(clock="manual", seed=42)
        hub.add_user("alice", token="hf_alice")
        hub.create_space("alice/demo")
        hub.add_fault("error", route="GET /api/spaces/*", probability=0.3, status=502)
        async with httpx2.AsyncClient(transport=hub.transport(), base_url="http://h", headers=ALICE) as c:
            outcomes.append([(await c.get("/api/spaces/alice/demo/runtime")).status_code for _ in range(40)])
    assert outcomes[0] == outcomes[1]
    assert 0 < outcomes[0].count(502) < 40


@pytest.mark.anyio
async def test_latency_fault_takes_hub_time(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """A latency fault delays the answer by its seconds on the hub clock."""
    hub.add_fault("latency", route=RUNTIME, seconds=2.5)
    before = hub.now()
    assert (await client.get("/api/spaces/alice/demo/runtime")).status_code == 200
    assert hub.now() - before == 2.5


@pytest.mark.anyio
async def test_drop_before_and_after_applying(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """A dropped connection raises a transport error; with after=True the request was applied anyway."""
    hub.add_fault("drop", route="POST /api/spaces/{id}/pause", count=1)
    with pytest.raises(httpx2.RemoteProtocolError):
        await client.post("/api/spaces/alice/demo/pause")
    assert hub.space_stage("alice/demo") == "RUNNING"
    hub.add_fault("drop", route="POST /api/spaces/{id}/pause", count=1, after=True)
    with pytest.raises(httpx2.RemoteProtocolError):
        await client.post("/api/spaces/alice/demo/pause")
    assert hub.space_stage("alice/demo") == "PAUSED"
    assert hub.counters.faults["drop"] == 2
    assert hub.counters.in_flight == 0


@pytest.mark.anyio
async def test_slow_body_arrives_whole(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """A slow body is streamed in pieces over its seconds and arrives intact."""
    hub.add_fault("slow_body", route="GET /api/spaces/{id}", seconds=5)
    before = hub.now()
    r = await client.get("/api/spaces/alice/demo")
    assert r.json()["id"] == "alice/demo"
    assert hub.now() - before == pytest.approx(5)


@pytest.mark.anyio
async def test_stale_runtime_reads(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """stale_runtime answers runtime reads (runtime, space_info, list) with the state of N seconds ago."""
    hub.advance(100)
    await client.post("/api/spaces/alice/demo/hardware", json={"flavor": "t4-small"})
    hub.add_fault("stale_runtime", route="GET /api/spaces*", seconds=30, count=3)
    hub.advance(10)
    assert (await client.get("/api/spaces/alice/demo/runtime")).json()["hardware"]["requested"] == "cpu-basic"
    info = (await client.get("/api/spaces/alice/demo")).json()
    assert info["runtime"]["stage"] == "RUNNING"
    listed = (await client.get("/api/spaces", params={"expand": "runtime"})).json()
    assert listed[0]["runtime"]["hardware"]["requested"] == "cpu-basic"
    fresh = (await client.get("/api/spaces/alice/demo/runtime")).json()
    assert (fresh["stage"], fresh["hardware"]["requested"]) == ("RUNNING_BUILDING", "t4-small")


def test_fault_arguments_are_checked(hub: SimulatedHub) -> None:
    """add_fault rejects unknown kinds, probabilities outside [0, 1], non-error statuses, negative values."""
    with pytest.raises(ValueError, match="kind"):
        hub.add_fault("explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="probability"):
        hub.add_fault("error", probability=1.5)
    with pytest.raises(ValueError, match="status"):
        hub.add_fault("error", status=200)
    with pytest.raises(ValueError, match="seconds"):
        hub.add_fault("latency", seconds=-1)
    assert hub.faults == []


# --------------------------------------------------------------------------------------------- counters
@pytest.mark.anyio
async def test_counters_track_routes_and_concurrency(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """Counters count requests per route name and the highest number of requests in flight."""
    hub.add_fault("latency", route=RUNTIME, seconds=1)
    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(client.get, "/api/spaces/alice/demo/runtime")
    await client.get("/api/whoami-v2")
    assert hub.counters.requests[RUNTIME] == 5
    assert hub.counters.requests["GET /api/whoami-v2"] == 1
    assert hub.counters.max_in_flight == 5
    assert hub.counters.in_flight == 0
    assert set(hub.counters.requests) <= {*hub.route_names(), "UNKNOWN"}
    hub.counters.reset()
    assert hub.counters.total_requests == 0


# -------------------------------------------------------------------------------------------- SSE logs
def _events(raw: str) -> list[str]:
    return [json.loads(line[6:])["data"] for line in raw.splitlines() if line.startswith("data: {")]


@pytest.mark.anyio
async def test_build_log_streams_while_building_and_ends(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """Build logs stream in-process as the build goes (hub clock), then the stream ends with the build."""
    await client.post("/api/spaces/alice/demo/restart")
    start = hub.now()
    seen_at: list[float] = []
    events: list[dict[str, str]] = []
    async with client.stream("GET", "/api/spaces/alice/demo/logs/build") as r:
        assert r.headers["content-type"] == "text/event-stream"
        async for line in r.aiter_lines():
            if line.startswith("data: {"):
                events.append(json.loads(line[6:]))
                seen_at.append(hub.now())
    assert events[0]["data"].startswith("===== Build Queued")
    assert seen_at[0] == start  # the first line came before the build was over
    assert seen_at[-1] >= start + 25
    assert hub.space_stage("alice/demo") in ("APP_STARTING", "RUNNING")
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
    # Each connection replays from the beginning (hub-api.md §9).
    r2 = await client.get("/api/spaces/alice/demo/logs/build")
    assert _events(r2.text) == [e["data"] for e in events]
    assert hub.counters.in_flight == 0


@pytest.mark.anyio
async def test_run_log_follow_sends_keepalives_until_closed(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """Run logs of a running Space replay, mark the drained buffer, then stay alive until closed."""
    hub.sse_keepalive = 30
    async with client.stream("GET", "/api/spaces/alice/demo/logs/run") as r:
        chunks = r.aiter_raw()
        first = (await chunks.__anext__()).decode()
        assert "Running on local URL" in "".join(_events(first))
        assert first.endswith("data: \n\n")  # replay done
        before = hub.now()
        assert await chunks.__anext__() == b"data: \n\n"
        assert hub.now() - before >= 30
        assert hub.counters.in_flight == 1
    assert hub.counters.in_flight == 0


@pytest.mark.anyio
async def test_logs_of_failed_space_close_after_replay(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """A failed Space's logs are replayed and the stream closes at once (nothing more can come)."""
    hub.crash("alice/demo", ["boom"])
    before = hub.now()
    r = await client.get("/api/spaces/alice/demo/logs/run")
    assert _events(r.text)[-1] == "boom\n"
    assert hub.now() == before
    r = await client.get("/api/spaces/bob/none/logs/run")
    assert (r.status_code, r.headers["x-error-code"]) == (404, "RepoNotFound")


@pytest.mark.anyio
async def test_stream_closed_unread_is_not_left_in_flight(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """A log stream the client closes without reading does not stay counted as in flight."""
    async with client.stream("GET", "/api/spaces/alice/demo/logs/run") as r:
        assert r.status_code == 200
        assert hub.counters.in_flight == 1
    assert hub.counters.in_flight == 0


def test_secret_values_stay_out_of_reprs(hub: SimulatedHub) -> None:
    """Secret values never appear in the repr of a Space's state."""
    hub.create_space("alice/s", secrets={"TOKEN": "hf_very_secret_value"})
    assert "hf_very_secret_value" not in repr(hub.space_state("alice/s"))
    assert "hf_alice" not in repr(hub)
