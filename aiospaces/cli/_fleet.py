"""`aiospaces fleet plan FILE` and `aiospaces fleet apply FILE [--wait] [--yes]` (see `aiospaces.plan`)."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from contextlib import nullcontext, suppress
from typing import TYPE_CHECKING, TextIO

import anyio
import anyio.from_thread
import anyio.lowlevel

from ..plan import FleetSpec, Plan, apply_plan, load_fleet_spec, plan_fleet, resolve_secrets, summary
from ._commands import (
    RUNTIME_COLUMNS,
    check_flavors,
    describe_change,
    emit_change,
    plural,
    runtime_cells,
    runtime_fields,
    text,
)
from ._exit import ExitCode, UsageError, classified, combined_code
from ._render import Output, isatty

if TYPE_CHECKING:
    from ..client import RuntimeChange, SpacesClient
    from ..errors import SpacesError


def _failure_code(failed: list[tuple[str, SpacesError]], total: int) -> int:
    """The exit code when some Spaces failed: the errors' own code when all failed for one kind of reason
    (always so for a one-Space file), else 5."""
    return combined_code([classified(error)[0] for _, error in failed], total)


def show_plan(plan: Plan, output: Output) -> None:
    """Print the plan: per-Space JSON objects, a table on a terminal, plain lines otherwise."""
    rows: list[list[object]] = []
    for space in plan:
        if space.error is not None:
            code, message = classified(space.error)
            output.emit(
                "plan", repo_id=space.repo_id, ok=False, error=message, exit_code=int(code), actions=[]
            )
            rows.append([space.repo_id, f"FAILED: {message}"])
            continue
        output.emit(
            "plan",
            repo_id=space.repo_id,
            ok=True,
            actions=[a.as_dict() for a in space.actions],
            notes=list(space.notes),
        )
        rows.extend([space.repo_id, action.describe()] for action in space.actions)
        rows.extend([space.repo_id, f"note: {note}"] for note in space.notes)
        if not space.actions:
            rows.append([space.repo_id, "no changes"])
    output.emit(
        "summary",
        spaces=len(plan),
        changes=plan.changes,
        secrets_set_again=plan.reapplied,
        unreadable=len(plan.failed),
    )
    if output.fancy:
        output.table(["Space", "action"], rows)
    else:
        for repo_id, detail in rows:
            output.line(f"{repo_id}  {detail}")
    output.line(summary(plan))


def _warn_unset(envs: list[str], output: Output) -> list[str]:
    missing = [name for name in envs if name not in os.environ]
    if missing:
        names = ", ".join(missing)
        output.note(f"aiospaces: warning: {names} not set; `fleet apply` needs the secret values there")
    return missing


async def _check_flavors(client: SpacesClient, spec: FleetSpec) -> None:
    """The file's flavors against the Hub's list, before planning: `apply` never changes a Space's other
    settings and then fails on a misspelt flavor."""
    flavors: dict[str, str] = {}
    for space in spec.spaces:
        if space.hardware is not None:
            flavors.setdefault(space.hardware, f"{spec.source}: {space.repo_id}: ")
    if flavors:
        await check_flavors(client, flavors)


async def cmd_fleet(
    client: SpacesClient, args: argparse.Namespace, output: Output, *, stdin: TextIO | None = None
) -> int:
    """`aiospaces fleet plan FILE` / `aiospaces fleet apply FILE [--wait] [--timeout S] [--yes]`"""
    spec = load_fleet_spec(args.file)  # FleetSpecError is a ValueError: one line, exit 2
    if args.action == "plan":
        _warn_unset(spec.secret_envs(), output)
        await _check_flavors(client, spec)
        plan = await plan_fleet(client, spec, concurrency=args.concurrency)
        show_plan(plan, output)
        failed = [(s.repo_id, s.error) for s in plan.failed if s.error is not None]
        return _failure_code(failed, len(plan)) if failed else ExitCode.OK
    return await _apply(client, args, output, spec, stdin=stdin)


async def _apply(
    client: SpacesClient, args: argparse.Namespace, output: Output, spec: FleetSpec, *, stdin: TextIO | None
) -> int:
    source = stdin if stdin is not None else sys.stdin
    interactive = isatty(source)
    if args.timeout is not None and not args.wait:
        raise UsageError("--timeout limits the wait: use it with --wait")
    if not args.yes and not interactive:
        raise UsageError("fleet apply changes Spaces: pass --yes to apply without a terminal to confirm on")
    missing = [name for name in spec.secret_envs() if name not in os.environ]
    if missing and not args.skip_existing_secrets:
        raise UsageError(
            f"{', '.join(missing)} not set: the fleet file's secrets take their values from there"
        )
    await _check_flavors(client, spec)
    plan = await plan_fleet(client, spec, concurrency=args.concurrency)
    if args.skip_existing_secrets:
        plan = plan.without_reapplied()
        resolve_secrets(plan)  # only the new secrets' variables are needed now (a ValueError: exit 2)
    show_plan(plan, output)
    unreadable = [(s.repo_id, s.error) for s in plan.failed if s.error is not None]
    if plan.changes == 0 and plan.reapplied == 0:
        output.line("nothing to apply")
        output.emit("applied", spaces=0)
        return _failure_code(unreadable, len(plan)) if unreadable else ExitCode.OK
    if not args.yes and not await _confirm(plan, output, source):
        output.line("not applied")
        return ExitCode.OK
    # The live table only shows the waits (--wait); the actions themselves print nothing until the end.
    live = output.live_table(RUNTIME_COLUMNS) if args.wait else nullcontext(None)
    with live as table:

        def on_change(change: RuntimeChange) -> None:
            emit_change(output, change)
            if table is not None:
                line = describe_change(change.repo_id, change.previous, change.current)
                table.update(change.repo_id, runtime_cells(change.current), line=line)

        result = await apply_plan(
            client,
            plan,
            concurrency=args.concurrency,
            wait=args.wait,
            timeout=args.timeout,
            on_change=on_change,
        )
    rows: list[list[object]] = []
    failed: list[tuple[str, SpacesError]] = []
    for space in result:
        applied = [a.as_dict() for a in space.applied]
        fields = runtime_fields(space.runtime) if space.runtime is not None else {}
        if space.error is None:
            output.emit("result", repo_id=space.repo_id, ok=True, applied=applied, **fields)
            rows.append([space.repo_id, "ok", len(space.applied), text(fields.get("stage")), ""])
            continue
        failed.append((space.repo_id, space.error))
        code, message = classified(space.error)
        if space.failed_action is not None:
            message = f"{space.failed_action.describe()}: {message}"
        output.emit(
            "result",
            repo_id=space.repo_id,
            ok=False,
            applied=applied,
            failed_action=space.failed_action.as_dict() if space.failed_action is not None else None,
            error=message,
            exit_code=int(code),
        )
        rows.append([space.repo_id, "FAILED", len(space.applied), None, message])
    output.table(["Space", "result", "applied", "stage", "detail"], rows)
    if not failed:
        return ExitCode.OK
    output.error(
        f"{len(failed)} of {plural(len(result.spaces), 'Space')} failed: {', '.join(r for r, _ in failed)}"
    )
    return _failure_code(failed, len(result.spaces))


async def _confirm(plan: Plan, output: Output, stdin: TextIO) -> bool:
    """Ask on the terminal (stderr prompt, answer on stdin); only an explicit yes applies."""
    touched = sum(1 for s in plan if s.actions)
    secrets = f" and set {plural(plan.reapplied, 'secret')} again" if plan.reapplied else ""
    output.stderr.write(
        f"apply {plural(plan.changes, 'change')}{secrets} to {plural(touched, 'Space')}? [y/N] "
    )
    output.stderr.flush()
    answer = await _read_line(stdin)
    return answer.strip().lower() in ("y", "yes")


async def _read_line(stdin: TextIO) -> str:
    """`stdin.readline()` without blocking the event loop, and without keeping the process alive after Ctrl-C.

    The read runs in a daemon thread: Ctrl-C cancels the wait for it and the process exits at once. (A
    blocking read in the loop's thread is not interrupted by asyncio's first Ctrl-C, which only cancels the
    main task, and an anyio worker thread is joined at interpreter exit: either way the process stayed alive
    until the user also pressed Enter.)
    """
    token = anyio.lowlevel.current_token()
    answered = anyio.Event()
    answer: list[str] = []

    def read() -> None:
        try:
            answer.append(stdin.readline())
        finally:
            with suppress(RuntimeError):  # the event loop is gone: nobody is waiting any more
                anyio.from_thread.run_sync(answered.set, token=token)

    threading.Thread(target=read, name="aiospaces-confirm", daemon=True).start()
    await answered.wait()
    return answer[0] if answer else ""


__all__ = ["cmd_fleet", "show_plan"]
