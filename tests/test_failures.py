"""The failure classifier as a table (pure: stage, the Hub's errorMessage and the log tail in, a class out),
and the class carried by `SpaceFailedError`."""

from __future__ import annotations

import pytest

from aiospaces import FailureClass, SpaceFailedError, SpaceStage, classify_failure


@pytest.mark.parametrize(
    ("stage", "message", "tail", "expected"),
    [
        (
            "BUILD_ERROR",
            "Build failed with exit code: 1",
            ["ERROR: Invalid requirement: 'torch==>1'"],
            "build",
        ),
        ("BUILD_ERROR", None, ["ERROR: failed to solve: dockerfile parse error on line 2"], "build"),
        ("RUNTIME_ERROR", "Exit code: 1. Reason: SyntaxError: invalid syntax", ["SyntaxError"], "app"),
        ("RUNTIME_ERROR", "Launch timed out, workload was not healthy after 30 min", [], "app"),
        ("CONFIG_ERROR", "Invalid sdk 'cobol' in README.md metadata", [], "config"),
        ("NO_APP_FILE", None, [], "config"),
        ("RUNTIME_ERROR", "Scheduling failure: not enough hardware capacity", [], "platform"),
        ("RUNTIME_ERROR", "Scheduling failure: unable to schedule", [], "platform"),
        (
            "RUNTIME_ERROR",
            "Exit code: 128. Reason: failed to create containerd task: failed to create shim task",
            [],
            "platform",
        ),
        ("BUILD_ERROR", "Scheduling failure: unable to schedule", [], "platform"),
        (
            "RUNTIME_ERROR",
            None,
            ["===== Application Startup =====", "Scheduling failure: unable to schedule"],
            "platform",
        ),
        # The message decides when there is one: an app that prints the words is still the app's failure.
        ("RUNTIME_ERROR", "Exit code: 1. Reason: boom", ["log: unable to schedule the job"], "app"),
        (SpaceStage.RUNTIME_ERROR, "Scheduling failure: not enough hardware capacity", [], "platform"),
        ("RUNNING", None, [], None),
        ("PAUSED", None, [], None),
        ("SOMETHING_NEW", "Scheduling failure: unable to schedule", [], None),
    ],
)
def test_classify_failure_table(
    stage: object, message: str | None, tail: list[str], expected: str | None
) -> None:
    """Each stage/message/log combination gets the class a user can act on (None: not a failure)."""
    result = classify_failure(stage, message, tail)
    assert result == (None if expected is None else FailureClass(expected))


def test_failure_class_is_a_plain_string() -> None:
    """Failure classes compare and print as their names (for tables and JSON)."""
    assert FailureClass.PLATFORM == "platform"
    assert str(FailureClass.BUILD) == "build"
    assert f"{FailureClass.CONFIG}" == "config"


def test_space_failed_error_carries_its_class_and_commit() -> None:
    """A SpaceFailedError classifies itself from its stage, message and log tail; commit defaults to None."""
    error = SpaceFailedError(
        "x",
        repo_id="alice/app",
        stage="RUNTIME_ERROR",
        error_message="Scheduling failure: unable to schedule",
    )
    assert (error.failure_class, error.commit) == (FailureClass.PLATFORM, None)
    crash = SpaceFailedError(
        "x", repo_id="alice/app", stage="RUNTIME_ERROR", commit="abc", log_tail=["Killed"]
    )
    assert (crash.failure_class, crash.commit) == (FailureClass.APP, "abc")
