"""Action fences: what this client's own actions guarantee about every later runtime read (design.md §3: a
wait started right after an action never returns a state observed before it).

The Hub's own answer to an action is post-action (hub-api.md §8.2: after a hardware request `requested` is the
new flavor while `current` is still the old one; after a restart the stage is BUILDING), but a later read can
still come from a replica that has not seen the action yet (a stale read), for as long as that replica lags.
For `grace` seconds after the action, reads that look like the pre-action state are judged stale; after that
every read is taken at face value (someone else changed the Space back).

A fence is a frozen value: `judge` is pure and returns the verdict with the fence as updated by what the read
showed (`attrs.evolve`). `Fences` is the one place a client keeps them: each operation records its fence right
after the Hub answered (`Fences.record`), and every poll loop asks `Fences.judge` about every read.

Adding a kind of fence takes one class here: subclass `ActionFence` (frozen, keyword-only fields with
defaults for what the fence learns from reads), implement `judge` (and `expired` if the fence must outlive its
grace, `replaced_by` if a fresh read can show someone else's later action, `running_target` if a wait for
RUNNING must see something specific), and have the operation call `session.fences.record(repo_id,
YourFence(at=clock.now()))` once the Hub answered.
"""

from __future__ import annotations

from typing import Literal

import attrs

from ._clock import Clock
from ._poll import RuntimeLike
from .models import APP_STARTING_STAGES, FAILURE_STAGES, TRANSITIONAL_STAGES, stage_name

__all__ = ["ActionFence", "CommitFence", "Fences", "HardwareFence", "PauseFence", "RestartFence", "Verdict"]

Verdict = Literal["fresh", "stale"]


@attrs.frozen(kw_only=True)
class ActionFence:
    """The fence one action put on a Space's reads (see the module docstring).

    Attributes:
        at: clock time of the action's answer.
        grace: seconds after `at` during which pre-action-looking reads are judged stale.
    """

    at: float
    grace: float = 60.0

    def in_grace(self, now: float) -> bool:
        """Whether `now` is within the grace after the action."""
        return now - self.at <= self.grace

    def judge(self, runtime: RuntimeLike, now: float) -> tuple[Verdict, ActionFence]:
        """Whether a read at `now` is consistent with the action ("fresh") or predates it ("stale"), and the
        fence updated by what the read showed."""
        raise NotImplementedError

    def expired(self, now: float) -> bool:
        """Whether the fence no longer affects reads at `now`."""
        return not self.in_grace(now)

    def replaced_by(self, runtime: RuntimeLike) -> bool:
        """Whether a fresh read shows someone else's later action, which ends this fence."""
        return False

    def running_target(self) -> str | None:
        """The flavor a wait for RUNNING must see running while this fence holds, if any."""
        return None


@attrs.frozen(kw_only=True)
class HardwareFence(ActionFence):
    """After a hardware request: a read whose requested flavor is one of `previous` (all flavors but the new
    one when `previous` is empty) is stale during the grace, even after the new flavor was seen, since a
    lagging replica can answer any time; a third flavor is someone else's request and is fresh.

    Attributes:
        requested_hardware: the flavor the action requested.
        previous: the flavors that were requested or running before the action.
        confirmed: set once a read shows the new flavor requested.
        switched: set once a read shows the new flavor running.
    """

    requested_hardware: str | None = None
    previous: frozenset[str] = frozenset()
    confirmed: bool = False
    switched: bool = False

    def judge(self, runtime: RuntimeLike, now: float) -> tuple[Verdict, HardwareFence]:
        requested = runtime.requested_hardware
        if requested == self.requested_hardware:
            switched = self.switched or runtime.hardware == self.requested_hardware
            return "fresh", attrs.evolve(self, confirmed=True, switched=switched)
        if self.in_grace(now) and (requested in self.previous or not self.previous):
            return "stale", self
        return "fresh", self

    def expired(self, now: float) -> bool:
        # Until the new flavor ran, a wait for RUNNING still needs `running_target`.
        return not self.in_grace(now) and self.switched

    def replaced_by(self, runtime: RuntimeLike) -> bool:
        return runtime.requested_hardware != self.requested_hardware

    def running_target(self) -> str | None:
        return None if self.switched else self.requested_hardware


