"""The connection pools (`aiospaces._pool`) where a mistake would go unnoticed elsewhere: connections kept
alive across bursts of requests, through shards and through a proxy, and no CA bundle loaded by a client
that never speaks TLS (asyncio and trio)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import anyio
import anyio.abc
import httpx2
import pytest

from aiospaces import SpacesClient
from aiospaces._pool import connection_pool, proxy_transport

pytestmark = pytest.mark.anyio


_RUNTIME = b'{"stage": "RUNNING", "hardware": {"current": null, "requested": null}}'
_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
    len(_RUNTIME),
    _RUNTIME,
)


class _BurstServer:
    """An HTTP/1.1 server on 127.0.0.1 that keeps connections alive and answers requests in bursts: none is
    answered until `burst` requests are waiting, so a burst has that many requests in flight at once (with
    `once`, only the first burst waits; every request after it is answered at once). Counts
    the connections it accepted. Answers any request line (a Space's runtime), so it also stands for a
    proxy."""

    def __init__(self, burst: int, *, once: bool = False) -> None:
        self.burst = burst
        self.once = once
        self.connections = 0
        self.requests = 0
        self._waiting = 0
        self._release = anyio.Event()

    async def _handle(self, stream: anyio.abc.ByteStream) -> None:
        self.connections += 1
        async with stream:
            with suppress(anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                while True:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        data += await stream.receive()
                    self.requests += 1
                    release = self._release
                    self._waiting += 1
                    if self._waiting == self.burst:
                        self._waiting = 0
                        if not self.once:
                            self._release = anyio.Event()
                        release.set()
                    await release.wait()
                    await stream.send(_RESPONSE)

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[int]:
        """Serve until the block ends; yields the port."""
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        async with anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, self._handle)
            try:
                yield port
            finally:
                tg.cancel_scope.cancel()


async def _bursts(client: httpx2.AsyncClient, url: str, size: int, count: int) -> list[int]:
    statuses: list[int] = []

    async def one() -> None:
        statuses.append((await client.get(url)).status_code)

    for _ in range(count):
        async with anyio.create_task_group() as tg:
            for _ in range(size):
                tg.start_soon(one)
    return statuses


@pytest.mark.parametrize("bound", [40, 50])
async def test_a_sharded_pool_keeps_every_connection_of_a_burst_alive_for_the_next(bound: int) -> None:
    """A pool whose bound does not divide evenly into shards, after a burst that uses its whole bound, keeps
    all those connections alive: the next bursts open none."""
    server = _BurstServer(burst=bound)
    async with server.serving() as port, httpx2.AsyncClient(transport=connection_pool(bound)) as client:
        statuses = await _bursts(client, f"http://127.0.0.1:{port}/", bound, 3)
    assert statuses == [200] * (3 * bound)
    assert server.requests == 3 * bound
    assert server.connections == bound


async def test_a_proxy_keeps_every_connection_of_a_burst_alive_for_the_next() -> None:
    """Through a proxy, a burst of as many requests as the bound (more than httpx2's default of 20 kept
    alive) leaves all its connections to the proxy open for the next burst."""
    server = _BurstServer(burst=32)
    async with server.serving() as port:
        transport = proxy_transport(f"http://127.0.0.1:{port}", 32)
        async with httpx2.AsyncClient(transport=transport) as client:
            statuses = await _bursts(client, "http://hub.invalid/api/whoami-v2", 32, 2)
    assert statuses == [200] * 64
    assert server.connections == 32


@pytest.mark.parametrize("bound", [8, 32])
async def test_a_pool_opens_no_more_connections_than_its_bound(bound: int) -> None:
    """With more requests at once than its bound, a pool (one shard, or shards that divide the bound evenly)
    opens exactly its bound of connections: the other requests wait for one of them and are answered over
    it."""
    server = _BurstServer(burst=bound, once=True)
    async with server.serving() as port, httpx2.AsyncClient(transport=connection_pool(bound)) as client:
        statuses = await _bursts(client, f"http://127.0.0.1:{port}/", bound + 10, 1)
    assert statuses == [200] * (bound + 10)
    assert server.connections == bound


async def test_a_proxy_pool_opens_no_more_connections_than_its_bound() -> None:
    """With more requests at once than its bound, the pool to a proxy opens exactly its bound of connections
    to the proxy."""
    server = _BurstServer(burst=8, once=True)
    async with server.serving() as port:
        transport = proxy_transport(f"http://127.0.0.1:{port}", 8)
        async with httpx2.AsyncClient(transport=transport) as client:
            statuses = await _bursts(client, "http://hub.invalid/api/whoami-v2", 18, 1)
    assert statuses == [200] * 18
    assert server.connections == 8


@pytest.mark.parametrize("max_concurrency", [4, 40])
async def test_a_client_of_a_plain_http_endpoint_loads_no_ca_bundle(
    monkeypatch: pytest.MonkeyPatch, max_concurrency: int
) -> None:
    """Opening a client for a plain-http endpoint (a local Hub, a mirror) and using it loads no certificate
    authorities: that costs tens of milliseconds per pool, and only https needs it."""
    loaded: list[object] = []
    real = ssl.SSLContext.load_verify_locations

    def load_verify_locations(self: ssl.SSLContext, *args: object, **kwargs: object) -> None:
        loaded.append(args or kwargs)
        real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", load_verify_locations)
    server = _BurstServer(burst=1)
    async with (
        server.serving() as port,
        SpacesClient(
            token="hf_pool_test_token", endpoint=f"http://127.0.0.1:{port}", max_concurrency=max_concurrency
        ) as client,
    ):
        runtime = await client.get_space_runtime("alice/app")
    assert runtime.stage == "RUNNING"
    assert loaded == []
