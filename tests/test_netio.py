"""The socket layer under the connection pool (`aiospaces._netio` on asyncio, `_netio_trio` on trio),
against small HTTP/1.1 servers on 127.0.0.1: plain and TLS, keep-alive and connections the server drops,
large bodies, timeouts and refused connections."""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from types import SimpleNamespace

import anyio
import anyio.abc
import anyio.lowlevel
import anyio.streams.tls
import httpcore2
import httpx2
import pytest
from _serving import tls_contexts

from aiospaces import SpacesClient
from aiospaces._pool import _quicken, connection_pool, http_transport

pytestmark = pytest.mark.anyio

Handler = Callable[[anyio.abc.ByteStream, int], Awaitable[None]]


async def _read_request(stream: anyio.abc.ByteStream) -> bytes:
    """Read one request's head (the tests' requests have no body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += await stream.receive()
    return data


def _response(body: bytes, *, close: bool = False) -> bytes:
    connection = b"Connection: close\r\n" if close else b""
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), connection, body)


@asynccontextmanager
async def _server(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """Serve `handler(stream, connection_number)` on a free port of 127.0.0.1; yields the port."""
    listener: anyio.abc.Listener[anyio.abc.ByteStream]
    tcp = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = tcp.extra(anyio.abc.SocketAttribute.local_port)
    listener = tcp if tls is None else anyio.streams.tls.TLSListener(tcp, tls, standard_compatible=False)
    count = 0

    async def serve(stream: anyio.abc.ByteStream) -> None:
        nonlocal count
        count += 1
        async with stream:
            with suppress(anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                await handler(stream, count)

    async with anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, serve)
        try:
            yield port
        finally:
            tg.cancel_scope.cancel()


def _client(tls: ssl.SSLContext | None = None, timeout: float = 10.0) -> httpx2.AsyncClient:
    context = tls if tls is not None else ssl.create_default_context()
    return httpx2.AsyncClient(transport=http_transport(4, context), timeout=timeout)


async def _keep_alive(stream: anyio.abc.ByteStream, number: int) -> None:
    while True:
        await _read_request(stream)
        await stream.send(_response(b"connection %d" % number))


async def test_keep_alive_reuses_one_connection() -> None:
    """Requests one after another travel over the one connection the server keeps open."""
    async with _server(_keep_alive) as port, _client() as client:
        bodies = [(await client.get(f"http://127.0.0.1:{port}/")).content for _ in range(3)]
    assert bodies == [b"connection 1"] * 3


async def test_a_connection_the_server_closed_is_not_reused() -> None:
    """After the server closes an idle keep-alive connection, the next request opens a new one and
    succeeds, rather than failing on the dead socket."""

    async def answer_once(stream: anyio.abc.ByteStream, number: int) -> None:
        await _read_request(stream)
        await stream.send(_response(b"connection %d" % number))
        # Closed without saying so (no `Connection: close`): the client learns it only from the socket.

    async with _server(answer_once) as port, _client() as client:
        first = await client.get(f"http://127.0.0.1:{port}/")
        await anyio.sleep(0.05)  # the server's close reaches the client
        second = await client.get(f"http://127.0.0.1:{port}/")
    assert (first.content, second.content) == (b"connection 1", b"connection 2")


async def test_a_large_body_arrives_whole() -> None:
    """A body many times larger than the socket layer's buffer limit is delivered complete and in order
    (reading pauses and resumes as the consumer catches up)."""
    body = bytes(range(256)) * 8192  # 2 MiB

    async def large(stream: anyio.abc.ByteStream, number: int) -> None:
        await _read_request(stream)
        await stream.send(_response(body))
        await anyio.sleep(1)

    received = bytearray()
    async with (
        _server(large) as port,
        _client() as client,
        client.stream("GET", f"http://127.0.0.1:{port}/") as response,
    ):
        async for chunk in response.aiter_raw():
            received += chunk
            await anyio.lowlevel.checkpoint()  # a slow consumer
    assert bytes(received) == body


async def test_a_silent_server_is_a_read_timeout() -> None:
    """A server that accepts the request and never answers ends in httpx2's `ReadTimeout`."""

    async def silent(stream: anyio.abc.ByteStream, number: int) -> None:
        await _read_request(stream)
        await anyio.sleep(30)

    async with _server(silent) as port, _client(timeout=0.2) as client:
        with pytest.raises(httpx2.ReadTimeout):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_a_body_cut_off_is_a_protocol_error() -> None:
    """A connection closed halfway through the announced body is httpx2's `RemoteProtocolError`."""

    async def cut(stream: anyio.abc.ByteStream, number: int) -> None:
        await _read_request(stream)
        await stream.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")

    async with _server(cut) as port, _client() as client:
        with pytest.raises(httpx2.RemoteProtocolError):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_nothing_listening_is_a_connect_error() -> None:
    """A port where nothing listens is httpx2's `ConnectError`."""
    tcp = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = tcp.extra(anyio.abc.SocketAttribute.local_port)
    await tcp.aclose()
    async with _client() as client:
        with pytest.raises(httpx2.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_https_is_verified_and_served() -> None:
    """Over TLS, a server whose certificate the context trusts is answered, with keep-alive; one it does not
    trust is refused as a `ConnectError`."""
    server_context, trusting = tls_contexts()

    async with _server(_keep_alive, tls=server_context) as port:
        async with _client(trusting) as client:
            first = await client.get(f"https://127.0.0.1:{port}/")
            second = await client.get(f"https://127.0.0.1:{port}/")
        async with _client(ssl.create_default_context()) as stranger:
            with pytest.raises(httpx2.ConnectError):
                await stranger.get(f"https://127.0.0.1:{port}/")
    assert (first.content, second.content) == (b"connection 1", b"connection 1")


async def test_the_tls_context_is_built_once_and_only_for_https(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client of a plain-http endpoint never builds a TLS context (loading the CA bundle); the first https
    connection builds it, once for every shard of the client's pool."""
    server_context, trusting = tls_contexts()
    built: list[ssl.SSLContext] = []

    def create_ssl_context(*args: object, **kwargs: object) -> ssl.SSLContext:
        built.append(trusting)
        return trusting

    monkeypatch.setattr(httpx2, "create_ssl_context", create_ssl_context)
    body = b'{"stage": "RUNNING", "hardware": {"current": null, "requested": null}}'

    async def hub(stream: anyio.abc.ByteStream, number: int) -> None:
        while True:
            await _read_request(stream)
            await stream.send(_response(body))

    async with _server(hub) as port:
        endpoint = f"http://127.0.0.1:{port}"
        async with SpacesClient(token="hf_tls_test_token", endpoint=endpoint, max_concurrency=40) as plain:
            runtimes = [await plain.get_space_runtime("a/b") for _ in range(3)]
    assert [runtime.stage for runtime in runtimes] == ["RUNNING"] * 3
    assert built == []

    pool = connection_pool(40)
    answers: list[bytes] = []
    async with _server(_keep_alive, tls=server_context) as port, httpx2.AsyncClient(transport=pool) as client:

        async def get() -> None:
            answers.append((await client.get(f"https://127.0.0.1:{port}/")).content)

        async with anyio.create_task_group() as tg:
            for _ in range(40):
                tg.start_soon(get)
    assert len(answers) == 40
    assert len({shard._pool._ssl_context for shard in pool.shards}) == 1  # type: ignore[attr-defined]
    assert len(built) == 1


async def test_a_large_upload_arrives_whole() -> None:
    """A request body far larger than the socket layer holds back (streamed in chunks, as uploads are) reaches
    the server complete and in order, and its answer is read."""
    chunks = [bytes([n]) * 100_000 for n in range(20)]  # 2 MB in 100 kB pieces

    async def upload() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    async def digest(stream: anyio.abc.ByteStream, number: int) -> None:
        data = await _read_request(stream)
        head, _, body = data.partition(b"\r\n\r\n")
        size = int(
            next(v for k, v in (h.split(b": ", 1) for h in head.split(b"\r\n")[1:]) if k == b"Content-Length")
        )
        while len(body) < size:
            body += await stream.receive()
        await stream.send(_response(hashlib.sha256(body).hexdigest().encode()))

    async with _server(digest) as port, _client() as client:
        response = await client.post(
            f"http://127.0.0.1:{port}/", content=upload(), headers={"Content-Length": "2000000"}
        )
    assert response.content == hashlib.sha256(b"".join(chunks)).hexdigest().encode()


def test_the_pool_is_httpx2s_own_but_for_its_sockets() -> None:
    """The pool under the SDK's transport has every setting httpx2's own would have (connection limits,
    keep-alive expiry, HTTP versions, retries), and differs only by the socket layer it connects with."""
    context = ssl.create_default_context()
    ours = http_transport(7, context)._pool
    theirs = httpx2.AsyncHTTPTransport(
        verify=context, limits=httpx2.Limits(max_connections=7, max_keepalive_connections=7)
    )._pool
    plain = (int, float, str, bool, type(None), list, tuple, ssl.SSLContext)
    settings = {name: value for name, value in vars(theirs).items() if isinstance(value, plain)}
    assert "_keepalive_expiry" in settings
    assert {name: vars(ours)[name] for name in settings} == settings
    assert type(ours._network_backend).__name__ == "NetworkBackend"


async def test_the_pools_connections_are_httpcore2s_own_but_for_their_locks() -> None:
    """A connection of the SDK's pool has every setting httpcore2's pool gives its own, and, once it has
    served a request, its lock and its HTTP/1.1 connection's are fast-acquire locks (yielding only to wait)
    in place of httpcore2's, which on trio yield at every acquire."""
    context = ssl.create_default_context()
    ours = http_transport(7, context)._pool
    theirs = httpcore2.AsyncConnectionPool(
        ssl_context=context, max_connections=7, keepalive_expiry=5.0, network_backend=ours._network_backend
    )
    origin = httpcore2.Origin(b"http", b"127.0.0.1", 80)
    mine, httpcore2s = ours.create_connection(origin), theirs.create_connection(origin)
    assert type(httpcore2s) is httpcore2.AsyncHTTPConnection
    assert isinstance(mine, httpcore2.AsyncHTTPConnection)
    settings = {name: value for name, value in vars(httpcore2s).items() if name != "_request_lock"}
    assert {name: vars(mine)[name] for name in settings} == settings
    client = httpx2.AsyncClient(transport=http_transport(2, context))
    async with _server(_keep_alive) as port, client:
        assert (await client.get(f"http://127.0.0.1:{port}/")).text == "connection 1"
        [connection] = client._transport._pool.connections  # type: ignore[attr-defined]
    assert isinstance(connection._request_lock, anyio.Lock)
    assert isinstance(connection._connection, httpcore2.AsyncHTTP11Connection)
    assert isinstance(connection._connection._state_lock, anyio.Lock)
    assert not isinstance(vars(httpcore2s)["_request_lock"], anyio.Lock)
    # Were httpcore2 to rename a lock, its connections would keep their own (the assertions above fail).
    elsewhere = SimpleNamespace()
    _quicken(elsewhere, "_request_lock")
    assert vars(elsewhere) == {}


async def test_a_proxy_named_by_the_environment_carries_the_sdks_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With `HTTP_PROXY` set, the SDK's requests go through that proxy (as httpx2's client would send them),
    in absolute form, with the token for the Hub's origin."""
    seen: list[bytes] = []

    async def proxy(stream: anyio.abc.ByteStream, number: int) -> None:
        seen.append(await _read_request(stream))
        body = b'{"stage": "RUNNING", "hardware": {"current": null, "requested": null}}'
        await stream.send(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (len(body), body)
        )

    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    async with _server(proxy) as port:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
        # Nothing listens at the endpoint itself: only the proxy can answer.
        async with SpacesClient(token="hf_proxy_test_token", endpoint="http://localhost:1") as client:
            runtime = await client.get_space_runtime("a/b")
    assert runtime.stage == "RUNNING"
    [request] = seen
    assert request.startswith(b"GET http://localhost:1/api/spaces/a/b/runtime HTTP/1.1\r\n")
    assert b"Bearer hf_proxy_test_token\r\n" in request


async def test_no_proxy_keeps_a_host_off_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A host listed in `NO_PROXY` is reached directly even with `HTTP_PROXY` set."""
    proxied: list[bytes] = []

    async def proxy(stream: anyio.abc.ByteStream, number: int) -> None:
        proxied.append(await _read_request(stream))

    body = b'{"stage": "RUNNING", "hardware": {"current": null, "requested": null}}'

    async def hub(stream: anyio.abc.ByteStream, number: int) -> None:
        await _read_request(stream)
        await stream.send(_response(body))

    for name in ("no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    async with _server(proxy) as proxy_port, _server(hub) as hub_port:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy_port}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        endpoint = f"http://127.0.0.1:{hub_port}"
        async with SpacesClient(token="hf_proxy_test_token", endpoint=endpoint) as client:
            runtime = await client.get_space_runtime("a/b")
    assert runtime.stage == "RUNNING"
    assert proxied == []
