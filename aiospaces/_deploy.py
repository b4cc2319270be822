"""Verified deploy: upload a folder to a Space and wait until *that* code runs (`SpacesClient.deploy`).

The order of the steps is what makes it verified. The commit records a fence (`_fences.CommitFence`), so the
wait that follows does not take the previous build, still RUNNING while the Hub schedules the new one, for the
new code; a hardware request after the commit restarts the Space on the new flavor from the committed files,
and its own fence makes the wait hold out for that flavor.

Only public client operations are used, through the `DeployClient` protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import attrs

from . import validation
from ._clock import Clock
from ._commit_models import pattern_list
from .errors import SpaceFailedError

if TYPE_CHECKING:
    from ._poll import PollPolicy
    from ._watch import RuntimeChange
    from .models import CommitInfo, SpaceInfo, SpaceRuntime

__all__ = ["DeployClient", "DeployEvent", "DeployResult", "deploy"]

# hub-api.md §13.1: a build runs in these stages (the previous app keeps serving in the second one)...
_BUILD_STAGES = frozenset({"BUILDING", "RUNNING_BUILDING"})
# ...and the new app starts in these.
_START_STAGES = frozenset({"APP_STARTING", "RUNNING_APP_STARTING"})

# The Hub gives up on an app that does not start within 30 minutes ("Launch timed out", seen on Spaces pages);
# a deploy waits as long by default, upload included.
DEFAULT_DEPLOY_TIMEOUT = 1800.0

Phase = Literal["uploaded", "unchanged", "hardware", "building", "starting", "running", "failed"]


@attrs.frozen
class DeployEvent:
    """One step of a deploy, reported to `deploy(on_event=...)` as it is observed.

    Attributes:
        repo_id: The Space.
        phase: `uploaded` (the commit landed), `unchanged` (the folder matched the Space: nothing committed),
            `hardware` (the flavor was requested), `building` (the build was seen), `starting` (the new app
            was seen starting), `running` (the new code runs), `failed` (a failure stage was seen).
        elapsed: Seconds since the deploy started (on the client's clock).
        seconds: How long the phase that just ended took (`starting`: the build; `running`: the start), when
            both ends were observed.
        detail: What the phase is about: the commit id, the number of files, the flavor, the stage.
    """

    repo_id: str
    phase: Phase
    elapsed: float
    seconds: float | None = None
    detail: Mapping[str, object] = attrs.field(factory=dict)


@attrs.frozen
class DeployResult:
    """The outcome of a deploy whose code runs.

    Attributes:
        repo_id: The Space.
        commit: The commit that runs (the new one, or the head when nothing changed).
        changed: False when the folder matched the Space's files: nothing was committed or rebuilt.
        files_changed: Files added, modified or deleted by the commit (0 when nothing changed).
        runtime: The runtime that showed the new code running.
        build_seconds: How long the build took, from the first build stage seen to the app starting (None
            when either end was not observed, e.g. a build shorter than the poll interval).
        start_seconds: How long the app took to start, from the app-starting stage to RUNNING (None when not
            observed).
        total_seconds: From the start of the deploy to the new code running.
    """

    repo_id: str
    commit: str
    changed: bool
    files_changed: int
    runtime: SpaceRuntime
    build_seconds: float | None
    start_seconds: float | None
    total_seconds: float

    @property
    def hardware(self) -> str | None:
        """The flavor the new code runs on."""
        return None if self.runtime.hardware is None else str(self.runtime.hardware)


class DeployClient(Protocol):
    """The public client operations a deploy uses (implemented by `SpacesClient`)."""

    @property
    def clock(self) -> Clock: ...

    async def get_space_runtime(self, repo_id: str) -> SpaceRuntime: ...

    async def space_info(
        self, repo_id: str, *, revision: str | None = None, files_metadata: bool = False
    ) -> SpaceInfo: ...

    async def upload_folder(
        self,
        *,
        repo_id: str,
        folder_path: str | Path,
        path_in_repo: str | None = None,
        commit_message: str | None = None,
        commit_description: str | None = None,
        repo_type: str | None = None,
        allow_patterns: list[str] | str | None = None,
        ignore_patterns: list[str] | str | None = None,
        delete_patterns: list[str] | str | None = None,
    ) -> CommitInfo: ...

    async def request_space_hardware(self, repo_id: str, hardware: str) -> SpaceRuntime: ...

    async def wait_until_running(
        self,
        repo_id: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - a deadline on the client's clock
        policy: PollPolicy | None = None,
        on_change: Callable[[RuntimeChange], object] | None = None,
    ) -> SpaceRuntime: ...


def check_deploy_arguments(
    folder_path: object,
    hardware: object,
    timeout: object,
    on_event: object,
    *,
    commit_message: object = None,
    commit_description: object = None,
    path_in_repo: object = None,
    allow_patterns: object = None,
    ignore_patterns: object = None,
    delete_patterns: object = None,
) -> tuple[str | None, float | None]:
    """Check a deploy's own arguments before any request; returns the flavor and timeout, normalised.

    Raises:
        TypeError, ValueError: naming the argument.
    """
    if not isinstance(folder_path, str | Path):
        raise TypeError(f"folder_path must be a str or Path, got {type(folder_path).__name__}")
    if not Path(folder_path).expanduser().is_dir():
        raise ValueError(f"folder_path: {str(folder_path)!r} is not a directory")
    flavor = None if hardware is None else validation.validate_hardware(hardware)
    seconds = validation.validate_timeout(timeout)
    if on_event is not None and not callable(on_event):
        raise TypeError(f"on_event must be callable, got {type(on_event).__name__}")
    # What `upload_folder` checks, checked before the deploy's first read of the Space.
    validation.validate_optional_str(commit_message, arg="commit_message")
    validation.validate_optional_str(commit_description, arg="commit_description")
    if path_in_repo is not None and path_in_repo not in ("", ".", "./"):
        validation.validate_path_in_repo(path_in_repo, folder=True)
    for name, patterns in (
        ("allow_patterns", allow_patterns),
        ("ignore_patterns", ignore_patterns),
        ("delete_patterns", delete_patterns),
    ):
        pattern_list(patterns, name)
    return flavor, seconds


def _stage(runtime: SpaceRuntime) -> str:
    return str(getattr(runtime.stage, "value", runtime.stage))


def _files(info: SpaceInfo) -> dict[str, tuple[str | None, str | None]]:
    """path → (git blob id, LFS sha-256) of a Space's files at one revision."""
    return {s.rfilename: (s.blob_id, s.lfs.sha256 if s.lfs else None) for s in info.siblings or ()}


def files_changed(before: Mapping[str, object], after: Mapping[str, object]) -> int:
    """How many paths were added, modified or deleted between two listings (path → content id)."""
    return sum(1 for path in before.keys() | after.keys() if before.get(path) != after.get(path))


class _Timeline:
    """Turns the wait's observed changes into deploy phases and durations."""

    def __init__(self, repo_id: str, clock: Clock, started: float, emit: Callable[[DeployEvent], None]):
        self.repo_id = repo_id
        self.clock = clock
        self.started = started
        self.emit = emit
        self.build_at: float | None = None
        self.start_at: float | None = None
        self.running_at: float | None = None
        self.build_seconds: float | None = None
        self.start_seconds: float | None = None

    def event(self, phase: Phase, seconds: float | None = None, **detail: object) -> None:
        self.emit(DeployEvent(self.repo_id, phase, self.clock.now() - self.started, seconds, detail))

    def observe(self, change: RuntimeChange) -> None:
        stage = change.stage
        now = change.when
        if stage in _BUILD_STAGES and self.build_at is None:
            self.build_at = now
            self.event("building", stage=stage)
        elif stage in _START_STAGES and self.start_at is None:
            self.start_at = now
            if self.build_at is not None:
                self.build_seconds = now - self.build_at
            self.event("starting", self.build_seconds, stage=stage)
        elif stage == "RUNNING" and self.running_at is None and self.start_at is not None:
            self.running_at = now
            if self.start_at is not None:
                self.start_seconds = now - self.start_at


async def deploy(
    client: DeployClient,
    repo_id: str,
    folder_path: str | Path,
    *,
    hardware: str | None = None,
    timeout: float | None,  # noqa: ASYNC109 - a deadline on the client's clock
    commit_message: str | None = None,
    commit_description: str | None = None,
    path_in_repo: str | None = None,
    allow_patterns: list[str] | str | None = None,
    ignore_patterns: list[str] | str | None = None,
    delete_patterns: list[str] | str | None = None,
    policy: PollPolicy | None = None,
    on_event: Callable[[DeployEvent], object] | None = None,
) -> DeployResult:
    """Upload `folder_path` to the Space and wait until the new code runs (see `SpacesClient.deploy`)."""
    validation.validate_repo_id(repo_id)
    hardware, timeout = check_deploy_arguments(
        folder_path,
        hardware,
        timeout,
        on_event,
        commit_message=commit_message,
        commit_description=commit_description,
        path_in_repo=path_in_repo,
        allow_patterns=allow_patterns,
        ignore_patterns=ignore_patterns,
        delete_patterns=delete_patterns,
    )
    clock = client.clock
    started = clock.now()

    def emit(event: DeployEvent) -> None:
        if on_event is not None:
            on_event(event)

    timeline = _Timeline(repo_id, clock, started, emit)
    before_info = await client.space_info(repo_id, files_metadata=True)
    before = await client.get_space_runtime(repo_id)
    info = await client.upload_folder(
        repo_id=repo_id,
        folder_path=folder_path,
        repo_type="space",
        path_in_repo=path_in_repo,
        commit_message=commit_message or "Deploy with aiospaces",
        commit_description=commit_description,
        allow_patterns=allow_patterns,
        ignore_patterns=ignore_patterns,
        delete_patterns=delete_patterns,
    )
    commit = info.oid
    changed = commit != before_info.sha
    count = 0
    if changed:
        after_info = await client.space_info(repo_id, revision=commit, files_metadata=True)
        count = files_changed(_files(before_info), _files(after_info))
        timeline.event("uploaded", commit=commit, files=count)
    else:
        timeline.event("unchanged", commit=commit)
    needs_hardware = hardware is not None and not (
        before.requested_hardware == hardware and before.hardware == hardware
    )
    if not changed and not needs_hardware and _stage(before) == "RUNNING":
        # The Space already runs these files (on the requested hardware): nothing to build or wait for.
        return DeployResult(repo_id, commit, False, 0, before, None, None, clock.now() - started)
    if needs_hardware:
        assert hardware is not None
        await client.request_space_hardware(repo_id, hardware)
        timeline.event("hardware", hardware=hardware)
    remaining = None if timeout is None else max(0.0, timeout - (clock.now() - started))
    try:
        runtime = await client.wait_until_running(
            repo_id, timeout=remaining, policy=policy, on_change=timeline.observe
        )
    except SpaceFailedError as exc:
        exc.commit = commit
        timeline.event(
            "failed", stage=exc.stage, failure_class=str(exc.failure_class), error_message=exc.error_message
        )
        raise
    timeline.event("running", timeline.start_seconds, hardware=runtime.hardware, commit=commit)
    return DeployResult(
        repo_id,
        commit,
        changed,
        count,
        runtime,
        timeline.build_seconds,
        timeline.start_seconds,
        clock.now() - started,
    )
