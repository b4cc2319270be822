"""`wait_for_space`, `wait_until`, `wait_until_running`, `wait_for_hardware`: outcomes and typed errors, in
virtual time against the simulated Hub."""

from __future__ import annotations

import anyio
import pytest

from aiospaces import PollPolicy, RuntimeChange, SpaceRuntime, SpacesClient
from aiospaces.errors import (
    HardwareConflictError,
    SpaceFailedError,
    SpaceNotRunningError,
    WaitError,
    WaitTimeoutError,
)
from aiospaces.testing import SimulatedHubClient

pytestmark = pytest.mark.anyio

RUNTIME_ROUTE = "GET /api/spaces/{id}/runtime"
HARDWARE_ROUTE = "POST /api/spaces/{id}/hardware"


async def test_wait_for_hardware_with_slow_switch_and_stale_reads() -> None:
    """After requesting t4-medium (60 s switch, stale reads injected), the wait returns only once the Space
    really runs t4-medium."""
    async with SimulatedHubClient(seed=3) as env:
        hub, client = env.hub, env.client
        hub.create_space("alice/gpu")
        hub.set_durations("alice/gpu", hardware_switch=60.0, build=20.0, start=10.0)
        stale = hub.add_fault("stale_runtime", route=RUNTIME_ROUTE, probability=0.4, seconds=30.0)
        answer = await client.request_space_hardware("alice/gpu", "t4-medium")
        assert (answer.requested_hardware, answer.hardware) == ("t4-medium", "cpu-basic")
        runtime = await client.wait_for_hardware("alice/gpu", timeout=600)
        assert (str(runtime.stage), runtime.hardware, runtime.requested_hardware) == (
            "RUNNING",
            "t4-medium",
            "t4-medium",
        )
        truth = hub.space_runtime("alice/gpu")
        assert (truth["stage"], truth["hardware"]["current"]) == ("RUNNING", "t4-medium")
        assert env.clock.now() >= 60.0
        assert stale.injected > 0  # the stale reads did happen


async def test_wait_until_running_after_restart_ignores_stale_running() -> None:
    """Right after a restart, stale reads still showing the old RUNNING never end the wait early."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.create_space("alice/demo")
        hub.set_durations("alice/demo", build=30.0, start=10.0)
        env.clock.advance(100.0)
        answer = await client.restart_space("alice/demo")
        assert str(answer.stage) == "BUILDING"
        hub.add_fault("stale_runtime", route=RUNTIME_ROUTE, count=3, seconds=50.0)
        runtime = await client.wait_until_running("alice/demo", timeout=300)
        assert str(runtime.stage) == "RUNNING"
        assert env.clock.now() >= 100.0 + 30.0 + 10.0


async def test_build_error_raises_with_stage_message_and_log_tail() -> None:
    """BUILD_ERROR raises SpaceFailedError with the stage, the Hub's message and the last build log lines."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.create_space("alice/broken")
        logs = [f"step {i}" for i in range(30)] + ["ERROR: No matching distribution found for torch==>1"]
        hub.fail_next_build("alice/broken", logs, message="Build failed with exit code: 1")
        hub.rebuild("alice/broken")
        with pytest.raises(SpaceFailedError) as caught:
            await client.wait_until_running("alice/broken", timeout=600)
        error = caught.value
        assert error.stage == "BUILD_ERROR"
        assert error.error_message == "Build failed with exit code: 1"
        assert error.log_tail[-1] == "ERROR: No matching distribution found for torch==>1"
        assert 1 < len(error.log_tail) <= 20
        assert "torch==>1" in str(error)
        assert error.runtime is not None
        assert str(error.runtime.stage) == "BUILD_ERROR"
        assert hub.counters.in_flight == 0  # the log stream was closed


