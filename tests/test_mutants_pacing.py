"""Retry decisions, the retry loop, the polling budget and the rate-limit pacing, at the edges of their
contracts: status classes, argument checks, the public `Retrying` loop's defaults, a budget's window edges,
and the shared rate-limit state learning from answers (virtual or recording clocks, never wall time)."""

from __future__ import annotations

import logging
import random

import anyio
import pytest
from _doubles import SleepRecorder

from aiospaces._budget import Budget, PollBudget
from aiospaces._headers import (
    RateLimitInfo,
    header,
    parse_rate_limit,
    rate_limited_wait,
    retry_after_seconds,
)
from aiospaces._ratelimit import RateLimiter, RateLimitState
from aiospaces._retry import Failure, Outcome, RetryPolicy, coerce_retry, is_retryable_status
from aiospaces.retry import Retrying
from aiospaces.testing import VirtualClock


class _Boom(Exception):
    """A failure the test's `classify` turns into `failure`."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.reason)
        self.failure = failure


def _classify(exc: Exception) -> Failure | None:
    return exc.failure if isinstance(exc, _Boom) else None


async def _attempts(retrying: Retrying, failures: list[Failure], *, progress: bool = False) -> int:
    """Run `retrying` where each attempt raises the next of `failures`, then succeeds; the attempts made."""
    pending = list(failures)
    calls = 0
    async for attempt in retrying:
        with attempt:
            calls += 1
            if progress:
                retrying.progress()
            if pending:
                raise _Boom(pending.pop(0))
    return calls


# --- _retry: statuses, policy and `retry=` --------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (408, True),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (504, True),
        (520, True),
        (599, True),
        (400, False),
        (407, False),
        (409, False),
        (430, False),
        (499, False),
        (501, False),
        (505, False),
        (600, False),
    ],
)
def test_retryable_statuses_are_408_429_and_5xx_but_501_and_505(status: int, retryable: bool) -> None:
    """408, 429 and every 5xx except 501 (not implemented) and 505 (version) are transient; nothing else."""
    assert is_retryable_status(status) is retryable


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("max_attempts", 0, ValueError),
        ("base_delay", -1.0, ValueError),
        ("max_delay", -1.0, ValueError),
        ("max_rate_limited", True, TypeError),
        ("max_rate_limited", "3", TypeError),
        ("max_rate_limited", 2.0, TypeError),
        ("max_rate_limited", -1, ValueError),
    ],
)
def test_a_bad_retry_policy_names_its_field(field: str, value: object, error: type[Exception]) -> None:
    """Each invalid `RetryPolicy` field raises the right error class, whose message starts with the field's
    name and, for a wrong type, ends with the type given."""
    with pytest.raises(error) as info:
        RetryPolicy(**{field: value})  # type: ignore[arg-type]
    message = str(info.value)
    assert message.startswith(f"retry.{field} must")
    if error is TypeError:
        assert message.endswith(f"got {type(value).__name__}")


def test_a_retry_policy_may_retry_without_any_delay() -> None:
    """Zero delays are valid (tests and impatient callers): the policy keeps them as given."""
    policy = RetryPolicy(base_delay=0.0, max_delay=0.0, max_rate_limited=0)
    assert (policy.base_delay, policy.max_delay, policy.max_rate_limited) == (0.0, 0.0, 0)


@pytest.mark.parametrize(
    ("retry", "attempts", "rate_limited"),
    [(None, 6, 10), (True, 6, 10), (False, 1, 0), (0, 1, 10), (1, 2, 10), (5, 6, 10)],
)
def test_retry_argument_forms(retry: bool | int | None, attempts: int, rate_limited: int) -> None:
    """`retry=` None/True is the default policy, False disables every retry (429s included), and an int is
    the number of retries after the first attempt."""
    policy = coerce_retry(retry)
    assert (policy.max_attempts, policy.max_rate_limited) == (attempts, rate_limited)


def test_retry_argument_policy_is_kept_and_bad_forms_are_refused() -> None:
    """A `RetryPolicy` is used as given; a negative count is a ValueError and another type a TypeError, both
    naming `retry`."""
    policy = RetryPolicy(max_attempts=3, base_delay=0.1)
    assert coerce_retry(policy) is policy
    with pytest.raises(ValueError, match="retry must be >= 0"):
        coerce_retry(-1)
    with pytest.raises(TypeError, match=r"^retry must be a RetryPolicy.*, got float$"):
        coerce_retry(2.5)  # type: ignore[arg-type]


# --- the public retry loop ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_public_loop_resends_unanswered_attempts_by_default() -> None:
    """`Retrying` built as its module documents (no `idempotent=`) treats the block as safe to repeat: an
    attempt that got no answer is retried."""
    retrying = Retrying(
        RetryPolicy(max_attempts=3),
        clock=SleepRecorder(),
        rng=random.Random(0),
        classify=_classify,
        what="updating",
    )
    calls = await _attempts(retrying, [Failure(Outcome.NO_ANSWER, "timed out")] * 2)
    assert calls == 3


@pytest.mark.anyio
async def test_the_loop_waits_the_retry_after_a_failure_carries() -> None:
    """A retryable status with the server's `Retry-After` waits exactly that long instead of the backoff."""
    clock = SleepRecorder()
    retrying = Retrying(RetryPolicy(), clock=clock, rng=random.Random(0), classify=_classify, what="GET")
    calls = await _attempts(retrying, [Failure(Outcome.RETRYABLE_STATUS, "503", retry_after=7.0)])
    assert (calls, clock.slept) == (2, [7.0])


