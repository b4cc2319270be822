"""The commands of `aiospaces` that talk to a Hub (any Hub: the real one or a simulated one)."""

from __future__ import annotations

import argparse
import difflib
import enum
import getpass
import os
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, TextIO

from .. import validation
from ..fleet import FleetReport
from ..models import TRANSITIONAL_STAGES, stage_name
from ._exit import ExitCode, UsageError, classified, combined_code
from ._render import Output

if TYPE_CHECKING:
    from ..client import RuntimeChange, SpacesClient
    from ..models import SpaceRuntime

RUNTIME_COLUMNS = ("Space", "stage", "hardware", "requested", "sleep time")


def text(value: object) -> str | None:
    """A str enum member as its value, anything else as str, None as None (for tables and JSON)."""
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def runtime_fields(runtime: SpaceRuntime) -> dict[str, object]:
    """The fields of a `SpaceRuntime` worth showing, JSON-ready (`errorMessage` is raw: hub-api.md §8.1)."""
    return {
        "stage": text(runtime.stage),
        "hardware": text(runtime.hardware),
        "requested_hardware": text(runtime.requested_hardware),
        "sleep_time": runtime.sleep_time,
        "storage": text(runtime.storage),
        "dev_mode": runtime.dev_mode,
        "error_message": runtime.raw.get("errorMessage"),
    }


def runtime_cells(runtime: SpaceRuntime) -> list[object]:
    """Table cells (after the Space id) for a runtime: stage, hardware, requested, sleep time."""
    return [
        text(runtime.stage),
        text(runtime.hardware),
        text(runtime.requested_hardware),
        sleep_text(runtime.sleep_time),
    ]


def sleep_text(seconds: int | None) -> str:
    """A sleep time for people: `48h`, `30min`, `90s`, `never` (-1), `default` (the Hub sent none).

    A table's `-` then only ever means "not applicable" (e.g. the Space could not be read).
    """
    if seconds is None:
        return "default"
    if seconds < 0:
        return "never"
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        # Whole days only past two of them: 48h reads better than 2d for the Hub's 172800.
        if seconds >= size and seconds % size == 0 and (unit != "d" or seconds > 2 * size):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def is_settled(runtime: SpaceRuntime) -> bool:
    """Out of a transitional stage and, when hardware was requested, running on it."""
    stage = stage_name(runtime.stage)
    if stage in TRANSITIONAL_STAGES:
        return False
    requested = text(runtime.requested_hardware)
    return requested is None or stage != "RUNNING" or text(runtime.hardware) == requested


async def for_each(
    client: SpacesClient,
    repo_ids: Sequence[str],
    operation: Callable[[str], Awaitable[Any]],
    *,
    concurrency: int,
    output: Output,
    description: str,
) -> FleetReport[Any]:
    """Run `operation` on every Space through the SDK's `Fleet`: at most `concurrency` at once, never failing
    fast, outcomes in input order (Hub errors recorded per Space; bad ids rejected before any request). On a
    terminal a progress bar counts finished Spaces."""
    fleet = client.fleet(repo_ids, concurrency=concurrency)
    with output.progress(len(fleet.repo_ids), description) as bar:

        async def tracked(repo_id: str) -> Any:
            try:
                return await operation(repo_id)
            finally:
                bar.advance()

        return await fleet.run(tracked)


def finish(outcomes: FleetReport[Any], output: Output, *, show_runtime: bool) -> int:
    """Print the per-Space table (or JSON results) and decide the exit code of a command over many Spaces."""
    rows: list[list[object]] = []
    for outcome in outcomes:
        if outcome.ok:
            runtime = outcome.result if show_runtime else None
            fields = runtime_fields(runtime) if runtime is not None else {}
            output.emit("result", repo_id=outcome.repo_id, ok=True, **fields)
            cells = runtime_cells(runtime) if runtime is not None else []
            rows.append([outcome.repo_id, "ok", *cells, ""])
        else:
            assert outcome.error is not None
            code, message = classified(outcome.error)
            output.emit("result", repo_id=outcome.repo_id, ok=False, error=message, exit_code=int(code))
            rows.append([outcome.repo_id, "FAILED", *([None] * 4 if show_runtime else []), message])
    columns = ["Space", "result", *(RUNTIME_COLUMNS[1:] if show_runtime else ()), "detail"]
    output.table(columns, rows)
    failed = {o.repo_id: classified(o.error) for o in outcomes if o.error is not None}
    return report_failures(failed, len(outcomes), output)


