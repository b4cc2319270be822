"""The shared rate-limit state: how it learns from headers and how it paces concurrent callers (virtual
time)."""

from __future__ import annotations

import anyio
import pytest

from aiospaces._headers import RateLimitInfo
from aiospaces._ratelimit import RateLimiter, RateLimitState
from aiospaces.testing import VirtualClock


def test_min_interval_spreads_remaining_quota_until_reset() -> None:
    """min_interval is 0 when nothing is known, else the time to reset divided by the remaining requests."""
    state = RateLimitState()
    assert state.min_interval(0.0) == 0.0
    state.observe(RateLimitInfo("api", remaining=10, reset_in=50, limit=100, window=300), now=0.0, status=200)
    assert state.min_interval(0.0) == pytest.approx(5.0)
    assert state.min_interval(60.0) == 0.0
    assert (state.limit, state.window) == (100, 300)


def test_observe_keeps_the_smaller_remaining_within_a_window() -> None:
    """Out-of-order answers in one window never raise the remaining count."""
    state = RateLimitState()
    state.observe(RateLimitInfo("api", 5, 30), now=0.0, status=200)
    state.observe(RateLimitInfo("api", 8, 30), now=0.1, status=200)
    assert state.remaining == 5


def test_429_spends_the_window_until_retry_after() -> None:
    """A 429 sets remaining to 0 and the reset to the later of `t` and `Retry-After`."""
    state = RateLimitState()
    state.observe(RateLimitInfo("api", 0, 7), now=10.0, status=429, retry_after=9)
    assert state.remaining == 0
    assert state.reset_at == pytest.approx(19.0)
    assert state.throttled == 1


def test_bucket_for_paths() -> None:
    """Downloads count against `resolvers`, everything else against `api`."""
    limiter = RateLimiter()
    assert limiter.bucket_for("/spaces/a/b/resolve/main/app.py") == "resolvers"
    assert limiter.bucket_for("/api/spaces/a/b/runtime") == "api"
    assert limiter.state("resolvers") is limiter.state("resolvers")


@pytest.mark.anyio
async def test_first_request_probes_alone() -> None:
    """On a fresh state one request goes first; the others wait for its answer, then use its numbers."""
    clock = VirtualClock()
    state = RateLimitState()
    order: list[str] = []

    async def caller(name: str) -> None:
        probe = await state.acquire(clock)
        order.append(f"{name}:{'probe' if probe else 'go'}")
        if probe:
            await clock.sleep(1)
            state.observe(RateLimitInfo("api", 3, 60), now=clock.now(), status=200, probe=True)
        state.release(probe)

    async with anyio.create_task_group() as tg:
        for name in "abcd":
            tg.start_soon(caller, name)
    assert order[0].endswith(":probe")
    assert sorted(o.split(":")[1] for o in order[1:]) == ["go", "go", "go"]
    assert state.remaining == 0


@pytest.mark.anyio
async def test_spent_window_makes_callers_wait_for_the_reset() -> None:
    """With the quota spent, callers sleep until the reset instead of sending; then one probe goes first."""
    clock = VirtualClock()
    state = RateLimitState()
    state.observe(RateLimitInfo("api", 0, 30, limit=5, window=30), now=0.0, status=200, probe=True)
    sent_at: list[float] = []

    async def caller() -> None:
        probe = await state.acquire(clock)
        sent_at.append(clock.now())
        if probe:
            state.observe(RateLimitInfo("api", 4, 30), now=clock.now(), status=200, probe=True)
        state.release(probe)

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(caller)
    assert sent_at == [30.0, 30.0, 30.0]
    assert state.remaining == 2


@pytest.mark.anyio
async def test_a_bucket_that_never_sent_trusts_numbers_learned_from_another_answer() -> None:
    """A bucket whose quota another request's answer reported before it sent anything uses those numbers at
    once: spent, its first request waits for the reset instead of going out as a probe to collect a 429; with
    quota left, its first requests go together instead of one probe alone."""
    clock = VirtualClock()
    spent = RateLimitState("resolvers")
    spent.observe(RateLimitInfo("resolvers", 0, 60), now=0.0, status=200)
    assert await spent.acquire(clock) is True  # the probe of the next window,
    assert clock.now() >= 60.0  # sent only once the reported window is over
    fresh = RateLimitState("resolvers")
    fresh.observe(RateLimitInfo("resolvers", 3, 60), now=clock.now(), status=200)
    with anyio.fail_after(5):  # no answer comes in between: a request waiting for a probe would wait forever
        roles = [await fresh.acquire(clock) for _ in range(3)]
    assert roles == [False, False, False]
    assert fresh.remaining == 0