@pytest.mark.anyio
async def test_progress_also_restarts_the_429_budget() -> None:
    """A follower that receives data between 429s gets its whole 429 budget back each time."""
    retrying = Retrying(
        RetryPolicy(max_rate_limited=1),
        clock=SleepRecorder(),
        rng=random.Random(0),
        classify=_classify,
        what="logs",
    )
    calls = await _attempts(retrying, [Failure(Outcome.RATE_LIMITED, "429")] * 4, progress=True)
    assert calls == 5


@pytest.mark.anyio
async def test_a_429_retry_is_logged_as_the_same_attempt(caplog: pytest.LogCaptureFixture) -> None:
    """The log line of a 429 retry shows the attempt it repeats (429s use no attempt), at INFO."""
    retrying = Retrying(
        RetryPolicy(),
        clock=SleepRecorder(),
        rng=random.Random(0),
        classify=_classify,
        what="GET",
        target="/x",
    )
    with caplog.at_level(logging.DEBUG, logger="aiospaces"):
        await _attempts(retrying, [Failure(Outcome.RATE_LIMITED, "429 rate limited")] * 2)
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "aiospaces"]
    assert len(lines) == 2
    assert all(level == logging.INFO and line.endswith("(attempt 1/6)") for level, line in lines)


@pytest.mark.anyio
async def test_a_loop_without_a_target_logs_only_what_failed(caplog: pytest.LogCaptureFixture) -> None:
    """A `Retrying` given no `target` logs its retries as the operation's name followed by what failed, with
    nothing in between."""
    retrying = Retrying(
        RetryPolicy(), clock=SleepRecorder(), rng=random.Random(0), classify=_classify, what="updating"
    )
    with caplog.at_level(logging.DEBUG, logger="aiospaces"):
        await _attempts(retrying, [Failure(Outcome.CONFLICT, "lost the race")])
    (line,) = [r.getMessage() for r in caplog.records if r.name == "aiospaces"]
    assert line.split()[:4] == ["updating", "failed", "(lost", "the"]