def report_failures(failed: dict[str, tuple[ExitCode, str]], total: int, output: Output) -> int:
    """Print the error line of a command over `total` Spaces of which `failed` (id: code, message) failed, and
    return its exit code (`combined_code`)."""
    if not failed:
        return ExitCode.OK
    messages = {message for _, message in failed.values()}
    if len(failed) == 1 and total == 1:
        [(repo_id, (_, message))] = failed.items()
        output.error(f"{repo_id}: {message}")
    elif len(failed) == total and len(messages) == 1:
        output.error(f"all {total} Spaces failed: {messages.pop()}")
    else:
        output.error(f"{len(failed)} of {plural(total, 'Space')} failed: {', '.join(failed)}")
    return combined_code([code for code, _ in failed.values()], total)


def plural(count: int, noun: str) -> str:
    """`1 Space`, `2 Spaces`."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


async def run_on_each(
    client: SpacesClient,
    args: argparse.Namespace,
    output: Output,
    operation: Callable[[str], Awaitable[Any]],
    *,
    description: str,
    show_runtime: bool,
) -> int:
    """Run `operation` on the command's `repo_ids` (`for_each` at its `--concurrency`), then `finish`."""
    outcomes = await for_each(
        client, args.repo_ids, operation, concurrency=args.concurrency, output=output, description=description
    )
    return finish(outcomes, output, show_runtime=show_runtime)


# --- commands -----------------------------------------------------------------------------------------------


def check_targets(args: argparse.Namespace, command: str) -> None:
    """Refuse (exit 2), before any request, a command over Spaces given neither ids nor `--author`."""
    if not args.repo_ids and not args.author:
        raise UsageError(f"give Space ids or --author NAME (see `aiospaces {command} --help`)")


async def with_author(
    client: SpacesClient, args: argparse.Namespace, repo_ids: Sequence[str], *, verb: str
) -> list[str]:
    """`repo_ids`, then (with `--author NAME`) every Space of that owner not already among them.

    The owner's Spaces are read through `list_spaces(author=...)` (pages of the listing, not one request per
    Space). An owner with no Space at all is refused (exit 2): the Hub answers an unknown author with an
    empty list, not a 404, so it is most likely a typo.
    """
    found = list(repo_ids)
    if args.author:
        seen = set(found)
        async for info in client.list_spaces(author=args.author):
            if info.id not in seen:
                seen.add(info.id)
                found.append(info.id)
        if not found:
            raise UsageError(f"{args.author} has no Spaces to {verb}: check the user or organization name")
    return found


async def run_on_targets(
    client: SpacesClient,
    args: argparse.Namespace,
    output: Output,
    operation: Callable[[str], Awaitable[Any]],
    *,
    command: str,
    verb: str,
    description: str,
) -> int:
    """`run_on_each` over the command's ids and, with `--author`, the owner's Spaces (runtime shown)."""
    check_targets(args, command)
    for repo_id in args.repo_ids:
        validation.validate_repo_id(repo_id)  # a bad id is refused before the owner's Spaces are listed
    args.repo_ids = await with_author(client, args, args.repo_ids, verb=verb)
    return await run_on_each(client, args, output, operation, description=description, show_runtime=True)


async def cmd_runtime(client: SpacesClient, args: argparse.Namespace, output: Output) -> int:
    """`aiospaces runtime ID... | --author NAME`"""
    return await run_on_targets(
        client,
        args,
        output,
        client.get_space_runtime,
        command="runtime",
        verb="read",
        description="reading runtimes",
    )


async def cmd_hardware(client: SpacesClient, args: argparse.Namespace, output: Output) -> int:
    """`aiospaces hardware ID... | --author NAME  HW [--sleep-time S]`"""
    check_targets(args, "hardware")
    for repo_id in args.repo_ids:
        validation.validate_repo_id(repo_id)  # a bad id is refused before the flavor list is read
    await check_flavors(client, {args.hardware: ""})

    async def request(repo_id: str) -> Any:
        return await client.request_space_hardware(repo_id, args.hardware, sleep_time=args.sleep_time)

    return await run_on_targets(
        client,
        args,
        output,
        request,
        command="hardware",
        verb="request hardware for",
        description="requesting hardware",
    )


