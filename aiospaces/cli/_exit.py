"""Exit codes of the `aiospaces` command, and the mapping from an exception to (code, one actionable line)."""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence

from .. import errors

EXIT_CODES_HELP = """\
exit codes:
  0  success
  1  a Space reached a failure stage (BUILD_ERROR, RUNTIME_ERROR, CONFIG_ERROR, NO_APP_FILE; its log tail
     is printed on stderr), is paused/stopped while waiting for RUNNING (use --wake), had other hardware
     requested while waiting for its hardware, or the Hub failed the operation (5xx, network)
  2  usage error: bad arguments (also as the Hub judges them: 400), unknown Space (404), unreachable
     endpoint, offline mode
  3  timeout: the wait's deadline passed, or the Hub did not answer in time
  4  authentication or permission: missing/invalid token (401), not allowed (403), payment required (402)
  5  some Spaces of a command over several Spaces failed (the per-Space table says which and why); when
     every Space failed for the same kind of reason (e.g. a bad token), that reason's code instead
  130  interrupted (Ctrl-C)
  141  the output was closed early (e.g. piped into `head`)
"""


class ExitCode(enum.IntEnum):
    """Process exit codes; documented in `aiospaces --help` and README.md."""

    OK = 0
    SPACE_FAILED = 1
    USAGE = 2
    TIMEOUT = 3
    AUTH = 4
    PARTIAL = 5
    INTERRUPTED = 130
    BROKEN_PIPE = 141  # 128 + SIGPIPE, what a Unix tool killed by a closed pipe exits with


class UsageError(Exception):
    """A mistake in the command line or the environment that the CLI detects itself (exit code 2)."""


def _hub_detail(exc: errors.HubHTTPError) -> str:
    if exc.server_message:
        return f"{exc.status} {exc.server_message}"
    # No message from the server: the error's own text already starts with the status (`404 Not Found for
    # GET ...`), so it is not prefixed again.
    return str(exc)


_SPACE_IN_URL = re.compile(r"/api/spaces/([^/?#]+/[^/?#]+)")


def space_of(exc: BaseException) -> str | None:
    """The Space a Hub or transport error is about, from its request URL (None when not a Space route)."""
    match = _SPACE_IN_URL.search(str(getattr(exc, "url", "") or ""))
    return match.group(1) if match else None


def classify(exc: BaseException) -> tuple[ExitCode, str] | None:
    """Map an exception to an exit code and one actionable line, or None when it is a bug (not a user error).

    Never includes a token: the SDK's errors carry no credentials, and this only reads their public fields.
    """
    if isinstance(exc, UsageError):
        return ExitCode.USAGE, str(exc)
    if isinstance(exc, errors.SpaceFailedError):
        detail = f": {exc.error_message}" if exc.error_message else ""
        return ExitCode.SPACE_FAILED, f"{exc.repo_id} reached {exc.stage}{detail}"
    if isinstance(exc, errors.SpaceNotRunningError):
        return ExitCode.SPACE_FAILED, f"{exc.repo_id} is {exc.stage}; pass --wake to restart it and wait"
    if isinstance(exc, errors.HardwareConflictError):
        return (
            ExitCode.SPACE_FAILED,
            f"{exc.repo_id}: {exc.requested} was requested by someone else while waiting for {exc.expected}",
        )
    if isinstance(exc, errors.WaitTimeoutError):
        last = f" ({exc.last_seen})" if exc.last_seen else ""
        return ExitCode.TIMEOUT, f"{exc.repo_id} not ready after {exc.timeout:g}s{last}; raise --timeout"
    if isinstance(exc, errors.RequestTimeoutError):
        return ExitCode.TIMEOUT, f"the Hub did not answer in time ({exc.method} {exc.url})"
    if isinstance(exc, errors.AuthenticationError):
        return (
            ExitCode.AUTH,
            f"authentication failed ({_hub_detail(exc)}); set HF_TOKEN or pass --token with a valid token",
        )
    if isinstance(exc, errors.PermissionDeniedError):
        return ExitCode.AUTH, f"permission denied ({_hub_detail(exc)}); use a token with write access"
    if isinstance(exc, errors.PaymentRequiredError):
        return ExitCode.AUTH, f"payment required ({_hub_detail(exc)}); add a payment method on the Hub"
    if isinstance(exc, errors.BadRequestError):
        # The Hub validates what the SDK cannot know locally (e.g. the list of hardware flavors): a 400 is a
        # mistake in the command's arguments, not a failure of the Hub.
        return ExitCode.USAGE, f"the Hub rejected {exc.method} {exc.url}: {_hub_detail(exc)}"
    if isinstance(exc, errors.NotFoundError):
        return (
            ExitCode.USAGE,
            f"not found ({_hub_detail(exc)}); check the Space id and that your token can see it",
        )
    if isinstance(exc, errors.ConnectError):
        return ExitCode.USAGE, f"cannot connect to the Hub ({exc.url}); check --endpoint / HF_ENDPOINT"
    if isinstance(exc, errors.OfflineModeError):
        return ExitCode.USAGE, "HF_HUB_OFFLINE is set: unset it to talk to the Hub"
    if isinstance(exc, errors.RateLimitedError):
        wait = f"; retry in {exc.retry_after:g}s" if exc.retry_after is not None else ""
        return ExitCode.SPACE_FAILED, f"rate limited by the Hub ({_hub_detail(exc)}){wait}"
    if isinstance(exc, errors.HubHTTPError):
        return ExitCode.SPACE_FAILED, f"the Hub refused {exc.method} {exc.url}: {_hub_detail(exc)}"
    if isinstance(exc, errors.TransportError):
        return ExitCode.SPACE_FAILED, f"network error on {exc.method} {exc.url}: {exc}"
    if isinstance(exc, errors.UnexpectedResponseError):
        # Typically an endpoint that is not a Hub at all (an HTML page answering 200).
        return ExitCode.SPACE_FAILED, f"{exc}; is --endpoint / HF_ENDPOINT a Hugging Face Hub?"
    if isinstance(exc, errors.SpacesError):
        return ExitCode.SPACE_FAILED, str(exc)
    if isinstance(exc, ValueError):
        # The SDK validates arguments before sending anything and names the argument in the message. (The CLI
        # only passes strings and numbers it parsed itself, so a TypeError would be a bug: not caught here.)
        return ExitCode.USAGE, str(exc)
    return None


def combined_code(codes: Sequence[int], total: int) -> int:
    """The exit code of a command over `total` Spaces whose failures had `codes` (one per failed Space).

    Every Space failing for one kind of reason (a bad token: 401 everywhere) exits with that reason's code, as
    the same command on one Space would; anything else that failed is partial (5).
    """
    if codes and len(codes) == total and len(set(codes)) == 1:
        return codes[0]
    return ExitCode.PARTIAL if codes else ExitCode.OK


def classified(exc: BaseException) -> tuple[ExitCode, str]:
    """`classify` for an error recorded per Space: a fleet records only `SpacesError`s, which `classify`
    always maps; anything else counts as the operation failing (1)."""
    found = classify(exc)
    return found if found is not None else (ExitCode.SPACE_FAILED, str(exc))