async def test_runtime_error_raises_with_run_logs() -> None:
    """A crash (RUNTIME_ERROR) raises SpaceFailedError with the last run log lines."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.create_space("alice/crashy")
        hub.crash(
            "alice/crashy", ["Traceback (most recent call last):", "ZeroDivisionError: division by zero"]
        )
        with pytest.raises(SpaceFailedError) as caught:
            await client.wait_until_running("alice/crashy", timeout=60)
        assert caught.value.stage == "RUNTIME_ERROR"
        assert caught.value.log_tail[-2:] == [
            "Traceback (most recent call last):",
            "ZeroDivisionError: division by zero",
        ]


async def test_paused_raises_or_wakes() -> None:
    """PAUSED raises SpaceNotRunningError; with wake=True the Space is restarted and RUNNING returned."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.create_space("alice/sleepy", stage="PAUSED")
        with pytest.raises(SpaceNotRunningError) as caught:
            await client.wait_until_running("alice/sleepy", timeout=60)
        assert caught.value.stage == "PAUSED"
        assert "wake=True" in str(caught.value)
        assert hub.counters.actions["restart"] == 0
        runtime = await client.wait_until_running("alice/sleepy", timeout=600, wake=True)
        assert str(runtime.stage) == "RUNNING"
        assert hub.counters.actions["restart"] == 1
        assert hub.space_stage("alice/sleepy") == "RUNNING"


async def test_wait_for_hardware_raises_on_paused_or_wakes_once() -> None:
    """wait_for_hardware raises SpaceNotRunningError on PAUSED; with wake=True it restarts the Space once and
    returns once the flavor runs."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.create_space("alice/paused-gpu", stage="PAUSED")
        with pytest.raises(SpaceNotRunningError):
            await client.wait_for_hardware("alice/paused-gpu", "cpu-basic", timeout=60)
        assert hub.counters.actions["restart"] == 0
        runtime = await client.wait_for_hardware("alice/paused-gpu", "cpu-basic", timeout=600, wake=True)
        assert str(runtime.stage) == "RUNNING"
        assert runtime.hardware == "cpu-basic"
        assert hub.counters.actions["restart"] == 1


async def test_timeout_raises_with_last_runtime_at_the_deadline() -> None:
    """A timeout raises WaitTimeoutError (a TimeoutError) with the last runtime, polled at the deadline."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.set_durations(build=600.0)
        hub.create_space("alice/slow", stage=None)
        with pytest.raises(WaitTimeoutError) as caught:
            await client.wait_until_running("alice/slow", timeout=100)
        error = caught.value
        assert isinstance(error, TimeoutError)
        assert isinstance(error, WaitError)
        assert error.timeout == 100
        assert error.runtime is not None
        assert str(error.runtime.stage) == "BUILDING"
        assert env.clock.now() == pytest.approx(100.0)
        assert "BUILDING" in str(error)


async def test_wait_for_space_has_hfapi_semantics() -> None:
    """wait_for_space returns on any settled stage, failures included, and honours a fixed poll_interval."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.create_space("alice/broken")
        hub.fail_next_build("alice/broken")
        hub.set_durations("alice/broken", build=30.0)
        hub.rebuild("alice/broken")
        runtime = await client.wait_for_space("alice/broken", poll_interval=5.0)
        assert str(runtime.stage) == "BUILD_ERROR"
        assert env.clock.now() == pytest.approx(30.0)
        assert hub.counters.requests[RUNTIME_ROUTE] == 7  # t = 0, 5, ..., 30
        for bad in (0, -1.0, float("nan"), float("inf")):
            with pytest.raises(ValueError, match="poll_interval"):
                await client.wait_for_space("alice/broken", poll_interval=bad)


async def test_wait_until_predicate() -> None:
    """wait_until returns the first runtime satisfying the predicate (every earlier read failed it); a
    predicate that is not callable is refused."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.create_space("alice/demo")
        hub.set_durations("alice/demo", hardware_switch=45.0)
        await client.request_space_hardware("alice/demo", "a10g-small")
        seen: list[RuntimeChange] = []

        def on_a10g(r: SpaceRuntime) -> bool:
            return r.hardware == r.requested_hardware == "a10g-small"

        runtime = await client.wait_until("alice/demo", on_a10g, timeout=300, on_change=seen.append)
        assert runtime.hardware == "a10g-small"
        assert seen[-1].current is runtime
        assert len(seen) > 1
        assert not any(on_a10g(change.current) for change in seen[:-1])
        with pytest.raises(TypeError, match="predicate"):
            await client.wait_until("alice/demo", "RUNNING")  # type: ignore[arg-type]


