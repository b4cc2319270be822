"""Declarative fleet state: a TOML file of desired Space settings, a plan of per-Space actions, applying it.

The file is what a fleet operator keeps in git::

    [defaults]
    hardware = "cpu-basic"
    sleep_time = 3600
    [defaults.variables]
    MODEL_REPO_ID = "acme/model"

    [spaces."acme/demo-1"]
    hardware = "t4-medium"
    secrets = { HF_TOKEN = { env = "DEMO_HF_TOKEN" } }  # values only from the environment

    [spaces."acme/demo-2"]
    paused = true

Layers: `parse_fleet_spec` (TOML text → `FleetSpec`, every mistake a `FleetSpecError` naming the file and the
key) and `diff` (desired + observed → `Plan`) are pure; `observe`, `plan_fleet` and `apply_plan` talk to the
Hub through `client.fleet(...)`: bounded concurrency, one outcome per Space, never fail-fast.

Only what the file names is managed: a variable or secret the file does not mention is left alone, and so is
hardware, sleep time or pause state when neither the Space's table nor `[defaults]` sets it. Secret values
cannot be read back from the Hub (hub-api.md §7), so a secret already present is always set again and the plan
says so (`Action.reapply`); it does not count as a change.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import anyio
import attrs

from . import validation
from .errors import FleetSpecError, SpacesError
from .fleet import FleetReport

if TYPE_CHECKING:
    from .client import RuntimeChange, SpacesClient
    from .models import SpaceRuntime

__all__ = [
    "Action",
    "ApplyResult",
    "FleetSpec",
    "FleetSpecError",
    "ObservedSpace",
    "Plan",
    "SecretRef",
    "SpaceApplyResult",
    "SpacePlan",
    "SpaceSpec",
    "apply_plan",
    "diff",
    "load_fleet_spec",
    "observe",
    "parse_fleet_spec",
    "plan_fleet",
    "resolve_secrets",
    "summary",
]

# hub-api.md §8.3: cpu-basic sleeps after 48 h of inactivity and its sleep time cannot be configured.
FREE_HARDWARE = "cpu-basic"
_SPACE_KEYS = ("hardware", "sleep_time", "paused", "variables", "secrets")
ActionKind = Literal["variable", "secret", "hardware", "sleep_time", "pause", "restart"]


# --- the desired state --------------------------------------------------------------------------------------


@attrs.frozen
class SecretRef:
    """Where a secret's value comes from: an environment variable (never the file itself).

    Attributes:
        env: the environment variable holding the value.
        description: the description shown on the Hub, or None.
    """

    env: str
    description: str | None = None


@attrs.frozen
class SpaceSpec:
    """The desired state of one Space (`[defaults]` already merged in); None means "not managed".

    Attributes:
        repo_id: the Space.
        hardware: the flavor to request, e.g. `t4-medium`.
        sleep_time: seconds of inactivity before sleeping (-1: never); ignored on cpu-basic (fixed 48 h).
        paused: True: keep it PAUSED; False: restart it when PAUSED.
        variables: variable values by key.
        secrets: where each secret's value comes from, by key.
    """

    repo_id: str
    hardware: str | None = None
    sleep_time: int | None = None
    paused: bool | None = None
    variables: Mapping[str, str] = attrs.field(factory=dict)
    secrets: Mapping[str, SecretRef] = attrs.field(factory=dict)


@attrs.frozen
class FleetSpec:
    """A parsed fleet file: one `SpaceSpec` per Space, in file order.

    Attributes:
        spaces: the Spaces.
        source: the file name (for messages), or a placeholder such as `<string>`.
    """

    spaces: tuple[SpaceSpec, ...]
    source: str = "<string>"

    @property
    def repo_ids(self) -> list[str]:
        """The Space ids, in file order."""
        return [s.repo_id for s in self.spaces]

    def secret_envs(self) -> list[str]:
        """Every environment variable a secret is read from, sorted, without repeats."""
        return sorted({ref.env for s in self.spaces for ref in s.secrets.values()})


def load_fleet_spec(path: str | os.PathLike[str]) -> FleetSpec:
    """Read and parse a fleet file (see `parse_fleet_spec`).

    Raises:
        FleetSpecError: the file cannot be read, is not TOML, or does not describe a fleet.
    """
    name = os.fspath(path)
    try:
        data = Path(name).read_bytes()
    except OSError as exc:
        raise FleetSpecError(f"{name}: cannot read the fleet file ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise FleetSpecError(f"{name}: not UTF-8 text") from None
    return parse_fleet_spec(text, source=name)


def parse_fleet_spec(text: str, *, source: str = "<string>") -> FleetSpec:
    """Parse a fleet file's TOML text into a `FleetSpec`, `[defaults]` merged into each Space.

    Top-level tables: `[defaults]` (optional) and `[spaces."namespace/name"]` (at least one). Each takes
    `hardware` (str), `sleep_time` (int >= -1), `paused` (bool), `variables` (a table of str or int values)
    and `secrets` (a table of `{ env = "VAR", description = "..." }`). A Space's variables and secrets are
    merged over the defaults' ones.

    Args:
        text: the TOML text.
        source: the file name used in error messages.

    Raises:
        FleetSpecError: invalid TOML, an unknown key, a value of the wrong type, a secret value written in
            the file, a malformed Space id, or no Space at all. The message names `source` and the key.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FleetSpecError(f"{source}: invalid TOML: {exc}") from None
    unknown = sorted(set(document) - {"defaults", "spaces"})
    if unknown:
        raise FleetSpecError(
            f'{source}: unknown top-level key {unknown[0]!r} (expected [defaults] and [spaces."ns/name"])'
        )
    defaults = _table(document.get("defaults", {}), source, "defaults")
    base = _space_fields(defaults, source, "defaults")
    spaces_table = _table(document.get("spaces", {}), source, "spaces")
    if not spaces_table:
        raise FleetSpecError(f'{source}: no Spaces: add a [spaces."namespace/name"] table')
    spaces: list[SpaceSpec] = []
    for repo_id, raw in spaces_table.items():
        where = f'spaces."{repo_id}"'
        try:
            validation.validate_repo_id(repo_id, arg=where)
        except ValueError as exc:
            raise FleetSpecError(f"{source}: {exc}") from None
        own = _space_fields(_table(raw, source, where), source, where)
        merged: dict[str, Any] = {
            **base,
            **{k: v for k, v in own.items() if k not in ("variables", "secrets")},
        }
        merged["variables"] = {**base.get("variables", {}), **own.get("variables", {})}
        merged["secrets"] = {**base.get("secrets", {}), **own.get("secrets", {})}
        spaces.append(SpaceSpec(repo_id=repo_id, **merged))
    return FleetSpec(spaces=tuple(spaces), source=source)


