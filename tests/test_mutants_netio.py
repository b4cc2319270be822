"""The socket layer under the connection pool (`aiospaces._netio`), driven the way httpcore2 drives it,
against peers on 127.0.0.1 that the tests control byte by byte: what is written and read, the end of a
stream and a reset, each timeout as httpcore2's exception, TLS, flow control both ways, unix sockets, local
addresses and socket options. On trio the backend hands every connection to `_netio_trio`, which keeps the
same promises; what only the asyncio layer does (reading ahead, refusing writes once the peer hung up, keeping
what a timed-out write handed over) is checked on asyncio, and what only the trio layer does in
test_netio_trio.py."""

from __future__ import annotations

import errno
import logging
import os
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import anyio
import anyio.abc
import anyio.lowlevel
import anyio.streams.tls
import httpcore2
import pytest
from _serving import tls_contexts

from aiospaces._netio import NetworkBackend

pytestmark = pytest.mark.anyio

# Long enough for any honest step on a loaded machine; a mutant that loses a wake-up fails here instead of
# stalling until the suite's own bound.
_GUARD = 20.0
_KEEPALIVE = (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
_RESET_REASONS = (os.strerror(errno.ECONNRESET), os.strerror(errno.EPIPE))


@asynccontextmanager
async def _listener() -> AsyncIterator[tuple[anyio.abc.SocketListener, int]]:
    """A TCP listener on a free port of 127.0.0.1, whose connections the test accepts and drives itself."""
    listeners = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    async with listeners:
        [listener] = listeners.listeners
        assert isinstance(listener, anyio.abc.SocketListener)
        yield listener, listener.extra(anyio.abc.SocketAttribute.local_port)


async def _connect(
    listener: anyio.abc.SocketListener, port: int, **options: object
) -> tuple[httpcore2.AsyncNetworkStream, anyio.abc.SocketStream]:
    """One connection through the backend, and the server's end of it."""
    client = await NetworkBackend().connect_tcp("127.0.0.1", port, timeout=5, **options)  # type: ignore[arg-type]
    server = await listener.accept()
    return client, server


@asynccontextmanager
async def _silent_peer() -> AsyncIterator[tuple[httpcore2.AsyncNetworkStream, socket.socket]]:
    """A connection through the backend whose server end is a plain socket that reads only when the test
    says so (a stream of anyio's would read into memory on its own)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    with listener:
        client = await NetworkBackend().connect_tcp("127.0.0.1", listener.getsockname()[1], timeout=5)
        server, _ = listener.accept()  # already queued: the connect has completed
        server.setblocking(False)
        with server:
            yield client, server
            await client.aclose()


def _reset_socket(server: socket.socket) -> None:
    server.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    server.close()


async def _reset(server: anyio.abc.SocketStream) -> None:
    """Close the server's end with a TCP reset instead of an orderly end of stream."""
    raw = server.extra(anyio.abc.SocketAttribute.raw_socket)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    await server.aclose()


async def _until(condition: Callable[[], bool]) -> None:
    """Poll `condition` until it holds (the guard of the calling test bounds the wait)."""
    for _ in range(int(_GUARD * 100)):
        if condition():
            return
        await anyio.sleep(0.01)
    raise AssertionError("the condition never held")


async def _settled(count: Callable[[], int]) -> int:
    """The value `count` stops changing at (a sender blocked by flow control)."""
    previous, stable = -1, 0
    while stable < 5:
        await anyio.sleep(0.05)
        current = count()
        stable = stable + 1 if current == previous else 0
        previous = current
    return previous


def _full_backlog(family: socket.AddressFamily, address: str | None = None) -> list[socket.socket]:
    """A listening socket (the first of the list) whose accept queue is full (never accepted), so a further
    connect waits, and the sockets holding its queue."""
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.bind(address if address is not None else ("127.0.0.1", 0))
    listener.listen(0)
    where = listener.getsockname()
    held = []
    for _ in range(3):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        with suppress(BlockingIOError):
            sock.connect(where)
        held.append(sock)
    return [listener, *held]


def _no_loop_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "asyncio" and r.levelno >= logging.ERROR]


