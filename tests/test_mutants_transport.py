"""The HTTP transport as a caller sees it: which exception (and which fields) each network failure becomes,
how many attempts each failure gets, the headers and timeouts on the wire, which requests carry the token,
the redirects the transport follows itself, Hub warnings, and the concurrency slot a stream holds."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import anyio.abc
import anyio.lowlevel
import httpx2
import pytest
from _serving import PROXY_VARIABLES, RuntimeServer

from aiospaces import RetryPolicy, SpacesClient, errors
from aiospaces.testing import VirtualClock

ENDPOINT = "https://hub.test"
TOKEN = "hf_mutant_token_123"
RUNNING = {"stage": "RUNNING", "hardware": {"current": "cpu-basic", "requested": "cpu-basic"}}

Handler = Callable[[httpx2.Request], httpx2.Response]


def _client(handler: Handler, **kwargs: Any) -> SpacesClient:
    kwargs.setdefault("token", TOKEN)
    kwargs.setdefault("clock", VirtualClock())
    return SpacesClient(endpoint=ENDPOINT, transport=httpx2.MockTransport(handler), **kwargs)


def _raising(exc: Exception, seen: list[httpx2.Request]) -> Handler:
    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        raise exc

    return handler


# --- failures before the status line ----------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("exc", "expected", "sent"),
    [
        (httpx2.ConnectError("no route"), errors.ConnectError, False),
        (httpx2.ConnectTimeout("slow connect"), errors.ConnectError, False),
        (httpx2.PoolTimeout("pool full"), errors.ConnectError, False),
        (httpx2.ReadTimeout("slow answer"), errors.RequestTimeoutError, None),
        (httpx2.WriteTimeout("slow upload"), errors.RequestTimeoutError, None),
        (httpx2.ReadError("reset"), errors.TransportError, None),
        (httpx2.UnsupportedProtocol("gopher"), errors.TransportError, None),
    ],
)
async def test_each_network_failure_becomes_its_sdk_error_with_the_request_named(
    exc: Exception, expected: type[errors.TransportError], sent: bool | None
) -> None:
    """Each httpx failure before an answer becomes exactly its SDK class, with the method, the URL and
    whether the request provably never left."""
    seen: list[httpx2.Request] = []
    async with _client(_raising(exc, seen), retry=False) as client:
        with pytest.raises(errors.TransportError) as info:
            await client._session.request("get", "/api/x?y=1", idempotent=True)
    assert type(info.value) is expected
    assert info.value.method == "GET"
    assert info.value.url == f"{ENDPOINT}/api/x?y=1"
    assert info.value.sent is sent
    assert "GET" in str(info.value)
    assert f"{ENDPOINT}/api/x" in str(info.value)
    assert str(exc) in str(info.value)
    assert len(seen) == 1


@pytest.mark.anyio
async def test_a_failure_without_text_still_names_its_kind() -> None:
    """A failure whose exception has no message is still named by its kind in the SDK error."""
    async with _client(_raising(httpx2.ReadError(""), []), retry=False) as client:
        with pytest.raises(errors.TransportError, match="ReadError"):
            await client._session.request("GET", "/api/x", idempotent=True)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("exc", "idempotent", "attempts"),
    [
        (httpx2.ReadError("reset"), True, 3),
        (httpx2.ReadError("reset"), False, 1),
        (httpx2.ReadTimeout("slow"), True, 3),
        (httpx2.RemoteProtocolError("garbled"), True, 3),
        (httpx2.LocalProtocolError("bad request line"), True, 1),
        (httpx2.UnsupportedProtocol("gopher"), True, 1),
        (httpx2.ConnectError("no route"), False, 3),
        (httpx2.ConnectTimeout("slow connect"), False, 3),
    ],
)
async def test_each_network_failure_gets_the_attempts_its_kind_allows(
    exc: Exception, idempotent: bool, attempts: int
) -> None:
    """Dropped answers and timeouts are resent only when idempotent, failed connects always, and failures
    of the request itself never."""
    seen: list[httpx2.Request] = []
    async with _client(_raising(exc, seen), retry=RetryPolicy(max_attempts=3)) as client:
        with pytest.raises(errors.TransportError):
            await client._session.request("POST", "/api/x", idempotent=idempotent)
    assert len(seen) == attempts


def _refused_error(shape: str) -> httpx2.ConnectError:
    refused = ConnectionRefusedError(111, "Connection refused")
    if shape == "cause":
        error = httpx2.ConnectError("connect failed")
        error.__cause__ = refused
    elif shape == "context":
        error = httpx2.ConnectError("connect failed")
        error.__context__ = refused
    else:
        inner = OSError("multiple addresses failed")
        inner.__cause__ = ExceptionGroup("all addresses", [OSError("unreachable"), refused])
        error = httpx2.ConnectError("connect failed")
        error.__cause__ = inner
    return error


@pytest.mark.anyio
@pytest.mark.parametrize("shape", ["cause", "context", "group"])
async def test_a_refused_connection_before_any_answer_is_retried_once(shape: str) -> None:
    """A connection refused (found anywhere in the failure's chain) before the endpoint ever answered is
    tried twice only, whatever `max_attempts` says: nothing listens there."""
    seen: list[httpx2.Request] = []
    async with _client(_raising(_refused_error(shape), seen), retry=RetryPolicy(max_attempts=5)) as client:
        with pytest.raises(errors.ConnectError) as info:
            await client._session.request("GET", "/api/x", idempotent=True)
    assert len(seen) == 2
    assert info.value.sent is False


@pytest.mark.anyio
@pytest.mark.parametrize("refused", [True, False])
async def test_a_failure_chain_with_a_cycle_is_searched_whole_and_ends(refused: bool) -> None:
    """A failure whose chain loops back on itself is still searched through every branch for a refused
    connection (and the search ends when there is none)."""
    looping = OSError("retrying the same address")
    error = httpx2.ConnectError("connect failed")
    error.__context__ = looping
    looping.__context__ = error
    branch = OSError("connect call failed")
    if refused:
        branch.__cause__ = ConnectionRefusedError(111, "Connection refused")
    error.__cause__ = branch
    seen: list[httpx2.Request] = []
    async with _client(_raising(error, seen), retry=RetryPolicy(max_attempts=4)) as client:
        with pytest.raises(errors.ConnectError):
            await client._session.request("GET", "/api/x", idempotent=True)
    assert len(seen) == (2 if refused else 4)


@pytest.mark.anyio
async def test_a_connect_failure_that_was_not_refused_gets_every_attempt() -> None:
    """A connect failure with no refused connection in its chain gets the policy's full attempts."""
    error = httpx2.ConnectError("connect failed")
    error.__cause__ = OSError("network unreachable")
    seen: list[httpx2.Request] = []
    async with _client(_raising(error, seen), retry=RetryPolicy(max_attempts=5)) as client:
        with pytest.raises(errors.ConnectError):
            await client._session.request("GET", "/api/x", idempotent=True)
    assert len(seen) == 5


@pytest.mark.anyio
async def test_a_refused_connection_after_an_answer_gets_every_attempt() -> None:
    """Once the endpoint has answered, a refused connection is a restart, retried under the full policy."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx2.Response(200, json=RUNNING)
        raise _refused_error("cause")

    async with _client(handler, retry=RetryPolicy(max_attempts=5)) as client:
        await client._session.request("GET", "/api/x", idempotent=True)
        with pytest.raises(errors.ConnectError):
            await client._session.request("GET", "/api/x", idempotent=True)
    assert len(seen) == 1 + 5


@pytest.mark.anyio
async def test_a_refused_connection_after_an_error_answer_gets_every_attempt() -> None:
    """An error status is an answer too: a later refused connection is retried under the full policy."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx2.Response(404)
        raise _refused_error("cause")

    async with _client(handler, retry=RetryPolicy(max_attempts=4)) as client:
        with pytest.raises(errors.NotFoundError):
            await client._session.request("GET", "/api/x", idempotent=True)
        with pytest.raises(errors.ConnectError):
            await client._session.request("GET", "/api/x", idempotent=True)
    assert len(seen) == 1 + 4


# --- failures while a streamed body is read ---------------------------------------------------------------


class _FailingBody(httpx2.AsyncByteStream):
    def __init__(self, exc: Exception) -> None:
        self.exc = exc
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"data: one\n\n"
        raise self.exc

    async def aclose(self) -> None:
        self.closed = True


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx2.ReadTimeout("slow"), errors.RequestTimeoutError),
        (httpx2.DecodingError("bad gzip"), errors.BodyDecodingError),
        (httpx2.ReadError("reset"), errors.TransportError),
        (httpx2.RemoteProtocolError("peer closed"), errors.TransportError),
    ],
)
async def test_a_stream_body_failure_becomes_its_sdk_error_marked_sent(
    exc: Exception, expected: type[errors.TransportError]
) -> None:
    """A failure while a streamed body is read becomes exactly its SDK class, naming the request and marked
    as sent (the status line had arrived)."""
    body = _FailingBody(exc)

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, stream=body)

    async with _client(handler) as client, client._session.stream("get", "/api/logs") as response:
        assert response.status_code == 200
        body_chunks = response.aiter_bytes()
        assert await body_chunks.__anext__() == b"data: one\n\n"
        with pytest.raises(errors.TransportError) as info:
            await body_chunks.__anext__()
    assert type(info.value) is expected
    assert (info.value.method, info.value.url, info.value.sent) == ("GET", f"{ENDPOINT}/api/logs", True)
    assert "GET" in str(info.value)
    assert f"{ENDPOINT}/api/logs" in str(info.value)
    assert str(exc) in str(info.value)
    assert body.closed


