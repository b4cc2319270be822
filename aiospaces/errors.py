"""The SDK's exceptions: one root, `SpacesError`, with separate branches for transport failures, HTTP status
errors from the Hub, waiting outcomes, billing safety and the task queue.

No exception ever carries a token or a secret value: status errors keep the method, the URL (never with
credentials), the status, the Hub's request id and the Hub's own message. Argument mistakes raise the
built-in `ValueError` / `TypeError` before any request.

The whole tree::

    SpacesError
    ├── OfflineModeError               HF_HUB_OFFLINE is set: nothing is sent
    ├── ClientClosedError              (also a RuntimeError) the client was closed: nothing is sent
    ├── UnexpectedResponseError        (also a ValueError) a success answer the SDK cannot read
    ├── TransportError                 no HTTP answer
    │   ├── BodyDecodingError          a streamed body that cannot be decoded
    │   ├── ConnectError               never reached the Hub
    │   └── RequestTimeoutError        (also a TimeoutError)
    ├── HubHTTPError                   an error status from the Hub
    │   ├── BadRequestError            400
    │   │   └── StorageDowngradeError  a lower storage tier than the Space has: delete it first
    │   ├── AuthenticationError        401
    │   ├── PaymentRequiredError       402
    │   ├── PermissionDeniedError      403
    │   ├── NotFoundError              404
    │   │   ├── RepositoryNotFoundError
    │   │   ├── RevisionNotFoundError
    │   │   └── EntryNotFoundError
    │   ├── ConflictError              409
    │   ├── CommitConflictError        412: the branch moved since `parent_commit`
    │   ├── RateLimitedError           429, with `retry_after`
    │   └── ServerError                5xx
    ├── WaitError                      a wait ended without reaching its goal
    │   ├── SpaceFailedError           a failure stage, with the log tail
    │   ├── SpaceNotRunningError       PAUSED, STOPPED, SLEEPING or DELETING
    │   ├── HardwareConflictError      someone else requested other hardware
    │   └── WaitTimeoutError           (also a TimeoutError)
    ├── HardwareRestoreError           temporary_hardware could not put the hardware back
    └── TaskLeaseLostError             a task queue claim was lost to another worker

    FleetSpecError (a ValueError)      a fleet file that cannot be used (`aiospaces.plan`)
    FleetError (an ExceptionGroup)     of the SpacesErrors of a FleetReport (`aiospaces.fleet`, next to it)

Every exception class of the SDK is defined here except `FleetError`, which is defined with the report it
carries, and private signals that never leave their module: `_Failed` (one failed attempt inside the
transport's retry loop), `_Interrupted` (a download body cut off, resumed from the bytes received) and
`_Unconfirmed` (the Hub's answer to a hardware restore shows another flavor). The CLI's own `UsageError`
(exit code 2) and the simulated Hub's exceptions (`aiospaces.hubsim`) never leave those packages either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._failures import FailureClass, classify_failure

if TYPE_CHECKING:
    from .models import SpaceRuntime


class SpacesError(Exception):
    """Root of every error raised by aiospaces (argument mistakes raise `ValueError`/`TypeError` instead)."""


class OfflineModeError(SpacesError):
    """`HF_HUB_OFFLINE` is set: no request is sent at all."""


class ClientClosedError(SpacesError, RuntimeError):
    """The client was closed (`aclose()`, or the end of its `async with` block): no request is sent."""


class UnexpectedResponseError(SpacesError, ValueError):
    """The Hub answered with a success status but a body the SDK cannot read (not JSON, or not the shape the
    Hub documents). A Hub fault, not a caller's bug: fleet operations record it per Space."""


# --- transport ------------------------------------------------------------------------------------------


class TransportError(SpacesError):
    """The request did not get an HTTP answer: connection refused or dropped, timeout, protocol error.

    Attributes:
        method: HTTP method of the failed request.
        url: URL of the failed request.
        sent: False when the request provably never reached the Hub (connect failure), True or None otherwise.
    """

    def __init__(self, message: str, *, method: str, url: str, sent: bool | None = None) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.sent = sent


class BodyDecodingError(TransportError):
    """A streamed body could not be decoded (e.g. a cut-off gzip stream): no use reading it again."""


class ConnectError(TransportError):
    """Could not connect; the request was not sent."""


class RequestTimeoutError(TransportError, TimeoutError):
    """The Hub did not answer in time (the request may have reached it)."""


# --- HTTP status --------------------------------------------------------------------------------------------


class HubHTTPError(SpacesError):
    """The Hub answered with an error status.

    Attributes:
        status: HTTP status code.
        method: HTTP method.
        url: request URL (never with credentials).
        request_id: the Hub's `X-Request-Id` (or `X-Amzn-Trace-Id` / `X-Amz-Cf-Id`), for support tickets.
        server_message: the Hub's message, from the JSON `error` or `X-Error-Message`.
        error_code: the Hub's `X-Error-Code` header, e.g. `RepoNotFound`.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        method: str,
        url: str,
        request_id: str | None = None,
        server_message: str | None = None,
        error_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.method = method
        self.url = url
        self.request_id = request_id
        self.server_message = server_message
        self.error_code = error_code


class BadRequestError(HubHTTPError):
    """400: the Hub rejected the request's content."""


class StorageDowngradeError(BadRequestError):
    """400 to a storage request for a lower tier than the Space has: the Hub never decreases a persistent
    storage tier; delete the storage (`delete_space_storage`, losing its data) and request the tier again.

    Attributes:
        current: the Space's storage tier.
        requested: the lower tier that was asked for.
    """

    def __init__(
        self,
        message: str,
        *,
        current: str,
        requested: str,
        method: str,
        url: str,
        request_id: str | None = None,
        server_message: str | None = None,
        error_code: str | None = None,
    ) -> None:
        super().__init__(
            message,
            status=400,
            method=method,
            url=url,
            request_id=request_id,
            server_message=server_message,
            error_code=error_code,
        )
        self.current = current
        self.requested = requested


