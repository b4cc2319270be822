"""Waits and the temporary-hardware block pushed past the cases the other tests cover, each from the caller's
side (an error's fields, what the Hub was asked, what was logged at WARNING) on the simulated Hub in virtual
time."""

from __future__ import annotations

import logging
import re

import anyio
import httpx2
import pytest
import trio
import trio.testing

from aiospaces import PollPolicy, RetryPolicy, SpacesClient
from aiospaces.errors import HardwareRestoreError, HubHTTPError, SpaceFailedError, WaitTimeoutError
from aiospaces.hubsim import SimulatedHub
from aiospaces.testing import SimulatedHubClient, VirtualClock

SPACE = "alice/gpu"
TOKEN = "hf_test_alice"


# --- temporary hardware ------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_clean_restore_of_the_sleep_time_logs_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    """A block with `sleep_time` that puts the flavor and the sleep time back without trouble logs nothing at
    WARNING or above: a warning there would be a false alarm about a Space left as the user did not want."""
    async with SimulatedHubClient() as env:
        env.hub.create_space(SPACE, hardware="cpu-upgrade", sleep_time=3600)
        with caplog.at_level(logging.WARNING, logger="aiospaces"):
            async with env.client.temporary_hardware(SPACE, "t4-small", sleep_time=600, timeout=600):
                assert env.hub.space_runtime(SPACE)["gcTimeout"] == 600
        assert env.hub.space_runtime(SPACE)["hardware"]["requested"] == "cpu-upgrade"
        assert env.hub.space_runtime(SPACE)["gcTimeout"] == 3600
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


class FrozenClock:
    """A client clock that never advances (its sleeps never end): only real-time bounds can end a wait."""

    def now(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep_forever()


class RefusedThenSilent(httpx2.AsyncBaseTransport):
    """The first runtime read is answered; the entry's hardware request gets a 500; after that every request
    is answered only after `silence` seconds of real time."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, silence: float) -> None:
        self.inner = inner
        self.silence = silence
        self.requests = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests += 1
        if self.requests == 1:
            return await self.inner.handle_async_request(request)
        if self.requests == 2:
            return httpx2.Response(500, json={"error": "boom"}, request=request)
        await anyio.sleep(self.silence)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_the_restore_and_the_billed_read_are_bounded_in_real_time_when_the_clock_stands_still() -> None:
    """With a client clock that stands still and a Hub that answers only after a day, the restore gives up
    after its real-time bound (330 s) and the billed read after its own (10 s): the block raises
    HardwareRestoreError presuming its flavor billed, within minutes of (mock) real time, not a day."""
    silence = 86_400.0

    async def main() -> tuple[HardwareRestoreError, float]:
        hub = SimulatedHub(clock=VirtualClock(), seed=0)
        hub.add_user("alice", token=TOKEN)
        hub.create_space(SPACE)
        transport = RefusedThenSilent(hub.transport(), silence)
        start = trio.current_time()
        async with SpacesClient(
            token=TOKEN,
            endpoint="https://hub.test",
            transport=transport,
            clock=FrozenClock(),
            retry=RetryPolicy(max_attempts=1),
            timeout=None,
        ) as client:
            with pytest.raises(HardwareRestoreError) as caught:
                async with client.temporary_hardware(SPACE, "t4-medium", timeout=600):
                    pytest.fail("the block must not run")
            return caught.value, trio.current_time() - start

    error, elapsed = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert isinstance(error.__context__, HubHTTPError)  # the entry's own failure, restored after
    assert (error.billed_hardware, error.restore_to) == ("t4-medium", "cpu-basic")
    assert elapsed <= 330.0 + 10.0 + 1.0


# --- failures ----------------------------------------------------------------------------------------------


