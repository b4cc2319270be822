"""The polling engine's decisions pushed past the cases the other tests cover: action fences acted on later
than time zero, the store's bookkeeping, the cadence's edges and the stage history, each from the caller's
side (a verdict, a delay, a flavor) with plain values, virtual clocks and the simulated Hub."""

from __future__ import annotations

import json
from types import SimpleNamespace

import anyio
import httpx2
import pytest
from _doubles import runtime

from aiospaces import RetryPolicy, SpacesClient
from aiospaces._fences import (
    ActionFence,
    CommitFence,
    Fences,
    PauseFence,
    RestartFence,
    Verdict,
)
from aiospaces._poll import (
    HISTORY_LENGTH,
    PollPolicy,
    PollTracker,
    StageHistory,
    likely_in,
    running_verdict,
    snapshot,
)
from aiospaces.errors import HardwareConflictError, HardwareRestoreError, HubHTTPError, SpaceNotRunningError
from aiospaces.hubsim import SimulatedHub
from aiospaces.testing import SimulatedHubClient, VirtualClock, fast_retry


class Reads:
    """Feeds reads to a frozen fence one after the other, keeping the fence each judgment returns."""

    def __init__(self, fence: ActionFence) -> None:
        self.state: ActionFence = fence

    def __call__(self, read: SimpleNamespace, at: float) -> Verdict:
        verdict, self.state = self.state.judge(read, at)
        return verdict


# --- action fences -----------------------------------------------------------------------------------------


def test_the_grace_is_counted_from_the_action_not_from_time_zero() -> None:
    """A fence put at t=1000 judges pre-action reads stale until t=1060 and at face value after it."""
    fence = Reads(PauseFence(at=1000.0))
    assert fence(runtime("RUNNING"), 1030.0) == "stale"
    assert fence(runtime("RUNNING"), 1060.0) == "stale"  # the grace's last instant still counts
    assert fence(runtime("RUNNING"), 1060.5) == "fresh"
    assert not PauseFence(at=1000.0).expired(1059.0)
    assert PauseFence(at=1000.0).expired(1061.0)
    assert not ActionFence(at=1000.0).in_grace(999.0 + 62.0)
    assert ActionFence(at=1000.0, grace=5.0).in_grace(1005.0)
    assert not ActionFence(at=1000.0, grace=5.0).in_grace(1005.5)


def test_a_transitional_read_resets_the_restart_candidate() -> None:
    """After a restart's build was seen, RUNNING, then a build or start stage, then RUNNING again is not the
    same stable stage read twice in a row: the second RUNNING still needs its confirmation."""
    fence = Reads(RestartFence(at=0.0))
    assert fence(runtime("BUILDING"), 1.0) == "fresh"
    assert fence(runtime("RUNNING"), 3.0) == "stale"
    assert fence(runtime("RUNNING_BUILDING"), 5.0) == "fresh"
    assert fence(runtime("RUNNING"), 7.0) == "stale"
    assert fence(runtime("RUNNING"), 9.0) == "fresh"


def test_the_commits_own_failure_confirms_the_commit() -> None:
    """A failure that differs from the stage read before the commit is the commit's and confirms it: from then
    on a failure is believed at once, even the one the Space showed before."""
    fence = Reads(CommitFence(at=0.0, before="RUNTIME_ERROR"))
    assert fence(runtime("CONFIG_ERROR"), 2.0) == "fresh"
    assert isinstance(fence.state, CommitFence)
    assert fence.state.confirmed
    assert fence(runtime("RUNTIME_ERROR"), 4.0) == "fresh"
    unconfirmed = Reads(CommitFence(at=0.0, before="RUNTIME_ERROR"))
    assert unconfirmed(runtime("RUNTIME_ERROR"), 4.0) == "stale"


def test_after_the_rebuild_a_failure_between_two_stable_reads_resets_the_candidate() -> None:
    """After a commit's rebuild was seen, RUNNING, a failure, then RUNNING again is not RUNNING read twice in
    a row: the second RUNNING still needs confirming, and one PAUSED read is not believed at once either."""
    fence = Reads(CommitFence(at=0.0, before="RUNNING"))
    assert fence(runtime("RUNNING_BUILDING"), 2.0) == "fresh"
    assert fence(runtime("RUNNING"), 4.0) == "stale"
    assert fence(runtime("RUNTIME_ERROR"), 6.0) == "fresh"
    assert fence(runtime("RUNNING"), 8.0) == "stale"
    assert fence(runtime("RUNNING"), 10.0) == "fresh"
    paused = Reads(CommitFence(at=0.0, before="RUNNING"))
    assert paused(runtime("BUILDING"), 2.0) == "fresh"
    assert paused(runtime("PAUSED"), 4.0) == "stale"
    assert paused(runtime("PAUSED"), 6.0) == "fresh"


def test_a_hardware_request_on_a_space_with_nothing_running_discounts_every_other_flavor() -> None:
    """A hardware request answered with no flavor running, by a client that never read the Space before, knows
    no previous flavor: during the grace any other flavor requested is a lagging read."""
    fences = Fences(VirtualClock())
    answer = runtime("PAUSED", None, requested_hardware="t4-medium")
    fences.record_hardware("a/b", answer, requested_before=None)
    assert fences.judge("a/b", runtime("PAUSED", None, requested_hardware="cpu-basic"), 1.0) == "stale"
    assert fences.judge("a/b", runtime("PAUSED", None, requested_hardware="t4-medium"), 2.0) == "fresh"


