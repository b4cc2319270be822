"""Action fences (`aiospaces._fences`), the running verdict, the fleet round planner and the clock deadline:
pure parts tested as tables, without a transport."""

from __future__ import annotations

from types import SimpleNamespace

import anyio
import attrs
import pytest
from _doubles import runtime

from aiospaces._clock import SystemClock, move_on_at
from aiospaces._fences import ActionFence, Fences, HardwareFence, PauseFence, RestartFence, Verdict
from aiospaces._fleet_watch import OwnerRead, RoundPlan, list_owner, plan_round
from aiospaces._poll import running_verdict
from aiospaces.testing import VirtualClock


class Reads:
    """Feeds reads to a frozen fence one after the other, keeping the fence each judgment returns."""

    def __init__(self, fence: ActionFence) -> None:
        self.state: ActionFence = fence

    def __call__(self, read: SimpleNamespace, at: float) -> Verdict:
        verdict, self.state = self.state.judge(read, at)  # type: ignore[arg-type]
        return verdict


@pytest.mark.parametrize(
    ("read", "at", "expected", "confirmed"),
    [
        (runtime("RUNNING", "cpu-basic"), 1.0, "stale", False),  # pre-action read from a lagging replica
        (runtime("RUNNING_BUILDING", "cpu-basic", requested_hardware="t4-medium"), 1.0, "fresh", True),
        (
            runtime("RUNNING", "cpu-basic", requested_hardware="a10g-small"),
            1.0,
            "fresh",
            False,
        ),  # someone else
        (runtime("RUNNING", "cpu-basic"), 100.0, "fresh", False),  # past the grace: taken at face value
    ],
)
def test_hardware_fence(read: SimpleNamespace, at: float, expected: str, confirmed: bool) -> None:
    """After a hardware request, reads still showing the old requested flavor are stale during the grace."""
    fence = Reads(HardwareFence(at=0.0, requested_hardware="t4-medium", previous=frozenset({"cpu-basic"})))
    assert fence(read, at) == expected
    assert fence.state.confirmed is confirmed


def test_hardware_fence_after_switch() -> None:
    """A lagging read of the old flavor stays stale within the grace even after the new flavor was seen."""
    fence = Reads(HardwareFence(at=0.0, requested_hardware="t4-medium", previous=frozenset({"cpu-basic"})))
    assert fence(runtime("RUNNING", "t4-medium", requested_hardware="t4-medium"), 30.0) == "fresh"
    assert fence.state.switched
    assert not fence.state.expired(30.0)
    assert fence(runtime("RUNNING", "cpu-basic"), 40.0) == "stale"
    assert fence.state.expired(61.0)
    # with no known previous flavor, any other flavor is presumed stale during the grace
    unknown = Reads(HardwareFence(at=0.0, requested_hardware="t4-medium"))
    assert unknown(runtime("RUNNING", "a10g-small"), 1.0) == "stale"


