"""The pure polling policy behind `watch` and the `wait_*` helpers: no I/O, no clock, no randomness.

Everything here is a function of plain values (times, stages, counters, a random draw passed in), so the
whole policy is tested as a table (`tests/test_poll.py`) and the poll loops (`_watch.py`, `_fleet_watch.py`)
only feed it. The stage classes it reads are defined once, in `_runtime_models.py` (public in `models`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final, Literal, Protocol

import attrs

from .models import FAILURE_STAGES, NOT_RUNNING_STAGES, TRANSITIONAL_STAGES, SpaceRuntime, stage_name

__all__ = [
    "WATCHED_FIELDS",
    "PollPolicy",
    "PollTracker",
    "RunningVerdict",
    "StageHistory",
    "changed_fields",
    "describe_last",
    "is_transitional",
    "likely_in",
    "running_verdict",
    "snapshot",
    "switch_pending",
]

# design.md §3: a watch reports a change when one of these runtime attributes changes.
WATCHED_FIELDS: Final = ("stage", "hardware", "requested_hardware", "storage", "sleep_time", "dev_mode")


class RuntimeLike(Protocol):
    """The attributes of `SpaceRuntime` the policy reads (kept structural so this module stays pure)."""

    @property
    def stage(self) -> str: ...

    @property
    def hardware(self) -> str | None: ...

    @property
    def requested_hardware(self) -> str | None: ...


def is_transitional(stage: object) -> bool:
    """Whether `stage` is one of the intermediate stages a Space leaves on its own (hub-api.md §10.1)."""
    return stage_name(stage) in TRANSITIONAL_STAGES


def snapshot(runtime: object) -> tuple[Any, ...]:
    """The values of the watched fields of `runtime`, in `WATCHED_FIELDS` order (stages as plain strings)."""
    values: list[Any] = []
    for name in WATCHED_FIELDS:
        value = getattr(runtime, name, None)
        if name == "stage":
            value = stage_name(value)
        elif value is not None and hasattr(value, "value"):
            value = value.value
        values.append(value)
    return tuple(values)


def changed_fields(previous: object | None, current: object) -> frozenset[str]:
    """Names of the watched fields that differ between two runtimes (all of them when `previous` is None)."""
    if previous is None:
        return frozenset(WATCHED_FIELDS)
    return frozenset(
        name
        for name, old, new in zip(WATCHED_FIELDS, snapshot(previous), snapshot(current), strict=True)
        if old != new
    )


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ValueError(f"PollPolicy.{attribute.name} must be a positive number, got {value!r}")


def _fraction(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (isinstance(value, int | float) and 0 <= value < 1):
        raise ValueError(f"PollPolicy.{attribute.name} must be in [0, 1), got {value!r}")


def _share(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (isinstance(value, int | float) and 0 < value <= 1):
        raise ValueError(f"PollPolicy.{attribute.name} must be in (0, 1], got {value!r}")


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise ValueError(f"PollPolicy.{attribute.name} must be a number >= 0, got {value!r}")


def _factor(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 1):
        raise ValueError(f"PollPolicy.{attribute.name} must be a number >= 1, got {value!r}")


@attrs.frozen(kw_only=True)
class PollPolicy:
    """When to poll a Space's runtime next.

    - While the Space is transitional (BUILDING, APP_STARTING, RUNNING_BUILDING, RUNNING_APP_STARTING) the
      delay is `max(fast_interval, stage_fraction * time in the current state)`, capped at
      `transitional_max_interval`: a stage change is seen within
      `max(fast_interval, stage_fraction * time spent in the stage)`, and a long build costs a
      logarithmic number of requests (a 10-minute build: under 50 polls instead of 600 at 1 s).
    - While it is in a stable stage (RUNNING, PAUSED, ...) and nothing changes, the delay backs off
      exponentially from `fast_interval` by `backoff_factor` per unchanged poll, capped at `max_interval`.
    - Any change of a watched field resets both (the caller resets the `PollTracker`).
    - When a transition is likely, the delay is `hot_interval` (when it shortens it): for `hot_period`
      seconds after an action of this client on the Space (hardware request, restart, pause, commit), and
      while the Space has been in a transitional stage for about as long as the same stage took in its
      previous builds (`StageHistory`, see `likely_in`). Before that moment the delay is cut so the poll
      lands on it.
    - Every poll request of a client draws on one polling budget: at most `poll_share` of the Hub's
      rate-limit quota per window (the `RateLimit-Policy` the Hub advertised; the free account's, 1,000 per
      5 minutes, until a response told it), spread evenly over the window; the rest is left to the writes.
    - Jitter only shortens a delay (by up to `jitter` of it), so the detection bounds above still hold while
      concurrent watchers spread out.
    - Never shorter than the rate-limit pacing interval; the last poll lands exactly on the deadline, and when
      pacing leaves no room for a poll before the deadline there is none (`next_delay` returns None).

    Attributes:
        fast_interval: the shortest delay, in seconds (also the first delay after a change).
        stage_fraction: in transitional stages, the delay as a fraction of the time in the current state.
        transitional_max_interval: the cap on the delay in transitional stages.
        backoff_factor: the growth of the delay per unchanged poll in stable stages.
        max_interval: the cap on the delay in stable stages.
        jitter: the largest fraction by which a delay is randomly shortened.
        hot_interval: the delay while a transition is likely.
        hot_period: seconds after an action of this client during which a transition is likely.
        poll_share: the share of the rate-limit window's quota all polling of the client may spend.
    """

    fast_interval: float = attrs.field(default=2.0, validator=_positive)
    stage_fraction: float = attrs.field(default=0.1, validator=_fraction)
    transitional_max_interval: float = attrs.field(default=60.0, validator=_positive)
    backoff_factor: float = attrs.field(default=2.0, validator=_factor)
    max_interval: float = attrs.field(default=60.0, validator=_positive)
    jitter: float = attrs.field(default=0.1, validator=_fraction)
    hot_interval: float = attrs.field(default=0.5, validator=_positive)
    hot_period: float = attrs.field(default=10.0, validator=_non_negative)
    poll_share: float = attrs.field(default=0.25, validator=_share)

    def base_delay(
        self, *, transitional: bool, in_state: float, unchanged: int, likely_in: float | None = None
    ) -> float:
        """The delay before jitter, pacing and deadline: see the class docstring.

        Args:
            transitional: whether the last observed stage is transitional.
            in_state: seconds since the current state (watched fields) was first observed.
            unchanged: polls in a row that saw no change since the state was first observed.
            likely_in: seconds until a transition becomes likely (0: it is likely now; None: nothing known),
                from `likely_in`.
        """
        if transitional:
            delay = max(self.fast_interval, self.stage_fraction * max(0.0, in_state))
            delay = min(delay, max(self.fast_interval, self.transitional_max_interval))
        else:
            # A long-lived watch with a steep backoff goes past the float range: the cap applies then. The
            # power is a float one (an int factor would build an ever larger int).
            try:
                delay = self.fast_interval * float(self.backoff_factor) ** max(0, unchanged)
            except OverflowError:
                delay = math.inf
            delay = min(delay, max(self.fast_interval, self.max_interval))
        if likely_in is not None:
            delay = min(delay, self.hot_interval if likely_in <= 0 else max(likely_in, self.hot_interval))
        return delay

    def next_delay(
        self,
        *,
        now: float,
        transitional: bool,
        in_state: float,
        unchanged: int,
        deadline: float | None = None,
        pacing: float = 0.0,
        rand: float = 0.0,
        likely_in: float | None = None,
    ) -> float | None:
        """Seconds to sleep before the next poll, or None when no poll fits before `deadline`.

        Args:
            now: the current clock time.
            transitional: whether the last observed stage is transitional.
            in_state: seconds since the current state was first observed.
            unchanged: polls in a row without a change.
            deadline: the clock time the wait ends at, if any.
            pacing: the shortest delay the shared rate-limit state allows (`RateLimitState.min_interval`).
            rand: a uniform random draw in [0, 1) for the jitter (0 = no jitter).
            likely_in: seconds until a transition becomes likely (see `base_delay`).
        """
        delay = self.base_delay(
            transitional=transitional, in_state=in_state, unchanged=unchanged, likely_in=likely_in
        )
        delay *= 1.0 - self.jitter * min(max(rand, 0.0), 1.0)
        delay = max(delay, pacing, 0.0)
        if deadline is None:
            return delay
        remaining = deadline - now
        if remaining <= 0 or pacing > remaining:
            return None
        return min(delay, remaining)


# How many past durations of a stage are kept per Space, and around their median, from which fraction of it
# to which multiple a transition counts as likely.
HISTORY_LENGTH: Final = 5
LIKELY_FROM: Final = 0.8
LIKELY_UNTIL: Final = 1.5


class StageHistory:
    """How long each transitional stage of each Space lasted, as this client saw it (the last few times).

    A duration is recorded when a watch saw a stage both begin and end, measured between the first reads
    that showed each, so it is accurate to about one poll interval.
    """

    def __init__(self) -> None:
        self._durations: dict[tuple[str, str], list[float]] = {}

    def __repr__(self) -> str:
        return f"StageHistory({len(self._durations)} stages)"

    @staticmethod
    def _kind(stage: str) -> str:
        # RUNNING_BUILDING / RUNNING_APP_STARTING are the same build and start while the previous app keeps
        # serving (hub-api.md §13.1): they take as long as BUILDING / APP_STARTING.
        return stage.removeprefix("RUNNING_") if stage in TRANSITIONAL_STAGES else stage

    def record(self, repo_id: str, stage: str, duration: float) -> None:
        """Add one observed duration (seconds) of `stage` for the Space."""
        if duration < 0 or not math.isfinite(duration):
            return
        kept = self._durations.setdefault((repo_id, self._kind(stage)), [])
        kept.append(duration)
        del kept[:-HISTORY_LENGTH]

    def expected(self, repo_id: str, stage: str) -> float | None:
        """The median of the Space's recorded durations of `stage`, or None when none was recorded."""
        kept = self._durations.get((repo_id, self._kind(stage)))
        if not kept:
            return None
        ordered = sorted(kept)
        middle = len(ordered) // 2
        return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def likely_in(
    policy: PollPolicy,
    *,
    now: float,
    transitional: bool,
    in_stage: float,
    acted_at: float | None,
    expected: float | None,
) -> float | None:
    """Seconds until a transition of the Space becomes likely: 0 when it is likely now, None when nothing
    says so (the policy's ordinary cadence applies).

    Likely: within `policy.hot_period` after this client's last action on the Space (`acted_at`); and, in a
    transitional stage whose previous durations are known (`expected`), from `LIKELY_FROM` to
    `LIKELY_UNTIL` times that duration after the stage began (`in_stage` seconds ago). A stage that overran
    that is back on the ordinary cadence.
    """
    if acted_at is not None and 0 <= now - acted_at < policy.hot_period:
        return 0.0
    if not transitional or expected is None:
        return None
    if in_stage < LIKELY_FROM * expected:
        return LIKELY_FROM * expected - in_stage
    if in_stage <= LIKELY_UNTIL * expected:
        return 0.0
    return None


