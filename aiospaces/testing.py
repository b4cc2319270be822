"""Helpers for testing code that uses aiospaces: a virtual clock, and a simulated Hub wired to a client.

`VirtualClock` runs every wait of the SDK in virtual time: share one between `SimulatedHub(clock=...)` and
`SpacesClient(clock=...)` and a 10-minute build takes milliseconds, on asyncio and on trio alike.
`SimulatedHubClient` does that wiring (plus a user, a token and fast retries)::

    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/demo", stage=None)  # a build starts now
        await env.client.wait_until_running("alice/demo")

With pytest, `pytest_plugins = ["aiospaces.testing"]` in your root `conftest.py` provides the fixtures
`virtual_clock`, `simulated_hub` and `spaces_client` (async tests marked `@pytest.mark.anyio`).
"""

from __future__ import annotations

import heapq
import itertools
import math
import sys
from collections.abc import AsyncIterator
from typing import Any, Self

import anyio
import anyio.lowlevel

from . import RetryPolicy
from .client import SpacesClient
from .hubsim import SimulatedHub

__all__ = ["SimulatedHubClient", "VirtualClock", "fast_retry"]


class _Sleeper:
    """One pending `VirtualClock.sleep`: ordered by deadline, then by arrival."""

    __slots__ = ("deadline", "done", "seq", "wake")

    def __init__(self, deadline: float, seq: int) -> None:
        self.deadline = deadline
        self.seq = seq
        self.done = False
        self.wake: anyio.Event | None = None

    def __lt__(self, other: _Sleeper) -> bool:
        return (self.deadline, self.seq) < (other.deadline, other.seq)

    def notify(self) -> None:
        if self.wake is not None:
            self.wake.set()


def _trio() -> Any | None:
    """The `trio` module when the current task runs on trio, else None."""
    trio = sys.modules.get("trio")
    if trio is None:
        return None
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return None  # trio is imported but this is another event loop
    import trio.testing  # only needed under trio

    return trio


def _asyncio_ready() -> int | None:
    """How many callbacks asyncio's loop will run before polling again, or None when it does not say.

    asyncio's default loop keeps its ready queue in `_ready` (not public, hence the `getattr`; uvloop and
    other loops fall back to a fixed number of checkpoints). It includes the rest of the current scheduling
    batch, so an empty queue means no other task can run.
    """
    asyncio = sys.modules.get("asyncio")
    if asyncio is not None:
        try:
            loop: Any = asyncio.get_running_loop()
        except RuntimeError:
            return None
        ready = getattr(loop, "_ready", None)
        if ready is not None:
            return len(ready)
    return None


