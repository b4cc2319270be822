"""Client behaviour against scripted httpx transports: headers, retries and their limits, reconciliation of
non-idempotent calls, pagination, log streaming, argument checks, concurrency bound. Sleeping runs on a
virtual
clock."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import httpx2
import pytest

from aiospaces import RetryPolicy, SpacesClient, errors
from aiospaces.models import SpaceStage
from aiospaces.testing import VirtualClock

ENDPOINT = "https://hub.test"
RUNNING = {"stage": "RUNNING", "hardware": {"current": "cpu-basic", "requested": "cpu-basic"}}

Handler = Callable[[httpx2.Request], httpx2.Response | Awaitable[httpx2.Response]]


class Recorder:
    """Wraps a handler and keeps every request it saw."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx2.Request] = []

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        result = self.handler(request)
        if not isinstance(result, httpx2.Response):
            result = await result
        return result

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


def make_client(handler: Handler, **kwargs: Any) -> tuple[SpacesClient, Recorder, VirtualClock]:
    recorder = Recorder(handler)
    clock = kwargs.pop("clock", None) or VirtualClock()
    client = SpacesClient(
        token=kwargs.pop("token", "hf_test_token"),
        endpoint=ENDPOINT,
        transport=httpx2.MockTransport(recorder),
        clock=clock,
        **kwargs,
    )
    return client, recorder, clock


def sequence(*responses: httpx2.Response | Exception) -> Handler:
    """A handler answering each request with the next item (raising it when it is an exception)."""
    items = list(responses)

    def handler(request: httpx2.Request) -> httpx2.Response:
        item = items.pop(0) if len(items) > 1 else items[0]
        if isinstance(item, Exception):
            raise item
        return item

    return handler


# --- headers and configuration ----------------------------------------------------------------------


@pytest.mark.anyio
async def test_requests_carry_auth_user_agent_and_trace_id() -> None:
    """Every request has the bearer token, an `aiospaces/` user-agent and a fresh trace id, a version 4 UUID
    as huggingface_hub sends."""
    client, rec, _ = make_client(sequence(httpx2.Response(200, json=RUNNING)))
    async with client:
        await client.get_space_runtime("a/b")
        await client.get_space_runtime("a/b")
    first, second = rec.requests
    assert first.headers["authorization"] == "Bearer hf_test_token"
    assert first.headers["user-agent"].startswith("aiospaces/")
    assert first.headers["x-amzn-trace-id"] != second.headers["x-amzn-trace-id"]
    for request in rec.requests:
        trace = request.headers["x-amzn-trace-id"]
        assert str(uuid.UUID(trace)) == trace
        assert uuid.UUID(trace).version == 4
        assert uuid.UUID(trace).variant == uuid.RFC_4122
    assert str(first.url) == "https://hub.test/api/spaces/a/b/runtime"


@pytest.mark.anyio
async def test_token_false_sends_no_authorization() -> None:
    """`token=False` makes anonymous calls even when HF_TOKEN is set."""
    client, rec, _ = make_client(sequence(httpx2.Response(200, json=RUNNING)), token=False)
    async with client:
        await client.get_space_runtime("a/b")
    assert "authorization" not in rec.requests[0].headers


def test_client_argument_validation() -> None:
    """Non-positive max_concurrency and timeout, or a bad endpoint, raise before anything else."""
    with pytest.raises(ValueError, match="max_concurrency"):
        SpacesClient(token=False, max_concurrency=0)
    with pytest.raises(ValueError, match="timeout"):
        SpacesClient(token=False, timeout=0)
    with pytest.raises(ValueError, match="endpoint"):
        SpacesClient(token=False, endpoint="ftp://x")


@pytest.mark.anyio
async def test_closed_client_refuses_requests() -> None:
    """After the `async with` block, the client refuses to send."""
    client, rec, _ = make_client(sequence(httpx2.Response(200, json=RUNNING)))
    async with client:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        await client.get_space_runtime("a/b")
    assert rec.requests == []


# --- retries ----------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_idempotent_get_retries_5xx_with_backoff() -> None:
    """A GET answered 503, 502 then 200 succeeds after two retries that slept on the client clock."""
    handler = sequence(httpx2.Response(503), httpx2.Response(502), httpx2.Response(200, json=RUNNING))
    client, rec, clock = make_client(handler)
    async with client:
        runtime = await client.get_space_runtime("a/b")
    assert runtime.stage is SpaceStage.RUNNING
    assert len(rec.requests) == 3
    assert clock.now() > 0


