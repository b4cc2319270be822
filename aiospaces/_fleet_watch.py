"""Watching many Spaces with one shared poll loop: `watch_many` and the loop under `wait_all` (design.md §3).

A pure round planner (`plan_round`) decides which Spaces a round reads and how: the Spaces of an owner with
several watched ones through `list_spaces(author=owner, expand=["runtime"])` pages (hub-api.md §6.2), the
others one `get_space_runtime` call each. A listing is cut (`limit`) right after the last due Space's place
in the owner's previous listing, so a round reads the fewest items and pages that cover the Spaces it needs.
`FleetWatch` sleeps until the next Space is due, reads what the plan says (a task group lives only inside one
round; every request takes its slot in the client's polling budget first), and feeds each read to the Space's
`PollTracker`.

Cadence: each Space wants its own delay (`PollPolicy`, likelihood included). A listing costs one request
whatever it covers, so an owner's transitional Spaces are read together as often as their desired reads add
up to (one listing per `1 / sum(1 / delay)` seconds, never more often than `hot_interval`): the same request
rate one of them alone would cost at that sum, and each of them read far more often. Settled Spaces keep
their own slow cadence and do not speed the listing up.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Final, Literal, Self

import anyio
import attrs

from ._clock import move_on_at
from ._poll import PollPolicy, PollTracker, describe_last, likely_in
from ._session import Session
from ._watch import (
    DEADLINE_OVERRUN,
    CadenceLog,
    RuntimeChange,
    RuntimeOps,
    close_iterator,
)
from .errors import SpacesError, WaitTimeoutError
from .models import SpaceRuntime

__all__ = ["FleetEntry", "FleetWatch", "OwnerRead", "RoundPlan", "plan_round"]

logger = logging.getLogger("aiospaces")

# Fleet watching reads an owner's Spaces through list pages once this many of them are watched.
LIST_THRESHOLD: Final = 2
# ... unless the owner has more than this many Spaces per watched one (pages would cost more than calls).
LIST_MAX_RATIO: Final = 100
FLEET_CONCURRENCY: Final = 8
# Items per listing page assumed when charging a listing to the polling budget ([inferred] the Hub's JS
# client asks `limit=500`, hub-api.md §6.2; the simulator serves up to 1,000): charging more pages than
# were read keeps the budget safe.
LIST_PAGE_ESTIMATE: Final = 500
# A clock may land a rounding error short of the time asked for: a Space due that close is due.
DUE_SLACK: Final = 1e-6

# What a fleet wait decides about one read: the Space is done (its runtime), or keep polling, or wake it.
Verdict = SpaceRuntime | Literal["continue", "wake"]


# --- the round planner (pure) -------------------------------------------------------------------------------


@attrs.frozen
class OwnerRead:
    """One owner's Spaces, read through list pages.

    Attributes:
        owner: the user or organization listed.
        watched: every watched Space of the owner (the pages give all of their runtimes at once).
        due: the due ones, read one by one when the pages do not show them (just created, hidden, failed).
        limit: how many of the owner's Spaces to list (the prefix that held every due one last time), or
            None for the whole listing.
    """

    owner: str
    watched: frozenset[str]
    due: tuple[str, ...]
    limit: int | None = None

    @property
    def pages(self) -> int:
        """The listing requests this read is charged (`LIST_PAGE_ESTIMATE` items per page)."""
        return 1 if self.limit is None else max(1, -(-self.limit // LIST_PAGE_ESTIMATE))


@attrs.frozen
class RoundPlan:
    """What one round of a fleet watch reads: owners' list pages, and single Spaces."""

    owners: tuple[OwnerRead, ...]
    singles: tuple[str, ...]

    @property
    def requests(self) -> int:
        """Requests the round makes at least (for the client's pacing)."""
        return max(1, sum(o.pages for o in self.owners) + len(self.singles))


def list_owner(watched: int, owner_size: int | None) -> bool:
    """Whether to read an owner's `watched` Spaces through list pages rather than one call each: with several
    of them watched, unless the owner has so many other Spaces (`owner_size`, when known) that the pages cost
    more."""
    if watched < LIST_THRESHOLD:
        return False
    return owner_size is None or owner_size <= LIST_MAX_RATIO * watched


