"""Consumers that stop early give everything back: breaking out of (or raising in, or cancelling) any async
iterator the SDK returns, or a download, leaves no concurrency slot or connection held, and the same client
keeps working; stream bodies fail with SDK errors only. In process, on the simulated Hub, asyncio and trio."""

from __future__ import annotations

import gc
import inspect
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
import httpx2
import pytest

import aiospaces
import aiospaces.tasks
import aiospaces.testing
from aiospaces import SpacesClient, errors
from aiospaces.testing import SimulatedHubClient

pytestmark = pytest.mark.anyio

FOLLOW_UP_CALLS = 100


def open_iterator(client: SpacesClient, name: str) -> AsyncIterator[Any]:
    """The public async iterator `name`, opened on the Spaces of `running_env`."""
    if name == "fetch_space_logs":
        return client.fetch_space_logs("alice/one", build=True)
    if name == "list_spaces":
        return client.list_spaces(author="alice")
    if name == "watch":
        return client.watch("alice/one")
    if name == "watch_many":
        return client.watch_many(["alice/one", "alice/two"])
    if name == "search_spaces":
        return client.search_spaces("one two")
    if name == "list_repo_tree":
        return client.list_repo_tree("alice/one", repo_type="space")
    raise AssertionError(f"no scenario for {name}")


def public_async_iterators() -> set[str]:
    """Every public method returning an async iterator, on the public classes of `aiospaces`,
    `aiospaces.tasks` and `aiospaces.testing`, as `Class.method`."""
    found = set()
    for module in (aiospaces, aiospaces.tasks, aiospaces.testing):
        for class_name in getattr(module, "__all__", []):
            klass = getattr(module, class_name)
            if not inspect.isclass(klass):
                continue
            for name, member in inspect.getmembers(klass, inspect.isfunction):
                if name.startswith("_"):
                    continue
                returned = str(inspect.signature(member).return_annotation)
                home = inspect.getmodule(member)
                resolved = getattr(home, returned, None) if returned.isidentifier() else None
                if (
                    inspect.isasyncgenfunction(member)
                    or "AsyncIterator" in returned
                    or "AsyncGenerator" in returned
                    or (resolved is not None and hasattr(resolved, "__anext__"))
                ):
                    found.add(f"{klass.__name__}.{name}")
    return found


ITERATORS = ["fetch_space_logs", "list_repo_tree", "list_spaces", "search_spaces", "watch", "watch_many"]
# `fetch_space_logs` once more, following: the stream stays open until the consumer lets go.
SCENARIOS = [*ITERATORS, "fetch_space_logs(follow=True)"]


def test_the_scenarios_cover_every_public_async_iterator() -> None:
    """Every public async iterator of the client is exercised below (a new one must be added here)."""
    assert public_async_iterators() == {f"SpacesClient.{name}" for name in ITERATORS}


def opened(client: SpacesClient, scenario: str) -> AsyncIterator[Any]:
    if scenario == "fetch_space_logs(follow=True)":
        return client.fetch_space_logs("alice/one", follow=True)
    return open_iterator(client, scenario)


async def follow_up_calls(env: SimulatedHubClient) -> None:
    """FOLLOW_UP_CALLS calls on the client, one after another: each needs the client's only slot."""
    for _ in range(FOLLOW_UP_CALLS):
        runtime = await env.client.get_space_runtime("alice/one")
        assert runtime.stage == "RUNNING"
    assert env.client._session.transport.limiter.borrowed_tokens == 0


def running_env() -> SimulatedHubClient:
    """One slot only: a slot kept by an abandoned stream would block every later call."""
    env = SimulatedHubClient(max_concurrency=1)
    env.hub.create_space("alice/one", stage=None)
    env.hub.create_space("alice/two")
    return env


