"""The trio socket layer (`aiospaces._netio_trio`) at its edges: no timeout at all, TLS timeouts both ways,
what a TLS connection reports, unread TLS bytes, the errors a broken connection gives, the per-operation
deadline when held-back bytes must wait for room, the fair share counted to the byte, and the readiness check
on descriptors `select` refuses and where there is no `poll`; and the pool's connections, which replace
httpcore2's locks but keep every setting. What every backend promises runs on asyncio and trio through
`NetworkBackend`; what only the trio layer does runs on trio alone."""

from __future__ import annotations

import fcntl
import select
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import anyio.streams.tls
import httpcore2
import pytest
import trio
import trio.lowlevel
import trio.testing
from _serving import tls_contexts
from _trio_sockets import counting_turns, socket_pair

from aiospaces import _netio_trio
from aiospaces._netio import NetworkBackend
from aiospaces._netio_trio import TrioBackend, _Socket
from aiospaces._pool import LazyTLS, _Pool

pytestmark = pytest.mark.anyio
trio_only = pytest.mark.parametrize("anyio_backend", ["trio"])

# Long enough for any honest step on a loaded machine; a lost wake-up fails here instead of hanging.
_GUARD = 20.0


@asynccontextmanager
async def _tls_connection(
    timeout: float | None = 5,  # noqa: ASYNC109 - the connection's, as httpcore2 passes it
) -> AsyncIterator[tuple[httpcore2.AsyncNetworkStream, anyio.streams.tls.TLSStream]]:
    """A TLS connection through the backend (connect and handshake with `timeout`), and the server's end."""
    server_context, trusting = tls_contexts("hub.test")
    listeners = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    async with listeners:
        [listener] = listeners.listeners
        assert isinstance(listener, anyio.abc.SocketListener)
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        client = await NetworkBackend().connect_tcp("127.0.0.1", port, timeout=timeout)
        server: anyio.streams.tls.TLSStream | None = None

        async def handshake() -> None:
            nonlocal server
            server = await anyio.streams.tls.TLSStream.wrap(
                await listener.accept(),
                server_side=True,
                ssl_context=server_context,
                standard_compatible=False,
            )

        async with anyio.create_task_group() as tg:
            tg.start_soon(handshake)
            tls = await client.start_tls(trusting, server_hostname="hub.test", timeout=timeout)
        assert server is not None
        try:
            yield tls, server
        finally:
            await tls.aclose()
            await server.aclose()


async def test_without_a_timeout_a_connection_and_its_tls_start_as_with_one(anyio_backend: str) -> None:
    """Connecting and starting TLS with no timeout at all (httpx2's `Timeout(None)`) connects, shakes hands
    and carries bytes both ways, as with a timeout."""
    with anyio.fail_after(_GUARD):
        async with _tls_connection(timeout=None) as (tls, server):

            async def answer() -> None:
                assert await server.receive() == b"ping"
                await server.send(b"pong")

            async with anyio.create_task_group() as tg:
                tg.start_soon(answer)
                # A small write leaves with the next read, on either backend.
                await tls.write(b"ping", timeout=None)
                assert await tls.read(100, timeout=None) == b"pong"


async def test_a_silent_tls_server_is_a_read_timeout(anyio_backend: str) -> None:
    """Over TLS, a read with nothing arriving is a `ReadTimeout` after the timeout given, and the connection
    still reads what arrives later."""
    with anyio.fail_after(_GUARD):
        async with _tls_connection() as (tls, server):
            with pytest.raises(httpcore2.ReadTimeout):
                await tls.read(100, timeout=0.1)
            await server.send(b"late")
            assert await tls.read(100, timeout=5) == b"late"


async def test_a_tls_server_that_stops_reading_is_a_write_timeout(anyio_backend: str) -> None:
    """Over TLS, writing to a server that reads nothing ends, once every buffer is full, in a `WriteTimeout`
    after the timeout given."""
    chunk = b"x" * (1 << 20)
    with anyio.fail_after(_GUARD):
        async with _tls_connection() as (tls, _):

            async def fill() -> None:
                for _ in range(64):
                    await tls.write(chunk, timeout=0.2)

            with pytest.raises(httpcore2.WriteTimeout):
                await fill()


