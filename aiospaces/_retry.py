"""Retrying, in one place: the retry policy, the pure decision of what to do after a failed attempt
(`decide`), and the one retry loop (`Retrying`) that every retrying caller of the SDK runs: HTTP requests,
the resends of non-idempotent calls after an ambiguous failure, the task queue's compare-and-swap, log
following, download resumes and the temporary-hardware restore.

`decide` does no I/O and draws no random number itself (it is handed one), so the whole policy is tested as a
table. `Retrying` only counts attempts, sleeps on the client's clock and logs each retry with its reason on
the `aiospaces` logger.
"""

from __future__ import annotations

import enum
import logging
import random
from collections.abc import Callable
from types import TracebackType
from typing import Final

import attrs

from ._clock import Clock
from .validation import validate_concurrency, validate_seconds

__all__ = ["Failure", "Outcome", "RetryPolicy", "Retrying", "coerce_retry", "decide"]

logger = logging.getLogger("aiospaces")

# Nothing listens at the endpoint (connection refused before this client ever got an answer from it): one
# quick retry covers a server that is just starting; more would only make a wrong `--endpoint` slow to report.
REFUSED_ATTEMPTS: Final = 2


RETRYABLE_STATUSES: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})


def is_retryable_status(status: int) -> bool:
    """408, 429 and 5xx except 501/505 (not transient) are worth retrying."""
    return status in RETRYABLE_STATUSES or (500 <= status < 600 and status not in (501, 505))


def backoff_delay(attempt: int, *, base: float, cap: float, jitter: float) -> float:
    """Delay before retry number `attempt` (1-based): exponential, capped, with "equal jitter".

    Args:
        attempt: 1 for the first retry.
        base: delay of the first retry before jitter.
        cap: maximum delay.
        jitter: a random number in [0, 1); half the delay is fixed, half is scaled by it, so concurrent
            clients spread out without ever retrying immediately.
    """
    if attempt < 1:
        return 0.0
    # The exponent is bounded: a loop that retries without end must not overflow the float.
    raw = float(min(cap, base * (2 ** min(attempt - 1, 64))))
    return raw / 2 + raw / 2 * min(max(jitter, 0.0), 1.0)


