"""The HTTP transport's bookkeeping as a caller sees it: rate-limit reservations given back after each
request, a stream's headers and its probe of a fresh rate-limit window, and requests refused before they are
sent."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import anyio
import anyio.abc
import anyio.lowlevel
import httpx2
import pytest
from _serving import PROXY_VARIABLES, RuntimeServer

from aiospaces import SpacesClient, errors
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


# --- headers on the wire ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_trace_ids_are_canonical_uuid4_with_all_their_random_bits() -> None:
    """Every trace id is a version 4 UUID written as `str(uuid.uuid4())` writes it, and its 122 random bits
    vary independently: none is fixed, none repeats another."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={})

    async with _client(handler) as client:
        for _ in range(64):
            await client._session.request("GET", "/api/x", idempotent=True)
    ids = [uuid.UUID(request.headers["x-amzn-trace-id"]) for request in seen]
    assert [str(value) for value in ids] == [request.headers["x-amzn-trace-id"] for request in seen]
    assert all(value.version == 4 and value.variant == uuid.RFC_4122 for value in ids)
    # The bits a version 4 UUID leaves random: all but the 4 version bits (76-79) and 2 variant bits (62-63).
    random_bits = [bit for bit in range(128) if bit not in {62, 63, 76, 77, 78, 79}]
    columns = {bit: tuple((value.int >> bit) & 1 for value in ids) for bit in random_bits}
    assert all(len(set(column)) == 2 for column in columns.values())
    assert len(set(columns.values())) == len(random_bits)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Accept-Encoding", "identity"),
        ("Accept", "application/json"),
        ("Connection", "close"),
        ("User-Agent", "custom-agent/1"),
        ("Authorization", "Bearer hf_other_token"),
        ("X-Amzn-Trace-Id", "caller-trace-1"),
    ],
)
async def test_a_callers_header_replaces_the_default_one(name: str, value: str) -> None:
    """A header the caller gives (a download's `Accept-Encoding: identity`) replaces the client's default of
    that name, whatever its spelling: it is sent once, with the caller's value."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, content=b"ok")

    async with _client(handler) as client:
        await client._session.request("GET", "/api/x", idempotent=True, headers={name: value})
        async with client._session.stream("GET", "/api/y", headers={name: value}) as response:
            assert [chunk async for chunk in response.aiter_bytes()] == [b"ok"]
    for request in seen:
        assert request.headers.get_list(name) == [value]


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


class _StalledBody(httpx2.AsyncByteStream):
    """An error body that sends a first piece then stalls; closing it, like releasing a pooled connection,
    takes a checkpoint (so an unshielded close in a cancelled scope never finishes)."""

    def __init__(self) -> None:
        self.reading = anyio.Event()
        self.closed = False

    async def __aiter__(self) -> Any:
        yield b'{"error": '
        self.reading.set()
        await anyio.Event().wait()

    async def aclose(self) -> None:
        await anyio.lowlevel.checkpoint()
        self.closed = True


@pytest.mark.anyio
async def test_a_request_cancelled_while_its_error_body_arrives_releases_it_at_once() -> None:
    """A request cancelled while the body of its error answer is still arriving closes that answer (gives
    its connection back) before the cancellation goes on, instead of leaving it to the garbage collector."""
    body = _StalledBody()

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(500, stream=body)

    async with _client(handler, retry=False) as client:

        async def send() -> None:
            await client._session.request("GET", "/api/x", idempotent=True)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(send)
                await body.reading.wait()
                tg.cancel_scope.cancel()
    assert body.closed


# --- proxies the environment names ------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("case", ["scheme proxy before ALL_PROXY", "NO_PROXY host goes direct"])
async def test_the_proxy_the_environment_names_for_the_url_carries_it(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy named for the URL's scheme wins over `ALL_PROXY`, and a host listed in `NO_PROXY` is reached
    directly, whatever proxy is named."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    proxy_server, direct_server = RuntimeServer(), RuntimeServer()
    proxy = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    direct = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    proxy_port = proxy.extra(anyio.abc.SocketAttribute.local_port)
    direct_port = direct.extra(anyio.abc.SocketAttribute.local_port)
    async with proxy, direct, anyio.create_task_group() as tg:
        tg.start_soon(proxy.serve, proxy_server)
        tg.start_soon(direct.serve, direct_server)
        if case == "scheme proxy before ALL_PROXY":
            endpoint = "http://localhost:1"
            monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy_port}")
            # Nothing listens there: a request sent to this proxy fails.
            monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:1")
        else:
            endpoint = f"http://127.0.0.1:{direct_port}"
            monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{proxy_port}")
            monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        async with SpacesClient(token=TOKEN, endpoint=endpoint, retry=False) as client:
            with anyio.fail_after(30):
                await client.get_space_runtime("a/b")
        tg.cancel_scope.cancel()
    if case == "scheme proxy before ALL_PROXY":
        assert proxy_server.request_lines == [b"GET http://localhost:1/api/spaces/a/b/runtime HTTP/1.1"]
        assert direct_server.request_lines == []
    else:
        assert direct_server.request_lines == [b"GET /api/spaces/a/b/runtime HTTP/1.1"]
        assert proxy_server.request_lines == []


@pytest.mark.anyio
async def test_a_given_transport_carries_every_request_whatever_proxy_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A transport given to the client is used as it is: proxies named in the environment do not apply."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    # Nothing listens there: a request sent to this proxy fails.
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:1")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:1")
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={})

    async with _client(handler, retry=False) as client:
        response = await client._session.request("GET", "/api/x", idempotent=True)
    assert response.status_code == 200
    assert [str(request.url) for request in seen] == [f"{ENDPOINT}/api/x"]


# --- requests refused before sending ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_offline_mode_names_the_request_it_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """With HF_HUB_OFFLINE set, the error says so and names the method and URL it refused to send (without
    the URL's credentials)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def handler(request: httpx2.Request) -> httpx2.Response:
        raise AssertionError("nothing may be sent")

    async with _client(handler) as client:
        with pytest.raises(errors.OfflineModeError) as info:
            await client._session.request("get", "https://user:pw@storage.test/blob?sig=1", idempotent=True)
    message = str(info.value)
    assert "HF_HUB_OFFLINE" in message
    assert "GET https://storage.test/blob" in message
    assert "pw" not in message


@pytest.mark.anyio
async def test_a_query_too_long_is_refused_with_the_reason() -> None:
    """Parameters that make the URL too long raise a ValueError naming the request and the reason (not a
    header's), and nothing is sent."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={})

    async with _client(handler) as client:
        with pytest.raises(ValueError, match="too long") as info:
            await client._session.request("GET", "/api/x", params={"q": "x" * 70_000}, idempotent=True)
    assert f"GET {ENDPOINT}/api/x" in str(info.value)
    assert "header" not in str(info.value)
    assert seen == []


@pytest.mark.anyio
async def test_an_error_status_names_the_reason_the_server_gave() -> None:
    """An error answer's exception shows the status with the reason phrase the server sent."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(409, extensions={"reason_phrase": b"Repo Busy"})

    async with _client(handler, retry=False) as client:
        with pytest.raises(errors.HubHTTPError) as info:
            await client._session.request("POST", "/api/x", idempotent=False)
    assert info.value.status == 409
    assert "409 Repo Busy" in str(info.value)


@pytest.mark.anyio
async def test_a_request_waiting_when_the_client_closes_says_the_client_is_closed() -> None:
    """A request still waiting for its turn when the client is closed is not sent: it raises
    ClientClosedError, saying the client is closed."""
    sent: list[str] = []
    release = anyio.Event()
    outcomes: dict[str, BaseException | int] = {}

    async def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request.url.path)
        await release.wait()
        return httpx2.Response(200, json={})

    client = _client(handler, max_concurrency=1)

    async def call(path: str) -> None:
        try:
            outcomes[path] = (await client._session.request("GET", path, idempotent=True)).status_code
        except errors.SpacesError as exc:
            outcomes[path] = exc

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(call, "/api/first")
            await anyio.wait_all_tasks_blocked()
            tg.start_soon(call, "/api/waiting")
            await anyio.wait_all_tasks_blocked()
            await client.aclose()
            release.set()
    assert sent == ["/api/first"]
    assert outcomes["/api/first"] == 200
    assert isinstance(outcomes["/api/waiting"], errors.ClientClosedError)
    assert "closed" in str(outcomes["/api/waiting"])