@attrs.define
class PollTracker:
    """Per-Space polling state of one watch: what was seen last, since when, how many polls saw no change.

    Pure bookkeeping (no I/O): `observe` is fed each runtime read, `next_delay` asks the policy.

    Attributes:
        completed: the stage that the last `observe` saw end and how long it lasted (seconds), when the
            watch also saw it begin; else None. The poll loops record it in the client's `StageHistory`.
    """

    policy: PollPolicy
    last: tuple[Any, ...] | None = None
    state_since: float = 0.0
    unchanged: int = 0
    transitional: bool = False
    stage: str | None = None
    stage_since: float = 0.0
    stage_begun: bool = False  # whether the current stage's beginning was seen (not the first read)
    completed: tuple[str, float] | None = None

    def observe(self, runtime: object, now: float) -> bool:
        """Record a runtime read at `now`; True when a watched field changed (or it is the first read)."""
        key = snapshot(runtime)
        self.transitional = is_transitional(key[0])
        self.completed = None
        stage = key[0]
        if stage != self.stage:
            if self.stage is not None and self.stage_begun:
                self.completed = (self.stage, now - self.stage_since)
            self.stage_begun = self.stage is not None
            self.stage = stage
            self.stage_since = now
        if key != self.last:
            self.last = key
            self.state_since = now
            self.unchanged = 0
            return True
        self.unchanged += 1
        return False

    def in_stage(self, now: float) -> float:
        """Seconds since the current stage was first seen (a lower bound when its beginning was not)."""
        return now - self.stage_since

    def next_delay(
        self,
        now: float,
        *,
        deadline: float | None = None,
        pacing: float = 0.0,
        rand: float = 0.0,
        likely_in: float | None = None,
    ) -> float | None:
        """The policy's delay for the current state (see `PollPolicy.next_delay`)."""
        return self.policy.next_delay(
            now=now,
            transitional=self.transitional,
            in_state=now - self.state_since,
            unchanged=self.unchanged,
            deadline=deadline,
            pacing=pacing,
            rand=rand,
            likely_in=likely_in,
        )