def _table(value: object, source: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FleetSpecError(f"{source}: {where} must be a table, got {_toml_type(value)}")
    return value


def _toml_type(value: object) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array"}
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    return "a table" if isinstance(value, dict) else type(value).__name__


def _space_fields(table: Mapping[str, Any], source: str, where: str) -> dict[str, Any]:
    """Validate one `[defaults]` or `[spaces."..."]` table into `SpaceSpec` keyword arguments."""
    fields: dict[str, Any] = {}
    for key, value in table.items():
        at = f"{where}.{key}"
        if key not in _SPACE_KEYS:
            raise FleetSpecError(f"{source}: unknown key {at!r} (expected one of {', '.join(_SPACE_KEYS)})")
        if key == "hardware":
            try:
                fields[key] = validation.validate_hardware(value, arg=at)
            except (TypeError, ValueError):
                raise FleetSpecError(f'{source}: {at} must be a flavor name such as "t4-medium"') from None
        elif key == "sleep_time":
            if isinstance(value, bool) or not isinstance(value, int) or value < -1:
                raise FleetSpecError(f"{source}: {at} must be whole seconds >= 0, or -1 for never")
            fields[key] = value
        elif key == "paused":
            if not isinstance(value, bool):
                raise FleetSpecError(f"{source}: {at} must be true or false, got {_toml_type(value)}")
            fields[key] = value
        elif key == "variables":
            fields[key] = {k: _variable(k, v, source, at) for k, v in _table(value, source, at).items()}
        else:
            fields[key] = {k: _secret(k, v, source, at) for k, v in _table(value, source, at).items()}
    return fields


def _check_key(key: str, source: str, at: str) -> None:
    try:
        validation.validate_key(key, arg=at)
    except ValueError as exc:
        raise FleetSpecError(f"{source}: {exc}") from None


def _variable(key: str, value: object, source: str, where: str) -> str:
    _check_key(key, source, where)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FleetSpecError(f"{source}: {where}.{key} must be a string, got {_toml_type(value)}")
    return str(value)


def _secret(key: str, value: object, source: str, where: str) -> SecretRef:
    at = f"{where}.{key}"
    _check_key(key, source, where)
    if not isinstance(value, dict):
        # Never echo the value: it may be the secret itself, written where it must not be.
        raise FleetSpecError(
            f'{source}: {at} must be a table {{ env = "VAR" }} naming the environment variable that holds '
            "the value; secret values never go in the file"
        )
    unknown = sorted(set(value) - {"env", "description"})
    if unknown:
        raise FleetSpecError(f"{source}: unknown key {at}.{unknown[0]!r} (expected env, description)")
    env = value.get("env")
    if not isinstance(env, str) or not env or "=" in env or any(c.isspace() for c in env):
        raise FleetSpecError(f"{source}: {at}.env must name an environment variable")
    description = value.get("description")
    if description is not None and not isinstance(description, str):
        raise FleetSpecError(f"{source}: {at}.description must be a string")
    return SecretRef(env=env, description=description)


# --- observed state and the plan ----------------------------------------------------------------------------


@attrs.frozen
class ObservedSpace:
    """What the Hub says about one Space now.

    Attributes:
        runtime: its runtime.
        variables: variable values by key (empty when the file manages none, as they are not read then).
        secret_names: names of its secrets (values are write-only, hub-api.md §7).
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
        restarts it (hub-api.md §8.2: PAUSED lasts until the owner restarts).
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


# --- talking to the Hub -------------------------------------------------------------------------------------


async def observe(
    client: SpacesClient, desired: FleetSpec, *, concurrency: int = 16
) -> dict[str, ObservedSpace | SpacesError]:
    """Read every Space's runtime, and its variables and secret names when the file manages some.

    The reads of one Space run concurrently, Spaces at most `concurrency` at once; a Space that cannot be read
    gets its error instead (never fail-fast).
    """
    specs = {s.repo_id: s for s in desired.spaces}

    async def read(repo_id: str) -> ObservedSpace:
        spec = specs[repo_id]
        found: dict[str, Any] = {}

        async def runtime() -> None:
            found["runtime"] = await client.get_space_runtime(repo_id)

        async def variables() -> None:
            found["variables"] = {k: v.value for k, v in (await client.get_space_variables(repo_id)).items()}

        async def secrets() -> None:
            found["secret_names"] = frozenset(await client.get_space_secrets(repo_id))

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(runtime)
                if spec.variables:
                    tg.start_soon(variables)
                if spec.secrets:
                    tg.start_soon(secrets)
        except BaseExceptionGroup as group:
            # One failed read cancels its siblings: report that one (a SpacesError becomes the outcome).
            raise group.exceptions[0] from None
        return ObservedSpace(**found)

    report = await client.fleet(desired.repo_ids, concurrency=concurrency).run(read)
    observed: dict[str, ObservedSpace | SpacesError] = {}
    for outcome in report:
        if outcome.error is not None:
            observed[outcome.repo_id] = outcome.error
        elif outcome.result is not None:
            observed[outcome.repo_id] = outcome.result
    return observed


async def plan_fleet(client: SpacesClient, desired: FleetSpec, *, concurrency: int = 16) -> Plan:
    """Read the fleet (`observe`) and compute the plan (`diff`)."""
    return diff(desired, await observe(client, desired, concurrency=concurrency))


@attrs.frozen
class SpaceApplyResult:
    """What applying did to one Space.

    Attributes:
        repo_id: the Space.
        applied: the actions done, in order.
        failed_action: the action that failed (the Space's later actions were not attempted), or None.
        error: the error (a failed action, a failed wait, or reading the Space for the plan), or None.
        runtime: the runtime after waiting (with `wait=True`), or None.
    """

    repo_id: str
    applied: tuple[Action, ...] = ()
    failed_action: Action | None = None
    error: SpacesError | None = None
    runtime: SpaceRuntime | None = None

    @property
    def ok(self) -> bool:
        """True when every action (and the wait) succeeded."""
        return self.error is None


@attrs.frozen
class ApplyResult:
    """One `SpaceApplyResult` per Space of the plan, in plan order."""

    spaces: tuple[SpaceApplyResult, ...]

    def __iter__(self) -> Iterator[SpaceApplyResult]:
        return iter(self.spaces)

    def __getitem__(self, repo_id: str) -> SpaceApplyResult:
        for space in self.spaces:
            if space.repo_id == repo_id:
                return space
        raise KeyError(repo_id)

    @property
    def ok(self) -> bool:
        """True when every Space succeeded."""
        return all(s.ok for s in self.spaces)

    @property
    def failed(self) -> list[SpaceApplyResult]:
        """The Spaces that failed, in plan order."""
        return [s for s in self.spaces if not s.ok]


def resolve_secrets(plan: Plan, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The value of every environment variable the plan's secrets are read from.

    Raises:
        FleetSpecError: some are not set (all of them named; no value is ever shown).
    """
    env = os.environ if environ is None else environ
    names = sorted({str(a.after) for s in plan for a in s.actions if a.kind == "secret"})
    missing = [n for n in names if n not in env]
    if missing:
        raise FleetSpecError(
            f"environment variable{'s' if len(missing) > 1 else ''} {', '.join(missing)} not set "
            "(they hold the values of the fleet file's secrets)"
        )
    return {n: env[n] for n in names}


async def apply_plan(
    client: SpacesClient,
    plan: Plan,
    *,
    environ: Mapping[str, str] | None = None,
    concurrency: int = 16,
    wait: bool = False,
    timeout: float | None = None,  # noqa: ASYNC109 - a deadline on the client's clock
    on_change: Callable[[RuntimeChange], object] | None = None,
) -> ApplyResult:
    """Apply a plan: each Space's actions in order, Spaces at most `concurrency` at once, never fail-fast.

    A Space's first failing action stops that Space (its result names the action); the others go on. Secret
    values come from `environ` (default `os.environ`), all checked before any request. With `wait`, the
    Spaces whose hardware changed or that were restarted (and are neither paused nor left paused) are then
    waited for with one shared poll loop (`wait_all`) until they run on their requested hardware.

    Args:
        client: the client.
        plan: from `plan_fleet` (Spaces that could not be read keep their error and are not touched).
        environ: where secret values are read from.
        concurrency: Spaces handled at once.
        wait: wait until the restarted Spaces run.
        timeout: seconds to wait (one deadline for all), or None.
        on_change: called with each runtime change observed while waiting.

    Raises:
        FleetSpecError: an environment variable holding a secret value is not set (before any request).
    """
    values = resolve_secrets(plan, environ)
    validation.validate_concurrency(concurrency)
    if timeout is not None and (not isinstance(timeout, int | float) or math.isnan(timeout) or timeout < 0):
        raise ValueError(f"timeout must be a number of seconds >= 0 or None, got {timeout!r}")
    by_id = {s.repo_id: s for s in plan if s.error is None}
    applied: dict[str, list[Action]] = {r: [] for r in by_id}
    failed_action: dict[str, Action] = {}

    async def apply_one(repo_id: str) -> None:
        for action in by_id[repo_id].actions:
            failed_action[repo_id] = action
            await _apply_action(client, repo_id, action, values)
            applied[repo_id].append(action)
        failed_action.pop(repo_id, None)

    report: FleetReport[None] = await client.fleet(list(by_id), concurrency=concurrency).run(apply_one)
    errors: dict[str, SpacesError] = dict(report.errors)
    runtimes: dict[str, SpaceRuntime] = {}
    waiting = [r for r, s in by_id.items() if wait and r not in errors and s.restarts]
    if waiting:
        waited = await client.wait_all(waiting, timeout=timeout, on_change=on_change)
        for outcome in waited:
            if outcome.error is not None:
                errors[outcome.repo_id] = outcome.error
            elif outcome.result is not None:
                runtimes[outcome.repo_id] = outcome.result
    results: list[SpaceApplyResult] = []
    for space in plan:
        if space.error is not None:
            results.append(SpaceApplyResult(space.repo_id, error=space.error))
            continue
        results.append(
            SpaceApplyResult(
                space.repo_id,
                applied=tuple(applied[space.repo_id]),
                failed_action=failed_action.get(space.repo_id),
                error=errors.get(space.repo_id),
                runtime=runtimes.get(space.repo_id),
            )
        )
    return ApplyResult(spaces=tuple(results))


async def _apply_action(
    client: SpacesClient, repo_id: str, action: Action, values: Mapping[str, str]
) -> None:
    if action.kind == "variable":
        assert action.key is not None
        await client.add_space_variable(
            repo_id, action.key, str(action.after), description=action.description
        )
    elif action.kind == "secret":
        assert action.key is not None
        value = values[str(action.after)]
        await client.add_space_secret(repo_id, action.key, value, description=action.description)
    elif action.kind == "hardware":
        await client.request_space_hardware(repo_id, str(action.after), sleep_time=action.sleep_time)
    elif action.kind == "sleep_time":
        assert isinstance(action.after, int)
        await client.set_space_sleep_time(repo_id, action.after)
    elif action.kind == "pause":
        await client.pause_space(repo_id)
    else:
        await client.restart_space(repo_id)


def summary(plan: Plan | Sequence[SpacePlan]) -> str:
    """`3 changes on 2 of 4 Spaces; 1 secret set again (values cannot be read)`."""
    spaces = list(plan)
    changes = sum(len(s.changes) for s in spaces)
    touched = sum(1 for s in spaces if s.changes)
    again = sum(1 for s in spaces for a in s.actions if a.reapply)
    text = f"{changes} change{'s' if changes != 1 else ''} on {touched} of {len(spaces)} Spaces"
    if again:
        text += f"; {again} existing secret{'s' if again != 1 else ''} set again (values cannot be read)"
    failed = sum(1 for s in spaces if s.error is not None)
    if failed:
        text += f"; {failed} Space{'s' if failed != 1 else ''} could not be read"
    return text
