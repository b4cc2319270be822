"""Why a Space failed, in terms a user can act on: a pure classifier over the stage, the Hub's `errorMessage`
and the log tail of the failing phase. No I/O.

The four classes say who has to act:

- `build`: the image did not build (a dependency that does not resolve, a broken Dockerfile): fix the
  requirements or the Dockerfile;
- `app`: the image built and the app crashed at start (a traceback, an exit code): fix the code;
- `config`: the Space's configuration is invalid or incomplete (README front matter, a missing app file):
  fix the README;
- `platform`: the Hub could not run the Space (no machine for the hardware, scheduling failed): nothing in the
  repo to fix; retry later or pick other hardware.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

__all__ = ["FailureClass", "classify_failure"]


class FailureClass(enum.StrEnum):
    """Who has to act on a failed Space (see `classify_failure`)."""

    BUILD = "build"
    APP = "app"
    CONFIG = "config"
    PLATFORM = "platform"


# Scheduler and container-runtime failures as the Hub words them in a RUNTIME_ERROR's `errorMessage` (seen on
# huggingface.co Spaces pages: "Scheduling failure: not enough hardware capacity", "Scheduling failure:
# unable to schedule", "Exit code: 128. Reason: failed to create containerd task: ..."). None of them is the
# app's doing: the container never ran the app.
PLATFORM_MARKERS = (
    "scheduling failure",
    "unable to schedule",
    "not enough hardware capacity",
    "failed to create containerd task",
    "failed to create shim task",
)

_BY_STAGE = {
    "BUILD_ERROR": FailureClass.BUILD,
    "CONFIG_ERROR": FailureClass.CONFIG,
    "NO_APP_FILE": FailureClass.CONFIG,
    "RUNTIME_ERROR": FailureClass.APP,
}


def classify_failure(
    stage: object, error_message: str | None = None, log_tail: Iterable[str] = ()
) -> FailureClass | None:
    """The class of a Space failure, or None when `stage` is not a failure stage.

    The platform's own failures come first, whatever the stage: they are recognised by the Hub's
    `errorMessage` (or, when the Hub sent none, by the log tail). Otherwise the stage decides: BUILD_ERROR is
    the build, CONFIG_ERROR and NO_APP_FILE the configuration, RUNTIME_ERROR the app.

    Args:
        stage: The failure stage (`SpaceStage` member or plain string).
        error_message: The runtime's `errorMessage`, if any.
        log_tail: The last lines of the failing phase's log (build log for build failures, run log otherwise).

    Example:
        >>> classify_failure("RUNTIME_ERROR", "Scheduling failure: not enough hardware capacity")
        <FailureClass.PLATFORM: 'platform'>
    """
    name = str(getattr(stage, "value", stage))
    by_stage = _BY_STAGE.get(name)
    if by_stage is None:
        return None
    evidence = error_message.lower() if error_message else " ".join(log_tail).lower()
    if any(marker in evidence for marker in PLATFORM_MARKERS):
        return FailureClass.PLATFORM
    return by_stage
