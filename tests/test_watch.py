"""`client.watch`: runtime changes as an async stream, in virtual time against the simulated Hub."""

from __future__ import annotations

import anyio
import pytest

from aiospaces import SpacesClient
from aiospaces._poll import WATCHED_FIELDS, PollPolicy
from aiospaces._watch import RuntimeChange
from aiospaces.testing import SimulatedHubClient

pytestmark = pytest.mark.anyio

RUNTIME_ROUTE = "GET /api/spaces/{id}/runtime"
APP = b"import gradio as gr\n\ngr.Interface(lambda x: x, 'text', 'text').launch()\n"


async def test_commit_build_yields_each_stage_once_in_order() -> None:
    """A Space built after a commit yields BUILDING → APP_STARTING → RUNNING, in order, each once."""
    async with SimulatedHubClient() as env:
        client = env.client
        await client.create_repo("alice/fresh", repo_type="space", space_sdk="gradio")
        await client.upload_file(
            path_or_fileobj=APP, path_in_repo="app.py", repo_id="alice/fresh", repo_type="space"
        )
        stages = []
        async for change in client.watch("alice/fresh", timeout=300):
            stages.append(change.stage)
        assert stages == ["BUILDING", "APP_STARTING", "RUNNING"]
        assert env.hub.space_stage("alice/fresh") == "RUNNING"


async def test_first_observation_and_change_fields() -> None:
    """The first change has no previous runtime and names every field; later ones name what changed."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/demo")
        watch = env.client.watch("alice/demo", timeout=120)
        first = await watch.__anext__()
        assert isinstance(first, RuntimeChange)
        assert first.previous is None
        assert first.changed == frozenset(WATCHED_FIELDS)
        assert first.when == env.clock.now() == 0.0
        runtime = await env.client.request_space_hardware("alice/demo", "t4-small")
        assert runtime.requested_hardware == "t4-small"
        second = await watch.__anext__()
        assert second.previous == first.current
        assert "requested_hardware" in second.changed
        assert second.current.requested_hardware == "t4-small"
        await watch.aclose()
        with pytest.raises(StopAsyncIteration):
            await watch.__anext__()


async def test_stable_space_backs_off_and_watch_ends_at_timeout() -> None:
    """Watching a RUNNING Space for 10 minutes backs off to a handful of polls and ends at the timeout."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/demo")
        changes = [c async for c in env.client.watch("alice/demo", timeout=600)]
        assert [c.stage for c in changes] == ["RUNNING"]
        assert env.clock.now() == pytest.approx(600.0)
        # 2, 4, 8, 16, 32, 60, 60, ... (jitter only shortens): about 15 polls instead of 600.
        assert env.hub.counters.requests[RUNTIME_ROUTE] <= 20


async def test_ten_minute_build_detected_quickly_with_few_requests() -> None:
    """A 10-minute build is seen within max(2 s, 10% of the build) using at most 60 runtime requests."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        hub.set_durations(build=600.0, start=90.0)
        hub.create_space("alice/slow", stage=None)  # a build starts now
        seen: dict[str, float] = {}
        requests: dict[str, int] = {}
        async for change in env.client.watch("alice/slow", timeout=900):
            seen[change.stage] = change.when
            requests[change.stage] = hub.counters.requests[RUNTIME_ROUTE]
            if change.stage == "RUNNING":
                break
        assert list(seen) == ["BUILDING", "APP_STARTING", "RUNNING"]
        # the build's end: within 10% of the 600 s spent building, in at most 60 requests (1 s polling: 600)
        assert 600.0 <= seen["APP_STARTING"] <= 600.0 + max(2.0, 0.1 * 600.0)
        assert requests["APP_STARTING"] <= 60
        # the start's end: within max(2 s, 10% of the time spent in APP_STARTING)
        assert 690.0 <= seen["RUNNING"] <= 690.0 + max(2.0, 0.1 * 90.0)


async def test_fifty_watchers_under_rate_limit_get_no_429() -> None:
    """50 concurrent watchers sharing one client under a 60-requests-per-window limit never get a 429."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        hub.set_rate_limit(60, window_seconds=60.0)
        ids = [f"alice/space-{i}" for i in range(50)]
        for repo_id in ids:
            hub.create_space(repo_id, stage=None)
        seen: dict[str, list[str]] = {}

        async def watcher(repo_id: str) -> None:
            async for change in env.client.watch(repo_id, timeout=600):
                seen.setdefault(repo_id, []).append(change.stage)
                if change.stage == "RUNNING":
                    return

        async with anyio.create_task_group() as tg:
            for repo_id in ids:
                tg.start_soon(watcher, repo_id)
        assert hub.counters.rate_limited == 0
        assert all(stages[-1] == "RUNNING" for stages in seen.values())
        assert len(seen) == 50


