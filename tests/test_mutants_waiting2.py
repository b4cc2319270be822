"""Fleet waits, failure log tails, `wait_for_space`'s arguments and the temporary-hardware restore, pushed
past the cases the other tests cover, each from the caller's side (a report's errors, the reads the Hub got,
the log tail of an error, what was logged at WARNING) on the simulated Hub in virtual time."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import httpx2
import pytest

from aiospaces import PollPolicy, SpacesClient
from aiospaces.errors import SpaceFailedError, SpaceNotRunningError
from aiospaces.hubsim import SimulatedHub
from aiospaces.testing import SimulatedHubClient, VirtualClock, fast_retry

SPACE = "alice/gpu"
TOKEN = "hf_test_alice"
RUNTIME_ROUTE = "GET /api/spaces/{id}/runtime"
BUILD_LOGS_ROUTE = "GET /api/spaces/{id}/logs/build"


# --- wait_all -----------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_wait_all_reports_a_paused_space_under_its_own_id() -> None:
    """`wait_all` without `wake` reports a paused Space of the fleet as a SpaceNotRunningError that names that
    Space (its `repo_id` and the start of its text), next to the Space that runs."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/ok")
        env.hub.create_space("alice/paused", stage="PAUSED")
        report = await env.client.wait_all(["alice/ok", "alice/paused"], timeout=300)
    assert report["alice/ok"].ok
    error = report["alice/paused"].error
    assert isinstance(error, SpaceNotRunningError)
    assert (error.repo_id, error.stage) == ("alice/paused", "PAUSED")
    assert str(error).startswith("alice/paused is PAUSED")


@pytest.mark.anyio
async def test_wait_all_polls_at_the_callers_policy() -> None:
    """`wait_all(policy=...)` reads the fleet at that policy's pace: with every interval at 50 s, a switch of
    200 s is followed with a handful of reads, where the default policy reads far more often."""
    slow = PollPolicy(
        fast_interval=50.0, hot_interval=50.0, max_interval=50.0, transitional_max_interval=50.0, jitter=0.0
    )
    reads: dict[str, int] = {}
    for name, policy in (("slow", slow), ("default", None)):
        async with SimulatedHubClient() as env:
            env.hub.create_space(SPACE)
            env.hub.set_durations(SPACE, hardware_switch=200.0)
            await env.client.request_space_hardware(SPACE, "t4-medium")
            before = env.hub.counters.requests[RUNTIME_ROUTE]
            report = await env.client.wait_all([SPACE], timeout=3600, policy=policy)
            runtime = report[SPACE].result
            assert runtime is not None
            assert runtime.hardware == "t4-medium"
            reads[name] = env.hub.counters.requests[RUNTIME_ROUTE] - before
    assert reads["slow"] <= 6
    assert reads["default"] > 2 * reads["slow"]


# --- wait_for_space's arguments -----------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(("poll_interval", "error"), [(0, ValueError), (-5.0, ValueError), ("5", TypeError)])
async def test_a_bad_poll_interval_names_the_argument_before_any_request(
    poll_interval: object, error: type[Exception]
) -> None:
    """`wait_for_space` with a `poll_interval` that is not a positive number of seconds raises an error whose
    text starts with the argument's name, `poll_interval`, before any request."""
    async with SimulatedHubClient() as env:
        env.hub.create_space(SPACE)
        with pytest.raises(error, match=r"^poll_interval must be a "):
            await env.client.wait_for_space(SPACE, poll_interval=poll_interval)  # type: ignore[arg-type]
        assert env.hub.counters.total_requests == 0


# --- the log tail of a failure ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_failures_log_tail_is_read_when_the_logs_answer_after_a_few_seconds() -> None:
    """When the build logs take a few seconds to answer (well inside the fetch's 10 s bound), the
    SpaceFailedError of a failed build still carries those logs: the bound does not cut a slow answer off."""
    async with SimulatedHubClient() as env:
        env.hub.create_space(SPACE)
        logs = [f"step {i}" for i in range(8)] + ["ERROR: Could not find a version that satisfies torch==9"]
        env.hub.fail_next_build(SPACE, logs)
        env.hub.rebuild(SPACE)
        env.hub.add_fault("latency", route=BUILD_LOGS_ROUTE, seconds=3.0)
        with pytest.raises(SpaceFailedError) as caught:
            await env.client.wait_until_running(SPACE, timeout=600)
    assert caught.value.stage == "BUILD_ERROR"
    assert caught.value.log_tail == logs