def plan_round(
    active: Sequence[tuple[str, str, float | None]],
    now: float,
    owner_sizes: Mapping[str, int],
    positions: Mapping[str, int] | None = None,
) -> RoundPlan:
    """Which Spaces a round at `now` reads, and how.

    Args:
        active: `(repo_id, owner, due)` of every Space still watched, in watch order (`due` None: never).
        now: the clock time of the round.
        owner_sizes: how many Spaces each owner's listing showed last time.
        positions: each Space's place in its owner's listing last time (0-based), when it was listed.
    """
    places = positions or {}
    due = [(repo_id, owner) for repo_id, owner, at in active if at is not None and at <= now + DUE_SLACK]
    watched: dict[str, list[str]] = {}
    for repo_id, owner, _ in active:
        watched.setdefault(owner, []).append(repo_id)
    listed = sorted({o for _, o in due if list_owner(len(watched[o]), owner_sizes.get(o))})
    owners = []
    for owner in listed:
        owner_due = tuple(r for r, o in due if o == owner)
        limit = _prefix([places.get(r) for r in owner_due])
        owners.append(OwnerRead(owner, frozenset(watched[owner]), owner_due, limit))
    return RoundPlan(owners=tuple(owners), singles=tuple(r for r, o in due if o not in listed))


def _prefix(places: Sequence[int | None]) -> int | None:
    """The shortest listing prefix holding every place, or None (the whole listing) if one is unknown."""
    if not places or any(p is None for p in places):
        return None
    return max(p for p in places if p is not None) + 1


# --- the loop -----------------------------------------------------------------------------------------------


@attrs.define
class FleetEntry:
    """One Space of a fleet watch: its poll state and, once finished, its outcome."""

    repo_id: str
    owner: str
    tracker: PollTracker
    due: float | None
    last: SpaceRuntime | None = None
    finished: bool = False
    woken: bool = False
    result: SpaceRuntime | SpacesError | None = None