@pytest.mark.anyio
async def test_retries_stop_at_max_attempts() -> None:
    """A server that keeps failing gets exactly `max_attempts` requests, then a ServerError is raised."""
    client, rec, _ = make_client(sequence(httpx2.Response(500)), retry=RetryPolicy(max_attempts=3))
    async with client:
        with pytest.raises(errors.ServerError) as info:
            await client.get_space_runtime("a/b")
    assert len(rec.requests) == 3
    assert info.value.status == 500


@pytest.mark.anyio
async def test_retry_false_disables_retries() -> None:
    """`retry=False` sends once."""
    client, rec, _ = make_client(sequence(httpx2.Response(503)), retry=False)
    async with client:
        with pytest.raises(errors.ServerError):
            await client.get_space_runtime("a/b")
    assert len(rec.requests) == 1


@pytest.mark.anyio
async def test_timeout_is_retried_for_idempotent_calls() -> None:
    """A read timeout on a GET is retried; the second answer wins."""
    handler = sequence(httpx2.ReadTimeout("slow"), httpx2.Response(200, json=RUNNING))
    client, rec, _ = make_client(handler)
    async with client:
        await client.get_space_runtime("a/b")
    assert len(rec.requests) == 2


@pytest.mark.anyio
async def test_non_idempotent_request_not_resent_after_ambiguous_failure() -> None:
    """A non-idempotent POST whose connection dropped after sending is not resent:
    TransportError(sent=None)."""
    client, rec, _ = make_client(sequence(httpx2.ReadError("dropped")))
    async with client:
        with pytest.raises(errors.TransportError) as info:
            await client._session.request("POST", "/api/x", json={}, idempotent=False)
    assert len(rec.requests) == 1
    assert info.value.sent is None
    assert not isinstance(info.value, errors.ConnectError)


@pytest.mark.anyio
async def test_non_idempotent_request_not_resent_after_5xx() -> None:
    """A non-idempotent POST answered 500 is not resent."""
    client, rec, _ = make_client(sequence(httpx2.Response(500)))
    async with client:
        with pytest.raises(errors.ServerError):
            await client._session.request("POST", "/api/x", idempotent=False)
    assert len(rec.requests) == 1


@pytest.mark.anyio
async def test_connect_error_is_retried_even_for_non_idempotent_calls() -> None:
    """A connection that never opened proves the request was not sent, so even a POST is retried."""
    handler = sequence(httpx2.ConnectError("refused"), httpx2.Response(200, json={}))
    client, rec, _ = make_client(handler)
    async with client:
        response = await client._session.request("POST", "/api/x", idempotent=False)
    assert response.status_code == 200
    assert len(rec.requests) == 2


@pytest.mark.anyio
async def test_persistent_connect_error_raises_connect_error() -> None:
    """When the Hub cannot be reached at all, a ConnectError with sent=False is raised after the retries."""
    client, rec, _ = make_client(sequence(httpx2.ConnectError("refused")), retry=2)
    async with client:
        with pytest.raises(errors.ConnectError) as info:
            await client.get_space_runtime("a/b")
    assert info.value.sent is False
    assert len(rec.requests) == 3


@pytest.mark.anyio
async def test_429_waits_for_the_window_reset_then_retries() -> None:
    """A 429 with `RateLimit: r=0;t=5` makes the client wait 5 s (virtual) before retrying, for any method."""
    limited = httpx2.Response(
        429,
        headers={"RateLimit": '"api";r=0;t=5', "RateLimit-Policy": '"fixed window";"api";q=10;w=60'},
        json={"error": "slow down"},
    )
    ok = httpx2.Response(200, json=RUNNING, headers={"RateLimit": '"api";r=9;t=60'})
    client, rec, clock = make_client(sequence(limited, ok))
    async with client:
        await client.pause_space("a/b")
    assert len(rec.requests) == 2
    assert clock.now() >= 5
    assert client.rate_limit.throttled == 1


@pytest.mark.anyio
async def test_429_surfaces_with_retry_after_when_retries_exhausted() -> None:
    """When 429s keep coming beyond the policy, the RateLimitedError carries retry_after."""
    limited = httpx2.Response(429, headers={"Retry-After": "3"}, json={"error": "slow down"})
    client, rec, _ = make_client(sequence(limited), retry=RetryPolicy(max_rate_limited=1))
    async with client:
        with pytest.raises(errors.RateLimitedError) as info:
            await client.get_space_runtime("a/b")
    assert info.value.retry_after == 3
    assert len(rec.requests) == 2


