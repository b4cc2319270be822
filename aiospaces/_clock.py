"""Time, injectable: every sleep and every timestamp in the SDK goes through a `Clock`.

Tests pass a virtual clock (see `aiospaces.testing`) shared with the simulated Hub, so waiting
code runs in virtual time, on asyncio and trio alike, without real sleeping.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol, runtime_checkable

import anyio


@runtime_checkable
class Clock(Protocol):
    """A monotonic clock in seconds, and a way to sleep on it.

    A clock may also offer `move_on_at(deadline) -> anyio.CancelScope`, a cancel scope whose deadline is
    `deadline` on this clock (`SystemClock` does); for a clock without it, `move_on_at` below cancels the
    scope from a task sleeping on the clock.
    """

    def now(self) -> float:
        """Return the current time in seconds (monotonic, arbitrary origin)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep for `seconds` of this clock's time."""
        ...


class SystemClock:
    """The real clock: `time.monotonic` and `anyio.sleep`."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(0.0, seconds))

    def move_on_at(self, deadline: float) -> anyio.CancelScope:
        """A cancel scope cancelled once this clock reaches `deadline` (a plain anyio deadline, no task)."""
        return anyio.move_on_after(max(0.0, deadline - self.now()))

    def __repr__(self) -> str:
        return "SystemClock()"


@asynccontextmanager
async def move_on_at(clock: Clock, deadline: float | None) -> AsyncIterator[anyio.CancelScope]:
    """`async with move_on_at(clock, deadline) as scope:` runs the block until `clock` reaches `deadline`
    (None: no deadline), then cancels it; `scope.cancelled_caught` tells whether it was cut off.

    The one deadline primitive of the SDK. With a clock that has its own `move_on_at` (the system clock) it
    is just that cancel scope; with another clock (a virtual one), a task sleeping on the clock cancels it.
    That task lives only inside the block. An error of the block is raised as is, never wrapped in an
    ExceptionGroup.
    """
    if deadline is None:
        with anyio.CancelScope() as scope:
            yield scope
        return
    own = getattr(clock, "move_on_at", None)
    if own is not None:
        with own(deadline) as scope:
            yield scope
        return
    failed: list[Exception] = []
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:

            async def expire() -> None:
                await clock.sleep(max(0.0, deadline - clock.now()))
                scope.cancel()

            tg.start_soon(expire)
            try:
                yield scope
            except Exception as exc:
                failed.append(exc)
            tg.cancel_scope.cancel()
    if failed:
        raise failed[0]
