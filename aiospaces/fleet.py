"""Fleet operations: one operation applied to many Spaces with bounded concurrency, one outcome per Space.

```python
async with SpacesClient() as client:
    report = await client.fleet(repo_ids, concurrency=16).add_space_secret("API_KEY", value)
    report.raise_on_failure()
```

One Space's failure (any `SpacesError`) never cancels the others: it is recorded in the report. A bug (any
other exception, e.g. a `TypeError` in a callback) cancels the run and propagates.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import anyio
import attrs

from . import _wire, validation
from ._deploy import DEFAULT_DEPLOY_TIMEOUT, check_deploy_arguments
from .errors import SpacesError

if TYPE_CHECKING:
    from pathlib import Path

    from ._deploy import DeployEvent, DeployResult
    from .models import RepoUrl, SpaceInfo, SpaceRuntime, SpaceSecret, SpaceVariable

T = TypeVar("T")

__all__ = ["Fleet", "FleetClient", "FleetError", "FleetReport", "Outcome"]


class FleetClient(Protocol):
    """The client operations a `Fleet` applies (implemented by `SpacesClient`)."""

    def _check_token(self, token: object) -> None:
        """Raise for a per-call `token` naming another identity than the client's (before any request)."""

    async def get_space_runtime(self, repo_id: str) -> SpaceRuntime: ...

    async def space_info(self, repo_id: str, *, expand: Sequence[str] | None = None) -> SpaceInfo: ...

    async def add_space_secret(
        self, repo_id: str, key: str, value: str, *, description: str | None = None
    ) -> None: ...

    async def delete_space_secret(self, repo_id: str, key: str) -> None: ...

    async def get_space_secrets(self, repo_id: str) -> dict[str, SpaceSecret]: ...

    async def add_space_variable(
        self, repo_id: str, key: str, value: str, *, description: str | None = None
    ) -> dict[str, SpaceVariable]: ...

    async def delete_space_variable(self, repo_id: str, key: str) -> dict[str, SpaceVariable]: ...

    async def get_space_variables(self, repo_id: str) -> dict[str, SpaceVariable]: ...

    async def request_space_hardware(
        self, repo_id: str, hardware: str, *, sleep_time: int | None = None
    ) -> SpaceRuntime: ...

    async def set_space_sleep_time(self, repo_id: str, sleep_time: int) -> SpaceRuntime: ...

    async def pause_space(self, repo_id: str) -> SpaceRuntime: ...

    async def restart_space(self, repo_id: str, *, factory_reboot: bool = False) -> SpaceRuntime: ...

    async def enable_space_dev_mode(self, repo_id: str) -> SpaceRuntime: ...

    async def disable_space_dev_mode(self, repo_id: str) -> SpaceRuntime: ...

    async def set_space_volumes(self, repo_id: str, volumes: Sequence[Any]) -> None: ...

    async def create_repo(
        self,
        repo_id: str,
        *,
        private: bool | None = None,
        visibility: str | None = None,
        repo_type: str | None = None,
        exist_ok: bool = False,
        space_sdk: str | None = None,
        space_hardware: str | None = None,
        space_sleep_time: int | None = None,
        space_secrets: Sequence[Mapping[str, str]] | None = None,
        space_variables: Sequence[Mapping[str, str]] | None = None,
    ) -> RepoUrl: ...

    async def delete_repo(
        self, repo_id: str, *, repo_type: str | None = None, missing_ok: bool = False
    ) -> None: ...

    async def deploy(
        self,
        repo_id: str,
        folder_path: str | Path,
        *,
        hardware: str | None = None,
        timeout: float | None = ...,  # noqa: ASYNC109 - a deadline on the client's clock
        commit_message: str | None = None,
        commit_description: str | None = None,
        path_in_repo: str | None = None,
        allow_patterns: list[str] | str | None = None,
        ignore_patterns: list[str] | str | None = None,
        delete_patterns: list[str] | str | None = None,
        on_event: Callable[[DeployEvent], object] | None = None,
    ) -> DeployResult: ...


@attrs.frozen
class Outcome(Generic[T]):
    """What happened to one Space: `result` on success, `error` on failure.

    Attributes:
        repo_id: the Space.
        result: the operation's return value (None on failure, or when the operation returns None).
        error: the `SpacesError` raised for this Space, or None.
    """

    repo_id: str
    result: T | None = None
    error: SpacesError | None = None

    @property
    def ok(self) -> bool:
        """True when the operation succeeded for this Space."""
        return self.error is None


