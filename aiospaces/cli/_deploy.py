"""`aiospaces deploy ID... FOLDER`: upload a folder to Spaces and wait until the new code runs, for CI.

One line per phase and Space (uploaded → build started → app starting → running on HW, with durations), then a
table with one row per Space and its failure class. Exit 0 only when the new code runs on every Space; a
failed Space prints its failure class and the log tail of the failing phase (exit 1); a deadline exits 3.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from .. import DeployEvent, DeployResult, SpaceFailedError, SpaceNotRunningError, WaitTimeoutError
from ._commands import check_hardware_option, text
from ._exit import ExitCode, classified
from ._render import Output

if TYPE_CHECKING:
    from .. import FleetReport, SpacesClient, SpacesError

COLUMNS = ("Space", "result", "class", "commit", "hardware", "build", "start", "detail")


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def describe(event: DeployEvent) -> str:
    """One plain line for a deploy phase: `alice/app: running on t4-small (start 9.8s, 62.0s in all)`."""
    detail = event.detail
    name = event.repo_id
    commit = str(detail.get("commit"))[:7]
    if event.phase == "uploaded":
        files = detail.get("files")
        noun = "file" if files == 1 else "files"
        return f"{name}: uploaded {files} {noun} (commit {commit})"
    if event.phase == "unchanged":
        return f"{name}: nothing to upload: the Space already has these files (commit {commit})"
    if event.phase == "hardware":
        return f"{name}: requested {detail.get('hardware')}"
    if event.phase == "building":
        return f"{name}: build started ({_seconds(event.elapsed)} after the deploy began)"
    if event.phase == "starting":
        return f"{name}: app starting (build {_seconds(event.seconds)})"
    if event.phase == "running":
        hardware, start, total = detail.get("hardware"), _seconds(event.seconds), _seconds(event.elapsed)
        return f"{name}: running on {hardware} (start {start}, {total} in all)"
    return f"{name}: {detail.get('stage')} ({detail.get('failure_class')} failure)"


def failure_line(error: SpacesError) -> tuple[ExitCode, str, str | None]:
    """Exit code, one line and the failure class (None when it is not a Space failure) of a failed Space."""
    if isinstance(error, SpaceFailedError):
        kind = str(error.failure_class) if error.failure_class is not None else "unknown"
        detail = f": {error.error_message}" if error.error_message else ""
        return ExitCode.SPACE_FAILED, f"{error.stage} ({kind} failure){detail}", kind
    if isinstance(error, SpaceNotRunningError):
        # A commit does not rebuild a paused Space; `wait --wake` is not what a deploy needs to be told.
        message = f"the Space is {error.stage}: restart it (`aiospaces restart {error.repo_id}`), then deploy"
        return ExitCode.SPACE_FAILED, message, None
    code, message = classified(error)
    return code, message, None


def _exit_code(codes: list[ExitCode]) -> int:
    """0 when nothing failed; the code every failure shares (3: all timed out); else 1."""
    if not codes:
        return ExitCode.OK
    if len(set(codes)) == 1:
        return codes[0]
    return ExitCode.SPACE_FAILED


def show_report(report: FleetReport[DeployResult], output: Output) -> int:
    """The per-Space table (JSON: one `result` event each), the log tails of failures; the exit code."""
    rows: list[list[object]] = []
    codes: list[ExitCode] = []
    for outcome in report:
        result = outcome.result
        if result is not None:
            output.emit(
                "result",
                repo_id=outcome.repo_id,
                ok=True,
                commit=result.commit,
                changed=result.changed,
                files_changed=result.files_changed,
                hardware=result.hardware,
                stage=text(result.runtime.stage),
                build_seconds=result.build_seconds,
                start_seconds=result.start_seconds,
                total_seconds=result.total_seconds,
            )
            rows.append(
                [
                    outcome.repo_id,
                    "running" if result.changed else "unchanged",
                    None,
                    result.commit[:7],
                    result.hardware,
                    _seconds(result.build_seconds),
                    _seconds(result.start_seconds),
                    "",
                ]
            )
            continue
        error = outcome.error
        assert error is not None
        code, message, kind = failure_line(error)
        codes.append(code)
        commit = error.commit if isinstance(error, SpaceFailedError) else None
        fields: dict[str, Any] = {"error": message, "exit_code": int(code), "failure_class": kind}
        if isinstance(error, SpaceFailedError):
            fields.update(
                stage=error.stage, error_message=error.error_message, log_tail=error.log_tail, commit=commit
            )
        output.emit("result", repo_id=outcome.repo_id, ok=False, **fields)
        result_text = "timeout" if isinstance(error, WaitTimeoutError) else "FAILED"
        rows.append(
            [outcome.repo_id, result_text, kind, (commit or "")[:7] or None, None, None, None, message]
        )
    output.table(COLUMNS, rows)
    for outcome in report.failed:
        error = outcome.error
        assert error is not None
        _code, message, _kind = failure_line(error)
        output.error(f"{outcome.repo_id}: {message}")
        if isinstance(error, SpaceFailedError) and error.log_tail:
            phase = "build" if error.stage in ("BUILD_ERROR", "CONFIG_ERROR", "NO_APP_FILE") else "run"
            output.note(f"--- last {len(error.log_tail)} {phase} log lines of {outcome.repo_id} ---")
            for line in error.log_tail:
                output.note(line.rstrip("\r\n"))
    return _exit_code(codes)


async def cmd_deploy(client: SpacesClient, args: argparse.Namespace, output: Output) -> int:
    """`aiospaces deploy ID... FOLDER [--hardware HW] [--timeout S] [--message M]`"""

    def on_event(event: DeployEvent) -> None:
        output.emit(
            "phase",
            repo_id=event.repo_id,
            phase=event.phase,
            elapsed=round(event.elapsed, 3),
            seconds=None if event.seconds is None else round(event.seconds, 3),
            **event.detail,
        )
        output.line(describe(event))

    await check_hardware_option(client, args.hardware, args.repo_ids)
    options: dict[str, Any] = {"hardware": args.hardware, "commit_message": args.message}
    if args.timeout is not None:
        options["timeout"] = args.timeout
    fleet = client.fleet(args.repo_ids, concurrency=args.concurrency)
    report = await fleet.deploy(args.folder, on_event=on_event, **options)
    return show_report(report, output)
