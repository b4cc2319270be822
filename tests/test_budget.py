"""The polling budget and the likelihood-driven cadence: pure rules, then whole watches in virtual time."""

from __future__ import annotations

import itertools
import math
import random

import anyio
import httpx2
import pytest

from aiospaces import PollPolicy, SpacesClient
from aiospaces._budget import FREE_QUOTA, FREE_WINDOW, Budget, PollBudget
from aiospaces._poll import StageHistory, likely_in
from aiospaces.hubsim import SimulatedHub
from aiospaces.testing import VirtualClock, fast_retry


class _Polls(httpx2.AsyncBaseTransport):
    """Passes requests to `inner`, noting the clock time of each poll (runtime read or Space listing)."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, clock: VirtualClock) -> None:
        self.inner = inner
        self.clock = clock
        self.times: list[float] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if request.method == "GET" and (path.endswith("/runtime") or path == "/api/spaces"):
            self.times.append(self.clock.now())
        return await self.inner.handle_async_request(request)


def _most_in_a_window(times: list[float], window: float) -> int:
    """The most of `times` in any half-open window `(t - window, t]`."""
    ordered = sorted(times)
    best = start = 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def _random_policy(rng: random.Random) -> PollPolicy:
    return PollPolicy(
        fast_interval=rng.uniform(0.05, 5.0),
        stage_fraction=rng.uniform(0.0, 0.9),
        transitional_max_interval=rng.uniform(0.05, 60.0),
        backoff_factor=rng.uniform(1.0, 4.0),
        max_interval=rng.uniform(0.05, 120.0),
        jitter=rng.uniform(0.0, 0.9),
        hot_interval=rng.uniform(0.01, 3.0),
        hot_period=rng.uniform(0.0, 30.0),
        poll_share=rng.uniform(0.01, 1.0),
    )


# --- pure -----------------------------------------------------------------------------------------------


def test_budget_assumes_the_free_account_quota_until_the_hub_tells_one() -> None:
    """With no RateLimit-Policy seen, the budget is the share of the free account's 1,000 calls per 5 minutes;
    with one seen, the share of the advertised quota."""
    assumed = Budget.of(share=0.25, quota=None, window=None)
    assert (assumed.cap, assumed.window, assumed.assumed) == (250, 300.0, True)
    assert (FREE_QUOTA, FREE_WINDOW) == (1000, 300.0)
    told = Budget.of(share=0.25, quota=100, window=30)
    assert (told.cap, told.window, told.assumed) == (25, 30.0, False)
    assert Budget.of(share=0.001, quota=100, window=30).cap == 1  # never zero: a watch must be able to poll
    assert "25% of 1000" in assumed.describe()
    assert "assumed" in assumed.describe()


@pytest.mark.parametrize("seed", range(200))
def test_budget_never_exceeds_its_cap_in_any_window(seed: int) -> None:
    """Whatever the quota, share, round sizes and arrival times, no window holds more than the cap's poll
    requests, and sends are paced at least one spacing per request apart."""
    rng = random.Random(seed)
    budget = Budget.of(share=rng.uniform(0.01, 1.0), quota=rng.randint(1, 400), window=rng.uniform(1, 300))
    pool = PollBudget()
    now = 0.0
    sent: list[float] = []
    last: tuple[float, int] | None = None
    for _ in range(rng.randint(1, 300)):
        now += rng.expovariate(1.0) * rng.choice([0.0, 0.01, 1.0, budget.spacing])
        requests = rng.randint(1, 3)
        while (wait := pool.wait(now, requests, budget)) > 0:
            now += wait
        pool.take(now, requests, budget)
        count = min(requests, budget.cap)
        if last is not None:
            assert now - last[0] >= last[1] * budget.spacing - 1e-9
        last = (now, count)
        sent.extend([now] * count)
    assert _most_in_a_window(sent, budget.window) <= budget.cap


def test_likely_in_is_hot_after_an_action_and_near_the_usual_stage_duration() -> None:
    """A transition is likely right after an action and from 0.8x to 1.5x a stage's usual duration; before
    that the delay until then is given; nothing known means None."""
    policy = PollPolicy(hot_period=10.0)
    common = {"now": 100.0, "transitional": True}
    assert likely_in(policy, **common, in_stage=1.0, acted_at=95.0, expected=None) == 0.0
    assert likely_in(policy, **common, in_stage=1.0, acted_at=80.0, expected=None) is None
    assert likely_in(policy, **common, in_stage=20.0, acted_at=None, expected=100.0) == pytest.approx(60.0)
    assert likely_in(policy, **common, in_stage=90.0, acted_at=None, expected=100.0) == 0.0
    assert likely_in(policy, **common, in_stage=200.0, acted_at=None, expected=100.0) is None
    assert (
        likely_in(policy, now=100.0, transitional=False, in_stage=90.0, acted_at=None, expected=100.0) is None
    )


def test_policy_polls_at_the_hot_interval_when_likely_and_wakes_for_it_otherwise() -> None:
    """`likely_in` 0 gives the hot interval; a later likely moment cuts a longer delay to land on it; a
    settled Space's backoff is unchanged without one."""
    policy = PollPolicy(fast_interval=2.0, hot_interval=0.5, max_interval=60.0, jitter=0.0)
    assert policy.base_delay(transitional=True, in_state=300.0, unchanged=5, likely_in=0.0) == 0.5
    assert policy.base_delay(transitional=True, in_state=300.0, unchanged=5, likely_in=7.0) == 7.0
    assert policy.base_delay(transitional=True, in_state=300.0, unchanged=5) == 30.0
    assert policy.base_delay(transitional=False, in_state=600.0, unchanged=10) == 60.0


