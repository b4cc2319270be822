"""Waiting on Space runtimes: the `Waiting` part of `SpacesClient` (documented there, design.md §3).

Each wait is the shared wait loop (`_watch.wait_for`) with a check of one read; what a read means to a wait
for RUNNING is the pure `running_verdict` (`_poll.py`). A failure stage raises `SpaceFailedError` with the
tail of the relevant logs. Fleet waits run the shared loop of `_fleet_watch.py`; the temporary-hardware block
is in `_temporary.py`.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Final

import anyio

from . import validation
from ._clock import move_on_at
from ._fleet_watch import FLEET_CONCURRENCY, FleetEntry, FleetWatch, Verdict
from ._poll import PollPolicy, is_transitional, raw_error_message, running_verdict
from ._session import Session
from ._temporary import TemporaryHardware
from ._watch import (
    RuntimeChange,
    RuntimeOps,
    RuntimeWatch,
    SpacePoll,
    check_on_change,
    check_policy,
    check_repo_ids,
    check_timeout,
    close_iterator,
    wait_for,
)
from .errors import HardwareConflictError, SpaceFailedError, SpaceNotRunningError, SpacesError
from .fleet import FleetReport
from .models import BUILD_LOG_STAGES, SpaceRuntime, stage_name

__all__ = ["Waiting"]

logger = logging.getLogger("aiospaces")

# How many log lines a failure error keeps, and how long fetching them may take (client-clock seconds):
# a log stream that never ends (keep-alives, hub-api.md §9) must not turn a failure into a hang.
LOG_TAIL_LINES: Final = 20
LOG_TAIL_IN_MESSAGE: Final = 5
LOG_FETCH_TIMEOUT: Final = 10.0


def not_running(repo_id: str, runtime: SpaceRuntime) -> SpaceNotRunningError:
    """The error of a wait for RUNNING that reads PAUSED, STOPPED, SLEEPING or DELETING."""
    stage = stage_name(runtime.stage)
    hint = "" if stage == "DELETING" else " (pass wake=True to restart it)"
    return SpaceNotRunningError(f"{repo_id} is {stage}{hint}", repo_id=repo_id, stage=stage, runtime=runtime)


def fixed_interval(poll_interval: float) -> PollPolicy:
    """The policy of `HfApi.wait_for_space(poll_interval=...)`: every `poll_interval` seconds, no jitter."""
    validation.validate_seconds(poll_interval, arg="poll_interval")
    return PollPolicy(
        fast_interval=poll_interval,
        stage_fraction=0.0,
        backoff_factor=1.0,
        transitional_max_interval=poll_interval,
        max_interval=poll_interval,
        jitter=0.0,
    )


class Waiting:
    """`watch`, `wait_*`, `watch_many`, `wait_all` and `temporary_hardware` of `SpacesClient` (documented
    there), on the client's session and Hub operations."""

    def __init__(self, session: Session, hub: RuntimeOps) -> None:
        self.session = session
        self.hub = hub

    # --- single Space ------------------------------------------------------------------------------------

    def watch(
        self, repo_id: str, *, timeout: float | None = None, policy: PollPolicy | None = None
    ) -> RuntimeWatch:
        """`SpacesClient.watch`."""
        validation.validate_repo_id(repo_id)
        return RuntimeWatch(
            self.session, self.hub, repo_id, timeout=check_timeout(timeout), policy=check_policy(policy)
        )

    async def _wait(
        self,
        repo_id: str,
        done: Callable[[SpaceRuntime], Awaitable[bool]],
        *,
        timeout: float | None,  # noqa: ASYNC109 - a deadline on the client's clock
        policy: PollPolicy | None,
        goal: str | Callable[[], str],
        on_change: Callable[[RuntimeChange], object] | None,
    ) -> SpaceRuntime:
        """Check the arguments, then poll until `await done(runtime)` is true (see `_watch.wait_for`)."""
        validation.validate_repo_id(repo_id)
        seconds = check_timeout(timeout)
        report = check_on_change(on_change)
        deadline = None if seconds is None else self.session.clock.now() + seconds
        poll = SpacePoll(self.session, self.hub, repo_id, check_policy(policy), deadline)
        return await wait_for(poll, done, timeout=seconds, goal=goal, on_change=report)

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
            policy = fixed_interval(poll_interval)

        async def settled(runtime: SpaceRuntime) -> bool:
            return not is_transitional(runtime.stage)

        return await self._wait(
            repo_id, settled, timeout=timeout, policy=policy, goal="a settled stage", on_change=on_change
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

        async def true(runtime: SpaceRuntime) -> bool:
            if predicate(runtime):
                return True
            if running_verdict(runtime) == "failed":
                raise await self.failure(repo_id, runtime)
            return False

        return await self._wait(
            repo_id, true, timeout=timeout, policy=policy, goal="the condition", on_change=on_change
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

        async def running(runtime: SpaceRuntime) -> bool:
            nonlocal woken
            target = self.session.fences.hardware_target(repo_id)
            verdict = running_verdict(runtime, target=target, wake=wake and not woken)
            if verdict == "wake":
                woken = True
                await self.hub.restart_space(repo_id)
            return await self._settle(repo_id, runtime, verdict)

        return await self._wait(
            repo_id, running, timeout=timeout, policy=policy, goal="RUNNING", on_change=on_change
        )

    async def wait_for_hardware(
        self,
        repo_id: str,
        hardware: str | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - a deadline on the client's clock
        wake: bool = False,
        policy: PollPolicy | None = None,
        on_change: Callable[[RuntimeChange], object] | None = None,
    ) -> SpaceRuntime:
        """`SpacesClient.wait_for_hardware`."""
        validation.validate_repo_id(repo_id)
        target = None if hardware is None else validation.validate_hardware(hardware)
        validation.validate_bool(wake, arg="wake")
        if target is None:
            target = self.session.fences.requested_hardware(repo_id)
        woken = False

        async def switched(runtime: SpaceRuntime) -> bool:
            nonlocal target, woken
            if target is None:
                target = runtime.requested_hardware
            if runtime.requested_hardware != target:
                raise HardwareConflictError(
                    f"{repo_id}: waiting for {target}, but {runtime.requested_hardware} is requested now",
                    repo_id=repo_id,
                    expected=str(target),
                    requested=runtime.requested_hardware,
                    runtime=runtime,
                )
            verdict = running_verdict(runtime, target=target, wake=wake and not woken)
            if verdict == "wake":
                woken = True
                await self.hub.restart_space(repo_id)
            return await self._settle(repo_id, runtime, verdict)

        def goal() -> str:
            return "the requested hardware" if target is None else f"{target} running"

        return await self._wait(
            repo_id, switched, timeout=timeout, policy=policy, goal=goal, on_change=on_change
        )

    async def _settle(self, repo_id: str, runtime: SpaceRuntime, verdict: str) -> bool:
        """A single-Space wait's answer to a `running_verdict`: done, keep polling, or raise."""
        if verdict == "failed":
            raise await self.failure(repo_id, runtime)
        if verdict == "not_running":
            raise not_running(repo_id, runtime)
        return verdict == "running"

    # --- failures ----------------------------------------------------------------------------------------

    async def failure(self, repo_id: str, runtime: SpaceRuntime) -> SpaceFailedError:
        """A `SpaceFailedError` for a failure stage, with the Hub's message and the relevant log tail."""
        stage = stage_name(runtime.stage)
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
        try:
            with anyio.move_on_after(LOG_FETCH_TIMEOUT):  # also bounded in real time
                async with move_on_at(clock, clock.now() + LOG_FETCH_TIMEOUT):
                    lines = self.hub.fetch_space_logs(repo_id, build=build, follow=False)
                    try:
                        async for line in lines:
                            tail.append(line.rstrip("\r\n"))
                    finally:
                        await close_iterator(lines)  # closes the streamed response too
        except SpacesError as exc:
            # pragma: no mutate start
            logger.debug("could not read the %s logs of %s: %s", "build" if build else "run", repo_id, exc)
            # pragma: no mutate end
        return list(tail)

    # --- fleets ------------------------------------------------------------------------------------------

    def watch_many(
        self, repo_ids: Iterable[str], *, timeout: float | None = None, policy: PollPolicy | None = None
    ) -> FleetWatch:
        """`SpacesClient.watch_many`."""
        ids = check_repo_ids(repo_ids)
        return FleetWatch(
            self.session, self.hub, ids, timeout=check_timeout(timeout), policy=check_policy(policy)
        )

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
        ids = check_repo_ids(repo_ids)
        validation.validate_bool(wake, arg="wake")
        failed: list[tuple[FleetEntry, SpaceRuntime]] = []

        def running(entry: FleetEntry, runtime: SpaceRuntime) -> Verdict:
            target = self.session.fences.hardware_target(entry.repo_id)
            verdict = running_verdict(runtime, target=target, wake=wake and not entry.woken)
            if verdict == "running":
                return runtime
            if verdict == "failed":
                failed.append((entry, runtime))
                return runtime  # replaced by the SpaceFailedError once the loop is over
            if verdict == "wake":
                entry.woken = True
                return "wake"
            if verdict == "not_running":
                raise not_running(entry.repo_id, runtime)
            return "continue"

        fleet = FleetWatch(
            self.session,
            self.hub,
            ids,
            timeout=check_timeout(timeout),
            policy=check_policy(policy),
            check=running,
            on_change=check_on_change(on_change),
        )
        await fleet.run()
        # Failure stages: fetch the log tails (bounded) once the loop is over.
        if failed:
            limiter = anyio.CapacityLimiter(FLEET_CONCURRENCY)

            async def explain(entry: FleetEntry, runtime: SpaceRuntime) -> None:
                async with limiter:
                    entry.result = await self.failure(entry.repo_id, runtime)

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

    # --- billing safety ----------------------------------------------------------------------------------

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
            self.session,
            self.hub,
            self.wait_for_hardware,
            repo_id,
            flavor,
            restore=back,
            sleep_time=seconds,
            timeout=check_timeout(timeout),
        )
