"""The socket layer under the connection pool on trio (`aiospaces._netio_trio`): what it does beyond the
promises every backend keeps (those are in test_netio.py and test_mutants_netio.py, on both backends). It lets
other tasks run only when it has to wait, yet every operation is a cancellation point and a connection that
never waits still yields now and then; it holds small writes back for the next read; and its TLS, over memory
BIOs, ends a stream and reports broken records as httpcore2's trio streams do."""

from __future__ import annotations

import functools
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import httpcore2
import httpx2
import pytest
import trio
import trio.lowlevel
import trio.testing
from _serving import tls_contexts
from _trio_sockets import counting_turns, socket_pair

from aiospaces import _netio_trio
from aiospaces._netio_trio import _TLS, _Socket
from aiospaces._pool import LazyTLS, http_transport

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("anyio_backend", ["trio"])]

# Long enough for any honest step on a loaded machine; a lost wake-up fails here instead of hanging.
_GUARD = 20.0


async def test_a_read_or_write_that_need_not_wait_lets_no_other_task_run(anyio_backend: str) -> None:
    """A write and a read of bytes already there complete without a scheduling point, and a read with nothing
    there lets other tasks run until its bytes arrive."""
    with trio.fail_after(_GUARD), socket_pair() as (stream, peer):
        peer.send(b"answer")
        with counting_turns() as turns:
            await stream.write(b"request", timeout=5)
            assert await stream.read(100, timeout=5) == b"answer"
            assert turns[0] == 0
        async with trio.open_nursery() as nursery:

            async def answer_later() -> None:
                await trio.sleep(0.01)
                peer.send(b"later")

            nursery.start_soon(answer_later)
            with counting_turns() as turns:
                assert await stream.read(100, timeout=5) == b"later"
            assert turns[0] > 0
        assert peer.recv(100) == b"request"


