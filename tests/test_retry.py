"""The retry decision as a table (pure: outcome, attempt, idempotency, policy, random -> delay or give up),
and the one retry loop that runs it: attempts, separate 429 budget, sleeps on the given clock, one log line
per retry with its reason, the original error when it gives up."""

from __future__ import annotations

import ast
import logging
import random
from pathlib import Path

import anyio
import pytest
from _doubles import SleepRecorder

import aiospaces
from aiospaces._headers import RateLimitInfo
from aiospaces._ratelimit import RateLimitState
from aiospaces._retry import Failure, Outcome, Retrying, RetryPolicy, decide
from aiospaces.testing import VirtualClock

DEFAULT = RetryPolicy()  # 6 attempts, 0.5 s base, 30 s cap, 10 rate-limited answers
ONE_SHOT = RetryPolicy(max_attempts=1, max_rate_limited=0)
TIGHT_CAP = RetryPolicy(max_attempts=10, base_delay=0.5, max_delay=1.0)
NO_DELAY = RetryPolicy(base_delay=0.0)

Out = Outcome
# (outcome, attempt, idempotent, policy, random, retry_after) -> delay, or None for "give up"
TABLE: list[tuple[Outcome, int, bool, RetryPolicy, float, float | None, float | None]] = [
    # A request that never left is resent whatever its method, with exponential backoff and equal jitter.
    (Out.NOT_SENT, 1, False, DEFAULT, 0.0, None, 0.25),
    (Out.NOT_SENT, 1, False, DEFAULT, 1.0, None, 0.5),
    (Out.NOT_SENT, 1, True, DEFAULT, 0.5, None, 0.375),
    (Out.NOT_SENT, 3, True, DEFAULT, 0.0, None, 1.0),
    (Out.NOT_SENT, 5, True, DEFAULT, 0.0, None, 4.0),
    (Out.NOT_SENT, 5, True, DEFAULT, 1.0, None, 8.0),
    (Out.NOT_SENT, 6, True, DEFAULT, 0.0, None, None),  # the attempt budget is spent
    (Out.NOT_SENT, 9, True, TIGHT_CAP, 1.0, None, 1.0),  # capped
    (Out.NOT_SENT, 1, True, ONE_SHOT, 0.0, None, None),  # retries disabled
    (Out.NOT_SENT, 4, True, NO_DELAY, 0.7, None, 0.0),
    # Nothing listening: one quick retry, never a second, whatever the budget.
    (Out.REFUSED, 1, False, DEFAULT, 0.0, None, 0.25),
    (Out.REFUSED, 1, True, DEFAULT, 1.0, None, 0.5),
    (Out.REFUSED, 2, True, DEFAULT, 0.0, None, None),
    (Out.REFUSED, 2, True, TIGHT_CAP, 0.0, None, None),
    (Out.REFUSED, 1, True, ONE_SHOT, 0.0, None, None),
    # Sent but unanswered: resent only when resending is harmless.
    (Out.NO_ANSWER, 1, True, DEFAULT, 0.0, None, 0.25),
    (Out.NO_ANSWER, 2, True, DEFAULT, 1.0, None, 1.0),
    (Out.NO_ANSWER, 1, False, DEFAULT, 0.0, None, None),
    (Out.NO_ANSWER, 6, True, DEFAULT, 0.0, None, None),
    # 408/5xx: the same, and the server's Retry-After replaces the backoff.
    (Out.RETRYABLE_STATUS, 1, True, DEFAULT, 0.0, None, 0.25),
    (Out.RETRYABLE_STATUS, 2, True, DEFAULT, 0.0, 7.0, 7.0),
    (Out.RETRYABLE_STATUS, 2, True, DEFAULT, 0.9, 0.0, 0.0),
    (Out.RETRYABLE_STATUS, 1, False, DEFAULT, 0.0, 7.0, None),
    (Out.RETRYABLE_STATUS, 6, True, DEFAULT, 0.0, 7.0, None),
    # 429: its own budget (`max_rate_limited`), no backoff (the rate-limit state waits for the reset), any
    # method, even with retries otherwise disabled.
    (Out.RATE_LIMITED, 1, False, DEFAULT, 0.9, None, 0.0),
    (Out.RATE_LIMITED, 10, False, DEFAULT, 0.9, None, 0.0),
    (Out.RATE_LIMITED, 11, True, DEFAULT, 0.0, None, None),
    (Out.RATE_LIMITED, 1, True, RetryPolicy(max_attempts=1), 0.0, 30.0, 0.0),
    (Out.RATE_LIMITED, 1, True, ONE_SHOT, 0.0, None, None),
    # A non-idempotent call that may have taken effect, or a lost race: the caller reconciles or re-reads
    # before the next attempt, so idempotency does not matter; the attempt budget does.
    (Out.AMBIGUOUS, 1, False, DEFAULT, 0.0, None, 0.25),
    (Out.AMBIGUOUS, 2, False, DEFAULT, 1.0, None, 1.0),
    (Out.AMBIGUOUS, 6, False, DEFAULT, 0.0, None, None),
    (Out.CONFLICT, 1, False, DEFAULT, 0.0, None, 0.25),
    (Out.CONFLICT, 3, True, TIGHT_CAP, 0.0, None, 0.5),
    (Out.CONFLICT, 10, True, TIGHT_CAP, 0.0, None, None),
    # Anything else is final.
    (Out.FINAL, 1, True, DEFAULT, 0.0, None, None),
    (Out.FINAL, 1, False, DEFAULT, 0.0, 1.0, None),
]


