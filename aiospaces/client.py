"""`SpacesClient`: the public client.

It owns a `Session` (configuration, clock, HTTP transport, rate-limit state, action fences) and hands it to
its parts. The Hub operations are its base classes, one after the other: `_repos.RepoOperations` (account,
repos), `_core.HubOperations` (Space info and listing, secrets, variables, runtime, logs) and
`_repo_ops.RepoCalls` (search, templates, repo info and tree, move). Waiting
(`_waiting.Waiting`: watch, wait_*, fleet watching, temporary hardware), files (`_files.Files`: commits,
uploads, listing) and downloads (`_downloads.Downloads`) are components it delegates to. Every public method
is defined once: the Hub operations in `_repos.py`, `_core.py` and `_repo_ops.py`, the others here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO, Self

import httpx2

from ._clock import Clock
from ._commit_models import (
    CommitOperation,
    CommitOperationAdd,
    CommitOperationCopy,
    CommitOperationDelete,
)
from ._deploy import DEFAULT_DEPLOY_TIMEOUT, DeployEvent, DeployResult
from ._deploy import deploy as _deploy
from ._downloads import Downloads
from ._files import Files
from ._fleet_watch import FleetWatch
from ._poll import PollPolicy
from ._ratelimit import RateLimitState
from ._repo_ops import RepoCalls
from ._session import open_session
from ._temporary import TemporaryHardware
from ._transport import RetryPolicy
from ._waiting import Waiting
from ._watch import RuntimeChange, RuntimeWatch
from .fleet import Fleet, FleetReport
from .models import CommitInfo, SpaceRuntime

# The types `SpacesClient` methods return (besides the models), importable from here too.
__all__ = ["FleetWatch", "RuntimeChange", "RuntimeWatch", "SpacesClient", "TemporaryHardware"]


class SpacesClient(RepoCalls):
    """Async client for Hugging Face Spaces: every Space operation of `HfApi`, awaitable, plus waiting,
    fleet operations and billing safety.

    Use it as an async context manager (`async with SpacesClient() as client:`), or call `await
    client.aclose()` when done.

    Args:
        token: a Hub token; None reads `HF_TOKEN` then the token file; False sends none.
        endpoint: Hub base URL; None reads `HF_ENDPOINT` (default `https://huggingface.co`).
        timeout: per-request timeout in seconds (None: no timeout), or an `httpx2.Timeout`.
        max_concurrency: most requests in flight at once for this client.
        retry: a `RetryPolicy`, a number of retries, or False to disable retries.
        transport: an httpx transport (tests: `SimulatedHub.transport()`, `httpx2.MockTransport`).
        clock: where every sleep and timestamp goes (tests: a virtual clock). Default: the system clock.
        headers: extra headers sent with every request.
        user_agent: appended to the user-agent.

    Raises:
        ValueError: for a non-positive `max_concurrency`, a malformed endpoint or an invalid retry policy.
    """

    def __init__(
        self,
        *,
        token: str | bool | None = None,
        endpoint: str | None = None,
        timeout: float | httpx2.Timeout | None = 60.0,
        max_concurrency: int = 32,
        retry: RetryPolicy | int | bool | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        headers: Mapping[str, str] | None = None,
        user_agent: str | None = None,
    ) -> None:
        session = open_session(
            token=token,
            endpoint=endpoint,
            timeout=timeout,
            max_concurrency=max_concurrency,
            retry=retry,
            transport=transport,
            clock=clock,
            headers=headers,
            user_agent=user_agent,
        )
        super().__init__(session)
        self._waiting = Waiting(session, self)
        self._files = Files(session, self._ambiguity_safe)
        self._downloads = Downloads(session)

    # --- lifecycle and shared state ----------------------------------------------------------------------

    def __repr__(self) -> str:
        # Never the token: only whether there is one and where it came from.
        config = self._session.config
        return (
            f"{type(self).__name__}(endpoint={self.endpoint!r}, "
            f"authenticated={config.token is not None}, token_source={config.token_source!r})"
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool. The client cannot send requests afterwards."""
        await self._session.aclose()

    @property
    def rate_limit(self) -> RateLimitState:
        """The shared state of the Hub's `api` rate-limit bucket, fed by every response."""
        return self._session.rate_limit

    @property
    def max_concurrency(self) -> int:
        """Most requests in flight at once."""
        return int(self._session.transport.limiter.total_tokens)

    @property
    def clock(self) -> Clock:
        """The clock every sleep and timestamp of this client goes through."""
        return self._session.clock

    # --- fleet -------------------------------------------------------------------------------------------

    def fleet(self, repo_ids: Iterable[str], *, concurrency: int = 16) -> Fleet:
        """Apply one operation to many Spaces at once: see `aiospaces.fleet.Fleet`.

        Raises:
            ValueError: a malformed or duplicated repo id, or a non-positive `concurrency`.
        """
        return Fleet(self, repo_ids, concurrency=concurrency)

    # --- deploy ------------------------------------------------------------------------------------------

    async def deploy(
        self,
        repo_id: str,
        folder_path: str | Path,
        *,
        hardware: str | None = None,
        timeout: float | None = DEFAULT_DEPLOY_TIMEOUT,  # noqa: ASYNC109 - a deadline on the client's clock
        commit_message: str | None = None,
        commit_description: str | None = None,
        path_in_repo: str | None = None,
        allow_patterns: list[str] | str | None = None,
        ignore_patterns: list[str] | str | None = None,
        delete_patterns: list[str] | str | None = None,
        policy: PollPolicy | None = None,
        on_event: Callable[[DeployEvent], object] | None = None,
    ) -> DeployResult:
        """Upload a folder to a Space and wait until *that* code runs (on `hardware`, if given).

        The upload is `upload_folder` (files the Space already has are skipped). Its commit fences the wait
        that follows: the previous build, still RUNNING while the Hub schedules the new one, is not taken for
        the new code. When the folder matches the Space's files, nothing is committed and, if the Space runs
        (on `hardware`), the result comes back at once with `changed=False`. A Space whose rebuild shows no
        build or start stage at all (a static Space) is taken to run the new files once the fence's grace (a
        minute after the commit) has passed.

        ```python
        result = await client.deploy("alice/app", "./app", hardware="t4-small", timeout=900)
        print(result.commit, result.build_seconds, result.start_seconds)
        ```

        Args:
            repo_id: The Space.
            folder_path: The local folder holding the Space's files.
            hardware: A flavor to run on (requested after the upload when the Space is not on it yet).
            timeout: Seconds for the whole deploy (None: no limit; default 30 minutes). The upload counts
                against it but is never cut off: a commit is not interrupted halfway.
            commit_message: The commit's title (default "Deploy with aiospaces").
            commit_description: The commit's description.
            path_in_repo: Folder of the Space to upload into (default: its root).
            allow_patterns: Only upload files matching one of these (as `upload_folder`).
            ignore_patterns: Never upload files matching one of these.
            delete_patterns: Delete the Space's files matching one of these (files uploaded are kept).
            policy: The poll timing of the wait.
            on_event: Called with a `DeployEvent` at each step (uploaded, building, starting, running, ...).

        Returns:
            A `DeployResult`: the commit, whether anything changed, the final runtime, build and start times.

        Raises:
            SpaceFailedError: The new code did not run: `stage`, `error_message`, the failing phase's
                `log_tail`, the `commit` and its `failure_class` (build, app, config or platform).
            WaitTimeoutError: Not running at the deadline (a `TimeoutError`, with the last runtime).
            ValueError, TypeError: Bad arguments, before any request.
        """
        return await _deploy(
            self,
            repo_id,
            folder_path,
            hardware=hardware,
            timeout=timeout,
            commit_message=commit_message,
            commit_description=commit_description,
            path_in_repo=path_in_repo,
            allow_patterns=allow_patterns,
            ignore_patterns=ignore_patterns,
            delete_patterns=delete_patterns,
            policy=policy,
            on_event=on_event,
        )

    # --- waiting (design.md §3) --------------------------------------------------------------------------

    def watch(
        self, repo_id: str, *, timeout: float | None = None, policy: PollPolicy | None = None
    ) -> RuntimeWatch:
        """Watch a Space's runtime: an async iterator of `RuntimeChange`, one per change of stage, hardware,
        requested_hardware, storage, sleep_time or dev_mode, the first observation included.

        Polls fast while the Space is transitional and backs off while nothing changes (see `PollPolicy`),
        slowed down by the shared rate-limit state. The iteration ends when `timeout` seconds have passed
        (never, by default); breaking out or cancelling leaves nothing running::

            async for change in client.watch("alice/demo", timeout=600):
                print(change.stage, change.current.hardware)

        Args:
            repo_id: the Space.
            timeout: seconds to watch for, or None.
            policy: the poll timing (default `PollPolicy()`).

        Raises:
            ValueError, TypeError: bad arguments, before any request.
        """
        return self._waiting.watch(repo_id, timeout=timeout, policy=policy)

    async def wait_for_space(
        self,
        repo_id: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - a deadline on the client's clock
        poll_interval: float | None = None,
        policy: PollPolicy | None = None,
        on_change: Callable[[RuntimeChange], object] | None = None,
    ) -> SpaceRuntime:
        """Wait until the Space is no longer transitional, like `HfApi.wait_for_space`.

        Returns on any other stage, failure stages and PAUSED included (inspect `runtime.stage`); use
        `wait_until_running` to get errors instead.

        Args:
            repo_id: the Space.
            timeout: seconds to wait, or None.
            poll_interval: poll at this fixed interval instead of the adaptive policy (HfApi's argument).
            policy: the poll timing (exclusive with `poll_interval`).
            on_change: called with each `RuntimeChange` the wait's own reads observe (no extra request).

        Raises:
            WaitTimeoutError: still transitional at the deadline (a `TimeoutError`, with the last runtime).
            ValueError: a negative timeout or a non-positive poll interval.
        """
        return await self._waiting.wait_for_space(
            repo_id, timeout=timeout, poll_interval=poll_interval, policy=policy, on_change=on_change
        )

    async def wait_until(
        self,
        repo_id: str,
        predicate: Callable[[SpaceRuntime], bool],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - a deadline on the client's clock
        policy: PollPolicy | None = None,
        on_change: Callable[[RuntimeChange], object] | None = None,
    ) -> SpaceRuntime:
        """Wait until `predicate(runtime)` is true, e.g.
        `lambda r: r.hardware == r.requested_hardware and r.stage == "RUNNING"`.

        The predicate is checked first; if it is false and the Space is in a failure stage (BUILD_ERROR,
        RUNTIME_ERROR, CONFIG_ERROR, NO_APP_FILE), the wait raises instead of hanging.

        Args:
            repo_id: the Space.
            predicate: a function of the runtime.
            timeout: seconds to wait, or None.
            policy: the poll timing.
            on_change: called with each `RuntimeChange` the wait's own reads observe (no extra request).

        Raises:
            SpaceFailedError: a failure stage, with the Hub's error message and the last log lines.
            WaitTimeoutError: not true at the deadline (with the last runtime).
        """
        return await self._waiting.wait_until(
            repo_id, predicate, timeout=timeout, policy=policy, on_change=on_change
        )

    async def wait_until_running(
        self,
        repo_id: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - a deadline on the client's clock
        wake: bool = False,
        policy: PollPolicy | None = None,
        on_change: Callable[[RuntimeChange], object] | None = None,
    ) -> SpaceRuntime:
        """Wait until the Space is RUNNING (right after `request_space_hardware`: running the new flavor).

        Args:
            repo_id: the Space.
            timeout: seconds to wait, or None.
            wake: restart a PAUSED, STOPPED or SLEEPING Space (once) instead of raising.
            policy: the poll timing.
            on_change: called with each `RuntimeChange` the wait's own reads observe (no extra request).

        Raises:
            SpaceFailedError: a failure stage, with the Hub's error message and the last log lines.
            SpaceNotRunningError: PAUSED, STOPPED, SLEEPING or DELETING (and not `wake`, or DELETING).
            WaitTimeoutError: not running at the deadline (with the last runtime).
        """
        return await self._waiting.wait_until_running(
            repo_id, timeout=timeout, wake=wake, policy=policy, on_change=on_change
        )

    async def wait_for_hardware(
        self,
        repo_id: str,
        hardware: str | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - a deadline on the client's clock
        wake: bool = False,
        policy: PollPolicy | None = None,
        on_change: Callable[[RuntimeChange], object] | None = None,
    ) -> SpaceRuntime:
        """Wait until the Space runs `hardware`: current == requested == `hardware` and stage RUNNING.

        Does not request anything: call `request_space_hardware` first. `hardware` defaults to the flavor
        this client last requested for the Space, else the requested flavor of the first read.

        Args:
            repo_id: the Space.
            hardware: the flavor to wait for.
            timeout: seconds to wait, or None.
            wake: restart a PAUSED, STOPPED or SLEEPING Space (once) instead of raising.
            policy: the poll timing.
            on_change: called with each `RuntimeChange` the wait's own reads observe (no extra request).

        Raises:
            HardwareConflictError: another flavor is requested (by someone else) while waiting.
            SpaceFailedError: a failure stage, with the Hub's error message and the last log lines.
            SpaceNotRunningError: PAUSED, STOPPED, SLEEPING or DELETING (and not `wake`, or DELETING).
            WaitTimeoutError: not there at the deadline (with the last runtime).
        """
        return await self._waiting.wait_for_hardware(
            repo_id, hardware, timeout=timeout, wake=wake, policy=policy, on_change=on_change
        )

    def watch_many(
        self, repo_ids: Iterable[str], *, timeout: float | None = None, policy: PollPolicy | None = None
    ) -> FleetWatch:
        """Watch many Spaces with one shared poll loop: an async iterator of `RuntimeChange`.

        Spaces sharing an owner are read through `list_spaces(author=..., expand=["runtime"])` pages
        instead of one runtime call each. The iteration ends at `timeout`, or when no Space
        is left to watch. A Hub error reading one Space (e.g. NotFoundError: deleted) stops watching that
        Space only, as in `wait_all`'s report: it is logged at WARNING and kept in the watch's `errors`;
        when every Space has failed, the iteration raises the first error instead of ending quietly.

        Args:
            repo_ids: the Spaces (no duplicates).
            timeout: seconds to watch for, or None.
            policy: the poll timing, per Space.

        Raises:
            ValueError, TypeError: bad arguments, before any request.
        """
        return self._waiting.watch_many(repo_ids, timeout=timeout, policy=policy)

    async def wait_all(
        self,
        repo_ids: Iterable[str],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - a deadline on the client's clock
        wake: bool = False,
        policy: PollPolicy | None = None,
        on_change: Callable[[RuntimeChange], object] | None = None,
    ) -> FleetReport[SpaceRuntime]:
        """Wait until every Space is RUNNING (as `wait_until_running`), with one shared poll loop.

        One Space's failure never stops the others: the report has, per Space in input order, the RUNNING
        runtime or the error (`SpaceFailedError`, `SpaceNotRunningError`, `WaitTimeoutError`, or a Hub
        error reading it).

        Args:
            repo_ids: the Spaces (no duplicates).
            timeout: seconds to wait, or None (one deadline shared by all).
            wake: restart PAUSED, STOPPED or SLEEPING Spaces (once each) instead of failing them.
            policy: the poll timing, per Space.
            on_change: called with each `RuntimeChange` the shared poll loop observes (no extra request).
        """
        return await self._waiting.wait_all(
            repo_ids, timeout=timeout, wake=wake, policy=policy, on_change=on_change
        )

    def temporary_hardware(
        self,
        repo_id: str,
        hardware: str,
        *,
        restore: str | None = None,
        sleep_time: int | None = None,
        timeout: float | None = None,
    ) -> TemporaryHardware:
        """Run a block on other hardware, then always put the Space back::

            async with client.temporary_hardware("alice/demo", "t4-medium", timeout=900) as runtime:
                ...  # the Space runs on t4-medium here

        On entry: remembers the requested hardware (and sleep time), requests `hardware` and waits until it
        runs (`wait_for_hardware`). On exit — normal, exception or cancellation, and also when the entry
        itself fails midway — requests the remembered hardware (or `restore`) back, shielded from
        cancellation, retried, and checks that `requested_hardware` changed back. The previous sleep time is
        put back too when `sleep_time` was given.

        Args:
            repo_id: the Space.
            hardware: the flavor to run the block on.
            restore: the flavor to go back to (default: the one requested on entry).
            sleep_time: the sleep time to set with `hardware`.
            timeout: seconds to wait for `hardware` to run.

        Raises:
            HardwareRestoreError: the hardware could not be put back (logged at ERROR too): names the Space
                and the flavor still billed.
        """
        return self._waiting.temporary_hardware(
            repo_id, hardware, restore=restore, sleep_time=sleep_time, timeout=timeout
        )

    # --- files (hub-api.md §11, §12) ---------------------------------------------------------------------

    async def create_commit(
        self,
        repo_id: str,
        operations: Iterable[CommitOperation | CommitOperationCopy],
        *,
        commit_message: str,
        commit_description: str | None = None,
        repo_type: str | None = None,
        revision: str | None = None,
        create_pr: bool | None = None,
        num_threads: int = 5,
        parent_commit: str | None = None,
    ) -> CommitInfo:
        """Create one commit adding, copying and deleting files, as `HfApi.create_commit`.

        Small files travel inline (base64 in the NDJSON body); files the Hub's preupload answer marks `lfs`
        are first uploaded through the LFS batch endpoint, streamed from disk. Files whose content the Hub
        already has at that path (same preupload `oid`) are left out; if nothing is left, no commit is made
        and the current head is returned.

        The commit request is not idempotent (sent twice, it makes two commits), so when its answer is lost
        (a dropped connection, a timeout, a 5xx that may come from a proxy) the branch is read first: if the
        commit is there (a commit newer than the head before sending, with this title, whose tree holds these
        operations; with `parent_commit`, only the commit right after it), it is returned; otherwise it is
        sent again. It is reported failed only when it is not in the repo. A 412 is still a real conflict,
        unless the commit that made the branch move is this one. With `create_pr`, the pull requests opened
        since are searched the same way.

        Args:
            repo_id: `namespace/name`.
            operations: `CommitOperationAdd`, `CommitOperationCopy` and `CommitOperationDelete` items (a copy
                reads its source file from the Hub and commits it as an addition).
            commit_message: the commit's title (required, non-empty).
            commit_description: the commit's description.
            repo_type: "model" (default), "dataset" or "space".
            revision: branch to commit to (default "main").
            create_pr: open a pull request instead of committing to the branch.
            num_threads: how many files are hashed or uploaded at once.
            parent_commit: the commit the change is based on; if the branch moved since, the Hub answers 412.

        Returns:
            The new commit (or the unchanged head when every file was already up to date).

        Raises:
            CommitConflictError: `parent_commit` is no longer the head of the branch.
            RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError: as the Hub answers.
            ValueError, TypeError: bad arguments (before any request).
        """
        if isinstance(operations, str | bytes) or not isinstance(operations, Iterable):
            raise TypeError("operations must be an iterable of commit operations")
        given = list(operations)

        async def commit(ops: list[CommitOperation]) -> CommitInfo:
            return await self._files.create_commit(
                repo_id,
                ops,
                commit_message=commit_message,
                commit_description=commit_description,
                repo_type=repo_type,
                revision=revision,
                create_pr=create_pr,
                num_threads=num_threads,
                parent_commit=parent_commit,
            )

        plain = [op for op in given if not isinstance(op, CommitOperationCopy)]
        if len(plain) == len(given):
            return await commit(plain)
        with tempfile.TemporaryDirectory(prefix="aiospaces-copy-") as folder:
            ops = await self._copies_as_additions(given, repo_id, repo_type, revision, Path(folder))
            return await commit(ops)

    async def _copies_as_additions(
        self,
        ops: Sequence[CommitOperation | CommitOperationCopy],
        repo_id: str,
        repo_type: str | None,
        revision: str | None,
        folder: Path,
    ) -> list[CommitOperation]:
        """Each `CommitOperationCopy` replaced by the addition of its source file, downloaded into `folder`.

        The source revision defaults as in huggingface_hub (`_fetch_files_to_copy`): the commit's own
        revision for a file of this repo, "main" for another repo's. A missing source raises
        `EntryNotFoundError` before anything is committed.
        """
        result: list[CommitOperation] = []
        for index, op in enumerate(ops):
            if not isinstance(op, CommitOperationCopy):
                result.append(op)
                continue
            other_repo = op.src_repo_id is not None
            local = await self.hf_hub_download(
                op.src_repo_id or repo_id,
                op.src_path_in_repo,
                repo_type=op.src_repo_type if other_repo else repo_type,
                revision=op.src_revision or ("main" if other_repo else revision),
                local_dir=folder / str(index),
            )
            result.append(CommitOperationAdd(path_in_repo=op.path_in_repo, path_or_fileobj=local))
        return result

    async def upload_file(
        self,
        *,
        path_or_fileobj: str | Path | bytes | BinaryIO,
        path_in_repo: str,
        repo_id: str,
        repo_type: str | None = None,
        revision: str | None = None,
        commit_message: str | None = None,
        commit_description: str | None = None,
        create_pr: bool | None = None,
        parent_commit: str | None = None,
    ) -> CommitInfo:
        """Upload one file in its own commit, as `HfApi.upload_file`.

        Args:
            path_or_fileobj: a local path, the content as bytes, or a binary file object.
            path_in_repo: where the file goes in the repo.
            repo_id: `namespace/name`.
            repo_type: "model" (default), "dataset" or "space".
            revision: branch to commit to (default "main").
            commit_message: default `"Upload <path_in_repo> with aiospaces"`.
            commit_description: the commit's description.
            create_pr: open a pull request instead.
            parent_commit: the commit the change is based on (412 → `CommitConflictError` if stale).

        Returns:
            The commit.
        """
        return await self._files.upload_file(
            path_or_fileobj=path_or_fileobj,
            path_in_repo=path_in_repo,
            repo_id=repo_id,
            repo_type=repo_type,
            revision=revision,
            commit_message=commit_message,
            commit_description=commit_description,
            create_pr=create_pr,
            parent_commit=parent_commit,
        )

    async def upload_folder(
        self,
        *,
        repo_id: str,
        folder_path: str | Path,
        path_in_repo: str | None = None,
        commit_message: str | None = None,
        commit_description: str | None = None,
        repo_type: str | None = None,
        revision: str | None = None,
        create_pr: bool | None = None,
        parent_commit: str | None = None,
        allow_patterns: list[str] | str | None = None,
        ignore_patterns: list[str] | str | None = None,
        delete_patterns: list[str] | str | None = None,
    ) -> CommitInfo:
        """Upload a local folder in one commit, as `HfApi.upload_folder`.

        Patterns are fnmatch-style, applied to paths relative to `folder_path` (or, for `delete_patterns`,
        relative to `path_in_repo` in the repo); `*` also matches `/`, a pattern ending in `/` matches a whole
        folder. `.git` and `.cache/huggingface` are always ignored and `.gitattributes` is never deleted.

        Args:
            repo_id: `namespace/name`.
            folder_path: the local folder.
            path_in_repo: folder in the repo to upload into (default: the root).
            commit_message: default `"Upload folder using aiospaces"`.
            commit_description: the commit's description.
            repo_type: "model" (default), "dataset" or "space".
            revision: branch to commit to (default "main").
            create_pr: open a pull request against the default branch instead.
            parent_commit: the commit the change is based on (412 → `CommitConflictError` if stale).
            allow_patterns: only upload files matching one of these.
            ignore_patterns: never upload files matching one of these.
            delete_patterns: delete remote files under `path_in_repo` matching one of these (files uploaded in
                the same commit are replaced, not deleted).

        Returns:
            The commit (or the unchanged head if no file changed).
        """
        return await self._files.upload_folder(
            repo_id=repo_id,
            folder_path=folder_path,
            path_in_repo=path_in_repo,
            commit_message=commit_message,
            commit_description=commit_description,
            repo_type=repo_type,
            revision=revision,
            create_pr=create_pr,
            parent_commit=parent_commit,
            allow_patterns=allow_patterns,
            ignore_patterns=ignore_patterns,
            delete_patterns=delete_patterns,
        )

    async def delete_file(
        self,
        path_in_repo: str,
        repo_id: str,
        *,
        repo_type: str | None = None,
        revision: str | None = None,
        commit_message: str | None = None,
        commit_description: str | None = None,
        create_pr: bool | None = None,
        parent_commit: str | None = None,
    ) -> CommitInfo:
        """Delete one file in a commit, as `HfApi.delete_file`: a `create_commit` with one
        `CommitOperationDelete`, so it lands exactly once like any commit (a lost answer is looked up before
        resending).

        Raises:
            EntryNotFoundError: no such file at `revision`.
            RepositoryNotFoundError, RevisionNotFoundError, CommitConflictError: as `create_commit`.
            ValueError, TypeError: bad arguments (before any request).
        """
        operation = CommitOperationDelete(path_in_repo=path_in_repo)
        return await self.create_commit(
            repo_id,
            [operation],
            commit_message=commit_message
            if commit_message is not None
            else f"Delete {path_in_repo} with huggingface_hub",
            commit_description=commit_description,
            repo_type=repo_type,
            revision=revision,
            create_pr=create_pr,
            parent_commit=parent_commit,
        )

    async def delete_folder(
        self,
        path_in_repo: str,
        repo_id: str,
        *,
        repo_type: str | None = None,
        revision: str | None = None,
        commit_message: str | None = None,
        commit_description: str | None = None,
        create_pr: bool | None = None,
        parent_commit: str | None = None,
    ) -> CommitInfo:
        """Delete a folder and everything under it in a commit, as `HfApi.delete_folder` (a `create_commit`
        with one `CommitOperationDelete(is_folder=True)`).

        Raises:
            EntryNotFoundError: no such folder at `revision`.
            RepositoryNotFoundError, RevisionNotFoundError, CommitConflictError: as `create_commit`.
            ValueError, TypeError: bad arguments (before any request).
        """
        operation = CommitOperationDelete(path_in_repo=path_in_repo, is_folder=True)
        return await self.create_commit(
            repo_id,
            [operation],
            commit_message=commit_message
            if commit_message is not None
            else f"Delete folder {path_in_repo} with huggingface_hub",
            commit_description=commit_description,
            repo_type=repo_type,
            revision=revision,
            create_pr=create_pr,
            parent_commit=parent_commit,
        )

    async def list_repo_files(
        self, repo_id: str, *, revision: str | None = None, repo_type: str | None = None
    ) -> list[str]:
        """Every file path in the repo at `revision`, as `HfApi.list_repo_files`.

        Reads `GET /api/{type}s/{id}/tree/{rev}?recursive=true` and follows its `Link` pagination.
        """
        return await self._files.list_repo_files(repo_id, revision=revision, repo_type=repo_type)

    async def hf_hub_download(
        self,
        repo_id: str,
        filename: str,
        *,
        subfolder: str | None = None,
        repo_type: str | None = None,
        revision: str | None = None,
        cache_dir: str | Path | None = None,
        local_dir: str | Path | None = None,
        force_download: bool = False,
        etag_timeout: float = 10,
        local_files_only: bool = False,
    ) -> str:
        """Download one file and return its local path, as `hf_hub_download`.

        Without `local_dir`, the file lands in a cache laid out like huggingface_hub's, so both share it:
        `<cache_dir>/<type>s--<ns>--<name>/blobs/<etag>`, `snapshots/<commit>/<filename>` (a relative
        symlink to the blob, or a copy where symlinks are unsupported) and `refs/<revision>` (the commit sha).
        A `HEAD` request gives the commit and ETag; a cached blob with that ETag is reused without
        downloading. If the Hub can't be reached, the copy cached for `revision` is returned.

        With `local_dir`, the file is written to `<local_dir>/<filename>` and its commit and ETag to
        `<local_dir>/.cache/huggingface/download/<filename>.metadata`; an up-to-date copy is not downloaded
        again.

        Args:
            repo_id: `namespace/name`.
            filename: path of the file in the repo.
            subfolder: folder in the repo prepended to `filename`.
            repo_type: "model" (default), "dataset" or "space".
            revision: branch, tag or commit sha (default "main").
            cache_dir: cache root (default: `HF_HUB_CACHE`, `$HF_HOME/hub` or `~/.cache/huggingface/hub`,
                as set when the client was created).
            local_dir: download into this folder instead of the cache.
            force_download: download even if a cached copy is up to date.
            etag_timeout: seconds to wait for the metadata (`HEAD`) answer.
            local_files_only: never send a request; return the cached copy or raise `FileNotFoundError`.

        Returns:
            The local path of the file, as a str.

        Raises:
            EntryNotFoundError, RevisionNotFoundError, RepositoryNotFoundError: as the Hub answers.
            FileNotFoundError: `local_files_only=True` and no cached copy.
        """
        return await self._downloads.hf_hub_download(
            repo_id,
            filename,
            subfolder=subfolder,
            repo_type=repo_type,
            revision=revision,
            cache_dir=cache_dir,
            local_dir=local_dir,
            force_download=force_download,
            etag_timeout=etag_timeout,
            local_files_only=local_files_only,
        )

    async def read_file(
        self, repo_id: str, filename: str, *, repo_type: str | None = None, revision: str | None = None
    ) -> bytes | None:
        """The content of a (small) file of a repo, in memory, or None when the revision has no such file.

        `GET /{type}s/{id}/resolve/{revision}/{filename}`. Pass a commit sha as `revision`
        (see `revision_sha`) to read exactly the file a later `create_commit(parent_commit=sha)` is based on.

        Args:
            repo_id: `namespace/name`.
            filename: the file's path in the repo.
            repo_type: "model" (default), "dataset" or "space".
            revision: a branch, tag or commit sha (default "main").

        Raises:
            RepositoryNotFoundError, RevisionNotFoundError: as the Hub answers.
            ValueError, TypeError: bad arguments (before any request).
        """
        return await self._downloads.read_file(repo_id, filename, repo_type=repo_type, revision=revision)

    async def revision_sha(
        self, repo_id: str, *, repo_type: str | None = None, revision: str | None = None
    ) -> str:
        """The commit sha a branch or tag of a repo points to now.

        `GET /api/{type}s/{id}/revision/{revision}?expand=sha`: a cheap read of a branch's
        head, e.g. to commit with `parent_commit` (compare-and-swap) on what was read at that sha.

        Args:
            repo_id: `namespace/name`.
            repo_type: "model" (default), "dataset" or "space".
            revision: a branch, tag or commit sha (default "main").

        Raises:
            RepositoryNotFoundError, RevisionNotFoundError: as the Hub answers.
            ValueError, TypeError: bad arguments (before any request).
        """
        return await self._files.revision_sha(repo_id, repo_type=repo_type, revision=revision)