@pytest.mark.anyio
async def test_stream_lines_are_mapped_the_same_way() -> None:
    """Reading a stream's lines yields the lines and maps a dropped connection to the SDK's error."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, stream=_FailingBody(httpx2.ReadError("reset")))

    async with _client(handler) as client, client._session.stream("GET", "/api/logs") as response:
        lines = response.aiter_lines()
        assert await lines.__anext__() == "data: one"
        assert await lines.__anext__() == ""
        with pytest.raises(errors.TransportError) as info:
            await lines.__anext__()
    assert (info.value.method, info.value.url, info.value.sent) == ("GET", f"{ENDPOINT}/api/logs", True)


# --- headers, timeouts and the token's scope --------------------------------------------------------------


@pytest.mark.anyio
async def test_default_headers_and_a_configured_user_agent_are_sent() -> None:
    """Every request has httpx's usual accept headers, keep-alive, and the configured user agent after
    the SDK's own."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json=RUNNING)

    async with _client(handler, user_agent="fleetbot/2") as client:
        await client._session.request("GET", "/api/x", idempotent=True)
    headers = seen[0].headers
    assert headers["accept"] == "*/*"
    assert headers["accept-encoding"] == "gzip, deflate"
    assert headers["connection"] == "keep-alive"
    assert headers["user-agent"].startswith("aiospaces/")
    assert headers["user-agent"].endswith("; fleetbot/2")
    assert "; python/" in headers["user-agent"]