class EndlessLogs(httpx2.AsyncBaseTransport):
    """Every request goes to the simulated Hub, except the logs: those answer a stream that never ends, one
    line every 0.2 s of the clock (no pause long enough to read as "drained")."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, clock: VirtualClock) -> None:
        self.inner = inner
        self.clock = clock
        self.sent = 0

    async def _events(self) -> AsyncIterator[bytes]:
        while True:
            line = json.dumps({"data": f"tick {self.sent}", "timestamp": "2026-01-01T00:00:00.000Z"})
            self.sent += 1
            yield b"data: " + line.encode() + b"\n\n"
            await self.clock.sleep(0.2)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if "/logs/" in request.url.path:
            return httpx2.Response(
                200, headers={"content-type": "text/event-stream"}, content=self._events(), request=request
            )
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.anyio
async def test_a_log_stream_that_never_goes_quiet_is_cut_at_the_fetch_bound_on_the_clients_clock() -> None:
    """When a failed Space's log stream never ends (a line every 0.2 s), the wait raises SpaceFailedError
    with the last lines read once the fetch's 10 s bound passes on the client's clock, not later."""
    clock = VirtualClock()
    hub = SimulatedHub(clock=clock, seed=0)
    hub.add_user("alice", token=TOKEN)
    hub.create_space(SPACE, stage="BUILD_ERROR")
    transport = EndlessLogs(hub.transport(), clock)
    async with SpacesClient(
        token=TOKEN, endpoint="https://hub.test", transport=transport, clock=clock, retry=fast_retry()
    ) as client:
        with pytest.raises(SpaceFailedError) as caught:
            await client.wait_until_running(SPACE, timeout=600)
    assert caught.value.stage == "BUILD_ERROR"
    assert 10.0 <= clock.now() <= 10.0 + 1.0
    assert len(caught.value.log_tail) == 20
    assert caught.value.log_tail[-1] == f"tick {transport.sent - 1}"
    assert transport.sent < 60  # about 10 s of lines, 5 a second


class GrowingLogs(httpx2.AsyncBaseTransport):
    """Every request goes to the simulated Hub, except the logs: those answer (with a `Date` header) the
    buffered `replay` lines stamped before that date, then keep growing, a new line every 0.2 s of the clock,
    stamped after it, as a log that is still being written does."""

    DATE = "Thu, 01 Jan 2026 00:00:00 GMT"

    def __init__(self, inner: httpx2.AsyncBaseTransport, clock: VirtualClock, replay: list[str]) -> None:
        self.inner = inner
        self.clock = clock
        self.replay = replay
        self.grown = 0

    async def _events(self) -> AsyncIterator[bytes]:
        for line in self.replay:
            yield b"data: " + json.dumps({"data": line, "timestamp": "2025-12-31T23:59:00.000Z"}).encode()
            yield b"\n\n"
        while True:
            await self.clock.sleep(0.2)
            self.grown += 1
            event = {"data": f"new {self.grown}", "timestamp": "2026-01-01T00:00:05.000Z"}
            yield b"data: " + json.dumps(event).encode() + b"\n\n"

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if "/logs/" in request.url.path:
            headers = {"content-type": "text/event-stream", "date": self.DATE}
            return httpx2.Response(200, headers=headers, content=self._events(), request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.anyio
async def test_a_failures_log_tail_is_the_buffered_log_not_lines_written_after_the_fetch() -> None:
    """The SpaceFailedError of a failed Space whose log stream keeps growing carries the log the Hub had
    buffered when asked, and comes as soon as that is read: the wait does not follow the stream's new lines
    until the fetch's 10 s bound."""
    clock = VirtualClock()
    hub = SimulatedHub(clock=clock, seed=0)
    hub.add_user("alice", token=TOKEN)
    hub.create_space(SPACE, stage="BUILD_ERROR")
    replay = ["Collecting torch==>1", "ERROR: Invalid requirement: 'torch==>1'"]
    transport = GrowingLogs(hub.transport(), clock, replay)
    async with SpacesClient(
        token=TOKEN, endpoint="https://hub.test", transport=transport, clock=clock, retry=fast_retry()
    ) as client:
        with pytest.raises(SpaceFailedError) as caught:
            await client.wait_until_running(SPACE, timeout=600)
    assert caught.value.log_tail == replay
    assert clock.now() < 1.0


# --- temporary hardware ------------------------------------------------------------------------------------


class LaggingRestoreAnswer(httpx2.AsyncBaseTransport):
    """Passes every request to the simulated Hub; the answer to the second hardware request (the block's
    restore) shows `shown` still requested, as a lagging replica would, although the Hub applied it."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, shown: str) -> None:
        self.inner = inner
        self.shown = shown
        self.hardware_requests = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        if request.method != "POST" or not request.url.path.endswith("/hardware"):
            return response
        self.hardware_requests += 1
        if self.hardware_requests != 2:
            return response
        body = json.loads(await response.aread())
        body["hardware"]["requested"] = self.shown
        return httpx2.Response(response.status_code, json=body, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.anyio
async def test_a_restore_confirmed_on_its_retry_logs_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    """A block whose first restore answer still shows the temporary flavor requested sends the restore
    again, gets it confirmed and exits cleanly with the Space back on its flavor, logging nothing at WARNING
    or above: the Space ends as the user wanted, a warning would be a false alarm."""
    clock = VirtualClock()
    hub = SimulatedHub(clock=clock, seed=0)
    hub.add_user("alice", token=TOKEN)
    hub.create_space(SPACE)
    transport = LaggingRestoreAnswer(hub.transport(), "t4-small")
    async with SpacesClient(
        token=TOKEN, endpoint="https://hub.test", transport=transport, clock=clock, retry=fast_retry()
    ) as client:
        with caplog.at_level(logging.DEBUG, logger="aiospaces"):
            async with client.temporary_hardware(SPACE, "t4-small", timeout=600) as runtime:
                assert runtime.hardware == "t4-small"
    assert transport.hardware_requests == 3  # the block's request, the unconfirmed restore, its retry
    assert hub.space_runtime(SPACE)["hardware"]["requested"] == "cpu-basic"
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