async def built(env: SimulatedHubClient) -> None:
    await env.client.wait_until_running("alice/one", timeout=600)


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_break_then_many_calls(scenario: str) -> None:
    """Breaking out of the iterator (no aclose: the garbage collector finalizes it) gives its slot back."""
    async with running_env() as env:
        await built(env)
        async for _item in opened(env.client, scenario):
            break
        gc.collect()
        await follow_up_calls(env)


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_exception_in_the_consumer_then_many_calls(scenario: str) -> None:
    """An exception raised by the consuming code inside the loop gives the iterator's slot back."""
    async with running_env() as env:
        await built(env)

        async def consume() -> None:
            async for _item in opened(env.client, scenario):
                raise LookupError("consumer failed")

        with pytest.raises(LookupError):
            await consume()
        gc.collect()
        await follow_up_calls(env)


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_cancelled_consumer_then_many_calls(scenario: str) -> None:
    """A consumer cancelled while holding the iterator gives its slot back."""
    async with running_env() as env:
        await built(env)
        with anyio.CancelScope() as scope:
            async for _item in opened(env.client, scenario):
                scope.cancel()
                await anyio.lowlevel.checkpoint()  # the cancellation lands here, with the iterator open
        assert scope.cancelled_caught
        gc.collect()
        await follow_up_calls(env)


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_closed_iterator_gives_its_slot_back_at_once(scenario: str) -> None:
    """`aclose()` on a stopped iterator gives the slot back before returning."""
    async with running_env() as env:
        await built(env)
        iterator = opened(env.client, scenario)
        await anext(iterator)
        await iterator.aclose()  # type: ignore[attr-defined]
        assert env.client._session.transport.limiter.borrowed_tokens == 0
        await follow_up_calls(env)


async def test_calls_made_while_consuming_a_log_stream_succeed() -> None:
    """A call made from inside the loop over a log stream works: the stream's slot is not the task's."""
    async with SimulatedHubClient(max_concurrency=2) as env:
        env.hub.create_space("alice/one", stage=None)
        await env.client.wait_until_running("alice/one", timeout=600)
        lines = 0
        async for _line in env.client.fetch_space_logs("alice/one", build=True):
            lines += 1
            runtime = await env.client.get_space_runtime("alice/one")
            assert runtime.stage == "RUNNING"
        assert lines > 1
        assert env.client._session.transport.limiter.borrowed_tokens == 0


# --- downloads --------------------------------------------------------------------------------------------


class _StallingBody(httpx2.AsyncByteStream):
    """The first chunk of the real body, then nothing until the reader gives up."""

    def __init__(self, inner: httpx2.Response, started: anyio.Event, closed: list[bool]) -> None:
        self._inner = inner
        self._started = started
        self._closed = closed

    async def __aiter__(self) -> AsyncIterator[bytes]:
        stream = self._inner.stream
        assert isinstance(stream, httpx2.AsyncByteStream)
        async for chunk in stream:
            yield chunk[:1024]
            break
        self._started.set()
        await anyio.sleep_forever()

    async def aclose(self) -> None:
        self._closed.append(True)
        await self._inner.aclose()


class _StallDownloads(httpx2.AsyncBaseTransport):
    """Passes everything to the hub, except that file bodies (`/resolve/` GETs) stall after one chunk while
    `stall` is set."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self._inner = inner
        self.stall = True
        self.started = anyio.Event()
        self.closed: list[bool] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self._inner.handle_async_request(request)
        if self.stall and request.method == "GET" and "/resolve/" in request.url.path:
            return httpx2.Response(
                response.status_code,
                headers=response.headers,
                stream=_StallingBody(response, self.started, self.closed),
            )
        return response


def _partial_files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.name.endswith(".incomplete")]


async def test_cancelled_download_then_many_calls(tmp_path: Path) -> None:
    """A download cancelled while its body arrives closes the response, gives its slot back and leaves no
    partial file; the client then makes FOLLOW_UP_CALLS calls, and the same download succeeds."""

    async def cancel_once_streaming(scope: anyio.CancelScope) -> None:
        await stalling_ready.wait()
        scope.cancel()

    stalling_ready = anyio.Event()
    env = SimulatedHubClient(max_concurrency=1)
    env.hub.create_space("alice/one")
    env.hub.create_repo("alice/data", repo_type="dataset", files={"big.bin": b"x" * 300_000})
    stalling = _StallDownloads(env.hub.transport())
    stalling.started = stalling_ready
    async with SpacesClient(
        token=env.token, endpoint="https://hub.test", transport=stalling, clock=env.clock, max_concurrency=1
    ) as client:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(cancel_once_streaming, scope)
                await client.hf_hub_download("alice/data", "big.bin", repo_type="dataset", cache_dir=tmp_path)
        assert scope.cancelled_caught
        assert stalling.closed == [True]
        assert client._session.transport.limiter.borrowed_tokens == 0
        assert not await anyio.to_thread.run_sync(_partial_files, tmp_path)
        env.client = client
        await follow_up_calls(env)
        stalling.stall = False
        path = await client.hf_hub_download("alice/data", "big.bin", repo_type="dataset", cache_dir=tmp_path)
        assert await anyio.Path(path).read_bytes() == b"x" * 300_000


# --- stream bodies fail with SDK errors only --------------------------------------------------------------


class _CutAfter(httpx2.AsyncByteStream):
    def __init__(self, first: bytes, error: Exception) -> None:
        self._first = first
        self._error = error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._first
        raise self._error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (httpx2.ReadError("reset"), errors.TransportError),
        (httpx2.ReadTimeout("slow"), errors.RequestTimeoutError),
        (httpx2.RemoteProtocolError("peer closed"), errors.TransportError),
    ],
)
async def test_a_stream_body_failure_is_an_sdk_error(error: Exception, expected: type[Exception]) -> None:
    """A failure while a streamed body is read surfaces as an SDK error (sent=True), never an httpx one."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, stream=_CutAfter(b"data: x\n\n", error))

    async with SpacesClient(
        token="hf_x", endpoint="https://hub.test", transport=httpx2.MockTransport(handler)
    ) as client:

        async def read_all() -> None:
            async with client._session.stream("GET", "/api/spaces/a/b/logs/run") as response:
                async for _chunk in response.aiter_bytes():
                    pass

        with pytest.raises(expected) as info:
            await read_all()
        assert not isinstance(info.value, httpx2.HTTPError)
        assert info.value.sent is True  # type: ignore[attr-defined]
        assert client._session.transport.limiter.borrowed_tokens == 0


