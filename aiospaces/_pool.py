"""The HTTP module's pools: httpx2's connection pool split into shards of a few connections, and a cheap way
to hold one slot of the concurrency bound.

httpcore2's pool re-examines every one of its connections each time a request is queued and each time a
response is closed, so its cost per request grows with the number of connections: at 512 connections that
bookkeeping was half of the client's CPU in the bulk benchmark. Several small pools, each request sent through
the least busy one, keep every pass short while still allowing `max_connections` requests in flight.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import anyio.lowlevel
import httpcore2
import httpx2

from ._netio import NetworkBackend

# Connections per shard. Measured on the bulk benchmark at width 128: 16 per shard spent the least CPU per
# request (fewer shards make each pass longer; more make choosing a shard cost more).
SHARD_SIZE = 16


def connection_pool(max_connections: int, *, shard_size: int = SHARD_SIZE) -> httpx2.AsyncBaseTransport:
    """An httpx2 transport allowing `max_connections` connections: one plain pool when that fits in one
    shard, else a `ShardedPool`."""
    if max_connections <= shard_size:
        return http_transport(max_connections, LazyTLS())
    return ShardedPool(max_connections, shard_size=shard_size)


_BACKEND = NetworkBackend()
# What httpx2's transport is built with before its pool is replaced: never used for a connection, and if it
# were, it trusts no certificate (PROTOCOL_TLS_CLIENT verifies, and no CA is loaded).
_UNUSED_TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class LazyTLS:
    """The TLS context of one client's connections, the one httpx2's default transport builds, made when the
    first https connection needs it: building it loads the CA bundle, tens of milliseconds that a client of a
    plain-http endpoint (the simulated Hub, a local proxy) would spend for nothing at every start."""

    __slots__ = ("_context",)

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        self._context = context

    def get(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = httpx2.create_ssl_context()
        return self._context

    @property
    def built(self) -> ssl.SSLContext | None:
        """The context if it has been built (or given), else None."""
        return self._context


class _Pool(httpcore2.AsyncConnectionPool):
    """httpcore2's pool, taking its TLS context from a `LazyTLS` when it opens its first https connection."""

    def __init__(self, tls: LazyTLS, **settings: Any) -> None:
        super().__init__(ssl_context=tls.built, **settings)
        self._tls = tls

    def create_connection(self, origin: httpcore2.Origin) -> httpcore2.AsyncConnectionInterface:
        if self._ssl_context is None and origin.scheme == b"https":
            self._ssl_context = self._tls.get()
        # What httpcore2's pool builds when it has no proxy (this one never has), with quicker locks.
        return _Connection(
            origin=origin,
            ssl_context=self._ssl_context,
            keepalive_expiry=self._keepalive_expiry,
            http1=self._http1,
            http2=self._http2,
            retries=self._retries,
            local_address=self._local_address,
            uds=self._uds,
            network_backend=self._network_backend,
            socket_options=self._socket_options,
        )


class _Connection(httpcore2.AsyncHTTPConnection):
    """httpcore2's connection, whose locks (its own, and its HTTP/1.1 connection's) are a scheduling point
    only when they have to wait.

    httpcore2 takes them three times per request and, on trio, they are `trio.Lock`s, which yield at every
    acquire, as trio asks of every async operation. Each yield put the request behind every other ready task,
    the lockstep the concurrency slot avoids (see `Slot`). These are anyio's fast-acquire locks, the ones
    httpcore2 already uses on asyncio. A connection serves one request at a time, so they rarely wait."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        _quicken(self, "_request_lock")

    def __setattr__(self, name: str, value: object) -> None:
        # httpcore2 makes the HTTP/1.1 connection when the first request has connected, then takes its lock.
        if name == "_connection" and isinstance(value, httpcore2.AsyncHTTP11Connection):
            _quicken(value, "_state_lock")
        super().__setattr__(name, value)


def _quicken(owner: object, name: str) -> None:
    """Replace `owner`'s lock `name` by a fast-acquire lock. Where httpcore2 has no such lock (another
    version), it keeps its own: slower on trio, still correct; the tests of the pool notice."""
    if hasattr(owner, name):
        setattr(owner, name, anyio.Lock(fast_acquire=True))


def http_transport(connections: int, tls: LazyTLS | ssl.SSLContext) -> httpx2.AsyncHTTPTransport:
    """httpx2's transport over a pool of `connections` connections whose sockets are `_netio`'s; `tls` is the
    context for https connections, or a `LazyTLS` that builds it on the first one."""
    limits = _limits(connections)
    transport = httpx2.AsyncHTTPTransport(verify=_UNUSED_TLS, limits=limits)
    # httpx2 does not take a network backend, so its pool is replaced by the same pool built with one (the
    # settings below are those httpx2 passes); the transport's request and error mapping stay httpx2's.
    transport._pool = _Pool(
        tls if isinstance(tls, LazyTLS) else LazyTLS(tls),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_BACKEND,
    )
    return transport


def proxy_transport(proxy: str, connections: int) -> httpx2.AsyncHTTPTransport:
    """httpx2's transport through `proxy`, allowing `connections` connections (kept alive) like the pool."""
    return httpx2.AsyncHTTPTransport(proxy=proxy, limits=_limits(connections))


