"""Watching one Space: the poll loop (`SpacePoll`), the `watch` iterator, and the wait loop of every `wait_*`.

Layering: `_poll.py` decides when to poll and what a read means (pure); `_fences.py` says which reads predate
this client's own actions; this module does the reading, on the session's clock, through the Hub operations
(`RuntimeOps`). Nothing here holds a task group across a `yield`: a watch is a plain async iterator object
whose `__anext__` does one bounded piece of work, so dropping or cancelling one leaves no task and no open
response behind.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Final, Protocol, Self

import attrs

from . import validation
from ._clock import move_on_at
from ._poll import PollPolicy, PollTracker, changed_fields, describe_last, likely_in
from ._session import Session
from .errors import WaitTimeoutError
from .models import SpaceInfo, SpaceRuntime, stage_name

__all__ = ["RuntimeChange", "RuntimeOps", "RuntimeWatch", "SpacePoll", "close_iterator", "wait_for"]

logger = logging.getLogger("aiospaces")

# How long past a wait's deadline a read started before it may still take (a read can block much longer:
# waiting for the rate-limit window to reset, hub-api.md §4.3, or retrying): it is cut off there.
DEADLINE_OVERRUN: Final = 10.0


class RuntimeOps(Protocol):
    """The Hub operations waiting is built on (implemented by `SpacesClient`)."""

    async def get_space_runtime(self, repo_id: str) -> SpaceRuntime: ...

    async def request_space_hardware(
        self, repo_id: str, hardware: str, *, sleep_time: int | None = None
    ) -> SpaceRuntime: ...

    async def restart_space(self, repo_id: str, *, factory_reboot: bool = False) -> SpaceRuntime: ...

    async def set_space_sleep_time(self, repo_id: str, sleep_time: int) -> SpaceRuntime: ...

    def list_spaces(
        self, *, author: str | None = None, limit: int | None = None, expand: Sequence[str] | None = None
    ) -> AsyncIterator[SpaceInfo]: ...

    def fetch_space_logs(
        self, repo_id: str, *, build: bool = False, follow: bool = False
    ) -> AsyncIterator[str]: ...


async def close_iterator(iterator: object) -> None:
    """Close an async generator now (its open response with it), not whenever it is garbage collected."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