class AuthenticationError(HubHTTPError):
    """401: missing or invalid token."""


class PaymentRequiredError(HubHTTPError):
    """402: the operation needs a payment method or credits (e.g. paid hardware)."""


class PermissionDeniedError(HubHTTPError):
    """403: the token is valid but may not do this (e.g. a read token writing)."""


class NotFoundError(HubHTTPError):
    """404 without a more specific code."""


class RepositoryNotFoundError(NotFoundError):
    """`X-Error-Code: RepoNotFound`: the repo does not exist or is not visible with this token."""


class RevisionNotFoundError(NotFoundError):
    """`X-Error-Code: RevisionNotFound`."""


class EntryNotFoundError(NotFoundError):
    """`X-Error-Code: EntryNotFound`: no such file at that revision."""


class ConflictError(HubHTTPError):
    """409: e.g. the repo already exists (`url` is the existing repo's URL when the Hub sends it)."""

    def __init__(self, message: str, *, existing_url: str | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.existing_url = existing_url


class CommitConflictError(HubHTTPError):
    """412: `parent_commit` is no longer the head of the branch; re-read and retry."""


class RateLimitedError(HubHTTPError):
    """429: the rate limit is spent. `retry_after` is the number of seconds until it resets, if known."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ServerError(HubHTTPError):
    """5xx: the Hub failed."""


# --- waiting ------------------------------------------------------------------------------------------------


class WaitError(SpacesError):
    """A wait ended without reaching its goal. `runtime` is the last runtime observed (None if none)."""

    def __init__(self, message: str, *, repo_id: str, runtime: SpaceRuntime | None = None) -> None:
        super().__init__(message)
        self.repo_id = repo_id
        self.runtime = runtime


class SpaceFailedError(WaitError):
    """The Space reached a failure stage (BUILD_ERROR, RUNTIME_ERROR, CONFIG_ERROR, NO_APP_FILE).

    Attributes:
        stage: the failure stage, as a string.
        error_message: the Hub's `errorMessage` from the runtime, if any.
        log_tail: the last lines of the build logs (build failures) or run logs (runtime failures).
        failure_class: who has to act: `FailureClass.BUILD`, `APP`, `CONFIG` or `PLATFORM` (see
            `classify_failure`), from the stage, the message and the log tail.
        commit: the commit whose deployment failed (set by `deploy`), else None.
    """

    def __init__(
        self,
        message: str,
        *,
        repo_id: str,
        stage: str,
        error_message: str | None = None,
        log_tail: Sequence[str] = (),
        runtime: SpaceRuntime | None = None,
        commit: str | None = None,
    ) -> None:
        super().__init__(message, repo_id=repo_id, runtime=runtime)
        self.stage = stage
        self.error_message = error_message
        self.log_tail = list(log_tail)
        self.failure_class: FailureClass | None = classify_failure(stage, error_message, self.log_tail)
        self.commit = commit


class SpaceNotRunningError(WaitError):
    """The Space is PAUSED, STOPPED, SLEEPING or DELETING while the caller waits for RUNNING (and did not ask
    to wake it)."""

    def __init__(
        self, message: str, *, repo_id: str, stage: str, runtime: SpaceRuntime | None = None
    ) -> None:
        super().__init__(message, repo_id=repo_id, runtime=runtime)
        self.stage = stage


class HardwareConflictError(WaitError):
    """While waiting for `expected` hardware, someone requested `requested` instead."""

    def __init__(
        self,
        message: str,
        *,
        repo_id: str,
        expected: str,
        requested: str | None,
        runtime: SpaceRuntime | None = None,
    ) -> None:
        super().__init__(message, repo_id=repo_id, runtime=runtime)
        self.expected = expected
        self.requested = requested


class WaitTimeoutError(WaitError, TimeoutError):
    """The wait's deadline passed. `runtime` is the last runtime observed; `last_seen` says it in words (its
    stage, the flavor running, a hardware switch still pending, the Hub's `errorMessage`), or is empty."""

    def __init__(
        self,
        message: str,
        *,
        repo_id: str,
        timeout: float,
        runtime: SpaceRuntime | None = None,
        last_seen: str = "",
    ) -> None:
        super().__init__(message, repo_id=repo_id, runtime=runtime)
        self.timeout = timeout
        self.last_seen = last_seen


# --- billing ------------------------------------------------------------------------------------------------


class HardwareRestoreError(SpacesError):
    """`temporary_hardware` could not put the Space back: `billed_hardware` is still requested and billing."""

    def __init__(self, message: str, *, repo_id: str, billed_hardware: str | None, restore_to: str) -> None:
        super().__init__(message)
        self.repo_id = repo_id
        self.billed_hardware = billed_hardware
        self.restore_to = restore_to


# --- task queue ---------------------------------------------------------------------------------------------


class TaskLeaseLostError(SpacesError):
    """The task is no longer held by this claim (its lease expired and someone else reclaimed it, or it was
    finished already); the caller's result must not overwrite the new owner's."""

    def __init__(self, message: str, *, task_id: str) -> None:
        super().__init__(message)
        self.task_id = task_id


# --- fleet files --------------------------------------------------------------------------------------------


class FleetSpecError(ValueError):
    """A fleet file that cannot be used: the message names the file and the offending key."""
