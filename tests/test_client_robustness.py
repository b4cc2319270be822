"""Transport robustness: responses closed on cancellation, no unbounded wait from a malformed
`Retry-After`."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import anyio
import httpx2
import pytest

from aiospaces import SpacesClient, errors

ENDPOINT = "https://hub.test"
RUNNING = {"stage": "RUNNING", "hardware": {"current": "cpu-basic", "requested": "cpu-basic"}}


class RecordingClock:
    """A clock whose sleeps return at once and are recorded (time advances by the slept amount)."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if not math.isfinite(seconds):
            raise AssertionError(f"asked to sleep {seconds} seconds")
        self.t += max(0.0, seconds)
        await anyio.lowlevel.checkpoint()


class _StalledBody(httpx2.AsyncByteStream):
    """An error body that sends one chunk and then stalls; records whether it was closed."""

    def __init__(self, started: anyio.Event) -> None:
        self.started = started
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"error": '
        self.started.set()
        await anyio.sleep_forever()

    async def aclose(self) -> None:
        self.closed = True


class _StallingTransport(httpx2.AsyncBaseTransport):
    def __init__(self) -> None:
        self.started = anyio.Event()
        self.bodies: list[_StalledBody] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = _StalledBody(self.started)
        self.bodies.append(body)
        return httpx2.Response(500, stream=body)


@pytest.mark.anyio
async def test_cancelling_while_an_error_body_is_read_closes_the_response() -> None:
    """A call cancelled while the body of an error answer is still arriving closes that response (its
    connection is not leaked)."""
    transport = _StallingTransport()
    client = SpacesClient(token="hf_x", endpoint=ENDPOINT, transport=transport, retry=False)
    async with client, anyio.create_task_group() as tg:
        tg.start_soon(client.get_space_runtime, "a/b")
        await transport.started.wait()
        tg.cancel_scope.cancel()
    assert len(transport.bodies) == 1
    assert transport.bodies[0].closed


@pytest.mark.anyio
@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("value", ["inf", "Infinity", "nan", "1e400"])
async def test_non_finite_retry_after_never_means_waiting_forever(status: int, value: str) -> None:
    """A `Retry-After` that is not a finite number of seconds is ignored (backoff applies) instead of
    sleeping forever."""
    answers = [httpx2.Response(status, headers={"Retry-After": value}), httpx2.Response(200, json=RUNNING)]

    def handler(request: httpx2.Request) -> httpx2.Response:
        return answers.pop(0)

    clock = RecordingClock()
    async with SpacesClient(
        token="hf_x", endpoint=ENDPOINT, transport=httpx2.MockTransport(handler), clock=clock
    ) as client:
        runtime = await client.get_space_runtime("a/b")
    assert runtime.stage == "RUNNING"
    assert all(math.isfinite(s) for s in clock.sleeps)
    assert answers == []


@pytest.mark.anyio
async def test_a_redirect_loop_is_a_transport_error_not_a_raw_httpx_error() -> None:
    """A server redirecting forever gives `errors.TransportError` (the SDK's branch), never httpx's
    `TooManyRedirects`."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(302, headers={"Location": str(request.url)})

    async with SpacesClient(
        token="hf_x", endpoint=ENDPOINT, transport=httpx2.MockTransport(handler), clock=RecordingClock()
    ) as client:
        with pytest.raises(errors.TransportError, match="redirect"):
            await client.get_space_runtime("a/b")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "method", "has_body"), [(307, "POST", True), (308, "POST", True), (303, "GET", False)]
)
async def test_a_redirected_write_keeps_or_drops_its_body_by_the_status(
    status: int, method: str, has_body: bool
) -> None:
    """A write answered 307/308 is resent to the new location with the same method and body; answered 303,
    it becomes a GET without a body, as HTTP says."""
    seen: list[tuple[str, str, bytes]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append((request.method, request.url.path, request.content))
        if request.url.path == "/api/spaces/a/b/secrets":
            return httpx2.Response(status, headers={"Location": "/api/spaces/a/moved/secrets"})
        return httpx2.Response(200)

    async with SpacesClient(
        token="hf_x", endpoint=ENDPOINT, transport=httpx2.MockTransport(handler), clock=RecordingClock()
    ) as client:
        await client.add_space_secret("a/b", "KEY", "value")
    (first_method, _, first_body), (second_method, second_path, second_body) = seen
    assert (first_method, second_method, second_path) == ("POST", method, "/api/spaces/a/moved/secrets")
    assert (second_body == first_body) if has_body else (second_body == b"")


@pytest.mark.anyio
async def test_an_undecodable_body_is_a_transport_error_not_a_raw_httpx_error() -> None:
    """A body that claims gzip but is not gives `errors.TransportError`, never httpx's `DecodingError`."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"Content-Encoding": "gzip"}, content=b"not gzip at all")

    async with SpacesClient(
        token="hf_x", endpoint=ENDPOINT, transport=httpx2.MockTransport(handler), clock=RecordingClock()
    ) as client:
        with pytest.raises(errors.TransportError, match="Decoding"):
            await client.get_space_runtime("a/b")


class _CutBody(httpx2.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b'{"stage": '
        raise httpx2.ReadError("connection reset mid-body")


@pytest.mark.anyio
async def test_connect_and_body_failures_share_one_attempt_budget() -> None:
    """Failures before the status line and failures while reading the body count against the same
    `max_attempts`: alternating ones make 3 requests with `max_attempts=3`, not 3 x 3."""
    from aiospaces import RetryPolicy

    sent: list[int] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(1)
        if len(sent) % 2:
            raise httpx2.ConnectError("refused")
        return httpx2.Response(200, stream=_CutBody())

    async with SpacesClient(
        token="hf_x",
        endpoint=ENDPOINT,
        transport=httpx2.MockTransport(handler),
        clock=RecordingClock(),
        retry=RetryPolicy(max_attempts=3),
    ) as client:
        with pytest.raises(errors.TransportError):
            await client.get_space_runtime("a/b")
    assert len(sent) == 3