async def test_what_is_written_arrives_and_what_arrives_is_read(
    anyio_backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A request written in two pieces (head, then body) reaches the server whole, twice on one connection;
    the answer is read at most `max_bytes` at a time, the rest from what is already buffered; closing the
    connection makes the event loop report nothing."""
    with anyio.fail_after(_GUARD):
        async with _listener() as (listener, port):
            client, server = await _connect(listener, port)
            for n in range(2):
                head, body = b"POST /%d HTTP/1.1\r\nContent-Length: 4\r\n\r\n" % n, b"ping"
                await client.write(head, timeout=5)
                await client.write(body, timeout=5)
                await client.write(b"", timeout=5)
                received = b""

                async def serve(expected: int = len(head + body)) -> None:
                    nonlocal received
                    while len(received) < expected:
                        received += await server.receive()
                    await server.send(b"abcdef")

                async with anyio.create_task_group() as tg:
                    tg.start_soon(serve)
                    first = await client.read(3, timeout=5)
                assert first == b"abc"
                assert received == head + body
                # The server sent everything and stays silent: what remains was buffered already.
                rest = b""
                while len(rest) < 3:
                    rest += await client.read(100, timeout=5)
                assert rest == b"def"
            await client.aclose()
            await server.aclose()
            await anyio.sleep(0.05)  # the loop delivers the end of the connection
    assert _no_loop_errors(caplog) == []


async def test_the_peer_ending_the_stream_reads_as_empty(anyio_backend: str) -> None:
    """When the server ends the connection in order, what it sent last is read, then the end of stream reads
    as `b""` (again on every later read), not as an error; the connection then reads as readable (dead)."""
    with anyio.fail_after(_GUARD):
        async with _listener() as (listener, port):
            client, server = await _connect(listener, port)
            assert client.get_extra_info("is_readable") is False

            async def serve() -> None:
                await server.send(b"last words")
                await anyio.sleep(0.1)  # the client is waiting for more when the end arrives
                await server.aclose()

            received = b""
            async with anyio.create_task_group() as tg:
                tg.start_soon(serve)
                while True:
                    data = await client.read(1000, timeout=5)
                    if not data:
                        break
                    received += data
            assert received == b"last words"
            assert await client.read(1000, timeout=5) == b""
            assert client.get_extra_info("is_readable")
            await client.aclose()


async def test_a_reset_connection_is_readable_and_its_read_is_a_read_error(anyio_backend: str) -> None:
    """An idle connection the server resets is reported readable (so the pool drops it), and reading it is
    httpcore2's `ReadError`, whose message is the system's reason."""
    with anyio.fail_after(_GUARD):
        async with _listener() as (listener, port):
            client, server = await _connect(listener, port)
            await _reset(server)
            await _until(lambda: bool(client.get_extra_info("is_readable")))
            with pytest.raises(httpcore2.ReadError) as caught:
                await client.read(1000, timeout=5)
            await client.aclose()
    assert os.strerror(errno.ECONNRESET) in str(caught.value)


async def test_a_reset_while_waiting_to_read_is_a_read_error(anyio_backend: str) -> None:
    """A read waiting for an answer when the server resets the connection ends at once in `ReadError`."""
    with anyio.fail_after(_GUARD):
        async with _listener() as (listener, port):
            client, server = await _connect(listener, port)

            async def serve() -> None:
                await anyio.sleep(0.1)
                await _reset(server)

            async with anyio.create_task_group() as tg:
                tg.start_soon(serve)
                with pytest.raises(httpcore2.ReadError):
                    await client.read(1000, timeout=10)
            await client.aclose()


async def test_bytes_waiting_on_an_idle_connection_make_it_readable(anyio_backend: str) -> None:
    """An idle keep-alive connection is not readable until the server sends something unasked (which makes
    it unusable for a next request)."""
    with anyio.fail_after(_GUARD):
        async with _listener() as (listener, port):
            client, server = await _connect(listener, port)
            await anyio.sleep(0.05)
            assert client.get_extra_info("is_readable") is False
            await server.send(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
            await _until(lambda: bool(client.get_extra_info("is_readable")))
            assert await client.read(4, timeout=5) == b"HTTP"
            await client.aclose()
            await server.aclose()


async def test_the_connection_reports_its_addresses_and_socket(anyio_backend: str) -> None:
    """The stream reports its own address, the server's, its socket, no TLS object on plain TCP, and nothing
    for an unknown key, as httpcore2 asks for them."""
    with anyio.fail_after(_GUARD):
        async with _listener() as (listener, port):
            client, server = await _connect(listener, port)
            client_addr = client.get_extra_info("client_addr")
            assert tuple(client_addr) == tuple(server.extra(anyio.abc.SocketAttribute.remote_address))
            assert tuple(client.get_extra_info("server_addr")) == ("127.0.0.1", port)
            assert tuple(client.get_extra_info("socket").getsockname()) == tuple(client_addr)
            assert client.get_extra_info("ssl_object") is None
            assert client.get_extra_info("no such thing") is None
            await client.aclose()
            await server.aclose()


async def test_a_socket_option_is_set_on_the_connection(anyio_backend: str) -> None:
    """Socket options passed to connect (as httpx2's transport passes them) are set on the new socket."""
    with anyio.fail_after(_GUARD):
        async with _listener() as (listener, port):
            client, server = await _connect(listener, port, socket_options=[_KEEPALIVE])
            sock = client.get_extra_info("socket")
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0
            await client.aclose()
            await server.aclose()


async def test_a_local_address_is_bound_and_shared_by_connections(anyio_backend: str) -> None:
    """With a local address, connections leave from it, several at once (each on its own port); an address
    this host does not have is a `ConnectError`."""
    with anyio.fail_after(_GUARD):
        async with _listener() as (listener, port):
            first, server_one = await _connect(listener, port, local_address="127.0.0.1")
            second, server_two = await _connect(listener, port, local_address="127.0.0.1")
            addresses = [first.get_extra_info("client_addr"), second.get_extra_info("client_addr")]
            assert [address[0] for address in addresses] == ["127.0.0.1", "127.0.0.1"]
            assert addresses[0][1] != addresses[1][1]
            for stream in (first, second, server_one, server_two):
                await stream.aclose()
            with pytest.raises(httpcore2.ConnectError):
                await NetworkBackend().connect_tcp("127.0.0.1", port, timeout=5, local_address="192.0.2.1")


async def test_nothing_listening_is_a_connect_error_with_the_systems_reason(anyio_backend: str) -> None:
    """A refused connection is httpcore2's `ConnectError`, whose message is the system's own (as httpcore2's
    backends give it)."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    await listener.aclose()
    with anyio.fail_after(_GUARD), pytest.raises(httpcore2.ConnectError) as caught:
        await NetworkBackend().connect_tcp("127.0.0.1", port, timeout=5)
    assert str(caught.value)
    assert str(caught.value) == str(caught.value.__cause__)


async def test_a_connect_that_gets_no_answer_is_a_connect_timeout(anyio_backend: str) -> None:
    """A server that never completes the connection (its queue full) is a `ConnectTimeout` after the timeout
    given, which says it timed out connecting."""
    backlog = _full_backlog(socket.AF_INET)
    host, port = backlog[0].getsockname()
    try:
        with anyio.fail_after(_GUARD), pytest.raises(httpcore2.ConnectTimeout) as caught:
            await NetworkBackend().connect_tcp(host, port, timeout=0.2)
    finally:
        for sock in backlog:
            sock.close()
    assert "connecting" in str(caught.value)


async def test_a_silent_server_is_a_read_timeout(anyio_backend: str) -> None:
    """A read with nothing arriving is a `ReadTimeout` after the timeout given (saying it timed
    out reading), and the connection stays usable for what arrives later."""
    with anyio.fail_after(_GUARD):
        async with _listener() as (listener, port):
            client, server = await _connect(listener, port)
            with pytest.raises(httpcore2.ReadTimeout) as caught:
                await client.read(1000, timeout=0.1)
            await server.send(b"late")
            assert await client.read(1000, timeout=5) == b"late"
            await client.aclose()
            await server.aclose()
    assert "reading" in str(caught.value)


async def test_a_server_that_stops_reading_is_a_write_timeout(anyio_backend: str) -> None:
    """Writing to a server that reads nothing ends, once every buffer is full, in a `WriteTimeout` after the
    timeout given (saying it timed out writing)."""
    chunk = b"x" * (1 << 20)
    with anyio.fail_after(_GUARD):
        async with _silent_peer() as (client, _):

            async def fill() -> None:
                for _ in range(64):
                    await client.write(chunk, timeout=0.2)

            with pytest.raises(httpcore2.WriteTimeout) as caught:
                await fill()
    assert "writing" in str(caught.value)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # on trio, a write that times out drops the rest
async def test_a_connection_stays_usable_after_a_write_timeout(
    anyio_backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    """On asyncio, after a write times out, what it handed over still reaches a server that starts reading
    again, the connection carries the next exchange, and the event loop reports no error on the way."""
    chunk = b"x" * (1 << 20)
    handed = 0
    with anyio.fail_after(_GUARD):
        async with _silent_peer() as (client, server):

            async def fill() -> None:
                nonlocal handed
                for _ in range(64):
                    handed += len(chunk)  # even the write that times out hands its bytes over
                    await client.write(chunk, timeout=0.2)

            with pytest.raises(httpcore2.WriteTimeout):
                await fill()
            received = 0
            while received < handed:
                await anyio.wait_readable(server)
                received += len(server.recv(1 << 20))
            assert received == handed
            await client.write(b"ping", timeout=5)

            async def answer() -> None:
                data = b""
                while data != b"ping":
                    await anyio.wait_readable(server)
                    data += server.recv(100)
                server.send(b"pong")

            async with anyio.create_task_group() as tg:
                tg.start_soon(answer)
                assert await client.read(100, timeout=5) == b"pong"
        await anyio.sleep(0.05)
    assert _no_loop_errors(caplog) == []


async def test_a_write_waiting_for_room_ends_in_a_write_error_when_the_server_resets(
    anyio_backend: str,
) -> None:
    """A write held back because the server reads nothing ends in `WriteError` as soon as the server resets
    the connection (not at its timeout); its message is the system's reason."""
    chunk = b"x" * (1 << 20)
    written = 0
    failure: BaseException | None = None
    with anyio.fail_after(_GUARD):
        async with _silent_peer() as (client, server):

            async def write() -> None:
                nonlocal written, failure
                try:
                    for _ in range(64):
                        await client.write(chunk, timeout=_GUARD)
                        written += 1
                except httpcore2.NetworkError as exc:
                    failure = exc

            async with anyio.create_task_group() as tg:
                tg.start_soon(write)
                assert await _settled(lambda: written) < 64
                _reset_socket(server)
    assert isinstance(failure, httpcore2.WriteError)
    assert any(reason in str(failure) for reason in _RESET_REASONS)


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_closed_connection_refuses_writes(anyio_backend: str) -> None:
    """On asyncio, writing to a connection closed on this side, or ended by the server, is a `WriteError`
    saying the connection is closed, rather than bytes silently lost."""
    with anyio.fail_after(_GUARD):
        async with _listener() as (listener, port):
            client, server = await _connect(listener, port)
            await client.aclose()
            with pytest.raises(httpcore2.WriteError) as caught:
                await client.write(b"GET / HTTP/1.1\r\n\r\n", timeout=5)
            assert "closed" in str(caught.value)
            await server.aclose()

            client, server = await _connect(listener, port)
            await server.aclose()
            assert await client.read(1000, timeout=5) == b""
            with pytest.raises(httpcore2.WriteError):
                await client.write(b"GET / HTTP/1.1\r\n\r\n", timeout=5)
            await client.aclose()


async def test_a_slow_reader_holds_the_sender_back(anyio_backend: str) -> None:
    """A connection whose reader takes nothing stops taking data from the socket, so the server's sending
    stalls instead of the client buffering everything; once the reader catches up the data flows again (and
    stalls again), and everything arrives in order. On asyncio the layer reads ahead of the reader up to its
    buffer, and does not start again for a read of a few bytes."""
    chunks = [bytes([n % 251]) * 65536 for n in range(256)]  # 16 MiB
    total = sum(map(len, chunks))
    sent = 0
    with anyio.fail_after(_GUARD * 3):
        async with _listener() as (listener, port):
            client, server = await _connect(
                listener, port, socket_options=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)]
            )
            raw = server.extra(anyio.abc.SocketAttribute.raw_socket)
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32768)

            async def send() -> None:
                nonlocal sent
                for chunk in chunks:
                    await server.send(chunk)
                    sent += len(chunk)

            received = bytearray()
            async with anyio.create_task_group() as tg:
                tg.start_soon(send)
                stalled = await _settled(lambda: sent)
                assert stalled < total
                if anyio_backend == "asyncio":
                    assert stalled >= 256 * 1024
                    received += await client.read(1024, timeout=5)
                    assert await _settled(lambda: sent) == stalled
                while len(received) < stalled:
                    received += await client.read(65536, timeout=5)
                stalled_again = await _settled(lambda: sent)
                assert stalled < stalled_again < total
                while len(received) < total:
                    received += await client.read(65536, timeout=5)
            assert bytes(received) == b"".join(chunks)
            await client.aclose()
            await server.aclose()