def test_a_hardware_fence_stops_asking_for_its_flavor_once_seen_running() -> None:
    """The store's hardware target is this client's flavor until a read shows it running, then none (a wait
    for RUNNING takes later reads at face value); the fence still discounts lagging reads meanwhile."""
    fences = Fences(VirtualClock(start=500.0))
    fences.record_hardware(
        "a/b", runtime("RUNNING", "cpu-basic", requested_hardware="t4-medium"), requested_before="cpu-basic"
    )
    assert fences.acted_at("a/b") == 500.0
    assert fences.judge(
        "a/b", runtime("RUNNING_BUILDING", "cpu-basic", requested_hardware="t4-medium"), 510.0
    ) == ("fresh")
    assert fences.hardware_target("a/b") == "t4-medium"  # requested, not yet running
    assert fences.judge("a/b", runtime("RUNNING", "t4-medium"), 530.0) == "fresh"
    assert fences.hardware_target("a/b") is None
    assert fences.requested_hardware("a/b") == "t4-medium"  # the fence holds for the rest of its grace
    assert fences.judge("a/b", runtime("RUNNING", "cpu-basic"), 540.0) == "stale"
    assert fences.judge("a/b", runtime("RUNNING", "t4-medium"), 561.0) == "fresh"
    assert fences.requested_hardware("a/b") is None  # switched and past the grace: forgotten
    assert fences.acted_at("a/b") == 500.0  # when it acted outlives the fence


def test_lagging_reads_in_a_row_all_stay_stale() -> None:
    """Several lagging reads in a row after a hardware request are all stale, and the fence still asks for the
    requested flavor after them."""
    fences = Fences(VirtualClock())
    fences.record_hardware(
        "a/b", runtime("RUNNING", "cpu-basic", requested_hardware="t4-medium"), requested_before="cpu-basic"
    )
    for at in (1.0, 2.0, 3.0):
        assert fences.judge("a/b", runtime("RUNNING", "cpu-basic"), at) == "stale"
        assert fences.hardware_target("a/b") == "t4-medium"
    assert "a/b" in repr(fences)  # the store's repr names the fenced Spaces


def test_a_restart_fence_outlives_its_first_fresh_read() -> None:
    """After a restart, the build read first does not end the fence: a lagging RUNNING read after it is still
    stale, and the restarted app starting is what lets RUNNING through."""
    fences = Fences(VirtualClock())
    fences.record_restart("a/b", runtime("BUILDING"))
    assert fences.judge("a/b", runtime("BUILDING"), 1.0) == "fresh"
    assert fences.judge("a/b", runtime("RUNNING"), 2.0) == "stale"
    assert fences.judge("a/b", runtime("APP_STARTING"), 3.0) == "fresh"
    assert fences.judge("a/b", runtime("RUNNING"), 4.0) == "fresh"


def test_the_flavor_requested_before_is_the_previous_one_even_when_not_running() -> None:
    """A hardware request's fence discounts both the flavor this client saw requested before and the one the
    Hub's answer shows running; a third flavor is someone else's request."""
    fences = Fences(VirtualClock())
    answer = runtime("RUNNING", "cpu-basic", requested_hardware="t4-medium")
    fences.record_hardware("a/b", answer, requested_before="a10g-small")
    assert (
        fences.judge("a/b", runtime("RUNNING", "cpu-basic", requested_hardware="a10g-small"), 1.0) == "stale"
    )
    assert fences.judge("a/b", runtime("RUNNING", "cpu-basic"), 2.0) == "stale"
    assert fences.judge("a/b", runtime("RUNNING", "cpu-basic", requested_hardware="l4x1"), 3.0) == "fresh"


def test_the_stage_before_a_commit_is_the_last_fresh_read() -> None:
    """The stage a commit fence compares failures with is the last read judged fresh: a stale read under an
    earlier fence is not it, and neither is what `saw` reports while a fence holds."""
    fences = Fences(VirtualClock())
    fences.saw("a/b", runtime("RUNNING"))
    fences.record_pause("a/b")
    fences.saw("a/b", runtime("BUILD_ERROR"))  # under the pause fence: ignored
    assert fences.judge("a/b", runtime("BUILD_ERROR"), 1.0) == "stale"
    fences.record_commit("a/b")
    assert fences.judge("a/b", runtime("BUILD_ERROR"), 2.0) == "fresh"  # differs from RUNNING: the commit's
    # Without any fence, a fresh read judged by the store is what the next commit compares with.
    other = Fences(VirtualClock())
    assert other.judge("c/d", runtime("RUNTIME_ERROR"), 0.0) == "fresh"
    other.record_commit("c/d")
    assert other.judge("c/d", runtime("RUNTIME_ERROR"), 1.0) == "stale"  # the old failure
    assert other.judge("e/f", runtime("RUNNING"), 0.0) == "fresh"
    other.record_commit("e/f")
    assert other.judge("e/f", runtime("CONFIG_ERROR"), 1.0) == "fresh"  # not what it showed before