async def test_wait_until_running_after_hardware_request_waits_for_new_hardware() -> None:
    """Right after a hardware request, wait_until_running does not return the old hardware's RUNNING."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.create_space("alice/demo")
        hub.set_durations("alice/demo", hardware_switch=60.0)
        await client.request_space_hardware("alice/demo", "t4-small")
        runtime = await client.wait_until_running("alice/demo", timeout=600)
        assert (str(runtime.stage), runtime.hardware) == ("RUNNING", "t4-small")


async def test_hardware_conflict_raises() -> None:
    """Another flavor requested by someone else while waiting raises HardwareConflictError."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.create_space("alice/demo")
        hub.set_durations("alice/demo", hardware_switch=60.0)
        await client.request_space_hardware("alice/demo", "t4-medium")

        async def someone_else() -> None:
            await env.clock.sleep(20.0)
            # a second client of the same user, on the same hub
            async with SpacesClient(
                token=env.token, endpoint="https://hub.test", transport=hub.transport(), clock=env.clock
            ) as second:
                await second.request_space_hardware("alice/demo", "a10g-large")

        async with anyio.create_task_group() as tg:
            tg.start_soon(someone_else)
            with pytest.raises(HardwareConflictError) as caught:
                await client.wait_for_hardware("alice/demo", timeout=600)
        error = caught.value
        assert (error.expected, error.requested) == ("t4-medium", "a10g-large")


async def test_explicit_target_not_requested_is_a_conflict() -> None:
    """Waiting for a flavor nobody requested raises at once instead of hanging."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/demo")
        with pytest.raises(HardwareConflictError):
            await env.client.wait_for_hardware("alice/demo", "t4-medium", timeout=600)
        assert env.clock.now() == 0.0


async def test_wait_rejects_bad_arguments_before_any_request() -> None:
    """Bad arguments raise ValueError/TypeError naming the argument before any request."""
    async with SimulatedHubClient() as env:
        client = env.client
        with pytest.raises(ValueError, match="timeout"):
            await client.wait_until_running("alice/demo", timeout=-5)
        with pytest.raises(ValueError, match="timeout"):
            await client.wait_for_space("alice/demo", timeout=float("nan"))
        with pytest.raises(TypeError, match="wake"):
            await client.wait_until_running("alice/demo", wake="yes")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="repo_id"):
            await client.wait_for_hardware("alice/demo/extra")
        with pytest.raises(TypeError, match="hardware"):
            await client.wait_for_hardware("alice/demo", 3)  # type: ignore[arg-type]
        assert env.hub.counters.total_requests == 0


async def test_cancelling_a_wait_leaves_nothing_behind() -> None:
    """Cancelling a wait (while sleeping, or while a log tail streams) leaves no task and no open response."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.create_space("alice/demo", stage=None)
        hub.create_space("alice/broken")
        hub.set_durations("alice/broken", build=10.0)
        hub.fail_next_build("alice/broken")
        hub.rebuild("alice/broken")
        # BUILD_ERROR at t=10, seen by t=12; the log request then takes 5 s: t=14.5 is inside it.
        logs = hub.add_fault("latency", route="GET /api/spaces/{id}/logs/*", seconds=5.0)
        tasks = len(anyio.get_running_tasks())
        for repo_id, cancel_at in (("alice/broken", 14.5), ("alice/demo", 3.0), ("alice/demo", 30.0)):
            with anyio.CancelScope() as scope:

                async def cancel_later(scope: anyio.CancelScope = scope, delay: float = cancel_at) -> None:
                    await env.clock.sleep(delay)
                    scope.cancel()

                async with anyio.create_task_group() as tg:
                    tg.start_soon(cancel_later)
                    await client.wait_until_running(repo_id, timeout=3600)
            assert scope.cancelled_caught
            assert hub.counters.in_flight == 0
            assert len(anyio.get_running_tasks()) == tasks
            assert client._session.load.pollers == 0
        assert logs.injected == 1  # the first cancellation did land in the log fetch


