"""The pure poll policy (`aiospaces._poll`), tested as tables: no transport, no clock, no sleeping."""

from __future__ import annotations

import random

import pytest
from _doubles import runtime

from aiospaces._poll import (
    WATCHED_FIELDS,
    PollPolicy,
    PollTracker,
    changed_fields,
    is_transitional,
    raw_error_message,
    snapshot,
)

POLICY = PollPolicy(jitter=0.0)


@pytest.mark.parametrize(
    ("transitional", "in_state", "unchanged", "expected"),
    [
        # transitional: floor, then 10% of the time in the state, then the cap
        (True, 0.0, 0, 2.0),
        (True, 10.0, 5, 2.0),
        (True, 20.0, 9, 2.0),
        (True, 50.0, 3, 5.0),
        (True, 300.0, 30, 30.0),
        (True, 600.0, 40, 60.0),
        (True, 6000.0, 80, 60.0),
        # stable: exponential in unchanged polls, capped
        (False, 0.0, 0, 2.0),
        (False, 100.0, 1, 4.0),
        (False, 100.0, 2, 8.0),
        (False, 100.0, 4, 32.0),
        (False, 100.0, 5, 60.0),
        (False, 1e9, 10_000, 60.0),
    ],
)
def test_base_delay_table(transitional: bool, in_state: float, unchanged: int, expected: float) -> None:
    """The base delay is floor/fraction/cap while transitional and capped exponential backoff otherwise."""
    assert POLICY.base_delay(
        transitional=transitional, in_state=in_state, unchanged=unchanged
    ) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("now", "deadline", "pacing", "rand", "expected"),
    [
        (0.0, None, 0.0, 0.0, 8.0),  # plain backoff
        (0.0, None, 20.0, 0.0, 20.0),  # rate-limit pacing slows the poller down
        (0.0, 5.0, 0.0, 0.0, 5.0),  # the last poll lands exactly on the deadline
        (4.0, 5.0, 0.0, 0.0, 1.0),
        (5.0, 5.0, 0.0, 0.0, None),  # at the deadline: no further poll
        (6.0, 5.0, 0.0, 0.0, None),
        (0.0, 5.0, 6.0, 0.0, None),  # pacing leaves no room before the deadline: no poll after it
        (0.0, 100.0, 0.0, 0.5, 7.6),  # jitter shortens by rand * jitter (10% policy below)
        (0.0, 100.0, 0.0, 0.999, 7.2008),
        (0.0, 100.0, 9.0, 0.999, 9.0),  # jitter never goes below pacing
    ],
)
def test_next_delay_table(
    now: float, deadline: float | None, pacing: float, rand: float, expected: float | None
) -> None:
    """Pacing is a floor, jitter only shortens, and no poll is ever scheduled after the deadline."""
    policy = PollPolicy(jitter=0.1 if rand else 0.0)
    delay = policy.next_delay(
        now=now, transitional=False, in_state=10.0, unchanged=2, deadline=deadline, pacing=pacing, rand=rand
    )
    if expected is None:
        assert delay is None
    else:
        assert delay == pytest.approx(expected)
        if deadline is not None:
            assert now + delay <= deadline


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fast_interval": 0},
        {"fast_interval": -1.0},
        {"fast_interval": float("inf")},
        {"stage_fraction": 1.0},
        {"stage_fraction": -0.1},
        {"backoff_factor": 0.5},
        {"max_interval": 0.0},
        {"transitional_max_interval": float("nan")},
        {"jitter": 1.0},
    ],
)
def test_policy_rejects_bad_settings(kwargs: dict[str, float]) -> None:
    """A nonsensical policy setting raises ValueError naming the setting."""
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        PollPolicy(**kwargs)


