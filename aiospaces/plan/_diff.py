"""The observed state of each Space and the plan: `diff` (desired + observed → `Plan`), pure."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Literal

import attrs

from ..errors import SpacesError
from ._spec import FleetSpec, SpaceSpec

if TYPE_CHECKING:
    from ..models import SpaceRuntime


# hub-api.md §8.3: cpu-basic sleeps after 48 h of inactivity and its sleep time cannot be configured.
FREE_HARDWARE = "cpu-basic"
ActionKind = Literal["variable", "secret", "hardware", "sleep_time", "pause", "restart"]


@attrs.frozen
class ObservedSpace:
    """What the Hub says about one Space now.

    Attributes:
        runtime: its runtime.
        variables: variable values by key (empty when the file manages none, as they are not read then).
        secret_names: names of its secrets (values are write-only).
    """

    runtime: SpaceRuntime
    variables: Mapping[str, str] = attrs.field(factory=dict)
    secret_names: frozenset[str] = frozenset()


@attrs.frozen
class Action:
    """One step that brings a Space to its desired state.

    Attributes:
        kind: `variable`, `secret`, `hardware`, `sleep_time`, `pause` or `restart`.
        key: the variable or secret name (None for the others).
        before: the observed value (a variable's old value, the requested flavor, the sleep time, the stage).
        after: the desired value (a secret's is the environment variable it is read from, never the value).
        reapply: a secret that already exists: its value cannot be read, so it is set again (not a change).
        sleep_time: for `hardware`: the sleep time sent with the request (None: unchanged).
        description: for `variable`/`secret`: the description to set.
    """

    kind: ActionKind
    key: str | None = None
    before: str | int | None = None
    after: str | int | None = None
    reapply: bool = False
    sleep_time: int | None = None
    description: str | None = None

    def describe(self) -> str:
        """One human line, e.g. `hardware cpu-basic -> t4-medium`; never a secret's value."""
        if self.kind == "secret":
            state = "exists, value unknown: set again" if self.reapply else "new"
            return f"secret {self.key} = ${self.after} ({state})"
        if self.kind == "variable":
            if self.before is None:
                return f"variable {self.key} = {self.after!r} (new)"
            return f"variable {self.key} {self.before!r} -> {self.after!r}"
        if self.kind == "hardware":
            extra = f" (sleep time {self.sleep_time})" if self.sleep_time is not None else ""
            return f"hardware {self.before or '-'} -> {self.after}{extra}"
        if self.kind == "sleep_time":
            return f"sleep time {_seconds(self.before)} -> {_seconds(self.after)}"
        if self.kind == "pause":
            return f"pause ({self.before} -> PAUSED)"
        return "restart (PAUSED -> running)"

    def as_dict(self) -> dict[str, object]:
        """JSON-ready fields (a secret's `after` is the environment variable's name)."""
        fields: dict[str, object] = {"action": self.kind}
        if self.key is not None:
            fields["key"] = self.key
        if self.kind == "secret":
            fields["from_env"] = self.after
            fields["reapply"] = self.reapply
        else:
            fields["before"] = self.before
            fields["after"] = self.after
        if self.sleep_time is not None:
            fields["sleep_time"] = self.sleep_time
        return fields


def _seconds(value: object) -> str:
    return "never" if value == -1 else "default" if value is None else f"{value}s"


@attrs.frozen
class SpacePlan:
    """The actions for one Space, or why it could not be planned.

    Attributes:
        repo_id: the Space.
        actions: what `apply_plan` will do, in order (settings, hardware, sleep time, pause/restart).
        notes: things worth knowing that are not actions (e.g. a sleep time ignored on cpu-basic).
        error: the error reading the Space (then there are no actions).
        stage: the stage observed when planning (None when unknown).
    """

    repo_id: str
    actions: tuple[Action, ...] = ()
    notes: tuple[str, ...] = ()
    error: SpacesError | None = None
    stage: str | None = None

    @property
    def changes(self) -> tuple[Action, ...]:
        """The actions that change something observable (every action except secrets set again)."""
        return tuple(a for a in self.actions if not a.reapply)

    @property
    def restarts(self) -> bool:
        """Whether applying makes the Space build or switch hardware (what `--wait` waits for).

        A Space left PAUSED (or paused by the plan) does not: new hardware only takes effect once the owner
        restarts it (PAUSED lasts until the owner restarts).
        """
        kinds = {a.kind for a in self.actions}
        if "restart" in kinds:
            return True
        return "hardware" in kinds and "pause" not in kinds and self.stage != "PAUSED"


@attrs.frozen
class Plan:
    """One `SpacePlan` per Space of the fleet file, in file order."""

    spaces: tuple[SpacePlan, ...]

    def __iter__(self) -> Iterator[SpacePlan]:
        return iter(self.spaces)

    def __len__(self) -> int:
        return len(self.spaces)

    def __getitem__(self, repo_id: str) -> SpacePlan:
        for space in self.spaces:
            if space.repo_id == repo_id:
                return space
        raise KeyError(repo_id)

    @property
    def changes(self) -> int:
        """Number of actions that change something (secrets set again not counted)."""
        return sum(len(s.changes) for s in self.spaces)

    @property
    def reapplied(self) -> int:
        """Number of existing secrets that will be set again (their values cannot be compared)."""
        return sum(1 for s in self.spaces for a in s.actions if a.reapply)

    @property
    def is_empty(self) -> bool:
        """True when applying would change nothing that can be observed."""
        return self.changes == 0

    @property
    def failed(self) -> list[SpacePlan]:
        """Spaces that could not be read."""
        return [s for s in self.spaces if s.error is not None]

    def without_reapplied(self) -> Plan:
        """The same plan minus the secrets that exist already (set only the new ones): for when setting a
        secret again is not wanted, e.g. because its value is managed elsewhere."""
        return Plan(
            spaces=tuple(
                attrs.evolve(s, actions=tuple(a for a in s.actions if not a.reapply)) for s in self.spaces
            )
        )


def _text(value: object) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


def diff(desired: FleetSpec, observed: Mapping[str, ObservedSpace | SpacesError]) -> Plan:
    """The actions that bring each Space of `desired` from its `observed` state to the desired one (pure).

    Args:
        desired: the parsed fleet file.
        observed: per Space, what the Hub says, or the error reading it (a Space missing here is an error).
    """
    plans: list[SpacePlan] = []
    for spec in desired.spaces:
        seen = observed.get(spec.repo_id)
        if seen is None:
            plans.append(SpacePlan(spec.repo_id, error=SpacesError(f"{spec.repo_id} was not read")))
        elif isinstance(seen, SpacesError):
            plans.append(SpacePlan(spec.repo_id, error=seen))
        else:
            plans.append(_diff_space(spec, seen))
    return Plan(spaces=tuple(plans))


def _diff_space(spec: SpaceSpec, seen: ObservedSpace) -> SpacePlan:
    runtime = seen.runtime
    actions: list[Action] = []
    notes: list[str] = []
    for key, value in spec.variables.items():
        before = seen.variables.get(key)
        if before != value:
            actions.append(Action("variable", key=key, before=before, after=value))
    for key, ref in spec.secrets.items():
        actions.append(
            Action(
                "secret",
                key=key,
                after=ref.env,
                reapply=key in seen.secret_names,
                description=ref.description,
            )
        )
    requested = _text(runtime.requested_hardware)
    flavor = spec.hardware or requested
    sleep_change: int | None = None
    if spec.sleep_time is not None:
        if flavor == FREE_HARDWARE:
            notes.append("sleep_time ignored: cpu-basic sleeps after 48 h idle, not configurable")
        else:
            # hub-api.md §8.1/§8.3: gcTimeout null is the default, which never sleeps on upgraded hardware.
            observed_sleep = -1 if runtime.sleep_time is None else runtime.sleep_time
            if observed_sleep != spec.sleep_time or (
                spec.hardware is not None and spec.hardware != requested
            ):
                sleep_change = spec.sleep_time
    if spec.hardware is not None and spec.hardware != requested:
        actions.append(Action("hardware", before=requested, after=spec.hardware, sleep_time=sleep_change))
    elif sleep_change is not None:
        actions.append(Action("sleep_time", before=runtime.sleep_time, after=sleep_change))
    stage = _text(runtime.stage)
    if spec.paused is True and stage != "PAUSED":
        actions.append(Action("pause", before=stage, after="PAUSED"))
    elif spec.paused is False and stage == "PAUSED":
        actions.append(Action("restart", before=stage, after="BUILDING"))
    elif stage == "PAUSED" and spec.paused is None and any(a.kind == "hardware" for a in actions):
        notes.append("PAUSED: the new hardware runs once the Space is restarted (paused = false restarts it)")
    return SpacePlan(spec.repo_id, actions=tuple(actions), notes=tuple(notes), stage=stage)