async def test_log_tail_is_bounded_in_time() -> None:
    """A log stream that does not end in time cannot turn a failure into a hang: the error still comes."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.create_space("alice/broken")
        hub.set_durations("alice/broken", build=10.0)
        hub.fail_next_build("alice/broken", [f"line {i}" for i in range(50)])
        hub.rebuild("alice/broken")
        hub.add_fault("slow_body", route="GET /api/spaces/{id}/logs/build", seconds=100_000.0)
        with pytest.raises(SpaceFailedError) as caught:
            await client.wait_until_running("alice/broken", timeout=600)
        assert caught.value.stage == "BUILD_ERROR"
        assert env.clock.now() < 10.0 + 2.0 + 11.0  # detection, then at most the 10 s log budget
        assert hub.counters.in_flight == 0


async def test_two_hundred_concurrent_waits_in_virtual_time() -> None:
    """200 concurrent waits on one virtual clock each return when, and only when, their Space runs."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        ids = [f"alice/s{i:03d}" for i in range(200)]
        for i, repo_id in enumerate(ids):
            hub.create_space(repo_id)
            hub.set_durations(repo_id, build=20.0 + i, start=5.0 + i % 10)
            hub.rebuild(repo_id)  # RUNNING_BUILDING → RUNNING_APP_STARTING → RUNNING, with these durations
        returned: dict[str, float] = {}

        async def wait(repo_id: str) -> None:
            runtime = await client.wait_until_running(repo_id, timeout=3600)
            assert str(runtime.stage) == "RUNNING"
            assert hub.space_stage(repo_id) == "RUNNING"  # the Hub agrees at that very moment
            returned[repo_id] = env.clock.now()

        async with anyio.create_task_group() as tg:
            for repo_id in ids:
                tg.start_soon(wait, repo_id)
        # The 200 waits share one polling budget: a quarter of the 100,000 calls per 300 s the simulator
        # advertises, about 83 polls a second. With all 200 busy, one Space may wait up to 200 / 83 s for its
        # turn on top of the poll cadence's own lag (the jitter makes where in that range it lands vary).
        budget_turn = len(ids) / (PollPolicy().poll_share * 100_000 / 300.0)
        for i, repo_id in enumerate(ids):
            build, start = 20.0 + i, 5.0 + i % 10
            ready = build + start
            lag = returned[repo_id] - ready
            assert 0.0 <= lag <= max(2.0, 0.1 * max(build, start)) + budget_turn + 1e-6


async def test_wait_after_pause_never_returns_the_old_running() -> None:
    """Right after a pause, stale reads still showing RUNNING do not satisfy a wait: it raises PAUSED."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.create_space("alice/demo")
        env.clock.advance(100.0)
        answer = await client.pause_space("alice/demo")
        assert str(answer.stage) == "PAUSED"
        stale = hub.add_fault("stale_runtime", route=RUNTIME_ROUTE, count=2, seconds=50.0)
        with pytest.raises(SpaceNotRunningError) as caught:
            await client.wait_until_running("alice/demo", timeout=300)
        assert caught.value.stage == "PAUSED"
        assert stale.injected == 2


async def test_stale_running_after_the_build_was_seen_does_not_end_the_wait() -> None:
    """After a restart, a stale read still showing the old RUNNING, arriving once the new build has been
    seen, does not end `wait_until_running` early: the returned RUNNING is the restarted app's."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.create_space("alice/demo")
        hub.set_durations("alice/demo", build=30.0, start=10.0)
        env.clock.advance(100.0)
        await client.restart_space("alice/demo")
        faults = []

        def stale_after_build(change: RuntimeChange) -> None:
            if change.stage == "BUILDING" and not faults:
                # The next read comes from a replica 50 s behind: before the restart, still RUNNING.
                faults.append(hub.add_fault("stale_runtime", route=RUNTIME_ROUTE, count=1, seconds=50.0))

        runtime = await client.wait_until_running("alice/demo", timeout=300, on_change=stale_after_build)
        assert str(runtime.stage) == "RUNNING"
        assert hub.space_stage("alice/demo") == "RUNNING"
        assert env.clock.now() >= 100.0 + 30.0 + 10.0
        assert faults[0].injected == 1