# --- _budget: the polling budget's edges ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("quota", "window", "assumed", "cap", "length"),
    [
        (0, 30, True, 500, 300.0),  # a quota of nothing is no quota the Hub could mean: the free one
        (100, 0, True, 500, 300.0),
        (-5, 30, True, 500, 300.0),
        (None, 30, True, 500, 300.0),
        (100, None, True, 500, 300.0),
        (1, 30, False, 1, 30.0),
        (100, 0.5, False, 50, 0.5),
        (100, 1, False, 50, 1.0),
    ],
)
def test_a_budget_trusts_only_a_positive_advertised_quota_and_window(
    quota: int | None, window: float | None, assumed: bool, cap: int, length: float
) -> None:
    """Half the quota is the cap when the Hub advertised a positive quota and window (however small);
    otherwise the free account's 1,000 calls per 300 s are assumed."""
    budget = Budget.of(share=0.5, quota=quota, window=window)
    assert (budget.assumed, budget.cap, budget.window) == (assumed, cap, length)
    assert budget.quota == (1000 if assumed else quota)


def test_a_budget_says_where_its_quota_came_from() -> None:
    """The budget's log line tells an advertised quota from the assumed free-account one."""
    told = Budget.of(share=0.5, quota=100, window=30).describe()
    assert "advertised" in told
    assert "assumed" not in told
    assert "50 requests per 30 s" in told


def test_a_send_one_window_after_the_oldest_fits_at_once() -> None:
    """With a cap of one request per 10 s, the next request may go exactly 10 s after the last one."""
    budget = Budget.of(share=1.0, quota=1, window=10)
    pool = PollBudget()
    pool.take(0.0, 1, budget)
    assert pool.wait(5.0, 1, budget) == pytest.approx(5.0)
    assert pool.wait(10.0, 1, budget) == 0.0


def test_requests_up_to_the_cap_go_at_the_paced_rate() -> None:
    """A window holding one request fewer than the cap lets the next go at the pacing time, not a window
    later."""
    budget = Budget.of(share=1.0, quota=4, window=10)  # one request per 2.5 s
    pool = PollBudget()
    for now in (0.0, 2.5, 5.0):
        assert pool.wait(now, 1, budget) == 0.0
        pool.take(now, 1, budget)
    assert pool.wait(7.5, 1, budget) == 0.0
    pool.take(7.5, 1, budget)
    # The fifth request is paced to t=10, when the first has left the window.
    assert pool.wait(9.0, 1, budget) == pytest.approx(1.0)
    assert pool.wait(10.0, 1, budget) == 0.0


def test_a_round_waits_for_as_many_old_sends_to_leave_the_window_as_it_needs() -> None:
    """A round of two requests in a full window waits until the two oldest sends have left it."""
    budget = Budget.of(share=1.0, quota=3, window=9)  # one request per 3 s
    pool = PollBudget()
    pool.take(0.0, 1, budget)
    pool.take(3.0, 1, budget)
    pool.take(6.0, 1, budget)
    # At t=9 the first send leaves; a round of two also needs the t=3 one gone: t=12, plus the hair.
    assert pool.wait(9.5, 2, budget) == pytest.approx(12.0 - 9.5, abs=1e-5)
    assert pool.wait(12.0 + 1e-5, 2, budget) == 0.0


def test_a_round_larger_than_the_cap_counts_as_the_cap() -> None:
    """A round of more requests than the cap is paced and capped as `cap` requests."""
    budget = Budget.of(share=1.0, quota=2, window=10)
    pool = PollBudget()
    assert pool.wait(0.0, 5, budget) == 0.0
    pool.take(0.0, 5, budget)
    assert pool.wait(5.0, 1, budget) == pytest.approx(5.0 + 1e-6)
    assert pool.wait(10.0 + 1e-5, 1, budget) == 0.0


def test_a_budget_refuses_an_empty_round() -> None:
    """Asking for fewer than one request is a ValueError naming `requests`."""
    budget = Budget.of(share=1.0, quota=10, window=10)
    with pytest.raises(ValueError, match="requests must be at least 1"):
        PollBudget().wait(0.0, 0, budget)
    assert PollBudget().wait(0.0, 1, budget) == 0.0


# --- _ratelimit: the shared rate-limit state ------------------------------------------------------------