class SilentLogs(httpx2.AsyncBaseTransport):
    """Every request is answered at once, except the logs: those only after `silence` seconds of real time."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, silence: float) -> None:
        self.inner = inner
        self.silence = silence

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if "/logs/" in request.url.path:
            await anyio.sleep(self.silence)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_fetching_the_log_tail_of_a_failure_is_bounded_in_real_time_when_the_clock_stands_still() -> None:
    """With a client clock that stands still and logs that answer only after a day, a wait that reads
    BUILD_ERROR raises SpaceFailedError (with an empty log tail) after the fetch's real-time bound (10 s),
    not a day later."""

    async def main() -> tuple[SpaceFailedError, float]:
        hub = SimulatedHub(clock=VirtualClock(), seed=0)
        hub.add_user("alice", token=TOKEN)
        hub.create_space(SPACE, stage="BUILD_ERROR")
        start = trio.current_time()
        async with SpacesClient(
            token=TOKEN,
            endpoint="https://hub.test",
            transport=SilentLogs(hub.transport(), 86_400.0),
            clock=FrozenClock(),
            retry=RetryPolicy(max_attempts=1),
            timeout=None,
        ) as client:
            with pytest.raises(SpaceFailedError) as caught:
                await client.wait_until_running(SPACE, timeout=600)
            return caught.value, trio.current_time() - start

    error, elapsed = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert (error.repo_id, error.stage, error.log_tail) == (SPACE, "BUILD_ERROR", [])
    assert elapsed <= 10.0 + 1.0


@pytest.mark.anyio
async def test_a_build_failures_text_carries_the_hubs_message_and_the_last_build_log_lines() -> None:
    """The text of a build failure's SpaceFailedError (what a traceback or the CLI shows) carries the Hub's
    message and the last five build log lines, says they are build logs, and the log tail keeps every line
    as the Hub sent it, only the line ending removed."""
    async with SimulatedHubClient() as env:
        env.hub.create_space(SPACE)
        logs = [f"building step {i:02d}" for i in range(30)] + ["gcc -O2 -DUSE_AVX", "exit status 1   "]
        env.hub.fail_next_build(SPACE, logs, message="Build failed with exit code: 1")
        env.hub.rebuild(SPACE)
        with pytest.raises(SpaceFailedError) as caught:
            await env.client.wait_until_running(SPACE, timeout=600)
    error = caught.value
    text = str(error)
    assert "Build failed with exit code: 1" in text
    assert error.log_tail[-2:] == ["gcc -O2 -DUSE_AVX", "exit status 1   "]
    assert text.splitlines()[-5:] == logs[-5:]
    assert logs[-6] not in text
    assert re.search(r"\bbuild log", text)
    assert not re.search(r"\brun\b", text)


@pytest.mark.anyio
async def test_a_runtime_failures_text_says_its_lines_are_run_logs_and_invents_no_message() -> None:
    """A crash's SpaceFailedError text shows the last run log lines as run logs; a runtime failure without a
    Hub message names the Space and the stage and adds no message of its own."""
    async with SimulatedHubClient() as env:
        env.hub.create_space(SPACE)
        env.hub.crash(SPACE, ["Traceback (most recent call last):", "ZeroDivisionError: division by zero"])
        with pytest.raises(SpaceFailedError) as crashed:
            await env.client.wait_until_running(SPACE, timeout=60)
        env.hub.create_space("alice/silent", stage="RUNTIME_ERROR")
        with pytest.raises(SpaceFailedError) as silent:
            await env.client.wait_until_running("alice/silent", timeout=60)
    text = str(crashed.value)
    assert text.splitlines()[-1] == "ZeroDivisionError: division by zero"
    assert re.search(r"\brun log", text)
    assert not re.search(r"\bbuild\b", text)
    assert silent.value.error_message is None
    first = str(silent.value).splitlines()[0]
    assert first.startswith("alice/silent")
    assert first.endswith("RUNTIME_ERROR")
    assert "None" not in str(silent.value)


@pytest.mark.anyio
async def test_wait_until_raises_a_failure_stage_instead_of_waiting_on() -> None:
    """`wait_until` with a condition that a crashed Space never meets raises SpaceFailedError naming the
    Space, its stage and the read, with the run log tail, instead of polling until the deadline."""
    async with SimulatedHubClient() as env:
        env.hub.create_space(SPACE)
        env.hub.crash(SPACE, ["Traceback (most recent call last):", "ZeroDivisionError: division by zero"])
        with pytest.raises(SpaceFailedError) as caught:
            await env.client.wait_until(SPACE, lambda runtime: runtime.hardware == "t4-medium", timeout=600)
        error = caught.value
        assert (error.repo_id, error.stage) == (SPACE, "RUNTIME_ERROR")
        assert error.runtime is not None
        assert str(error.runtime.stage) == "RUNTIME_ERROR"
        assert error.log_tail[-1] == "ZeroDivisionError: division by zero"
        assert env.clock.now() < 60.0


# --- arguments ---------------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("method", ["wait_until_running", "wait_for_hardware", "wait_all"])
async def test_a_wake_that_is_not_a_bool_names_the_argument_wake_itself(method: str) -> None:
    """A `wake` that is not a bool raises a TypeError naming the argument `wake` as the caller wrote it (not
    another name), before any request."""
    async with SimulatedHubClient() as env:
        env.hub.create_space(SPACE)
        calls = {
            "wait_until_running": lambda: env.client.wait_until_running(SPACE, wake="yes"),  # type: ignore[arg-type]
            "wait_for_hardware": lambda: env.client.wait_for_hardware(SPACE, "t4-medium", wake="yes"),  # type: ignore[arg-type]
            "wait_all": lambda: env.client.wait_all([SPACE], wake="yes"),  # type: ignore[arg-type]
        }
        with pytest.raises(TypeError, match=r"^wake must be a bool\b"):
            await calls[method]()
        assert env.hub.counters.total_requests == 0


@pytest.mark.anyio
async def test_bad_wait_and_block_arguments_name_the_argument_before_any_request() -> None:
    """`wait_for_space` with both `poll_interval` and `policy`, `wait_until` with a predicate that is not
    callable, and `temporary_hardware` with an unknown `restore` flavor each raise naming the argument (and,
    for the predicate, the type given), before any request."""
    async with SimulatedHubClient() as env:
        env.hub.create_space(SPACE)
        client = env.client
        with pytest.raises(ValueError, match=r"\bpoll_interval\b.*\bpolicy\b"):
            await client.wait_for_space(SPACE, poll_interval=5.0, policy=PollPolicy())
        with pytest.raises(TypeError, match=r"^predicate\b.*\bstr\b"):
            await client.wait_until(SPACE, "RUNNING")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=r"^restore must be a hardware flavor"):
            client.temporary_hardware(SPACE, "t4-medium", restore="t4 medium")
        assert env.hub.counters.total_requests == 0


@pytest.mark.anyio
async def test_wait_until_gives_up_at_its_deadline() -> None:
    """`wait_until` with a condition a healthy Space never meets raises WaitTimeoutError at its deadline,
    carrying the last read, instead of waiting forever."""
    async with SimulatedHubClient() as env:
        env.hub.create_space(SPACE)
        with pytest.raises(WaitTimeoutError) as caught:
            await env.client.wait_until(SPACE, lambda runtime: runtime.hardware == "t4-medium", timeout=120)
        assert caught.value.runtime is not None
        assert 120.0 <= env.clock.now() < 200.0


@pytest.mark.anyio
async def test_wait_until_polls_at_the_callers_policy() -> None:
    """`wait_until(policy=...)` reads the runtime at that policy's pace: with every interval at 50 s, a
    switch of 200 s is followed with a handful of reads, where the default policy reads far more often."""
    slow = PollPolicy(
        fast_interval=50.0, hot_interval=50.0, max_interval=50.0, transitional_max_interval=50.0, jitter=0.0
    )
    route = "GET /api/spaces/{id}/runtime"
    reads: dict[str, int] = {}
    for name, policy in (("slow", slow), ("default", None)):
        async with SimulatedHubClient() as env:
            env.hub.create_space(SPACE)
            env.hub.set_durations(SPACE, hardware_switch=200.0)
            await env.client.request_space_hardware(SPACE, "t4-medium")
            before = env.hub.counters.requests[route]
            runtime = await env.client.wait_until(
                SPACE, lambda r: r.hardware == "t4-medium", timeout=3600, policy=policy
            )
            assert runtime.hardware == "t4-medium"
            reads[name] = env.hub.counters.requests[route] - before
    assert reads["slow"] <= 6
    assert reads["default"] > 2 * reads["slow"]


@pytest.mark.anyio
async def test_watch_many_polls_at_the_callers_policy() -> None:
    """`watch_many(policy=...)` reads the fleet at that policy's pace: with every interval at 50 s, five
    minutes of a 200 s switch take a handful of reads, where the default policy reads far more often."""
    slow = PollPolicy(
        fast_interval=50.0, hot_interval=50.0, max_interval=50.0, transitional_max_interval=50.0, jitter=0.0
    )
    route = "GET /api/spaces/{id}/runtime"
    reads: dict[str, int] = {}
    for name, policy in (("slow", slow), ("default", None)):
        async with SimulatedHubClient() as env:
            env.hub.create_space(SPACE)
            env.hub.set_durations(SPACE, hardware_switch=200.0)
            await env.client.request_space_hardware(SPACE, "t4-medium")
            before = env.hub.counters.requests[route]
            async for _ in env.client.watch_many([SPACE], timeout=300, policy=policy):
                pass
            reads[name] = env.hub.counters.requests[route] - before
    assert reads["slow"] <= 8
    assert reads["default"] > 2 * reads["slow"]