async def test_a_tls_connection_reports_its_addresses_and_socket(anyio_backend: str) -> None:
    """A TLS stream reports the addresses and the socket of the connection under it (httpcore2 asks for them
    to log and for its `network_stream` extension), and nothing for an unknown key."""
    with anyio.fail_after(_GUARD):
        async with _tls_connection() as (tls, server):
            client_addr = tls.get_extra_info("client_addr")
            assert tuple(client_addr) == tuple(server.extra(anyio.abc.SocketAttribute.remote_address))
            assert tuple(tls.get_extra_info("server_addr")) == tuple(
                server.extra(anyio.abc.SocketAttribute.local_address)
            )
            assert tuple(tls.get_extra_info("socket").getsockname()) == tuple(client_addr)
            assert tls.get_extra_info("no such thing") is None


async def test_tls_bytes_left_unread_make_the_connection_readable(anyio_backend: str) -> None:
    """A TLS connection with bytes the reader has not taken, whether still encrypted (a second record that
    arrived with the first) or already decrypted (the rest of a record read in part), reads as readable, so
    the pool does not send the next request over a connection with a stale answer; once everything is read it
    is not readable."""
    with anyio.fail_after(_GUARD):
        async with _tls_connection() as (tls, server):
            # A first answer read whole (the server's session tickets, sent after the handshake, with it).
            await server.send(b"hello")
            assert await tls.read(100, timeout=5) == b"hello"
            assert not tls.get_extra_info("is_readable")
            # Two records, both on their way before the first read.
            await server.send(b"answer")
            await server.send(b"junk")
            await anyio.sleep(0.05)
            assert await tls.read(6, timeout=5) == b"answer"
            assert tls.get_extra_info("is_readable")
            assert await tls.read(100, timeout=5) == b"junk"
            assert not tls.get_extra_info("is_readable")
            # One record, read in part.
            await server.send(b"answerjunk")
            assert await tls.read(6, timeout=5) == b"answer"
            assert tls.get_extra_info("is_readable")
            assert await tls.read(100, timeout=5) == b"junk"
            assert not tls.get_extra_info("is_readable")


@trio_only
async def test_a_record_that_does_not_decrypt_fails_reads_and_writes_with_ssls_reason(
    anyio_backend: str,
) -> None:
    """On trio, a record that does not decrypt is httpcore2's `ReadError` and a write after it httpcore2's
    `WriteError`, each saying what `ssl` reported rather than raising `ssl`'s own errors."""
    with trio.fail_after(_GUARD):
        async with _tls_connection() as (tls, server):
            raw = server.extra(anyio.abc.SocketAttribute.raw_socket)
            raw.send(b"\x17\x03\x03\x00\x05hello")  # past TLS, straight on the socket
            with pytest.raises(httpcore2.ReadError) as read_failure:
                await tls.read(1000, timeout=5)
            with pytest.raises(httpcore2.WriteError) as write_failure:
                await tls.write(b"GET / HTTP/1.1\r\n\r\n", timeout=5)
    for caught in (read_failure, write_failure):
        assert isinstance(caught.value.__cause__, ssl.SSLError)
        assert str(caught.value) == str(caught.value.__cause__)


def _fill(sock: socket.socket) -> None:
    """Write zero bytes to `sock` until its buffers are full (the peer reads nothing)."""
    try:
        while True:
            sock.send(bytes(65536))
    except BlockingIOError:
        pass


def _drain(sock: socket.socket) -> bytes:
    """Everything `sock` has received so far."""
    data = bytearray()
    try:
        while chunk := sock.recv(1 << 20):
            data += chunk
    except BlockingIOError:
        pass
    return bytes(data)