@attrs.frozen(kw_only=True)
class RestartFence(ActionFence):
    """After a restart: a stable stage (RUNNING, PAUSED, ...) is stale until the restarted app was seen
    starting (APP_STARTING or RUNNING_APP_STARTING) or, once the build was seen, until the same stable stage
    is read twice in a row; a failure stage is stale until a transitional stage was seen; transitional stages
    are after the restart.

    Attributes:
        confirmed: set once a read consistent with the restart was seen (or the Hub's answer was a failure).
        started: set once a read shows the restarted app starting.
        candidate: the stable stage last read after the build was seen (believed when read again next).
    """

    confirmed: bool = False
    started: bool = False
    candidate: str | None = None

    def judge(self, runtime: RuntimeLike, now: float) -> tuple[Verdict, RestartFence]:
        # The Hub answers BUILDING (hub-api.md §8.2, recording test_pause_and_restart_space); after it the
        # restarted app goes through an app-starting stage before RUNNING. A stable stage looks the same
        # before and after the restart, so during the grace it is trusted only once the app-starting stage
        # was seen: a read from before the restart would then have to lag by more than the whole build. A
        # start too short to be polled between two reads (seconds for a small app) must not hold a wait until
        # the grace ends: once the build was seen, the same stable stage read twice in a row is the restarted
        # app's (one lagging read does not end a wait; a transitional read in between resets the candidate).
        # A failure stage also looks the same before the restart (restarting a failed Space is common) and
        # after it; a restarted Space builds or starts first, so a failure is believed once that was seen
        # (or the Hub's answer to the restart already was the failure: `confirmed` from the start).
        stage = stage_name(runtime.stage)
        in_grace = self.in_grace(now)
        if stage in TRANSITIONAL_STAGES:
            started = self.started or stage in APP_STARTING_STAGES
            return "fresh", attrs.evolve(self, confirmed=True, started=started, candidate=None)
        if stage in FAILURE_STAGES:
            verdict: Verdict = "fresh" if self.confirmed or not in_grace else "stale"
            return verdict, attrs.evolve(self, candidate=None)
        if self.started or not in_grace:
            return "fresh", self
        if self.confirmed:
            if self.candidate == stage:
                return "fresh", self
            return "stale", attrs.evolve(self, candidate=stage)
        return "stale", self


@attrs.frozen(kw_only=True)
class PauseFence(ActionFence):
    """After a pause: any stage but PAUSED is stale until PAUSED confirms it; after that, any stage but PAUSED
    or a transitional one (someone restarted it).

    Attributes:
        confirmed: set once a read shows PAUSED.
    """

    confirmed: bool = False

    def judge(self, runtime: RuntimeLike, now: float) -> tuple[Verdict, PauseFence]:
        # The Hub answers PAUSED (hub-api.md §8.2, recording test_pause_and_restart_space), and a paused Space
        # stays PAUSED until restarted (§8.3), which goes through a build or start first. So during the grace
        # any other stable or failure stage is from before the pause, even after PAUSED.
        if not self.in_grace(now):
            return "fresh", self
        stage = stage_name(runtime.stage)
        if stage == "PAUSED":
            return "fresh", attrs.evolve(self, confirmed=True)
        return ("fresh" if self.confirmed and stage in TRANSITIONAL_STAGES else "stale"), self


@attrs.frozen(kw_only=True)
class CommitFence(RestartFence):
    """After this client's commit changed a Space's files: the Hub rebuilds the Space, but only once it has
    scheduled the build, so reads right after the commit still show the previous state (the previous build
    RUNNING and serving, or its failure) for a while. As after a restart, a stable stage is stale until the
    rebuild was seen; a failure is stale until a build or start stage was seen, unless it differs from
    `before` (then it is the commit's own, e.g. the configuration error of a new README, decided without a
    build). PAUSED is fresh: the Hub does not rebuild a paused Space.

    Attributes:
        before: the stage this client last read of the Space before the commit (None: it read none).
    """

    before: str | None = None

    def judge(self, runtime: RuntimeLike, now: float) -> tuple[Verdict, RestartFence]:
        stage = stage_name(runtime.stage)
        if self.in_grace(now) and not self.confirmed:
            if stage == "PAUSED":
                return "fresh", self
            if stage in FAILURE_STAGES and self.before is not None and stage != self.before:
                return "fresh", attrs.evolve(self, confirmed=True)
        return super().judge(runtime, now)


