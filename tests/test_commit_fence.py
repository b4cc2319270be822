"""The commit fence, pure: after this client's commit to a Space, reads that may show the previous build are
stale until the rebuild was seen (a build or start stage, or a failure that is new), within the grace."""

from __future__ import annotations

from types import SimpleNamespace

from aiospaces._fences import ActionFence, CommitFence, Fences, Verdict
from aiospaces.testing import VirtualClock


def runtime(stage: str, hardware: str | None = "cpu-basic") -> SimpleNamespace:
    return SimpleNamespace(stage=stage, hardware=hardware, requested_hardware=hardware)


class Reads:
    """Feeds reads to a frozen fence one after the other, keeping the fence each judgment returns."""

    def __init__(self, fence: ActionFence) -> None:
        self.state: ActionFence = fence

    def __call__(self, stage: str, at: float) -> Verdict:
        verdict, self.state = self.state.judge(runtime(stage), at)  # type: ignore[arg-type]
        return verdict


def test_the_previous_build_running_is_stale_until_the_rebuild_is_seen() -> None:
    """RUNNING right after the commit is the previous build; once the build and the start were seen, RUNNING
    is the new code."""
    fence = Reads(CommitFence(at=0.0, before="RUNNING"))
    assert fence("RUNNING", 1.0) == "stale"
    assert fence("RUNNING", 4.0) == "stale"
    assert fence("RUNNING_BUILDING", 6.0) == "fresh"
    assert fence("RUNNING_APP_STARTING", 40.0) == "fresh"
    assert fence("RUNNING", 50.0) == "fresh"


def test_after_the_build_a_lagging_running_needs_a_second_read() -> None:
    """Once the build was seen, one RUNNING can still be a lagging replica's; the same stage read twice in a
    row is believed (a start too short to be polled does not hold the wait until the grace ends)."""
    fence = Reads(CommitFence(at=0.0, before="RUNNING"))
    assert fence("RUNNING_BUILDING", 6.0) == "fresh"
    assert fence("RUNNING", 20.0) == "stale"
    assert fence("RUNNING", 22.0) == "fresh"


def test_an_old_failure_is_stale_and_a_new_one_is_fresh() -> None:
    """A failure the Space already showed before the commit is stale until a build was seen; a failure that
    differs from it (e.g. CONFIG_ERROR decided without a build) is the commit's, at once."""
    same = Reads(CommitFence(at=0.0, before="BUILD_ERROR"))
    assert same("BUILD_ERROR", 1.0) == "stale"
    assert same("BUILDING", 6.0) == "fresh"
    assert same("BUILD_ERROR", 40.0) == "fresh"
    new = Reads(CommitFence(at=0.0, before="RUNNING"))
    assert new("CONFIG_ERROR", 5.0) == "fresh"
    unknown = Reads(CommitFence(at=0.0))  # nothing read before the commit: any failure may be the old one
    assert unknown("NO_APP_FILE", 1.0) == "stale"


def test_paused_is_fresh_and_everything_is_after_the_grace() -> None:
    """A paused Space is not rebuilt by a commit (PAUSED is its answer); past the grace, reads are taken at
    face value."""
    assert Reads(CommitFence(at=0.0, before="RUNNING"))("PAUSED", 1.0) == "fresh"
    late = Reads(CommitFence(at=0.0, before="RUNNING"))
    assert late("RUNNING", 61.0) == "fresh"
    assert CommitFence(at=0.0).expired(61.0)


def test_the_store_records_the_stage_last_read_before_the_commit() -> None:
    """`Fences.record_commit` takes `before` from the last runtime this client read of the Space."""
    clock = VirtualClock()
    fences = Fences(clock)
    fences.saw("alice/app", runtime("BUILD_ERROR"))  # type: ignore[arg-type]
    fences.record_commit("alice/app")
    assert fences.judge("alice/app", runtime("BUILD_ERROR"), 1.0) == "stale"  # type: ignore[arg-type]
    assert fences.judge("alice/app", runtime("CONFIG_ERROR"), 2.0) == "fresh"  # type: ignore[arg-type]
    fences.record_commit("bob/app")  # never read: no `before`
    assert fences.judge("bob/app", runtime("CONFIG_ERROR"), 1.0) == "stale"  # type: ignore[arg-type]