# --- the cadence -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fast_interval": 0.5},
        {"stage_fraction": 0.0},
        {"stage_fraction": 0.5},
        {"transitional_max_interval": 0.5},
        {"backoff_factor": 1.0},
        {"backoff_factor": 1.5},
        {"max_interval": 0.5},
        {"jitter": 0.0},
        {"jitter": 0.99},
        {"hot_interval": 0.1},
        {"hot_period": 0.0},
        {"hot_period": 0.5},
        {"poll_share": 1.0},
        {"poll_share": 0.01},
    ],
)
def test_policy_accepts_every_setting_in_its_range(kwargs: dict[str, float]) -> None:
    """Each setting is accepted up to the bounds of its range (factor 1 and fraction 0: a fixed interval)."""
    policy = PollPolicy(**kwargs)
    assert getattr(policy, next(iter(kwargs))) == next(iter(kwargs.values()))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fast_interval": "2"},
        {"stage_fraction": "0.1"},
        {"stage_fraction": 1.5},
        {"transitional_max_interval": -1.0},
        {"backoff_factor": "2"},
        {"backoff_factor": float("inf")},
        {"max_interval": float("inf")},
        {"jitter": -0.1},
        {"jitter": 1.5},
        {"hot_interval": 0.0},
        {"hot_period": -1.0},
        {"hot_period": float("inf")},
        {"hot_period": "10"},
        {"poll_share": 0.0},
        {"poll_share": 1.5},
        {"poll_share": "0.25"},
    ],
)
def test_policy_rejects_settings_out_of_range(kwargs: dict[str, object]) -> None:
    """A setting outside its range, or not a number, raises ValueError naming the setting."""
    with pytest.raises(ValueError, match=rf"PollPolicy\.{next(iter(kwargs))} must be"):
        PollPolicy(**kwargs)  # type: ignore[arg-type]


def test_a_steep_backoff_never_overflows() -> None:
    """However steep the backoff and however long the watch, a stable Space's delay stays at the cap."""
    for factor in (1e10, 2):
        policy = PollPolicy(backoff_factor=factor, jitter=0.0)
        for unchanged in (30, 100, 10_000, 10**9):
            assert policy.base_delay(transitional=False, in_state=0.0, unchanged=unchanged) == 60.0
    wide = PollPolicy(max_interval=1e300, jitter=0.0)
    assert wide.base_delay(transitional=False, in_state=0.0, unchanged=100) == 2.0 * 2.0**100


def test_transitional_delay_edges() -> None:
    """In a transitional stage the delay is the fraction of the time in the state, never under the fast
    interval (even right at the start), and the cap never goes under the fast interval either."""
    fine = PollPolicy(fast_interval=0.05, stage_fraction=0.5, jitter=0.0)
    assert fine.base_delay(transitional=True, in_state=0.0, unchanged=0) == 0.05
    assert fine.base_delay(transitional=True, in_state=-10.0, unchanged=0) == 0.05
    assert fine.base_delay(transitional=True, in_state=3.0, unchanged=0) == 1.5
    low_cap = PollPolicy(fast_interval=5.0, transitional_max_interval=2.0, max_interval=3.0, jitter=0.0)
    assert low_cap.base_delay(transitional=True, in_state=1000.0, unchanged=0) == 5.0
    assert low_cap.base_delay(transitional=False, in_state=1000.0, unchanged=9) == 5.0


@pytest.mark.parametrize(
    ("likely", "expected"),
    [
        (None, 8.0),  # nothing known: the backoff
        (0.0, 0.5),  # likely now: the hot interval
        (-3.0, 0.5),
        (0.2, 0.5),  # likely sooner than the hot interval: no faster than it
        (0.8, 0.8),  # land on the moment it becomes likely
        (3.0, 3.0),
        (20.0, 8.0),  # later than the backoff's poll: the backoff
    ],
)
def test_a_likely_transition_shortens_the_delay(likely: float | None, expected: float) -> None:
    """A transition likely now polls at the hot interval; one likely soon cuts the delay to land on it."""
    policy = PollPolicy(jitter=0.0)
    delay = policy.base_delay(transitional=False, in_state=10.0, unchanged=2, likely_in=likely)
    assert delay == pytest.approx(expected)
    assert policy.next_delay(now=0.0, transitional=False, in_state=10.0, unchanged=2, likely_in=likely) == (
        pytest.approx(expected)
    )


def test_next_delay_defaults_and_draw_bounds() -> None:
    """Without pacing or a draw the delay is the policy's own (no floor of a second, no jitter); a draw
    outside [0, 1) shortens by at most `jitter` and never lengthens; pacing equal to the time left still
    allows the last poll, on the deadline."""
    quick = PollPolicy(fast_interval=0.5)
    assert quick.next_delay(now=0.0, transitional=False, in_state=0.0, unchanged=0) == 0.5
    policy = PollPolicy(jitter=0.1)
    plain = {"now": 0.0, "transitional": False, "in_state": 10.0, "unchanged": 2}
    assert policy.next_delay(**plain) == 8.0  # type: ignore[arg-type]
    assert policy.next_delay(**plain, rand=5.0) == pytest.approx(7.2)  # type: ignore[arg-type]
    assert policy.next_delay(**plain, rand=-1.0) == 8.0  # type: ignore[arg-type]
    assert policy.next_delay(**plain, deadline=5.0, pacing=5.0) == 5.0  # type: ignore[arg-type]