class FleetError(ExceptionGroup[SpacesError]):
    """Raised by `FleetReport.raise_on_failure()`: one `SpacesError` per failed Space (`.exceptions`), with
    the whole report in `.report`."""

    report: FleetReport[Any]

    def __new__(cls, message: str, exceptions: Sequence[SpacesError]) -> FleetError:
        return super().__new__(cls, message, exceptions)

    def derive(self, excs: Sequence[SpacesError]) -> FleetError:  # type: ignore[override]
        """A `FleetError` over `excs` carrying the same report (used by `except*` and `split()`)."""
        derived = FleetError(self.message, excs)
        derived.report = self.report
        return derived


@attrs.frozen
class FleetReport(Generic[T]):
    """One outcome per Space, in input order.

    Build one from results with `FleetReport.from_results([(repo_id, value_or_exception), ...])`.
    """

    outcomes: tuple[Outcome[T], ...]

    @classmethod
    def from_results(cls, pairs: Iterable[tuple[str, T | BaseException]]) -> FleetReport[T]:
        """Build a report from `(repo_id, result)` pairs where a `SpacesError` instance marks a failure.

        Raises:
            TypeError: a pair carries an exception that is not a `SpacesError` (a bug must propagate instead).
        """
        outcomes: list[Outcome[T]] = []
        for repo_id, value in pairs:
            if isinstance(value, SpacesError):
                outcomes.append(Outcome(repo_id=repo_id, error=value))
            elif isinstance(value, BaseException):
                raise TypeError(f"only SpacesError outcomes can be recorded, got {type(value).__name__}")
            else:
                outcomes.append(Outcome(repo_id=repo_id, result=value))
        return cls(outcomes=tuple(outcomes))

    def __iter__(self) -> Iterator[Outcome[T]]:
        return iter(self.outcomes)

    def __len__(self) -> int:
        return len(self.outcomes)

    def __getitem__(self, repo_id: str) -> Outcome[T]:
        for outcome in self.outcomes:
            if outcome.repo_id == repo_id:
                return outcome
        raise KeyError(repo_id)

    @property
    def ok(self) -> bool:
        """True when every Space succeeded."""
        return all(o.ok for o in self.outcomes)

    @property
    def succeeded(self) -> list[Outcome[T]]:
        """Outcomes that succeeded, in input order."""
        return [o for o in self.outcomes if o.ok]

    @property
    def failed(self) -> list[Outcome[T]]:
        """Outcomes that failed, in input order."""
        return [o for o in self.outcomes if not o.ok]

    @property
    def results(self) -> dict[str, T | None]:
        """`repo_id → result` for the Spaces that succeeded."""
        return {o.repo_id: o.result for o in self.outcomes if o.ok}

    @property
    def errors(self) -> dict[str, SpacesError]:
        """`repo_id → error` for the Spaces that failed."""
        return {o.repo_id: o.error for o in self.outcomes if o.error is not None}

    def raise_on_failure(self) -> None:
        """Raise a `FleetError` (an `ExceptionGroup`) of every failure; do nothing when all succeeded."""
        failures = [o.error for o in self.outcomes if o.error is not None]
        if failures:
            names = ", ".join(o.repo_id for o in self.failed[:5])
            more = f" and {len(failures) - 5} more" if len(failures) > 5 else ""
            error = FleetError(
                f"{len(failures)} of {len(self.outcomes)} Space{'s' if len(self.outcomes) != 1 else ''} "
                f"failed: {names}{more}",
                failures,
            )
            error.report = self
            raise error

    def __repr__(self) -> str:
        ok, failed = len(self.succeeded), len(self.failed)
        return f"FleetReport(total={len(self.outcomes)}, succeeded={ok}, failed={failed})"


