"""The polling budget: the share of the Hub's rate-limit quota that one client's poll loops may spend.

Polls and writes draw on the same quota (hub-api.md §4.1: one `api` bucket per token), so a watch that polls
as fast as it likes starves the writes of the same job. Every poll request of a client (each `watch`,
`wait_*`, `watch_many`, `wait_all`) reserves a slot here before it is sent. Two rules decide the slot:

- pacing: slots are spaced `window / cap` apart per request (`cap` = the share of the window's quota), so the
  budget is spent evenly over the window rather than in a burst at its start;
- a hard cap: no window of `window` seconds ever holds more than `cap` poll requests, whatever the rounds'
  sizes and however many loops poll at once.

The quota is the one the Hub last advertised (`RateLimit-Policy` `q` and `w`, read by the client's shared
rate-limit state); until a response carried it, the free account's documented quota (hub-api.md §4.2: 1,000
`api` calls per 5-minute window).

Pure bookkeeping: no I/O and no clock of its own (callers pass `now` and sleep for the answer).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Final

import attrs

__all__ = ["FREE_QUOTA", "FREE_WINDOW", "Budget", "PollBudget"]

# hub-api.md §4.2: a free user's `api` bucket, 1,000 requests per 5-minute fixed window.
FREE_QUOTA: Final = 1000
FREE_WINDOW: Final = 300.0


# Seconds past a window's edge a send waits for the oldest send to have left the window (float rounding).
_EDGE: Final = 1e-6


@attrs.frozen
class Budget:
    """The poll budget in force: at most `cap` poll requests per `window` seconds.

    Attributes:
        cap: poll requests allowed per window (at least 1).
        window: the window length in seconds.
        quota: the window's whole quota the cap is a share of.
        share: the share of `quota` given to polling.
        assumed: True while no response has told the quota (the free account's is assumed).
    """

    cap: int
    window: float
    quota: int
    share: float
    assumed: bool

    @classmethod
    def of(cls, *, share: float, quota: int | None, window: float | None) -> Budget:
        """The budget for `share` of `quota` per `window` (the free account's when either is unknown)."""
        assumed = quota is None or window is None or quota <= 0 or window <= 0
        q = FREE_QUOTA if assumed or quota is None else quota
        w = FREE_WINDOW if assumed or window is None else float(window)
        return cls(cap=max(1, math.floor(share * q)), window=w, quota=q, share=share, assumed=assumed)

    @property
    def spacing(self) -> float:
        """Seconds between two poll requests when the budget is spent evenly."""
        return self.window / self.cap

    def describe(self) -> str:
        """One line for the log: the cap, the window and where the quota came from."""
        source = "assumed free-account quota" if self.assumed else "quota advertised by the Hub"
        return (
            f"poll budget {self.cap} requests per {self.window:g} s "
            f"({self.share:.0%} of {self.quota}, {source})"
        )


class PollBudget:
    """The poll requests one client sent, and when the next may go (see the module docstring).

    Callers ask `wait` how long until their requests fit, sleep that long, and ask again; once `wait` says 0
    they `take` the slot and send at once. Nothing is reserved for the future, so a sleeper never holds a slot
    planned with a quota that the Hub's next answer corrects (the free account's, assumed before the first
    answer, is far smaller than most).
    """

    def __init__(self) -> None:
        self._sent: deque[float] = deque()  # send times of the poll requests of the last window, in order
        self._last_at = -math.inf
        self._last_count = 0
        self.taken = 0

    def __repr__(self) -> str:
        return f"PollBudget(taken={self.taken})"

    def wait(self, now: float, requests: int, budget: Budget) -> float:
        """Seconds until `requests` poll requests sent together fit the budget (0: they fit now).

        A round of more than `budget.cap` requests cannot fit in one window: it is counted as `cap` requests
        (the fleet planner never plans one).
        """
        if requests < 1:
            raise ValueError(f"requests must be at least 1, got {requests!r}")
        count = min(requests, budget.cap)
        sent = self._sent
        # Send times one window or more before `now` are in no window that holds a send at or after now.
        while sent and sent[0] <= now - budget.window:
            sent.popleft()
        # Pacing: the last send's requests occupy `spacing` each.
        at = max(now, self._last_at + self._last_count * budget.spacing)
        # The cap: the window (at - window, at] must leave room for `count` more.
        excess = len(sent) + count - budget.cap
        if excess > 0:
            # A hair past the boundary: a send exactly one window later must not count the old one in.
            at = max(at, sent[excess - 1] + budget.window + _EDGE)
        return at - now

    def take(self, now: float, requests: int, budget: Budget) -> None:
        """Record `requests` poll requests sent at `now` (after `wait` said 0)."""
        count = min(requests, budget.cap)
        self._sent.extend([now] * count)
        self._last_at = now
        self._last_count = count
        self.taken += requests