class FleetWatch:
    """The async iterator returned by `watch_many`: one shared poll loop over many Spaces.

    Each round reads every Space that is due, as `plan_round` says. Each `__anext__` runs whole rounds until
    it has a change to return, and the iteration ends at the timeout. A Space whose read fails is no longer
    polled; its error is in `errors`. Also an async context manager.
    """

    def __init__(
        self,
        session: Session,
        hub: RuntimeOps,
        repo_ids: Sequence[str],
        *,
        timeout: float | None,
        policy: PollPolicy,
        check: Callable[[FleetEntry, SpaceRuntime], Verdict] | None = None,
        on_change: Callable[[RuntimeChange], object] | None = None,
    ) -> None:
        now = session.clock.now()
        self._session = session
        self._hub = hub
        self._deadline = None if timeout is None else now + timeout
        self._timeout = timeout
        self._entries = {
            r: FleetEntry(repo_id=r, owner=r.split("/", 1)[0], tracker=PollTracker(policy), due=now)
            for r in repo_ids
        }
        self._policy = policy
        self._buffer: deque[RuntimeChange] = deque()
        self._check = check
        self._on_change = on_change
        self._closed = False
        self._weight = 1  # requests per round, for the client's pacing
        self._owner_sizes: dict[str, int] = {}  # Spaces seen in each owner's listing
        self._positions: dict[str, int] = {}  # each watched Space's place in its owner's last listing
        self._cadence = CadenceLog(f"{len(self._entries)} Spaces")
        self._out_of_budget = False  # a read found no budget slot before the deadline
        self.list_requests = 0
        self.runtime_requests = 0

    def __repr__(self) -> str:
        return f"FleetWatch({len(self._entries)} Spaces, closed={self._closed})"

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> RuntimeChange:
        while not self._buffer:
            if self._closed:
                raise StopAsyncIteration
            if not await self._round():
                await self.aclose()
                errors = self.errors
                if errors and len(errors) == len(self._entries):
                    # Not one Space could be read (a bad token, an offline Hub, only wrong ids): an error,
                    # not an empty watch.
                    raise next(iter(errors.values()))
                raise StopAsyncIteration
        return self._buffer.popleft()

    async def aclose(self) -> None:
        """Stop watching (idempotent)."""
        self._closed = True

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    @property
    def errors(self) -> dict[str, SpacesError]:
        """The Spaces no longer watched because reading them failed (e.g. deleted: NotFoundError), with
        the error, by repo id."""
        return {r: e.result for r, e in self._entries.items() if isinstance(e.result, SpacesError)}

    @property
    def entries(self) -> dict[str, FleetEntry]:
        """Per-Space state of the loop (last runtime, outcome), by repo id."""
        return self._entries

    async def run(self) -> None:
        """Run rounds until every Space is finished or the deadline passed (used by `wait_all`)."""
        while await self._round():
            if self._on_change is not None:
                for change in self._buffer:
                    self._on_change(change)
            self._buffer.clear()
        await self.aclose()

    async def _round(self) -> bool:
        """Poll every Space that is due. Returns False when nothing is left to poll."""
        return await self._session.load.polling(self._weight, self._poll_due)

    async def _poll_due(self) -> bool:
        clock = self._session.clock
        active = [e for e in self._entries.values() if not e.finished]
        if not active:
            return False
        dues = [e.due for e in active if e.due is not None]
        now = clock.now()
        if not dues:
            if self._deadline is not None and self._deadline > now:
                await clock.sleep(self._deadline - now)
            return False
        start = min(dues) if self._deadline is None else min(*dues, self._deadline)
        if start > now:
            await clock.sleep(start - now)
        plan = plan_round(
            [(e.repo_id, e.owner, e.due) for e in active], clock.now(), self._owner_sizes, self._positions
        )
        if not plan.owners and not plan.singles:
            return True
        readings: dict[str, SpaceRuntime] = {}
        failures: dict[str, SpacesError] = {}
        bound = None if self._deadline is None else self._deadline + DEADLINE_OVERRUN
        async with move_on_at(clock, bound) as scope:
            await self._read(plan, readings, failures)
        if scope.cancelled_caught:
            return False  # reads still blocked (e.g. rate-limited) well past the deadline: time is up
        await self._observe(readings, failures)
        self._pool_listed(plan, clock.now())
        self._weight = plan.requests
        if self._out_of_budget:
            # No budget slot fits before the deadline: no more polls, the watch ends at the deadline.
            now = clock.now()
            if self._deadline is not None and self._deadline > now:
                await clock.sleep(self._deadline - now)
            return False
        return True

    def _pool_listed(self, plan: RoundPlan, now: float) -> None:
        """Read each listed owner's transitional Spaces together, as often as their own delays add up to
        (see the module docstring); log the cadence when it changes."""
        policy = self._policy
        together: float | None = None
        transitional = 0
        for read in plan.owners:
            pending = [
                e
                for r in read.watched
                for e in [self._entries[r]]
                if not e.finished and e.due is not None and e.tracker.transitional
            ]
            rate = sum(1.0 / max(e.due - now, DUE_SLACK) for e in pending if e.due is not None)
            if rate <= 0:
                continue
            interval = max(policy.hot_interval, 1.0 / rate)
            together = interval if together is None else min(together, interval)
            transitional += len(pending)
            for entry in pending:
                if entry.due is not None and entry.due > now + interval:
                    entry.due = now + interval
        if together is not None:
            self._cadence.note(together, f"{transitional} transitional, read together")
            return
        delays = [e.due - now for e in self._entries.values() if not e.finished and e.due is not None]
        if delays:
            # The slowest Space's delay: the nearest one jumps around as Spaces back off out of step.
            self._cadence.note(max(0.0, *delays), "settled; the slowest Space's delay")

    async def _read(
        self, plan: RoundPlan, readings: dict[str, SpaceRuntime], failures: dict[str, SpacesError]
    ) -> None:
        """Read what `plan` says into `readings` (by repo id), and the errors into `failures`."""
        limiter = anyio.CapacityLimiter(FLEET_CONCURRENCY)

        session = self._session

        async def slot(requests: int) -> bool:
            # Every poll request takes its slot in the client's polling budget before it is sent.
            if await session.poll_slot(requests, self._policy.poll_share, self._deadline):
                return True
            self._out_of_budget = True
            return False

        async def read_one(repo_id: str) -> None:
            if not await slot(1):
                return
            async with limiter:
                try:
                    self.runtime_requests += 1
                    readings[repo_id] = await self._hub.get_space_runtime(repo_id)
                except SpacesError as exc:
                    failures[repo_id] = exc

        async def read_owner(read: OwnerRead) -> None:
            if not await slot(read.pages):
                return
            async with limiter:
                try:
                    self.list_requests += 1
                    pages = self._hub.list_spaces(author=read.owner, expand=["runtime"], limit=read.limit)
                    size = 0
                    try:
                        async for info in pages:
                            if info.id in read.watched:
                                self._positions[info.id] = size
                                if info.runtime is not None:
                                    readings[info.id] = info.runtime
                            size += 1
                    finally:
                        await close_iterator(pages)
                    if read.limit is None or size < read.limit:
                        self._owner_sizes[read.owner] = size  # the whole listing
                    for repo_id in read.due:
                        if repo_id not in readings:
                            # Not where it was (the listing changed): list it whole next time.
                            self._positions.pop(repo_id, None)
                except SpacesError as exc:
                    logger.debug(
                        "listing %s's Spaces failed (%s); falling back to runtime calls", read.owner, exc
                    )
            for repo_id in read.due:
                if repo_id not in readings:
                    await read_one(repo_id)

        async with anyio.create_task_group() as tg:
            for read in plan.owners:
                tg.start_soon(read_owner, read)
            for repo_id in plan.singles:
                tg.start_soon(read_one, repo_id)

    async def _observe(self, readings: dict[str, SpaceRuntime], failures: dict[str, SpacesError]) -> None:
        """Feed a round's reads to the trackers and the check; wake the Spaces the check says to."""
        now = self._session.clock.now()
        woken: list[FleetEntry] = []
        for repo_id, exc in failures.items():
            # One Space's error ends that Space's watch only, as in `wait_all`'s report.
            if self._check is None:
                logger.warning("watch_many: stopped watching %s: %s", repo_id, exc)
            self._finish(self._entries[repo_id], exc)
        for repo_id, runtime in readings.items():
            entry = self._entries[repo_id]
            if entry.finished:
                continue
            if self._session.fences.judge(repo_id, runtime, now) == "stale":
                entry.due = self._schedule(entry, now, stale=True)
                continue
            previous = entry.last
            if entry.tracker.observe(runtime, now):
                self._buffer.append(RuntimeChange.between(repo_id, previous, runtime, now))
            if entry.tracker.completed is not None:
                self._session.history.record(repo_id, *entry.tracker.completed)
            entry.last = runtime
            if self._check is not None:
                try:
                    verdict = self._check(entry, runtime)
                except SpacesError as exc:
                    self._finish(entry, exc)
                    continue
                if isinstance(verdict, SpaceRuntime):
                    self._finish(entry, verdict)
                    continue
                if verdict == "wake":
                    woken.append(entry)
            entry.due = self._schedule(entry, now)
        if woken:
            await self._wake(woken)

    def _schedule(self, entry: FleetEntry, now: float, *, stale: bool = False) -> float | None:
        session = self._session
        if stale:
            delay: float | None = self._policy.fast_interval
            if self._deadline is not None:
                remaining = self._deadline - now
                delay = None if remaining <= 0 else min(self._policy.fast_interval, remaining)
        else:
            delay = entry.tracker.next_delay(
                now,
                deadline=self._deadline,
                pacing=session.pacing(now),
                rand=session.load.rng.random(),
                likely_in=self._likely(entry, now),
            )
        return None if delay is None else now + delay

    def _likely(self, entry: FleetEntry, now: float) -> float | None:
        """Seconds until a transition of the Space is likely (see `_poll.likely_in`)."""
        tracker = entry.tracker
        stage = tracker.stage
        return likely_in(
            self._policy,
            now=now,
            transitional=tracker.transitional,
            in_stage=tracker.in_stage(now),
            acted_at=self._session.fences.acted_at(entry.repo_id),
            expected=None if stage is None else self._session.history.expected(entry.repo_id, stage),
        )

    def _finish(self, entry: FleetEntry, result: SpaceRuntime | SpacesError) -> None:
        entry.finished = True
        entry.result = result
        entry.due = None

    async def _wake(self, entries: list[FleetEntry]) -> None:
        clock = self._session.clock

        async def wake(entry: FleetEntry) -> None:
            try:
                runtime = await self._hub.restart_space(entry.repo_id)
            except SpacesError as exc:
                self._finish(entry, exc)
                return
            entry.woken = True
            entry.tracker.observe(runtime, clock.now())
            entry.last = runtime
            entry.due = self._schedule(entry, clock.now())

        async with anyio.create_task_group() as tg:
            for entry in entries:
                tg.start_soon(wake, entry)

    def timeout_error(self, entry: FleetEntry) -> WaitTimeoutError:
        """The error of a Space still not done at the deadline, with its last runtime."""
        seen = "" if entry.last is None else describe_last(entry.last)
        return WaitTimeoutError(
            f"{entry.repo_id}: not running after {self._timeout:g} s" + (f" ({seen})" if seen else ""),
            repo_id=entry.repo_id,
            timeout=self._timeout or 0.0,
            runtime=entry.last,
            last_seen=seen,
        )