# What a wait for RUNNING makes of one read (see `running_verdict`).
RunningVerdict = Literal["running", "waiting", "failed", "not_running", "wake"]


def running_verdict(runtime: RuntimeLike, *, target: str | None = None, wake: bool = False) -> RunningVerdict:
    """What one read means to a wait for RUNNING (design.md §3).

    Args:
        runtime: the read.
        target: the flavor that must be running, if any (a hardware request of this client, hub-api.md §8.2:
            RUNNING on the old flavor is not there yet).
        wake: whether a Space that is not running may be restarted now (`wake=True`, not yet woken).

    Returns:
        "running" (done), "failed" (a failure stage: raise with the logs), "wake" (restart it, then keep
        waiting), "not_running" (PAUSED, STOPPED, SLEEPING or DELETING: raise) or "waiting" (poll again).
    """
    stage = stage_name(runtime.stage)
    if stage == "RUNNING":
        if target is not None:
            return "running" if runtime.hardware == target else "waiting"
        # Without a request of this client, the runtime itself tells of a switch the Hub accepted and has not
        # made yet (another process asked, a CI step before this one): the old flavor still RUNNING is not
        # the Space as configured. (A runtime without a current flavor is not taken for one.)
        return "waiting" if switch_pending(runtime) else "running"
    if stage in FAILURE_STAGES:
        return "failed"
    if stage in NOT_RUNNING_STAGES:
        # A DELETING Space is never restarted: it is going away.
        return "wake" if wake and stage != "DELETING" else "not_running"
    return "waiting"


def switch_pending(runtime: RuntimeLike) -> bool:
    """Whether the runtime shows a hardware switch not made yet: another flavor requested than the one running
    (hub-api.md §8.2, `hardware.requested` and `hardware.current`)."""
    current, requested = runtime.hardware, runtime.requested_hardware
    return current is not None and requested is not None and requested != current


def describe_last(runtime: SpaceRuntime) -> str:
    """The last runtime a wait saw, for its timeout message: the stage, the flavor running, a switch still
    pending and the Hub's `errorMessage` (e.g. why the requested flavor cannot be scheduled)."""
    text = f"last stage {stage_name(runtime.stage)}"
    if runtime.hardware is not None:
        text += f", hardware {runtime.hardware}"
    if switch_pending(runtime):
        text += f", {runtime.requested_hardware} requested"
    message = raw_error_message(runtime.raw)
    return text + (f"; the Hub says: {message}" if message else "")


def raw_error_message(raw: Mapping[str, Any] | None) -> str | None:
    """The Hub's `errorMessage` from a runtime's raw JSON, if it is a non-empty string (hub-api.md §8.1)."""
    if not raw:
        return None
    message = raw.get("errorMessage")
    return message if isinstance(message, str) and message else None