@pytest.mark.parametrize(
    ("outcome", "attempt", "idempotent", "policy", "rnd", "retry_after", "expected"), TABLE
)
def test_decide_table(
    outcome: Outcome,
    attempt: int,
    idempotent: bool,
    policy: RetryPolicy,
    rnd: float,
    retry_after: float | None,
    expected: float | None,
) -> None:
    """Each row: the delay before the next attempt, or None (give up), for one failed attempt."""
    delay = decide(
        outcome, attempt, idempotent=idempotent, policy=policy, random=rnd, retry_after=retry_after
    )
    if expected is None:
        assert delay is None
    else:
        assert delay == pytest.approx(expected)


def test_the_table_covers_every_outcome() -> None:
    """Every outcome has rows in the table, both for retrying and for giving up (FINAL: giving up only)."""
    for outcome in Outcome:
        results = {row[-1] is None for row in TABLE if row[0] is outcome}
        assert results == ({True} if outcome is Outcome.FINAL else {True, False}), outcome


class _Boom(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.value)
        self.outcome = outcome


def _classify(exc: Exception) -> Failure | None:
    return Failure(exc.outcome, f"boom: {exc.outcome.value}") if isinstance(exc, _Boom) else None


async def _run(outcomes: list[Outcome], policy: RetryPolicy = DEFAULT) -> tuple[int, Retrying, SleepRecorder]:
    """Attempt until one succeeds: each attempt fails with the next outcome, then succeeds."""
    clock = SleepRecorder()
    pending = list(outcomes)
    calls = 0
    retrying = Retrying(
        policy,
        clock=clock,
        rng=random.Random(0),
        classify=_classify,
        idempotent=True,
        what="GET",
        target="/x",
    )
    async for attempt in retrying:
        with attempt:
            calls += 1
            if pending:
                raise _Boom(pending.pop(0))
            return calls, retrying, clock
    raise AssertionError("the loop ended without success or error")


@pytest.mark.anyio
async def test_loop_retries_until_success_sleeping_the_decided_delays() -> None:
    """Two failures then a success: three attempts, two sleeps, each within its backoff range."""
    calls, retrying, clock = await _run([Outcome.NOT_SENT, Outcome.NO_ANSWER])
    assert calls == 3
    assert retrying.attempt == 3
    assert len(clock.slept) == 2
    assert 0.25 <= clock.slept[0] <= 0.5
    assert 0.5 <= clock.slept[1] <= 1.0


@pytest.mark.anyio
async def test_loop_gives_up_with_the_original_error() -> None:
    """When the budget is spent, the last attempt's own exception propagates."""
    with pytest.raises(_Boom):
        await _run([Outcome.NOT_SENT] * 3, RetryPolicy(max_attempts=3))


