"""`temporary_hardware`: the block always puts the Space back on its previous hardware."""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio
import pytest

from aiospaces._temporary import RESTORE_TIMEOUT
from aiospaces.errors import HardwareRestoreError, PaymentRequiredError, WaitTimeoutError
from aiospaces.hubsim import SimulatedHub
from aiospaces.testing import SimulatedHubClient

pytestmark = pytest.mark.anyio

HARDWARE_ROUTE = "POST /api/spaces/{id}/hardware"
RUNTIME_ROUTE = "GET /api/spaces/{id}/runtime"
SPACE = "alice/gpu"


def requested(hub: SimulatedHub) -> str:
    return str(hub.space_runtime(SPACE)["hardware"]["requested"])


async def test_block_runs_on_new_hardware_then_restores() -> None:
    """Inside the block the Space runs the new flavor; after it, the previous flavor is requested again."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        hub.create_space(SPACE)
        async with env.client.temporary_hardware(SPACE, "t4-medium", timeout=600) as runtime:
            assert (str(runtime.stage), runtime.hardware) == ("RUNNING", "t4-medium")
            truth = hub.space_runtime(SPACE)
            assert truth["hardware"] == {
                **truth["hardware"],
                "current": "t4-medium",
                "requested": "t4-medium",
            }
        assert requested(hub) == "cpu-basic"


async def test_exception_in_body_restores_and_propagates() -> None:
    """An exception inside the block propagates unchanged after the hardware is put back."""
    async with SimulatedHubClient() as env:
        env.hub.create_space(SPACE)
        with pytest.raises(KeyError, match="boom"):
            async with env.client.temporary_hardware(SPACE, "a10g-small", timeout=600):
                raise KeyError("boom")
        assert requested(env.hub) == "cpu-basic"


async def test_entry_timeout_restores() -> None:
    """When the new hardware does not run in time, entry fails with a timeout and the old one is restored."""
    async with SimulatedHubClient() as env:
        env.hub.create_space(SPACE)
        env.hub.set_durations(SPACE, hardware_switch=600.0)
        with pytest.raises(WaitTimeoutError):
            async with env.client.temporary_hardware(SPACE, "t4-medium", timeout=30):
                pytest.fail("the block must not run")
        assert requested(env.hub) == "cpu-basic"


async def test_explicit_restore_and_sleep_time() -> None:
    """`restore` picks the flavor to go back to, and the previous sleep time comes back when one was set."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        hub.create_space(SPACE, hardware="cpu-upgrade", sleep_time=3600)
        async with env.client.temporary_hardware(SPACE, "t4-small", sleep_time=600, timeout=600):
            assert hub.space_runtime(SPACE)["gcTimeout"] == 600
        assert hub.space_runtime(SPACE)["gcTimeout"] == 3600
        async with env.client.temporary_hardware(SPACE, "t4-small", restore="cpu-basic", timeout=600):
            pass
        assert requested(hub) == "cpu-basic"


