"""Hub states the simulator does not show on its own, produced by wrapping its transport, and the budgets of
the client's guards pushed past their simplest case: each test is a user's view of one guard.

- A GPU that waits for capacity: after a hardware request the Space keeps RUNNING on the old flavor with
  `requested` = the new one, for longer than any fence's grace (hub-api.md §8.2 shows the pair old/new
  right after the request; nothing bounds how long it lasts).
- A download whose bytes are corrupted on the way, with the size intact.
- An `X-HF-Warning` header that echoes the caller's token.
- 429 storms longer than the ordinary retry budget, and longer than the 429 budget.
- A woken Space paused again by someone else while the wait that woke it still runs.
- A fleet file moving a Space off cpu-basic (fixed 48 h sleep) with a sleep time equal to the 48 h.
- A no-follow log read whose lines are stamped right at, and just past, the replay's end.

The first four are produced twice: by a wrapping transport, and by the simulator's own faults
(`unscheduled_hardware`, `corrupt_body`, `warning`, `rate_limited`), which drive the same client guards.
"""

from __future__ import annotations

import json
import logging
import math
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from aiospaces import (
    RateLimitedError,
    RetryPolicy,
    RuntimeChange,
    SpaceNotRunningError,
    SpacesClient,
    TransportError,
    WaitTimeoutError,
    apply_plan,
    parse_fleet_spec,
    plan_fleet,
)
from aiospaces.hubsim import SimulatedHub
from aiospaces.testing import VirtualClock, fast_retry

pytestmark = pytest.mark.anyio

TOKEN = "hf_survivor_alice_0123456789"
ENDPOINT = "https://hub.test"
SPACE = "alice/gpu-app"
GPU = "t4-medium"
# Longer than the minute during which a client discounts reads that look older than its own request.
UNSCHEDULED_FOR = 300.0
CAPACITY = "not enough hardware capacity"
RUNTIME_ROUTE = "GET /api/spaces/{id}/runtime"


