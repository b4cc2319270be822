"""The socket layer under httpcore2's connection pool on trio: non-blocking sockets that give the scheduler a
turn only when they have to wait, and TLS over them through `ssl.MemoryBIO`.

trio's own streams end every successful send and receive with a scheduling point, as trio asks of every
async operation, and httpcore2 reads and writes through them (with `trio.SSLStream` for TLS). Under a fleet's
requests each of those turns puts the request behind every other ready task: a request took about seven task
steps where one, waiting for the answer, is needed, and when a fleet's answers arrived together every next
request waited for all of them to be processed. Here a read or a write tries the socket first and waits for
it (`wait_readable`, `wait_writable`) only when it would block. Every operation is still a cancellation point,
and a connection that moves a lot of data without ever waiting (a fast download) yields now and then, so it
cannot starve the other tasks. Timeouts and failures become httpcore2's exceptions, as its own trio backend
raises them, so httpx2 maps them to the same errors.
"""

from __future__ import annotations

import contextlib
import math
import select
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore2
import trio
from httpcore2 import SOCKET_OPTION

# Bytes a TLS stream asks of its connection at once (records for `ssl` to decrypt).
_RECEIVE = 64 * 1024
# Bytes written that are held back to leave together with what follows (see `_Socket`).
_COALESCE = 64 * 1024
# Bytes a connection moves without having waited before it yields once anyway.
_FAIR_SHARE = 256 * 1024


class TrioBackend(httpcore2.AsyncNetworkBackend):
    """Connects with trio's `open_tcp_stream` (its name resolution and happy eyeballs), then reads and writes
    the socket itself."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore2's interface
        local_address: str | None = None,
        socket_options: Iterable[SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        try:
            with trio.fail_after(math.inf if timeout is None else timeout):
                stream = await trio.open_tcp_stream(host, port, local_address=local_address)
        except trio.TooSlowError as exc:
            raise httpcore2.ConnectTimeout("timed out connecting") from exc
        except OSError as exc:
            raise httpcore2.ConnectError(str(exc)) from exc
        # The connected socket, out of trio's stream (which would yield after every operation); trio's
        # TCP_NODELAY stays set on it.
        sock = socket.socket(fileno=stream.socket.detach())
        sock.setblocking(False)
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
        except OSError as exc:
            sock.close()
            raise httpcore2.ConnectError(str(exc)) from exc
        return _Socket(sock)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore2's interface
        socket_options: Iterable[SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        return await httpcore2.TrioBackend().connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options
        )

    async def sleep(self, seconds: float) -> None:
        await trio.sleep(seconds)


async def _wait(
    until: Callable[[socket.socket], Awaitable[None]],
    sock: socket.socket,
    deadline: float,
    error: type[httpcore2.TimeoutException],
    doing: str,
) -> None:
    """Wait until `sock` is ready (`until` is `wait_readable` or `wait_writable`), raising httpcore2's `error`
    at `deadline`, or its ReadError/WriteError if the connection is closed meanwhile."""
    with trio.CancelScope(deadline=deadline) as scope:
        try:
            await until(sock)
        except trio.ClosedResourceError as exc:
            failure = httpcore2.ReadError if error is httpcore2.ReadTimeout else httpcore2.WriteError
            raise failure("the connection was closed") from exc
    if scope.cancelled_caught:
        raise error(f"timed out {doing}")


def _deadline(timeout: float | None) -> float:
    return math.inf if timeout is None else trio.current_time() + timeout


class _Socket(httpcore2.AsyncNetworkStream):
    """One plain connection, as httpcore2 reads and writes it."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._closed = False
        # Bytes moved since this connection last waited or yielded.
        self._unwaited = 0
        # Small writes wait here until the next read: httpcore2 writes a request's head and its body
        # separately, and always reads the answer next, so the request leaves in one send instead of two.
        self._pending = bytearray()

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        await trio.lowlevel.checkpoint_if_cancelled()
        deadline = None
        if self._pending:
            deadline = _deadline(timeout)
            # If the peer is gone, or going, what it sent before (an early error answer) is still read, and
            # the receive below reports the failure as a read's.
            with contextlib.suppress(httpcore2.WriteError):
                await self._send(self._take_pending(), deadline, httpcore2.ReadTimeout)
        sock = self._sock
        while True:
            if self._closed:
                raise httpcore2.ReadError("the connection is closed")
            try:
                data = sock.recv(max_bytes)
            except BlockingIOError:
                self._unwaited = 0
                if deadline is None:
                    deadline = _deadline(timeout)
                await _wait(trio.lowlevel.wait_readable, sock, deadline, httpcore2.ReadTimeout, "reading")
                continue
            except OSError as exc:
                raise httpcore2.ReadError(str(exc)) from exc
            # b"" is the end of the stream (the peer closed), as httpcore2 reads it.
            await self._moved(len(data))
            return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if not buffer:
            return
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._closed:
            raise httpcore2.WriteError("the connection is closed")
        self._pending += buffer
        if len(self._pending) >= _COALESCE:
            await self._send(self._take_pending(), _deadline(timeout), httpcore2.WriteTimeout)

    async def flush(self) -> None:
        """Send what writes have held back, without a time limit (the caller sets one)."""
        if self._pending:
            await self._send(self._take_pending(), math.inf, httpcore2.WriteTimeout)

    def _take_pending(self) -> bytearray:
        pending, self._pending = self._pending, bytearray()
        return pending

    async def _send(self, data: bytearray, deadline: float, error: type[httpcore2.TimeoutException]) -> None:
        sock = self._sock
        view = memoryview(data)
        try:
            while view:
                if self._closed:
                    raise httpcore2.WriteError("the connection is closed")
                try:
                    sent = sock.send(view)
                except BlockingIOError:
                    self._unwaited = 0
                    await _wait(trio.lowlevel.wait_writable, sock, deadline, error, "writing")
                    continue
                except OSError as exc:
                    raise httpcore2.WriteError(str(exc)) from exc
                view = view[sent:]
        finally:
            view.release()
        await self._moved(len(data))

    async def _moved(self, count: int) -> None:
        self._unwaited += count
        if self._unwaited >= _FAIR_SHARE:
            self._unwaited = 0
            await trio.lowlevel.cancel_shielded_checkpoint()

    async def aclose(self) -> None:
        # Never a scheduling point: httpcore2 closes connections from cleanup paths, some shielded. What is
        # still pending is a request nobody will read the answer of.
        if not self._closed:
            self._closed = True
            self._pending = bytearray()
            trio.lowlevel.notify_closing(self._sock)
            self._sock.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore2.AsyncNetworkStream:
        return await _TLS.over(self, ssl_context, server_hostname, timeout)

    def get_extra_info(self, info: str) -> Any:
        sock = self._sock
        if info == "is_readable":
            # An idle keep-alive connection with something to read (or closed) was dropped by the server.
            return self._closed or _readable(sock)
        if info == "client_addr":
            return sock.getsockname()
        if info == "server_addr":
            return sock.getpeername()
        if info == "socket":
            return sock
        return None