# --- other hosts (pre-signed storage) ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_an_error_from_another_host_shows_none_of_its_query() -> None:
    """An error about a request to another host (a pre-signed storage URL) shows its URL without any of the
    query, even a query holding a literal `?`: the query is a credential."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(403, text="denied")

    async with _client(handler, retry=False) as client:
        with pytest.raises(errors.HubHTTPError) as info:
            await client._session.request(
                "GET", "https://storage.test/blob?X-Amz-Signature=abc?secret-part", idempotent=True
            )
    assert info.value.url == "https://storage.test/blob"
    assert "secret-part" not in str(info.value)
    assert "abc" not in str(info.value)


@pytest.mark.anyio
async def test_a_rate_limit_from_one_storage_host_does_not_pace_another() -> None:
    """Each other host is paced on its own: a 429 with `Retry-After` from one storage host makes no request
    to another storage host wait."""
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.url.host)
        if request.url.host == "slow.storage.test":
            return httpx2.Response(429, headers={"Retry-After": "30"})
        return httpx2.Response(200, content=b"ok")

    clock = VirtualClock()
    async with _client(handler, clock=clock, retry=False) as client:
        with pytest.raises(errors.HubHTTPError):
            await client._session.request("PUT", "https://slow.storage.test/part", idempotent=True)
        response = await client._session.request("PUT", "https://fast.storage.test/part", idempotent=True)
    assert response.status_code == 200
    assert seen == ["slow.storage.test", "fast.storage.test"]
    assert clock.now() == 0.0


@pytest.mark.anyio
async def test_uploads_to_a_fresh_storage_host_start_together() -> None:
    """Requests to another host (pre-signed storage uploads) are not held back behind a first probe of that
    host: on a fresh client, two concurrent uploads are both in flight before either is answered."""
    arrived: list[str] = []
    both_in_flight = anyio.Event()

    async def handler(request: httpx2.Request) -> httpx2.Response:
        arrived.append(request.url.path)
        if len(arrived) == 2:
            both_in_flight.set()
        await both_in_flight.wait()
        return httpx2.Response(200)

    async with _client(handler) as client:

        async def upload(part: str) -> None:
            await client._session.request(
                "PUT", f"https://storage.test/{part}", content=b"x", idempotent=True
            )

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(upload, "part-1")
                tg.start_soon(upload, "part-2")
    assert sorted(arrived) == ["/part-1", "/part-2"]


# --- the per-request debug line (`aiospaces -vv`) ---------------------------------------------------------


@pytest.mark.anyio
async def test_each_answer_is_logged_at_debug_with_its_request_and_status(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """At DEBUG, each answer is logged with its method, URL (never another host's query) and status."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(404 if request.url.path == "/api/missing" else 200, json={})

    caplog.set_level(logging.DEBUG, logger="aiospaces")
    async with _client(handler, retry=False) as client:
        await client._session.request("GET", "/api/x", idempotent=True)
        await client._session.request(
            "put", "https://storage.test/part?sig=s3cr3t", content=b"x", idempotent=True
        )
        with pytest.raises(errors.HubHTTPError):
            await client._session.request("GET", "/api/missing", idempotent=True)
    lines = [record.getMessage() for record in caplog.records if record.levelno == logging.DEBUG]
    answered = [line for line in lines if " -> " in line]
    assert len(answered) == 3
    for (method, url, status), line in zip(
        [
            ("GET", f"{ENDPOINT}/api/x", "200"),
            ("PUT", "https://storage.test/part", "200"),
            ("GET", f"{ENDPOINT}/api/missing", "404"),
        ],
        answered,
        strict=True,
    ):
        assert method in line
        assert url in line
        assert status in line
    assert all("s3cr3t" not in line and TOKEN not in line for line in lines)


# --- bodies that arrive as a stream -----------------------------------------------------------------------


def _streamed(body: bytes) -> Any:
    async def chunks() -> Any:
        yield body[:5]
        yield body[5:]

    return chunks()


@pytest.mark.anyio
async def test_a_buffered_request_returns_its_body_read() -> None:
    """A request's response comes back with its whole body read, even when the body arrived in pieces."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=_streamed(b'{"stage": "RUNNING"}'))

    async with _client(handler) as client:
        response = await client._session.request("GET", "/api/x", idempotent=True)
    assert response.json() == {"stage": "RUNNING"}


@pytest.mark.anyio
@pytest.mark.parametrize("status", [400, 401, 404])
async def test_a_stream_refused_with_any_error_status_raises_the_hubs_message(status: int) -> None:
    """A stream whose answer is an error status (400 included) raises the SDK error carrying the Hub's own
    message, read from the streamed error body."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, content=_streamed(b'{"error": "the Hub says no"}'))

    async with _client(handler, retry=False) as client:
        with pytest.raises(errors.HubHTTPError) as info:
            async with client._session.stream("GET", "/api/logs"):
                pass
    assert info.value.status == status
    assert "the Hub says no" in str(info.value)


# --- the retry log line (`aiospaces -v`) ------------------------------------------------------------------


def _refused() -> httpx2.ConnectError:
    error = httpx2.ConnectError("connect failed")
    error.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return error


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (_refused, "connection refused"),
        (lambda: httpx2.ReadError("reset by peer"), "ReadError: reset by peer"),
        (lambda: httpx2.ReadError(""), "ReadError"),
        (lambda: httpx2.ConnectTimeout("slow connect"), "ConnectTimeout: slow connect"),
        (lambda: httpx2.Response(503), "503 Service Unavailable"),
        (lambda: httpx2.Response(599), "599"),
        (lambda: httpx2.Response(429), "429 rate limited"),
    ],
)
async def test_each_retry_is_logged_with_the_reason_of_the_failure(
    answer: Callable[[], Any], reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The line logged for each retry (what `aiospaces -v` shows) names the request and why it failed."""
    answers = 0

    def handler(request: httpx2.Request) -> httpx2.Response:
        nonlocal answers
        answers += 1
        if answers > 1:
            return httpx2.Response(200, json={})
        result = answer()
        if isinstance(result, Exception):
            raise result
        return result

    caplog.set_level(logging.INFO, logger="aiospaces")
    async with _client(handler) as client:
        await client._session.request("GET", "/api/x", idempotent=True)
    retries = [record.getMessage() for record in caplog.records if "retrying in" in record.getMessage()]
    assert len(retries) == 1
    assert f"GET {ENDPOINT}/api/x failed ({reason})" in retries[0]


# --- Retry-After ------------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("delay", [7.0, 0.0])
async def test_a_503_is_retried_after_the_delay_the_hub_asks(delay: float) -> None:
    """A 503 with `Retry-After` is retried after that delay (on the client's clock), shorter or longer than
    the backoff it replaces."""
    clock = VirtualClock()
    sent_at: list[float] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent_at.append(clock.now())
        if len(sent_at) == 1:
            return httpx2.Response(503, headers={"Retry-After": f"{delay:.0f}"})
        return httpx2.Response(200, json={})

    async with _client(handler, clock=clock) as client:
        response = await client._session.request("GET", "/api/x", idempotent=True)
    assert response.status_code == 200
    assert sent_at == [0.0, delay]


@pytest.mark.anyio
@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_holds_off_every_later_request(status: int) -> None:
    """A 429 or 503 with `Retry-After` (and no rate-limit numbers) holds off the client's next request, to
    another path, until that delay has passed."""
    clock = VirtualClock()
    sent_at: dict[str, float] = {}

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent_at[request.url.path] = clock.now()
        if request.url.path == "/api/first":
            return httpx2.Response(status, headers={"Retry-After": "20"})
        return httpx2.Response(200, json={})

    async with _client(handler, clock=clock, retry=False) as client:
        with pytest.raises(errors.HubHTTPError):
            await client._session.request("GET", "/api/first", idempotent=True)
        await client._session.request("GET", "/api/second", idempotent=True)
    assert sent_at["/api/first"] == 0.0
    assert sent_at["/api/second"] >= 20.0


@pytest.mark.anyio
@pytest.mark.parametrize(("status", "remaining"), [(200, 0), (429, 5)])
async def test_rate_limit_numbers_of_another_bucket_pace_that_bucket_only(
    status: int, remaining: int
) -> None:
    """An answer on an API path that spends the `resolvers` bucket (its numbers say so, or it is a 429
    counted against that bucket) holds off the next download (`/resolve/`) until that window resets, and no
    API request."""
    resolve = "/a/b/resolve/main/file.txt"
    clock = VirtualClock()
    sent_at: dict[str, float] = {}

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent_at[request.url.path] = clock.now()
        if request.url.path == "/api/first":
            return httpx2.Response(status, json={}, headers={"RateLimit": f'"resolvers";r={remaining};t=60'})
        return httpx2.Response(200, json={})

    async with _client(handler, clock=clock, retry=False) as client:
        await client._session.request("GET", resolve, idempotent=True)
        if status == 429:
            with pytest.raises(errors.HubHTTPError):
                await client._session.request("GET", "/api/first", idempotent=True)
        else:
            await client._session.request("GET", "/api/first", idempotent=True)
            await client._session.request("GET", "/api/second", idempotent=True)
            assert sent_at["/api/second"] == 0.0
        await client._session.request("GET", resolve, idempotent=True)
    assert sent_at[resolve] >= 60.0


# --- streams: redirects and reservations ------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_stream_follows_a_redirect_to_the_body() -> None:
    """A stream answered by a redirect (a download sent on to storage) follows it and reads the final body."""
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(str(request.url))
        if request.url.host == "hub.test":
            return httpx2.Response(302, headers={"Location": "https://cdn.test/blob"})
        return httpx2.Response(200, content=b"file body")

    async with (
        _client(handler) as client,
        client._session.stream("GET", "/a/b/resolve/main/f.bin") as response,
    ):
        assert response.status_code == 200
        assert [chunk async for chunk in response.aiter_bytes()] == [b"file body"]
    assert seen == [f"{ENDPOINT}/a/b/resolve/main/f.bin", "https://cdn.test/blob"]


@pytest.mark.anyio
async def test_an_open_stream_counts_against_a_new_window() -> None:
    """A stream still open when another answer announces a new rate-limit window counts against it, as a
    request in flight does."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/api/logs":
            return httpx2.Response(200, content=b"data: line\n\n")
        return httpx2.Response(200, json={}, headers={"RateLimit": '"api";r=10;t=60'})

    async with _client(handler) as client, client._session.stream("GET", "/api/logs"):
        await client._session.request("GET", "/api/x", idempotent=True)
        assert client.rate_limit.remaining == 9