class Rewriting(httpx2.AsyncBaseTransport):
    """Passes every request to `inner` (the simulator) and lets `rewrite` change the answer."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        return await self.rewrite(request, response)

    async def rewrite(self, request: httpx2.Request, response: httpx2.Response) -> httpx2.Response:
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _replace_body(
    request: httpx2.Request,
    response: httpx2.Response,
    body: bytes,
    extra_headers: list[tuple[str, str]] | None = None,
) -> httpx2.Response:
    """`response` with `body` instead of its own (length header recomputed) and `extra_headers` added."""
    await response.aread()
    await response.aclose()
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() != "content-length"]
    headers += extra_headers or []
    return httpx2.Response(response.status_code, headers=headers, content=body, request=request)


class UnscheduledGpu(Rewriting):
    """While the clock is before `until`, a Space whose requested flavor is `flavor` is shown RUNNING on
    `old`: the state a client reads while a requested GPU waits for capacity (hub-api.md §8.2)."""

    def __init__(
        self, inner: httpx2.AsyncBaseTransport, clock: VirtualClock, *, flavor: str, old: str, until: float
    ) -> None:
        super().__init__(inner)
        self.clock = clock
        self.flavor = flavor
        self.old = old
        self.until = until
        self.rewritten_at: list[float] = []  # clock times of the answers shown unscheduled

    async def rewrite(self, request: httpx2.Request, response: httpx2.Response) -> httpx2.Response:
        path = request.url.path
        if response.status_code != 200 or not path.endswith(("/runtime", "/hardware")):
            return response
        now = self.clock.now()
        await response.aread()
        runtime = json.loads(response.content)
        if now >= self.until or runtime["hardware"]["requested"] != self.flavor:
            return await _replace_body(request, response, response.content)
        runtime["stage"] = "RUNNING"
        runtime["hardware"]["current"] = self.old
        self.rewritten_at.append(now)
        return await _replace_body(request, response, json.dumps(runtime).encode())


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def hub(clock: VirtualClock) -> SimulatedHub:
    hub = SimulatedHub(clock=clock, seed=0)
    hub.add_user("alice", token=TOKEN)
    return hub


def _client(transport: httpx2.AsyncBaseTransport, clock: VirtualClock, **kwargs: Any) -> SpacesClient:
    kwargs.setdefault("retry", fast_retry())
    return SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=transport, clock=clock, **kwargs)


@pytest.fixture
def unscheduled(hub: SimulatedHub, clock: VirtualClock) -> UnscheduledGpu:
    hub.create_space(SPACE)  # RUNNING on cpu-basic
    return UnscheduledGpu(hub.transport(), clock, flavor=GPU, old="cpu-basic", until=UNSCHEDULED_FOR)


@pytest.fixture
async def gpu_client(unscheduled: UnscheduledGpu, clock: VirtualClock) -> AsyncIterator[SpacesClient]:
    async with _client(unscheduled, clock) as client:
        yield client


# --- a GPU that waits for capacity ------------------------------------------------------------------------


async def test_wait_until_running_after_a_hardware_request_waits_for_the_gpu_past_the_grace(
    gpu_client: SpacesClient, unscheduled: UnscheduledGpu, clock: VirtualClock
) -> None:
    """Right after requesting a GPU that stays unscheduled for minutes, `wait_until_running` returns only
    once the GPU runs, not when the old flavor is still RUNNING after a minute."""
    await gpu_client.request_space_hardware(SPACE, GPU)
    runtime = await gpu_client.wait_until_running(SPACE, timeout=1800)
    assert (runtime.stage, runtime.hardware, runtime.requested_hardware) == ("RUNNING", GPU, GPU)
    assert clock.now() >= UNSCHEDULED_FOR
    assert max(unscheduled.rewritten_at) > 120  # the old flavor was read well after the first minute


async def test_wait_all_after_a_hardware_request_waits_for_the_gpu_past_the_grace(
    gpu_client: SpacesClient, unscheduled: UnscheduledGpu, clock: VirtualClock
) -> None:
    """`wait_all` after a hardware request reports the Space only once the GPU runs, even when the old
    flavor keeps RUNNING for minutes."""
    await gpu_client.request_space_hardware(SPACE, GPU)
    report = await gpu_client.wait_all([SPACE], timeout=1800)
    assert report.ok
    runtime = report[SPACE].result
    assert runtime is not None
    assert (runtime.stage, runtime.hardware) == ("RUNNING", GPU)
    assert clock.now() >= UNSCHEDULED_FOR
    assert max(unscheduled.rewritten_at) > 120


async def test_wait_for_hardware_never_accepts_the_old_flavor_running(
    gpu_client: SpacesClient, unscheduled: UnscheduledGpu, clock: VirtualClock
) -> None:
    """`wait_for_hardware` times out (with the last runtime) while the GPU is requested but the old flavor
    runs, and returns once the GPU itself runs."""
    await gpu_client.request_space_hardware(SPACE, GPU)
    with pytest.raises(WaitTimeoutError) as info:
        await gpu_client.wait_for_hardware(SPACE, GPU, timeout=120)
    last = info.value.runtime
    assert last is not None
    assert (last.stage, last.hardware, last.requested_hardware) == ("RUNNING", "cpu-basic", GPU)
    runtime = await gpu_client.wait_for_hardware(SPACE, GPU, timeout=1800)
    assert (runtime.stage, runtime.hardware) == ("RUNNING", GPU)
    assert clock.now() >= UNSCHEDULED_FOR


async def test_temporary_hardware_block_starts_only_once_the_gpu_runs(
    gpu_client: SpacesClient, hub: SimulatedHub, clock: VirtualClock
) -> None:
    """A `temporary_hardware` block whose GPU waits for capacity is entered only once the GPU runs, and
    puts the Space back on cpu-basic afterwards."""
    async with gpu_client.temporary_hardware(SPACE, GPU, timeout=1800) as runtime:
        assert (runtime.stage, runtime.hardware) == ("RUNNING", GPU)
        assert clock.now() >= UNSCHEDULED_FOR
    assert hub.space_runtime(SPACE)["hardware"]["requested"] == "cpu-basic"


# --- a GPU that waits for capacity, from the simulator's `unscheduled_hardware` fault ---------------------


@pytest.fixture
async def held_client(hub: SimulatedHub, clock: VirtualClock) -> AsyncIterator[SpacesClient]:
    hub.create_space(SPACE)  # RUNNING on cpu-basic
    hub.add_fault("unscheduled_hardware", seconds=UNSCHEDULED_FOR, message=CAPACITY, count=1)
    async with _client(hub.transport(), clock) as client:
        yield client


async def test_wait_for_hardware_never_accepts_the_old_flavor_while_the_hub_finds_no_gpu(
    held_client: SpacesClient, clock: VirtualClock
) -> None:
    """While the Hub has no machine for the requested GPU (RUNNING on cpu-basic, a capacity message),
    `wait_for_hardware` times out with that runtime, and returns once the GPU itself runs."""
    await held_client.request_space_hardware(SPACE, GPU)
    with pytest.raises(WaitTimeoutError) as info:
        await held_client.wait_for_hardware(SPACE, GPU, timeout=120)
    last = info.value.runtime
    assert last is not None
    assert (last.stage, last.hardware, last.requested_hardware) == ("RUNNING", "cpu-basic", GPU)
    assert last.raw.get("errorMessage") == CAPACITY
    runtime = await held_client.wait_for_hardware(SPACE, GPU, timeout=1800)
    assert (runtime.stage, runtime.hardware) == ("RUNNING", GPU)
    assert clock.now() >= UNSCHEDULED_FOR


async def test_wait_until_running_waits_out_a_gpu_the_hub_schedules_late(
    held_client: SpacesClient, clock: VirtualClock
) -> None:
    """`wait_until_running` right after a hardware request that the Hub leaves unscheduled for minutes
    returns only once the GPU runs, not when the old flavor is still RUNNING after the grace."""
    await held_client.request_space_hardware(SPACE, GPU)
    runtime = await held_client.wait_until_running(SPACE, timeout=1800)
    assert (runtime.stage, runtime.hardware, runtime.requested_hardware) == ("RUNNING", GPU, GPU)
    assert clock.now() >= UNSCHEDULED_FOR


async def test_temporary_hardware_block_waits_for_a_gpu_the_hub_schedules_late(
    held_client: SpacesClient, hub: SimulatedHub, clock: VirtualClock
) -> None:
    """A `temporary_hardware` block is entered only once the late-scheduled GPU runs, and puts the Space
    back on cpu-basic afterwards."""
    async with held_client.temporary_hardware(SPACE, GPU, timeout=1800) as runtime:
        assert (runtime.stage, runtime.hardware) == ("RUNNING", GPU)
        assert clock.now() >= UNSCHEDULED_FOR
    assert hub.space_runtime(SPACE)["hardware"]["requested"] == "cpu-basic"


async def test_wait_until_running_times_out_on_a_gpu_never_scheduled(
    hub: SimulatedHub, clock: VirtualClock
) -> None:
    """When the requested GPU never gets a machine, `wait_until_running` after the request times out with
    the old flavor's runtime instead of taking the old flavor RUNNING for the GPU."""
    hub.create_space(SPACE)
    hub.add_fault("unscheduled_hardware", seconds=math.inf, message=CAPACITY)
    async with _client(hub.transport(), clock) as client:
        await client.request_space_hardware(SPACE, GPU)
        with pytest.raises(WaitTimeoutError) as info:
            await client.wait_until_running(SPACE, timeout=900)
    last = info.value.runtime
    assert last is not None
    assert (last.stage, last.hardware, last.requested_hardware) == ("RUNNING", "cpu-basic", GPU)
    assert hub.space_runtime(SPACE)["hardware"]["current"] == "cpu-basic"