async def test_a_connection_that_never_waits_yields_once_per_fair_share(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reads and writes that never have to wait let other tasks run once each time the connection has moved
    its fair share of bytes since it last waited or yielded; a wait starts the count again."""
    monkeypatch.setattr(_netio_trio, "_FAIR_SHARE", 1000)
    with trio.fail_after(_GUARD), socket_pair() as (stream, peer):
        peer.send(b"x" * 2400)
        seen = []
        with counting_turns() as turns:
            for _ in range(6):
                assert await stream.read(400, timeout=5) == b"x" * 400
                seen.append(turns[0])
        # 400, 800: no turn; 1200: a turn, and the count starts again; 400, 800, then 1200 again.
        assert seen == [0, 0, 1, 1, 1, 2]
        # Two reads (800 bytes), a read that waits, then two more: the wait was the connection's turn.
        peer.send(b"y" * 800)
        for _ in range(2):
            await stream.read(400, timeout=5)
        async with trio.open_nursery() as nursery:

            async def send_later() -> None:
                await trio.sleep(0.01)
                peer.send(b"z" * 800)

            nursery.start_soon(send_later)
            assert await stream.read(400, timeout=5) == b"z" * 400
        with counting_turns() as turns:
            assert await stream.read(400, timeout=5) == b"z" * 400
            assert turns[0] == 0
            # Writing counts the same way: 1200 bytes at once (more than are held back) is a turn.
            monkeypatch.setattr(_netio_trio, "_COALESCE", 100)
            await stream.write(b"w" * 1200, timeout=5)
            assert turns[0] == 1
        assert peer.recv(2000) == b"w" * 1200


async def test_a_cancelled_read_or_write_moves_no_bytes(anyio_backend: str) -> None:
    """A read or a write called in a cancelled scope raises `Cancelled` before touching the connection: the
    bytes waiting are read by the next read, and the write's bytes are never sent."""
    with trio.fail_after(_GUARD), socket_pair() as (stream, peer):
        peer.send(b"waiting")
        with trio.CancelScope() as scope:
            scope.cancel()
            await stream.read(100, timeout=5)
        assert scope.cancelled_caught
        with trio.CancelScope() as scope:
            scope.cancel()
            await stream.write(b"never", timeout=5)
        assert scope.cancelled_caught
        assert await stream.read(100, timeout=5) == b"waiting"
        with pytest.raises(BlockingIOError):
            peer.recv(100)


async def test_small_writes_leave_together_at_the_next_read(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writes below the threshold are held back and sent as one at the next read; a write that reaches it is
    sent at once, with what was held before it; closing drops what is held (a request nobody will read the
    answer of)."""
    monkeypatch.setattr(_netio_trio, "_COALESCE", 100)
    with trio.fail_after(_GUARD), socket_pair() as (stream, peer):
        await stream.write(b"head ", timeout=5)
        await stream.write(b"body", timeout=5)
        with pytest.raises(BlockingIOError):
            peer.recv(100)
        peer.send(b"answer")
        assert await stream.read(100, timeout=5) == b"answer"
        assert peer.recv(100) == b"head body"
        await stream.write(b"a" * 60, timeout=5)
        await stream.write(b"b" * 40, timeout=5)
        assert peer.recv(200) == b"a" * 60 + b"b" * 40
        await stream.write(b"dropped", timeout=5)
        await stream.aclose()
        assert peer.recv(100) == b""


async def test_a_peer_that_answered_and_left_is_read_before_the_failed_send_shows(anyio_backend: str) -> None:
    """When the held-back request cannot be sent because the peer has gone, the read still returns what the
    peer said before leaving (an early error answer), and then the end of the stream."""
    with trio.fail_after(_GUARD), socket_pair() as (stream, peer):
        peer.send(b"HTTP/1.1 413 Payload Too Large\r\n\r\n")
        peer.close()
        await stream.write(b"POST / HTTP/1.1\r\n", timeout=5)
        assert await stream.read(100, timeout=5) == b"HTTP/1.1 413 Payload Too Large\r\n\r\n"
        assert await stream.read(100, timeout=5) == b""
        await stream.aclose()


async def test_a_closed_connection_refuses_reads_and_writes_and_wakes_its_reader(anyio_backend: str) -> None:
    """Closing a connection while another task waits to read from it ends that read with a `ReadError`; after
    the close, reads and writes are refused with httpcore2's errors, the connection reads as readable (gone),
    and closing again is harmless."""
    with trio.fail_after(_GUARD), socket_pair() as (stream, _peer):
        assert not stream.get_extra_info("is_readable")
        async with trio.open_nursery() as nursery:

            async def close_soon() -> None:
                await trio.sleep(0.01)
                await stream.aclose()

            nursery.start_soon(close_soon)
            with pytest.raises(httpcore2.ReadError, match="closed"):
                await stream.read(100, timeout=5)
        with pytest.raises(httpcore2.ReadError, match="closed"):
            await stream.read(100, timeout=5)
        with pytest.raises(httpcore2.WriteError, match="closed"):
            await stream.write(b"x", timeout=5)
        assert stream.get_extra_info("is_readable")
        await stream.aclose()


async def test_the_write_deadline_covers_the_whole_write(anyio_backend: str) -> None:
    """A write that must wait for room more than once still times out at the timeout given for the whole
    write, not at a new timeout after each bit of progress; its error is httpcore2's `WriteTimeout`."""
    with trio.fail_after(_GUARD), socket_pair() as (stream, peer):
        # A reader that empties the connection every 50 ms, so the writer keeps making progress.

        async def trickle() -> None:
            while True:
                await trio.sleep(0.05)
                with suppress(BlockingIOError):
                    while peer.recv(1 << 20):
                        pass

        async with trio.open_nursery() as nursery:
            nursery.start_soon(trickle)
            # With a new timeout after each bit of progress, this write would end, seconds later, without one.
            with pytest.raises(httpcore2.WriteTimeout, match="timed out writing"):
                await stream.write(b"x" * (16 * 1024 * 1024), timeout=0.3)
            nursery.cancel_scope.cancel()


@asynccontextmanager
async def _tls_pair() -> AsyncIterator[tuple[_TLS, trio.SSLStream[trio.SocketStream]]]:
    """Our TLS stream over one end of a pair, after its handshake with trio's TLS stream on the other."""
    server_context, trusting = tls_contexts("hub.test")
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    server = trio.SSLStream(
        trio.SocketStream(trio.socket.from_stdlib_socket(theirs)), server_context, server_side=True
    )
    async with trio.open_nursery() as nursery:
        nursery.start_soon(server.do_handshake)
        tls = await _Socket(ours).start_tls(trusting, server_hostname="hub.test", timeout=5)
    assert isinstance(tls, _TLS)
    try:
        yield tls, server
    finally:
        await tls.aclose()
        await server.transport_stream.aclose()


async def test_tls_reads_to_an_end_with_or_without_close_notify(anyio_backend: str) -> None:
    """Over TLS, bytes written arrive decrypted both ways; the server's close_notify reads as the end of the
    stream, and so does a connection closed without one (as most HTTPS servers close)."""
    with trio.fail_after(_GUARD):
        async with _tls_pair() as (tls, server):
            await tls.write(b"GET / HTTP/1.1\r\n\r\n", timeout=5)
            received = b""

            async def serve() -> None:
                nonlocal received
                while not received.endswith(b"\r\n\r\n"):
                    received += await server.receive_some()
                await server.send_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await server.aclose()  # sends close_notify

            async with trio.open_nursery() as nursery:
                nursery.start_soon(serve)
                reply = b""
                while not reply.endswith(b"ok"):
                    reply += await tls.read(1000, timeout=5)
            assert received == b"GET / HTTP/1.1\r\n\r\n"
            assert reply == b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
            assert await tls.read(1000, timeout=5) == b""
        async with _tls_pair() as (tls, server):
            await server.send_all(b"partial")
            await server.transport_stream.aclose()  # no close_notify
            assert await tls.read(1000, timeout=5) == b"partial"
            assert await tls.read(1000, timeout=5) == b""


async def test_tls_records_that_do_not_decrypt_are_a_read_error(anyio_backend: str) -> None:
    """A record that is not what the handshake agreed on (here bytes written past TLS, straight on the
    socket) is httpcore2's `ReadError`, not an `ssl` error."""
    with trio.fail_after(_GUARD):
        async with _tls_pair() as (tls, server):
            assert tls.get_extra_info("is_readable") is False
            await server.transport_stream.send_all(b"\x17\x03\x03\x00\x05hello")
            await trio.testing.wait_all_tasks_blocked()
            assert tls.get_extra_info("is_readable")
            with pytest.raises(httpcore2.ReadError):
                await tls.read(1000, timeout=5)


async def test_a_server_that_leaves_during_the_handshake_is_a_connect_error(anyio_backend: str) -> None:
    """A connection that ends before the TLS handshake completes is httpcore2's `ConnectError` saying so, and
    the connection is closed."""
    _, trusting = tls_contexts("hub.test")
    with trio.fail_after(_GUARD):
        ours, theirs = socket.socketpair()
        ours.setblocking(False)
        theirs.close()
        stream = _Socket(ours)
        with pytest.raises(httpcore2.ConnectError):
            await stream.start_tls(trusting, server_hostname="hub.test", timeout=5)
        assert ours.fileno() == -1


@pytest.mark.parametrize("scheme", ["http", "https"])
async def test_a_request_on_a_kept_connection_yields_only_to_wait(anyio_backend: str, scheme: str) -> None:
    """Through the SDK's pool on trio, a request on a kept-alive connection lets other tasks run once (to wait
    for its answer), not at every lock, send and receive; over TLS too."""
    server_context, trusting = tls_contexts("hub.test")
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    async def serve(stream: trio.abc.Stream) -> None:
        if scheme == "https":
            stream = trio.SSLStream(stream, server_context, server_side=True)
        data = b""
        try:
            while True:
                data += await stream.receive_some()
                while b"\r\n\r\n" in data:
                    _, data = data.split(b"\r\n\r\n", 1)
                    await stream.send_all(answer)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    with trio.fail_after(_GUARD):
        async with trio.open_nursery() as nursery:
            [listener] = await nursery.start(functools.partial(trio.serve_tcp, serve, 0, host="127.0.0.1"))
            url = f"{scheme}://127.0.0.1:{listener.socket.getsockname()[1]}/"
            # The name the certificate is for.
            extensions = {"sni_hostname": "hub.test"}
            async with httpx2.AsyncClient(transport=http_transport(4, LazyTLS(trusting))) as client:
                # The first request connects (and shakes hands): not counted.
                assert (await client.get(url, extensions=extensions)).text == "ok"
                with counting_turns() as turns:
                    for _ in range(20):
                        assert (await client.get(url, extensions=extensions)).text == "ok"
            nursery.cancel_scope.cancel()
    # One turn each, to wait for the answer; a few spare for an answer that arrives in two reads. With
    # httpcore2's locks as trio's own locks it is 60; with trio's own streams, 40 (80 over TLS).
    assert turns[0] <= 25