def test_tracker_delay_uses_the_time_in_the_state() -> None:
    """A tracker's delay in a long build is the fraction of the time since the state was first seen, without
    jitter when no draw is given, and the hot interval when a transition is likely."""
    tracker = PollTracker(PollPolicy())
    tracker.observe(runtime("BUILDING"), 100.0)
    assert tracker.next_delay(150.0) == pytest.approx(5.0)
    assert tracker.next_delay(150.0, likely_in=0.0) == 0.5
    assert tracker.in_stage(150.0) == 50.0
    quick = PollTracker(PollPolicy(fast_interval=0.5, jitter=0.0))
    quick.observe(runtime("RUNNING"), 100.0)
    assert quick.next_delay(100.0) == 0.5
    assert tracker.next_delay(150.0, deadline=152.0) == 2.0  # the last poll lands on the deadline
    assert tracker.next_delay(150.0, deadline=150.0) is None
    assert tracker.next_delay(150.0, pacing=9.0) == 9.0  # the rate-limit pacing is a floor
    assert tracker.next_delay(150.0, rand=0.5) == pytest.approx(4.75)  # jitter shortens by up to 10%


def test_tracker_reports_a_stage_only_when_it_saw_it_begin_and_end() -> None:
    """The tracker's completed stage is the one a read saw end, with its duration from the read that showed
    it begin; the first stage (whose beginning was not seen) is never reported, nor is anything on a read
    that changed no stage."""
    tracker = PollTracker(PollPolicy())
    tracker.observe(runtime("RUNNING"), 100.0)
    assert tracker.completed is None
    tracker.observe(runtime("BUILDING"), 110.0)
    assert tracker.completed is None  # RUNNING began before the watch
    assert tracker.in_stage(115.0) == 5.0
    tracker.observe(runtime("BUILDING"), 130.0)
    assert tracker.completed is None
    assert tracker.unchanged == 1
    tracker.observe(runtime("APP_STARTING"), 150.0)
    assert tracker.completed == ("BUILDING", 40.0)
    assert tracker.transitional
    tracker.observe(runtime("APP_STARTING", sleep_time=3600), 155.0)
    assert tracker.completed is None  # another field changed, not the stage
    assert tracker.in_stage(160.0) == 10.0
    tracker.observe(runtime("RUNNING", sleep_time=3600), 162.0)
    assert tracker.completed == ("APP_STARTING", 12.0)
    assert not tracker.transitional


def test_snapshot_holds_plain_values() -> None:
    """A snapshot holds the stage and enum-like values as their plain values, other values as they are, and
    None for a missing field."""
    flavor = SimpleNamespace(value="t4-medium")
    read = SimpleNamespace(stage="RUNNING", hardware=flavor, requested_hardware="t4-medium", dev_mode=True)
    assert snapshot(read) == ("RUNNING", "t4-medium", "t4-medium", None, None, True)


# --- the stage history and when a transition is likely -----------------------------------------------------


def test_stage_history_median_of_the_last_durations() -> None:
    """The expected duration is the median of the last few recorded durations of the stage, per Space; the
    running variants of a build or start count as the same stage; nonsense durations are ignored."""
    history = StageHistory()
    assert history.expected("a/b", "BUILDING") is None
    history.record("a/b", "BUILDING", 30.0)
    assert history.expected("a/b", "BUILDING") == 30.0
    history.record("a/b", "RUNNING_BUILDING", 50.0)
    assert history.expected("a/b", "BUILDING") == 40.0  # the mean of the two middle ones
    assert history.expected("a/b", "RUNNING_BUILDING") == 40.0
    history.record("a/b", "BUILDING", 10.0)
    assert history.expected("a/b", "BUILDING") == 30.0
    history.record("a/b", "BUILDING", -1.0)
    history.record("a/b", "BUILDING", float("inf"))
    history.record("a/b", "BUILDING", float("nan"))
    assert history.expected("a/b", "BUILDING") == 30.0
    assert history.expected("c/d", "BUILDING") is None
    assert history.expected("a/b", "APP_STARTING") is None
    history.record("a/b", "PAUSED", 0.5)
    assert history.expected("a/b", "PAUSED") == 0.5
    history.record("c/d", "APP_STARTING", 0.0)
    assert history.expected("c/d", "RUNNING_APP_STARTING") == 0.0
    assert history.expected("c/d", "APP_STARTING") == 0.0
    history.record("c/d", "RUNNING_SOMETHING_NEW", 7.0)  # not a build or start: a stage of its own
    assert history.expected("c/d", "SOMETHING_NEW") is None
    assert history.expected("c/d", "RUNNING_SOMETHING_NEW") == 7.0