async def test_wait_for_hardware_waits_while_every_gpu_is_taken(
    hub: SimulatedHub, clock: VirtualClock
) -> None:
    """With the Hub's only GPU of the flavor taken by another Space, `wait_for_hardware` keeps waiting
    while the Space runs on cpu-basic, and returns once the other Space frees the machine and the switch
    completes."""
    hub.create_space(SPACE)
    hub.create_space("alice/holder", hardware=GPU)
    hub.set_hardware_capacity(GPU, 1)
    async with _client(hub.transport(), clock) as client, _client(hub.transport(), clock) as other:
        await client.request_space_hardware(SPACE, GPU)

        async def free_the_gpu() -> None:
            await clock.sleep(UNSCHEDULED_FOR)
            await other.pause_space("alice/holder")

        async with anyio.create_task_group() as tg:
            tg.start_soon(free_the_gpu)
            runtime = await client.wait_for_hardware(SPACE, GPU, timeout=1800)
    assert (runtime.stage, runtime.hardware) == ("RUNNING", GPU)
    assert clock.now() >= UNSCHEDULED_FOR
    assert hub.counters.actions["scheduled"] == 1


# --- a woken Space paused again -----------------------------------------------------------------------------


async def test_wake_restarts_once_and_a_second_pause_raises(hub: SimulatedHub, clock: VirtualClock) -> None:
    """`wait_until_running(wake=True)` restarts a PAUSED Space once; when someone pauses it again while it
    starts, the wait raises SpaceNotRunningError instead of restarting it a second time."""
    hub.create_space(SPACE, stage="PAUSED")
    hub.set_durations(SPACE, build=20, start=40)
    stages: list[str] = []

    def seen(change: RuntimeChange) -> None:
        stages.append(change.stage)

    async with _client(hub.transport(), clock) as client, _client(hub.transport(), clock) as other:

        async def pause_while_starting() -> None:
            await clock.sleep(45)  # the restarted app is starting (20 s build, 40 s start)
            await other.pause_space(SPACE)

        async with anyio.create_task_group() as tg:
            tg.start_soon(pause_while_starting)
            with pytest.raises(SpaceNotRunningError) as info:
                await client.wait_until_running(SPACE, wake=True, timeout=600, on_change=seen)
    assert info.value.stage == "PAUSED"
    assert hub.counters.actions["restart"] == 1
    assert "APP_STARTING" in stages  # the pause came after the restart took effect, not before
    assert stages[-1] == "PAUSED"