async def test_restore_failure_raises_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    """If the hardware cannot be put back, HardwareRestoreError names the Space and the billed flavor, and an
    ERROR record says so (without the token)."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        hub.create_space(SPACE)
        caplog.set_level(logging.DEBUG)
        with pytest.raises(HardwareRestoreError) as caught:
            async with env.client.temporary_hardware(SPACE, "t4-medium", timeout=600):
                hub.add_fault("error", route=HARDWARE_ROUTE, status=503)  # the Hub refuses from now on
        error = caught.value
        assert (error.repo_id, error.billed_hardware, error.restore_to) == (SPACE, "t4-medium", "cpu-basic")
        assert SPACE in str(error)
        assert "t4-medium" in str(error)
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert errors
        assert SPACE in errors[0].getMessage()
        assert all(env.token not in r.getMessage() for r in caplog.records)
        assert env.token not in str(error)
        assert requested(hub) == "t4-medium"  # really still billed: the error told the truth


async def test_bad_arguments_before_any_request() -> None:
    """Bad arguments raise before any request."""
    async with SimulatedHubClient() as env:
        client = env.client
        with pytest.raises(ValueError, match="repo_id"):
            client.temporary_hardware("gpu", "t4-medium")
        with pytest.raises(TypeError, match="hardware"):
            client.temporary_hardware(SPACE, None)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="sleep_time"):
            client.temporary_hardware(SPACE, "t4-medium", sleep_time=-5)
        with pytest.raises(ValueError, match="timeout"):
            client.temporary_hardware(SPACE, "t4-medium", timeout=-1)
        assert env.hub.counters.total_requests == 0


# --- cancellation at ten different points -------------------------------------------------------------------

Setup = Callable[[SimulatedHub], None]


def _slow(route: str, seconds: float = 5.0) -> Setup:
    def setup(hub: SimulatedHub) -> None:
        hub.add_fault("latency", route=route, seconds=seconds, count=1)

    return setup


def _none(hub: SimulatedHub) -> None:
    del hub


# (name, setup before entry, when to cancel: ("start" | "body" | "exit", virtual seconds after it),
#  faults added when the body ends)
POINTS: list[tuple[str, Setup, str, float, Setup]] = [
    ("during the first read", _slow(RUNTIME_ROUTE), "start", 2.0, _none),
    ("during the request", _slow(HARDWARE_ROUTE), "start", 2.0, _none),
    ("early in the wait", _none, "start", 1.0, _none),
    ("mid-wait", _none, "start", 30.0, _none),
    ("late in the wait", _none, "start", 59.5, _none),
    ("just inside the body", _none, "body", 0.0, _none),
    ("deep in the body", _none, "body", 500.0, _none),
    ("during the restore request", _none, "exit", 2.0, _slow(HARDWARE_ROUTE)),
    ("late in the restore request", _none, "exit", 4.9, _slow(HARDWARE_ROUTE)),
    (
        "during a restore that is retried",
        _none,
        "exit",
        0.5,
        lambda hub: hub.add_fault("error", route=HARDWARE_ROUTE, status=503, count=2) and None,
    ),
]


@pytest.mark.parametrize(("name", "setup", "anchor", "delay", "on_exit"), POINTS, ids=[p[0] for p in POINTS])
async def test_cancelled_anywhere_ends_with_previous_hardware(
    name: str, setup: Setup, anchor: str, delay: float, on_exit: Setup
) -> None:
    """Cancelled at any point (request, wait, body, restore), the block ends with the previous hardware
    requested."""
    async with SimulatedHubClient() as env:
        hub, clock = env.hub, env.clock
        hub.create_space(SPACE)
        hub.set_durations(SPACE, hardware_switch=60.0)
        setup(hub)
        body_started = anyio.Event()
        body_ending = anyio.Event()
        reached: list[str] = []

        with anyio.CancelScope() as scope:

            async def canceller() -> None:
                if anchor == "body":
                    await body_started.wait()
                elif anchor == "exit":
                    await body_ending.wait()
                await clock.sleep(delay)
                scope.cancel()

            async with anyio.create_task_group() as tg:
                tg.start_soon(canceller)
                async with env.client.temporary_hardware(SPACE, "t4-medium", timeout=600):
                    reached.append("body")
                    body_started.set()
                    if anchor == "exit":
                        on_exit(hub)
                        body_ending.set()
                    else:
                        await clock.sleep(10_000.0)
                reached.append("after")
                await clock.sleep(10_000.0)  # wait here for the cancellation
        assert scope.cancelled_caught
        assert requested(hub) == "cpu-basic"
        assert hub.counters.in_flight == 0
        if anchor != "start":
            assert reached[0] == "body"
        if anchor == "exit":
            assert reached == ["body", "after"]  # the restore finished despite the cancellation


async def test_block_cannot_be_entered_twice() -> None:
    """Re-entering the same block object is refused (it would lose the hardware to restore)."""
    async with SimulatedHubClient() as env:
        env.hub.create_space(SPACE)
        block = env.client.temporary_hardware(SPACE, "t4-small", timeout=600)
        async with block:
            pass
        with pytest.raises(RuntimeError, match="once"):
            async with block:
                pass
        assert requested(env.hub) == "cpu-basic"


async def test_restore_is_bounded_on_the_client_clock() -> None:
    """A restore whose requests never get answered gives up after its own deadline on the client's clock
    (virtual here) with HardwareRestoreError, instead of retrying for the hours the answers would take."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        hub.create_space(SPACE)
        left_at: list[float] = []

        def stall_hardware_requests() -> None:
            left_at.append(env.clock.now())
            hub.add_fault("latency", route=HARDWARE_ROUTE, seconds=1000.0)

        with pytest.raises(HardwareRestoreError) as caught:
            async with env.client.temporary_hardware(SPACE, "t4-medium", timeout=600):
                stall_hardware_requests()
        assert caught.value.billed_hardware == "t4-medium"
        assert env.clock.now() - left_at[0] <= RESTORE_TIMEOUT + 1.0
        assert hub.counters.in_flight == 0
        assert requested(hub) == "t4-medium"  # the error told the truth