@pytest.mark.anyio
async def test_client_and_request_headers_replace_the_defaults_whatever_their_case() -> None:
    """Headers given to the client replace the defaults, and headers given to one request replace both,
    whatever the case they are spelled in."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json=RUNNING)

    async with _client(handler, headers={"Accept": "application/json", "X-Team": "a"}) as client:
        await client._session.request("GET", "/api/x", idempotent=True)
        await client._session.request("GET", "/api/x", idempotent=True, headers={"X-TEAM": "b"})
    assert seen[0].headers.get_list("accept") == ["application/json"]
    assert seen[0].headers.get_list("x-team") == ["a"]
    assert seen[1].headers.get_list("x-team") == ["b"]
    assert seen[1].headers.get_list("accept") == ["application/json"]


@pytest.mark.anyio
async def test_the_client_timeout_and_a_per_request_timeout_reach_the_transport() -> None:
    """The client's timeout applies to every phase of a request, and a per-request timeout replaces it."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json=RUNNING)

    async with _client(handler, timeout=12.0) as client:
        await client._session.request("GET", "/api/x", idempotent=True)
        await client._session.request("GET", "/api/x", idempotent=True, timeout=3.0)
        async with client._session.stream("GET", "/api/x", timeout=4.0):
            pass
    assert seen[0].extensions["timeout"] == {"connect": 12.0, "read": 12.0, "write": 12.0, "pool": 12.0}
    assert seen[1].extensions["timeout"] == {"connect": 3.0, "read": 3.0, "write": 3.0, "pool": 3.0}
    assert seen[2].extensions["timeout"] == {"connect": 4.0, "read": 4.0, "write": 4.0, "pool": 4.0}