async def test_wait_all_wakes_once_and_a_second_pause_is_reported(
    hub: SimulatedHub, clock: VirtualClock
) -> None:
    """`wait_all(wake=True)` restarts a PAUSED Space once; paused again while starting, it is reported as
    SpaceNotRunningError instead of being restarted again."""
    hub.create_space(SPACE, stage="PAUSED")
    hub.set_durations(SPACE, build=20, start=40)
    async with _client(hub.transport(), clock) as client, _client(hub.transport(), clock) as other:

        async def pause_while_starting() -> None:
            await clock.sleep(45)
            await other.pause_space(SPACE)

        async with anyio.create_task_group() as tg:
            tg.start_soon(pause_while_starting)
            report = await client.wait_all([SPACE], wake=True, timeout=600)
    assert not report.ok
    error = report[SPACE].error
    assert isinstance(error, SpaceNotRunningError)
    assert error.stage == "PAUSED"
    assert hub.counters.actions["restart"] == 1


# --- a fleet file leaving cpu-basic ------------------------------------------------------------------------


async def test_fleet_apply_sends_the_sleep_time_with_a_move_off_cpu_basic(
    hub: SimulatedHub, clock: VirtualClock
) -> None:
    """A Space moved from cpu-basic (which reports its fixed 48 h sleep) to a GPU with `sleep_time` = 48 h
    ends up sleeping after 48 h on the GPU, and planning again finds nothing to do."""
    hub.create_space(SPACE)  # cpu-basic: gcTimeout 172800, not the user's setting
    spec = parse_fleet_spec(f'[spaces."{SPACE}"]\nhardware = "{GPU}"\nsleep_time = 172800\n')
    async with _client(hub.transport(), clock) as client:
        assert (await client.get_space_runtime(SPACE)).sleep_time == 172800
        result = await apply_plan(client, await plan_fleet(client, spec), wait=True)
        assert result.ok
        runtime = await client.get_space_runtime(SPACE)
        assert (runtime.hardware, runtime.sleep_time) == (GPU, 172800)
        assert (await plan_fleet(client, spec)).is_empty


