"""The `on_change` hook of the `wait_*` methods: transitions the wait's own reads see, at no extra cost."""

from __future__ import annotations

import itertools

import pytest

from aiospaces import PollPolicy, RuntimeChange
from aiospaces.errors import SpaceFailedError
from aiospaces.testing import SimulatedHubClient

pytestmark = pytest.mark.anyio

RUNTIME_ROUTE = "GET /api/spaces/{id}/runtime"
STEADY = PollPolicy(jitter=0.0)  # deterministic poll times, so two runs can be compared request for request


async def _wait_for_build(with_hook: bool) -> tuple[list[RuntimeChange], int, float]:
    """Build a fresh Space and wait until it runs; return the changes seen, runtime requests, end time."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/app", stage=None)  # a build starts now
        env.hub.set_durations("alice/app", build=40.0, start=15.0)
        changes: list[RuntimeChange] = []
        hook = changes.append if with_hook else None
        runtime = await env.client.wait_until_running("alice/app", policy=STEADY, on_change=hook)
        assert str(runtime.stage) == "RUNNING"
        return changes, env.hub.counters.requests[RUNTIME_ROUTE], env.clock.now()


async def test_wait_until_running_reports_each_transition_without_extra_requests() -> None:
    """`on_change` gets BUILDING, APP_STARTING, RUNNING in order, chained by `previous`, at no extra cost."""
    changes, requests, ended = await _wait_for_build(with_hook=True)
    assert [c.stage for c in changes] == ["BUILDING", "APP_STARTING", "RUNNING"]
    assert changes[0].previous is None
    assert changes[0].changed == frozenset(
        {"stage", "hardware", "requested_hardware", "storage", "sleep_time", "dev_mode"}
    )
    for before, after in itertools.pairwise(changes):
        assert after.previous is before.current
        assert "stage" in after.changed
        assert after.when >= before.when
    assert all(c.repo_id == "alice/app" for c in changes)
    _, requests_without, ended_without = await _wait_for_build(with_hook=False)
    assert requests == requests_without
    assert ended == ended_without


async def test_wait_for_hardware_reports_the_switch() -> None:
    """While waiting for new hardware, `on_change` sees the old flavor running and then the new one."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/gpu")
        env.hub.set_durations("alice/gpu", hardware_switch=30.0)
        await env.client.request_space_hardware("alice/gpu", "t4-small")
        changes: list[RuntimeChange] = []
        await env.client.wait_for_hardware("alice/gpu", "t4-small", on_change=changes.append)
        assert (changes[0].current.hardware, changes[0].current.requested_hardware) == (
            "cpu-basic",
            "t4-small",
        )
        assert changes[-1].current.hardware == "t4-small"
        assert "hardware" in changes[-1].changed


async def test_failure_stage_is_reported_before_the_error() -> None:
    """A build that fails reaches `on_change` as BUILD_ERROR before the wait raises SpaceFailedError."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/broken")
        env.hub.fail_next_build("alice/broken", ["ERROR: no such package"])
        await env.client.restart_space("alice/broken")
        changes: list[RuntimeChange] = []
        with pytest.raises(SpaceFailedError):
            await env.client.wait_until_running("alice/broken", on_change=changes.append)
        assert changes[-1].stage == "BUILD_ERROR"


async def test_wait_for_space_and_wait_until_take_the_hook() -> None:
    """`wait_for_space` and `wait_until` report the same transitions through `on_change`."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/one", stage=None)
        first: list[RuntimeChange] = []
        second: list[RuntimeChange] = []
        await env.client.wait_for_space("alice/one", on_change=first.append)
        env.hub.create_space("alice/two", stage=None)  # built now, while the second wait watches
        await env.client.wait_until("alice/two", lambda r: r.stage == "RUNNING", on_change=second.append)
        assert [c.stage for c in first] == ["BUILDING", "APP_STARTING", "RUNNING"]
        assert [c.stage for c in second] == ["BUILDING", "APP_STARTING", "RUNNING"]


async def test_hook_errors_propagate_and_bad_hooks_are_refused() -> None:
    """An exception raised by `on_change` ends the wait with it; a non-callable is a TypeError before any
    request."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/app", stage=None)

        def explode(change: RuntimeChange) -> None:
            raise RuntimeError("callback bug")

        with pytest.raises(RuntimeError, match="callback bug"):
            await env.client.wait_until_running("alice/app", on_change=explode)
        before = env.hub.counters.total_requests
        with pytest.raises(TypeError, match="on_change"):
            await env.client.wait_until_running("alice/app", on_change="print")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="on_change"):
            await env.client.wait_all(["alice/app"], on_change=42)  # type: ignore[arg-type]
        assert env.hub.counters.total_requests == before


async def _wait_all(with_hook: bool) -> tuple[list[RuntimeChange], int]:
    async with SimulatedHubClient() as env:
        names = ["alice/a", "alice/b", "alice/c"]
        for index, name in enumerate(names):
            env.hub.create_space(name, stage=None)
            env.hub.set_durations(name, build=20.0 + 10 * index, start=5.0)
        changes: list[RuntimeChange] = []
        report = await env.client.wait_all(
            names, policy=STEADY, on_change=changes.append if with_hook else None
        )
        assert report.ok
        return changes, env.hub.counters.total_requests


async def test_wait_all_reports_changes_from_the_shared_loop() -> None:
    """`wait_all(on_change=...)` reports every Space's transitions up to RUNNING, with no extra request."""
    changes, requests = await _wait_all(with_hook=True)
    by_space: dict[str, list[str]] = {}
    for change in changes:
        by_space.setdefault(change.repo_id, []).append(change.stage)
    assert set(by_space) == {"alice/a", "alice/b", "alice/c"}
    for stages in by_space.values():
        assert stages == ["BUILDING", "APP_STARTING", "RUNNING"]
    _, requests_without = await _wait_all(with_hook=False)
    assert requests == requests_without