@trio_only
async def test_the_backend_sleeps(anyio_backend: str) -> None:
    """The trio backend's sleep (httpcore2's pause between connection retries) lets other tasks run
    meanwhile."""
    ran = False

    async def other() -> None:
        nonlocal ran
        ran = True

    with trio.fail_after(_GUARD):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(other)
            await TrioBackend().sleep(0.01)
            assert ran


async def test_a_socket_option_the_system_refuses_is_a_connect_error_and_closes(anyio_backend: str) -> None:
    """A socket option the system refuses is httpcore2's `ConnectError` with the system's reason (as
    httpcore2's own backends report it), and the connection is closed: the server reads its end."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    with listener:
        with pytest.raises(httpcore2.ConnectError) as caught:
            await NetworkBackend().connect_tcp(
                "127.0.0.1",
                listener.getsockname()[1],
                timeout=5,
                socket_options=[(socket.SOL_SOCKET, 9999, 1)],  # no such option
            )
        server, _ = listener.accept()  # already queued: the connect had completed
        server.setblocking(False)
        with server, anyio.fail_after(_GUARD):
            while True:  # the loop closes the client's socket on its next turn
                try:
                    assert server.recv(100) == b""
                    break
                except BlockingIOError:
                    await anyio.sleep(0.01)
    assert isinstance(caught.value.__cause__, OSError)
    assert str(caught.value) == str(caught.value.__cause__)


@trio_only
async def test_a_write_waiting_for_room_on_a_connection_closed_meanwhile_is_a_write_error(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write waiting for the peer to make room ends in httpcore2's `WriteError` (not a read's error) saying
    the connection was closed, when another task closes the connection."""
    monkeypatch.setattr(_netio_trio, "_COALESCE", 100)
    with trio.fail_after(_GUARD), socket_pair() as (stream, _):
        _fill(stream.get_extra_info("socket"))

        async def close_when_blocked() -> None:
            await trio.testing.wait_all_tasks_blocked()
            await stream.aclose()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(close_when_blocked)
            with pytest.raises(httpcore2.WriteError, match="closed"):
                await stream.write(b"x" * 1000, timeout=5)


@trio_only
async def test_a_reads_deadline_covers_sending_what_was_held_back(anyio_backend: str) -> None:
    """A read first sends the bytes held back from earlier writes, waiting for room if the peer's buffers are
    full, and then waits for the answer, both within the read's timeout: a peer that reads nothing makes the
    read a `ReadTimeout`; a peer that makes room and answers is read."""
    with trio.fail_after(_GUARD), socket_pair() as (stream, peer):
        _fill(stream.get_extra_info("socket"))
        await stream.write(b"GET / HTTP/1.1\r\n\r\n", timeout=5)
        with pytest.raises(httpcore2.ReadTimeout):
            await stream.read(100, timeout=0.1)

    with trio.fail_after(_GUARD), socket_pair() as (stream, peer):
        _fill(stream.get_extra_info("socket"))
        await stream.write(b"GET / HTTP/1.1\r\n\r\n", timeout=5)
        received = b""

        async def serve() -> None:
            nonlocal received
            await trio.testing.wait_all_tasks_blocked()
            while not received.endswith(b"\r\n\r\n"):
                received += _drain(peer)
                await trio.sleep(0.01)
            peer.send(b"answer")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(serve)
            assert await stream.read(100, timeout=5) == b"answer"
        assert received.lstrip(b"\0") == b"GET / HTTP/1.1\r\n\r\n"


@trio_only
async def test_a_flush_waits_for_room_as_long_as_it_takes(anyio_backend: str) -> None:
    """Flushing sends what writes held back, waiting without a time limit of its own (its caller sets one) for
    a peer that makes room late."""
    with trio.fail_after(_GUARD), socket_pair() as (stream, peer):
        _fill(stream.get_extra_info("socket"))
        await stream.write(b"finished", timeout=5)
        received = b""

        async def read_late() -> None:
            nonlocal received
            await trio.testing.wait_all_tasks_blocked()
            await trio.sleep(0.05)
            while not received.endswith(b"finished"):
                received += _drain(peer)
                await trio.sleep(0.01)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(read_late)
            await stream.flush()
        assert received.lstrip(b"\0") == b"finished"


