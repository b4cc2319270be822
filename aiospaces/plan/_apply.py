"""Talking to the Hub: `observe` and `plan_fleet` read the fleet, `apply_plan` changes it, through
`client.fleet(...)` (bounded concurrency, one outcome per Space, never fail-fast)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from .. import validation
from ..errors import FleetSpecError, SpacesError
from ..fleet import FleetReport
from ._diff import Action, ObservedSpace, Plan, SpacePlan, diff
from ._spec import FleetSpec

if TYPE_CHECKING:
    from ..client import RuntimeChange, SpacesClient
    from ..models import SpaceRuntime


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
    text = f"{changes} change{'s' if changes != 1 else ''} on {touched} of {len(spaces)} Space"
    text += "s" if len(spaces) != 1 else ""
    if again:
        text += f"; {again} existing secret{'s' if again != 1 else ''} set again (values cannot be read)"
    failed = sum(1 for s in spaces if s.error is not None)
    if failed:
        text += f"; {failed} Space{'s' if failed != 1 else ''} could not be read"
    return text
