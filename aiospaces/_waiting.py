"""Watching and waiting on Space runtimes, fleet watching, and the temporary-hardware block (design.md §3).

Layering: `_poll.py` decides when to poll and how to read a runtime (pure); this module does the reading, on
the client's clock (`self._clock`), through the core operations. Nothing here holds a task group across a
`yield`: watches are plain async iterator objects whose `__anext__` does one bounded piece of work, so
dropping or cancelling one leaves no task and no open response behind.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from types import TracebackType
from typing import Final, Literal, Protocol, Self, TypeVar

import anyio
import attrs

from . import validation
from ._clock import Clock
from ._poll import (
    BUILD_LOG_STAGES,
    FAILURE_STAGES,
    NOT_RUNNING_STAGES,
    PollPolicy,
    PollTracker,
    changed_fields,
    is_transitional,
    raw_error_message,
)
from ._retry import Failure, Outcome, Retrying, RetryPolicy
from ._session import Session
from .errors import (
    HardwareConflictError,
    HardwareRestoreError,
    HubHTTPError,
    SpaceFailedError,
    SpaceNotRunningError,
    SpacesError,
    WaitTimeoutError,
)
from .fleet import FleetReport
from .models import SpaceInfo, SpaceRuntime

__all__ = ["FleetWatch", "RuntimeChange", "RuntimeOps", "RuntimeWatch", "TemporaryHardware", "Waiting"]

logger = logging.getLogger("aiospaces")

# How many log lines a failure error keeps, and how long fetching them may take (client-clock seconds):
# a log stream that never ends (keep-alives, hub-api.md §9) must not turn a failure into a hang.
LOG_TAIL_LINES: Final = 20
LOG_TAIL_IN_MESSAGE: Final = 5
LOG_FETCH_TIMEOUT: Final = 10.0
# temporary_hardware's restore: its own deadline (shielded from the caller's cancellation) and attempts. The
# deadline outlasts one fully spent 5-minute rate-limit window (hub-api.md §4): a GPU left billing costs more
# than a slow exit.
RESTORE_TIMEOUT: Final = 330.0
RESTORE_ATTEMPTS: Final = 5
# ... 1-2 s apart at first, doubling, at most 8 s (a hardware request is idempotent: retried on any failure).
_RESTORE_POLICY: Final = RetryPolicy(max_attempts=RESTORE_ATTEMPTS, base_delay=2.0, max_delay=8.0)
# ... and, when it failed, how long reading what is still billed (for the error) may take.
BILLED_READ_TIMEOUT: Final = 10.0
# Fleet watching reads an owner's Spaces through list pages once this many of them are watched.
LIST_THRESHOLD: Final = 2
# ... unless the owner has more than this many Spaces per watched one (pages would cost more than calls).
LIST_MAX_RATIO: Final = 100
FLEET_CONCURRENCY: Final = 8
# How long past a wait's deadline a read started before it may still take (a read can block much longer:
# waiting for the rate-limit window to reset, hub-api.md §4.3, or retrying): it is cut off there.
DEADLINE_OVERRUN: Final = 10.0

_T = TypeVar("_T")


async def _by_deadline(clock: Clock, deadline: float | None, call: Callable[[], Awaitable[_T]]) -> _T | None:
    """`await call()`, cancelled once `clock` reaches `deadline`: its result, or None when cut off.

    The task group lives only inside this call (no `yield` in it); cancelling the caller cancels both. An
    error of `call` is raised as is, not wrapped in the task group's ExceptionGroup.
    """
    if deadline is None:
        return await call()
    done: list[_T] = []
    failed: list[Exception] = []
    async with anyio.create_task_group() as tg:

        async def expire() -> None:
            await clock.sleep(max(0.0, deadline - clock.now()))
            tg.cancel_scope.cancel()

        tg.start_soon(expire)
        try:
            done.append(await call())
        except Exception as exc:
            failed.append(exc)
        tg.cancel_scope.cancel()
    if failed:
        raise failed[0]
    return done[0] if done else None


def _stage(runtime: SpaceRuntime) -> str:
    stage = runtime.stage
    return str(stage.value) if hasattr(stage, "value") else str(stage)


def _check_timeout(timeout: object) -> float | None:
    return validation.validate_timeout(timeout, allow_zero=True)


def _check_policy(policy: object) -> PollPolicy:
    if policy is None:
        return PollPolicy()
    if not isinstance(policy, PollPolicy):
        raise TypeError(f"policy must be a PollPolicy, got {type(policy).__name__}")
    return policy


def _check_on_change(on_change: object) -> Callable[[RuntimeChange], object] | None:
    if on_change is not None and not callable(on_change):
        raise TypeError(f"on_change must be callable or None, got {type(on_change).__name__}")
    return on_change


def _repo_ids(repo_ids: object) -> list[str]:
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
    """One observed change of a Space's runtime (design.md §3).

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
        return _stage(self.current)