class CadenceLog:
    """Logs (INFO) the delay between polls of a loop when it changes by more than a quarter, so `-v` shows
    the cadence without a line per poll."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.last: float | None = None

    def note(self, delay: float, why: str) -> None:
        """Record the delay just chosen; log it when it differs enough from the last one logged."""
        last = self.last
        if last is None or not (0.8 * last <= delay <= 1.25 * last):
            self.last = delay
            logger.info("polling %s every %.2g s (%s)", self.what, delay, why)


def cadence_reason(transitional: bool, likely: float | None) -> str:
    """Why a Space is polled at its current cadence, for the cadence log."""
    if likely is not None and likely <= 0:
        return "transition likely"
    return "transitional" if transitional else "settled"


# --- argument checks shared by every watch and wait ---------------------------------------------------------


def check_timeout(timeout: object) -> float | None:
    """`timeout` as seconds (None: no deadline); ValueError unless a number >= 0."""
    return validation.validate_timeout(timeout, allow_zero=True)


def check_policy(policy: object) -> PollPolicy:
    """`policy`, or the default `PollPolicy()` for None; TypeError for anything else."""
    if policy is None:
        return PollPolicy()
    if not isinstance(policy, PollPolicy):
        raise TypeError(f"policy must be a PollPolicy, got {type(policy).__name__}")
    return policy


def check_on_change(on_change: object) -> Callable[[RuntimeChange], object] | None:
    """`on_change` when callable or None; TypeError otherwise."""
    if on_change is not None and not callable(on_change):
        raise TypeError(f"on_change must be callable or None, got {type(on_change).__name__}")
    return on_change


def check_repo_ids(repo_ids: object) -> list[str]:
    """The repo ids of an iterable (not a single string), validated, without duplicates."""
    if isinstance(repo_ids, str):
        raise TypeError("repo_ids must be an iterable of repo ids, not a single string")
    if not isinstance(repo_ids, Iterable):
        raise TypeError(f"repo_ids must be an iterable of repo ids, got {type(repo_ids).__name__}")
    ids = [validation.validate_repo_id(r, arg="repo_ids") for r in repo_ids]
    if len(set(ids)) != len(ids):
        raise ValueError("repo_ids contains duplicates")
    return ids


@attrs.frozen
class RuntimeChange:
    """One observed change of a Space's runtime.

    Attributes:
        repo_id: the Space.
        previous: the runtime observed before, or None for the first observation.
        current: the runtime just observed.
        when: the client clock's time of the observation.
        changed: which watched fields changed (stage, hardware, requested_hardware, storage, sleep_time,
            dev_mode); all of them for the first observation.
    """

    repo_id: str
    previous: SpaceRuntime | None
    current: SpaceRuntime
    when: float
    changed: frozenset[str]

    @classmethod
    def between(
        cls, repo_id: str, previous: SpaceRuntime | None, current: SpaceRuntime, when: float
    ) -> RuntimeChange:
        """The change from `previous` (None: the first observation) to `current`, observed at `when`."""
        return cls(repo_id, previous, current, when, changed_fields(previous, current))

    @property
    def stage(self) -> str:
        """The current stage, as a plain string."""
        return stage_name(self.current.stage)


class SpacePoll:
    """The poll loop of one Space: when to read (policy), what to ignore (fences), what was seen."""

    def __init__(
        self, session: Session, hub: RuntimeOps, repo_id: str, policy: PollPolicy, deadline: float | None
    ) -> None:
        self.session = session
        self.hub = hub
        self.repo_id = repo_id
        self.tracker = PollTracker(policy)
        self.deadline = deadline
        self.last: SpaceRuntime | None = None
        self.reads = 0
        self._first = True
        self._cadence = CadenceLog(repo_id)

    async def read(self) -> tuple[SpaceRuntime, bool] | None:
        """Sleep as the policy says, then read until a read is not stale.

        Returns:
            The runtime and whether a watched field changed, or None once no poll fits before the deadline
            (after sleeping until the deadline).
        """
        return await self.session.load.polling(1, self._read)

    async def _read(self) -> tuple[SpaceRuntime, bool] | None:
        session = self.session
        clock = session.clock
        policy = self.tracker.policy
        bound = None if self.deadline is None else self.deadline + DEADLINE_OVERRUN
        while True:
            if not self._first:
                now = clock.now()
                likely = self.likely(now)
                delay = self.tracker.next_delay(
                    now,
                    deadline=self.deadline,
                    pacing=session.pacing(now),
                    rand=session.load.rng.random(),
                    likely_in=likely,
                )
                if delay is None:
                    await self._until_deadline()
                    return None
                self._cadence.note(delay, cadence_reason(self.tracker.transitional, likely))
                await clock.sleep(delay)
            # Every poll, the first one too, draws on the client's polling budget.
            if not await session.poll_slot(1, policy.poll_share, self.deadline):
                await self._until_deadline()
                return None
            self._first = False
            runtime: SpaceRuntime | None = None
            async with move_on_at(clock, bound):
                runtime = await self.hub.get_space_runtime(self.repo_id)
            if runtime is None:
                return None  # the read was still blocked (e.g. rate-limited) well past the deadline
            self.reads += 1
            now = clock.now()
            if session.fences.judge(self.repo_id, runtime, now) == "stale":
                continue  # a read from before our own action (design.md §3): not an observation
            changed = self.tracker.observe(runtime, now)
            if self.tracker.completed is not None:
                session.history.record(self.repo_id, *self.tracker.completed)
            self.last = runtime
            return runtime, changed

    def likely(self, now: float) -> float | None:
        """Seconds until a transition of the Space is likely (see `_poll.likely_in`)."""
        tracker = self.tracker
        stage = tracker.stage
        return likely_in(
            tracker.policy,
            now=now,
            transitional=tracker.transitional,
            in_stage=tracker.in_stage(now),
            acted_at=self.session.fences.acted_at(self.repo_id),
            expected=None if stage is None else self.session.history.expected(self.repo_id, stage),
        )

    async def _until_deadline(self) -> None:
        """No poll fits before the deadline: sleep until it (the wait ends there, not earlier)."""
        clock = self.session.clock
        now = clock.now()
        if self.deadline is not None and self.deadline > now:
            await clock.sleep(self.deadline - now)


class RuntimeWatch:
    """The async iterator returned by `watch`: one `RuntimeChange` per change, the first observation included.

    Each `__anext__` sleeps (on the client's clock) and polls until something changes; the iteration ends
    when the watch's timeout passes. No background task: breaking out of the loop, dropping the object or
    cancelling the awaiting task leaves nothing running. Also an async context manager (`aclose` on exit).
    """

    def __init__(
        self, session: Session, hub: RuntimeOps, repo_id: str, *, timeout: float | None, policy: PollPolicy
    ) -> None:
        deadline = None if timeout is None else session.clock.now() + timeout
        self.repo_id = repo_id
        self._reader = SpacePoll(session, hub, repo_id, policy, deadline)
        self._poll: SpacePoll | None = self._reader  # None once closed
        self._previous: SpaceRuntime | None = None

    def __repr__(self) -> str:
        return f"RuntimeWatch({self.repo_id!r}, closed={self._poll is None})"

    @property
    def requests(self) -> int:
        """Runtime requests made so far."""
        return self._reader.reads

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> RuntimeChange:
        poll = self._poll
        if poll is None:
            raise StopAsyncIteration
        while True:
            result = await poll.read()
            if result is None:
                await self.aclose()
                raise StopAsyncIteration
            runtime, changed = result
            if changed:
                change = RuntimeChange.between(
                    self.repo_id, self._previous, runtime, poll.session.clock.now()
                )
                self._previous = runtime
                return change

    async def aclose(self) -> None:
        """Stop watching (idempotent)."""
        self._poll = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


async def wait_for(
    poll: SpacePoll,
    done: Callable[[SpaceRuntime], Awaitable[bool]],
    *,
    timeout: float | None,  # noqa: ASYNC109 - a deadline on the client's clock
    goal: str | Callable[[], str],
    on_change: Callable[[RuntimeChange], object] | None = None,
) -> SpaceRuntime:
    """Poll until `await done(runtime)` (which may raise) is true; WaitTimeoutError at the deadline, naming
    the `goal` (or what `goal()` says then).

    The last poll lands on the deadline; a read still blocked `DEADLINE_OVERRUN` seconds after it (e.g.
    waiting for the rate-limit window) is cut off and the wait times out then. `on_change` gets a
    `RuntimeChange` for each change the same reads observe (the first read included), before `done` judges
    it: no extra request.
    """
    previous: SpaceRuntime | None = None
    while True:
        result = await poll.read()
        if result is None:
            last = poll.last
            what = goal if isinstance(goal, str) else goal()
            seen = describe_last(last) if last else ""
            raise WaitTimeoutError(
                f"{poll.repo_id}: {what} not reached within {timeout:g} s" + (f" ({seen})" if seen else ""),
                repo_id=poll.repo_id,
                timeout=timeout or 0.0,
                runtime=last,
                last_seen=seen,
            )
        runtime, changed = result
        if changed:
            if on_change is not None:
                on_change(RuntimeChange.between(poll.repo_id, previous, runtime, poll.session.clock.now()))
            previous = runtime
        if await done(runtime):
            return runtime