def test_restart_fence() -> None:
    """After a restart, a stable stage is stale until the restarted app was seen starting, or until it is read
    twice in a row after the build (one lagging read can still show the old RUNNING), a failure until a build
    was seen, and both are taken at face value after the grace."""
    fence = Reads(RestartFence(at=0.0))
    assert fence(runtime("BUILD_ERROR"), 0.5) == "stale"  # restarting a failed Space: the old failure
    assert fence(runtime("PAUSED"), 1.0) == "stale"
    assert fence(runtime("RUNNING"), 2.0) == "stale"
    assert fence(runtime("BUILDING"), 3.0) == "fresh"
    assert fence.state.confirmed
    assert not fence.state.started
    assert fence(runtime("RUNNING"), 4.0) == "stale"  # the build was seen, but this may be the old app
    assert fence(runtime("BUILD_ERROR"), 5.0) == "fresh"  # after the build was seen: the new failure
    assert fence(runtime("RUNNING"), 5.5) == "stale"  # not twice in a row: the failure came between
    assert fence(runtime("APP_STARTING"), 6.0) == "fresh"
    assert fence.state.started
    assert fence(runtime("RUNNING"), 7.0) == "fresh"  # the restarted app
    # A start too short to be polled: after the build, RUNNING read twice in a row is the restarted app.
    short = Reads(RestartFence(at=0.0))
    assert short(runtime("BUILDING"), 1.0) == "fresh"
    assert short(runtime("RUNNING"), 3.0) == "stale"
    assert short(runtime("RUNNING"), 5.0) == "fresh"
    # Before any build was seen, RUNNING twice is still the old app, until the grace is over.
    early = Reads(RestartFence(at=0.0))
    assert early(runtime("RUNNING"), 1.0) == "stale"
    assert early(runtime("RUNNING"), 2.0) == "stale"
    assert early(runtime("RUNNING"), 60.5) == "fresh"
    quick = Reads(RestartFence(at=0.0))
    assert quick(runtime("RUNNING_BUILDING"), 1.0) == "fresh"
    assert quick(runtime("RUNNING"), 60.0) == "stale"
    assert quick(runtime("RUNNING"), 60.5) == "fresh"
    assert quick.state.expired(60.5)
    assert Reads(RestartFence(at=0.0))(runtime("RUNNING_APP_STARTING"), 1.0) == "fresh"
    assert Reads(RestartFence(at=0.0))(runtime("RUNTIME_ERROR"), 61.0) == "fresh"
    # the Hub answered the restart with the failure itself: reads of it are after the restart
    failed_at_once = Reads(RestartFence(at=0.0, confirmed=True))
    assert failed_at_once(runtime("CONFIG_ERROR"), 1.0) == "fresh"


def test_pause_fence() -> None:
    """After a pause, reads still showing the Space running are stale during the grace, even once PAUSED was
    seen; a build or start (someone restarted it) is taken at face value."""
    fence = Reads(PauseFence(at=0.0))
    assert fence(runtime("RUNNING"), 1.0) == "stale"
    assert fence(runtime("PAUSED"), 2.0) == "fresh"
    assert fence(runtime("RUNNING"), 2.5) == "stale"  # PAUSED was seen, but a lagging read can follow
    assert fence(runtime("BUILDING"), 3.0) == "fresh"  # restarted since: taken at face value
    assert fence(runtime("RUNNING"), 61.0) == "fresh"  # after the grace, at face value
    assert fence.state.expired(61.0)


def test_fence_is_frozen_and_judging_returns_a_new_one() -> None:
    """Judging a read never changes the fence: what the read taught comes back as a new fence."""
    fence = RestartFence(at=0.0)
    verdict, after = fence.judge(runtime("BUILDING"), 1.0)  # type: ignore[arg-type]
    assert verdict == "fresh"
    assert after.confirmed
    assert not fence.confirmed
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        fence.confirmed = True  # type: ignore[misc]


def test_store_records_judges_and_forgets() -> None:
    """The store keeps one fence per Space: a hardware fence until someone else's flavor is read, and the
    flavor it last saw requested."""
    clock = VirtualClock()
    fences = Fences(clock)
    fences.record_hardware(
        "a/b", runtime("RUNNING", "cpu-basic", requested_hardware="t4-medium"), requested_before=None
    )
    assert fences.hardware_target("a/b") == "t4-medium"
    assert fences.requested_hardware("a/b") == "t4-medium"
    assert fences.judge("a/b", runtime("RUNNING", "cpu-basic"), 1.0) == "stale"
    assert fences.last_requested("a/b") == "t4-medium"
    assert (
        fences.judge("a/b", runtime("RUNNING", "cpu-basic", requested_hardware="a10g-small"), 2.0) == "fresh"
    )
    assert fences.hardware_target("a/b") is None  # someone else's request replaced ours
    assert fences.last_requested("a/b") == "a10g-small"
    fences.record_restart("a/b", runtime("BUILD_ERROR"))
    assert fences.judge("a/b", runtime("BUILD_ERROR"), 3.0) == "fresh"  # the Hub answered with the failure
    fences.record_pause("c/d")
    assert fences.judge("c/d", runtime("RUNNING"), 1.0) == "stale"
    assert fences.judge("c/d", runtime("RUNNING"), 61.0) == "fresh"
    assert fences.judge("c/d", runtime("RUNNING"), 62.0) == "fresh"  # expired: forgotten


