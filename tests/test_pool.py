"""The default connection pool (`aiospaces._pool`): httpx2's pool in shards, each request through the least
busy shard, a shard counted busy until its response is closed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import anyio.lowlevel
import httpx2
import pytest

from aiospaces._pool import SHARD_SIZE, ShardedPool, Slot, connection_pool

pytestmark = pytest.mark.anyio


class _Body(httpx2.AsyncByteStream):
    """A streamed body, open until closed, as a real transport's response has."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"ok"


def _mock_shards(pool: ShardedPool, fail: bool = False) -> None:
    """Replace each shard with an in-memory transport that answers which shard it is."""

    def handler_for(index: int) -> httpx2.MockTransport:
        def handle(request: httpx2.Request) -> httpx2.Response:
            if fail:
                raise httpx2.ConnectError("refused", request=request)
            return httpx2.Response(200, headers={"x-shard": str(index)}, stream=_Body())

        return httpx2.MockTransport(handle)

    pool.shards = [handler_for(i) for i in range(len(pool.shards))]  # type: ignore[misc]


def test_up_to_one_shard_is_a_plain_pool_and_more_is_split_evenly() -> None:
    """A bound that fits in one shard gets httpx2's own pool; a larger one is split into equal shards that
    together allow at least the bound."""
    assert type(connection_pool(SHARD_SIZE)) is httpx2.AsyncHTTPTransport
    for bound in (SHARD_SIZE + 1, 100, 128, 512):
        pool = connection_pool(bound)
        assert isinstance(pool, ShardedPool)
        assert len(pool.shards) == -(-bound // SHARD_SIZE)
        limits = {shard._pool._max_connections for shard in pool.shards}  # type: ignore[attr-defined]
        assert len(limits) == 1
        assert limits.pop() * len(pool.shards) >= bound
    with pytest.raises(ValueError, match="at least 1"):
        ShardedPool(0)


async def test_requests_go_to_the_least_busy_shard_until_their_response_is_closed() -> None:
    """Open responses keep their shard busy; closing one frees that shard, and the next request goes there."""
    pool = ShardedPool(3, shard_size=1)
    _mock_shards(pool)
    async with httpx2.AsyncClient(transport=pool, base_url="http://127.0.0.1") as client:
        opened = []
        for _ in range(3):
            request = client.build_request("GET", "/x")
            opened.append(await client.send(request, stream=True))
        assert sorted(r.headers["x-shard"] for r in opened) == ["0", "1", "2"]
        assert pool.in_flight == [1, 1, 1]
        await opened[1].aclose()
        assert pool.in_flight == [1, 0, 1]
        response = await client.get("/x")  # read and closed
        assert response.headers["x-shard"] == "1"
        assert pool.in_flight == [1, 0, 1]
        await opened[0].aclose()
        await opened[2].aclose()
        await opened[2].aclose()  # closing twice frees once
        assert pool.in_flight == [0, 0, 0]


async def test_a_failed_request_frees_its_shard() -> None:
    """A request that fails before any response leaves no shard counted busy."""
    pool = ShardedPool(2, shard_size=1)
    _mock_shards(pool, fail=True)
    async with httpx2.AsyncClient(transport=pool, base_url="http://127.0.0.1") as client:
        for _ in range(3):
            with pytest.raises(httpx2.ConnectError):
                await client.get("/x")
    assert pool.in_flight == [0, 0]


async def test_every_request_of_the_bound_is_in_flight_at_once_over_a_socket() -> None:
    """With 40 requests at once through a 40-connection sharded pool, the Hub sees all 40 in flight together,
    and every one is answered."""
    pytest.importorskip("uvicorn")
    from aiospaces.hubsim import SimulatedHub

    hub = SimulatedHub(speed=1)
    hub.add_user("alice", token="hf_alice")
    hub.create_space("alice/app")
    # Long enough that the 40 requests overlap even when a busy machine is slow to open 40 connections.
    hub.add_fault("latency", seconds=2.0)
    pool = connection_pool(40)
    assert isinstance(pool, ShardedPool)
    statuses: list[int] = []
    with hub.serve() as url:
        async with httpx2.AsyncClient(
            transport=pool, base_url=url, headers={"authorization": "Bearer hf_alice"}, timeout=30
        ) as client:

            async def one() -> None:
                statuses.append((await client.get("/api/spaces/alice/app/runtime")).status_code)

            async with anyio.create_task_group() as tg:
                for _ in range(40):
                    tg.start_soon(one)
    assert statuses == [200] * 40
    assert hub.counters.max_in_flight == 40
    assert pool.in_flight == [0] * len(pool.shards)


async def test_slot_holds_one_token_for_its_block_and_gives_it_back() -> None:
    """Inside the block one token is borrowed; after it (normally or by an exception) none is."""
    limiter = anyio.CapacityLimiter(2)
    async with Slot(limiter):
        assert limiter.borrowed_tokens == 1
    assert limiter.borrowed_tokens == 0
    with pytest.raises(KeyError):
        async with Slot(limiter):
            raise KeyError("x")
    assert limiter.borrowed_tokens == 0


async def test_slot_entry_is_a_cancellation_point_but_not_a_scheduling_point() -> None:
    """A cancelled caller is stopped at entry without keeping a token; with a token free, entering lets no
    other task run first (the request it guards is sent at once, not after every other ready task)."""
    limiter = anyio.CapacityLimiter(1)
    entered = False
    with anyio.CancelScope() as scope:
        scope.cancel()
        async with Slot(limiter):
            entered = True
    assert not entered
    assert limiter.borrowed_tokens == 0
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        await anyio.lowlevel.checkpoint()
        before = ticks
        for _ in range(10):
            async with Slot(limiter):
                pass
        assert ticks == before
        tg.cancel_scope.cancel()


async def test_slot_serves_waiters_before_newcomers() -> None:
    """When the one token is given back, the task already waiting gets it before a task that asks for it in
    the same instant (before the waiter has even run)."""
    limiter = anyio.CapacityLimiter(1)
    order: list[str] = []
    release_first = anyio.Event()

    async def first_then_newcomer() -> None:
        async with Slot(limiter):
            order.append("first")
            await release_first.wait()
        # No yield between giving the token back and asking again: the waiter has not run yet.
        async with Slot(limiter):
            order.append("newcomer")

    async def waiter() -> None:
        async with Slot(limiter):
            order.append("waiter")

    async with anyio.create_task_group() as tg:
        tg.start_soon(first_then_newcomer)
        await anyio.wait_all_tasks_blocked()
        tg.start_soon(waiter)
        await anyio.wait_all_tasks_blocked()
        release_first.set()
    assert order == ["first", "waiter", "newcomer"]