@pytest.mark.anyio
async def test_rate_limited_answers_do_not_use_up_attempts() -> None:
    """Five 429s and two connect failures succeed under max_attempts=3: 429s have their own budget."""
    outcomes = [Outcome.RATE_LIMITED] * 5 + [Outcome.NOT_SENT] * 2
    calls, retrying, _ = await _run(outcomes, RetryPolicy(max_attempts=3))
    assert calls == 8
    assert (retrying.attempt, retrying.rate_limited) == (3, 5)


@pytest.mark.anyio
async def test_unclassified_errors_and_cancellation_are_not_retried() -> None:
    """An exception `classify` does not know propagates after one attempt; so does cancellation."""
    clock = SleepRecorder()
    calls = 0
    retrying = Retrying(DEFAULT, clock=clock, rng=random.Random(0), classify=_classify, what="GET")

    async def fail_unknown() -> None:
        nonlocal calls
        async for attempt in retrying:
            with attempt:
                calls += 1
                raise KeyError("not a transport failure")

    with pytest.raises(KeyError):
        await fail_unknown()
    assert (calls, clock.slept) == (1, [])

    cancelled = Retrying(DEFAULT, clock=clock, rng=random.Random(0), classify=lambda exc: None, what="GET")
    with anyio.CancelScope() as scope:
        async for attempt in cancelled:
            with attempt:
                calls += 1
                scope.cancel()
                await anyio.sleep(1)
    assert scope.cancelled_caught
    assert calls == 2


@pytest.mark.anyio
async def test_progress_restarts_the_count() -> None:
    """After `progress()`, a long-lived follower gets its whole budget again."""
    clock = SleepRecorder()
    retrying = Retrying(
        RetryPolicy(max_attempts=2), clock=clock, rng=random.Random(0), classify=_classify, what="logs"
    )
    failures = 0
    async for attempt in retrying:
        with attempt:
            if failures < 4:
                failures += 1
                retrying.progress()  # data arrived before each cut
                raise _Boom(Outcome.NO_ANSWER)
    assert failures == 4
    assert len(clock.slept) == 4


@pytest.mark.anyio
async def test_each_retry_is_logged_with_its_reason(caplog: pytest.LogCaptureFixture) -> None:
    """One log line per retry on the `aiospaces` logger, naming the call, the reason and the attempt; a
    refused connection shows its own two-attempt budget."""
    with caplog.at_level(logging.DEBUG, logger="aiospaces"):
        await _run([Outcome.REFUSED, Outcome.RETRYABLE_STATUS, Outcome.RATE_LIMITED])
    lines = [r.getMessage() for r in caplog.records if r.name == "aiospaces"]
    assert len(lines) == 3
    assert lines[0].startswith("GET /x failed (boom: refused); retrying in ")
    assert lines[0].endswith("(attempt 2/2)")
    assert "(boom: retryable status)" in lines[1]
    assert lines[1].endswith("(attempt 3/6)")
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.WARNING, logging.INFO]


@pytest.mark.anyio
async def test_a_retry_loop_without_a_target_logs_its_operation(caplog: pytest.LogCaptureFixture) -> None:
    """A loop given only `what` (a user's own operation) logs "what failed (...)", without a stray space."""
    retrying = Retrying(
        DEFAULT, clock=SleepRecorder(), rng=random.Random(0), classify=_classify, what="updating the fleet"
    )
    with caplog.at_level(logging.DEBUG, logger="aiospaces"):
        async for attempt in retrying:
            with attempt:
                if retrying.attempt == 1:
                    raise _Boom(Outcome.RETRYABLE_STATUS)
    [line] = [r.getMessage() for r in caplog.records if r.name == "aiospaces"]
    assert line.startswith("updating the fleet failed (boom: retryable status); retrying in ")


# --- one retry loop in the code base ----------------------------------------------------------------------

