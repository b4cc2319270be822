"""The temporary-hardware block: run a block on other hardware, then always put the Space back (billing
safety, design.md §1).

On entry the block remembers the flavor to go back to (judged by the action fences: a lagging read does not
decide it), requests the new one and waits until it runs; on any exit, even a cancellation or a failed entry,
`restore_hardware` requests the old flavor back, shielded from cancellation and bounded by its own deadline.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Final, Protocol

import anyio

from ._clock import move_on_at
from ._retry import Failure, Outcome, Retrying, RetryPolicy
from ._session import Session
from ._watch import RuntimeOps
from .errors import HardwareRestoreError, HubHTTPError, SpacesError
from .models import SpaceRuntime

__all__ = ["TemporaryHardware", "restore_hardware"]

logger = logging.getLogger("aiospaces")

# The restore's own deadline (shielded from the caller's cancellation) and attempts. The deadline outlasts one
# fully spent 5-minute rate-limit window (hub-api.md §4): a GPU left billing costs more than a slow exit.
RESTORE_TIMEOUT: Final = 330.0
RESTORE_ATTEMPTS: Final = 5
# ... 1-2 s apart at first, doubling, at most 8 s (a hardware request is idempotent: retried on any failure).
_RESTORE_POLICY: Final = RetryPolicy(max_attempts=RESTORE_ATTEMPTS, base_delay=2.0, max_delay=8.0)
# ... and, when it failed, how long reading what is still billed (for the error) may take.
BILLED_READ_TIMEOUT: Final = 10.0


class HardwareWait(Protocol):
    """`wait_for_hardware` as the block calls it."""

    async def __call__(
        self,
        repo_id: str,
        hardware: str,
        *,
        timeout: float | None,  # noqa: ASYNC109 - a deadline on the client's clock
    ) -> SpaceRuntime: ...


class TemporaryHardware:
    """The async context manager returned by `temporary_hardware` (see `SpacesClient.temporary_hardware`)."""

    def __init__(
        self,
        session: Session,
        hub: RuntimeOps,
        wait_for_hardware: HardwareWait,
        repo_id: str,
        hardware: str,
        *,
        restore: str | None,
        sleep_time: int | None,
        timeout: float | None,
    ) -> None:
        self._session = session
        self._hub = hub
        self._wait_for_hardware = wait_for_hardware
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
        fences = self._session.fences
        current = await self._hub.get_space_runtime(self.repo_id)
        requested = current.requested_hardware
        if fences.judge(self.repo_id, current, self._session.clock.now()) == "stale":
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
                await self._hub.request_space_hardware(
                    self.repo_id, self.hardware, sleep_time=self._sleep_time
                )
            except HubHTTPError as exc:
                if exc.status < 500 and exc.status not in (408, 429):
                    # The Hub refused it (400, 402, 403, 404, ...): nothing changed, nothing to put back. Not
                    # after a 408 or 429: an earlier attempt of the retried call may have been applied.
                    self._armed = False
                raise
            self.runtime = await self._wait_for_hardware(self.repo_id, self.hardware, timeout=self._timeout)
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
        billed = await restore_hardware(
            self._session,
            self._hub,
            self.repo_id,
            self._restore_to,
            self._restore_sleep if self._sleep_time is not None else None,
            billed=self.hardware,  # what we asked for, unless a read says otherwise
        )
        if billed is not None:
            # pragma: no mutate start
            logger.error(
                "temporary_hardware: could not put %s back on %s; %s is still requested and billed",
                self.repo_id,
                self._restore_to,
                billed,
            )
            # pragma: no mutate end
            raise HardwareRestoreError(
                f"could not put {self.repo_id} back on {self._restore_to}: {billed} is still requested "
                "and billed; request the hardware back by hand",
                repo_id=self.repo_id,
                billed_hardware=billed,
                restore_to=self._restore_to,
            )


async def restore_hardware(
    session: Session, hub: RuntimeOps, repo_id: str, restore_to: str, sleep_time: int | None, *, billed: str
) -> str | None:
    """Request `restore_to` back, shielded and retried: None when confirmed, else the flavor billed.

    The shield has its own deadline, `RESTORE_TIMEOUT` on the client's clock and in real time (whichever
    comes first), then at most `BILLED_READ_TIMEOUT` to read what is still billed. The sleep time is put back
    too (best effort) when `sleep_time` is given.
    """
    clock = session.clock
    restored = False
    with anyio.CancelScope(shield=True):
        deadline = clock.now() + RESTORE_TIMEOUT
        with anyio.move_on_after(RESTORE_TIMEOUT):
            async with move_on_at(clock, deadline):
                restored = await _request_back(session, hub, repo_id, restore_to)
            # Best effort, and after `restored` is known: the flavor is what bills. cpu-basic's sleep time is
            # fixed (hub-api.md §8.3).
            if restored and sleep_time is not None and restore_to != "cpu-basic":
                done = False
                async with move_on_at(clock, deadline):
                    done = await _restore_sleep_time(hub, repo_id, sleep_time)
                if not done:
                    # pragma: no mutate start
                    logger.warning(
                        "temporary_hardware: no time left to restore the sleep time of %s", repo_id
                    )
                    # pragma: no mutate end
        if restored:
            return None
        with anyio.move_on_after(BILLED_READ_TIMEOUT):
            async with move_on_at(clock, clock.now() + BILLED_READ_TIMEOUT):
                billed = await _billed_hardware(session, hub, repo_id, billed)
    # Every answer was lost but a read trusted by the fences shows `restore_to` requested: the requests did
    # land (a connection dropped after the Hub applied one), and nothing else is billed.
    return None if billed == restore_to else billed


async def _request_back(session: Session, hub: RuntimeOps, repo_id: str, restore_to: str) -> bool:
    """Request `restore_to` up to `RESTORE_ATTEMPTS` times; True once the Hub's answer confirms it (the
    caller cuts this off at the restore's deadline)."""
    retrying = Retrying(
        _RESTORE_POLICY,
        clock=session.clock,
        rng=session.transport.rng,
        classify=_restore_failure,
        what="temporary_hardware: restoring",  # pragma: no mutate
        target=f"{repo_id} to {restore_to}",  # pragma: no mutate
    )
    try:
        async for attempt in retrying:
            with attempt:
                # Always sent (a read could come from a replica that missed our own request), and the Hub's
                # answer to it is the confirmation: requested == restore_to.
                runtime = await hub.request_space_hardware(repo_id, restore_to)
                if runtime.requested_hardware != restore_to:
                    raise _Unconfirmed(runtime.requested_hardware)
                return True
    except (SpacesError, _Unconfirmed) as exc:
        # pragma: no mutate start
        logger.warning("temporary_hardware: restoring %s to %s failed: %s", repo_id, restore_to, exc)
        # pragma: no mutate end
    return False


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


async def _billed_hardware(session: Session, hub: RuntimeOps, repo_id: str, presumed: str) -> str:
    """What is still requested, for the restore error: read if possible, else `presumed`."""
    try:
        runtime = await hub.get_space_runtime(repo_id)
    except SpacesError:
        return presumed
    if (
        session.fences.judge(repo_id, runtime, session.clock.now()) == "stale"
        or runtime.requested_hardware is None
    ):
        return presumed
    return runtime.requested_hardware


async def _restore_sleep_time(hub: RuntimeOps, repo_id: str, sleep_time: int) -> bool:
    """Put the sleep time back (best effort: a failure is logged); True once attempted."""
    try:
        await hub.set_space_sleep_time(repo_id, sleep_time)
    except SpacesError as exc:
        # pragma: no mutate start
        logger.warning("temporary_hardware: could not restore the sleep time of %s: %s", repo_id, exc)
        # pragma: no mutate end
    return True
