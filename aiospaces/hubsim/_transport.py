"""Three ways to reach a simulated Hub: an httpx transport, an ASGI app, and a real socket server.

They serve any `Serves` object (a `SimulatedHub`): each turns its own kind of request into a `SimRequest`,
awaits `handle`, and sends the `SimResponse` back, draining a streamed body chunk by chunk.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from typing import Any, Protocol
from urllib.parse import unquote

import anyio
import httpx2

from ._http import DropConnection, SimRequest, SimResponse

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Serves(Protocol):
    """What the adapters need from the hub: answer a request, and say how much body a route may read."""

    async def handle(self, req: SimRequest) -> SimResponse:
        """Answer one request (raises `DropConnection` to close the connection instead)."""
        ...

    def body_limit(self, method: str, path: str) -> int | None:
        """Largest body the route for (method, decoded path) accepts; None when unbounded."""
        ...


def _content_headers(req: SimRequest, resp: SimResponse) -> list[tuple[str, str]]:
    headers = list(resp.headers)
    if resp.stream is None and resp.header("content-length") is None:
        headers.append(("Content-Length", str(len(resp.body))))
    return headers


async def _close(stream: AsyncIterator[bytes]) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


# ------------------------------------------------------------------------------------ httpx transport
class _ResponseStream(httpx2.AsyncByteStream):
    def __init__(self, chunks: AsyncIterator[bytes], request: httpx2.Request) -> None:
        self._chunks = chunks
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._chunks:
                yield chunk
        except DropConnection:
            raise httpx2.RemoteProtocolError("peer closed connection", request=self._request) from None

    async def aclose(self) -> None:
        aclose = getattr(self._chunks, "aclose", None)
        if aclose is not None:
            await aclose()


class HubTransport(httpx2.AsyncBaseTransport):
    """Serves httpx requests from the hub in-process; streamed responses stay streamed."""

    def __init__(self, hub: Serves) -> None:
        self.hub = hub

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        # A request over a network always lets other tasks run while its answer is on the way; a client
        # served in-process does too, so no caller's loop of requests can keep every other task waiting.
        await anyio.lowlevel.checkpoint()
        body = await request.aread()
        url = request.url
        raw = url.raw_path.decode("ascii")
        raw_path, _, query = raw.partition("?")
        base = f"{url.scheme}://{url.netloc.decode('ascii')}"
        req = SimRequest.from_parts(request.method, raw_path, query, dict(request.headers), body, base)
        try:
            resp = await self.hub.handle(req)
        except DropConnection:
            # hub-api.md §4.3 lists RemoteProtocolError among the client's retryable transport errors.
            raise httpx2.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None
        headers = _content_headers(req, resp)
        if resp.stream is not None and request.method == "HEAD":
            # A HEAD answer has no body: close the stream (a following log would never end) unread.
            await _close(resp.stream)
            return httpx2.Response(resp.status, headers=headers, content=b"", request=request)
        if resp.stream is not None:
            return httpx2.Response(
                resp.status, headers=headers, stream=_ResponseStream(resp.stream, request), request=request
            )
        content = b"" if request.method == "HEAD" else resp.body
        return httpx2.Response(resp.status, headers=headers, content=content, request=request)


# ------------------------------------------------------------------------------------------- ASGI
def make_asgi_app(hub: Serves) -> ASGIApp:
    """The hub as an ASGI 3 app (HTTP only; lifespan events are acknowledged)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        # Read no more than the route accepts (plus the chunk crossing it): its handler answers the 413.
        limit = hub.body_limit(scope["method"], unquote(raw_path.decode("latin-1").partition("?")[0]))
        body = await _read_body(receive, limit)
        if body is None:
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        server = scope.get("server") or ("127.0.0.1", 80)
        host = headers.get("host") or f"{server[0]}:{server[1]}"
        req = SimRequest.from_parts(
            scope["method"],
            raw_path.decode("latin-1"),
            scope.get("query_string", b"").decode("latin-1"),
            headers,
            body,
            f"{scope.get('scheme', 'http')}://{host}",
        )
        try:
            resp = await hub.handle(req)
        except DropConnection:
            # An ASGI app cannot close a socket before answering; announce a body and cut it off, which the
            # client sees as a dropped connection (RemoteProtocolError).
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]}
            )
            await send({"type": "http.response.body", "body": b"", "more_body": True})
            raise
        await _send_response(req, resp, receive, send)

    return app


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive: Receive, limit: int | None) -> bytes | None:
    """The request body, cut just past `limit`; None when the client went away."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False) or (limit is not None and size > limit):
            return b"".join(chunks)


async def _send_response(req: SimRequest, resp: SimResponse, receive: Receive, send: Send) -> None:
    start = {
        "type": "http.response.start",
        "status": resp.status,
        "headers": [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in _content_headers(req, resp)
        ],
    }
    if resp.stream is None or req.method == "HEAD":
        if resp.stream is not None:
            # A HEAD answer has no body: close the stream (a following log would never end) unread.
            await _close(resp.stream)
        await send(start)
        body = b"" if req.method == "HEAD" else resp.body
        await send({"type": "http.response.body", "body": body, "more_body": False})
        return
    stream = resp.stream
    try:
        async with anyio.create_task_group() as tg:

            async def watch_disconnect() -> None:
                # A client that goes away ends a stream that would otherwise follow a log forever.
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        tg.cancel_scope.cancel()
                        return

            tg.start_soon(watch_disconnect)
            await send(start)
            async for chunk in stream:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            tg.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await _close(stream)


class _QuietDrops(logging.Filter):
    """Hide uvicorn's error log for connections a `drop` fault cut on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DropConnection)


def _uvicorn() -> Any:
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise RuntimeError(
            "serving the simulated Hub on a socket needs uvicorn: pip install 'aiospaces[server]'"
        ) from exc
    return uvicorn


def make_server(hub: Serves, host: str, port: int, log_level: str) -> Any:
    uvicorn = _uvicorn()
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    config = uvicorn.Config(
        make_asgi_app(hub),
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        date_header=False,  # the hub sends its own (hub-clock) Date
        server_header=False,
        timeout_graceful_shutdown=1,
    )
    return uvicorn.Server(config)


@contextlib.contextmanager
def serve_in_thread(hub: Serves, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run `hub` with uvicorn in a daemon thread; yields `http://host:port`; stops it on exit."""
    server = make_server(hub, host, port, "warning")
    thread = threading.Thread(target=server.run, name="hubsim-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the simulated Hub could not start on {host}:{port}")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
