"""`SpacesClient`: the public client.

It owns a `Session` (configuration, clock, HTTP transport, rate-limit state, action fences) and hands it to
its parts. HfApi's operations are its base classes, one after the other: `_repos.RepoOperations` (account,
repos), `_core.HubOperations` (Space info and listing, secrets, variables, runtime, logs),
`_repo_ops.RepoCalls` (search, templates, repo info and tree, move) and `_file_ops.FileCalls` (commits,
uploads, listing, downloads). What the SDK adds is defined here: lifecycle, `fleet`, `deploy`, and waiting,
which delegates to its component (`_waiting.Waiting`: watch, wait_*, fleet watching, temporary hardware).
Every public method is defined once, in one of those five classes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import FunctionType
from typing import Self

import httpx2

from ._clock import Clock
from ._deploy import DEFAULT_DEPLOY_TIMEOUT, DeployEvent, DeployResult
from ._deploy import deploy as _deploy
from ._file_ops import FileCalls
from ._fleet_watch import FleetWatch
from ._poll import PollPolicy
from ._ratelimit import RateLimitState
from ._session import open_session
from ._temporary import TemporaryHardware
from ._transport import RetryPolicy
from ._waiting import Waiting
from ._watch import RuntimeChange, RuntimeWatch
from .fleet import Fleet, FleetReport
from .models import SpaceRuntime

# The types `SpacesClient` methods return (besides the models), importable from here too.
__all__ = ["FleetWatch", "RuntimeChange", "RuntimeWatch", "SpacesClient", "TemporaryHardware"]


class SpacesClient(FileCalls):
    """Async client for Hugging Face Spaces: every Space operation of `HfApi`, awaitable, plus waiting,
    fleet operations and billing safety.

    Use it as an async context manager (`async with SpacesClient() as client:`), or call `await
    client.aclose()` when done.

    Methods ported from `HfApi` take its per-call `token` argument too. None, True or this client's own token
    call as the client; any other token (or False, on a client that has a token) raises a ValueError before
    any request: a client is one identity, with one connection pool and one rate-limit state, so calls made
    with another token need a `SpacesClient` of their own.

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
        token: bool | str | None = None,
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
            token: `HfApi`'s per-call token; only None, True or this client's own (see `SpacesClient`).

        Raises:
            WaitTimeoutError: still transitional at the deadline (a `TimeoutError`, with the last runtime).
            ValueError: a negative timeout or a non-positive poll interval.
        """
        self._check_token(token)
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
        """Wait until the Space is RUNNING as configured: right after `request_space_hardware`, or while the
        runtime shows another flavor requested than the one running (whoever asked), on the requested flavor.

        Args:
            repo_id: the Space.
            timeout: seconds to wait, or None.
            wake: restart a PAUSED, STOPPED or SLEEPING Space (once) instead of raising.
            policy: the poll timing.
            on_change: called with each `RuntimeChange` the wait's own reads observe (no extra request).

        Raises:
            SpaceFailedError: a failure stage, with the Hub's error message and the last log lines.
            SpaceNotRunningError: PAUSED, STOPPED, SLEEPING or DELETING (and not `wake`, or DELETING).
            WaitTimeoutError: not running at the deadline (with the last runtime, and `last_seen` saying it).
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


def _name_public_methods_after_the_client() -> None:
    """Methods defined in the client's private base classes are named as `SpacesClient` methods.

    CPython names a function in a call error ("X() got an unexpected keyword argument") and in tracebacks by
    its code object's qualified name: without this, a typo in an argument of `client.create_repo` would
    point the user at a private class they never used.
    """
    for base in SpacesClient.__mro__[1:]:
        if not base.__module__.startswith("aiospaces."):
            continue
        for name, attribute in vars(base).items():
            if name.startswith("_") or not inspect.isfunction(attribute):
                continue
            function: FunctionType = attribute
            if getattr(SpacesClient, name, None) is not function:
                continue  # overridden further down: that definition is the client's
            qualname = f"SpacesClient.{name}"
            function.__qualname__ = qualname
            function.__code__ = function.__code__.replace(co_qualname=qualname)


_name_public_methods_after_the_client()
