"""`watch_many` and `wait_all`: one shared poll loop over a fleet, reading owners through list pages."""

from __future__ import annotations

import anyio
import httpx2
import pytest

from aiospaces import SpacesClient
from aiospaces.errors import NotFoundError, SpaceFailedError, SpaceNotRunningError, WaitTimeoutError
from aiospaces.testing import SimulatedHubClient

pytestmark = pytest.mark.anyio

RUNTIME_ROUTE = "GET /api/spaces/{id}/runtime"
LIST_ROUTE = "GET /api/spaces"


class _Recording(httpx2.AsyncBaseTransport):
    """Passes requests to `inner`, keeping each request's URL."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.urls: list[httpx2.URL] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.urls.append(request.url)
        return await self.inner.handle_async_request(request)


async def test_watch_many_two_hundred_spaces_through_list_pages() -> None:
    """Over 200 Spaces of one owner every transition is seen, in order, through list pages with almost no
    per-Space runtime calls."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        ids = [f"alice/app-{i:03d}" for i in range(200)]
        for i, repo_id in enumerate(ids):
            hub.create_space(repo_id, stage=None)  # builds start now
            hub.set_durations(repo_id, build=30.0 + (i % 7) * 5, start=10.0 + (i % 3) * 5)
            hub.rebuild(repo_id)  # restarted with these durations: BUILDING again
        stages: dict[str, list[str]] = {r: [] for r in ids}
        async with env.client.watch_many(ids, timeout=300) as changes:
            async for change in changes:
                stages[change.repo_id].append(change.stage)
                if all(s and s[-1] == "RUNNING" for s in stages.values()):
                    break
        assert all(s == ["BUILDING", "APP_STARTING", "RUNNING"] for s in stages.values())
        assert hub.counters.requests[RUNTIME_ROUTE] <= 5
        assert changes.runtime_requests == hub.counters.requests[RUNTIME_ROUTE]
        assert changes.list_requests == hub.counters.requests[LIST_ROUTE]  # 200 Spaces fit in one page
        # About 80 s of builds, the 200 transitional Spaces read together at most every `hot_interval`.
        assert 0 < hub.counters.requests[LIST_ROUTE] <= 80 / 0.5 + 5


async def test_watch_many_falls_back_to_runtime_calls_for_lone_owners() -> None:
    """Spaces whose owner has no other watched Space are read with runtime calls; the rest through lists."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        hub.add_user("bob", token="hf_test_bob")
        hub.create_space("bob/solo")  # public: alice may read it
        hub.create_space("alice/one")
        hub.create_space("alice/two")
        sent = _Recording(hub.transport())
        seen = set()
        async with SpacesClient(
            token=env.token, endpoint="https://hub.test", transport=sent, clock=env.clock
        ) as client:
            async for change in client.watch_many(["bob/solo", "alice/one", "alice/two"], timeout=30):
                seen.add((change.repo_id, change.stage))
        assert seen == {("bob/solo", "RUNNING"), ("alice/one", "RUNNING"), ("alice/two", "RUNNING")}
        runtime_reads = {url.path for url in sent.urls if url.path.endswith("/runtime")}
        listings = {url.params.get("author") for url in sent.urls if url.path == "/api/spaces"}
        assert runtime_reads == {"/api/spaces/bob/solo/runtime"}
        assert listings == {"alice"}
        assert len(sent.urls) == hub.counters.requests[LIST_ROUTE] + hub.counters.requests[RUNTIME_ROUTE]


async def test_wait_all_reports_each_space() -> None:
    """wait_all returns one outcome per Space in input order: RUNNING, failed with logs, paused, timed out."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        hub.create_space("alice/ok", stage=None)
        hub.create_space("alice/broken")
        hub.fail_next_build(
            "alice/broken", ["Collecting torch==>1", "ERROR: Invalid requirement: 'torch==>1'"]
        )
        hub.rebuild("alice/broken")
        hub.create_space("alice/paused", stage="PAUSED")
        hub.create_space("alice/slow")
        hub.set_durations("alice/slow", build=10_000.0)
        hub.rebuild("alice/slow")
        ids = ["alice/ok", "alice/broken", "alice/paused", "alice/slow"]
        report = await env.client.wait_all(ids, timeout=300)
        assert [o.repo_id for o in report] == ids
        assert report["alice/ok"].ok
        assert report["alice/ok"].result is not None
        assert str(report["alice/ok"].result.stage) == "RUNNING"
        broken = report["alice/broken"].error
        assert isinstance(broken, SpaceFailedError)
        assert broken.log_tail[-1] == "ERROR: Invalid requirement: 'torch==>1'"
        assert isinstance(report["alice/paused"].error, SpaceNotRunningError)
        slow = report["alice/slow"].error
        assert isinstance(slow, WaitTimeoutError)
        assert slow.runtime is not None
        assert str(slow.runtime.stage) == "RUNNING_BUILDING"
        assert not report.ok
        assert env.clock.now() == pytest.approx(300.0)


