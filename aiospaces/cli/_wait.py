"""The commands of `aiospaces` that wait for Spaces or watch them: `wait` (one Space, several in one shared
poll loop, or for a hardware flavor) and `watch` (a live table of runtime changes)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import errors, validation
from ..fleet import FleetReport, Outcome
from ._commands import (
    RUNTIME_COLUMNS,
    check_flavors,
    check_targets,
    describe_change,
    emit_change,
    is_settled,
    plural,
    runtime_cells,
    runtime_fields,
    text,
    with_author,
)
from ._exit import ExitCode, UsageError, classified, combined_code
from ._render import Output

if TYPE_CHECKING:
    from ..client import RuntimeChange, SpacesClient
    from ..models import SpaceRuntime


async def check_requested(client: SpacesClient, repo_id: str, flavor: str) -> None:
    """Refuse (exit 2) waiting for hardware nobody requested: the wait could only end in a conflict."""
    runtime = await client.get_space_runtime(repo_id)
    requested = text(runtime.requested_hardware) or text(runtime.hardware)
    if requested is not None and requested != flavor:
        raise UsageError(
            f"{repo_id}: {flavor} was not requested ({requested} is); request it first with "
            f"`aiospaces hardware {repo_id} {flavor}`"
        )


async def cmd_wait(client: SpacesClient, args: argparse.Namespace, output: Output) -> int:
    """`aiospaces wait ID... [--hardware HW] [--timeout S] [--wake]`"""
    repo_ids: list[str] = list(dict.fromkeys(args.repo_ids))  # a repeated id is one Space
    if len(repo_ids) == 1:
        return await wait_one(client, args, output, repo_ids[0])
    return await wait_many(client, args, output, repo_ids)


async def wait_one(client: SpacesClient, args: argparse.Namespace, output: Output, repo_id: str) -> int:
    """`aiospaces wait ID`: a status line on a terminal, then the Space's row; errors raise (one line)."""
    waiting = f"waiting for {repo_id}"
    status = output.console.status(f"{waiting}…") if output.fancy else None

    def on_change(change: RuntimeChange) -> None:
        # Called from the wait's own poll loop (no extra request).
        emit_change(output, change)
        line = describe_change(repo_id, change.previous, change.current)
        if status is not None:
            status.update(f"{waiting}… {line}")
        else:
            output.line(line)

    if args.hardware is not None:
        await check_flavors(client, {args.hardware: ""})
        await check_requested(client, repo_id, args.hardware)
    if status is not None:
        status.start()
    try:
        if args.hardware is None:
            runtime = await client.wait_until_running(
                repo_id, timeout=args.timeout, wake=args.wake, on_change=on_change
            )
        else:
            runtime = await client.wait_for_hardware(
                repo_id, args.hardware, timeout=args.timeout, wake=args.wake, on_change=on_change
            )
    finally:
        if status is not None:
            status.stop()
    output.emit("ready", repo_id=repo_id, **runtime_fields(runtime))
    output.table(RUNTIME_COLUMNS, [[repo_id, *runtime_cells(runtime)]])
    return ExitCode.OK


async def wait_many(
    client: SpacesClient, args: argparse.Namespace, output: Output, repo_ids: list[str]
) -> int:
    """`aiospaces wait A B C`: one shared poll loop (`wait_all`; per-Space waits with --hardware), a live
    per-Space table on a terminal (one line per transition elsewhere), then one row per Space.

    Every Space is waited for to the end, whatever happens to the others. Exit 1 when any reached a failure
    stage (each named on stderr with its log tail) or another code-1 outcome; else 3 when any timed out;
    else 0, or the code of a command over several Spaces (`combined_code`) for other errors such as 404s.
    """
    for repo_id in repo_ids:
        validation.validate_repo_id(repo_id)  # a bad id is refused before any request
    if args.hardware is not None:
        await check_flavors(client, {args.hardware: ""})
    with output.live_table(RUNTIME_COLUMNS) as table:

        def on_change(change: RuntimeChange) -> None:
            # Called from the waits' own poll loops (no extra request).
            emit_change(output, change)
            line = describe_change(change.repo_id, change.previous, change.current)
            table.update(change.repo_id, runtime_cells(change.current), line=line)

        if args.hardware is None:
            report = await client.wait_all(
                repo_ids, timeout=args.timeout, wake=args.wake, on_change=on_change
            )
        else:
            report = await wait_all_for_hardware(client, args, repo_ids, on_change)
    return finish_wait(report, output)