class _SpacePoll:
    """The poll loop of one Space: when to read (policy), what to ignore (fences), what was seen."""

    def __init__(self, waiting: Waiting, repo_id: str, policy: PollPolicy, deadline: float | None) -> None:
        self.session = waiting.session
        self.hub = waiting.hub
        self.repo_id = repo_id
        self.tracker = PollTracker(policy)
        self.deadline = deadline
        self.last: SpaceRuntime | None = None
        self.reads = 0
        self._first = True

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
        while True:
            if not self._first:
                now = clock.now()
                delay = self.tracker.next_delay(
                    now,
                    deadline=self.deadline,
                    pacing=session.pacing(now),
                    rand=session.load.rng.random(),
                )
                if delay is None:
                    if self.deadline is not None and self.deadline > now:
                        await clock.sleep(self.deadline - now)
                    return None
                await clock.sleep(delay)
            self._first = False
            runtime = await _by_deadline(
                clock,
                None if self.deadline is None else self.deadline + DEADLINE_OVERRUN,
                lambda: self.hub.get_space_runtime(self.repo_id),
            )
            if runtime is None:
                return None  # the read was still blocked (e.g. rate-limited) well past the deadline
            self.reads += 1
            now = clock.now()
            if session.fences.judge(self.repo_id, runtime, now) == "stale":
                continue  # a read from before our own action (design.md §3): not an observation
            changed = self.tracker.observe(runtime, now)
            self.last = runtime
            return runtime, changed


class RuntimeWatch:
    """The async iterator returned by `watch`: one `RuntimeChange` per change, the first observation included.

    Each `__anext__` sleeps (on the client's clock) and polls until something changes; the iteration ends
    when the watch's timeout passes. No background task: breaking out of the loop, dropping the object or
    cancelling the awaiting task leaves nothing running. Also an async context manager (`aclose` on exit).
    """

    def __init__(self, waiting: Waiting, repo_id: str, *, timeout: float | None, policy: PollPolicy) -> None:
        deadline = None if timeout is None else waiting.session.clock.now() + timeout
        self.repo_id = repo_id
        self._reader = _SpacePoll(waiting, repo_id, policy, deadline)
        self._poll: _SpacePoll | None = self._reader  # None once closed
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


# --- fleet watching -----------------------------------------------------------------------------------------

# What a fleet wait decides about one read: the Space is done (its runtime), or keep polling, or wake it.
Verdict = SpaceRuntime | Literal["continue", "wake"]