PACKAGE = Path(aiospaces.__file__).parent
SHARED_LOOP = PACKAGE / "_retry.py"
# Every place that used to run a retry loop of its own, by function name: each now runs `Retrying`.
FORMER_LOOPS = {
    "request",  # HttpTransport: buffered requests
    "stream",  # HttpTransport: streamed responses until the status line
    "_ambiguity_safe",  # resends of non-idempotent calls (create, duplicate, restart, commits, deletes)
    "_fetch_space_logs",  # log following reconnects (the iteration behind `fetch_space_logs`)
    "_download_blob",  # download resumes
    "_update",  # the task queue's compare-and-swap
    "_request_back",  # the temporary-hardware restore
}


def _loop_body(loop: ast.AST) -> list[ast.AST]:
    """Every node inside `loop`, nested function and class bodies excluded (they run elsewhere)."""
    found: list[ast.AST] = []
    pending = list(ast.iter_child_nodes(loop))
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        found.append(node)
        pending.extend(ast.iter_child_nodes(node))
    return found


def _is_sleep(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Attribute) and func.attr == "sleep") or (
        isinstance(func, ast.Name) and func.id == "sleep"
    )


def _calls_backoff(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return "backoff" in name.lower()


def retry_loops(source: str) -> list[int]:
    """Lines of the loops in `source` that retry on their own: a loop that catches exceptions and sleeps, or
    that calls a backoff function."""
    lines = []
    for loop in ast.walk(ast.parse(source)):
        if not isinstance(loop, ast.For | ast.AsyncFor | ast.While):
            continue
        body = _loop_body(loop)
        catches = any(isinstance(node, ast.ExceptHandler) for node in body)
        if (catches and any(_is_sleep(node) for node in body)) or any(_calls_backoff(n) for n in body):
            lines.append(loop.lineno)
    return lines


def test_the_scan_finds_a_hand_written_retry_loop() -> None:
    """The scan recognises the shapes a hand-written retry loop takes (so the next test can fail)."""
    sleeps_after_catching = (
        "async def f(clock):\n"
        "    while True:\n"
        "        try:\n"
        "            return await send()\n"
        "        except OSError:\n"
        "            pass\n"
        "        await clock.sleep(1)\n"
    )
    computes_a_backoff = "def g():\n    for attempt in range(3):\n        delay = backoff_delay(attempt)\n"
    checks_settings = "def k(backoff_base):\n    for value in (backoff_base,):\n        check(value)\n"
    a_poll_loop = "async def h(clock):\n    while True:\n        await poll()\n        await clock.sleep(5)\n"
    assert retry_loops(sleeps_after_catching) == [2]
    assert retry_loops(computes_a_backoff) == [2]
    assert retry_loops(a_poll_loop) == []
    assert retry_loops(checks_settings) == []


def test_no_retry_loop_outside_the_shared_one() -> None:
    """No module of the SDK (the simulator included) retries in a loop of its own: only `_retry.Retrying`
    sleeps between attempts."""
    found = {
        f"{path.relative_to(PACKAGE.parent)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != SHARED_LOOP
        for line in retry_loops(path.read_text())
    }
    assert found == set()


def test_every_former_retry_loop_runs_the_shared_one() -> None:
    """Each place that used to retry by hand (requests, resends, log following, download resumes, the task
    queue, the hardware restore) now constructs `Retrying`."""
    using: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for function in ast.walk(ast.parse(path.read_text())):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef) and any(
                isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Retrying"
                for node in ast.walk(function)
            ):
                using.add(function.name)
    assert using >= FORMER_LOOPS


@pytest.mark.anyio
async def test_pacing_is_logged_once_per_window(caplog: pytest.LogCaptureFixture) -> None:
    """When the quota is spent, the wait for the window reset shows once at INFO (`aiospaces -v`), however
    many callers wait."""
    clock = VirtualClock()
    state = RateLimitState()
    state.observe(RateLimitInfo("api", remaining=0, reset_in=30), now=0.0, status=200, probe=True)

    async def one_call() -> None:
        probe = await state.acquire(clock)
        state.release(probe)

    with caplog.at_level(logging.INFO, logger="aiospaces"):
        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(one_call)
    lines = [r.getMessage() for r in caplog.records if r.name == "aiospaces"]
    assert lines == ["rate limit of the 'api' bucket spent; waiting 30.0s for the window to reset"]
    assert clock.now() >= 30
