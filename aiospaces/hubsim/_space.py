"""A simulated Space's settings and lifecycle, computed lazily from the hub clock.

No background tasks: each Space keeps a short plan of future transitions (stage changes at known times). Every
read or write first `settle(now)`s the Space, applying the transitions that are due at their own timestamps,
so the result is the same whether the hub is polled every millisecond or once an hour.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable
from typing import Any

import attrs

from ._builds import SDKS, BuildPlan, ForcedFailure
from ._hardware import FREE_HARDWARE

CPU_BASIC_GC_TIMEOUT = 172800  # 48 h, fixed on cpu-basic (hub-api.md §8.3, recording test_space_runtime)

SERVING_STAGES = frozenset({"RUNNING", "RUNNING_BUILDING", "RUNNING_APP_STARTING"})
# Stages of a Space on its way to run on its requested hardware (it will hold one of its machines).
STARTING_STAGES = frozenset({"BUILDING", "APP_STARTING", "RUNNING_BUILDING", "RUNNING_APP_STARTING"})
ERROR_STAGES = frozenset({"BUILD_ERROR", "RUNTIME_ERROR", "CONFIG_ERROR", "NO_APP_FILE"})


@attrs.define
class Durations:
    """How long each lifecycle step takes, in hub-clock seconds.

    Attributes:
        build: Time spent in BUILDING / RUNNING_BUILDING for a build (realistic: tens of seconds).
        start: Time spent in APP_STARTING / RUNNING_APP_STARTING before RUNNING (or RUNTIME_ERROR).
        hardware_switch: Time a running Space keeps its old hardware (stage RUNNING_BUILDING) after a
            hardware request before it runs on the new one.
        wake: Time a sleeping Space spends in APP_STARTING when a visitor wakes it.
        commit_to_build: Time between a commit that changes the Space's files and the start of its build;
            until then the runtime keeps showing the previous state. On the Hub the build is scheduled only
            after the push is processed, so the first reads after a commit can still show the previous build
            RUNNING. Modelled, not recorded: no measured value stands behind the default.
    """

    build: float = 40.0
    start: float = 10.0
    hardware_switch: float = 60.0
    wake: float = 10.0
    commit_to_build: float = 5.0

    def copy(self) -> Durations:
        """An independent copy."""
        return attrs.evolve(self)


_KEEP = object()


@attrs.frozen
class QueuedBuild:
    """A build a commit asked for, waiting for its start (`Durations.commit_to_build`)."""

    plan: BuildPlan
    durations: Durations
    wall: Callable[[float], str]


@attrs.define
class Step:
    """A transition due at `at`: the stage to enter and what changes with it, or a queued build to start."""

    at: float
    stage: str
    current: object = _KEEP  # new `hardware.current` (str | None), or _KEEP
    error_message: str | None = None
    run_log: tuple[str, ...] | None = None  # replaces the run log, lines stamped from `at`
    build_log: tuple[tuple[float, str], ...] | None = None  # replaces the build log (lines already stamped)
    became_active: bool = False  # counts as traffic for the sleep timer
    build: QueuedBuild | None = None  # start this build at `at` (then `stage` is unused)


@attrs.define
class SecretEntry:
    """A secret's or variable's value, description and last update (hub time). Values stay out of reprs."""

    value: str = attrs.field(repr=False)
    description: str | None
    updated_at: float


@attrs.define
class SpaceState:
    """Everything the Hub knows about a Space beyond its git content."""

    sdk: str
    requested: str | None = FREE_HARDWARE
    current: str | None = None
    stage: str = "NO_APP_FILE"
    stage_since: float = 0.0
    error_message: str | None = None
    sleep_time: int | None = None  # user-set gcTimeout (None: default)
    storage: str | None = None
    dev_mode: bool = False
    volumes: list[dict[str, Any]] | None = None
    secrets: dict[str, SecretEntry] = attrs.field(factory=dict)
    variables: dict[str, SecretEntry] = attrs.field(factory=dict)
    plan: list[Step] = attrs.field(factory=list)
    build_log: list[tuple[float, str]] = attrs.field(factory=list)
    run_log: list[tuple[float, str]] = attrs.field(factory=list)
    # Bumped whenever a log is replaced (new build, new app start): log streams restart their cursor.
    build_gen: int = 0
    run_gen: int = 0
    last_active: float = 0.0
    durations: Durations | None = None  # per-Space override of the hub defaults
    forced_failure: ForcedFailure | None = None  # set by `fail_next_build`
    history: list[tuple[float, dict[str, Any]]] = attrs.field(factory=list)  # runtime snapshots
    subdomain: str = ""
    # Waiting (RUNNING on the old hardware) for a machine of the requested flavor under a hub's modelled
    # hardware capacity; any stage change ends the wait.
    awaiting_capacity: bool = False

    @property
    def is_static(self) -> bool:
        """Static Spaces are always RUNNING, have no hardware and refuse lifecycle calls (§13.4)."""
        return self.sdk == "static"

    def gc_timeout(self) -> int | None:
        """The runtime's `gcTimeout`: fixed 48 h on cpu-basic, else the user's sleep time (None: never)."""
        if (self.requested or FREE_HARDWARE) == FREE_HARDWARE:
            return CPU_BASIC_GC_TIMEOUT
        return self.sleep_time

    # ------------------------------------------------------------------------------------ lifecycle
    def settle(self, now: float) -> None:
        """Apply every planned transition due by `now`, then the sleep timer."""
        while True:
            due_sleep = self._sleep_due()
            next_step = self.plan[0].at if self.plan else None
            if next_step is not None and next_step <= now and (due_sleep is None or next_step <= due_sleep):
                self._apply(self.plan.pop(0))
                continue
            if due_sleep is not None and due_sleep <= now:
                # Sleeping after gcTimeout without traffic: stage STOPPED, not billed (hub-api.md §8.3).
                self._enter(due_sleep, "STOPPED", current=None)
                continue
            return

    def _sleep_due(self) -> float | None:
        gc = self.gc_timeout()
        if self.is_static or self.stage != "RUNNING" or self.plan or gc is None or gc < 0:
            return None
        return self.last_active + gc

    def _apply(self, step: Step) -> None:
        if step.build is not None:
            queued = step.build
            self.start_build(step.at, queued.plan, queued.durations, keep_serving=True, wall=queued.wall)
            return
        if step.became_active:
            self.last_active = step.at
        if step.run_log is not None:
            self.set_run_log(_stamp(step.at, step.run_log))
        if step.build_log is not None:
            self.set_build_log(list(step.build_log))
        self._enter(step.at, step.stage, current=step.current, error_message=step.error_message)

    def _enter(
        self, at: float, stage: str, *, current: object = _KEEP, error_message: str | None = None
    ) -> None:
        self.stage = stage
        self.stage_since = at
        self.awaiting_capacity = False
        if current is not _KEEP:
            self.current = current  # type: ignore[assignment]
        self.error_message = error_message
        self.snapshot(at)

    def snapshot(self, at: float) -> None:
        """Record the runtime as of `at` (stale-read faults replay these)."""
        self.history.append((at, self.runtime()))
        if len(self.history) > 64:
            del self.history[:-64]

    def runtime_at(self, at: float) -> dict[str, Any]:
        """The runtime as it was at time `at` (the oldest recorded one if `at` predates them all)."""
        chosen = self.history[0][1] if self.history else self.runtime()
        for t, runtime in self.history:
            if t <= at:
                chosen = runtime
            else:
                break
        return chosen

    def set_build_log(self, lines: list[tuple[float, str]]) -> None:
        """Replace the build log (a new build)."""
        self.build_log = lines
        self.build_gen += 1

    def set_run_log(self, lines: list[tuple[float, str]]) -> None:
        """Replace the run log (a new app start)."""
        self.run_log = lines
        self.run_gen += 1

    def cancel_plan(self, now: float, *, keep_queued: bool = False) -> None:
        """Drop pending transitions and log lines stamped in the future (an action overrides them).

        With `keep_queued`, a build a commit queued is kept: the action changes how the current app runs
        (hardware, waking up), and the committed code still gets built afterwards.
        """
        self.plan[:] = [step for step in self.plan if keep_queued and step.build is not None]
        self.build_log = [(t, line) for t, line in self.build_log if t <= now]
        self.run_log = [(t, line) for t, line in self.run_log if t <= now]

    def queue_build(
        self, now: float, plan: BuildPlan, durations: Durations, *, wall: Callable[[float], str]
    ) -> None:
        """A commit changed the Space's files: build them after `durations.commit_to_build`.

        Until then the runtime keeps showing the previous state (a running app keeps serving, a failed
        one keeps its failure). A later commit replaces a build that has not started yet, and what was
        planned after its start (the end of an older build) is superseded by the new build.
        """
        at = now + durations.commit_to_build
        if at <= now:
            self.start_build(now, plan, durations, keep_serving=True, wall=wall)
            return
        self.plan[:] = [step for step in self.plan if step.build is None and step.at < at]
        self.plan.append(Step(at, self.stage, build=QueuedBuild(plan, durations, wall)))

    def start_build(
        self,
        now: float,
        plan: BuildPlan,
        durations: Durations,
        *,
        keep_serving: bool,
        wall: Callable[[float], str],
    ) -> None:
        """Start a build (after a commit, restart or hardware change) whose result is `plan`."""
        self.cancel_plan(now)
        if plan.sdk in SDKS:
            self.sdk = plan.sdk  # README front matter can change the SDK; an invalid one does not stick
            if not self.is_static and self.requested is None:
                # A static Space has no hardware; turned into an app it runs on the free hardware.
                self.requested = FREE_HARDWARE
        if self.forced_failure is not None:
            plan, self.forced_failure = self.forced_failure.apply(plan), None
        if plan.outcome in ("NO_APP_FILE", "CONFIG_ERROR"):
            # No build runs: the Hub shows the configuration problem right away.
            self.set_build_log([])
            self._enter(now, plan.outcome, current=None, error_message=plan.error_message)
            return
        if self.is_static or plan.sdk == "static":
            self._enter(now, "RUNNING", current=None)
            return
        serving = keep_serving and self.stage in SERVING_STAGES and self.current is not None
        build_end = now + durations.build
        self.set_build_log(_build_log(now, build_end, plan.build_log, wall))
        self._enter(
            now, "RUNNING_BUILDING" if serving else "BUILDING", current=self.current if serving else None
        )
        if plan.outcome == "BUILD_ERROR":
            self.plan.append(Step(build_end, "BUILD_ERROR", current=None, error_message=plan.error_message))
            return
        start_end = build_end + durations.start
        if serving:
            self.plan.append(Step(build_end, "RUNNING_APP_STARTING"))
        else:
            self.plan.append(Step(build_end, "APP_STARTING", current=self.requested))
        header = (f"===== Application Startup at {wall(start_end)} =====\n",)
        if plan.outcome == "RUNTIME_ERROR":
            self.plan.append(
                Step(
                    start_end,
                    "RUNTIME_ERROR",
                    current=None,
                    error_message=plan.error_message,
                    run_log=header + plan.run_log,
                )
            )
        else:
            self.plan.append(
                Step(
                    start_end,
                    "RUNNING",
                    current=self.requested,
                    run_log=header + plan.run_log,
                    became_active=True,
                )
            )

    def switch_hardware(
        self,
        now: float,
        durations: Durations,
        wall: Callable[[float], str],
        *,
        rebuild_log: tuple[str, ...],
    ) -> None:
        """A running Space keeps serving on its old hardware, then runs on the requested one.

        On the Hub a hardware change rebuilds the Space (stage RUNNING_BUILDING, hub-api.md §13.1): the
        rebuild's log (`rebuild_log`, the build log of the Space's current files) replaces the build log,
        its lines coming in while the old hardware serves. [inferred] Neither hub-api.md nor the recordings
        say whether a new build's lines follow the old build's; the build log route serves one build's
        log (its header names one commit), so the rebuild's replaces it, as every other build's does. An
        empty `rebuild_log` (files whose build would not succeed, on a Space seeded running) keeps the
        previous build log.

        When a commit's build is queued, that build is what starts the app on the requested hardware: the
        Space restarts once, with the new files, never on the new hardware with the old ones; that build
        writes the build log.
        """
        self.cancel_plan(now, keep_queued=True)
        self._enter(now, "RUNNING_BUILDING", current=self.current)
        if not self.plan:
            switched = now + durations.hardware_switch
            if rebuild_log:
                self.set_build_log(_build_log(now, switched, rebuild_log, wall))
            self._plan_restarted_app(switched, wall)

    def wait_for_capacity(
        self,
        now: float,
        seconds: float,
        message: str | None,
        durations: Durations,
        wall: Callable[[float], str],
        *,
        rebuild_log: tuple[str, ...],
    ) -> None:
        """A hardware request no machine takes yet: RUNNING on the old hardware for `seconds` (`math.inf`:
        for good), with `message` as the runtime's `errorMessage`; then the usual switch, whose rebuild
        writes `rebuild_log` as in `switch_hardware` (the previous build log shows until it starts).

        The Hub accepts the request (`requested` is the new flavor) and the old app keeps serving until
        the scheduler finds the hardware; nothing fails meanwhile.
        """
        self.cancel_plan(now, keep_queued=True)
        self._enter(now, "RUNNING", current=self.current, error_message=message)
        if math.isfinite(seconds) and not self.plan:
            scheduled = now + seconds
            switched = scheduled + durations.hardware_switch
            log = tuple(_build_log(scheduled, switched, rebuild_log, wall)) if rebuild_log else None
            self.plan.append(Step(scheduled, "RUNNING_BUILDING", build_log=log))
            self._plan_restarted_app(switched, wall)

    @property
    def awaiting_hardware(self) -> bool:
        """Whether the Space runs on other hardware than it requested (a request waiting for a machine)."""
        return self.stage == "RUNNING" and self.current is not None and self.requested != self.current

    def wake(self, now: float, durations: Durations, wall: Callable[[float], str]) -> None:
        """A visitor wakes a sleeping Space: APP_STARTING, then RUNNING on the requested hardware."""
        self.cancel_plan(now, keep_queued=True)
        self._enter(now, "APP_STARTING", current=self.requested)
        self._plan_restarted_app(now + durations.wake, wall)

    def _plan_restarted_app(self, at: float, wall: Callable[[float], str]) -> None:
        """RUNNING on the requested hardware at `at`; the run log keeps the app's lines under a new startup
        banner (the old banner dropped)."""
        header = (f"===== Application Startup at {wall(at)} =====\n",)
        lines = tuple(line for _, line in self.run_log if not line.startswith("===== Application Startup"))
        self.plan.append(
            Step(at, "RUNNING", current=self.requested, run_log=header + lines, became_active=True)
        )
        self.plan.sort(key=lambda step: step.at)  # a queued build may be due before or after

    def set_running(
        self,
        now: float,
        run_log: tuple[str, ...] = (),
        *,
        build_log: tuple[str, ...] = (),
        durations: Durations | None = None,
        wall: Callable[[float], str] | None = None,
    ) -> None:
        """Jump straight to RUNNING (seeding).

        A Space that runs was built: `build_log` (with `durations` and `wall`) becomes the log of that
        build, stamped as if it had ended `durations.start` before `now` and lasted `durations.build`.
        """
        self.cancel_plan(now)
        self.last_active = now
        if run_log:
            self.set_run_log(_stamp(now, run_log))
        if build_log and durations is not None and wall is not None:
            built = now - durations.start
            self.set_build_log(_build_log(built - durations.build, built, build_log, wall))
        self._enter(now, "RUNNING", current=None if self.is_static else self.requested)

    def set_stage(self, now: float, stage: str, error_message: str | None = None) -> None:
        """Force a stage (seeding, pause, crash)."""
        self.cancel_plan(now)
        current = self.current if stage in SERVING_STAGES else None
        self._enter(now, stage, current=current, error_message=error_message)

    # -------------------------------------------------------------------------------------- output
    def runtime(self) -> dict[str, Any]:
        """The runtime JSON object (hub-api.md §8.1; shapes from the recordings)."""
        if self.is_static:
            if self.stage == "CONFIG_ERROR":
                # [inferred] Config is read before any SDK runs: a broken README stops static Spaces too.
                static: dict[str, Any] = {
                    "stage": "CONFIG_ERROR",
                    "hardware": {"current": None, "requested": None},
                    "storage": self.storage,
                    "replicas": {"requested": 1},
                }
                if self.error_message:
                    static["errorMessage"] = self.error_message
                return static
            # recording test_static_space_runtime: no gcTimeout, no devMode, current replicas.
            return {
                "stage": "RUNNING",
                "hardware": {"current": None, "requested": None},
                "storage": self.storage,
                "replicas": {"requested": 1, "current": 1},
            }
        replicas: dict[str, int] = {"requested": 1}
        if self.stage in SERVING_STAGES or self.stage == "APP_STARTING":
            replicas["current"] = 1
        out: dict[str, Any] = {
            "stage": self.stage,
            "hardware": {"current": self.current, "requested": self.requested},
            "storage": self.storage,
            "gcTimeout": self.gc_timeout(),
            "replicas": replicas,
            "devMode": self.dev_mode,
            "domains": [{"domain": f"{self.subdomain}.hf.space", "stage": "READY"}],
        }
        if self.volumes:
            out["volumes"] = [dict(v) for v in self.volumes]
        if self.error_message and (self.stage in ERROR_STAGES or self.awaiting_hardware):
            out["errorMessage"] = self.error_message
        return out


def _stamp(at: float, lines: tuple[str, ...] | list[str]) -> list[tuple[float, str]]:
    # Lines of one burst share their time; their order is the list order.
    return [(at, line) for line in lines]


def _build_log(
    start: float, end: float, lines: tuple[str, ...], wall: Callable[[float], str]
) -> list[tuple[float, str]]:
    """A build's log lines spread over its duration, the header naming when the build was queued."""
    out = list(lines)
    if out and out[0].startswith("====="):
        out[0] = out[0].replace("===== Build Queued", f"===== Build Queued at {wall(start)}", 1)
    return _spread(start, end, out)


def _spread(start: float, end: float, lines: list[str]) -> list[tuple[float, str]]:
    if not lines:
        return []
    step = max(0.0, end - start) / len(lines)
    return [(start + i * step, line) for i, line in enumerate(lines)]


def iso(ts: float) -> str:
    """Millisecond UTC ISO form the Hub uses (`2025-03-07T12:24:18.657Z`, recording test_manage_variables)."""
    moment = _dt.datetime.fromtimestamp(ts, tz=_dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
