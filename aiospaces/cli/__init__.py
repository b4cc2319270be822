"""`aiospaces`: the command line (see `aiospaces --help`; exit codes in `_exit.py` and README.md).

`main(argv)` is the console script. `run(argv, ...)` is the same command as a coroutine, for embedding and for
in-process tests: it takes the output streams, an httpx transport and a clock to hand to `SpacesClient`.
"""

from __future__ import annotations

import argparse
import difflib
import logging
import os
import re
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import partial
from typing import Any, NoReturn, TextIO

import anyio

from .. import errors
from ._exit import EXIT_CODES_HELP, ExitCode, UsageError, classify, space_of
from ._parser import all_parsers, build_parser
from ._render import Output

__all__ = ["EXIT_CODES_HELP", "ExitCode", "main", "run"]


HUBSIM_PROG = "aiospaces hubsim"


class _ParserExit(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _parse(argv: Sequence[str], stdout: TextIO, stderr: TextIO) -> argparse.Namespace:
    """Parse `argv`; usage errors print one line (plus where to find help) and exit 2."""
    parser = build_parser()

    def error(self: argparse.ArgumentParser, message: str) -> NoReturn:
        stderr.write(f"{self.prog}: error: {_suggest(message)} (see `{self.prog} --help`)\n")
        raise _ParserExit(ExitCode.USAGE)

    def exit_(self: argparse.ArgumentParser, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            stderr.write(message)
        raise _ParserExit(status)

    def print_message(self: argparse.ArgumentParser, message: str, file: Any = None) -> None:
        if message:
            (stderr if file is sys.stderr else stdout).write(message)

    # Route argparse's own output to the given streams and turn its exits into return codes (so `run` can be
    # called in-process), for the top-level parser and every subparser alike.
    for klass_parser in all_parsers(parser):
        klass_parser.error = error.__get__(klass_parser)  # type: ignore[method-assign]
        klass_parser.exit = exit_.__get__(klass_parser)  # type: ignore[method-assign]
        klass_parser._print_message = print_message.__get__(klass_parser)  # type: ignore[method-assign]
    return parser.parse_args(list(argv))


_INVALID_CHOICE = re.compile(r"argument ([\w/-]+): invalid choice: '([^']*)' \(choose from (.*)\)")


def _suggest(message: str) -> str:
    """argparse's `invalid choice` for a command as `unknown command 'runtim'; did you mean `runtime`?`."""
    match = _INVALID_CHOICE.fullmatch(message)
    if match is None:
        return message
    what, given, choices = match.groups()
    noun = {"COMMAND": "command", "ACTION": "action"}.get(what, f"{what.split('/')[0]} value")
    close = difflib.get_close_matches(given, re.findall(r"'([^']*)'", choices), n=1)
    hint = f"; did you mean `{close[0]}`?" if close else f"; choose from {choices}"
    return f"unknown {noun} {given!r}{hint}"


async def run(
    argv: Sequence[str],
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
    transport: Any = None,
    clock: Any = None,
    fancy: bool | None = None,
) -> int:
    """Run one `aiospaces` command and return its exit code (see `EXIT_CODES_HELP`).

    Args:
        argv: the arguments after the program name.
        stdout: where results go (default `sys.stdout`).
        stderr: where errors and log tails go (default `sys.stderr`).
        stdin: where `secrets set` reads a value from (default `sys.stdin`).
        transport: an httpx transport for `SpacesClient` (tests: `SimulatedHub.transport()`).
        clock: a clock for `SpacesClient` (tests: a virtual clock).
        fancy: force rich output on or off (default: on when stdout is a terminal and rich is installed).
    """
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    argv = list(argv)
    if not argv:
        # A newcomer's first try: what the command can do, rather than an error about a missing argument.
        out.write(build_parser().format_help())
        return ExitCode.USAGE
    if argv and argv[0] == "hubsim":
        # The simulator owns its options (`aiospaces hubsim --help`).
        from ..hubsim import main as hubsim_main

        result = await anyio.to_thread.run_sync(partial(hubsim_main, argv[1:], prog=HUBSIM_PROG))
        return int(result or 0)
    try:
        args = _parse(argv, out, err)
    except _ParserExit as exc:
        return exc.code
    output = Output(json_mode=bool(args.json), stdout=out, stderr=err, fancy=fancy)
    with _sdk_logging(err, verbosity=args.verbose):
        try:
            return await _dispatch(args, output, stdin=stdin, transport=transport, clock=clock)
        except BaseException as exc:
            code = report(exc, output)
            if code is None:
                raise
            return code


@contextmanager
def _sdk_logging(stream: TextIO, *, verbosity: int) -> Iterator[None]:
    """Route the SDK's `aiospaces` logger and its warnings to stderr, one line each, for one command.

    Warnings (e.g. a sleep time sent with cpu-basic, which the Hub ignores) are advice to the user, so they
    show as `aiospaces: warning: ...`, not as Python's two lines naming a source file of the SDK.

    By default only ERROR records show (e.g. `temporary_hardware` failing to restore billed hardware): retries
    are the SDK doing its job, and a user error must stay one line. `-v` adds INFO/WARNING (retries, pacing),
    `-vv` DEBUG.
    """
    logger = logging.getLogger("aiospaces")
    level = logging.ERROR if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("aiospaces: %(levelname)s: %(message)s"))
    handler.setLevel(level)
    previous = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False  # no duplicate through the root logger's last-resort handler

    def show_warning(message: Warning | str, *args: object, **kwargs: object) -> None:
        stream.write(f"aiospaces: warning: {message}\n")
        stream.flush()

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = show_warning
            yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous[0])
        logger.propagate = previous[1]