def _readable(sock: socket.socket) -> bool:
    """Whether a read would not block now. poll, where there is one: select refuses descriptors above
    FD_SETSIZE (1024), which a client holding many connections and files reaches."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


class _TLS(httpcore2.AsyncNetworkStream):
    """TLS over a `_Socket`: `ssl`'s memory BIOs hold the records, the socket moves them. As with httpcore2's
    own trio streams, the end of the connection without TLS's close_notify is an ordinary end of stream (many
    HTTPS servers close that way); whether the body was whole is h11's to judge from its framing."""

    def __init__(self, inner: _Socket, ssl_context: ssl.SSLContext, hostname: str | None):
        self._inner = inner
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._ssl = ssl_context.wrap_bio(self._incoming, self._outgoing, server_hostname=hostname)

    @classmethod
    async def over(
        cls,
        inner: _Socket,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None,
        timeout: float | None,  # noqa: ASYNC109 - httpcore2's
    ) -> _TLS:
        """`inner` after a TLS handshake. A failure closes `inner` and is httpcore2's ConnectError, or its
        ConnectTimeout after `timeout` seconds for the whole handshake."""
        try:
            with trio.fail_after(math.inf if timeout is None else timeout):
                tls = cls(inner, ssl_context, server_hostname)
                await tls._handshake()
        except BaseException as exc:
            await inner.aclose()
            if isinstance(exc, trio.TooSlowError):
                raise httpcore2.ConnectTimeout("timed out during the TLS handshake") from exc
            if isinstance(exc, (httpcore2.NetworkError, ssl.SSLError)):
                raise httpcore2.ConnectError(str(exc) or "the TLS handshake failed") from exc
            raise
        return tls

    async def _handshake(self) -> None:
        while True:
            try:
                self._ssl.do_handshake()
            except ssl.SSLWantReadError:
                await self._push(None)
                data = await self._inner.read(_RECEIVE)
                if not data:
                    raise httpcore2.ConnectError("the connection closed during the TLS handshake") from None
                self._incoming.write(data)
            else:
                break
        # The handshake's last message leaves now: a server may wait for it before it says anything.
        await self._push(None)
        await self._inner.flush()

    async def _push(self, timeout: float | None) -> None:  # noqa: ASYNC109 - httpcore2's, per operation
        """Hand the records `ssl` has produced to the inner stream."""
        if self._outgoing.pending:
            await self._inner.write(self._outgoing.read(), timeout)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            try:
                return self._ssl.read(max_bytes)
            except ssl.SSLWantReadError:
                pass
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""
            except ssl.SSLError as exc:
                raise httpcore2.ReadError(str(exc)) from exc
            # `ssl` needs more records (and may have something to send first, as a TLS 1.3 key update asks).
            await self._push(timeout)
            data = await self._inner.read(_RECEIVE, timeout)
            if data:
                self._incoming.write(data)
            else:
                self._incoming.write_eof()

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if not buffer:
            return
        try:
            self._ssl.write(buffer)
        except ssl.SSLError as exc:
            raise httpcore2.WriteError(str(exc)) from exc
        await self._push(timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._ssl
        if info == "is_readable":
            return bool(self._incoming.pending or self._ssl.pending()) or self._inner.get_extra_info(info)
        return self._inner.get_extra_info(info)