class VirtualClock:
    """A clock whose time only moves when every task is waiting on it: virtual time for tests.

    `now()` returns the virtual time. `await sleep(s)` registers a wake-up at `now() + s`; once no task is
    runnable any more (everyone is blocked, most of them in `sleep`), the clock jumps straight to the earliest
    pending wake-up and releases every sleeper due by then. Exactly one sleeper at a time, the one with the
    earliest deadline, watches for quiescence; the others simply wait, so hundreds of concurrent sleepers cost
    nothing while blocked.

    Works on asyncio and trio. Quiescence is read from the backend's scheduler where it says (trio;
    asyncio's default loop), else assumed after `fallback_checkpoints` scheduling rounds. Meant for in-process
    transports (`SimulatedHub.transport()`): a task blocked on a real socket or a thread looks idle to the
    clock, and time jumps while it waits.

    Args:
        start: the initial virtual time.
        fallback_checkpoints: scheduling rounds to let other tasks run before advancing, when the backend
            cannot report how many tasks are runnable.
    """

    def __init__(self, start: float = 0.0, *, fallback_checkpoints: int = 50) -> None:
        if not (isinstance(start, int | float) and math.isfinite(start)):
            raise ValueError(f"start must be a finite number, got {start!r}")
        if fallback_checkpoints < 1:
            raise ValueError(f"fallback_checkpoints must be at least 1, got {fallback_checkpoints!r}")
        self._now = float(start)
        self._heap: list[_Sleeper] = []
        self._seq = itertools.count()
        self._fallback = fallback_checkpoints
        # A busy task that keeps yielding would otherwise stop time forever; past this many rounds the clock
        # advances anyway (a livelock guard, far above what any in-process request needs).
        self._max_rounds = 10_000

    def __repr__(self) -> str:
        return f"VirtualClock(now={self._now!r}, sleepers={self.sleepers})"

    def now(self) -> float:
        """The current virtual time, in seconds."""
        return self._now

    @property
    def sleepers(self) -> int:
        """How many tasks are sleeping on this clock."""
        return sum(1 for s in self._heap if not s.done)

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds` now (without waiting for quiescence), waking every sleeper due.

        Args:
            seconds: how far to move, >= 0.

        Raises:
            ValueError: `seconds` is negative or not finite.
        """
        if not (isinstance(seconds, int | float) and math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"seconds must be a finite number >= 0, got {seconds!r}")
        self._advance_to(self._now + seconds)

    async def sleep(self, seconds: float) -> None:
        """Sleep `seconds` of virtual time (a plain checkpoint when `seconds <= 0`)."""
        if not seconds > 0:  # also NaN
            await anyio.lowlevel.checkpoint()
            return
        if math.isinf(seconds):
            await anyio.sleep_forever()
            return
        entry = _Sleeper(self._now + seconds, next(self._seq))
        heapq.heappush(self._heap, entry)
        try:
            while not entry.done:
                if self._top() is entry:
                    await self._drive(entry)
                else:
                    entry.wake = anyio.Event()
                    await entry.wake.wait()
        finally:
            if not entry.done:  # cancelled: leave the heap; if it was the driver, hand the role over
                entry.done = True
                self._nudge_top()

    def _top(self) -> _Sleeper | None:
        heap = self._heap
        while heap and heap[0].done:
            heapq.heappop(heap)
        return heap[0] if heap else None

    def _nudge_top(self) -> None:
        top = self._top()
        if top is not None:
            top.notify()

    def _advance_to(self, when: float) -> None:
        self._now = max(self._now, when)
        heap = self._heap
        while heap and (heap[0].done or heap[0].deadline <= self._now):
            entry = heapq.heappop(heap)
            if not entry.done:
                entry.done = True
                entry.notify()
        self._nudge_top()  # the next earliest sleeper becomes the driver

    async def _drive(self, entry: _Sleeper) -> None:
        """Let every other task run until none is runnable, then jump to `entry`'s deadline."""
        trio = _trio()
        if trio is not None:
            # trio says exactly when every other task is blocked (the primitive its own autojump clock uses).
            # Twice: every task parked in it is released at the same idle moment, and another one (a driver
            # that stepped down, a sleeper already woken) must get its turn before time moves again.
            for _ in range(2):
                await trio.testing.wait_all_tasks_blocked()
                if entry.done or self._top() is not entry:
                    return
            self._advance_to(entry.deadline)
            return
        rounds = idle_rounds = 0
        while True:
            await anyio.lowlevel.checkpoint()
            if entry.done or self._top() is not entry:
                return  # woken, or an earlier sleeper arrived and drives now
            rounds += 1
            ready = _asyncio_ready()
            # Two idle rounds in a row: a task woken at the very end of a round gets its turn first.
            idle_rounds = idle_rounds + 1 if ready == 0 else 0
            idle = idle_rounds >= 2 if ready is not None else rounds >= self._fallback
            if idle or rounds >= self._max_rounds:
                self._advance_to(entry.deadline)
                return


def fast_retry() -> RetryPolicy:
    """A retry policy for tests: retries stay on (fault injection needs them) but wait milliseconds."""
    return RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.1)


class SimulatedHubClient:
    """A `SimulatedHub` and a `SpacesClient` wired together in-process on one `VirtualClock`.

    Use it as an async context manager; the client is closed on exit::

        async with SimulatedHubClient() as env:
            env.hub.create_space("alice/demo")
            runtime = await env.client.get_space_runtime("alice/demo")

    Args:
        user: the user created on the hub (its namespace owns the Spaces you create for it).
        token: that user's token (a test value; never a real token).
        clock: the shared clock (default: a new `VirtualClock`).
        seed: seed of the hub's fault RNG, for reproducible fault injection.
        **client_kwargs: more `SpacesClient` arguments (e.g. `max_concurrency`, `retry`).

    Attributes:
        clock: the shared clock.
        hub: the simulated Hub.
        client: the client, talking to `hub` through its in-process transport.
        token: the user's token.
    """

    def __init__(
        self,
        *,
        user: str = "alice",
        token: str = "hf_test_alice",
        clock: VirtualClock | None = None,
        seed: int | None = 0,
        **client_kwargs: Any,
    ) -> None:
        self.clock = clock if clock is not None else VirtualClock()
        self.hub: SimulatedHub = SimulatedHub(clock=self.clock, seed=seed)
        self.token = self.hub.add_user(user, token=token)
        client_kwargs.setdefault("retry", fast_retry())
        self.client: SpacesClient = SpacesClient(
            token=self.token,
            endpoint="https://hub.test",
            transport=self.hub.transport(),
            clock=self.clock,
            **client_kwargs,
        )

    def __repr__(self) -> str:
        return f"SimulatedHubClient(clock={self.clock!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.client.aclose()


try:
    import pytest
except ImportError:  # pragma: no cover - pytest is only needed for the fixtures
    pass
else:

    @pytest.fixture
    def virtual_clock() -> VirtualClock:
        """A fresh `VirtualClock` starting at 0."""
        return VirtualClock()

    @pytest.fixture
    def simulated_hub(virtual_clock: VirtualClock) -> SimulatedHub:
        """A `SimulatedHub` on `virtual_clock`, with user `alice` (token `hf_test_alice`)."""
        hub = SimulatedHub(clock=virtual_clock, seed=0)
        hub.add_user("alice", token="hf_test_alice")
        return hub

    @pytest.fixture
    async def spaces_client(
        simulated_hub: SimulatedHub, virtual_clock: VirtualClock
    ) -> AsyncIterator[SpacesClient]:
        """A `SpacesClient` for `alice` talking to `simulated_hub` in-process, on `virtual_clock`."""
        async with SpacesClient(
            token="hf_test_alice",
            endpoint="https://hub.test",
            transport=simulated_hub.transport(),
            clock=virtual_clock,
            retry=fast_retry(),
        ) as client:
            yield client