@pytest.mark.anyio
async def test_dropped_body_is_retried_for_idempotent_calls() -> None:
    """A GET whose body is cut after the status line is retried."""
    calls = {"n": 0}

    class Cut(httpx2.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield b'{"stage": '
            raise httpx2.ReadError("cut")

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx2.Response(200, stream=Cut())
        return httpx2.Response(200, json=RUNNING)

    client, rec, _ = make_client(handler)
    async with client:
        runtime = await client.get_space_runtime("a/b")
    assert runtime.stage is SpaceStage.RUNNING
    assert len(rec.requests) == 2


# --- errors ------------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_status_errors_carry_details() -> None:
    """A 404 with `X-Error-Code: RepoNotFound` raises RepositoryNotFoundError with method, URL, id,
    message."""
    response = httpx2.Response(
        404,
        headers={
            "X-Error-Code": "RepoNotFound",
            "X-Request-Id": "rid-1",
            "X-Error-Message": "Repository not found",
        },
        json={"error": "Repository not found"},
    )
    client, _, _ = make_client(sequence(response))
    async with client:
        with pytest.raises(errors.RepositoryNotFoundError) as info:
            await client.space_info("a/b")
    err = info.value
    assert (err.status, err.method, err.url) == (404, "GET", "https://hub.test/api/spaces/a/b")
    assert (err.request_id, err.server_message, err.error_code) == (
        "rid-1",
        "Repository not found",
        "RepoNotFound",
    )


@pytest.mark.anyio
async def test_stream_maps_errors_on_entry() -> None:
    """`_stream` raises the mapped error when the status is an error, with the body read for the message."""
    client, _, _ = make_client(sequence(httpx2.Response(403, json={"error": "not yours"})))
    async with client:
        with pytest.raises(errors.PermissionDeniedError, match="not yours"):
            async with client._session.stream("GET", "/api/spaces/a/b/logs/run"):
                pass


# --- reconciliation of non-idempotent calls ---------------------------------------------------------


class FakeRepos:
    """A tiny repo store answering create/delete, failing the first call after applying it."""

    def __init__(self, fail_after_apply: int = 1) -> None:
        self.repos: set[str] = set()
        self.creates = 0
        self.fail_after_apply = fail_after_apply

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        repo_id = f"{body['organization']}/{body['name']}"
        url = f"{ENDPOINT}/spaces/{repo_id}"
        if request.url.path == "/api/repos/create":
            if repo_id in self.repos:
                return httpx2.Response(409, json={"error": "You already created this space repo", "url": url})
            self.repos.add(repo_id)
            self.creates += 1
        else:
            if repo_id not in self.repos:
                return httpx2.Response(404, headers={"X-Error-Code": "RepoNotFound"}, json={"error": "nope"})
            self.repos.discard(repo_id)
        if self.fail_after_apply > 0:
            self.fail_after_apply -= 1
            raise httpx2.RemoteProtocolError("peer closed connection")
        if request.url.path == "/api/repos/create":
            return httpx2.Response(200, json={"url": url, "name": repo_id})
        return httpx2.Response(200, text="OK")


@pytest.mark.anyio
async def test_create_repo_reconciles_a_lost_answer_with_the_409() -> None:
    """Create applied but its answer lost: the resend's 409 is our own repo, returned as success, created
    once."""
    hub = FakeRepos(fail_after_apply=1)
    client, rec, _ = make_client(hub)
    async with client:
        url = await client.create_repo("alice/demo", repo_type="space", space_sdk="gradio")
    assert url.repo_id == "alice/demo"
    assert hub.creates == 1
    assert rec.paths() == ["POST /api/repos/create", "POST /api/repos/create"]


@pytest.mark.anyio
async def test_create_repo_409_without_ambiguity_is_a_conflict() -> None:
    """A repo that already existed raises ConflictError (or returns its URL with exist_ok)."""
    hub = FakeRepos(fail_after_apply=0)
    hub.repos.add("alice/demo")
    client, _, _ = make_client(hub)
    async with client:
        with pytest.raises(errors.ConflictError) as info:
            await client.create_repo("alice/demo", repo_type="space", space_sdk="gradio")
        url = await client.create_repo("alice/demo", repo_type="space", space_sdk="gradio", exist_ok=True)
    assert info.value.existing_url == f"{ENDPOINT}/spaces/alice/demo"
    assert url == f"{ENDPOINT}/spaces/alice/demo"


@pytest.mark.anyio
async def test_create_repo_retries_conflicting_operation_in_progress() -> None:
    """The Hub's "another conflicting operation is in progress" 409 is retried (hub-api.md §3.4)."""
    busy = httpx2.Response(
        409, json={"error": "Cannot create repo: another conflicting operation is in progress"}
    )
    done = httpx2.Response(200, json={"url": f"{ENDPOINT}/spaces/alice/demo"})
    client, rec, _ = make_client(sequence(busy, done))
    async with client:
        url = await client.create_repo("alice/demo", repo_type="space", space_sdk="docker")
    assert url.repo_type == "space"
    assert len(rec.requests) == 2


@pytest.mark.anyio
async def test_delete_repo_reconciles_a_lost_answer_with_the_404() -> None:
    """Delete applied but its answer lost: the resend's 404 means it is gone, which is success."""
    hub = FakeRepos(fail_after_apply=1)
    hub.repos.add("alice/demo")
    client, rec, _ = make_client(hub)
    async with client:
        await client.delete_repo("alice/demo", repo_type="space")
        assert rec.paths() == ["DELETE /api/repos/delete", "DELETE /api/repos/delete"]
        with pytest.raises(errors.RepositoryNotFoundError):
            await client.delete_repo("alice/demo", repo_type="space")
        await client.delete_repo("alice/demo", repo_type="space", missing_ok=True)
    assert "alice/demo" not in hub.repos


class FakeRestarts:
    """Answers restart and runtime; `mode` decides how the first restart fails."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.stage = "RUNNING_BUILDING"
        self.restarts = 0

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/restart"):
            if self.mode == "error-before-apply":
                self.mode = ""
                return httpx2.Response(503, json={"error": "try again"})
            self.restarts += 1
            self.stage = "BUILDING"
            if self.mode == "drop-after-apply":
                self.mode = ""
                raise httpx2.RemoteProtocolError("peer closed connection")
        return httpx2.Response(
            200, json={"stage": self.stage, "hardware": {"current": None, "requested": "t4-small"}}
        )


@pytest.mark.parametrize("mode", ["drop-after-apply", "error-before-apply"])
@pytest.mark.anyio
async def test_restart_is_applied_exactly_once_after_ambiguous_failures(mode: str) -> None:
    """Restart is not idempotent: after an ambiguous failure the runtime decides, so it is applied exactly
    once."""
    hub = FakeRestarts(mode)
    client, rec, _ = make_client(hub)
    async with client:
        runtime = await client.restart_space("alice/demo")
    assert runtime.stage is SpaceStage.BUILDING
    assert hub.restarts == 1
    assert "GET /api/spaces/alice/demo/runtime" in rec.paths()


# --- pagination and logs -------------------------------------------------------------------------------


def paged_spaces(total: int, page: int) -> Handler:
    def handler(request: httpx2.Request) -> httpx2.Response:
        offset = int(request.url.params.get("cursor", "0"))
        items = [{"id": f"alice/s{i}"} for i in range(offset, min(total, offset + page))]
        headers = {}
        if offset + page < total:
            headers["Link"] = f'<{ENDPOINT}/api/spaces?author=alice&cursor={offset + page}>; rel="next"'
        return httpx2.Response(200, json=items, headers=headers)

    return handler


@pytest.mark.anyio
async def test_list_spaces_follows_link_pages() -> None:
    """Every page is fetched through `Link: rel="next"` and items come in order."""
    client, rec, _ = make_client(paged_spaces(total=5, page=2))
    async with client:
        ids = [s.id async for s in client.list_spaces(author="alice")]
    assert ids == [f"alice/s{i}" for i in range(5)]
    assert len(rec.requests) == 3
    assert rec.requests[0].url.params.get("author") == "alice"


@pytest.mark.anyio
async def test_list_spaces_limit_stops_fetching_pages() -> None:
    """With `limit=3` and pages of 2, only two pages are fetched and three items yielded."""
    client, rec, _ = make_client(paged_spaces(total=10, page=2))
    async with client:
        ids = [s.id async for s in client.list_spaces(author="alice", limit=3)]
    assert ids == ["alice/s0", "alice/s1", "alice/s2"]
    assert len(rec.requests) == 2
    assert rec.requests[0].url.params.get("limit") == "3"


def sse(lines: list[str]) -> bytes:
    return "".join(
        f"data: {json.dumps({'data': line, 'timestamp': f'2025-01-01T00:00:{i:02d}Z'})}\n\n"
        for i, line in enumerate(lines)
    ).encode()


@pytest.mark.anyio
async def test_follow_logs_reconnect_and_skip_replayed_lines() -> None:
    """When a followed log stream drops, the client reconnects and skips the replayed lines it already
    yielded."""
    log = [f"line {i}\n" for i in range(6)]
    connections = {"n": 0}

    class Dropping(httpx2.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield b": keep-alive\n\n" + sse(log[:3])
            raise httpx2.ReadError("connection reset")

    def handler(request: httpx2.Request) -> httpx2.Response:
        connections["n"] += 1
        if connections["n"] == 1:
            return httpx2.Response(200, stream=Dropping())
        return httpx2.Response(200, content=b"data: \n\n" + sse(log))

    client, _, clock = make_client(handler)
    async with client:
        lines = [line async for line in client.fetch_space_logs("alice/demo", follow=True)]
    assert lines == log
    assert connections["n"] == 2
    assert clock.now() >= 1


@pytest.mark.anyio
async def test_build_logs_without_follow_raise_on_a_dropped_stream() -> None:
    """`build=True` reads `/logs/build`; without follow a dropped stream is not retried: the lines that
    arrived are yielded, then a TransportError is raised (as huggingface_hub does, hub-api.md §9)."""

    class Dropping(httpx2.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield sse(["a\n"])
            raise httpx2.ReadError("reset")

    client, rec, _ = make_client(lambda request: httpx2.Response(200, stream=Dropping()))
    lines: list[str] = []

    async def read() -> None:
        async for line in client.fetch_space_logs("alice/demo", build=True):
            lines.append(line)

    async with client:
        with pytest.raises(errors.TransportError):
            await read()
    assert lines == ["a\n"]
    assert rec.paths() == ["GET /api/spaces/alice/demo/logs/build"]


# --- argument checks ------------------------------------------------------------------------------------


BAD_CALLS: list[tuple[str, Callable[[SpacesClient], Awaitable[Any]], type[Exception], str]] = [
    ("empty id", lambda c: c.get_space_runtime(""), ValueError, "repo_id"),
    ("one segment", lambda c: c.get_space_runtime("demo"), ValueError, "repo_id"),
    ("three segments", lambda c: c.pause_space("a/b/c"), ValueError, "repo_id"),
    ("dotdot", lambda c: c.restart_space("a/.."), ValueError, "repo_id"),
    ("space in id", lambda c: c.space_info("a/b c"), ValueError, "repo_id"),
    ("leading dash", lambda c: c.get_space_variables("-a/b"), ValueError, "repo_id"),
    ("sleep below -1", lambda c: c.set_space_sleep_time("a/b", -2), ValueError, "sleep_time"),
    (
        "hardware sleep below -1",
        lambda c: c.request_space_hardware("a/b", "t4-small", sleep_time=-5),
        ValueError,
        "sleep_time",
    ),
    ("empty secret key", lambda c: c.add_space_secret("a/b", "", "v"), ValueError, "key"),
    ("non-str secret key", lambda c: c.add_space_secret("a/b", 3, "v"), TypeError, "key"),
    ("non-str secret value", lambda c: c.add_space_secret("a/b", "K", None), TypeError, "value"),
    ("empty variable key", lambda c: c.delete_space_variable("a/b", " "), ValueError, "key"),
    ("unknown repo type", lambda c: c.create_repo("a/b", repo_type="spaces"), ValueError, "repo_type"),
    ("space without sdk", lambda c: c.create_repo("a/b", repo_type="space"), ValueError, "space_sdk"),
    (
        "bad sdk",
        lambda c: c.create_repo("a/b", repo_type="space", space_sdk="flask"),
        ValueError,
        "space_sdk",
    ),
    (
        "private+visibility",
        lambda c: c.create_repo("a/b", private=True, visibility="public"),
        ValueError,
        "private",
    ),
    ("delete unknown type", lambda c: c.delete_repo("a/b", repo_type="repo"), ValueError, "repo_type"),
    ("empty hardware", lambda c: c.request_space_hardware("a/b", ""), ValueError, "hardware"),
    ("bad storage", lambda c: c.request_space_storage("a/b", "huge"), ValueError, "storage"),
    ("bad volumes", lambda c: c.set_space_volumes("a/b", "nope"), TypeError, "volumes"),
    ("settings nothing", lambda c: c.update_repo_settings("a/b"), ValueError, "at least one"),
    (
        "expand+files",
        lambda c: c.space_info("a/b", expand=["sdk"], files_metadata=True),
        ValueError,
        "expand",
    ),
    ("duplicate bad target", lambda c: c.duplicate_repo("a/b", "x/y/z"), ValueError, "to_id"),
    ("bad from_id", lambda c: c.duplicate_space("ab"), ValueError, "from_id"),
]


@pytest.mark.parametrize(("label", "call", "exc", "match"), BAD_CALLS, ids=[b[0] for b in BAD_CALLS])
@pytest.mark.anyio
async def test_bad_input_is_rejected_before_any_request(
    label: str, call: Callable[[SpacesClient], Awaitable[Any]], exc: type[Exception], match: str
) -> None:
    """Each malformed argument raises ValueError/TypeError naming it, and no request is sent."""
    client, rec, _ = make_client(sequence(httpx2.Response(200, json=RUNNING)))
    async with client:
        with pytest.raises(exc, match=match):
            await call(client)
    assert rec.requests == []


@pytest.mark.anyio
async def test_bad_list_spaces_arguments_fail_before_any_request() -> None:
    """list_spaces validates on first iteration, before the first page is requested."""
    client, rec, _ = make_client(paged_spaces(1, 1))
    async with client:
        with pytest.raises(ValueError, match="expand and full"):
            _ = [s async for s in client.list_spaces(expand=["runtime"], full=True)]
    assert rec.requests == []


# --- enums, bodies, misc ------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_huggingface_hub_enum_members_are_accepted() -> None:
    """huggingface_hub's SpaceHardware/SpaceStorage members are sent as their plain values."""
    from huggingface_hub import SpaceHardware as HfHardware
    from huggingface_hub import SpaceStorage as HfStorage

    client, rec, _ = make_client(sequence(httpx2.Response(200, json={**RUNNING, "storage": "large"})))
    async with client:
        await client.request_space_hardware("a/b", HfHardware.T4_MEDIUM, sleep_time=600)
        await client.request_space_storage("a/b", HfStorage.LARGE)
    assert rec.paths() == ["POST /api/spaces/a/b/hardware", "POST /api/spaces/a/b/storage"]
    assert json.loads(rec.requests[0].content) == {"flavor": "t4-medium", "sleepTimeSeconds": 600}
    assert json.loads(rec.requests[1].content) == {"tier": "large"}


@pytest.mark.anyio
async def test_space_info_encodes_revision_and_expand() -> None:
    """The revision is percent-encoded in the path and expand values repeat the key."""
    client, rec, _ = make_client(sequence(httpx2.Response(200, json={"id": "a/b", "sdk": "gradio"})))
    async with client:
        info = await client.space_info("a/b", revision="refs/pr/1", expand=["sdk", "runtime"])
    assert info.sdk == "gradio"
    assert rec.requests[0].url.raw_path == b"/api/spaces/a/b/revision/refs%2Fpr%2F1?expand=sdk&expand=runtime"


@pytest.mark.anyio
async def test_duplicate_repo_takes_namespace_from_whoami_once() -> None:
    """A bare `to_id` gets the caller's namespace from whoami (cached for the next duplicate)."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/api/whoami-v2":
            return httpx2.Response(200, json={"name": "bob", "orgs": []})
        body = json.loads(request.content)
        return httpx2.Response(
            200, json={"url": f"{ENDPOINT}/spaces/{body['repository']}", "filesCopyPending": True}
        )

    client, rec, _ = make_client(handler)
    async with client:
        first = await client.duplicate_repo(
            "alice/demo", "copy", repo_type="space", space_hardware="t4-small"
        )
        second = await client.duplicate_space("alice/demo", storage="small")
    assert (first.repo_id, first.files_copy_pending) == ("bob/copy", True)
    assert second.repo_id == "bob/demo"
    assert rec.paths().count("GET /api/whoami-v2") == 1
    assert json.loads(rec.requests[1].content) == {"repository": "bob/copy", "hardware": "t4-small"}
    assert json.loads(rec.requests[2].content) == {"repository": "bob/demo", "storageTier": "small"}


@pytest.mark.anyio
async def test_rate_limit_state_follows_headers() -> None:
    """`client.rate_limit` reflects the last RateLimit headers, in the client clock's time."""
    headers = {"RateLimit": '"api";r=40;t=100', "RateLimit-Policy": '"fixed window";"api";q=50;w=300'}
    client, _, clock = make_client(sequence(httpx2.Response(200, json=RUNNING, headers=headers)))
    async with client:
        await client.get_space_runtime("a/b")
    state = client.rate_limit
    assert (state.remaining, state.limit) == (40, 50)
    assert state.reset_at == pytest.approx(clock.now() + 100)
    assert state.min_interval(clock.now()) == pytest.approx(100 / 40)


@pytest.mark.anyio
async def test_max_concurrency_bounds_requests_in_flight() -> None:
    """With max_concurrency=5, 60 concurrent calls never have more than 5 requests in flight."""
    state = {"now": 0, "max": 0}

    async def handler(request: httpx2.Request) -> httpx2.Response:
        state["now"] += 1
        state["max"] = max(state["max"], state["now"])
        for _ in range(5):
            await anyio.lowlevel.checkpoint()
        state["now"] -= 1
        return httpx2.Response(200, json=RUNNING)

    client, rec, _ = make_client(handler, max_concurrency=5)
    async with client, anyio.create_task_group() as tg:
        for i in range(60):
            tg.start_soon(client.get_space_runtime, f"a/s{i}")
    assert len(rec.requests) == 60
    assert state["max"] == 5


class FakeStorage:
    """Answers storage/volumes deletion (400 when there is nothing to delete) and runtime reads."""

    def __init__(self) -> None:
        self.storage: str | None = "small"
        self.volumes: list[dict[str, Any]] | None = [{"type": "bucket", "source": "a/b", "mountPath": "/d"}]
        self.dropped = False

    def runtime(self) -> dict[str, Any]:
        return {"stage": "RUNNING", "hardware": {}, "storage": self.storage, "volumes": self.volumes}

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if request.method == "DELETE" and path.endswith(("/storage", "/volumes")):
            attr = "storage" if path.endswith("/storage") else "volumes"
            if getattr(self, attr) is None:
                return httpx2.Response(400, json={"error": f"No {attr} to delete"})
            setattr(self, attr, None)
            if not self.dropped:
                self.dropped = True
                raise httpx2.RemoteProtocolError("peer closed connection")
        return httpx2.Response(200, json=self.runtime())


@pytest.mark.anyio
async def test_delete_storage_reconciles_a_lost_answer_with_the_400() -> None:
    """Storage deleted but the answer lost: the resend's 400 plus a runtime without storage is success."""
    hub = FakeStorage()
    client, rec, _ = make_client(hub)
    async with client:
        runtime = await client.delete_space_storage("a/b")
    assert runtime.storage is None
    assert rec.paths() == [
        "DELETE /api/spaces/a/b/storage",
        "DELETE /api/spaces/a/b/storage",
        "GET /api/spaces/a/b/runtime",
    ]


@pytest.mark.anyio
async def test_delete_volumes_reconciles_and_a_plain_400_still_raises() -> None:
    """Volumes deleted but the answer lost is success; deleting again (no ambiguity) raises
    BadRequestError."""
    hub = FakeStorage()
    client, _, _ = make_client(hub)
    async with client:
        await client.delete_space_volumes("a/b")
        with pytest.raises(errors.BadRequestError, match="No volumes"):
            await client.delete_space_volumes("a/b")
    assert hub.volumes is None


@pytest.mark.anyio
async def test_logs_without_follow_stop_at_lines_newer_than_the_response_date() -> None:
    """Without follow, lines stamped after the response `Date` + 1 s are not part of the replay."""
    body = sse(["old\n"]) + b'data: {"data": "new\\n", "timestamp": "2025-01-01T00:10:00Z"}\n\n'
    headers = {"Date": "Wed, 01 Jan 2025 00:00:30 GMT"}
    client, _, _ = make_client(lambda request: httpx2.Response(200, content=body, headers=headers))
    async with client:
        lines = [line async for line in client.fetch_space_logs("a/b")]
    assert lines == ["old\n"]


@pytest.mark.anyio
async def test_update_repo_settings_and_whoami_cache() -> None:
    """Settings go to `PUT /api/{type}s/{id}/settings`; whoami(cache=True) reuses the first answer."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/api/whoami-v2":
            return httpx2.Response(200, json={"name": "alice", "orgs": [{"name": "acme"}]})
        return httpx2.Response(200, json={})

    client, rec, _ = make_client(handler)
    async with client:
        await client.update_repo_settings("a/b", private=True, gated="auto", repo_type="space")
        first = await client.whoami()
        second = await client.whoami(cache=True)
    assert first == second
    assert first["name"] == "alice"
    assert rec.paths() == ["PUT /api/spaces/a/b/settings", "GET /api/whoami-v2"]
    assert json.loads(rec.requests[0].content) == {"gated": "auto", "visibility": "private"}


@pytest.mark.anyio
async def test_create_repo_with_a_template_and_exist_ok_on_403() -> None:
    """A template name resolves to its repo id and SDK; with exist_ok a 403 on an existing repo returns its
    URL."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/api/spaces/templates":
            templates = [
                {
                    "name": "JupyterLab",
                    "repoId": "SpacesExamples/jupyterlab",
                    "sdk": "docker",
                    "preferredPrivate": True,
                }
            ]
            return httpx2.Response(200, json={"templates": templates})
        if request.url.path == "/api/repos/create":
            body = json.loads(request.content)
            if body["name"] == "locked":
                return httpx2.Response(403, json={"error": "no write access to namespace"})
            return httpx2.Response(200, json={"url": f"{ENDPOINT}/spaces/alice/{body['name']}"})
        return httpx2.Response(200, json={"id": "org/locked"})

    client, rec, _ = make_client(handler)
    async with client:
        await client.create_repo("alice/lab", repo_type="space", space_template="jupyterlab")
        url = await client.create_repo("org/locked", repo_type="space", space_sdk="gradio", exist_ok=True)
    create_body = json.loads(rec.requests[1].content)
    assert create_body == {
        "name": "lab",
        "organization": "alice",
        "visibility": "private",
        "type": "space",
        "sdk": "docker",
        "template": "SpacesExamples/jupyterlab",
    }
    assert url == f"{ENDPOINT}/spaces/org/locked"
    assert rec.paths()[-1] == "GET /api/spaces/org/locked"


@pytest.mark.anyio
async def test_stream_holds_a_concurrency_slot_until_closed() -> None:
    """An open `_stream` counts against max_concurrency and gives the slot back on exit."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/logs/run"):
            return httpx2.Response(200, content=b"x")
        return httpx2.Response(200, json=RUNNING)

    client, _, _ = make_client(handler, max_concurrency=1)
    async with client:
        async with client._session.stream("GET", "/api/spaces/a/b/logs/run") as response:
            assert response.status_code == 200
            assert client._session.transport.limiter.borrowed_tokens == 1
        assert client._session.transport.limiter.borrowed_tokens == 0
        await client.get_space_runtime("a/b")


@pytest.mark.anyio
async def test_hub_warnings_are_logged_once_per_topic(caplog: pytest.LogCaptureFixture) -> None:
    """`X-HF-Warning` headers are logged, once per topic, without failing the call (hub-api.md §3.1)."""
    headers = [
        ("X-HF-Warning", "deprecation; this endpoint is going away"),
        ("X-HF-Warning", "quota; 90% used"),
    ]
    client, _, _ = make_client(sequence(httpx2.Response(200, json=RUNNING, headers=headers)))
    with caplog.at_level("WARNING", logger="aiospaces"):
        async with client:
            await client.get_space_runtime("a/b")
            await client.get_space_runtime("a/b")
    messages = [r.getMessage() for r in caplog.records if r.name == "aiospaces"]
    assert messages == [
        "Hub warning (deprecation): this endpoint is going away",
        "Hub warning (quota): 90% used",
    ]


@pytest.mark.anyio
@pytest.mark.parametrize("method", ["create_repo", "add_space_secret", "upload_file", "wait_until_running"])
async def test_a_wrong_argument_names_the_client_method(method: str) -> None:
    """A misspelt keyword argument's `TypeError` names `SpacesClient.<method>()`, the method the user called,
    whichever private class defines it."""
    client, rec, _ = make_client(sequence())
    async with client:
        expected = rf"^SpacesClient\.{method}\(\) got an unexpected keyword argument"
        with pytest.raises(TypeError, match=expected):
            await getattr(client, method)("a/b", no_such_argument=1)
    assert rec.requests == []