def test_a_fresh_state_knows_no_figure() -> None:
    """Before any answer every figure of the bucket is None (unknown), as documented, and no 429 is
    counted."""
    state = RateLimitState()
    assert (state.remaining, state.limit, state.reset_at, state.window, state.throttled) == (
        None,
        None,
        None,
        None,
        0,
    )


def test_min_interval_counts_from_now_and_spreads_a_spent_quota_over_the_rest_of_the_window() -> None:
    """Mid-window, a poller's interval is the time left to the reset over the requests left; with none left,
    the whole time to the reset."""
    state = RateLimitState()
    state.observe(RateLimitInfo("api", remaining=4, reset_in=50), now=10.0, status=200)
    assert state.min_interval(20.0) == pytest.approx(10.0)  # (60 - 20) / 4
    state.observe(RateLimitInfo("api", remaining=0, reset_in=40), now=20.0, status=200)
    assert state.min_interval(30.0) == pytest.approx(30.0)
    assert state.min_interval(60.0) == 0.0


@pytest.mark.anyio
async def test_requests_in_flight_count_against_the_first_numbers() -> None:
    """Requests sent before any answer are subtracted from the remaining quota the first answer reports."""
    clock = VirtualClock()
    state = RateLimitState(probe_first=False)
    assert [await state.acquire(clock) for _ in range(3)] == [False, False, False]
    state.observe(RateLimitInfo("api", remaining=10, reset_in=60), now=0.0, status=200)
    assert state.remaining == 8  # the two others are still to be counted by the Hub


@pytest.mark.anyio
async def test_requests_in_flight_count_against_a_new_window() -> None:
    """Requests reserved in one window and still in flight when a new window is reported use up its quota;
    requests already over do not."""
    clock = VirtualClock()
    state = RateLimitState(probe_first=False)
    state.observe(RateLimitInfo("api", remaining=5, reset_in=10), now=0.0, status=200)
    for _ in range(4):
        await state.acquire(clock)
    state.release(False)  # one of them is over
    assert state.remaining == 1
    state.observe(RateLimitInfo("api", remaining=100, reset_in=70), now=1.0, status=200)
    assert (state.remaining, state.reset_at) == (98, 71.0)  # the answered one and two others in flight


@pytest.mark.anyio
async def test_sequential_requests_leave_no_reservation_behind() -> None:
    """One request at a time across windows: each new window's quota is exactly what the Hub reports."""
    clock = VirtualClock()
    state = RateLimitState()
    for _ in range(5):
        clock.advance(2.0)  # past the last reset: every request starts a new window
        probe = await state.acquire(clock)
        state.observe(
            RateLimitInfo("api", remaining=50, reset_in=1), now=clock.now(), status=200, probe=probe
        )
        state.release(probe)
        assert state.remaining == 50


@pytest.mark.parametrize(("later", "same_window"), [(0.5, True), (1.0, True), (1.5, False), (30.0, False)])
def test_a_reset_more_than_a_second_later_is_a_new_window(later: float, same_window: bool) -> None:
    """Reset times are known to the second: an answer whose reset is at most a second later belongs to the
    same window (the lower remaining count wins), a later one starts a new window (its count is taken)."""
    state = RateLimitState()
    state.observe(RateLimitInfo("api", remaining=5, reset_in=30), now=0.0, status=200)
    state.observe(RateLimitInfo("api", remaining=20, reset_in=30 + later), now=0.0, status=200)
    assert state.remaining == (5 if same_window else 20)
    assert state.reset_at == pytest.approx(30 + later)


def test_an_answer_with_an_earlier_reset_in_the_same_window_keeps_the_later_reset() -> None:
    """Within one window the later reset time is kept (the earlier one would let a probe go too soon)."""
    state = RateLimitState()
    state.observe(RateLimitInfo("api", remaining=5, reset_in=30), now=0.0, status=200)
    state.observe(RateLimitInfo("api", remaining=4, reset_in=29), now=0.5, status=200)
    assert (state.remaining, state.reset_at) == (4, 30.0)