# --- 429 storms ---------------------------------------------------------------------------------------------

RESET = 5  # seconds until the (simulated) window resets, as each 429 says


class RateLimitStorm(Rewriting):
    """Answers the first `storm` runtime reads with the Hub's 429 (hub-api.md §4.1), the next `errors` with
    a 503, then lets the simulator answer."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, *, storm: int, errors: int = 0) -> None:
        super().__init__(inner)
        self.storm = storm
        self.errors = errors
        self.reads = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if not request.url.path.endswith("/runtime"):
            return await self.inner.handle_async_request(request)
        self.reads += 1
        if self.reads <= self.storm:
            return httpx2.Response(
                429,
                headers={
                    "RateLimit": f'"api";r=0;t={RESET}',
                    "RateLimit-Policy": '"fixed window";"api";q=1000;w=300',
                    "Retry-After": str(RESET),
                },
                json={"error": "You have exceeded our rate limit for 'api' requests. Please wait and retry."},
                request=request,
            )
        if self.reads <= self.storm + self.errors:
            return httpx2.Response(503, json={"error": "Service Unavailable"}, request=request)
        return await self.inner.handle_async_request(request)


async def test_a_429_storm_longer_than_the_ordinary_retries_is_waited_out(
    hub: SimulatedHub, clock: VirtualClock
) -> None:
    """Eight 429s in a row do not use up a call's two attempts: the call waits each window out, still has
    its retry for a 503, and succeeds."""
    hub.create_space(SPACE)
    storm = RateLimitStorm(hub.transport(), storm=8, errors=1)
    retry = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.1, max_rate_limited=10)
    async with _client(storm, clock, retry=retry) as client:
        runtime = await client.get_space_runtime(SPACE)
    assert runtime.stage == "RUNNING"
    assert storm.reads == 10  # 8 x 429, 1 x 503, 1 x 200
    assert clock.now() >= 8 * RESET  # each 429's window was waited out, not hammered


async def test_a_429_storm_longer_than_the_429_budget_raises_rate_limited(
    hub: SimulatedHub, clock: VirtualClock
) -> None:
    """A 429 storm that outlasts `max_rate_limited` raises RateLimitedError (with `retry_after`) after
    exactly that many waits, without touching the ordinary attempts."""
    hub.create_space(SPACE)
    storm = RateLimitStorm(hub.transport(), storm=1000)
    retry = RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.1, max_rate_limited=3)
    async with _client(storm, clock, retry=retry) as client:
        with pytest.raises(RateLimitedError) as info:
            await client.get_space_runtime(SPACE)
    assert info.value.status == 429
    assert info.value.retry_after is not None
    assert storm.reads == 4  # the first answer and 3 retries after waiting for the window


async def test_a_429_storm_from_the_hub_longer_than_the_ordinary_retries_is_waited_out(
    hub: SimulatedHub, clock: VirtualClock
) -> None:
    """Eight consecutive 429s from the Hub (a `rate_limited` storm) do not use up a call's two attempts:
    the call waits each `Retry-After` out and succeeds."""
    hub.create_space(SPACE)
    hub.add_fault("rate_limited", route=RUNTIME_ROUTE, count=8, seconds=RESET)
    retry = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.1, max_rate_limited=10)
    async with _client(hub.transport(), clock, retry=retry) as client:
        runtime = await client.get_space_runtime(SPACE)
    assert runtime.stage == "RUNNING"
    assert (hub.counters.rate_limited, hub.counters.requests[RUNTIME_ROUTE]) == (8, 9)
    assert clock.now() >= 8 * RESET


async def test_an_endless_429_storm_from_the_hub_raises_rate_limited_after_the_429_budget(
    hub: SimulatedHub, clock: VirtualClock
) -> None:
    """An endless `rate_limited` storm raises RateLimitedError (with `retry_after`) after exactly
    `max_rate_limited` waits, however many ordinary attempts remain."""
    hub.create_space(SPACE)
    hub.add_fault("rate_limited", route=RUNTIME_ROUTE, seconds=RESET)
    retry = RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.1, max_rate_limited=3)
    async with _client(hub.transport(), clock, retry=retry) as client:
        with pytest.raises(RateLimitedError) as info:
            await client.get_space_runtime(SPACE)
    assert info.value.status == 429
    assert info.value.retry_after is not None
    assert hub.counters.requests[RUNTIME_ROUTE] == 4  # the first answer and 3 retries


# --- corrupted downloads ------------------------------------------------------------------------------------


class CorruptDownloads(Rewriting):
    """Flips one byte of every successful GET body of more than `min_size` bytes (the size stays right)."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, *, min_size: int) -> None:
        super().__init__(inner)
        self.min_size = min_size
        self.active = False
        self.corrupted = 0

    async def rewrite(self, request: httpx2.Request, response: httpx2.Response) -> httpx2.Response:
        if not self.active or request.method != "GET" or response.status_code != 200:
            return response
        body = await response.aread()
        if len(body) <= self.min_size:
            return await _replace_body(request, response, body)
        self.corrupted += 1
        return await _replace_body(request, response, body[:-1] + bytes([body[-1] ^ 0xFF]))