async def wait_all_for_hardware(
    client: SpacesClient,
    args: argparse.Namespace,
    repo_ids: list[str],
    on_change: Callable[[RuntimeChange], None],
) -> FleetReport[SpaceRuntime]:
    """`wait_for_hardware` on every Space at once, after refusing (exit 2) Spaces on which another flavor is
    requested: their wait could only end in a conflict. A Space that cannot be read keeps its error."""
    flavor: str = args.hardware
    current = await client.fleet(repo_ids).get_space_runtime()
    elsewhere: dict[str, str] = {}
    for outcome in current:
        if outcome.result is not None:
            requested = text(outcome.result.requested_hardware) or text(outcome.result.hardware)
            if requested is not None and requested != flavor:
                elsewhere[outcome.repo_id] = requested
    if elsewhere:
        which = ", ".join(f"{repo_id} ({requested} is)" for repo_id, requested in elsewhere.items())
        raise UsageError(
            f"{flavor} was not requested on {which}; request it first with "
            f"`aiospaces hardware {' '.join(elsewhere)} {flavor}`"
        )
    readable = [outcome.repo_id for outcome in current if outcome.ok]

    async def wait(repo_id: str) -> SpaceRuntime:
        return await client.wait_for_hardware(
            repo_id, flavor, timeout=args.timeout, wake=args.wake, on_change=on_change
        )

    # Every wait at once: a Space queued behind others would start its deadline late.
    waited: dict[str, Outcome[SpaceRuntime]] = {}
    if readable:
        waited = {o.repo_id: o for o in await client.fleet(readable, concurrency=len(readable)).run(wait)}
    pairs: list[tuple[str, SpaceRuntime | BaseException]] = []
    for outcome in current:
        final = waited.get(outcome.repo_id, outcome)
        if final.error is not None:
            pairs.append((outcome.repo_id, final.error))
        else:
            assert final.result is not None
            pairs.append((outcome.repo_id, final.result))
    return FleetReport.from_results(pairs)


def finish_wait(report: FleetReport[SpaceRuntime], output: Output) -> int:
    """The per-Space table (or `result` events) of a wait over several Spaces, one error line per Space that
    does not run (with its log tail after a failure stage), and the exit code (see `wait_many`)."""
    rows: list[list[object]] = []
    failed: dict[str, tuple[ExitCode, str]] = {}
    for outcome in report:
        if outcome.error is None:
            assert outcome.result is not None
            output.emit("result", repo_id=outcome.repo_id, ok=True, **runtime_fields(outcome.result))
            rows.append([outcome.repo_id, "ok", *runtime_cells(outcome.result), ""])
            continue
        code, message = classified(outcome.error)
        tail = outcome.error.log_tail if isinstance(outcome.error, errors.SpaceFailedError) else []
        last = outcome.error.runtime if isinstance(outcome.error, errors.WaitError) else None
        output.emit(
            "result",
            repo_id=outcome.repo_id,
            ok=False,
            error=message,
            exit_code=int(code),
            **({"stage": text(last.stage)} if last is not None else {}),
            **({"log_tail": [line.rstrip("\r\n") for line in tail]} if tail else {}),
        )
        cells = runtime_cells(last) if last is not None else [None] * 4
        rows.append([outcome.repo_id, "FAILED", *cells, message])
        failed[outcome.repo_id] = (code, message)
    output.table(["Space", "result", *RUNTIME_COLUMNS[1:], "detail"], rows)
    for outcome in report:
        if outcome.error is None:
            continue
        _, message = failed[outcome.repo_id]
        output.error(message if message.startswith(outcome.repo_id) else f"{outcome.repo_id}: {message}")
        if isinstance(outcome.error, errors.SpaceFailedError) and outcome.error.log_tail:
            output.note(f"--- last {len(outcome.error.log_tail)} log lines of {outcome.repo_id} ---")
            for line in outcome.error.log_tail:
                output.note(line.rstrip("\r\n"))
    codes = [code for code, _ in failed.values()]
    if ExitCode.SPACE_FAILED in codes:
        return ExitCode.SPACE_FAILED
    if ExitCode.TIMEOUT in codes:
        return ExitCode.TIMEOUT
    return combined_code(codes, len(report))


async def cmd_watch(client: SpacesClient, args: argparse.Namespace, output: Output) -> int:
    """`aiospaces watch ID... | --author NAME [--timeout S] [--until-settled]`"""
    check_targets(args, "watch")
    # A repeated id is one Space.
    repo_ids = await with_author(client, args, list(dict.fromkeys(args.repo_ids)), verb="watch")
    latest: dict[str, SpaceRuntime] = {}
    with output.live_table(RUNTIME_COLUMNS) as table:
        # The watch ends by itself at --timeout (a deadline on the client's clock: virtual in tests).
        async with client.watch_many(repo_ids, timeout=args.timeout) as changes:
            async for change in changes:
                current = change.current
                previous = change.previous
                latest[change.repo_id] = current
                emit_change(output, change)
                line = describe_change(change.repo_id, previous, current)
                table.update(change.repo_id, runtime_cells(current), line=line)
                # A Space that could not be read (e.g. 404) is no longer watched: it will never settle.
                watched = [latest.get(r) for r in repo_ids if r not in changes.errors]
                settled = all(r is not None and is_settled(r) for r in watched)
                if args.until_settled and settled:
                    break
            failed = dict(changes.errors)
    if not failed:
        return ExitCode.OK
    for repo_id, error in failed.items():
        code, message = classified(error)
        output.emit("result", repo_id=repo_id, ok=False, error=message, exit_code=int(code))
    details = "; ".join(f"{repo_id}: {classified(error)[1]}" for repo_id, error in failed.items())
    output.error(f"{len(failed)} of {plural(len(repo_ids), 'Space')} could not be watched: {details}")
    return combined_code([classified(error)[0] for error in failed.values()], len(repo_ids))