def test_stage_history_keeps_only_the_last_durations() -> None:
    """Only the last `HISTORY_LENGTH` durations count: an old slow build stops weighing on the median."""
    history = StageHistory()
    for duration in range(1, HISTORY_LENGTH + 3):  # 1..7
        history.record("a/b", "BUILDING", float(duration) * 10)
    assert history.expected("a/b", "BUILDING") == 50.0  # median of 30..70
    history.record("a/b", "BUILDING", 80.0)
    assert history.expected("a/b", "BUILDING") == 60.0  # median of 40..80


@pytest.mark.parametrize(
    ("now", "transitional", "in_stage", "acted_at", "expected", "likely"),
    [
        (100.0, False, 0.0, 100.0, None, 0.0),  # right at the action
        (100.5, False, 0.0, 100.0, None, 0.0),
        (109.9, False, 0.0, 100.0, None, 0.0),
        (110.0, False, 0.0, 100.0, None, None),  # the hot period is over
        (99.0, False, 0.0, 100.0, None, None),  # an action after this moment says nothing about it
        (500.0, False, 0.0, 100.0, None, None),
        (500.0, True, 10.0, None, None, None),  # no history
        (500.0, False, 10.0, None, 100.0, None),  # not in a build or start
        (500.0, True, 10.0, None, 100.0, 70.0),  # likely from 80 s
        (500.0, True, 80.0, None, 100.0, 0.0),
        (500.0, True, 150.0, None, 100.0, 0.0),  # until 150 s
        (500.0, True, 150.5, None, 100.0, None),  # overran: back to the ordinary cadence
        (500.0, True, 10.0, 480.0, 100.0, 70.0),  # the action was 20 s ago: the history speaks
    ],
)
def test_likely_in_table(
    now: float,
    transitional: bool,
    in_stage: float,
    acted_at: float | None,
    expected: float | None,
    likely: float | None,
) -> None:
    """A transition is likely for the hot period after this client's action, and from 0.8 to 1.5 times the
    stage's usual duration into a build or start."""
    result = likely_in(
        PollPolicy(),
        now=now,
        transitional=transitional,
        in_stage=in_stage,
        acted_at=acted_at,
        expected=expected,
    )
    assert result == (None if likely is None else pytest.approx(likely))


def test_a_running_target_is_required_only_of_running() -> None:
    """A hardware target changes nothing for a Space that is not RUNNING; RUNNING on the target is done."""
    assert running_verdict(runtime("RUNNING", "t4-medium"), target="t4-medium") == "running"
    assert running_verdict(runtime("PAUSED"), target="t4-medium", wake=True) == "wake"
    assert running_verdict(runtime("DELETING"), wake=False) == "not_running"
    assert running_verdict(runtime("PAUSED")) == "not_running"  # never woken unless asked


# --- temporary hardware ------------------------------------------------------------------------------------

SPACE = "alice/gpu"
TOKEN = "hf_test_alice"
HARDWARE_ROUTE = "POST /api/spaces/{id}/hardware"
SLEEP_ROUTE = "POST /api/spaces/{id}/sleeptime"


class AppliedButAnsweredWith(httpx2.AsyncBaseTransport):
    """The simulator applies every request; a hardware request for `flavor` is then answered `status` (as a
    gateway that timed out or was rate-limited after the Hub applied it)."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, flavor: str, status: int) -> None:
        self.inner = inner
        self.flavor = flavor
        self.status = status

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        body = json.loads(request.content or b"{}") if request.url.path.endswith("/hardware") else {}
        if body.get("flavor") != self.flavor:
            return response
        await response.aread()
        await response.aclose()
        return httpx2.Response(
            self.status, headers={"Retry-After": "1"}, json={"error": "try again"}, request=request
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


def requested(hub: SimulatedHub) -> str | None:
    value = hub.space_runtime(SPACE)["hardware"]["requested"]
    return None if value is None else str(value)


@pytest.mark.anyio
@pytest.mark.parametrize("status", [500, 408, 429])
async def test_an_entry_request_applied_but_answered_with_an_error_is_put_back(status: int) -> None:
    """When the entry's hardware request was applied but answered 5xx, 408 or 429, the error propagates and
    the previous flavor is requested again (the GPU may be billed otherwise)."""
    clock = VirtualClock()
    hub = SimulatedHub(clock=clock, seed=0)
    hub.add_user("alice", token=TOKEN)
    hub.create_space(SPACE)
    transport = AppliedButAnsweredWith(hub.transport(), "t4-medium", status)
    retry = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.1, max_rate_limited=1)
    async with SpacesClient(
        token=TOKEN, endpoint="https://hub.test", transport=transport, clock=clock, retry=retry
    ) as client:
        with pytest.raises(HubHTTPError) as caught:
            async with client.temporary_hardware(SPACE, "t4-medium", timeout=600):
                pytest.fail("the block must not run")
        assert caught.value.status == status
    assert requested(hub) == "cpu-basic"


@pytest.mark.anyio
async def test_the_flavor_to_go_back_to_is_the_requested_one_during_a_switch() -> None:
    """Entered while a switch to another flavor is still under way, the block goes back to the requested
    flavor, not the one still running."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.create_space(SPACE)
        hub.set_durations(SPACE, hardware_switch=30.0)
        await client.request_space_hardware(SPACE, "cpu-upgrade")
        block = client.temporary_hardware(SPACE, "t4-small", timeout=600)
        assert block.runtime is None  # nothing read before the block is entered
        async with block as runtime:
            assert block.runtime is runtime
            assert runtime.hardware == "t4-small"
        assert requested(hub) == "cpu-upgrade"