@attrs.define
class _Entry:
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

    Each round reads every Space that is due; Spaces of an owner with several watched Spaces are read through
    `list_spaces(author=owner, expand=["runtime"])` pages (design.md §3, hub-api.md §6.2) instead of one
    runtime call each; the others (and any Space missing from its owner's pages) through `get_space_runtime`.
    Each `__anext__` runs whole rounds until it has a change to return (a task group lives only inside one
    round), and the iteration ends at the timeout. A Space whose read fails is no longer polled; its error is
    in `errors`. Also an async context manager.
    """

    def __init__(
        self,
        waiting: Waiting,
        repo_ids: Sequence[str],
        *,
        timeout: float | None,
        policy: PollPolicy,
        check: Callable[[_Entry, SpaceRuntime], Verdict] | None = None,
        on_change: Callable[[RuntimeChange], object] | None = None,
    ) -> None:
        now = waiting.session.clock.now()
        self._session = waiting.session
        self._hub = waiting.hub
        self._deadline = None if timeout is None else now + timeout
        self._timeout = timeout
        self._entries = {
            r: _Entry(repo_id=r, owner=r.split("/", 1)[0], tracker=PollTracker(policy), due=now)
            for r in repo_ids
        }
        self._policy = policy
        self._buffer: deque[RuntimeChange] = deque()
        self._check = check
        self._on_change = on_change
        self._closed = False
        self._weight = 1  # requests per round, for the client's pacing
        self._owner_sizes: dict[str, int] = {}  # Spaces seen in each owner's listing
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
    def entries(self) -> dict[str, _Entry]:
        """Per-Space state of the loop (last runtime, outcome), by repo id."""
        return self._entries

    def _list_owner(self, owner: str, watched: int) -> bool:
        """Whether to read `owner`'s watched Spaces through list pages rather than one call each: with
        several of them watched, unless the owner has so many other Spaces that the pages cost more."""
        if watched < LIST_THRESHOLD:
            return False
        size = self._owner_sizes.get(owner)
        return size is None or size <= LIST_MAX_RATIO * watched

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
        dues: list[float] = [e.due for e in active if e.due is not None]
        now = clock.now()
        if not dues:
            if self._deadline is not None and self._deadline > now:
                await clock.sleep(self._deadline - now)
            return False
        start = min(dues)
        if self._deadline is not None:
            start = min(start, self._deadline)
        if start > now:
            await clock.sleep(start - now)
        now = clock.now()
        # A clock may land a rounding error short of the time asked for: never spin on that.
        due = [e for e in active if e.due is not None and e.due <= now + 1e-6]
        if not due:
            return True
        by_owner: dict[str, list[_Entry]] = {}
        for entry in active:
            by_owner.setdefault(entry.owner, []).append(entry)
        listed = sorted({e.owner for e in due if self._list_owner(e.owner, len(by_owner[e.owner]))})
        singles = [e for e in due if e.owner not in listed]
        readings: dict[str, SpaceRuntime] = {}
        failures: dict[str, SpacesError] = {}
        limiter = anyio.CapacityLimiter(FLEET_CONCURRENCY)

        async def read_one(entry: _Entry) -> None:
            async with limiter:
                try:
                    self.runtime_requests += 1
                    readings[entry.repo_id] = await self._hub.get_space_runtime(entry.repo_id)
                except SpacesError as exc:
                    failures[entry.repo_id] = exc

        async def read_owner(owner: str) -> None:
            wanted = {e.repo_id for e in by_owner[owner]}
            async with limiter:
                try:
                    pages = self._hub.list_spaces(author=owner, expand=["runtime"])
                    size = 0
                    try:
                        async for info in pages:
                            size += 1
                            if info.id in wanted and info.runtime is not None:
                                readings[info.id] = info.runtime
                    finally:
                        await _aclose(pages)
                    self._owner_sizes[owner] = size
                except SpacesError as exc:
                    logger.debug("listing %s's Spaces failed (%s); falling back to runtime calls", owner, exc)
            # A due Space the pages did not show (just created, hidden, listing failed): ask it directly.
            for entry in by_owner[owner]:
                if entry.repo_id not in readings and entry in due:
                    await read_one(entry)

        async def read_due() -> bool:
            async with anyio.create_task_group() as tg:
                for owner in listed:
                    self.list_requests += 1
                    tg.start_soon(read_owner, owner)
                for entry in singles:
                    tg.start_soon(read_one, entry)
            return True

        bound = None if self._deadline is None else self._deadline + DEADLINE_OVERRUN
        if await _by_deadline(clock, bound, read_due) is None:
            return False  # reads still blocked (e.g. rate-limited) well past the deadline: time is up
        now = clock.now()
        woken: list[_Entry] = []
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
        self._weight = max(1, len(listed) + len(singles))
        return True

    def _schedule(self, entry: _Entry, now: float, *, stale: bool = False) -> float | None:
        session = self._session
        if stale:
            delay: float | None = self._policy.fast_interval
            if self._deadline is not None:
                remaining = self._deadline - now
                delay = None if remaining <= 0 else min(self._policy.fast_interval, remaining)
        else:
            delay = entry.tracker.next_delay(
                now, deadline=self._deadline, pacing=session.pacing(now), rand=session.load.rng.random()
            )
        return None if delay is None else now + delay

    def _finish(self, entry: _Entry, result: SpaceRuntime | SpacesError) -> None:
        entry.finished = True
        entry.result = result
        entry.due = None

    async def _wake(self, entries: list[_Entry]) -> None:
        clock = self._session.clock

        async def wake(entry: _Entry) -> None:
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

    def timeout_error(self, entry: _Entry) -> WaitTimeoutError:
        """The error of a Space still not done at the deadline, with its last runtime."""
        return WaitTimeoutError(
            f"{entry.repo_id}: not running after {self._timeout:g} s"
            + (f" (last stage {_stage(entry.last)})" if entry.last is not None else ""),
            repo_id=entry.repo_id,
            timeout=self._timeout or 0.0,
            runtime=entry.last,
        )


# --- temporary hardware -------------------------------------------------------------------------------------


class TemporaryHardware:
    """The async context manager returned by `temporary_hardware` (see there)."""

    def __init__(
        self,
        waiting: Waiting,
        repo_id: str,
        hardware: str,
        *,
        restore: str | None,
        sleep_time: int | None,
        timeout: float | None,
    ) -> None:
        self._waiting = waiting
        self.repo_id = repo_id
        self.hardware = hardware
        self._restore = restore
        self._sleep_time = sleep_time
        self._timeout = timeout
        self._restore_to: str | None = None
        self._restore_sleep: int | None = None
        self._armed = False
        self.runtime: SpaceRuntime | None = None

    def __repr__(self) -> str:
        return f"TemporaryHardware({self.repo_id!r}, {self.hardware!r}, restore_to={self._restore_to!r})"

    async def __aenter__(self) -> SpaceRuntime:
        if self._restore_to is not None:
            raise RuntimeError("a temporary_hardware block can only be entered once")
        waiting = self._waiting
        fences = waiting.session.fences
        current = await waiting.hub.get_space_runtime(self.repo_id)
        requested = current.requested_hardware
        if fences.judge(self.repo_id, current, waiting.session.clock.now()) == "stale":
            # A lagging replica still showing a flavor from before this client's last request (e.g. the
            # previous block's GPU, restored seconds ago): the flavor this client requested last is in force.
            requested = fences.last_requested(self.repo_id) or requested
        restore_to = self._restore or requested or current.hardware
        if restore_to is None:
            raise ValueError(
                f"{self.repo_id} has no requested hardware to go back to (a static Space?); pass restore="
            )
        self._restore_to = restore_to
        self._restore_sleep = current.sleep_time
        # From here on any exit, even a cancellation while the request is in flight, must restore: the
        # request may have reached the Hub whether or not its answer came back.
        self._armed = True
        try:
            try:
                await waiting.hub.request_space_hardware(
                    self.repo_id, self.hardware, sleep_time=self._sleep_time
                )
            except HubHTTPError as exc:
                if exc.status < 500 and exc.status not in (408, 429):
                    # The Hub refused it (400, 402, 403, 404, ...): nothing changed, nothing to put back. Not
                    # after a 408 or 429: an earlier attempt of the retried call may have been applied.
                    self._armed = False
                raise
            self.runtime = await waiting.wait_for_hardware(self.repo_id, self.hardware, timeout=self._timeout)
        except BaseException:
            await self._restore_or_raise()
            raise
        return self.runtime

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._restore_or_raise()

    async def _restore_or_raise(self) -> None:
        if not self._armed:
            return
        self._armed = False
        assert self._restore_to is not None
        billed = await self._waiting.restore_hardware(
            self.repo_id,
            self._restore_to,
            self._restore_sleep if self._sleep_time is not None else None,
            billed=self.hardware,  # what we asked for, unless a read says otherwise
        )
        if billed is not None:
            logger.error(
                "temporary_hardware: could not put %s back on %s; %s is still requested and billed",
                self.repo_id,
                self._restore_to,
                billed,
            )
            raise HardwareRestoreError(
                f"could not put {self.repo_id} back on {self._restore_to}: {billed} is still requested "
                "and billed; request the hardware back by hand",
                repo_id=self.repo_id,
                billed_hardware=billed,
                restore_to=self._restore_to,
            )


# --- the component ----------------------------------------------------------------------------------------


class RuntimeOps(Protocol):
    """The Hub operations waiting is built on (implemented by `SpacesClient`)."""

    async def get_space_runtime(self, repo_id: str) -> SpaceRuntime: ...

    async def request_space_hardware(
        self, repo_id: str, hardware: str, *, sleep_time: int | None = None
    ) -> SpaceRuntime: ...

    async def restart_space(self, repo_id: str, *, factory_reboot: bool = False) -> SpaceRuntime: ...

    async def set_space_sleep_time(self, repo_id: str, sleep_time: int) -> SpaceRuntime: ...

    def list_spaces(
        self, *, author: str | None = None, expand: Sequence[str] | None = None
    ) -> AsyncIterator[SpaceInfo]: ...

    def fetch_space_logs(
        self, repo_id: str, *, build: bool = False, follow: bool = False
    ) -> AsyncIterator[str]: ...


class Waiting:
    """`watch`, `wait_*`, `watch_many`, `wait_all` and `temporary_hardware` of `SpacesClient` (documented
    there), on the client's session and Hub operations."""

    def __init__(self, session: Session, hub: RuntimeOps) -> None:
        self.session = session
        self.hub = hub

    # --- single Space ----------------------------------------------------------------------------------

    def watch(
        self, repo_id: str, *, timeout: float | None = None, policy: PollPolicy | None = None
    ) -> RuntimeWatch:
        """`SpacesClient.watch`."""
        validation.validate_repo_id(repo_id)
        return RuntimeWatch(self, repo_id, timeout=_check_timeout(timeout), policy=_check_policy(policy))

    async def _wait(
        self,
        repo_id: str,
        check: Callable[[SpaceRuntime], Awaitable[bool]],
        *,
        timeout: float | None,  # noqa: ASYNC109 - a deadline on the client's clock
        policy: PollPolicy | None,
        goal: str,
        on_change: Callable[[RuntimeChange], object] | None = None,
    ) -> SpaceRuntime:
        """Poll until `await check(runtime)` (which may raise) is true; WaitTimeoutError at the deadline.

        The last poll lands on the deadline; a read still blocked `DEADLINE_OVERRUN` seconds after it (e.g.
        waiting for the rate-limit window) is cut off and the wait times out then.

        `on_change` gets a `RuntimeChange` for each change the same reads observe (the first read included),
        before `check` judges it: no extra request.
        """
        validation.validate_repo_id(repo_id)
        seconds = _check_timeout(timeout)
        report = _check_on_change(on_change)
        previous: SpaceRuntime | None = None
        poll = _SpacePoll(
            self,
            repo_id,
            _check_policy(policy),
            None if seconds is None else self.session.clock.now() + seconds,
        )
        while True:
            result = await poll.read()
            if result is None:
                last = poll.last
                raise WaitTimeoutError(
                    f"{repo_id}: {goal} not reached within {seconds:g} s"
                    + (f" (last stage {_stage(last)}, hardware {last.hardware})" if last else ""),
                    repo_id=repo_id,
                    timeout=seconds or 0.0,
                    runtime=last,
                )
            runtime, changed = result
            if changed:
                if report is not None:
                    report(RuntimeChange.between(repo_id, previous, runtime, self.session.clock.now()))
                previous = runtime
            if await check(runtime):
                return runtime

    async def wait_for_space(
        self,
        repo_id: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - a deadline on the client's clock
        poll_interval: float | None = None,
        policy: PollPolicy | None = None,
        on_change: Callable[[RuntimeChange], object] | None = None,
    ) -> SpaceRuntime:
        """`SpacesClient.wait_for_space`."""
        if poll_interval is not None:
            if policy is not None:
                raise ValueError("poll_interval and policy cannot be passed together")
            validation.validate_seconds(poll_interval, arg="poll_interval")
            policy = PollPolicy(
                fast_interval=poll_interval,
                stage_fraction=0.0,
                backoff_factor=1.0,
                transitional_max_interval=poll_interval,
                max_interval=poll_interval,
                jitter=0.0,
            )

        async def check(runtime: SpaceRuntime) -> bool:
            return not is_transitional(runtime.stage)

        return await self._wait(
            repo_id, check, timeout=timeout, policy=policy, goal="a settled stage", on_change=on_change
        )

    async def wait_until(
        self,
        repo_id: str,
        predicate: Callable[[SpaceRuntime], bool],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - a deadline on the client's clock
        policy: PollPolicy | None = None,
        on_change: Callable[[RuntimeChange], object] | None = None,
    ) -> SpaceRuntime:
        """`SpacesClient.wait_until`."""
        if not callable(predicate):
            raise TypeError(f"predicate must be callable, got {type(predicate).__name__}")

        async def check(runtime: SpaceRuntime) -> bool:
            if predicate(runtime):
                return True
            if _stage(runtime) in FAILURE_STAGES:
                raise await self._failure(repo_id, runtime)
            return False

        return await self._wait(
            repo_id, check, timeout=timeout, policy=policy, goal="the condition", on_change=on_change
        )

    async def wait_until_running(
        self,
        repo_id: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - a deadline on the client's clock
        wake: bool = False,
        policy: PollPolicy | None = None,
        on_change: Callable[[RuntimeChange], object] | None = None,
    ) -> SpaceRuntime:
        """`SpacesClient.wait_until_running`."""
        validation.validate_bool(wake, arg="wake")
        woken = False

        async def check(runtime: SpaceRuntime) -> bool:
            nonlocal woken
            stage = _stage(runtime)
            if stage == "RUNNING":
                target = self.session.fences.hardware_target(repo_id)
                return target is None or runtime.hardware == target
            if stage in FAILURE_STAGES:
                raise await self._failure(repo_id, runtime)
            if stage in NOT_RUNNING_STAGES:
                if wake and not woken and stage != "DELETING":
                    woken = True
                    await self.hub.restart_space(repo_id)
                    return False
                raise _not_running(repo_id, runtime)
            return False

        return await self._wait(
            repo_id, check, timeout=timeout, policy=policy, goal="RUNNING", on_change=on_change
        )

    async def wait_for_hardware(
        self,
        repo_id: str,
        hardware: str | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - a deadline on the client's clock
        policy: PollPolicy | None = None,
        on_change: Callable[[RuntimeChange], object] | None = None,
    ) -> SpaceRuntime:
        """`SpacesClient.wait_for_hardware`."""
        validation.validate_repo_id(repo_id)
        target = None if hardware is None else validation.validate_hardware(hardware)
        if target is None:
            target = self.session.fences.requested_hardware(repo_id)

        async def check(runtime: SpaceRuntime) -> bool:
            nonlocal target
            if target is None:
                target = runtime.requested_hardware
            stage = _stage(runtime)
            if runtime.requested_hardware != target:
                raise HardwareConflictError(
                    f"{repo_id}: waiting for {target}, but {runtime.requested_hardware} is requested now",
                    repo_id=repo_id,
                    expected=str(target),
                    requested=runtime.requested_hardware,
                    runtime=runtime,
                )
            if stage == "RUNNING" and runtime.hardware == target:
                return True
            if stage in FAILURE_STAGES:
                raise await self._failure(repo_id, runtime)
            if stage in NOT_RUNNING_STAGES:
                raise _not_running(repo_id, runtime)
            return False

        return await self._wait(
            repo_id, check, timeout=timeout, policy=policy, goal="the hardware", on_change=on_change
        )

    async def _failure(self, repo_id: str, runtime: SpaceRuntime) -> SpaceFailedError:
        """A `SpaceFailedError` for a failure stage, with the Hub's message and the relevant log tail."""
        stage = _stage(runtime)
        build = stage in BUILD_LOG_STAGES
        tail = await self._log_tail(repo_id, build=build)
        message = raw_error_message(runtime.raw)
        text = f"{repo_id} reached {stage}" + (f": {message}" if message else "")
        if tail:
            kind = "build" if build else "run"
            text += f"\nlast {kind} log lines:\n" + "\n".join(tail[-LOG_TAIL_IN_MESSAGE:])
        return SpaceFailedError(
            text, repo_id=repo_id, stage=stage, error_message=message, log_tail=tail, runtime=runtime
        )

    async def _log_tail(self, repo_id: str, *, build: bool) -> list[str]:
        """The last lines of the build or run logs; bounded in time, and empty when they cannot be read."""
        tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)
        clock = self.session.clock

        async def read() -> None:
            lines = self.hub.fetch_space_logs(repo_id, build=build, follow=False)
            try:
                async for line in lines:
                    tail.append(line.rstrip("\r\n"))
            finally:
                await _aclose(lines)  # closes the streamed response too

        try:
            with anyio.move_on_after(LOG_FETCH_TIMEOUT):  # also bounded in real time
                await _by_deadline(clock, clock.now() + LOG_FETCH_TIMEOUT, read)
        except SpacesError as exc:
            logger.debug("could not read the %s logs of %s: %s", "build" if build else "run", repo_id, exc)
        return list(tail)

    # --- fleets ----------------------------------------------------------------------------------------

    def watch_many(
        self, repo_ids: Iterable[str], *, timeout: float | None = None, policy: PollPolicy | None = None
    ) -> FleetWatch:
        """`SpacesClient.watch_many`."""
        ids = _repo_ids(repo_ids)
        return FleetWatch(self, ids, timeout=_check_timeout(timeout), policy=_check_policy(policy))

    async def wait_all(
        self,
        repo_ids: Iterable[str],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - a deadline on the client's clock
        wake: bool = False,
        policy: PollPolicy | None = None,
        on_change: Callable[[RuntimeChange], object] | None = None,
    ) -> FleetReport[SpaceRuntime]:
        """`SpacesClient.wait_all`."""
        ids = _repo_ids(repo_ids)
        validation.validate_bool(wake, arg="wake")
        failed: list[tuple[_Entry, SpaceRuntime]] = []

        def check(entry: _Entry, runtime: SpaceRuntime) -> Verdict:
            stage = _stage(runtime)
            if stage == "RUNNING":
                target = self.session.fences.hardware_target(entry.repo_id)
                return runtime if target is None or runtime.hardware == target else "continue"
            if stage in FAILURE_STAGES:
                failed.append((entry, runtime))
                return runtime  # replaced by the SpaceFailedError once the loop is over
            if stage in NOT_RUNNING_STAGES:
                if wake and not entry.woken and stage != "DELETING":
                    entry.woken = True
                    return "wake"
                raise _not_running(entry.repo_id, runtime)
            return "continue"

        fleet = FleetWatch(
            self,
            ids,
            timeout=_check_timeout(timeout),
            policy=_check_policy(policy),
            check=check,
            on_change=_check_on_change(on_change),
        )
        await fleet.run()
        # Failure stages: fetch the log tails (bounded) once the loop is over.
        if failed:
            limiter = anyio.CapacityLimiter(FLEET_CONCURRENCY)

            async def explain(entry: _Entry, runtime: SpaceRuntime) -> None:
                async with limiter:
                    entry.result = await self._failure(entry.repo_id, runtime)

            async with anyio.create_task_group() as tg:
                for entry, runtime in failed:
                    tg.start_soon(explain, entry, runtime)
        pairs: list[tuple[str, SpaceRuntime | BaseException]] = []
        for repo_id in ids:
            entry = fleet.entries[repo_id]
            result = entry.result if entry.finished else fleet.timeout_error(entry)
            assert result is not None
            pairs.append((repo_id, result))
        return FleetReport.from_results(pairs)

    # --- billing safety --------------------------------------------------------------------------------

    def temporary_hardware(
        self,
        repo_id: str,
        hardware: str,
        *,
        restore: str | None = None,
        sleep_time: int | None = None,
        timeout: float | None = None,
    ) -> TemporaryHardware:
        """`SpacesClient.temporary_hardware`."""
        validation.validate_repo_id(repo_id)
        flavor = validation.validate_hardware(hardware)
        back = None if restore is None else validation.validate_hardware(restore, arg="restore")
        seconds = None if sleep_time is None else validation.validate_sleep_time(sleep_time)
        return TemporaryHardware(
            self, repo_id, flavor, restore=back, sleep_time=seconds, timeout=_check_timeout(timeout)
        )

    async def restore_hardware(
        self, repo_id: str, restore_to: str, sleep_time: int | None, *, billed: str
    ) -> str | None:
        """Request `restore_to` back, shielded and retried: None when confirmed, else the flavor billed.

        The shield has its own deadline, `RESTORE_TIMEOUT` on the client's clock and in real time (whichever
        comes first), then at most `BILLED_READ_TIMEOUT` to read what is still billed.
        """
        clock = self.session.clock
        restored = False
        with anyio.CancelScope(shield=True):
            deadline = clock.now() + RESTORE_TIMEOUT
            with anyio.move_on_after(RESTORE_TIMEOUT):
                restored = bool(
                    await _by_deadline(clock, deadline, lambda: self._request_back(repo_id, restore_to))
                )
                # Best effort, and after `restored` is known: the flavor is what bills.
                if restored and sleep_time is not None and restore_to != "cpu-basic":
                    # cpu-basic's sleep time is fixed (hub-api.md §8.3).
                    done = await _by_deadline(
                        clock, deadline, lambda: self._restore_sleep_time(repo_id, sleep_time)
                    )
                    if done is None:
                        logger.warning(
                            "temporary_hardware: no time left to restore the sleep time of %s", repo_id
                        )
            if restored:
                return None
            with anyio.move_on_after(BILLED_READ_TIMEOUT):
                read = await _by_deadline(
                    clock, clock.now() + BILLED_READ_TIMEOUT, lambda: self._billed_hardware(repo_id, billed)
                )
                billed = read or billed
        # Every answer was lost but a read trusted by the fences shows `restore_to` requested: the requests
        # did land (a connection dropped after the Hub applied one), and nothing else is billed.
        return None if billed == restore_to else billed

    async def _request_back(self, repo_id: str, restore_to: str) -> bool:
        """Request `restore_to` up to `RESTORE_ATTEMPTS` times; True once the Hub's answer confirms it (the
        caller cuts this off at the restore's deadline)."""
        retrying = Retrying(
            _RESTORE_POLICY,
            clock=self.session.clock,
            rng=self.session.transport.rng,
            classify=_restore_failure,
            what="temporary_hardware: restoring",
            target=f"{repo_id} to {restore_to}",
        )
        try:
            async for attempt in retrying:
                with attempt:
                    # Always sent (a read could come from a replica that missed our own request), and the
                    # Hub's answer to it is the confirmation: requested == restore_to.
                    runtime = await self.hub.request_space_hardware(repo_id, restore_to)
                    if runtime.requested_hardware != restore_to:
                        raise _Unconfirmed(runtime.requested_hardware)
                    return True
        except (SpacesError, _Unconfirmed) as exc:
            logger.warning("temporary_hardware: restoring %s to %s failed: %s", repo_id, restore_to, exc)
        return False

    async def _billed_hardware(self, repo_id: str, presumed: str) -> str:
        """What is still requested, for the restore error: read if possible, else `presumed`."""
        try:
            runtime = await self.hub.get_space_runtime(repo_id)
        except SpacesError:
            return presumed
        if (
            self.session.fences.judge(repo_id, runtime, self.session.clock.now()) == "stale"
            or runtime.requested_hardware is None
        ):
            return presumed
        return runtime.requested_hardware

    async def _restore_sleep_time(self, repo_id: str, sleep_time: int) -> bool:
        """Put the sleep time back (best effort: a failure is logged); True once attempted."""
        try:
            await self.hub.set_space_sleep_time(repo_id, sleep_time)
        except SpacesError as exc:
            logger.warning("temporary_hardware: could not restore the sleep time of %s: %s", repo_id, exc)
        return True


class _Unconfirmed(Exception):
    """The Hub's answer to a restore request shows another flavor requested."""

    def __init__(self, requested: str | None) -> None:
        super().__init__(f"the Hub's answer shows {requested} requested")


def _restore_failure(exc: Exception) -> Failure | None:
    if isinstance(exc, _Unconfirmed):
        return Failure(Outcome.CONFLICT, str(exc))
    if isinstance(exc, SpacesError):
        return Failure(Outcome.NO_ANSWER, str(exc))
    return None


async def _aclose(iterator: object) -> None:
    """Close an async generator now (its open response with it), not whenever it is garbage collected."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


def _not_running(repo_id: str, runtime: SpaceRuntime) -> SpaceNotRunningError:
    stage = _stage(runtime)
    hint = "" if stage == "DELETING" else " (pass wake=True to restart it)"
    return SpaceNotRunningError(f"{repo_id} is {stage}{hint}", repo_id=repo_id, stage=stage, runtime=runtime)