@pytest.mark.parametrize("mode", ["cache", "local_dir"])
async def test_a_download_whose_bytes_do_not_match_their_sha256_is_refused(
    hub: SimulatedHub, clock: VirtualClock, tmp_path: Path, mode: str
) -> None:
    """An LFS file whose downloaded bytes do not match its sha256 raises TransportError and leaves no file
    behind; once the bytes arrive intact, the same call returns them."""
    data = random.Random(5).randbytes(64 * 1024)  # binary: uploaded through LFS
    hub.create_repo("alice/weights")
    corrupt = CorruptDownloads(hub.transport(), min_size=len(data) - 1)
    where = {"cache_dir": tmp_path / "cache"} if mode == "cache" else {"local_dir": tmp_path / "local"}
    async with _client(corrupt, clock) as client:
        await client.upload_file(path_or_fileobj=data, path_in_repo="model.bin", repo_id="alice/weights")
        corrupt.active = True
        with pytest.raises(TransportError, match="sha256"):
            await client.hf_hub_download("alice/weights", "model.bin", **where)
        assert corrupt.corrupted >= 1
        left = sorted([p.name async for p in anyio.Path(tmp_path).rglob("*") if await p.is_file()])
        assert not any(name == "model.bin" or name.endswith(".incomplete") for name in left), left
        corrupt.active = False
        path = await client.hf_hub_download("alice/weights", "model.bin", **where)
    assert await anyio.Path(path).read_bytes() == data


@pytest.mark.parametrize("mode", ["cache", "local_dir"])
async def test_a_download_the_hub_corrupts_is_refused(
    hub: SimulatedHub, clock: VirtualClock, tmp_path: Path, mode: str
) -> None:
    """An LFS file the Hub serves with bytes that do not match its sha256 (a `corrupt_body` fault, size
    intact) raises TransportError and leaves no file behind; once healed, the same call returns the bytes."""
    data = random.Random(6).randbytes(64 * 1024)
    hub.create_repo("alice/weights")
    where = {"cache_dir": tmp_path / "cache"} if mode == "cache" else {"local_dir": tmp_path / "local"}
    async with _client(hub.transport(), clock) as client:
        await client.upload_file(path_or_fileobj=data, path_in_repo="model.bin", repo_id="alice/weights")
        fault = hub.add_fault("corrupt_body")
        with pytest.raises(TransportError, match="sha256"):
            await client.hf_hub_download("alice/weights", "model.bin", **where)
        assert fault.injected >= 1
        left = sorted([p.name async for p in anyio.Path(tmp_path).rglob("*") if await p.is_file()])
        assert not any(name == "model.bin" or name.endswith(".incomplete") for name in left), left
        hub.clear_faults()
        path = await client.hf_hub_download("alice/weights", "model.bin", **where)
    assert await anyio.Path(path).read_bytes() == data