@pytest.mark.anyio
async def test_a_space_without_hardware_needs_an_explicit_restore() -> None:
    """A Space the Hub shows with no hardware at all (static) cannot be put back on its own: the block refuses
    to start, asking for `restore`, before requesting anything."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        hub.create_space(SPACE, sdk="static")
        assert hub.space_runtime(SPACE)["hardware"]["requested"] is None
        with pytest.raises(ValueError, match="restore="):
            async with env.client.temporary_hardware(SPACE, "t4-small", timeout=600):
                pytest.fail("the block must not run")
        assert hub.counters.requests.get(HARDWARE_ROUTE, 0) == 0


@pytest.mark.anyio
async def test_the_sleep_time_is_left_alone_unless_the_block_changed_it() -> None:
    """A block that did not change the sleep time does not put one back (a change made meanwhile stays), and
    going back to cpu-basic (whose sleep time is fixed) sends no sleep-time request."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.create_space(SPACE, hardware="cpu-upgrade", sleep_time=3600)
        async with client.temporary_hardware(SPACE, "t4-small", timeout=600):
            await client.set_space_sleep_time(SPACE, 7200)
        assert requested(hub) == "cpu-upgrade"
        assert hub.space_runtime(SPACE)["gcTimeout"] == 7200
        assert hub.counters.requests.get(SLEEP_ROUTE, 0) == 1  # the block's own call only
        basic = "alice/basic"
        hub.create_space(basic)
        async with client.temporary_hardware(basic, "t4-small", sleep_time=600, timeout=600):
            pass
        assert hub.space_runtime(basic)["hardware"]["requested"] == "cpu-basic"
        assert hub.counters.requests.get(SLEEP_ROUTE, 0) == 1


@pytest.mark.anyio
async def test_a_lagging_entry_read_showing_the_gpu_running_does_not_make_it_the_flavor_to_go_back_to() -> (
    None
):
    """A block entered right after another one put the Space back, whose first read lags by a second (the
    previous block's GPU requested and running), still goes back to the flavor this client requested last."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        hub.create_space(SPACE)
        async with env.client.temporary_hardware(SPACE, "t4-medium", timeout=600):
            pass
        stale = hub.add_fault("stale_runtime", route="GET /api/spaces/{id}/runtime", count=1, seconds=1.0)
        async with env.client.temporary_hardware(SPACE, "a10g-small", timeout=600):
            assert stale.injected == 1
        assert requested(hub) == "cpu-basic"


@pytest.mark.anyio
async def test_a_failed_restore_that_cannot_read_the_space_reports_the_blocks_flavor_as_billed() -> None:
    """When the hardware cannot be put back and the Space cannot be read either, HardwareRestoreError presumes
    the block's own flavor is still billed."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        hub.create_space(SPACE)
        with pytest.raises(HardwareRestoreError) as caught:
            async with env.client.temporary_hardware(SPACE, "t4-medium", timeout=600):
                hub.add_fault("error", status=503)  # every request refused from now on
        assert (caught.value.billed_hardware, caught.value.restore_to) == ("t4-medium", "cpu-basic")
        assert requested(hub) == "t4-medium"


# --- waits -------------------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(("stage", "hint"), [("PAUSED", True), ("SLEEPING", True), ("DELETING", False)])
async def test_a_space_not_running_names_itself_and_says_how_to_wake_it(stage: str, hint: bool) -> None:
    """SpaceNotRunningError carries the Space, its stage and the read, and suggests wake=True unless the Space
    is being deleted (it cannot be woken)."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/idle", stage=stage)
        with pytest.raises(SpaceNotRunningError) as caught:
            await env.client.wait_until_running("alice/idle", timeout=60)
        error = caught.value
        assert (error.repo_id, error.stage) == ("alice/idle", stage)
        assert error.runtime is not None
        assert str(error.runtime.stage) == stage
        assert "alice/idle" in str(error)
        assert stage in str(error)
        assert ("wake=True" in str(error)) is hint


class SomeoneElseRequestsRightAfter(httpx2.AsyncBaseTransport):
    """Passes every request to the simulator; right after a hardware request for `after`, someone else's
    request for `other` lands, and its answer is what comes back."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, after: str, other: str) -> None:
        self.inner = inner
        self.after = after
        self.other = other

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        body = json.loads(request.content or b"{}") if request.url.path.endswith("/hardware") else {}
        if body.get("flavor") != self.after:
            return response
        await response.aread()
        await response.aclose()
        other = httpx2.Request(
            "POST", request.url, headers=request.headers, content=json.dumps({"flavor": self.other}).encode()
        )
        return await self.inner.handle_async_request(other)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.anyio