def test_stage_history_keeps_the_median_of_the_last_durations() -> None:
    """The expected duration of a stage is the median of the Space's last five recorded durations."""
    history = StageHistory()
    assert history.expected("a/b", "BUILDING") is None
    for duration in (100.0, 10.0, 30.0, 20.0, 40.0, 50.0):
        history.record("a/b", "BUILDING", duration)
    assert history.expected("a/b", "BUILDING") == 30.0  # 10 .. 50, the first (100) dropped
    assert history.expected("a/c", "BUILDING") is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("poll_share", 0.0), ("poll_share", 1.5), ("hot_interval", 0.0), ("hot_period", -1.0)],
)
def test_policy_rejects_bad_budget_and_cadence_settings(field: str, value: float) -> None:
    """A share outside (0, 1], a non-positive hot interval or a negative hot period raise ValueError."""
    with pytest.raises(ValueError, match=field):
        PollPolicy(**{field: value})


# --- virtual time, against the simulated Hub --------------------------------------------------------------


def _env(clock: VirtualClock, quota: int, window: float) -> tuple[SimulatedHub, _Polls, SpacesClient]:
    hub = SimulatedHub(clock=clock, seed=0)
    token = hub.add_user("alice", token="hf_test_alice")
    hub.set_rate_limit(quota, window)
    polls = _Polls(hub.transport(), clock)
    client = SpacesClient(
        token=token, endpoint="https://hub.test", transport=polls, clock=clock, retry=fast_retry()
    )
    return hub, polls, client