@pytest.mark.anyio
async def test_an_httpx_timeout_object_is_used_as_given() -> None:
    """A client timeout given as `httpx2.Timeout` keeps its per-phase values."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json=RUNNING)

    async with _client(handler, timeout=httpx2.Timeout(5.0, connect=1.0)) as client:
        await client._session.request("GET", "/api/x", idempotent=True)
    assert seen[0].extensions["timeout"] == {"connect": 1.0, "read": 5.0, "write": 5.0, "pool": 5.0}


@pytest.mark.anyio
async def test_the_token_goes_to_the_endpoints_origin_only() -> None:
    """An absolute URL on the endpoint's origin carries the token; another host, another port or plain
    http never does, and another host's query string never shows in errors."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200 if request.url.path == "/ok" else 404)

    async with _client(handler, retry=False) as client:
        await client._session.request("GET", f"{ENDPOINT}/ok", idempotent=True)
        await client._session.request("GET", "https://storage.test/ok?X-Sig=s3cr3t", idempotent=True)
        await client._session.request("GET", "https://hub.test:8443/ok", idempotent=True)
        await client._session.request("GET", "http://hub.test/ok", idempotent=True)
        with pytest.raises(errors.NotFoundError) as other:
            await client._session.request("GET", "https://storage.test/missing?X-Sig=s3cr3t", idempotent=True)
        with pytest.raises(errors.NotFoundError) as own:
            await client._session.request("GET", "/missing?page=2", idempotent=True)
    assert [r.headers.get("authorization") for r in seen[:4]] == [f"Bearer {TOKEN}", None, None, None]
    assert "s3cr3t" not in str(other.value)
    assert other.value.url == "https://storage.test/missing"
    assert own.value.url == f"{ENDPOINT}/missing?page=2"


@pytest.mark.anyio
@pytest.mark.parametrize("url", ["api/x", "ftp://hub.test/x", ""])
async def test_a_url_neither_a_path_nor_http_is_refused_before_sending(url: str) -> None:
    """A URL that is neither a `/` path nor an absolute http(s) URL raises ValueError naming `url`, and
    nothing is sent."""
    seen: list[httpx2.Request] = []
    async with _client(_raising(AssertionError("sent"), seen)) as client:
        with pytest.raises(ValueError, match="url"):
            await client._session.request("GET", url, idempotent=True)
    assert seen == []


@pytest.mark.anyio
async def test_a_malformed_absolute_url_is_a_value_error_before_sending() -> None:
    """An absolute URL httpx cannot parse raises ValueError naming the method, and nothing is sent."""
    seen: list[httpx2.Request] = []
    async with _client(_raising(AssertionError("sent"), seen)) as client:
        with pytest.raises(ValueError, match="GET"):
            await client._session.request("GET", "https://[::1/x", idempotent=True)
    assert seen == []