async def test_a_restore_overtaken_by_someone_elses_request_reports_what_is_billed() -> None:
    """When every answer to the restore shows someone else's flavor requested, the block ends with
    HardwareRestoreError naming that flavor as billed (it is what the Space runs on now)."""
    clock = VirtualClock()
    hub = SimulatedHub(clock=clock, seed=0)
    hub.add_user("alice", token=TOKEN)
    hub.create_space(SPACE)
    transport = SomeoneElseRequestsRightAfter(hub.transport(), "cpu-basic", "a10g-small")
    async with SpacesClient(
        token=TOKEN, endpoint="https://hub.test", transport=transport, clock=clock, retry=fast_retry()
    ) as client:
        with pytest.raises(HardwareRestoreError) as caught:
            async with client.temporary_hardware(SPACE, "t4-medium", timeout=600):
                pass
    assert (caught.value.billed_hardware, caught.value.restore_to) == ("a10g-small", "cpu-basic")
    assert requested(hub) == "a10g-small"


def refuse_restores_and_lag_reads(hub: SimulatedHub) -> None:
    """From now on the Hub refuses hardware requests and answers runtime reads from a minute ago."""
    hub.add_fault("error", route=HARDWARE_ROUTE, status=503)
    hub.add_fault("stale_runtime", route="GET /api/spaces/{id}/runtime", seconds=60.0)


@pytest.mark.anyio
async def test_a_failed_restore_does_not_believe_a_lagging_read_of_the_old_flavor() -> None:
    """When the restore fails right after a quick block, a lagging read still showing the flavor from before
    the block is not taken as the restore having landed: HardwareRestoreError says the GPU is billed."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        hub.create_space(SPACE)
        hub.set_durations(SPACE, hardware_switch=5.0)
        env.clock.advance(100.0)
        with pytest.raises(HardwareRestoreError) as caught:
            async with env.client.temporary_hardware(SPACE, "t4-medium", timeout=600):
                refuse_restores_and_lag_reads(hub)
        assert caught.value.billed_hardware == "t4-medium"
        assert requested(hub) == "t4-medium"


@pytest.mark.anyio
async def test_a_fixed_poll_interval_stays_fixed_through_a_long_build() -> None:
    """wait_for_space(poll_interval=...) reads every poll_interval seconds however long the build takes (no
    growth with the time in the stage, as with HfApi)."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.create_space("alice/slow")
        hub.fail_next_build("alice/slow")
        hub.set_durations("alice/slow", build=300.0)
        hub.rebuild("alice/slow")
        runtime = await client.wait_for_space("alice/slow", poll_interval=10.0)
        assert str(runtime.stage) == "BUILD_ERROR"
        assert env.clock.now() == pytest.approx(300.0)
        assert hub.counters.requests["GET /api/spaces/{id}/runtime"] == 31  # t = 0, 10, ..., 300


@pytest.mark.anyio
async def test_waiting_for_running_after_a_hardware_request_waits_for_the_new_flavor() -> None:
    """After this client requested a GPU that waits for capacity, wait_until_running does not return the Space
    still RUNNING on its old flavor (even past the grace of the fences): it returns once the GPU runs."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.create_space(SPACE)
        hub.add_fault("unscheduled_hardware", seconds=300.0)
        await client.request_space_hardware(SPACE, "t4-medium")
        runtime = await client.wait_until_running(SPACE, timeout=1200)
        assert (str(runtime.stage), runtime.hardware) == ("RUNNING", "t4-medium")
        assert env.clock.now() >= 300.0


@pytest.mark.anyio
async def test_waiting_for_this_clients_hardware_request_sees_someone_elses_request_as_a_conflict() -> None:
    """wait_for_hardware without a flavor waits for this client's own request: when someone else requested
    another flavor since, it raises HardwareConflictError naming both instead of waiting for theirs."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.create_space(SPACE)
        hub.set_durations(SPACE, hardware_switch=60.0)
        await client.request_space_hardware(SPACE, "t4-medium")
        async with SpacesClient(
            token=env.token, endpoint="https://hub.test", transport=hub.transport(), clock=env.clock
        ) as someone_else:
            await someone_else.request_space_hardware(SPACE, "a10g-small")
        with pytest.raises(HardwareConflictError) as caught:
            await client.wait_for_hardware(SPACE, timeout=600)
        error = caught.value
        assert (error.repo_id, error.expected, error.requested) == (SPACE, "t4-medium", "a10g-small")
        assert error.runtime is not None
        assert error.runtime.requested_hardware == "a10g-small"
        assert "t4-medium" in str(error)
        assert "a10g-small" in str(error)


@pytest.mark.anyio
async def test_waiting_for_hardware_requested_by_no_one_here_waits_for_the_requested_flavor() -> None:
    """wait_for_hardware with no flavor, from a client that requested none, waits for the flavor the Space
    has requested (here already running)."""
    async with SimulatedHubClient() as env:
        env.hub.create_space(SPACE, hardware="cpu-upgrade")
        runtime = await env.client.wait_for_hardware(SPACE, timeout=60)
        assert (str(runtime.stage), runtime.hardware) == ("RUNNING", "cpu-upgrade")


