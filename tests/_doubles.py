"""Small stand-ins the unit tests share: a runtime read as the poller sees it, and a clock whose sleeps
return at once."""

from __future__ import annotations

from types import SimpleNamespace


def runtime(stage: str = "RUNNING", hardware: str | None = "cpu-basic", **kw: object) -> SimpleNamespace:
    """A runtime with the fields the poller and the fences read: `hardware` both current and requested
    unless `requested_hardware` is given; any other field overridden by keyword."""
    values: dict[str, object] = {
        "stage": stage,
        "hardware": hardware,
        "requested_hardware": hardware,
        "storage": None,
        "sleep_time": 172800,
        "dev_mode": False,
    }
    values.update(kw)
    return SimpleNamespace(**values)


class SleepRecorder:
    """A clock whose sleeps return at once and are recorded; its time is the sum of the sleeps."""

    def __init__(self) -> None:
        self.slept: list[float] = []

    def now(self) -> float:
        return sum(self.slept)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