async def test_a_request_httpx_cannot_build_is_a_clear_value_error() -> None:
    """A URL or header httpx refuses to build raises the SDK's own ValueError naming the request (never an
    httpx exception, never the header's value), and nothing is sent."""
    sent: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return httpx2.Response(200, json={})

    async with SpacesClient(
        token="hf_x", endpoint="https://hub.test", transport=httpx2.MockTransport(handler)
    ) as client:
        with pytest.raises(ValueError, match=r"cannot send GET") as bad_url:
            await client._session.request("GET", "/api/spaces/a/b\n/runtime", idempotent=True)
        with pytest.raises(ValueError, match=r"GET https://hub.test/api/x: a header") as bad_header:
            await client._session.request("GET", "/api/x", headers={"x-note": "sécret"}, idempotent=True)
    assert not isinstance(bad_url.value, httpx2.InvalidURL)
    assert not isinstance(bad_header.value, UnicodeError)
    assert "sécret" not in str(bad_header.value)
    assert sent == []


async def test_a_failed_lfs_upload_raises_the_sdk_error_itself() -> None:
    """An LFS upload the storage refuses raises the SDK's own error (here `BadRequestError`), not the
    ExceptionGroup of the task group that runs the uploads, and gives every slot back."""
    async with SimulatedHubClient() as env:
        env.hub.create_repo("alice/data", repo_type="dataset")
        env.hub.add_fault("error", route="PUT /__hubsim/lfs/upload (pre-signed)", status=400)
        with pytest.raises(errors.BadRequestError):
            await env.client.upload_file(
                path_or_fileobj=b"x" * 20_000_000,
                path_in_repo="big.bin",
                repo_id="alice/data",
                repo_type="dataset",
            )
        assert env.client._session.transport.limiter.borrowed_tokens == 0


class _FailsToClose(httpx2.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"data: x\n\n"

    async def aclose(self) -> None:
        raise httpx2.ReadError("connection reset while closing")


async def test_a_stream_that_fails_to_close_keeps_the_consumers_error() -> None:
    """Closing a stream whose connection fails to close raises nothing of its own: the consumer's exception
    comes out unchanged and the slot is given back."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, stream=_FailsToClose())

    async with SpacesClient(
        token="hf_x", endpoint="https://hub.test", transport=httpx2.MockTransport(handler), max_concurrency=1
    ) as client:

        async def consume() -> None:
            async with client._session.stream("GET", "/api/spaces/a/b/logs/run"):
                raise LookupError("consumer failed")

        with pytest.raises(LookupError):
            await consume()
        assert client._session.transport.limiter.borrowed_tokens == 0


async def test_a_closed_client_raises_an_sdk_error() -> None:
    """A call on a closed client raises `ClientClosedError` (a `SpacesError`, and a `RuntimeError` as
    before), for requests and streams alike, and sends nothing."""
    sent: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return httpx2.Response(200, json={})

    client = SpacesClient(token="hf_x", endpoint="https://hub.test", transport=httpx2.MockTransport(handler))
    await client.aclose()
    with pytest.raises(errors.ClientClosedError) as info:
        await client.whoami()
    assert isinstance(info.value, errors.SpacesError)
    assert isinstance(info.value, RuntimeError)
    with pytest.raises(errors.ClientClosedError):
        await anext(client.fetch_space_logs("alice/app"))
    assert sent == []