@trio_only
async def test_a_connection_yields_when_it_has_moved_exactly_its_fair_share(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection that never waits lets other tasks run once it has moved its fair share of bytes, not a
    byte earlier or later, and counts again from zero after that turn, after a read that waited and after a
    write that waited (counting that write's bytes)."""
    monkeypatch.setattr(_netio_trio, "_FAIR_SHARE", 2000)
    monkeypatch.setattr(_netio_trio, "_COALESCE", 100)

    async def share(stream: _Socket, peer: socket.socket, first: int) -> list[int]:
        """Turns seen after reading `first` bytes, then after the byte that completes the fair share."""
        peer.send(b"r" * 2000)
        seen = []
        with counting_turns() as turns:
            assert await stream.read(first, timeout=5) == b"r" * first
            seen.append(turns[0])
            assert await stream.read(1, timeout=5) == b"r"
            seen.append(turns[0])
        assert _drain(peer) == b""
        return seen

    with trio.fail_after(_GUARD), socket_pair() as (stream, peer):
        # A new connection, then again after the turn.
        assert await share(stream, peer, 1999) == [0, 1]
        assert await share(stream, peer, 1999) == [0, 1]

        # After a read that waited for its 500 bytes.
        async def send_when_blocked() -> None:
            await trio.testing.wait_all_tasks_blocked()
            peer.send(b"w" * 500)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(send_when_blocked)
            assert await stream.read(5000, timeout=5) == b"w" * 500
        assert await share(stream, peer, 1499) == [0, 1]
        _drain(stream.get_extra_info("socket"))  # the 500 bytes that share left

        # After a write of 1000 bytes that waited for room.
        _fill(stream.get_extra_info("socket"))

        async def make_room_when_blocked() -> None:
            await trio.testing.wait_all_tasks_blocked()
            _drain(peer)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(make_room_when_blocked)
            await stream.write(b"u" * 1000, timeout=5)
        assert _drain(peer).lstrip(b"\0") == b"u" * 1000
        assert await share(stream, peer, 999) == [0, 1]


@trio_only
async def test_a_server_that_leaves_after_the_hello_is_a_connect_error_saying_so(anyio_backend: str) -> None:
    """On trio, a server that reads the client's hello and then closes the connection is httpcore2's
    `ConnectError` saying the connection closed during the TLS handshake, and the connection is closed."""
    _, trusting = tls_contexts("hub.test")
    with trio.fail_after(_GUARD), socket_pair() as (stream, peer):
        hello = b""

        async def leave_after_the_hello() -> None:
            nonlocal hello
            await trio.testing.wait_all_tasks_blocked()
            hello = _drain(peer)
            peer.shutdown(socket.SHUT_WR)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(leave_after_the_hello)
            with pytest.raises(httpcore2.ConnectError, match="closed during the TLS handshake"):
                await stream.start_tls(trusting, server_hostname="hub.test", timeout=5)
        assert hello.startswith(b"\x16\x03")  # a TLS handshake record
        assert stream.get_extra_info("socket").fileno() == -1


@contextmanager
def _high_descriptor_pair() -> Iterator[tuple[_Socket, socket.socket]]:
    """Like `socket_pair`, with our end on a descriptor above `select`'s limit of 1024."""
    ours, theirs = socket.socketpair()
    high = socket.socket(fileno=fcntl.fcntl(ours.fileno(), fcntl.F_DUPFD, 1100))
    ours.close()
    assert high.fileno() >= 1100
    high.setblocking(False)
    theirs.setblocking(False)
    with theirs:
        yield _Socket(high), theirs
    high.close()


async def _readiness(stream: _Socket, peer: socket.socket) -> None:
    """An idle connection is not readable; one the peer sent to is, until it is read; one the peer left is."""
    assert stream.get_extra_info("is_readable") is False
    peer.send(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
    assert stream.get_extra_info("is_readable") is True
    assert await stream.read(100, timeout=5) == b"HTTP/1.1 408 Request Timeout\r\n\r\n"
    assert stream.get_extra_info("is_readable") is False
    peer.shutdown(socket.SHUT_WR)
    assert stream.get_extra_info("is_readable") is True


@trio_only
async def test_readiness_is_known_on_a_descriptor_above_selects_limit(anyio_backend: str) -> None:
    """A connection whose descriptor is above 1024 (a client holding many connections and files), which
    `select` refuses, still tells whether it has something to read."""
    with trio.fail_after(_GUARD), _high_descriptor_pair() as (stream, peer):
        await _readiness(stream, peer)


@trio_only
async def test_readiness_is_known_where_there_is_no_poll(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where `select.poll` does not exist (Windows), a connection still tells whether it has something to
    read, through `select`."""
    monkeypatch.delattr(select, "poll")
    with trio.fail_after(_GUARD), socket_pair() as (stream, peer):
        await _readiness(stream, peer)


def test_the_pools_connections_take_every_setting_the_pool_was_given(tmp_path: Path) -> None:
    """A connection of the SDK's pool carries every setting its pool was given (HTTP versions, retries, local
    address, unix socket, socket options, keep-alive expiry, TLS context), as httpcore2's own pool gives them
    to its connections, rather than httpcore2's defaults."""
    context = ssl.create_default_context()
    settings: dict[str, Any] = {
        "max_connections": 3,
        "keepalive_expiry": 7.5,
        "http1": False,
        "http2": True,
        "retries": 2,
        "local_address": "127.0.0.1",
        "uds": str(tmp_path / "hub.sock"),
        "network_backend": NetworkBackend(),
        "socket_options": [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)],
    }
    ours = _Pool(LazyTLS(context), **settings)
    theirs = httpcore2.AsyncConnectionPool(ssl_context=context, **settings)
    origin = httpcore2.Origin(b"https", b"hub.test", 443)
    mine, httpcore2s = ours.create_connection(origin), theirs.create_connection(origin)
    expected = {name: value for name, value in vars(httpcore2s).items() if name != "_request_lock"}
    assert {name: vars(mine)[name] for name in expected} == expected
    assert vars(mine)["_retries"] == 2
    assert vars(mine)["_socket_options"] == settings["socket_options"]


@trio_only
async def test_a_write_woken_on_a_connection_closed_before_it_resumed_is_a_write_error(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write waiting for room, woken because the peer made some, whose connection another task closed
    before the write resumed (both ready in the same scheduling batch), ends in httpcore2's `WriteError`
    saying the connection is closed, and sends nothing more."""
    monkeypatch.setattr(_netio_trio, "_COALESCE", 100)
    failure: BaseException | None = None
    with trio.fail_after(_GUARD), socket_pair() as (stream, peer):
        _fill(stream.get_extra_info("socket"))
        writer: trio.lowlevel.Task | None = None

        async def write() -> None:
            nonlocal writer, failure
            writer = trio.lowlevel.current_task()
            try:
                await stream.write(b"x" * 1000, timeout=5)
            except httpcore2.NetworkError as exc:
                failure = exc

        class CloseFirst(trio.abc.Instrument):
            """Closes the connection just before the woken writer takes its next step."""

            def before_task_step(self, task: trio.lowlevel.Task) -> None:
                if task is writer:
                    trio.lowlevel.remove_instrument(self)
                    # Closing is never a scheduling point: it runs to its end at once.
                    with pytest.raises(StopIteration):
                        stream.aclose().send(None)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(write)
            await trio.testing.wait_all_tasks_blocked()
            trio.lowlevel.add_instrument(CloseFirst())
            received = _drain(peer)  # room: the writer is woken
        assert received.strip(b"\0") == b""
        assert _drain(peer) == b""  # the end of the connection, nothing after the filling
    assert isinstance(failure, httpcore2.WriteError)
    assert "closed" in str(failure)