@pytest.mark.parametrize(
    ("info", "retry_after", "reset_at"),
    [
        (RateLimitInfo("api", remaining=0, reset_in=7), None, 17.0),  # `t` of a spent window
        (RateLimitInfo("api", remaining=3, reset_in=1), 2.0, 12.0),  # not spent: Retry-After, if later
        (RateLimitInfo("api", remaining=0, reset_in=0), None, 10.0),  # the window resets right now
        (None, 0.5, 10.5),
        (None, None, 11.0),  # no hint at all: one second
    ],
)
def test_a_429_holds_the_bucket_until_the_hint_it_carries(
    info: RateLimitInfo | None, retry_after: float | None, reset_at: float
) -> None:
    """A 429 spends the window until `RateLimit` `t` when it says `r=0`, else until its `Retry-After`, else
    for one second."""
    state = RateLimitState()
    state.observe(info, now=10.0, status=429, retry_after=retry_after)
    assert (state.remaining, state.reset_at, state.throttled) == (0, pytest.approx(reset_at), 1)


def test_a_429_without_hints_keeps_a_reset_already_known() -> None:
    """A bare 429 inside a known window waits for that window's reset; at the reset itself, one second."""
    state = RateLimitState()
    state.observe(RateLimitInfo("api", remaining=5, reset_in=40), now=0.0, status=200)
    state.observe(None, now=10.0, status=429)
    assert state.reset_at == 40.0
    state.observe(None, now=40.0, status=429)
    assert state.reset_at == 41.0


@pytest.mark.parametrize("status", [429, 503])
def test_a_hold_at_the_clock_origin_lasts_only_its_hint(status: int) -> None:
    """A 429 or 503 answered at time 0 with `Retry-After: 0.5` holds the bucket half a second, not more."""
    state = RateLimitState()
    state.observe(None, now=0.0, status=status, retry_after=0.5)
    assert state.reset_at == 0.5


def test_every_429_is_counted() -> None:
    """`throttled` counts each 429 the bucket received; other answers do not count."""
    state = RateLimitState()
    for now in (0.0, 5.0, 9.0):
        state.observe(None, now=now, status=429, retry_after=1.0)
    state.observe(None, now=12.0, status=503, retry_after=1.0)
    assert state.throttled == 3


@pytest.mark.parametrize(("status", "held"), [(500, True), (503, True), (200, False), (404, False)])
def test_a_server_error_with_retry_after_holds_every_caller(status: int, held: bool) -> None:
    """A 5xx with `Retry-After` spends the window until then (the Hub asks everyone to hold off); the header
    on another status changes nothing."""
    state = RateLimitState()
    state.observe(None, now=10.0, status=status, retry_after=4.0)
    if held:
        assert (state.remaining, state.reset_at) == (0, 14.0)
    else:
        assert (state.remaining, state.reset_at) == (None, None)
    assert state.throttled == 0


@pytest.mark.anyio
async def test_the_wait_for_a_reset_counts_from_now() -> None:
    """Callers of a spent window whose reset is 30 s after now go at the reset, on a clock not at zero; the
    pause is announced with its length."""
    clock = VirtualClock(start=100.0)
    state = RateLimitState()
    state.observe(RateLimitInfo("api", 0, 30), now=100.0, status=200, probe=True)
    sent_at: list[float] = []

    async def caller() -> None:
        probe = await state.acquire(clock)
        sent_at.append(clock.now())
        if probe:
            state.observe(RateLimitInfo("api", 9, 30), now=clock.now(), status=200, probe=True)
        state.release(probe)

    async with anyio.create_task_group() as tg:
        for _ in range(2):
            tg.start_soon(caller)
    assert sent_at == [130.0, 130.0]


