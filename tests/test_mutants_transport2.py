"""The HTTP transport's bookkeeping as a caller sees it: rate-limit reservations given back after each
request, a stream's headers and its probe of a fresh rate-limit window, and requests refused before they are
sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx2
import pytest

from aiospaces import SpacesClient
from aiospaces.testing import VirtualClock

ENDPOINT = "https://hub.test"
TOKEN = "hf_mutant_token_456"

Handler = Callable[[httpx2.Request], httpx2.Response]


def _client(handler: Handler, **kwargs: Any) -> SpacesClient:
    kwargs.setdefault("token", TOKEN)
    kwargs.setdefault("clock", VirtualClock())
    return SpacesClient(endpoint=ENDPOINT, transport=httpx2.MockTransport(handler), **kwargs)


# --- rate-limit reservations ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_finished_requests_hold_no_share_of_a_new_window() -> None:
    """Requests sent one after another give their reservation back: each new window the Hub announces is
    wholly available to the next request, none of it counted as still in flight."""
    answers = 0

    def handler(request: httpx2.Request) -> httpx2.Response:
        nonlocal answers
        answers += 1
        # A reset further away each time: every answer opens a new window of 10 requests.
        return httpx2.Response(200, json={}, headers={"RateLimit": f'"api";r=10;t={10 * answers}'})

    clock = VirtualClock()
    async with _client(handler, clock=clock) as client:
        for _ in range(6):
            await client._session.request("GET", "/api/x", idempotent=True)
        assert client.rate_limit.remaining == 10
    assert clock.now() == 0.0


@pytest.mark.anyio
async def test_a_request_refused_before_sending_does_not_block_the_next() -> None:
    """A first request refused before it is sent (a header that is not ASCII) gives back its probe of the
    fresh rate-limit window, so the next request on the same client is sent."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={})

    async with _client(handler) as client:
        with pytest.raises(ValueError, match="not ASCII"):
            await client._session.request("GET", "/api/x", idempotent=True, headers={"x-note": "caf\u00e9"})
        with anyio.fail_after(10):
            response = await client._session.request("GET", "/api/y", idempotent=True)
    assert response.status_code == 200
    assert [request.url.path for request in seen] == ["/api/y"]


# --- streams ----------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_stream_sends_the_callers_headers() -> None:
    """A stream's own headers (a download's `Range`) are on the wire with the client's."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(206, content=b"tail")

    async with (
        _client(handler) as client,
        client._session.stream("GET", "/api/file", headers={"Range": "bytes=4-"}) as response,
    ):
        assert [chunk async for chunk in response.aiter_bytes()] == [b"tail"]
    assert seen[0].headers["range"] == "bytes=4-"
    assert seen[0].headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.anyio
async def test_an_open_stream_on_a_fresh_client_blocks_no_other_request() -> None:
    """The first request of a fresh client probes the rate-limit window alone; when it is a stream (a log
    stream), its status line settles the probe, so other requests go out while the stream stays open."""
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.url.path)
        return httpx2.Response(200, content=b"data: line\n\n")

    async with _client(handler) as client:
        async with client._session.stream("GET", "/api/logs") as stream:
            with anyio.fail_after(10):
                response = await client._session.request("GET", "/api/other", idempotent=True)
            assert response.status_code == 200
            assert stream.status_code == 200
        with anyio.fail_after(10):
            await client._session.request("GET", "/api/third", idempotent=True)
    assert seen == ["/api/logs", "/api/other", "/api/third"]