async def test_wait_all_wakes_paused_spaces() -> None:
    """With wake=True, wait_all restarts paused Spaces once and waits for them to run."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        ids = [f"alice/p{i}" for i in range(5)]
        for repo_id in ids:
            hub.create_space(repo_id, stage="PAUSED")
        report = await env.client.wait_all(ids, timeout=600, wake=True)
        assert report.ok
        assert hub.counters.actions["restart"] == 5
        assert all(hub.space_stage(r) == "RUNNING" for r in ids)


async def test_cancelling_watch_many_leaves_nothing_behind() -> None:
    """Cancelling a fleet watch in the middle of a round leaves no task and no open response."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        ids = [f"alice/s{i}" for i in range(20)]
        for repo_id in ids:
            hub.create_space(repo_id, stage=None)
        hub.add_fault("latency", route=LIST_ROUTE, seconds=3.0)
        tasks = len(anyio.get_running_tasks())
        for cancel_at in (1.0, 4.5, 12.0):
            with anyio.CancelScope() as scope:

                async def cancel_later(scope: anyio.CancelScope = scope, delay: float = cancel_at) -> None:
                    await env.clock.sleep(delay)
                    scope.cancel()

                async with anyio.create_task_group() as tg:
                    tg.start_soon(cancel_later)
                    async for _ in env.client.watch_many(ids):
                        pass
            assert scope.cancelled_caught
            assert hub.counters.in_flight == 0
            assert len(anyio.get_running_tasks()) == tasks
            assert env.client._session.load.pollers == 0


async def test_owner_with_many_other_spaces_is_not_listed_again() -> None:
    """When an owner's listing is mostly Spaces nobody watches, the loop switches to runtime calls."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        for i in range(250):
            hub.create_space(f"alice/other-{i}")
        hub.create_space("alice/a")
        hub.create_space("alice/b")
        async for _ in env.client.watch_many(["alice/a", "alice/b"], timeout=120):
            pass
        assert hub.counters.requests[LIST_ROUTE] == 1
        assert hub.counters.requests[RUNTIME_ROUTE] >= 2


async def test_wait_all_rate_limited_past_its_deadline_reports_timeouts_on_time() -> None:
    """A fleet round stuck waiting for the rate-limit window is cut off shortly after the deadline: every
    Space is reported as timed out then, not when the window resets."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        hub.set_durations(build=600.0)
        ids = ["alice/a", "alice/b", "bob/c"]
        for repo_id in ids:
            hub.create_space(repo_id, stage=None)
        hub.set_rate_limit(3, window_seconds=300.0)
        for _ in range(3):  # the account's quota is spent (e.g. by another program)
            await env.client.get_space_runtime("alice/a")
        report = await env.client.wait_all(ids, timeout=30)
        assert 30.0 <= env.clock.now() <= 30.0 + 10.0
        assert all(isinstance(report[r].error, WaitTimeoutError) for r in ids)
        assert hub.counters.in_flight == 0


async def test_watch_many_goes_on_when_one_space_is_missing(caplog: pytest.LogCaptureFixture) -> None:
    """A Space that cannot be read (missing from its owner's pages, then 404) stops only its own watch: the
    others are still watched to the end, and the error is kept in `errors` and logged at WARNING."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        for repo_id in ("alice/a", "alice/b"):
            hub.create_space(repo_id, stage=None)
        ids = ["alice/a", "alice/gone", "alice/b"]
        stages: dict[str, list[str]] = {r: [] for r in ids}
        with caplog.at_level("WARNING", logger="aiospaces"):
            async with env.client.watch_many(ids, timeout=300) as changes:
                async for change in changes:
                    stages[change.repo_id].append(change.stage)
        assert stages["alice/a"] == stages["alice/b"] == ["BUILDING", "APP_STARTING", "RUNNING"]
        assert stages["alice/gone"] == []
        assert list(changes.errors) == ["alice/gone"]
        assert isinstance(changes.errors["alice/gone"], NotFoundError)
        assert any("alice/gone" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)
        assert hub.counters.requests["GET /api/spaces/{id}/runtime"] == 1  # not polled again


async def test_watch_many_raises_when_no_space_can_be_read() -> None:
    """When every watched Space fails to read, the watch raises the error instead of ending quietly."""
    async with SimulatedHubClient() as env:
        with pytest.raises(NotFoundError):
            async for _ in env.client.watch_many(["alice/nope", "bob/nope"], timeout=60):
                pass


async def test_watch_many_reads_every_page_of_a_paginated_listing() -> None:
    """When an owner's listing spans several pages, Spaces on later pages are still read from the pages
    (not through runtime calls) and every transition of every Space is seen."""
    async with SimulatedHubClient() as env:
        hub = env.hub
        hub.list_page_size = 25
        ids = [f"alice/p{i:02d}" for i in range(60)]
        for repo_id in ids:
            hub.create_space(repo_id, stage=None)
        stages: dict[str, list[str]] = {r: [] for r in ids}
        async with env.client.watch_many(ids, timeout=300) as changes:
            async for change in changes:
                stages[change.repo_id].append(change.stage)
                if all(s and s[-1] == "RUNNING" for s in stages.values()):
                    break
        assert all(s == ["BUILDING", "APP_STARTING", "RUNNING"] for s in stages.values())
        assert hub.counters.requests[RUNTIME_ROUTE] == 0
        assert hub.counters.requests[LIST_ROUTE] % 3 == 0  # three pages per round