@pytest.mark.anyio
@pytest.mark.parametrize("seed", range(25))
async def test_budget_holds_under_any_policy_with_a_fleet_and_a_wait_polling_at_once(seed: int) -> None:
    """Under a random PollPolicy and quota, a fleet watch and a single-Space wait of one client together
    never poll more than the policy's share of the advertised quota in any window, and no call fails."""
    rng = random.Random(seed)
    policy = _random_policy(rng)
    quota, window = rng.randint(20, 200), rng.choice([10.0, 60.0])
    clock = VirtualClock()
    hub, polls, client = _env(clock, quota, window)
    fleet = [f"alice/fleet-{i}" for i in range(6)]
    for repo_id in [*fleet, "alice/single"]:
        hub.create_space(repo_id, stage=None)
        hub.set_durations(repo_id, build=rng.uniform(5, 120), start=rng.uniform(1, 30))
        hub.rebuild(repo_id)
    async with client:
        await client.restart_space("alice/single")  # an action: its wait starts hot
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: client.wait_all(fleet, timeout=400, policy=policy))
            tg.start_soon(lambda: client.wait_until_running("alice/single", timeout=400, policy=policy))
    cap = max(1, math.floor(policy.poll_share * quota))
    assert polls.times
    assert _most_in_a_window(polls.times, window) <= cap
    assert hub.counters.rate_limited == 0
    assert all(hub.space_stage(r) == "RUNNING" for r in [*fleet, "alice/single"])


@pytest.mark.anyio
async def test_cadence_is_fast_right_after_an_action_and_slower_later() -> None:
    """After this client restarts a Space, its wait polls every `hot_interval` for `hot_period`, then at the
    ordinary (slower) transitional cadence."""
    clock = VirtualClock()
    hub, polls, client = _env(clock, 100_000, 300)
    hub.create_space("alice/app")
    hub.set_durations("alice/app", build=120.0, start=10.0)
    policy = PollPolicy(hot_interval=0.5, hot_period=10.0, fast_interval=2.0, jitter=0.0)
    async with client:
        await client.restart_space("alice/app")
        acted = clock.now()
        await client.wait_until_running("alice/app", timeout=600, policy=policy)
    times = [t - acted for t in polls.times]
    early = [b - a for a, b in itertools.pairwise(times) if b <= 10.0]
    late = [b - a for a, b in itertools.pairwise(times) if a >= 12.0]
    assert len(early) >= 15
    assert max(early) <= 0.5 + 1e-6
    assert late
    assert min(late) >= 2.0 - 1e-6


@pytest.mark.anyio
async def test_cadence_speeds_up_near_the_usual_build_time_from_history() -> None:
    """A Space whose first build the client watched is polled fast near the end of its second build of the
    same length: detected within `hot_interval`, where the first (no history) was detected later."""
    clock = VirtualClock()
    hub, _polls, client = _env(clock, 100_000, 300)
    hub.create_space("alice/app", stage=None)
    hub.set_durations("alice/app", build=200.0, start=50.0)
    hub.rebuild("alice/app")
    policy = PollPolicy(hot_interval=0.5, hot_period=0.0, jitter=0.0)
    lags = []
    async with client:
        for _ in range(2):
            await client.wait_until(
                "alice/app",
                lambda r: str(r.stage) == "RUNNING",
                timeout=600,
                policy=policy,
            )
            state = hub.space_state("alice/app")
            lags.append(clock.now() - state.stage_since)
            hub.rebuild("alice/app")
    assert lags[1] <= 0.5 + 1e-6 < lags[0]


@pytest.mark.anyio
async def test_fleet_reads_transitional_spaces_together_and_settled_ones_slowly() -> None:
    """A fleet listing is read every `hot_interval` while many of an owner's Spaces build, and ever more
    rarely (backing off towards `max_interval`) once they all run."""
    clock = VirtualClock()
    hub, polls, client = _env(clock, 100_000, 300)
    ids = [f"alice/app-{i}" for i in range(20)]
    for repo_id in ids:
        hub.create_space(repo_id, stage=None)
        hub.set_durations(repo_id, build=30.0, start=5.0)
        hub.rebuild(repo_id)
    policy = PollPolicy(hot_interval=0.5, jitter=0.0, max_interval=60.0)
    async with client, client.watch_many(ids, timeout=600, policy=policy) as changes:
        async for _ in changes:
            pass
    building = [t for t in polls.times if t < 30.0]
    settled = [t for t in polls.times if t > 300.0]
    assert len(building) >= 30.0 / 0.5 - 2  # one listing per hot interval while they build
    assert len(settled) <= 300.0 / 60.0 + 1  # at most one per max_interval once all run