async def cmd_pause(client: SpacesClient, args: argparse.Namespace, output: Output) -> int:
    """`aiospaces pause ID... | --author NAME`"""
    return await run_on_targets(
        client, args, output, client.pause_space, command="pause", verb="pause", description="pausing"
    )


async def cmd_restart(client: SpacesClient, args: argparse.Namespace, output: Output) -> int:
    """`aiospaces restart ID... | --author NAME [--factory]`"""

    async def restart(repo_id: str) -> Any:
        return await client.restart_space(repo_id, factory_reboot=args.factory)

    return await run_on_targets(
        client, args, output, restart, command="restart", verb="restart", description="restarting"
    )


def emit_change(output: Output, change: RuntimeChange, previous: SpaceRuntime | None = None) -> None:
    """A `change` JSON event: the current runtime's fields and the previous stage and hardware (`previous`
    overrides `change.previous`)."""
    before = previous if previous is not None else change.previous
    emit_runtime_change(output, change.repo_id, before, change.current)


def emit_runtime_change(
    output: Output, repo_id: str, previous: SpaceRuntime | None, current: SpaceRuntime, **extra: object
) -> None:
    """A `change` JSON event from its parts (`extra`: more fields, e.g. the demo's simulated time)."""
    output.emit(
        "change",
        repo_id=repo_id,
        previous_stage=text(previous.stage) if previous is not None else None,
        previous_hardware=text(previous.hardware) if previous is not None else None,
        **extra,
        **runtime_fields(current),
    )


async def check_hardware_option(client: SpacesClient, hardware: str | None, repo_ids: Sequence[str]) -> None:
    """`--hardware` of a command that creates or changes Spaces: the ids are checked first (a bad one is
    refused before any request), then the flavor against the Hub's list, before anything is created."""
    if hardware is None:
        return
    for repo_id in repo_ids:
        validation.validate_repo_id(repo_id)
    await check_flavors(client, {hardware: ""})


async def check_flavors(client: SpacesClient, flavors: Mapping[str, str]) -> None:
    """Refuse (exit 2) a flavor the Hub does not offer, naming the closest one it does, before any change.

    `flavors` maps each flavor to where it was given (a prefix of the error line, may be empty). The Hub's
    list (`list_spaces_hardware`, one request) is the authority: the SDK's own enum only names the flavors
    known when it was released.
    """
    offered = [info.name for info in await client.list_spaces_hardware()]
    for flavor, where in flavors.items():
        if flavor not in offered:
            close = difflib.get_close_matches(flavor, offered, n=1)
            hint = f"did you mean {close[0]}?" if close else f"the Hub offers {', '.join(offered)}"
            raise UsageError(f"{where}unknown flavor {flavor}; {hint}")


def describe_change(repo_id: str, previous: SpaceRuntime | None, current: SpaceRuntime) -> str:
    """One plain line for a runtime change: `alice/app  BUILDING -> RUNNING  hardware cpu-basic`."""
    stage = text(current.stage)
    if previous is not None and text(previous.stage) != stage:
        stage = f"{text(previous.stage)} -> {stage}"
    hardware = text(current.hardware) or "-"
    if previous is not None and text(previous.hardware) != text(current.hardware):
        hardware = f"{text(previous.hardware) or '-'} -> {hardware}"
    requested = text(current.requested_hardware)
    suffix = f" (requested {requested})" if requested and requested != text(current.hardware) else ""
    return f"{repo_id}  {stage}  hardware {hardware}{suffix}"


async def cmd_logs(client: SpacesClient, args: argparse.Namespace, output: Output) -> int:
    """`aiospaces logs ID [--build] [--follow]`"""
    # Closed here, before the client: when the reader of stdout goes away (`| head -1`), the stream ends in
    # this task, not later in a garbage collector's.
    async with aclosing(client.fetch_space_logs(args.repo_id, build=args.build, follow=args.follow)) as lines:
        async for line in lines:
            line = line.rstrip("\r\n")
            output.emit("log", repo_id=args.repo_id, line=line)
            if not output.json_mode:
                # Log lines are printed verbatim (no rich markup or highlighting), as `hf spaces logs` does.
                output.stdout.write(line + "\n")
                output.stdout.flush()
    return ExitCode.OK