def report(exc: BaseException, output: Output) -> int | None:
    """Print a user error as one line (plus a failed Space's log tail); return its exit code (None: a bug)."""
    if isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        return report(exc.exceptions[0], output)
    classified = classify(exc)
    if classified is None:
        return None
    code, message = classified
    space = space_of(exc)
    if space is not None and not message.startswith(space):
        # Commands on one Space (wait, logs, watch, secrets list) would otherwise not say which one.
        message = f"{space}: {message}"
    output.error(message)
    output.emit("error", error=message, exit_code=int(code))
    if isinstance(exc, errors.SpaceFailedError) and exc.log_tail:
        output.note(f"--- last {len(exc.log_tail)} log lines of {exc.repo_id} ---")
        for line in exc.log_tail:
            output.note(line.rstrip("\r\n"))
    return code


async def _dispatch(
    args: argparse.Namespace, output: Output, *, stdin: TextIO | None, transport: Any, clock: Any
) -> int:
    from . import _commands, _wait

    if args.command == "demo":
        from ._demo import run_demo

        return await run_demo(output, spaces=args.spaces, speed=args.speed)

    if args.endpoint is not None and not args.endpoint.startswith(("http://", "https://")):
        raise UsageError(f"--endpoint must be an http:// or https:// URL, got {args.endpoint!r}")
    from ..client import SpacesClient

    options: dict[str, Any] = {"token": args.token, "endpoint": args.endpoint}
    if transport is not None:
        options["transport"] = transport
    if clock is not None:
        options["clock"] = clock
    commands = {
        "runtime": _commands.cmd_runtime,
        "wait": _wait.cmd_wait,
        "watch": _wait.cmd_watch,
        "logs": _commands.cmd_logs,
        "hardware": _commands.cmd_hardware,
        "pause": _commands.cmd_pause,
        "restart": _commands.cmd_restart,
        "variables": _commands.cmd_variables,
    }
    async with SpacesClient(**options) as client:
        if args.command in commands:
            return await commands[args.command](client, args, output)
        if args.command == "secrets":
            return await _commands.cmd_secrets(client, args, output, stdin=stdin)
        if args.command == "deploy":
            from ._deploy import cmd_deploy

            return await cmd_deploy(client, args, output)
        if args.command in ("create", "duplicate", "upload", "list", "info", "storage", "sleep", "delete"):
            from . import _manage

            command = getattr(_manage, f"cmd_{args.command}")
            if args.command in ("create", "duplicate", "delete"):
                return int(await command(client, args, output, stdin=stdin))
            return int(await command(client, args, output))
        if args.command == "fleet":
            from ._fleet import cmd_fleet

            return await cmd_fleet(client, args, output, stdin=stdin)
    raise AssertionError(f"unhandled command {args.command!r}")


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: run the command in `argv` (default `sys.argv[1:]`) and return its exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] == "hubsim":
        # The server runs in the main thread, where it can install its own Ctrl-C/SIGTERM handlers.
        from ..hubsim import main as hubsim_main

        try:
            return int(hubsim_main(arguments[1:], prog=HUBSIM_PROG) or 0)
        except SystemExit as exc:
            if exc.code in (None, 0, ExitCode.USAGE):
                raise  # --help, or one of argparse's own usage lines
            # uvicorn exits 3 when it cannot start (e.g. the port is taken), and 3 means "timeout" here;
            # its own error line is already on stderr.
            sys.stderr.write("aiospaces: error: the simulated Hub could not start (see the line above)\n")
            return ExitCode.USAGE
        except RuntimeError as exc:
            if not isinstance(exc.__cause__, ImportError):
                raise
            # Installed without the `server` extra: one line saying what to install.
            sys.stderr.write(f"aiospaces: error: {exc}\n")
            return ExitCode.USAGE
    try:
        return anyio.run(run, arguments)
    except KeyboardInterrupt:
        sys.stderr.write("aiospaces: interrupted\n")
        return ExitCode.INTERRUPTED
    except BaseException as exc:
        if not _broken_pipe(exc):
            raise
        # The reader went away (`aiospaces logs ID -f | head`): stop quietly, as Unix tools do. Point stdout
        # at /dev/null so that the interpreter's final flush does not fail again.
        with suppress(OSError, ValueError):  # not a real file (embedded use): nothing to redirect
            stdout_fd = sys.stdout.fileno()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stdout_fd)
            os.close(devnull)
        return ExitCode.BROKEN_PIPE


def _broken_pipe(exc: BaseException) -> bool:
    """Whether `exc` is stdout's reader going away (possibly inside a task group's exception group)."""
    if isinstance(exc, BaseExceptionGroup):
        return any(_broken_pipe(inner) for inner in exc.exceptions)
    return isinstance(exc, BrokenPipeError)


if __name__ == "__main__":  # pragma: no cover - `python -m aiospaces.cli` uses __main__.py
    sys.exit(main())