async def test_a_large_upload_flows_through_a_slow_server_without_loop_errors(
    anyio_backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Writes far larger than the socket buffers reach a server that reads slowly, whole and in order, each
    write waiting for room rather than failing or timing out; the event loop reports no error on the way."""
    chunks = [bytes([n]) * 300_000 for n in range(30)]
    received = bytearray()
    with anyio.fail_after(_GUARD * 3):
        async with _silent_peer() as (client, server):

            async def read() -> None:
                while len(received) < 300_000 * 30:
                    await anyio.wait_readable(server)
                    received.extend(server.recv(16384))
                    await anyio.lowlevel.checkpoint()

            async with anyio.create_task_group() as tg:
                tg.start_soon(read)
                for chunk in chunks:
                    await client.write(chunk, timeout=10)
        await anyio.sleep(0.05)
    assert bytes(received) == b"".join(chunks)
    assert _no_loop_errors(caplog) == []


async def test_tls_starts_on_a_connection_and_carries_its_bytes(anyio_backend: str) -> None:
    """TLS started on a connection gives a stream with the TLS object that reads and writes through the
    encryption; a server the context does not trust, or whose certificate is for another name than the one
    given, is a `ConnectError` naming the failed verification."""
    server_context, trusting = tls_contexts()
    with anyio.fail_after(_GUARD):
        async with _listener() as (listener, port):
            client, server = await _connect(listener, port)
            tls_server: anyio.streams.tls.TLSStream | None = None

            async def handshake() -> None:
                nonlocal tls_server
                tls_server = await anyio.streams.tls.TLSStream.wrap(
                    server, server_side=True, ssl_context=server_context, standard_compatible=False
                )

            async with anyio.create_task_group() as tg:
                tg.start_soon(handshake)
                tls = await client.start_tls(trusting, server_hostname="127.0.0.1", timeout=5)
            assert tls_server is not None
            assert isinstance(tls.get_extra_info("ssl_object"), ssl.SSLObject)
            await tls.write(b"GET / HTTP/1.1\r\n\r\n", timeout=5)

            async def answer() -> None:
                assert tls_server is not None
                data = b""
                while not data.endswith(b"\r\n\r\n"):
                    data += await tls_server.receive()
                await tls_server.send(b"HTTP/1.1 204 No Content\r\n\r\n")

            async with anyio.create_task_group() as tg:
                tg.start_soon(answer)
                reply = b""
                while not reply.endswith(b"\r\n\r\n"):
                    reply += await tls.read(100, timeout=5)
            assert reply == b"HTTP/1.1 204 No Content\r\n\r\n"
            await tls.aclose()
            await tls_server.aclose()

            # Not trusted, or trusted but issued for another name than the one asked for.
            for context, name in ((ssl.create_default_context(), "127.0.0.1"), (trusting, "hub.example")):
                client, server = await _connect(listener, port)

                async def refuse(server: anyio.abc.SocketStream = server) -> None:
                    with pytest.raises((ssl.SSLError, anyio.BrokenResourceError, anyio.EndOfStream, OSError)):
                        await anyio.streams.tls.TLSStream.wrap(
                            server, server_side=True, ssl_context=server_context, standard_compatible=False
                        )

                async with anyio.create_task_group() as tg:
                    tg.start_soon(refuse)
                    with pytest.raises(httpcore2.ConnectError) as caught:
                        await client.start_tls(context, server_hostname=name, timeout=5)
                await server.aclose()
                assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)


async def test_a_tls_handshake_with_no_answer_is_a_connect_timeout_and_closes(anyio_backend: str) -> None:
    """A server that never answers the TLS handshake is a `ConnectTimeout` after the timeout given (on asyncio
    naming the TLS handshake), and the connection is closed: the server reads its end."""
    _, trusting = tls_contexts()
    with anyio.fail_after(_GUARD):
        async with _listener() as (listener, port):
            client, server = await _connect(listener, port)
            with pytest.raises(httpcore2.ConnectTimeout) as caught:
                await client.start_tls(trusting, server_hostname="127.0.0.1", timeout=0.2)
            hello = b""

            async def read_to_the_end() -> None:
                nonlocal hello
                while True:
                    hello += await server.receive()

            with pytest.raises((anyio.EndOfStream, anyio.BrokenResourceError)):
                await read_to_the_end()
            assert hello  # the client's hello, then the end of the connection
            await server.aclose()
    assert "TLS handshake" in str(caught.value)


async def test_a_unix_socket_connects_with_its_options(anyio_backend: str, tmp_path: Path) -> None:
    """A unix-socket connection carries bytes both ways, with the socket options given."""
    path = tmp_path / "hub.sock"
    with anyio.fail_after(_GUARD):
        listener = await anyio.create_unix_listener(path)
        async with listener:
            client = await NetworkBackend().connect_unix_socket(
                str(path), timeout=5, socket_options=[_KEEPALIVE]
            )
            server = await listener.accept()
            assert client.get_extra_info("socket").getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0
            await client.write(b"ping", timeout=5)
            assert await server.receive() == b"ping"
            await server.send(b"pong")
            assert await client.read(100, timeout=5) == b"pong"
            await client.aclose()
            await server.aclose()


async def test_a_unix_socket_that_never_accepts_is_a_connect_timeout(
    anyio_backend: str, tmp_path: Path
) -> None:
    """Connecting to a unix socket whose queue is full is a `ConnectTimeout` once the timeout given expires
    (on trio, which reports such a connect as made, a timeout already spent)."""
    path = str(tmp_path / "full.sock")
    backlog = _full_backlog(socket.AF_UNIX, path)
    try:
        with anyio.fail_after(_GUARD), pytest.raises(httpcore2.ConnectTimeout):
            await NetworkBackend().connect_unix_socket(path, timeout=0.2 if anyio_backend == "asyncio" else 0)
    finally:
        for sock in backlog:
            sock.close()


async def test_the_backend_sleeps(anyio_backend: str) -> None:
    """The backend's sleep (httpcore2's pause between connection retries) lets other tasks run meanwhile."""
    ran = False

    async def other() -> None:
        nonlocal ran
        ran = True

    with anyio.fail_after(_GUARD):
        async with anyio.create_task_group() as tg:
            tg.start_soon(other)
            await NetworkBackend().sleep(0.01)
            assert ran