async def test_a_rate_limited_read_does_not_carry_the_wait_past_its_deadline() -> None:
    """A runtime read stuck waiting for the rate-limit window (quota spent by another client of the account)
    is cut off shortly after the deadline: the wait raises WaitTimeoutError then, not at the window reset."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.set_durations(build=600.0)
        hub.create_space("alice/slow", stage=None)
        hub.set_rate_limit(3, window_seconds=300.0)
        async with SpacesClient(
            token=env.token, endpoint="https://hub.test", transport=hub.transport(), clock=env.clock
        ) as other:
            for _ in range(3):
                await other.get_space_runtime("alice/slow")
        with pytest.raises(WaitTimeoutError) as caught:
            await client.wait_until_running("alice/slow", timeout=30)
        assert caught.value.timeout == 30
        assert 30.0 <= env.clock.now() <= 30.0 + 10.0
        assert hub.counters.in_flight == 0
        assert client._session.load.pollers == 0


async def test_an_unknown_stage_neither_crashes_nor_hangs() -> None:
    """A stage this SDK does not know (a new Hub stage) ends wait_for_space as HfApi does, and makes
    wait_until_running time out at its deadline with that stage in the error, without crashing."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.create_space("alice/new", stage="SCHEDULING")
        runtime = await client.wait_for_space("alice/new", timeout=60)
        assert runtime.stage == "SCHEDULING"
        assert env.clock.now() == 0.0
        with pytest.raises(WaitTimeoutError) as caught:
            await client.wait_until_running("alice/new", timeout=60)
        assert "SCHEDULING" in str(caught.value)
        assert env.clock.now() == pytest.approx(60.0)
        changes = [change async for change in client.watch("alice/new", timeout=30)]
        assert [c.stage for c in changes] == ["SCHEDULING"]


async def test_restarting_a_failed_space_ignores_stale_reads_of_the_old_failure() -> None:
    """Right after restarting a Space in BUILD_ERROR, lagging reads still showing that BUILD_ERROR do not
    make `wait_until_running` raise: the restarted build is waited for."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.create_space("alice/fixed", stage="BUILD_ERROR")
        hub.set_durations("alice/fixed", build=30.0, start=10.0)
        env.clock.advance(100.0)
        answer = await client.restart_space("alice/fixed")
        assert str(answer.stage) == "BUILDING"
        stale = hub.add_fault("stale_runtime", route=RUNTIME_ROUTE, count=2, seconds=50.0)
        runtime = await client.wait_until_running("alice/fixed", timeout=300)
        assert str(runtime.stage) == "RUNNING"
        assert stale.injected == 2


@pytest.mark.parametrize("stage", ["STOPPED", "SLEEPING", "DELETING"])
async def test_not_running_stages_raise_and_only_sleepers_are_woken(stage: str) -> None:
    """STOPPED, SLEEPING and DELETING raise SpaceNotRunningError; with wake=True a sleeping Space is restarted
    and its RUNNING returned, while a DELETING one still raises without any restart sent."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.create_space("alice/idle", stage=stage)
        with pytest.raises(SpaceNotRunningError) as caught:
            await client.wait_until_running("alice/idle", timeout=60)
        assert caught.value.stage == stage
        if stage == "DELETING":
            with pytest.raises(SpaceNotRunningError):
                await client.wait_until_running("alice/idle", timeout=60, wake=True)
            assert hub.counters.actions["restart"] == 0
        else:
            runtime = await client.wait_until_running("alice/idle", timeout=600, wake=True)
            assert str(runtime.stage) == "RUNNING"
            assert hub.counters.actions["restart"] == 1


async def test_wake_returns_when_the_app_start_is_too_short_to_be_polled() -> None:
    """Waking a paused Space whose app starts faster than one poll interval returns RUNNING well before the
    restart fence's grace ends: RUNNING read twice in a row after the build is the restarted app."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.create_space("alice/quick")
        hub.set_durations("alice/quick", build=6.0, start=0.05)
        await client.pause_space("alice/quick")
        env.clock.advance(100.0)
        woke_at = env.clock.now()
        runtime = await client.wait_until_running("alice/quick", timeout=20, wake=True)
        assert str(runtime.stage) == "RUNNING"
        assert hub.space_stage("alice/quick") == "RUNNING"
        assert env.clock.now() - woke_at < 20
