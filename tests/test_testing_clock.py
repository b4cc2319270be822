"""`aiospaces.testing.VirtualClock`: virtual time on asyncio and trio, with many concurrent sleepers."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from aiospaces._clock import Clock
from aiospaces.testing import VirtualClock

pytestmark = pytest.mark.anyio


def test_is_a_clock() -> None:
    """VirtualClock satisfies the SDK's Clock protocol and starts where asked."""
    clock = VirtualClock(start=5.0)
    assert isinstance(clock, Clock)
    assert clock.now() == 5.0
    assert "now=5.0" in repr(clock)


@pytest.mark.parametrize(
    "kwargs", [{"start": float("nan")}, {"start": float("inf")}, {"fallback_checkpoints": 0}]
)
def test_rejects_bad_arguments(kwargs: dict[str, float]) -> None:
    """Bad constructor arguments raise ValueError naming the argument."""
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        VirtualClock(**kwargs)


def test_advance_rejects_negative() -> None:
    """`advance` refuses to move time backwards."""
    with pytest.raises(ValueError, match="seconds"):
        VirtualClock().advance(-1)


async def test_sleep_moves_virtual_time() -> None:
    """A lone sleeper wakes exactly at its virtual deadline; sleep(0) and negative sleeps do not move time."""
    clock = VirtualClock()
    await clock.sleep(0)
    await clock.sleep(-3)
    assert clock.now() == 0.0
    await clock.sleep(600)
    assert clock.now() == 600.0
    await clock.sleep(0.25)
    assert clock.now() == 600.25
    assert clock.sleepers == 0


async def test_many_sleepers_wake_in_order_at_their_deadlines() -> None:
    """200 concurrent sleepers each wake at their own deadline, in deadline order, none left pending."""
    clock = VirtualClock()
    woke: list[tuple[float, float]] = []

    async def sleeper(delay: float) -> None:
        await clock.sleep(delay)
        woke.append((delay, clock.now()))

    delays = [float((i * 37) % 101 + 1) for i in range(200)]
    async with anyio.create_task_group() as tg:
        for delay in delays:
            tg.start_soon(sleeper, delay)
    assert sorted(woke) == woke
    assert all(delay == when for delay, when in woke)
    assert len(woke) == 200
    assert clock.sleepers == 0


async def test_time_waits_for_busy_tasks() -> None:
    """Time does not move while another task is still runnable, even for hundreds of scheduling rounds."""
    clock = VirtualClock()
    seen: list[float] = []

    async def busy() -> None:
        for _ in range(300):
            seen.append(clock.now())
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        tg.start_soon(clock.sleep, 5.0)
        tg.start_soon(busy)
    assert seen == [0.0] * 300
    assert clock.now() == 5.0


async def test_periodic_loops_interleave() -> None:
    """Two periodic loops on the clock see each other's ticks in virtual-time order."""
    clock = VirtualClock()
    ticks: list[tuple[str, float]] = []

    async def loop(name: str, period: float, count: int) -> None:
        for _ in range(count):
            await clock.sleep(period)
            ticks.append((name, clock.now()))

    async with anyio.create_task_group() as tg:
        tg.start_soon(loop, "a", 2.0, 5)
        tg.start_soon(loop, "b", 3.0, 3)
    assert [t for _, t in ticks] == sorted(t for _, t in ticks)
    assert {t for name, t in ticks if name == "a"} == {2.0, 4.0, 6.0, 8.0, 10.0}
    assert {t for name, t in ticks if name == "b"} == {3.0, 6.0, 9.0}


async def test_cancelled_driver_hands_over() -> None:
    """Cancelling the earliest sleeper leaves no entry behind and the next sleeper still wakes on time."""
    clock = VirtualClock()
    woke: list[float] = []

    async def late() -> None:
        await clock.sleep(10.0)
        woke.append(clock.now())

    async with anyio.create_task_group() as tg:
        tg.start_soon(late)
        with anyio.CancelScope() as scope:
            scope.cancel()
            await clock.sleep(1.0)  # the earliest deadline, cancelled before time moves
        assert clock.now() == 0.0
    assert woke == [10.0]
    assert clock.sleepers == 0


async def test_cancel_scope_around_sleep() -> None:
    """A sleeper cancelled by another task (woken on the clock) stops, and time goes on for the rest."""
    clock = VirtualClock()
    events: list[tuple[str, float]] = []

    async with anyio.create_task_group() as tg:
        scope = anyio.CancelScope()

        async def long_sleeper() -> None:
            with scope:
                await clock.sleep(100.0)
            events.append(("cancelled", clock.now()))

        async def canceller() -> None:
            await clock.sleep(3.0)
            scope.cancel()
            events.append(("cancel", clock.now()))

        tg.start_soon(long_sleeper)
        tg.start_soon(canceller)
    assert events == [("cancel", 3.0), ("cancelled", 3.0)]
    assert clock.sleepers == 0


async def test_manual_advance_wakes_due_sleepers() -> None:
    """`advance` moves time at once and wakes every sleeper due by then."""
    clock = VirtualClock()
    woke: list[float] = []

    async def sleeper(delay: float) -> None:
        await clock.sleep(delay)
        woke.append(clock.now())

    async with anyio.create_task_group() as tg:
        tg.start_soon(sleeper, 5.0)
        tg.start_soon(sleeper, 7.0)
        while clock.sleepers < 2:  # both registered at time 0
            await anyio.lowlevel.checkpoint()
        clock.advance(6.0)
    assert woke[0] == 6.0  # woken by the manual jump, not at its own 5.0
    assert woke[1] == 7.0