@pytest.mark.anyio
async def test_offline_mode_sends_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """With HF_HUB_OFFLINE set, a request raises OfflineModeError and nothing is sent."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    seen: list[httpx2.Request] = []
    async with _client(_raising(AssertionError("sent"), seen)) as client:
        with pytest.raises(errors.OfflineModeError):
            await client._session.request("GET", "/api/x", idempotent=True)
        with pytest.raises(errors.OfflineModeError):
            async with client._session.stream("GET", "/api/x"):
                pass
    assert seen == []


# --- Hub warnings -----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_hub_warnings_are_logged_once_per_topic_without_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each `X-HF-Warning` topic is logged once however often it repeats, with its message, and a token the
    Hub quotes is masked."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        headers = [
            ("X-HF-Warning", "deprecated; use the new route"),
            ("X-HF-Warning", f"quota; {TOKEN} is near its limit"),
            ("X-HF-Warning", "deprecated; use the new route"),
            ("X-HF-Warning", "limits; soft; then hard"),
        ]
        return httpx2.Response(200, headers=headers, json=RUNNING)

    caplog.set_level(logging.WARNING, logger="aiospaces")
    async with _client(handler) as client:
        await client._session.request("GET", "/api/x", idempotent=True)
        await client._session.request("GET", "/api/x", idempotent=True)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert "deprecated" in warnings[0]
    assert "use the new route" in warnings[0]
    assert "quota" in warnings[1]
    assert "near its limit" in warnings[1]
    assert "(limits)" in warnings[2]
    assert "soft; then hard" in warnings[2]
    assert all(TOKEN not in message for message in warnings)


@pytest.mark.anyio
async def test_a_form_body_is_sent_form_encoded() -> None:
    """A request's `data` is sent as a form body."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200)

    async with _client(handler) as client:
        await client._session.request("POST", "/api/form", data={"a": "1", "b": "two"}, idempotent=False)
    assert seen[0].content == b"a=1&b=two"
    assert seen[0].headers["content-type"] == "application/x-www-form-urlencoded"


@pytest.mark.anyio
async def test_all_proxy_carries_every_request_over_one_kept_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With only `ALL_PROXY` set, requests go through that proxy, reusing its kept-alive connection."""
    server = RuntimeServer()
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    async with listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, server)
        monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{port}")
        async with SpacesClient(token=TOKEN, endpoint="http://localhost:1", retry=False) as client:
            with anyio.fail_after(30):
                await client.get_space_runtime("a/b")
                await client.get_space_runtime("a/c")
        tg.cancel_scope.cancel()
    assert server.request_lines == [
        b"GET http://localhost:1/api/spaces/a/b/runtime HTTP/1.1",
        b"GET http://localhost:1/api/spaces/a/c/runtime HTTP/1.1",
    ]
    assert server.connections == 1


# --- redirects the transport follows ----------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "method", "then"),
    [
        (301, "POST", "GET"),
        (301, "PUT", "PUT"),
        (302, "POST", "GET"),
        (302, "HEAD", "HEAD"),
        (303, "PUT", "GET"),
        (303, "HEAD", "HEAD"),
        (307, "DELETE", "DELETE"),
    ],
)
async def test_a_redirect_changes_the_method_as_http_says(status: int, method: str, then: str) -> None:
    """301 after a POST, 302 and 303 (but not for HEAD) are followed with a GET without a body; other
    redirects keep the method and body."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        if request.url.path == "/from":
            return httpx2.Response(status, headers={"Location": "/to"})
        return httpx2.Response(200)

    async with _client(handler) as client:
        await client._session.request(method, "/from", content=b"payload", idempotent=True)
    assert [(r.method, r.url.path) for r in seen] == [(method, "/from"), (then, "/to")]
    moved = seen[1]
    if then == method:
        assert moved.content == b"payload"
    else:
        assert moved.content == b""
        assert "content-length" not in moved.headers
    assert moved.headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.anyio