class Fleet:
    """Many Spaces, one operation at a time. Create with `client.fleet(repo_ids, concurrency=...)`.

    Every method runs the client method of the same name for each Space, at most `concurrency` at once (the
    client's `max_concurrency` and rate-limit pacing apply on top), and returns a `FleetReport`. A `token`
    argument is checked as the client checks it (None, True or the client's own token), once, before any
    Space is touched.
    """

    def __init__(self, client: FleetClient, repo_ids: Iterable[str], *, concurrency: int = 16) -> None:
        if isinstance(repo_ids, str):
            raise TypeError("repo_ids must be a list of repo ids, not a single str")
        if not isinstance(repo_ids, Iterable):
            raise TypeError(f"repo_ids must be an iterable of repo ids, got {type(repo_ids).__name__}")
        # Every id is checked before any operation runs: nothing is sent for a fleet with one bad id.
        ids = list(repo_ids)
        seen: set[str] = set()
        for index, repo_id in enumerate(ids):
            validation.validate_repo_id(repo_id, arg=f"repo_ids[{index}]")
            if repo_id in seen:
                raise ValueError(f"repo_ids contains {repo_id!r} twice")
            seen.add(repo_id)
        self.client = client
        self.repo_ids: tuple[str, ...] = tuple(ids)
        self.concurrency = validation.validate_concurrency(concurrency)

    def __repr__(self) -> str:
        return f"Fleet(spaces={len(self.repo_ids)}, concurrency={self.concurrency})"

    async def run(self, operation: Callable[[str], Awaitable[T]]) -> FleetReport[T]:
        """Run `operation(repo_id)` for every Space; `SpacesError`s are recorded, anything else propagates."""
        results: list[T | BaseException | None] = [None] * len(self.repo_ids)
        # `concurrency` workers taking the Spaces in input order: the same schedule as one task per Space
        # behind a limiter, without a task and a limiter wait per Space.
        pending = iter(enumerate(self.repo_ids))

        async def worker() -> None:
            for index, repo_id in pending:
                try:
                    results[index] = await operation(repo_id)
                except SpacesError as exc:
                    results[index] = exc

        try:
            async with anyio.create_task_group() as tg:
                for _ in range(min(self.concurrency, len(self.repo_ids))):
                    tg.start_soon(worker)
        except BaseExceptionGroup as group:
            # A bug (or an argument error) cancels the run. Surface the first one as itself rather than
            # wrapped in the task group's ExceptionGroup, so `except ValueError:` works; the same mistake
            # usually hit several Spaces at once, and the first is representative.
            raise group.exceptions[0] from None
        return FleetReport.from_results(zip(self.repo_ids, results, strict=True))  # type: ignore[arg-type]

    # --- the operations ----------------------------------------------------------------------------------

    async def get_space_runtime(self, *, token: bool | str | None = None) -> FleetReport[SpaceRuntime]:
        """Read every runtime."""
        self.client._check_token(token)
        return await self.run(self.client.get_space_runtime)

    async def space_info(
        self, *, expand: Sequence[str] | None = None, token: bool | str | None = None
    ) -> FleetReport[SpaceInfo]:
        """Read every Space's info."""
        self.client._check_token(token)
        _wire.expand_values(expand)
        return await self.run(lambda r: self.client.space_info(r, expand=expand))

    async def add_space_secret(
        self, key: str, value: str, *, description: str | None = None, token: bool | str | None = None
    ) -> FleetReport[None]:
        """Add or update one secret on every Space."""
        self.client._check_token(token)
        validation.validate_key(key)
        validation.validate_value(value)
        validation.validate_optional_str(description, arg="description")
        return await self.run(lambda r: self.client.add_space_secret(r, key, value, description=description))

    async def delete_space_secret(self, key: str, *, token: bool | str | None = None) -> FleetReport[None]:
        """Delete one secret on every Space."""
        self.client._check_token(token)
        validation.validate_key(key)
        return await self.run(lambda r: self.client.delete_space_secret(r, key))

    async def get_space_secrets(
        self, *, token: bool | str | None = None
    ) -> FleetReport[dict[str, SpaceSecret]]:
        """Read every Space's secrets (keys and metadata)."""
        self.client._check_token(token)
        return await self.run(self.client.get_space_secrets)

    async def add_space_variable(
        self, key: str, value: str, *, description: str | None = None, token: bool | str | None = None
    ) -> FleetReport[dict[str, SpaceVariable]]:
        """Add or update one variable on every Space."""
        self.client._check_token(token)
        validation.validate_key(key)
        validation.validate_value(value)
        validation.validate_optional_str(description, arg="description")
        return await self.run(
            lambda r: self.client.add_space_variable(r, key, value, description=description)
        )

    async def delete_space_variable(
        self, key: str, *, token: bool | str | None = None
    ) -> FleetReport[dict[str, SpaceVariable]]:
        """Delete one variable on every Space."""
        self.client._check_token(token)
        validation.validate_key(key)
        return await self.run(lambda r: self.client.delete_space_variable(r, key))

    async def get_space_variables(
        self, *, token: bool | str | None = None
    ) -> FleetReport[dict[str, SpaceVariable]]:
        """Read every Space's variables."""
        self.client._check_token(token)
        return await self.run(self.client.get_space_variables)

    async def request_space_hardware(
        self, hardware: str, *, token: bool | str | None = None, sleep_time: int | None = None
    ) -> FleetReport[SpaceRuntime]:
        """Request the same hardware for every Space."""
        self.client._check_token(token)
        validation.validate_hardware(hardware)
        if sleep_time is not None:
            validation.validate_sleep_time(sleep_time)
        return await self.run(
            lambda r: self.client.request_space_hardware(r, hardware, sleep_time=sleep_time)
        )

    async def set_space_sleep_time(
        self, sleep_time: int, *, token: bool | str | None = None
    ) -> FleetReport[SpaceRuntime]:
        """Set the same sleep time on every Space."""
        self.client._check_token(token)
        validation.validate_sleep_time(sleep_time)
        return await self.run(lambda r: self.client.set_space_sleep_time(r, sleep_time))

    async def pause_space(self, *, token: bool | str | None = None) -> FleetReport[SpaceRuntime]:
        """Pause every Space."""
        self.client._check_token(token)
        return await self.run(self.client.pause_space)

    async def restart_space(
        self, *, token: bool | str | None = None, factory_reboot: bool = False
    ) -> FleetReport[SpaceRuntime]:
        """Restart every Space."""
        self.client._check_token(token)
        validation.validate_bool(factory_reboot, arg="factory_reboot")
        return await self.run(lambda r: self.client.restart_space(r, factory_reboot=factory_reboot))

    async def enable_space_dev_mode(self, *, token: bool | str | None = None) -> FleetReport[SpaceRuntime]:
        """Turn dev mode on for every Space."""
        self.client._check_token(token)
        return await self.run(self.client.enable_space_dev_mode)

    async def disable_space_dev_mode(self, *, token: bool | str | None = None) -> FleetReport[SpaceRuntime]:
        """Turn dev mode off for every Space."""
        self.client._check_token(token)
        return await self.run(self.client.disable_space_dev_mode)

    async def set_space_volumes(
        self, volumes: Sequence[Any], *, token: bool | str | None = None
    ) -> FleetReport[None]:
        """Mount the same volumes on every Space."""
        self.client._check_token(token)
        _wire.volumes_payload(volumes, arg="volumes")
        return await self.run(lambda r: self.client.set_space_volumes(r, volumes))

    async def create_repo(
        self,
        *,
        token: bool | str | None = None,
        space_sdk: str,
        private: bool | None = None,
        visibility: str | None = None,
        exist_ok: bool = False,
        space_hardware: str | None = None,
        space_sleep_time: int | None = None,
        space_secrets: Sequence[Any] | None = None,
        space_variables: Sequence[Any] | None = None,
    ) -> FleetReport[RepoUrl]:
        """Create every Space (`repo_type="space"`); safe to retry (see `create_repo`)."""
        self.client._check_token(token)
        if validation.enum_value(space_sdk, arg="space_sdk") not in _wire.SPACE_SDKS:
            raise ValueError(f"space_sdk must be one of {', '.join(_wire.SPACE_SDKS)}, got {space_sdk!r}")
        _wire.resolve_visibility(private, visibility, "space")
        validation.validate_bool(exist_ok, arg="exist_ok")
        if space_hardware is not None:
            validation.validate_hardware(space_hardware, arg="space_hardware")
        if space_sleep_time is not None:
            validation.validate_sleep_time(space_sleep_time, arg="space_sleep_time")
        _wire.secrets_list(space_secrets, arg="space_secrets")
        _wire.secrets_list(space_variables, arg="space_variables")
        return await self.run(
            lambda r: self.client.create_repo(
                r,
                repo_type="space",
                space_sdk=space_sdk,
                private=private,
                visibility=visibility,
                exist_ok=exist_ok,
                space_hardware=space_hardware,
                space_sleep_time=space_sleep_time,
                space_secrets=space_secrets,
                space_variables=space_variables,
            )
        )

    async def deploy(
        self,
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
        on_event: Callable[[DeployEvent], object] | None = None,
    ) -> FleetReport[DeployResult]:
        """Deploy one folder to every Space and wait until the new code runs on each (see
        `SpacesClient.deploy`).

        Each outcome is the Space's `DeployResult`, or the error that stopped it: a `SpaceFailedError` names
        its `failure_class` (build, app, config or platform) and carries the failing phase's log tail and the
        commit.
        """
        check_deploy_arguments(
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
        return await self.run(
            lambda r: self.client.deploy(
                r,
                folder_path,
                hardware=hardware,
                timeout=timeout,
                commit_message=commit_message,
                commit_description=commit_description,
                path_in_repo=path_in_repo,
                allow_patterns=allow_patterns,
                ignore_patterns=ignore_patterns,
                delete_patterns=delete_patterns,
                on_event=on_event,
            )
        )

    async def delete_repo(
        self, *, token: bool | str | None = None, missing_ok: bool = False
    ) -> FleetReport[None]:
        """Delete every Space."""
        self.client._check_token(token)
        validation.validate_bool(missing_ok, arg="missing_ok")
        return await self.run(lambda r: self.client.delete_repo(r, repo_type="space", missing_ok=missing_ok))
