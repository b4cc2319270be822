"""The client's shared rate-limit state, fed by every response's `RateLimit` / `RateLimit-Policy` /
`Retry-After` headers (hub-api.md §4.1), pacing every concurrent call of one client.

How it paces: each request reserves one unit of the known remaining quota before it is sent. When the quota of
the current window is spent, callers sleep (on the client's clock) until the window resets instead of
collecting 429s. At the presumed reset only one request (a probe) goes out; the others wait for its answer,
which tells the new window's quota. Since the reset time is only known to the second (`t` is an integer), a
probe sent a little early costs at most one 429 per window.
"""

from __future__ import annotations

import logging

import anyio

from ._clock import Clock
from ._headers import RateLimitInfo

logger = logging.getLogger("aiospaces")

# Shorter waits for a window to reset are not logged: no user notices them as a pause.
_ANNOUNCED_WAIT = 0.5


class RateLimitState:
    """What the client knows about one rate-limit bucket (the `api` bucket is `client.rate_limit`).

    Attributes:
        remaining: requests left in the current window as far as the client knows (reserved requests already
            subtracted), or None when unknown.
        limit: the window's quota (`RateLimit-Policy` `q`), or None.
        reset_at: when the window resets, in the client clock's time, or None.
        window: the window length in seconds, or None.
    """

    def __init__(self, bucket: str = "api", *, probe_first: bool = True) -> None:
        self.bucket = bucket
        self.remaining: int | None = None
        self.limit: int | None = None
        self.reset_at: float | None = None
        self.window: float | None = None
        self.throttled = 0  # 429s observed
        self._inflight = 0
        # Nothing is known before the first answer: send one request alone, so that a burst of concurrent
        # calls on a fresh client cannot overrun a small quota before the first headers arrive. (Not for
        # hosts without a known quota, such as pre-signed storage: there, a first upload would hold back
        # every other one until its whole body is sent.)
        self._need_probe = probe_first
        # Whether a request of this bucket was ever sent: until one is, any numbers it observes (from an
        # answer to another bucket's request) are current and stand in for its first probe.
        self._sent = False
        self._probe_in_flight = False
        self._probe_done: anyio.Event | None = None
        self._announced: float | None = None  # the reset time last logged

    def __repr__(self) -> str:
        return (
            f"RateLimitState(bucket={self.bucket!r}, remaining={self.remaining}, limit={self.limit}, "
            f"reset_at={self.reset_at})"
        )

    def min_interval(self, now: float) -> float:
        """Seconds a background poller should leave between calls so the remaining quota lasts until the
        reset; 0 when unconstrained (nothing known, or the window already reset)."""
        if self.remaining is None or self.reset_at is None or now >= self.reset_at:
            return 0.0
        return (self.reset_at - now) / max(self.remaining, 1)

    async def acquire(self, clock: Clock) -> bool:
        """Wait until one request may be sent, and reserve it. Returns True when this request is the probe of
        a new window (pass it back to `release`)."""
        while True:
            now = clock.now()
            if self.reset_at is not None and now >= self.reset_at:
                # The window we knew about is over: its numbers are stale. Probe before trusting anything.
                self.reset_at = None
                self.remaining = None
                self._need_probe = True
            if self._probe_in_flight and self._probe_done is not None:
                await self._probe_done.wait()
                continue
            self._sent = True
            if self._need_probe:
                self._probe_in_flight = True
                self._probe_done = anyio.Event()
                self._inflight += 1
                return True
            if self.remaining is None:
                self._inflight += 1
                return False
            if self.remaining > 0:
                self.remaining -= 1
                self._inflight += 1
                return False
            if self.reset_at is None:
                # Spent but no reset time known: send a single probe.
                self._need_probe = True
                continue
            if self._announced != self.reset_at and self.reset_at - now >= _ANNOUNCED_WAIT:
                # Once per window, however many callers wait: `aiospaces -v` shows the pacing. (The last
                # instants of a window, reached as its reset time is read again, are no pause worth a line.)
                self._announced = self.reset_at
                logger.info(
                    "rate limit of the %r bucket spent; waiting %.1fs for the window to reset",
                    self.bucket,
                    self.reset_at - now,
                )
            await clock.sleep(self.reset_at - now)

    def settle_probe(self) -> None:
        """The probe got its answer (or failed): let the waiting callers re-check the state."""
        self._probe_in_flight = False
        if self._probe_done is not None:
            self._probe_done.set()
            self._probe_done = None

    def release(self, probe: bool) -> None:
        """Give back a reservation once its request is over (response read or failed)."""
        self._inflight = max(0, self._inflight - 1)
        if probe and self._probe_in_flight:
            self.settle_probe()

    def observe(
        self,
        info: RateLimitInfo | None,
        *,
        now: float,
        status: int | None = None,
        retry_after: float | None = None,
        probe: bool = False,
    ) -> None:
        """Update from one response: `info` parsed from its headers (for this bucket, or None), its status,
        and its `Retry-After`. Call before `release` for the same request."""
        if status is not None and probe:
            # Any HTTP answer settles the probe: either it carried numbers, or this server sends none.
            self._need_probe = False
        if info is not None and not self._sent:
            # Learned from an answer to another bucket's request before this bucket sent anything: no
            # window of its own has passed, so these numbers are its current window's.
            self._need_probe = False
        if info is not None:
            if info.limit is not None:
                self.limit = info.limit
            if info.window is not None:
                self.window = info.window
            new_reset = now + info.reset_in
            others = max(0, self._inflight - 1)
            if self.reset_at is None or self.remaining is None or new_reset > self.reset_at + 1.0:
                # A new window: requests still in flight will be counted against it.
                self.remaining = max(0, info.remaining - others)
                self.reset_at = new_reset
            else:
                self.remaining = min(self.remaining, info.remaining)
                self.reset_at = max(self.reset_at, new_reset)
        if status == 429:
            self.throttled += 1
            wait = retry_after
            if info is not None and info.remaining == 0:
                wait = max(wait or 0.0, info.reset_in)
            self.remaining = 0
            if wait is not None:
                self.reset_at = max(self.reset_at or 0.0, now + wait)
            elif self.reset_at is None or self.reset_at <= now:
                # A 429 with no hint at all: back off one second before probing again.
                self.reset_at = now + 1.0
        elif retry_after is not None and status is not None and status >= 500:
            # 503 + Retry-After: the Hub asks everyone to hold off.
            self.remaining = 0
            self.reset_at = max(self.reset_at or 0.0, now + retry_after)
        if probe and status is not None and self._probe_in_flight:
            # Settle as soon as the headers are known, so a long-lived probe (a log stream) blocks no one.
            self.settle_probe()


class RateLimiter:
    """One `RateLimitState` per bucket; requests to `/resolve/` count against `resolvers`, the rest `api`."""

    def __init__(self) -> None:
        self.states: dict[str, RateLimitState] = {"api": RateLimitState("api")}

    def bucket_for(self, path: str) -> str:
        """The bucket a request path consumes (hub-api.md §4.1)."""
        return "resolvers" if "/resolve/" in path else "api"

    def state(self, bucket: str, *, probe_first: bool = True) -> RateLimitState:
        """The state of `bucket`, created on first use (`probe_first`: see `RateLimitState`)."""
        if bucket not in self.states:
            self.states[bucket] = RateLimitState(bucket, probe_first=probe_first)
        return self.states[bucket]