@pytest.mark.parametrize(
    ("read", "target", "wake", "expected"),
    [
        (runtime("RUNNING"), None, False, "running"),
        (runtime("RUNNING", "cpu-basic"), "t4-medium", False, "waiting"),  # still on the old flavor
        (runtime("RUNNING", "t4-medium"), "t4-medium", False, "running"),
        (runtime("BUILDING"), None, True, "waiting"),
        (runtime("APP_STARTING"), None, False, "waiting"),
        (runtime("BUILD_ERROR"), None, True, "failed"),
        (runtime("RUNTIME_ERROR"), None, False, "failed"),
        (runtime("CONFIG_ERROR"), None, False, "failed"),
        (runtime("NO_APP_FILE"), None, False, "failed"),
        (runtime("PAUSED"), None, False, "not_running"),
        (runtime("PAUSED"), None, True, "wake"),
        (runtime("SLEEPING"), None, True, "wake"),
        (runtime("STOPPED"), None, False, "not_running"),
        (runtime("DELETING"), None, True, "not_running"),  # never woken: it is going away
        (runtime("SOMETHING_NEW"), None, False, "waiting"),  # an unknown stage is not an error
    ],
)
def test_running_verdict(read: SimpleNamespace, target: str | None, wake: bool, expected: str) -> None:
    """One read means done, keep waiting, failed, not running, or wake it, as design.md §3 says."""
    assert running_verdict(read, target=target, wake=wake) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("watched", "size", "expected"),
    [(1, None, False), (2, None, True), (2, 200, True), (2, 201, False), (10, 900, True)],
)
def test_list_owner(watched: int, size: int | None, expected: bool) -> None:
    """An owner is listed with two watched Spaces or more, unless its listing is 100 times bigger."""
    assert list_owner(watched, size) is expected


def test_plan_round() -> None:
    """A round reads the due Spaces only: owners with several watched Spaces through pages (every watched one
    taken from them), the others one by one; nothing due, nothing read."""
    active = [
        ("alice/a", "alice", 0.0),
        ("alice/b", "alice", 5.0),
        ("bob/c", "bob", 0.0),
        ("carol/d", "carol", None),
        ("carol/e", "carol", 1e-7),
    ]
    plan = plan_round(active, 0.0, {})
    assert plan == RoundPlan(
        owners=(
            OwnerRead("alice", frozenset({"alice/a", "alice/b"}), ("alice/a",)),
            OwnerRead("carol", frozenset({"carol/d", "carol/e"}), ("carol/e",)),
        ),
        singles=("bob/c",),
    )
    assert plan.requests == 3
    big = plan_round(active, 0.0, {"alice": 1000})
    assert [o.owner for o in big.owners] == ["carol"]
    assert big.singles == ("alice/a", "bob/c")
    assert plan_round(active, -1.0, {}) == RoundPlan(owners=(), singles=())


@pytest.mark.anyio
async def test_move_on_at_on_a_virtual_clock() -> None:
    """The block is cut off when the injected clock reaches the deadline, not before; an error of the block
    comes out as itself."""
    clock = VirtualClock()
    async with move_on_at(clock, 5.0) as scope:
        await clock.sleep(4.0)
    assert not scope.cancelled_caught
    async with move_on_at(clock, 10.0) as scope:
        await clock.sleep(100.0)
    assert scope.cancelled_caught
    assert clock.now() == 10.0
    with pytest.raises(ValueError, match="boom"):
        async with move_on_at(clock, 20.0):
            raise ValueError("boom")


@pytest.mark.anyio
async def test_move_on_at_on_the_system_clock_is_a_plain_cancel_scope() -> None:
    """On the system clock the deadline is the cancel scope's own: no task is started."""
    clock = SystemClock()
    async with move_on_at(clock, clock.now() - 1.0) as scope:
        await anyio.sleep(10)
    assert scope.cancelled_caught
    assert scope.deadline < float("inf")