@attrs.frozen
class RetryPolicy:
    """How transient failures are retried.

    Attributes:
        max_attempts: total attempts for one call, the first included (1 disables retries).
        base_delay: delay before the first retry (before jitter), seconds.
        max_delay: cap of the exponential backoff, seconds.
        max_rate_limited: how many 429s one call absorbs (each waits for the window reset) before raising.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_rate_limited: int = 10

    def __attrs_post_init__(self) -> None:
        validate_concurrency(self.max_attempts, arg="retry.max_attempts")
        validate_seconds(self.base_delay, arg="retry.base_delay", allow_zero=True)
        validate_seconds(self.max_delay, arg="retry.max_delay", allow_zero=True)
        if isinstance(self.max_rate_limited, bool) or not isinstance(self.max_rate_limited, int):
            raise TypeError(
                f"retry.max_rate_limited must be an int, got {type(self.max_rate_limited).__name__}"
            )
        if self.max_rate_limited < 0:
            raise ValueError("retry.max_rate_limited must be >= 0")


def coerce_retry(retry: RetryPolicy | int | bool | None) -> RetryPolicy:
    """`retry=` accepts a `RetryPolicy`, an int (number of retries), False (no retry) or None (default)."""
    if retry is None or retry is True:
        return RetryPolicy()
    if retry is False:
        return RetryPolicy(max_attempts=1, max_rate_limited=0)
    if isinstance(retry, RetryPolicy):
        return retry
    if isinstance(retry, int):
        if retry < 0:
            raise ValueError(f"retry must be >= 0 retries, got {retry}")
        return RetryPolicy(max_attempts=retry + 1)
    raise TypeError(f"retry must be a RetryPolicy, an int, a bool or None, got {type(retry).__name__}")


class Outcome(enum.Enum):
    """How an attempt failed, as far as retrying is concerned."""

    #: Connection refused and the endpoint never answered this client: most likely nothing listens there.
    REFUSED = "refused"
    #: The request provably never left (connect failure): safe to resend whatever the method.
    NOT_SENT = "not sent"
    #: Sent, but no answer (timeout, connection dropped, body cut off): it may have taken effect.
    NO_ANSWER = "no answer"
    #: A transient error status (408, 5xx): the Hub may or may not have acted.
    RETRYABLE_STATUS = "retryable status"
    #: 429: rejected before acting; its own budget, the rate-limit state waits for the window reset.
    RATE_LIMITED = "rate limited"
    #: A non-idempotent call may have taken effect: the caller reconciles (reads state) before resending.
    AMBIGUOUS = "ambiguous"
    #: Lost a race (412 on `parent_commit`, 409 "operation in progress"): re-read and redo.
    CONFLICT = "conflict"
    #: Not worth retrying.
    FINAL = "final"


@attrs.frozen
class Failure:
    """A failed attempt as `decide` sees it.

    Attributes:
        outcome: how it failed.
        reason: one short line for the retry log (never a credential).
        retry_after: the server's `Retry-After`, seconds, when it sent one.
    """

    outcome: Outcome
    reason: str
    retry_after: float | None = None


def decide(
    outcome: Outcome,
    attempt: int,
    *,
    idempotent: bool,
    policy: RetryPolicy,
    random: float,
    retry_after: float | None = None,
) -> float | None:
    """The delay before the next attempt, or None to give up. Pure.

    Args:
        outcome: how the attempt failed.
        attempt: for `RATE_LIMITED`, how many 429s this call got so far (their budget is
            `policy.max_rate_limited`); otherwise the number of the attempt that failed (1 for the first;
            429s do not count).
        idempotent: whether resending is harmless once the request may have been applied.
        policy: attempts and backoff.
        random: a number in [0, 1) for the jitter.
        retry_after: the server's `Retry-After` for a retryable status, which replaces the backoff.
    """
    if outcome is Outcome.RATE_LIMITED:
        # No delay here: the shared rate-limit state holds the reset time, and the next attempt waits for it.
        return 0.0 if attempt <= policy.max_rate_limited else None
    if outcome is Outcome.FINAL or attempt >= policy.max_attempts:
        return None
    if outcome is Outcome.REFUSED and attempt >= REFUSED_ATTEMPTS:
        return None
    if not idempotent and outcome in (Outcome.NO_ANSWER, Outcome.RETRYABLE_STATUS):
        return None
    if outcome is Outcome.RETRYABLE_STATUS and retry_after is not None:
        return retry_after
    return backoff_delay(attempt, base=policy.base_delay, cap=policy.max_delay, jitter=random)


# How loud each retry is: `aiospaces -v` shows INFO and up. Losing a compare-and-swap race is routine.
_LEVELS: Final = {Outcome.CONFLICT: logging.DEBUG, Outcome.RATE_LIMITED: logging.INFO}


class Retrying:
    """The one retry loop: attempts a block until it succeeds, or `decide` gives up (the failure is raised).

    Usage (the block runs in the caller's own frame, so it may `return`, `break` or even `yield`)::

        retrying = Retrying(policy, clock=clock, rng=rng, classify=classify, what="GET", target=url)
        async for attempt in retrying:
            with attempt:
                return await send()

    `classify` maps an exception of the block to a `Failure` (None: not retried, raised at once).
    Cancellation and other `BaseException`s always propagate. `progress()` restarts the count (a follower
    that received data).

    Attributes:
        attempt: the current attempt's number (1-based; 429s do not count).
        rate_limited: 429s so far.
    """

    __slots__ = (
        "_classify",
        "_clock",
        "_delay",
        "_done",
        "_idempotent",
        "_label",
        "_policy",
        "_rng",
        "_started",
        "attempt",
        "rate_limited",
        "throttled",
    )

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        clock: Clock,
        rng: random.Random,
        classify: Callable[[Exception], Failure | None],
        idempotent: bool = True,
        what: str,
        target: str = "",
    ) -> None:
        self._policy = policy
        self._clock = clock
        self._rng = rng
        self._classify = classify
        self._idempotent = idempotent
        self._label = f"{what} {target}" if target else what
        self._delay = 0.0
        self._done = False
        self._started = False
        self.attempt = 0
        self.rate_limited = 0
        self.throttled = False  # the last failure was a 429 (it does not use up an attempt)

    def __aiter__(self) -> Retrying:
        return self

    async def __anext__(self) -> Retrying:
        if self._done:
            raise StopAsyncIteration
        if self._started:
            if self._delay > 0:
                await self._clock.sleep(self._delay)
            if not self.throttled:
                self.attempt += 1
        else:
            self._started = True
            self.attempt = 1
        self._done = True  # until a failure asks for another attempt
        return self

    def progress(self) -> None:
        """The operation moved forward (e.g. a stream delivered data): the next failure counts as a first."""
        self.attempt = 1
        self.rate_limited = 0

    def __enter__(self) -> Retrying:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if not isinstance(exc, Exception):
            return False  # success (the loop ends), or cancellation / GeneratorExit: never retried
        failure = self._classify(exc)
        if failure is None:
            return False
        self.throttled = failure.outcome is Outcome.RATE_LIMITED
        if self.throttled:
            self.rate_limited += 1
        delay = decide(
            failure.outcome,
            self.rate_limited if self.throttled else self.attempt,
            idempotent=self._idempotent,
            policy=self._policy,
            random=self._rng.random(),
            retry_after=failure.retry_after,
        )
        if delay is None:
            return False
        self._delay = delay
        self._done = False
        logger.log(
            _LEVELS.get(failure.outcome, logging.WARNING),
            "%s failed (%s); retrying in %.2fs (attempt %d/%d)",
            self._label,
            failure.reason,
            delay,
            self.attempt + (0 if self.throttled else 1),
            REFUSED_ATTEMPTS if failure.outcome is Outcome.REFUSED else self._policy.max_attempts,
        )
        return True