@pytest.mark.anyio
@pytest.mark.parametrize(("wait", "announced"), [(0.5, True), (0.4, False)])
async def test_a_pause_is_announced_from_half_a_second(
    wait: float, announced: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """Waiting for a window reset is logged when it lasts half a second or more, never for less."""
    clock = VirtualClock(start=50.0)
    state = RateLimitState(probe_first=False)
    state.observe(None, now=50.0, status=429, retry_after=wait)
    with caplog.at_level(logging.INFO, logger="aiospaces"):
        state.release(await state.acquire(clock))
    lines = [r.getMessage() for r in caplog.records if r.name == "aiospaces"]
    assert lines == (
        [f"rate limit of the 'api' bucket spent; waiting {wait:.1f}s for the window to reset"]
        if announced
        else []
    )
    assert clock.now() == pytest.approx(50.0 + wait)


@pytest.mark.anyio
async def test_the_probe_releases_the_others_as_soon_as_its_headers_arrive() -> None:
    """A probe that stays open (a log stream) lets the waiting callers go once its answer's headers are
    observed, before it is released."""
    clock = VirtualClock()
    state = RateLimitState()
    probe = await state.acquire(clock)
    assert probe
    went = anyio.Event()

    async def waiter() -> None:
        assert not await state.acquire(clock)
        went.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        await clock.sleep(1)
        assert not went.is_set()
        state.observe(RateLimitInfo("api", 10, 60), now=clock.now(), status=200, probe=True)
        await clock.sleep(1)
        released = went.is_set()
        tg.cancel_scope.cancel()  # a waiter still blocked is the failure below, not a hang
    assert released
    state.release(probe)
    assert state.remaining == 9


@pytest.mark.anyio
async def test_an_old_window_request_ending_does_not_release_the_probes_waiters() -> None:
    """A request of the previous window that ends (answered or not) while the new window's probe is out does
    not let the waiting callers go: only the probe's answer does."""
    clock = VirtualClock()
    state = RateLimitState()
    state.observe(RateLimitInfo("api", 5, 10), now=0.0, status=200, probe=True)
    old = await state.acquire(clock)
    clock.advance(10.0)  # the window reset while `old` is in flight
    probe = await state.acquire(clock)
    assert (old, probe) == (False, True)
    went = anyio.Event()

    async def waiter() -> None:
        await state.acquire(clock)
        went.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        await clock.sleep(1)
        state.observe(RateLimitInfo("api", 4, 9), now=clock.now(), status=200)  # `old`'s late answer
        state.release(old)
        await clock.sleep(1)
        assert not went.is_set()
        state.observe(RateLimitInfo("api", 60, 60), now=clock.now(), status=200, probe=True)
        state.release(probe)
        await clock.sleep(1)
        released = went.is_set()
        tg.cancel_scope.cancel()  # a waiter still blocked is the failure below, not a hang
    assert released


@pytest.mark.anyio
async def test_a_new_windows_probe_counts_the_old_windows_requests_still_in_flight() -> None:
    """Once the window's reset time has passed, its figures are unknown until the probe's answer, and that
    answer's quota is reduced by the previous window's requests still in flight."""
    clock = VirtualClock()
    state = RateLimitState()
    state.observe(RateLimitInfo("api", 5, 10), now=0.0, status=200, probe=True)
    old = [await state.acquire(clock) for _ in range(2)]
    clock.advance(10.0)
    probe = await state.acquire(clock)
    assert (old, probe) == ([False, False], True)
    assert (state.remaining, state.reset_at) == (None, None)
    state.observe(RateLimitInfo("api", 60, 60), now=clock.now(), status=200, probe=True)
    state.release(probe)
    assert (state.remaining, state.reset_at) == (58, 70.0)


@pytest.mark.anyio
async def test_a_late_answer_of_the_old_window_does_not_stand_in_for_the_probe() -> None:
    """After a reset, an answer to a request of the previous window does not count as the new window's
    probe: when the probe then fails without an answer, the next caller still goes alone as a probe."""
    clock = VirtualClock()
    state = RateLimitState()
    state.observe(RateLimitInfo("api", 5, 10), now=0.0, status=200, probe=True)
    old = await state.acquire(clock)
    clock.advance(11.0)  # the window reset while `old` is in flight
    probe = await state.acquire(clock)
    assert (old, probe) == (False, True)
    roles: list[bool] = []

    async def waiter() -> None:
        roles.append(await state.acquire(clock))

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        await clock.sleep(1)
        state.observe(RateLimitInfo("api", 4, 9), now=clock.now(), status=200)  # `old`'s late answer
        state.release(old)
        state.settle_probe()  # the probe's connection failed: no answer
        state.release(probe)
    assert roles == [True]


@pytest.mark.anyio
async def test_a_probe_that_gets_no_answer_hands_probing_to_the_next_caller() -> None:
    """When the probe fails without any answer, the next caller goes alone as the new probe; the others
    still wait."""
    clock = VirtualClock()
    state = RateLimitState()
    first = await state.acquire(clock)
    order: list[bool] = []

    async def waiter() -> None:
        probe = await state.acquire(clock)
        order.append(probe)
        if probe:
            await clock.sleep(1)
            state.observe(RateLimitInfo("api", 10, 60), now=clock.now(), status=200, probe=True)
        state.release(probe)

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(waiter)
        await clock.sleep(1)
        state.settle_probe()  # the connection failed: no answer to learn from
        state.release(first)
    assert order == [True, False, False]


@pytest.mark.anyio
async def test_another_hosts_bucket_sends_without_probing() -> None:
    """A bucket created without `probe_first` (pre-signed storage) lets concurrent requests go at once;
    the Hub's own buckets probe first."""
    clock = VirtualClock()
    limiter = RateLimiter()
    storage = limiter.state("external:storage.test", probe_first=False)
    assert [await storage.acquire(clock) for _ in range(3)] == [False, False, False]
    resolvers = limiter.state("resolvers")
    assert await resolvers.acquire(clock)
    assert (limiter.state("api").bucket, resolvers.bucket, storage.bucket) == (
        "api",
        "resolvers",
        "external:storage.test",
    )
    assert limiter.state("external:storage.test") is storage


# --- _headers: the rate-limit headers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("0", 0.0), ("0.5", 0.5), (" 12 ", 12.0), ("-1", None), ("-0.5", None), ("", None), ("soon", None)],
)
def test_retry_after_is_a_non_negative_number_of_seconds(value: str, seconds: float | None) -> None:
    """`Retry-After: 0` means retry now; a negative, empty or non-numeric value is no delay at all."""
    assert retry_after_seconds({"Retry-After": value}) == seconds