def _limits(connections: int) -> httpx2.Limits:
    return httpx2.Limits(max_connections=connections, max_keepalive_connections=connections)


class ShardedPool(httpx2.AsyncBaseTransport):
    """`ceil(max_connections / shard_size)` httpx2 pools of equal size (together at least `max_connections`
    connections); a request goes to the pool with the fewest requests in flight, counted until its response
    is closed. With at most `max_connections` requests in flight at once (the caller's concurrency bound), a
    request never waits for a connection while another shard has one free."""

    def __init__(self, max_connections: int, *, shard_size: int = SHARD_SIZE) -> None:
        if max_connections < 1 or shard_size < 1:
            raise ValueError("max_connections and shard_size must be at least 1")
        count = -(-max_connections // shard_size)
        per_shard = -(-max_connections // count)
        # One TLS context for all shards, built by the first that needs it: loading the CA bundle is slow
        # enough to matter once per shard.
        tls = LazyTLS()
        self.shards = [http_transport(per_shard, tls) for _ in range(count)]
        self.in_flight = [0] * count

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        in_flight = self.in_flight
        index = in_flight.index(min(in_flight))
        in_flight[index] += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                in_flight[index] -= 1

        try:
            response = await self.shards[index].handle_async_request(request)
        except BaseException:
            release()
            raise
        stream = response.stream
        assert isinstance(stream, httpx2.AsyncByteStream)  # what httpx2's async transport returns
        response.stream = _ReleasingStream(stream, release)
        return response

    async def aclose(self) -> None:
        for shard in self.shards:
            await shard.aclose()


class _ReleasingStream(httpx2.AsyncByteStream):
    """A response body that calls `release` when it is closed."""

    def __init__(self, stream: httpx2.AsyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release = release

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._stream.__aiter__()

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            self._release()


class Slot:
    """`async with Slot(limiter):` holds one token of `limiter` for the block (waiters served first come,
    first served), at a fraction of the cost of `async with limiter:` when a token is free.

    Entry is a cancellation point (a cancelled caller is stopped before it holds a token, so nothing is sent
    from a cancelled scope) but, when a token is free, not a scheduling point: the exchange that follows waits
    for its answer, which lets other tasks run anyway. Yielding here too put each request behind every task
    ready at that moment: when a fleet's answers arrived together, every next request waited until all of
    them had been processed, which kept the requests in lockstep bursts and added that wait to every call.
    (anyio's `acquire` also wraps its checkpoint in a shielded cancel scope, which on asyncio costs more than
    the checkpoint itself.)"""

    __slots__ = ("_limiter",)

    def __init__(self, limiter: anyio.CapacityLimiter) -> None:
        self._limiter = limiter

    async def __aenter__(self) -> None:
        limiter = self._limiter
        await anyio.lowlevel.checkpoint_if_cancelled()
        try:
            limiter.acquire_nowait()  # refuses while others wait, so it never jumps the queue
        except anyio.WouldBlock:
            await limiter.acquire()

    async def __aexit__(self, *exc_info: object) -> None:
        self._limiter.release()