async def test_a_redirect_to_another_host_sets_its_host_and_drops_the_token() -> None:
    """Followed to another host, the request names that host and carries no token; followed back to the
    endpoint, it carries the token again."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        if request.url.host == "hub.test" and request.url.path == "/from":
            return httpx2.Response(302, headers={"Location": "https://cdn.test:444/blob"})
        if request.url.host == "cdn.test":
            return httpx2.Response(302, headers={"Location": f"{ENDPOINT}/back"})
        return httpx2.Response(200)

    async with _client(handler) as client:
        await client._session.request("GET", "/from", idempotent=True)
    assert [str(r.url) for r in seen] == [f"{ENDPOINT}/from", "https://cdn.test:444/blob", f"{ENDPOINT}/back"]
    assert seen[1].headers["host"] == "cdn.test:444"
    assert "authorization" not in seen[1].headers
    assert seen[2].headers["host"] == "hub.test"


@pytest.mark.anyio
@pytest.mark.parametrize(("hops", "succeeds"), [(20, True), (21, False)])
async def test_up_to_twenty_redirects_are_followed(hops: int, succeeds: bool) -> None:
    """Twenty redirects in a row are followed; the twenty-first is a final transport error."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        n = int(request.url.path.rsplit("/", 1)[1])
        if n < hops:
            return httpx2.Response(307, headers={"Location": f"/hop/{n + 1}"})
        return httpx2.Response(200)

    async with _client(handler, retry=RetryPolicy(max_attempts=3)) as client:
        if succeeds:
            response = await client._session.request("GET", "/hop/0", idempotent=True)
            assert response.url.path == f"/hop/{hops}"
        else:
            with pytest.raises(errors.TransportError) as info:
                await client._session.request("GET", "/hop/0", idempotent=True)
            assert type(info.value) is errors.TransportError
    assert len(seen) == (hops + 1 if succeeds else 21)


@pytest.mark.anyio
async def test_a_redirect_without_a_token_to_send_is_followed_anywhere() -> None:
    """An anonymous client follows a redirect to another host like any other."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        if request.url.host == "hub.test":
            return httpx2.Response(302, headers={"Location": "https://cdn.test/blob"})
        return httpx2.Response(200)

    async with _client(handler, token=False) as client:
        await client._session.request("GET", "/from", idempotent=True)
    assert [str(r.url) for r in seen] == [f"{ENDPOINT}/from", "https://cdn.test/blob"]
    assert "authorization" not in seen[1].headers


async def _chunks() -> AsyncIterator[bytes]:
    yield b"part one, "
    yield b"part two"


@pytest.mark.anyio
@pytest.mark.parametrize("status", [303, 307])
async def test_a_redirected_streamed_upload_keeps_or_drops_its_framing(status: int) -> None:
    """A chunked upload redirected with 307 is resent chunked with its body; redirected with 303 it becomes
    a GET with neither body nor body framing headers."""
    seen: list[tuple[str, httpx2.Headers, bytes]] = []

    async def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append((request.method, request.headers, await request.aread()))
        if request.url.path == "/from":
            return httpx2.Response(status, headers={"Location": "/to"})
        return httpx2.Response(200)

    async with _client(handler) as client:  # type: ignore[arg-type]
        await client._session.request("POST", "/from", content=_chunks(), idempotent=False)
    (_, first_headers, _), (then, headers, body) = seen
    assert first_headers["transfer-encoding"] == "chunked"
    if status == 307:
        assert (then, headers.get("transfer-encoding"), body) == ("POST", "chunked", b"part one, part two")
    else:
        assert (then, body) == ("GET", b"")
        assert "transfer-encoding" not in headers
        assert "content-length" not in headers


@pytest.mark.anyio
@pytest.mark.parametrize("status", [303, 307])
async def test_a_redirected_request_keeps_its_timeout(status: int) -> None:
    """The request that follows a redirect has the same timeout as the one redirected."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        if request.url.path == "/from":
            return httpx2.Response(status, headers={"Location": "/to"})
        return httpx2.Response(200)

    async with _client(handler, timeout=30.0) as client:
        await client._session.request("POST", "/from", content=b"x", idempotent=True, timeout=7.0)
    assert [r.extensions["timeout"] for r in seen] == [
        {"connect": 7.0, "read": 7.0, "write": 7.0, "pool": 7.0}
    ] * 2