def _simulate_build(policy: PollPolicy, build: float, start: float, seed: int) -> tuple[int, float, float]:
    """Poll a Space building `build` s then starting `start` s; return the polls and both detection lags."""
    rng = random.Random(seed)
    tracker = PollTracker(policy)
    now, polls = 0.0, 0
    seen_starting = seen_running = None
    while True:
        stage = "BUILDING" if now < build else "APP_STARTING" if now < build + start else "RUNNING"
        polls += 1
        tracker.observe(runtime(stage), now)
        if stage == "APP_STARTING" and seen_starting is None:
            seen_starting = now
        if stage == "RUNNING":
            seen_running = now
            break
        delay = tracker.next_delay(now, rand=rng.random())
        assert delay is not None
        now += delay
    first_app = seen_starting if seen_starting is not None else seen_running
    return polls, first_app - build, seen_running - (build + start)


@pytest.mark.parametrize("seed", range(5))
def test_ten_minute_build_budget(seed: int) -> None:
    """A 10-minute build is seen within max(2 s, 10% of the build) in at most 60 polls (1 s polling: 600)."""
    polls, build_lag, _ = _simulate_build(PollPolicy(), build=600.0, start=10.0, seed=seed)
    assert polls <= 60
    assert build_lag <= max(2.0, 0.1 * 600.0)


@pytest.mark.parametrize(("build", "start"), [(5.0, 3.0), (30.0, 8.0), (120.0, 20.0), (900.0, 45.0)])
def test_detection_lag_bound(build: float, start: float) -> None:
    """Each stage change is seen within max(2 s, 10% of the time spent in the stage before it)."""
    _, build_lag, run_lag = _simulate_build(PollPolicy(), build=build, start=start, seed=7)
    assert build_lag <= max(2.0, 0.1 * build) + 1e-9
    # RUNNING may be seen straight after BUILDING (APP_STARTING missed between polls): the build's bound.
    assert run_lag <= max(2.0, 0.1 * max(build, start)) + 1e-9


def test_tracker_resets_on_change() -> None:
    """The tracker counts unchanged polls; a change of any watched field resets the count and the start."""
    tracker = PollTracker(POLICY)
    assert tracker.observe(runtime("RUNNING"), 0.0) is True
    assert tracker.observe(runtime("RUNNING"), 2.0) is False
    assert tracker.observe(runtime("RUNNING"), 6.0) is False
    assert tracker.unchanged == 2
    assert tracker.next_delay(6.0) == pytest.approx(8.0)
    assert tracker.observe(runtime("RUNNING", sleep_time=3600), 14.0) is True
    assert (tracker.unchanged, tracker.state_since) == (0, 14.0)
    assert tracker.next_delay(14.0) == pytest.approx(2.0)


def test_changed_fields_and_snapshot() -> None:
    """`changed_fields` names exactly the watched fields that differ; all of them for a first observation."""
    old = runtime("RUNNING_BUILDING", "cpu-basic", requested_hardware="t4-medium")
    new = runtime("RUNNING", "t4-medium", requested_hardware="t4-medium")
    assert changed_fields(None, new) == frozenset(WATCHED_FIELDS)
    assert changed_fields(old, new) == {"stage", "hardware"}
    assert changed_fields(new, runtime("RUNNING", "t4-medium")) == frozenset()
    # fields outside the watched set (e.g. raw) never count
    assert changed_fields(new, runtime("RUNNING", "t4-medium", raw={"x": 1})) == frozenset()
    assert snapshot(new)[0] == "RUNNING"


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        ("BUILDING", True),
        ("APP_STARTING", True),
        ("RUNNING_BUILDING", True),
        ("RUNNING_APP_STARTING", True),
        ("RUNNING", False),
        ("PAUSED", False),
        ("BUILD_ERROR", False),
        ("SOME_FUTURE_STAGE", False),
    ],
)
def test_is_transitional(stage: str, expected: bool) -> None:
    """Exactly HfApi's intermediate stages count as transitional; unknown stages do not (hub-api.md §10.1)."""
    assert is_transitional(stage) is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ({}, None),
        ({"errorMessage": ""}, None),
        ({"errorMessage": 3}, None),
        ({"errorMessage": "x"}, "x"),
    ],
)
def test_raw_error_message(raw: dict[str, object] | None, expected: str | None) -> None:
    """Only a non-empty string `errorMessage` is reported."""
    assert raw_error_message(raw) == expected