@pytest.mark.anyio
async def test_info_log_shows_the_budget_and_each_cadence_change_not_every_poll(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """At INFO (what `-v` shows) the SDK logs the budget when it changes and the cadence when it changes,
    far fewer lines than polls."""
    clock = VirtualClock()
    hub, polls, client = _env(clock, 100, 30)
    hub.create_space("alice/app")
    hub.set_durations("alice/app", build=120.0, start=10.0)
    policy = PollPolicy(hot_interval=0.5, hot_period=10.0, fast_interval=2.0, jitter=0.0)
    with caplog.at_level("INFO", logger="aiospaces"):
        async with client:
            await client.restart_space("alice/app")
            await client.wait_until_running("alice/app", timeout=600, policy=policy)
    lines = [r.getMessage() for r in caplog.records if r.name == "aiospaces"]
    budgets = [line for line in lines if line.startswith("poll budget")]
    cadences = [line for line in lines if line.startswith("polling alice/app every")]
    assert budgets == ["poll budget 25 requests per 30 s (25% of 100, quota advertised by the Hub)"]
    assert cadences[0] == "polling alice/app every 0.5 s (transition likely)"
    assert any("(transitional)" in line for line in cadences[1:])
    assert len(cadences) < len(polls.times) / 3


class _NoRateLimitHeaders(httpx2.AsyncBaseTransport):
    """A Hub that sends no RateLimit headers (drops them from every answer)."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        for name in ("RateLimit", "RateLimit-Policy"):
            if name in response.headers:
                del response.headers[name]
        return response


@pytest.mark.anyio
async def test_without_rate_limit_headers_polling_assumes_the_free_account_quota() -> None:
    """When the Hub never tells its quota, polls keep to the share of the free account's 1,000 calls per
    300 s: one every 1.2 s at the default 25%, however hot the cadence asks."""
    clock = VirtualClock()
    hub = SimulatedHub(clock=clock, seed=0)
    token = hub.add_user("alice", token="hf_test_alice")
    polls = _Polls(_NoRateLimitHeaders(hub.transport()), clock)
    hub.create_space("alice/app", stage=None)
    hub.set_durations("alice/app", build=40.0, start=10.0)
    hub.rebuild("alice/app")
    policy = PollPolicy(hot_interval=0.1, hot_period=60.0, fast_interval=0.1, stage_fraction=0.0)
    async with SpacesClient(
        token=token, endpoint="https://hub.test", transport=polls, clock=clock, retry=fast_retry()
    ) as client:
        await client.restart_space("alice/app")
        await client.wait_until_running("alice/app", timeout=600, policy=policy)
    gaps = [b - a for a, b in itertools.pairwise(polls.times)]
    assert len(gaps) >= 10
    assert min(gaps) >= FREE_WINDOW / (FREE_QUOTA * 0.25) - 1e-6


def test_round_plan_lists_just_far_enough_to_cover_the_due_spaces() -> None:
    """The planner cuts an owner's listing right after the last due Space's place in the previous listing,
    lists it whole when a due Space's place is unknown, and charges the budget one request per page."""
    from aiospaces._fleet_watch import LIST_PAGE_ESTIMATE, plan_round

    active = [("alice/a", "alice", 0.0), ("alice/b", "alice", 0.0), ("alice/c", "alice", 50.0)]
    places = {"alice/a": 3, "alice/b": 7, "alice/c": 900}
    plan = plan_round(active, 1.0, {"alice": 100}, places)
    (read,) = plan.owners
    assert (read.limit, read.due, plan.requests) == (8, ("alice/a", "alice/b"), 1)
    assert plan_round(active, 1.0, {}, {"alice/a": 3}).owners[0].limit is None
    far = plan_round(active, 1.0, {}, {"alice/a": 3, "alice/b": 2 * LIST_PAGE_ESTIMATE})
    assert far.requests == 3  # a prefix of 1,001 items spans three pages of 500
