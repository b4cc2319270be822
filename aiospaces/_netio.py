"""The socket layer under httpcore2's connection pool: on asyncio, streams built on asyncio's own protocol and
transport; on trio, `_netio_trio`'s.

httpcore2's default on asyncio goes through anyio's socket streams, and wraps every read and write in an
anyio cancel scope for its timeout. In the bulk benchmark those layers were a fifth of the client's CPU per
request. Here a read takes what the protocol has already buffered, or waits on one future under
`asyncio.timeout`; a write hands the bytes to the transport and waits only when its buffer is full.
Timeouts and failures become httpcore2's exceptions, as its own backends raise them, so httpx2 maps them to
the same errors.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from typing import Any

import anyio
import httpcore2
from httpcore2 import SOCKET_OPTION

# Bytes buffered from a connection before it stops reading from the socket until the consumer catches up.
_HIGH_WATER = 256 * 1024
# Bytes written that are held back to leave together with what follows (see `_Stream`).
_COALESCE = 64 * 1024


class NetworkBackend(httpcore2.AsyncNetworkBackend):
    """Connects with asyncio's `create_connection` under asyncio, with `_netio_trio`'s backend under trio."""

    def __init__(self) -> None:
        self._trio: httpcore2.AsyncNetworkBackend | None = None

    def _other(self) -> httpcore2.AsyncNetworkBackend:
        # Imported on first use: trio is not a dependency of asyncio users.
        if self._trio is None:
            from ._netio_trio import TrioBackend

            self._trio = TrioBackend()
        return self._trio

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore2's interface
        local_address: str | None = None,
        socket_options: Iterable[SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        if not _on_asyncio():
            return await self._other().connect_tcp(
                host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
            )
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, protocol = await loop.create_connection(
                    _Protocol,
                    host,
                    port,
                    local_addr=None if local_address is None else (local_address, 0),
                )
        except TimeoutError as exc:
            raise httpcore2.ConnectTimeout(str(exc) or "timed out connecting") from exc
        except OSError as exc:
            raise httpcore2.ConnectError(str(exc)) from exc
        sock = transport.get_extra_info("socket")
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
        except OSError as exc:
            transport.close()
            raise httpcore2.ConnectError(str(exc)) from exc
        return _Stream(transport, protocol)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore2's interface
        socket_options: Iterable[SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        if not _on_asyncio():
            return await self._other().connect_unix_socket(
                path, timeout=timeout, socket_options=socket_options
            )
        return await httpcore2.AnyIOBackend().connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options
        )

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


def _on_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class _Protocol(asyncio.Protocol):
    """Buffers what arrives and wakes the one reader waiting for it; tracks the transport's write buffer."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.lost: BaseException | None = None
        self.closed = False
        self.reading_paused = False
        self.waiter: asyncio.Future[None] | None = None
        self.writing_paused = False
        self.drained: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _HIGH_WATER and self.transport is not None and not self.reading_paused:
            self.transport.pause_reading()
            self.reading_paused = True
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.lost = exc
        self._wake()
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


async def _until(
    event: asyncio.Future[None], seconds: float | None, error: type[httpcore2.TimeoutException], doing: str
) -> None:
    """Wait for the protocol to resolve `event` (data arrived, the write buffer drained, the connection
    ended), raising httpcore2's `error` after `seconds`. A future left behind, done or cancelled, is
    ignored by the protocol and replaced by the next wait."""
    try:
        async with asyncio.timeout(seconds):
            await event
    except TimeoutError as exc:
        raise error(str(exc) or f"timed out {doing}") from exc


class _Stream(httpcore2.AsyncNetworkStream):
    """One connection, as httpcore2 reads and writes it."""

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol
        # Small writes wait here until the next read: httpcore2 writes a request's head and its body
        # separately, and always reads the answer next, so the request leaves in one send instead of two.
        self._pending = bytearray()

    def _flush(self) -> None:
        if self._pending:
            self._transport.write(self._pending)
            self._pending = bytearray()

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        self._flush()
        protocol = self._protocol
        if not protocol.buffer and not protocol.eof and not protocol.closed:
            protocol.waiter = asyncio.get_running_loop().create_future()
            await _until(protocol.waiter, timeout, httpcore2.ReadTimeout, "reading")
        buffer = protocol.buffer
        if buffer:
            data = bytes(buffer[:max_bytes])
            del buffer[:max_bytes]
            if protocol.reading_paused and len(buffer) <= _HIGH_WATER // 4 and not protocol.closed:
                protocol.reading_paused = False
                self._transport.resume_reading()
            return data
        if protocol.lost is not None:
            raise httpcore2.ReadError(str(protocol.lost)) from protocol.lost
        # End of stream (the peer closed): httpcore2 reads b"" as that.
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if not buffer:
            return
        protocol = self._protocol
        if protocol.closed or self._transport.is_closing():
            raise httpcore2.WriteError("the connection is closed")
        self._pending += buffer
        if len(self._pending) < _COALESCE:
            return
        self._flush()
        if protocol.writing_paused:
            protocol.drained = asyncio.get_running_loop().create_future()
            await _until(protocol.drained, timeout, httpcore2.WriteTimeout, "writing")
            if protocol.closed:
                raise httpcore2.WriteError(str(protocol.lost or "the connection is closed"))

    async def aclose(self) -> None:
        self._flush()
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore2.AsyncNetworkStream:
        self._flush()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                tls = await loop.start_tls(
                    self._transport, self._protocol, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError as exc:
            self._transport.close()
            raise httpcore2.ConnectTimeout(str(exc) or "timed out during the TLS handshake") from exc
        except (OSError, ssl.SSLError) as exc:
            self._transport.close()
            raise httpcore2.ConnectError(str(exc)) from exc
        if tls is None:
            raise httpcore2.ConnectError("the connection closed during the TLS handshake")
        assert isinstance(tls, asyncio.Transport)
        return _Stream(tls, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # An idle keep-alive connection with something to read (or closed) was dropped by the server.
            protocol = self._protocol
            return bool(protocol.buffer) or protocol.eof or protocol.closed
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        return None
