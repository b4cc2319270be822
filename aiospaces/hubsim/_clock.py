"""The simulated Hub's clocks: real time (optionally sped up) and a manual clock tests advance by hand.

The hub accepts any object with `now() -> float`; if it also has `async sleep(seconds)` the hub uses it for
its own waits (latency faults, slow bodies, log streaming), so a shared virtual clock keeps tests in virtual
time. Otherwise the hub sleeps in real time.
"""

from __future__ import annotations

import time

import anyio
import anyio.lowlevel


class SpeedClock:
    """Real monotonic time multiplied by `speed` (60 → one real second is one simulated minute).

    Args:
        speed: Simulated seconds per real second; must be positive.
    """

    def __init__(self, speed: float = 1.0) -> None:
        if not isinstance(speed, int | float) or isinstance(speed, bool) or speed <= 0:
            raise ValueError(f"speed must be a positive number, got {speed!r}")
        self.speed = float(speed)
        self._origin = time.monotonic()

    def now(self) -> float:
        """Simulated seconds since the clock was created."""
        return (time.monotonic() - self._origin) * self.speed

    async def sleep(self, seconds: float) -> None:
        """Sleep `seconds` of simulated time (seconds / speed of real time)."""
        await anyio.sleep(max(0.0, seconds) / self.speed)

    def __repr__(self) -> str:
        return f"SpeedClock(speed={self.speed})"


class ManualClock:
    """A clock that only moves when told: `advance(seconds)` (or `hub.advance(...)`).

    `sleep(seconds)` advances the clock by `seconds` itself (like an auto-jumping virtual clock) so a hub
    wait never blocks a single-task test forever.

    Args:
        start: Initial time in seconds.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        """Current time in seconds."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by `seconds` (must be ≥ 0)."""
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds!r}")
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        """Advance by `seconds`, then yield to the event loop once."""
        self.advance(max(0.0, seconds))
        await anyio.lowlevel.checkpoint()

    def __repr__(self) -> str:
        return f"ManualClock(now={self._now})"