def test_rate_limit_headers_are_found_whatever_their_case_in_a_plain_mapping() -> None:
    """In a plain mapping, `RateLimit` and `RateLimit-Policy` are read whatever the keys' case, and a
    missing or unreadable policy leaves the quota and window unknown."""
    info = parse_rate_limit({"RateLimit": '"resolvers";r=7;t=30', "ratelimit-policy": '"fw";q=40;w=60'})
    assert info == RateLimitInfo("resolvers", remaining=7, reset_in=30.0, limit=40, window=60.0)
    bare = parse_rate_limit({"ratelimit": '"api";r=1;t=2'})
    assert bare is not None
    assert (bare.limit, bare.window) == (None, None)
    junk = parse_rate_limit({"RateLimit": '"api";r=1;t=2', "RateLimit-Policy": "fixed window"})
    assert junk is not None
    assert (junk.limit, junk.window) == (None, None)
    assert header({"X-Other": "1"}, "ratelimit") is None


def test_a_429_without_a_spent_window_waits_its_retry_after() -> None:
    """A 429 whose `RateLimit` still shows requests left (or none at all) waits its `Retry-After`."""
    assert rate_limited_wait({"RateLimit": '"api";r=1;t=9', "Retry-After": "4"}) == 4.0
    assert rate_limited_wait({"Retry-After": "4"}) == 4.0
    assert rate_limited_wait({"RateLimit": '"api";r=0;t=0', "Retry-After": "4"}) == 0.0