# --- a warning header that echoes the token ----------------------------------------------------------------


class EchoingWarnings(Rewriting):
    """Adds `X-HF-Warning` headers quoting the request's bearer token, with and without a topic."""

    async def rewrite(self, request: httpx2.Request, response: httpx2.Response) -> httpx2.Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        warnings = [
            ("X-HF-Warning", f"token; the token {token} expires soon"),
            ("X-HF-Warning", f"the token {token} is a legacy token"),
        ]
        return await _replace_body(request, response, await response.aread(), warnings)


async def test_a_warning_header_echoing_the_token_is_logged_without_it(
    hub: SimulatedHub, clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """The Hub's `X-HF-Warning` headers are logged, with the token masked even when the Hub quotes it (in
    the message or in a warning without a topic)."""
    hub.create_space(SPACE)
    with caplog.at_level(logging.DEBUG, logger="aiospaces"):
        async with _client(EchoingWarnings(hub.transport()), clock) as client:
            await client.get_space_runtime(SPACE)
    warnings = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Hub warning")]
    assert len(warnings) == 2
    assert all("***" in message for message in warnings)
    assert "expires soon" in warnings[0]
    assert "legacy token" in warnings[1]
    assert TOKEN not in caplog.text
    assert all(TOKEN not in r.getMessage() for r in caplog.records)


async def test_a_warning_header_the_hub_echoes_the_token_in_is_logged_without_it(
    hub: SimulatedHub, clock: VirtualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """`X-HF-Warning` headers in which the Hub quotes the caller's token (`warning` faults, with and without
    a topic) are logged with the token masked."""
    hub.create_space(SPACE)
    hub.add_fault("warning", route=RUNTIME_ROUTE, message="token; the token {token} expires soon")
    hub.add_fault("warning", route=RUNTIME_ROUTE, message="the token {token} is a legacy token")
    with caplog.at_level(logging.DEBUG, logger="aiospaces"):
        async with _client(hub.transport(), clock) as client:
            await client.get_space_runtime(SPACE)
    warnings = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Hub warning")]
    assert len(warnings) == 2
    assert all("***" in message for message in warnings)
    assert "expires soon" in warnings[0]
    assert "legacy token" in warnings[1]
    assert hub.counters.faults["warning"] == 2
    assert TOKEN not in caplog.text
    assert all(TOKEN not in r.getMessage() for r in caplog.records)


# --- the end of a no-follow log replay ---------------------------------------------------------------------


async def test_logs_without_follow_keep_lines_up_to_one_second_past_the_date(clock: VirtualClock) -> None:
    """Without follow, a line stamped exactly at the response's `Date` + 1 s is part of the replay, the first
    line stamped after it ends the read, and nothing after that line is yielded."""
    stamps = [
        ("old\n", "2025-01-01T00:00:10.000Z"),
        ("at the edge\n", "2025-01-01T00:00:31.000Z"),
        ("new\n", "2025-01-01T00:00:31.001Z"),
        ("after the new one\n", "2025-01-01T00:00:05.000Z"),
    ]
    body = "".join(f"data: {json.dumps({'data': d, 'timestamp': t})}\n\n" for d, t in stamps).encode()

    def answer(request: httpx2.Request) -> httpx2.Response:
        assert request.url.path == f"/api/spaces/{SPACE}/logs/run"
        return httpx2.Response(
            200,
            content=body,
            headers={"Content-Type": "text/event-stream", "Date": "Wed, 01 Jan 2025 00:00:30 GMT"},
        )

    async with _client(httpx2.MockTransport(answer), clock) as client:
        lines = [line async for line in client.fetch_space_logs(SPACE)]
    assert lines == ["old\n", "at the edge\n"]