async def test_slow_sleep_time_restore_does_not_report_the_hardware_as_billed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """When the flavor is back but putting the sleep time back runs out of time, no HardwareRestoreError is
    raised (nothing is billed): a warning says the sleep time was not restored."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        hub.create_space(SPACE, hardware="cpu-upgrade", sleep_time=3600)
        with caplog.at_level(logging.WARNING, logger="aiospaces"):
            async with env.client.temporary_hardware(SPACE, "t4-small", sleep_time=600, timeout=600):
                left_at = env.clock.now()
                hub.add_fault("latency", route="POST /api/spaces/{id}/sleeptime", seconds=1000.0)
        assert requested(hub) == "cpu-upgrade"
        assert env.clock.now() - left_at <= RESTORE_TIMEOUT + 1.0
        assert any("sleep time" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
        assert hub.counters.in_flight == 0


async def test_restore_applied_but_unanswered_is_not_reported_as_billed() -> None:
    """When every restore request reaches the Hub but its answer is lost, a fresh read showing the previous
    flavor requested again counts as restored: no HardwareRestoreError claiming that flavor is "still
    billed"."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        hub.create_space(SPACE)

        def lose_answers_after_a_while() -> None:
            env.clock.advance(120.0)  # past the entry request's fence: reads are taken at face value
            hub.add_fault("drop", route=HARDWARE_ROUTE, after=True)  # applied, then the connection drops

        async with env.client.temporary_hardware(SPACE, "t4-medium", timeout=600):
            lose_answers_after_a_while()
        assert requested(hub) == "cpu-basic"
        assert hub.counters.in_flight == 0


async def test_entry_read_lagging_behind_our_last_restore_is_not_the_flavor_to_go_back_to() -> None:
    """A block entered right after another one was restored, whose first read comes from a lagging replica
    still showing the first block's flavor, still goes back to the flavor really requested (cpu-basic)."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        hub.create_space(SPACE)
        async with env.client.temporary_hardware(SPACE, "t4-medium", timeout=600):
            pass
        assert requested(hub) == "cpu-basic"
        stale = hub.add_fault("stale_runtime", route=RUNTIME_ROUTE, count=1, seconds=30.0)
        async with env.client.temporary_hardware(SPACE, "a10g-small", timeout=600):
            assert stale.injected == 1
        assert requested(hub) == "cpu-basic"


async def test_entry_request_refused_by_the_hub_needs_no_restore() -> None:
    """When the Hub refuses the entry's hardware request (402: no payment method), nothing changed: its
    error propagates as is, with no restore request and no HardwareRestoreError claiming a GPU is billed."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        hub.create_space(SPACE)
        hub.add_fault("error", route=HARDWARE_ROUTE, status=402)
        with pytest.raises(PaymentRequiredError):
            async with env.client.temporary_hardware(SPACE, "t4-medium", timeout=600):
                pytest.fail("the block must not run")
        assert hub.counters.requests[HARDWARE_ROUTE] == 1
        assert requested(hub) == "cpu-basic"


async def test_restore_outlasts_a_spent_rate_limit_window() -> None:
    """When the body spends the whole 5-minute rate-limit quota, the restore waits for the window to reset and
    puts the previous flavor back, instead of giving up and leaving the GPU billed."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        hub.create_space(SPACE)
        hub.set_rate_limit(30, 300)
        async with env.client.temporary_hardware(SPACE, "t4-medium", timeout=900):
            while env.client.rate_limit.remaining != 0:
                await env.client.get_space_runtime(SPACE)
            spent_at = env.clock.now()
        assert requested(hub) == "cpu-basic"
        assert env.clock.now() - spent_at > 1.0  # it really waited for the window
        assert hub.counters.rate_limited <= 1