async def test_cancelling_a_watch_leaves_nothing_behind() -> None:
    """Cancelling a watch mid-sleep or mid-request leaves no task and no open response behind."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        hub.create_space("alice/demo", stage=None)
        hub.add_fault("latency", route=RUNTIME_ROUTE, seconds=5.0, probability=0.5)
        tasks_before = len(anyio.get_running_tasks())
        for cancel_at in (0.5, 3.0, 7.5, 20.0, 41.0):
            with anyio.move_on_after(3600):  # real-time guard only; the cancel below is virtual

                async def watch_forever() -> None:
                    async for _ in env.client.watch("alice/demo"):
                        pass

                async with anyio.create_task_group() as tg:
                    tg.start_soon(watch_forever)
                    await env.clock.sleep(cancel_at)
                    tg.cancel_scope.cancel()
            assert hub.counters.in_flight == 0
            assert len(anyio.get_running_tasks()) == tasks_before
            assert env.client._session.load.pollers == 0  # no poller counted for the client's pacing


async def test_watch_rejects_bad_arguments_before_any_request() -> None:
    """Bad repo ids, timeouts and policies raise before any request is sent."""
    async with SimulatedHubClient() as env:
        client: SpacesClient = env.client
        with pytest.raises(ValueError, match="repo_id"):
            client.watch("no-namespace")
        with pytest.raises(ValueError, match="timeout"):
            client.watch("alice/demo", timeout=-1)
        with pytest.raises(TypeError, match="policy"):
            client.watch("alice/demo", policy="fast")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="repo_ids"):
            client.watch_many(["alice/a", "alice/a"])
        with pytest.raises(TypeError, match="repo_ids"):
            client.watch_many("alice/a")
        assert env.hub.counters.total_requests == 0


async def test_custom_policy_is_used() -> None:
    """A custom policy's fixed interval sets the polling rate of a watch."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/demo")
        fixed = PollPolicy(fast_interval=10.0, backoff_factor=1.0, max_interval=10.0, jitter=0.0)
        watch = env.client.watch("alice/demo", timeout=100, policy=fixed)
        async for _ in watch:
            assert watch.requests >= 1
        assert env.hub.counters.requests[RUNTIME_ROUTE] == watch.requests == 11  # t = 0, 10, ..., 100


async def test_watch_after_pause_does_not_report_a_stale_running() -> None:
    """After a pause, a lagging read still showing RUNNING, arriving once PAUSED was seen, is not reported
    as a change back to RUNNING."""
    async with SimulatedHubClient() as env:
        hub, client = env.hub, env.client
        hub.create_space("alice/demo")
        env.clock.advance(100.0)
        await client.pause_space("alice/demo")
        stages = []
        async for change in client.watch("alice/demo", timeout=40):
            stages.append(change.stage)
            if change.stage == "PAUSED" and len(stages) == 1:
                # the next reads come from a replica 50 s behind: before the pause, RUNNING
                stale = hub.add_fault(
                    "stale_runtime", route="GET /api/spaces/{id}/runtime", count=2, seconds=50.0
                )
        assert stages == ["PAUSED"]
        assert stale.injected == 2