class Fences:
    """The fence of each Space this client acted on, and the flavor it saw requested last."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._fences: dict[str, ActionFence] = {}
        self._last_requested: dict[str, str] = {}
        self._last_stage: dict[str, str] = {}
        self._acted: dict[str, float] = {}  # when this client last acted on each Space (outlives its fence)

    def __repr__(self) -> str:
        return f"Fences({sorted(self._fences)})"

    # --- recording: called by the operations themselves --------------------------------------------------

    def record(self, repo_id: str, fence: ActionFence) -> None:
        """Put `fence` on the Space's reads (replacing an earlier one: the latest action is what counts)."""
        self._fences[repo_id] = fence
        self._acted[repo_id] = fence.at

    def record_hardware(self, repo_id: str, answer: RuntimeLike, *, requested_before: str | None) -> None:
        """A hardware request was answered with `answer`; `requested_before` is the flavor this client saw
        requested before sending it (`last_requested`)."""
        target = answer.requested_hardware
        previous = frozenset(f for f in (requested_before, answer.hardware) if f is not None and f != target)
        self.record(
            repo_id, HardwareFence(at=self._clock.now(), requested_hardware=target, previous=previous)
        )
        if target is not None:
            self._last_requested[repo_id] = target

    def record_restart(self, repo_id: str, answer: RuntimeLike) -> None:
        """A restart was answered with `answer`."""
        # An answer that is already a failure (decided at once) is after the restart: later reads of it too.
        failed = stage_name(answer.stage) in FAILURE_STAGES
        self.record(repo_id, RestartFence(at=self._clock.now(), confirmed=failed))

    def record_pause(self, repo_id: str) -> None:
        """A pause was answered."""
        self.record(repo_id, PauseFence(at=self._clock.now()))

    def record_commit(self, repo_id: str) -> None:
        """A commit changing the Space's files landed on its branch (the Hub rebuilds it, after a while)."""
        self.record(repo_id, CommitFence(at=self._clock.now(), before=self._last_stage.get(repo_id)))

    def saw(self, repo_id: str, runtime: RuntimeLike) -> None:
        """A runtime was read (`get_space_runtime`): its stage is what a later commit fence compares failures
        with. Under a fence only `judge` records it, once the read is known not to be stale."""
        if repo_id not in self._fences:
            self._last_stage[repo_id] = stage_name(runtime.stage)

    # --- reading -----------------------------------------------------------------------------------------

    def acted_at(self, repo_id: str) -> float | None:
        """When this client's last action on the Space was answered (a transition is likely soon after)."""
        return self._acted.get(repo_id)

    def last_requested(self, repo_id: str) -> str | None:
        """The flavor last seen requested for the Space (by this client's request or a fresh read)."""
        return self._last_requested.get(repo_id)

    def requested_hardware(self, repo_id: str) -> str | None:
        """The flavor of this client's hardware request that still fences the Space, if any."""
        fence = self._fences.get(repo_id)
        return fence.requested_hardware if isinstance(fence, HardwareFence) else None

    def hardware_target(self, repo_id: str) -> str | None:
        """The flavor a wait for RUNNING must see running (this client's request, until seen running)."""
        fence = self._fences.get(repo_id)
        return None if fence is None else fence.running_target()

    def judge(self, repo_id: str, runtime: RuntimeLike, now: float) -> Verdict:
        """Judge a read against the Space's fence (if any), and forget fences that no longer matter."""
        fence = self._fences.get(repo_id)
        verdict: Verdict = "fresh"
        if fence is not None:
            verdict, fence = fence.judge(runtime, now)
            if (verdict == "fresh" and fence.replaced_by(runtime)) or fence.expired(now):
                del self._fences[repo_id]
            else:
                self._fences[repo_id] = fence
        if verdict == "fresh":
            self._last_stage[repo_id] = stage_name(runtime.stage)
            if runtime.requested_hardware is not None:
                self._last_requested[repo_id] = runtime.requested_hardware
        return verdict
