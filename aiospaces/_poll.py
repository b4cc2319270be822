"""The pure polling policy behind `watch` and the `wait_*` helpers: no I/O, no clock, no randomness.

Everything here is a function of plain values (times, stages, counters, a random draw passed in), so the
whole policy is tested as a table (`tests/test_poll.py`) and the I/O loop in `_waiting.py` only feeds it.

Stage classes follow hub-api.md §13.1 (the intermediate set of `HfApi.wait_for_space`, hub-api.md §10.1) and
design.md §3 (which stages are failures and which mean "not running").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final, Literal, Protocol

import attrs

__all__ = [
    "APP_STARTING_STAGES",
    "BUILD_LOG_STAGES",
    "FAILURE_STAGES",
    "NOT_RUNNING_STAGES",
    "TRANSITIONAL_STAGES",
    "WATCHED_FIELDS",
    "ActionFence",
    "PollPolicy",
    "PollTracker",
    "changed_fields",
    "is_transitional",
    "snapshot",
]

# hub-api.md §13.1 / §10.1: the stages `HfApi.wait_for_space` keeps waiting on.
TRANSITIONAL_STAGES: Final = frozenset(
    {"BUILDING", "APP_STARTING", "RUNNING_BUILDING", "RUNNING_APP_STARTING"}
)
# design.md §3: a wait for RUNNING raises on these, with the stage and the tail of the relevant logs.
FAILURE_STAGES: Final = frozenset({"BUILD_ERROR", "RUNTIME_ERROR", "CONFIG_ERROR", "NO_APP_FILE"})
# Failures decided before the app ever ran: the build logs explain them; RUNTIME_ERROR is in the run logs.
BUILD_LOG_STAGES: Final = frozenset({"BUILD_ERROR", "CONFIG_ERROR", "NO_APP_FILE"})
# The stages right before RUNNING: a restarted app passes through one of them (hub-api.md §13.1).
APP_STARTING_STAGES: Final = frozenset({"APP_STARTING", "RUNNING_APP_STARTING"})
# design.md §3: a wait for RUNNING raises on these unless asked to wake the Space. SLEEPING appears only
# in the JS client's stage type (hub-api.md §13.1); STOPPED is the Python client's "asleep" stage (§8.3).
NOT_RUNNING_STAGES: Final = frozenset({"PAUSED", "STOPPED", "SLEEPING", "DELETING"})

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


def _stage_str(stage: object) -> str:
    # `SpaceStage` is a str enum and unknown stages are kept as plain strings (design.md §2): both are str.
    return str(stage.value) if hasattr(stage, "value") else str(stage)


def is_transitional(stage: object) -> bool:
    """Whether `stage` is one of the intermediate stages a Space leaves on its own (hub-api.md §10.1)."""
    return _stage_str(stage) in TRANSITIONAL_STAGES


def snapshot(runtime: object) -> tuple[Any, ...]:
    """The values of the watched fields of `runtime`, in `WATCHED_FIELDS` order (stages as plain strings)."""
    values: list[Any] = []
    for name in WATCHED_FIELDS:
        value = getattr(runtime, name, None)
        if name == "stage":
            value = _stage_str(value)
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
    """

    fast_interval: float = attrs.field(default=2.0, validator=_positive)
    stage_fraction: float = attrs.field(default=0.1, validator=_fraction)
    transitional_max_interval: float = attrs.field(default=60.0, validator=_positive)
    backoff_factor: float = attrs.field(default=2.0, validator=_factor)
    max_interval: float = attrs.field(default=60.0, validator=_positive)
    jitter: float = attrs.field(default=0.1, validator=_fraction)

    def base_delay(self, *, transitional: bool, in_state: float, unchanged: int) -> float:
        """The delay before jitter, pacing and deadline: see the class docstring.

        Args:
            transitional: whether the last observed stage is transitional.
            in_state: seconds since the current state (watched fields) was first observed.
            unchanged: polls in a row that saw no change since the state was first observed.
        """
        if transitional:
            delay = max(self.fast_interval, self.stage_fraction * max(0.0, in_state))
            return min(delay, max(self.fast_interval, self.transitional_max_interval))
        # Exponent clamped so a long-lived watch never overflows a float.
        exponent = min(max(0, unchanged), 64)
        delay = self.fast_interval * self.backoff_factor**exponent
        return min(delay, max(self.fast_interval, self.max_interval))

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
        """
        delay = self.base_delay(transitional=transitional, in_state=in_state, unchanged=unchanged)
        delay *= 1.0 - self.jitter * min(max(rand, 0.0), 1.0)
        delay = max(delay, pacing, 0.0)
        if deadline is None:
            return delay
        remaining = deadline - now
        if remaining <= 0 or pacing > remaining:
            return None
        return min(delay, remaining)


@attrs.define
class PollTracker:
    """Per-Space polling state of one watch: what was seen last, since when, how many polls saw no change.

    Pure bookkeeping (no I/O): `observe` is fed each runtime read, `next_delay` asks the policy.
    """

    policy: PollPolicy
    last: tuple[Any, ...] | None = None
    state_since: float = 0.0
    unchanged: int = 0
    transitional: bool = False

    def observe(self, runtime: object, now: float) -> bool:
        """Record a runtime read at `now`; True when a watched field changed (or it is the first read)."""
        key = snapshot(runtime)
        self.transitional = is_transitional(key[0])
        if key != self.last:
            self.last = key
            self.state_since = now
            self.unchanged = 0
            return True
        self.unchanged += 1
        return False

    def next_delay(
        self, now: float, *, deadline: float | None = None, pacing: float = 0.0, rand: float = 0.0
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
        )


Verdict = Literal["fresh", "stale"]


@attrs.define
class ActionFence:
    """What an action (hardware request, restart, ...) guarantees about every later runtime read.

    design.md §3: a wait started right after an action never returns a state observed before it. The Hub's
    own answer to the action is post-action (hub-api.md §8.2: after a hardware request `requested` is the new
    flavor while `current` is still the old one; after restart the stage is BUILDING), but a later read can
    still come from a replica that has not seen the action yet (a stale read), for as long as that replica
    lags. For `grace` seconds after the action, reads that look like the pre-action state are judged stale:

    - "hardware": a read whose requested flavor is one of `previous` (all flavors but the new one when
      `previous` is empty), even after the new flavor was seen, since a lagging replica can answer any time;
      a third flavor is someone else's request and is fresh.
    - "restart": a stable stage (RUNNING, PAUSED, ...) until the restarted app was seen starting
      (APP_STARTING or RUNNING_APP_STARTING) or, once the build was seen, until the same stable stage is
      read twice in a row; a failure stage until a transitional stage was seen; transitional stages are
      after the restart.
    - "pause": any stage but PAUSED until PAUSED confirms it; after that, any stage but PAUSED or a
      transitional one (someone restarted it).

    After `grace` every read is taken at face value (someone else changed the Space back).

    Attributes:
        kind: "hardware", "restart" or "pause".
        at: clock time of the action's answer.
        requested_hardware: for "hardware", the flavor the action requested.
        previous: for "hardware", the flavors that were requested or running before the action.
        grace: seconds after `at` during which pre-action-looking reads are judged stale.
        confirmed: set once a read consistent with the action has been seen.
        switched: for "hardware", set once a read shows the new flavor running.
        started: for "restart", set once a read shows the restarted app starting.
        candidate: for "restart", the stable stage last read after the build was seen (believed when the
            next read shows it again).
    """

    kind: Literal["hardware", "restart", "pause"]
    at: float
    requested_hardware: str | None = None
    previous: frozenset[str] = frozenset()
    grace: float = 60.0
    confirmed: bool = False
    switched: bool = False
    started: bool = False
    candidate: str | None = None

    def expired(self, now: float) -> bool:
        """Whether the fence no longer affects reads at `now`."""
        return now - self.at > self.grace and (self.kind != "hardware" or self.switched)

    def judge(self, runtime: RuntimeLike, now: float) -> Verdict:
        """Whether a read at `now` is consistent with the action ("fresh") or predates it ("stale")."""
        in_grace = now - self.at <= self.grace
        stage = _stage_str(runtime.stage)
        if self.kind == "hardware":
            requested = runtime.requested_hardware
            if requested == self.requested_hardware:
                self.confirmed = True
                if runtime.hardware == self.requested_hardware:
                    self.switched = True
                return "fresh"
            if in_grace and (requested in self.previous or not self.previous):
                return "stale"
            return "fresh"
        if self.kind == "restart":
            return self._judge_restart(stage, in_grace)
        # pause: the Hub answers PAUSED (hub-api.md §8.2, recording test_pause_and_restart_space), and a
        # paused Space stays PAUSED until restarted (§8.3), which goes through a build or start first. So
        # during the grace any other stable or failure stage is from before the pause, even after PAUSED.
        if not in_grace:
            return "fresh"
        if stage == "PAUSED":
            self.confirmed = True
            return "fresh"
        return "fresh" if self.confirmed and stage in TRANSITIONAL_STAGES else "stale"

    def _judge_restart(self, stage: str, in_grace: bool) -> Verdict:
        # The Hub answers BUILDING (hub-api.md §8.2, recording test_pause_and_restart_space); after it the
        # restarted app goes through an app-starting stage before RUNNING. A stable stage (RUNNING, PAUSED,
        # ...) looks the same before and after the restart, so during the grace it is trusted only once the
        # app-starting stage was seen: a read from before the restart would then have to lag by more than
        # the whole build, instead of by anything at all once the build was seen. A start too short to be
        # polled between two reads (seconds for a small app) must not hold a wait until the grace ends: once
        # the build was seen, the same stable stage read twice in a row is the restarted app's (one lagging
        # read does not end a wait; a transitional read in between resets the candidate).
        # A failure stage also looks the same before the restart (restarting a failed Space is common) and
        # after it; a restarted Space builds or starts first, so a failure is believed once that was seen
        # (or the Hub's answer to the restart already was the failure: `confirmed` from the start).
        if stage in TRANSITIONAL_STAGES:
            self.confirmed = True
            self.candidate = None
            if stage in APP_STARTING_STAGES:
                self.started = True
            return "fresh"
        if stage in FAILURE_STAGES:
            self.candidate = None
            return "fresh" if self.confirmed or not in_grace else "stale"
        if self.started or not in_grace:
            return "fresh"
        if self.confirmed:
            if self.candidate == stage:
                return "fresh"
            self.candidate = stage
        return "stale"


def raw_error_message(raw: Mapping[str, Any] | None) -> str | None:
    """The Hub's `errorMessage` from a runtime's raw JSON, if it is a non-empty string (hub-api.md §8.1)."""
    if not raw:
        return None
    message = raw.get("errorMessage")
    return message if isinstance(message, str) and message else None