def check_secret_arguments(args: argparse.Namespace) -> None:
    """Refuse `secrets set ID KEY VALUE` before reading anything, without echoing a single argument.

    The grammar is `ID... KEY`, so a value typed after the key parses as the key and the key as one more
    Space id. Every id but the first must then look like `namespace/name`; when one does not, the last
    argument is most likely a secret value, and repeating any of it in an error line would print it.
    """
    for repo_id in args.repo_ids[1:]:
        try:
            validation.validate_repo_id(repo_id)
        except ValueError:
            raise UsageError(
                "secrets set takes ID... KEY and never a value on the command line: "
                "pass the value with --from-env VAR or on stdin"
            ) from None


def read_secret_value(args: argparse.Namespace, stdin: TextIO) -> str:
    """The secret value from `--from-env VAR` or stdin — never from the command line.

    Blocking reads on purpose: nothing else runs yet, and `getpass` must stay in the main thread so that
    Ctrl-C restores the terminal's echo.
    """
    if args.from_env:
        value = os.environ.get(args.from_env)
        if value is None:
            raise UsageError(
                f"environment variable {args.from_env} is not set (it should hold the secret value)"
            )
    elif stdin.isatty():
        value = getpass.getpass(f"value of secret {args.key}: ")
    else:
        value = stdin.read()
        # One trailing newline is how `echo`/heredocs end a value; it is not part of the secret.
        if value.endswith("\n"):
            value = value[:-1]
            if value.endswith("\r"):
                value = value[:-1]
    if not value:
        raise UsageError(f"empty value for secret {args.key}: pipe it on stdin or use --from-env VAR")
    return value


async def cmd_secrets(
    client: SpacesClient, args: argparse.Namespace, output: Output, *, stdin: TextIO | None = None
) -> int:
    """`aiospaces secrets set|delete|list`"""
    if args.action == "list":
        secrets = await client.get_space_secrets(args.repo_id)
        rows = []
        for key, secret in sorted(secrets.items()):
            # Secret values are write-only on the Hub (hub-api.md §7): only names and metadata come back.
            output.emit(
                "secret",
                repo_id=args.repo_id,
                key=key,
                description=secret.description,
                updated_at=secret.updated_at,
            )
            rows.append([key, secret.description, secret.updated_at])
        output.table(["key", "description", "updated"], rows)
        return ExitCode.OK
    if args.action == "set":
        check_secret_arguments(args)
        value = read_secret_value(args, stdin if stdin is not None else sys.stdin)

        async def add(repo_id: str) -> None:
            await client.add_space_secret(repo_id, args.key, value, description=args.description)

        return await run_on_each(
            client, args, output, add, description=f"setting {args.key}", show_runtime=False
        )

    async def delete(repo_id: str) -> None:
        await client.delete_space_secret(repo_id, args.key)

    return await run_on_each(
        client, args, output, delete, description=f"deleting {args.key}", show_runtime=False
    )


async def cmd_variables(client: SpacesClient, args: argparse.Namespace, output: Output) -> int:
    """`aiospaces variables set|delete|list`"""
    if args.action == "list":
        variables = await client.get_space_variables(args.repo_id)
        rows = []
        for key, variable in sorted(variables.items()):
            output.emit(
                "variable",
                repo_id=args.repo_id,
                key=key,
                value=variable.value,
                description=variable.description,
            )
            rows.append([key, variable.value, variable.description])
        output.table(["key", "value", "description"], rows)
        return ExitCode.OK
    if args.action == "set":

        async def add(repo_id: str) -> None:
            await client.add_space_variable(repo_id, args.key, args.value, description=args.description)

        return await run_on_each(
            client, args, output, add, description=f"setting {args.key}", show_runtime=False
        )

    async def delete(repo_id: str) -> None:
        await client.delete_space_variable(repo_id, args.key)

    return await run_on_each(
        client, args, output, delete, description=f"deleting {args.key}", show_runtime=False
    )