@pytest.mark.anyio
async def test_an_unparsable_redirect_location_is_a_transport_error() -> None:
    """A redirect whose `Location` cannot be parsed is a transport error naming the request."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(302, headers={"Location": "https://[::1/x"})

    async with _client(handler, retry=False) as client:
        with pytest.raises(errors.TransportError, match="redirect") as info:
            await client._session.request("GET", "/from", idempotent=True)
    assert info.value.url == f"{ENDPOINT}/from"


@pytest.mark.anyio
async def test_a_redirect_is_returned_as_it_is_when_not_followed() -> None:
    """With `follow_redirects=False` the 3xx answer is returned, and nothing else is sent."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(302, headers={"Location": "/elsewhere"})

    async with _client(handler) as client:
        response = await client._session.request("GET", "/from", idempotent=True, follow_redirects=False)
    assert response.status_code == 302
    assert len(seen) == 1


# --- streams and concurrency slots ------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_stream_gives_its_slot_back_however_it_ends() -> None:
    """With one concurrency slot, a stream that ended, failed on entry or was left by an exception gives the
    slot back, so the next request is sent."""
    statuses = iter([200, 500, 200, 200])

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(next(statuses), content=b"body")

    async with _client(handler, max_concurrency=1, retry=False) as client:
        async with client._session.stream("GET", "/api/a") as response:
            assert [c async for c in response.aiter_bytes()] == [b"body"]
            assert response.headers["content-length"] == "4"
        with pytest.raises(errors.ServerError):
            async with client._session.stream("GET", "/api/b"):
                pass
        with pytest.raises(KeyError):
            async with client._session.stream("GET", "/api/c"):
                raise KeyError("caller's own failure")
        with anyio.fail_after(5):
            response_d = await client._session.request("GET", "/api/d", idempotent=True)
    assert response_d.status_code == 200


@pytest.mark.anyio
async def test_a_stream_retries_until_the_status_line_arrives() -> None:
    """A stream is retried like an idempotent request until its status line arrives, even a POST."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        if len(seen) < 3:
            raise httpx2.ReadError("reset")
        return httpx2.Response(200, content=b"ok")

    async with (
        _client(handler, retry=RetryPolicy(max_attempts=3)) as client,
        client._session.stream("POST", "/api/x", params={"a": "1"}) as response,
    ):
        assert [c async for c in response.aiter_bytes()] == [b"ok"]
    assert len(seen) == 3
    assert all(r.url.params["a"] == "1" and r.method == "POST" for r in seen)


@pytest.mark.anyio
async def test_a_client_closed_while_a_request_waits_for_a_slot_sends_nothing() -> None:
    """A request waiting for a concurrency slot when the client closes raises ClientClosedError and is
    never sent."""
    release = anyio.Event()
    started = anyio.Event()
    seen: list[str] = []

    async def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.url.path)
        started.set()
        await release.wait()
        return httpx2.Response(200, json=RUNNING)

    client = SpacesClient(
        token=TOKEN, endpoint=ENDPOINT, transport=httpx2.MockTransport(handler), max_concurrency=1
    )
    outcome: list[BaseException] = []

    async def first() -> None:
        await client._session.request("GET", "/api/first", idempotent=True)

    async def second() -> None:
        try:
            await client._session.request("GET", "/api/second", idempotent=True)
        except errors.ClientClosedError as exc:
            outcome.append(exc)

    async with client, anyio.create_task_group() as tg:
        tg.start_soon(first)
        await started.wait()
        tg.start_soon(second)
        for _ in range(20):
            await anyio.lowlevel.checkpoint()
        await client._session.aclose()
        release.set()
    assert seen == ["/api/first"]
    assert len(outcome) == 1