@pytest.mark.anyio
async def test_a_wake_that_is_not_a_bool_is_refused_by_name_before_any_request() -> None:
    """Every wait that can wake a Space refuses a `wake` that is not a bool, naming it, before any request."""
    async with SimulatedHubClient() as env:
        env.hub.create_space(SPACE)
        client = env.client
        with pytest.raises((TypeError, ValueError), match="wake"):
            await client.wait_for_hardware(SPACE, "t4-medium", wake="yes")  # type: ignore[arg-type]
        with pytest.raises((TypeError, ValueError), match="wake"):
            await client.wait_until_running(SPACE, wake=1)  # type: ignore[arg-type]
        with pytest.raises((TypeError, ValueError), match="wake"):
            await client.wait_all([SPACE], wake="no")  # type: ignore[arg-type]
        assert env.hub.counters.total_requests == 0


@pytest.mark.anyio
@pytest.mark.parametrize(("latency", "billed"), [(2.0, "a10g-small"), (1000.0, "t4-medium")])
async def test_the_billed_read_after_a_failed_restore_is_bounded(latency: float, billed: str) -> None:
    """After a failed restore, what is billed is read if the read answers within its bound (someone else's
    flavor here), else the block's own flavor is presumed, without waiting for the slow read."""
    clock = VirtualClock()
    hub = SimulatedHub(clock=clock, seed=0)
    hub.add_user("alice", token=TOKEN)
    hub.create_space(SPACE)
    transport = SomeoneElseRequestsRightAfter(hub.transport(), "cpu-basic", "a10g-small")
    async with SpacesClient(
        token=TOKEN, endpoint="https://hub.test", transport=transport, clock=clock, retry=fast_retry()
    ) as client:
        exits: list[float] = []

        def slow_reads_from_now() -> None:
            hub.add_fault("latency", route="GET /api/spaces/{id}/runtime", seconds=latency)
            exits.append(clock.now())

        with pytest.raises(HardwareRestoreError) as caught:
            async with client.temporary_hardware(SPACE, "t4-medium", timeout=600):
                slow_reads_from_now()
    assert caught.value.billed_hardware == billed
    assert clock.now() - exits[0] < 400.0  # the restore's own bound, not the slow read


@pytest.mark.anyio
async def test_waiting_for_hardware_wakes_once_and_a_second_pause_raises() -> None:
    """`wait_for_hardware(wake=True)` restarts a PAUSED Space once; paused again by someone else while it
    starts, the wait raises SpaceNotRunningError naming the Space instead of restarting it again."""
    async with SimulatedHubClient() as env:
        hub, clock = env.hub, env.clock
        hub.create_space(SPACE, stage="PAUSED")
        hub.set_durations(SPACE, build=20.0, start=40.0)
        async with SpacesClient(
            token=env.token, endpoint="https://hub.test", transport=hub.transport(), clock=clock
        ) as someone_else:

            async def pause_while_starting() -> None:
                await clock.sleep(45.0)  # the restarted app is starting (20 s build, 40 s start)
                await someone_else.pause_space(SPACE)

            async with anyio.create_task_group() as tg:
                tg.start_soon(pause_while_starting)
                with pytest.raises(SpaceNotRunningError) as caught:
                    await env.client.wait_for_hardware(SPACE, "cpu-basic", wake=True, timeout=600)
        assert (caught.value.repo_id, caught.value.stage) == (SPACE, "PAUSED")
        assert hub.counters.actions["restart"] == 1


@pytest.mark.anyio
async def test_a_temporary_upgrade_of_a_paused_space_fails_without_waking_it() -> None:
    """Entering `temporary_hardware` on a PAUSED Space raises `SpaceNotRunningError` and never restarts it:
    waking a paused Space is the caller's decision, not the block's."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/paused", stage="PAUSED")
        with pytest.raises(SpaceNotRunningError):
            async with env.client.temporary_hardware("alice/paused", "t4-medium", timeout=600):
                pytest.fail("the block must not run on a paused Space")
        assert env.hub.counters.actions["restart"] == 0


@pytest.mark.anyio
async def test_wait_for_hardware_polls_at_the_callers_policy() -> None:
    """`wait_for_hardware(policy=...)` reads the runtime at that policy's pace: with every interval at 50 s,
    a switch of 200 s is followed with a handful of reads, where the default policy reads far more often."""
    slow = PollPolicy(
        fast_interval=50.0, hot_interval=50.0, max_interval=50.0, transitional_max_interval=50.0, jitter=0.0
    )
    reads: dict[str, int] = {}
    for name, policy in (("slow", slow), ("default", None)):
        async with SimulatedHubClient() as env:
            env.hub.create_space("alice/gpu")
            env.hub.set_durations("alice/gpu", hardware_switch=200.0)
            await env.client.request_space_hardware("alice/gpu", "t4-medium")
            before = env.hub.counters.requests["GET /api/spaces/{id}/runtime"]
            client = env.client
            runtime = await client.wait_for_hardware("alice/gpu", "t4-medium", timeout=3600, policy=policy)
            assert runtime.hardware == "t4-medium"
            reads[name] = env.hub.counters.requests["GET /api/spaces/{id}/runtime"] - before
    assert reads["slow"] <= 6
    assert reads["default"] > 2 * reads["slow"]
