"""The one module that does HTTP: one `httpx2.AsyncClient` (connection pool, in shards: `_pool`) per client,
auth and user-agent headers, the concurrency bound, rate-limit pacing, retries, and mapping failures to
`errors.py`. Every exchange goes through here: buffered requests (`request`), and streamed bodies (`stream`:
server-sent log events, file downloads), whose reads are mapped the same way.

Retry rules (decided by `_retry.decide`, hub-api.md §4.3):

* connect failures (the request provably never left): retried for every method; a refused connection
  before this client ever got an answer from its endpoint (nothing listens there) only once, quickly;
* timeouts, dropped connections, 408 and 5xx: retried only for idempotent requests;
* 429: retried for every method, after the rate-limit window resets (the Hub rejected it before acting);
* everything else is final and raised as the matching `HubHTTPError` subclass.

Each retry is logged on the `aiospaces` logger with its reason (WARNING; 429 waits at INFO).
"""

from __future__ import annotations

import logging
import os
import platform
import random
import urllib.request
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from typing import Any

import anyio
import httpx2

from . import _wire, errors
from ._clock import Clock
from ._config import VERSION, Config
from ._headers import parse_rate_limit, rate_limited_wait, retry_after_seconds
from ._pool import Slot, connection_pool, proxy_transport
from ._ratelimit import RateLimiter, RateLimitState
from ._retry import Failure, Outcome, Retrying, RetryPolicy, coerce_retry, is_retryable_status

__all__ = [
    "HttpTransport",
    "RetryPolicy",
    "StreamResponse",
    "coerce_retry",
]

logger = logging.getLogger("aiospaces")


def _refused(exc: BaseException) -> bool:
    """Whether a connect failure was a refused connection (nothing listening), anywhere in its chain."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return True
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                pending.append(linked)
    return False


def _detail(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _map_transport_error(exc: httpx2.RequestError, method: str, url: str) -> errors.TransportError:
    """httpx failure → our transport branch; `sent=False` only when the request provably never left."""
    detail = _detail(exc)
    if isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout | httpx2.PoolTimeout):
        return errors.ConnectError(
            f"Could not connect for {method} {url} ({detail})", method=method, url=url, sent=False
        )
    if isinstance(exc, httpx2.TimeoutException):
        return errors.RequestTimeoutError(
            f"Timed out waiting for the Hub on {method} {url} ({detail})", method=method, url=url, sent=None
        )
    what = "Connection failed" if isinstance(exc, httpx2.TransportError) else "Request failed"
    return errors.TransportError(f"{what} on {method} {url} ({detail})", method=method, url=url)


def _map_body_error(exc: Exception, method: str, url: str) -> errors.TransportError:
    """A failure while reading a streamed body (after the status line): the request was sent."""
    detail = _detail(exc)
    if isinstance(exc, httpx2.TimeoutException):
        return errors.RequestTimeoutError(
            f"Timed out reading the answer to {method} {url} ({detail})", method=method, url=url, sent=True
        )
    if isinstance(exc, httpx2.DecodingError):
        return errors.BodyDecodingError(
            f"Undecodable answer to {method} {url} ({detail})", method=method, url=url, sent=True
        )
    return errors.TransportError(
        f"Connection failed while reading the answer to {method} {url} ({detail})",
        method=method,
        url=url,
        sent=True,
    )


def _retryable_transport(exc: httpx2.RequestError) -> bool:
    return isinstance(exc, httpx2.NetworkError | httpx2.TimeoutException | httpx2.RemoteProtocolError)


class _Failed(Exception):
    """One failed attempt inside the transport: the SDK error to raise, and how `decide` sees it."""

    def __init__(self, error: errors.SpacesError, failure: Failure) -> None:
        super().__init__(error)
        self.error = error
        self.failure = failure


def _failure_of(exc: Exception) -> Failure | None:
    return exc.failure if isinstance(exc, _Failed) else None


_FINAL = Failure(Outcome.FINAL, "final")

# As httpx2's client allows.
_MAX_REDIRECTS = 20


class _MappedBody:
    """An async iterator over a streamed body whose read failures are SDK errors, never httpx ones."""

    __slots__ = ("_inner", "_method", "_url")

    def __init__(self, inner: AsyncIterator[Any], method: str, url: str) -> None:
        self._inner = inner
        self._method = method
        self._url = url

    def __aiter__(self) -> _MappedBody:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self._inner.__anext__()
        except (httpx2.HTTPError, httpx2.StreamError) as exc:
            raise _map_body_error(exc, self._method, self._url) from None


class StreamResponse:
    """An open response from `HttpTransport.stream`: its status, headers and body, read through the
    transport's error mapping. It holds one of the client's concurrency slots until the stream's block
    exits (the slot is held on this object's behalf, not a task's, so any task may end it)."""

    __slots__ = ("_method", "_probe", "_response", "_url")

    def __init__(self, method: str, url: str) -> None:
        self._method = method
        self._url = url
        self._response: httpx2.Response | None = None
        self._probe = False

    @property
    def response(self) -> httpx2.Response:
        assert self._response is not None
        return self._response

    @property
    def status_code(self) -> int:
        """The HTTP status (always < 400: error statuses raise when the stream opens)."""
        return self.response.status_code

    @property
    def headers(self) -> httpx2.Headers:
        """The response headers."""
        return self.response.headers

    def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body's bytes (decoded from any content encoding), as they arrive."""
        return _MappedBody(self.response.aiter_bytes(), self._method, self._url)

    def aiter_lines(self) -> AsyncIterator[str]:
        """The body's text lines, as they arrive."""
        return _MappedBody(self.response.aiter_lines(), self._method, self._url)


class HttpTransport:
    """Sends requests for one client. Create with the resolved config; close with `aclose()`."""

    def __init__(
        self,
        *,
        config: Config,
        clock: Clock,
        timeout: float | httpx2.Timeout | None,
        max_concurrency: int,
        retry: RetryPolicy,
        transport: httpx2.AsyncBaseTransport | None,
        headers: Mapping[str, str] | None,
        user_agent: str | None,
    ) -> None:
        self._config = config
        # The token goes to this origin only (see `_headers`).
        self._endpoint_origin = _origin(httpx2.URL(config.endpoint))
        self._clock = clock
        self._retry = retry
        self.rng = random.Random()
        self.limiter = anyio.CapacityLimiter(max_concurrency)
        self.rate_limiter = RateLimiter()
        ua = f"aiospaces/{VERSION}; python/{platform.python_version()}"
        if user_agent:
            ua = f"{ua}; {user_agent}"
        # What httpx2's client would send by default; requests are built here and handed to the transport
        # directly (see `_exchange`), so the defaults are ours to set.
        self._base_headers: dict[str, str] = {
            "accept": "*/*",
            "accept-encoding": "gzip, deflate",
            "connection": "keep-alive",
            "user-agent": ua,
        }
        if headers:
            self._base_headers.update({k.lower(): v for k, v in headers.items()})
        default_timeout = timeout if isinstance(timeout, httpx2.Timeout) else httpx2.Timeout(timeout)
        self._timeout = default_timeout.as_dict()
        # Without a transport given, httpx2's pool split in shards (`_pool`), sized to the bound, and the
        # proxies the environment names (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY), as huggingface_hub's
        # httpx2 client honours them. A transport given is used as it is, for every URL (as httpx2 does).
        self._pool = transport if transport is not None else connection_pool(max_concurrency)
        self._proxies = urllib.request.getproxies_environment() if transport is None else {}
        self._proxied: dict[str, httpx2.AsyncBaseTransport] = {}
        self._max_concurrency = max_concurrency
        self.closed = False
        # Whether the endpoint ever answered: until it has, a refused connection means nothing listens.
        self._answered = False
        self._warned_topics: set[str] = set()

    async def aclose(self) -> None:
        """Close the connection pool (and the proxies' pools)."""
        self.closed = True
        try:
            await self._pool.aclose()
        finally:
            for proxied in self._proxied.values():
                await proxied.aclose()

    def _transport_for(self, url: httpx2.URL) -> httpx2.AsyncBaseTransport:
        """The pool, or the pool of the proxy the environment names for `url` (opened on first use)."""
        if not self._proxies:
            return self._pool
        proxy = self._proxies.get(url.scheme) or self._proxies.get("all")
        if proxy is None or urllib.request.proxy_bypass(url.host):
            return self._pool
        proxied = self._proxied.get(proxy)
        if proxied is None:
            proxied = self._proxied[proxy] = proxy_transport(proxy, self._max_concurrency)
        return proxied

    def url_for(self, url: str) -> str:
        """A path starting with `/` is joined to the endpoint; absolute URLs are used as they are."""
        if url.startswith("/"):
            return f"{self._config.endpoint}{url}"
        if url.startswith(("http://", "https://")):
            return url
        raise ValueError(f"url must be a path starting with '/' or an absolute http(s) URL, got {url!r}")

    def _headers(self, extra: Mapping[str, str] | None, *, authorized: bool) -> dict[str, str]:
        headers = dict(self._base_headers)
        # The token goes to the Hub only: a pre-signed storage URL on another host (LFS uploads, hub-api.md
        # §11.4) authorises itself and must never see it.
        if self._config.token and authorized:
            headers["authorization"] = f"Bearer {self._config.token}"
        # A trace id per request, as huggingface_hub sends; the Hub echoes it in X-Request-Id (hub-api.md
        # §1.3).
        headers["x-amzn-trace-id"] = _trace_id()
        if extra:
            headers.update({k.lower(): v for k, v in extra.items()})
        return headers

    def _log_hub_warnings(self, headers: httpx2.Headers) -> None:
        """`X-HF-Warning: <topic>; <message>` (may repeat) is logged once per topic (hub-api.md §3.1)."""
        for value in headers.get_list("x-hf-warning"):
            # Masked as a whole: a warning without `;` is all topic, and the Hub may quote the request.
            topic, _, message = value.replace(self._config.token or "\0", "***").partition(";")
            topic = topic.strip()
            if topic in self._warned_topics:
                continue
            self._warned_topics.add(topic)
            logger.warning("Hub warning (%s): %s", topic, message.strip() or topic)

    def _route(self, method: str, url: str) -> tuple[httpx2.URL, str, bool, RateLimitState]:
        """(full URL, parsed once; URL for logs and errors; whether it is the endpoint's origin; its
        rate-limit state)."""
        if self._config.offline:
            raise errors.OfflineModeError(
                f"HF_HUB_OFFLINE is set: refusing to send {method} {_wire.safe_url(url)}"
            )
        if self.closed:
            raise errors.ClientClosedError("this client is closed")
        full_url = self.url_for(url)
        try:
            target = httpx2.URL(full_url)
        except httpx2.InvalidURL as exc:
            raise ValueError(f"cannot send {method} to {_wire.safe_url(url)!r}: {exc}") from None
        same_origin = _origin(target) == self._endpoint_origin
        # Logs and errors never show userinfo, nor another host's query string (a pre-signed storage URL's
        # query is a credential).
        clean_url = _wire.safe_url(full_url)
        if same_origin:
            state = self.rate_limiter.state(self.rate_limiter.bucket_for(target.path))
        else:
            clean_url = clean_url.split("?", 1)[0]
            # Another host (pre-signed storage) does not consume the Hub's quota; it is paced only once it
            # answers 429 itself.
            state = self.rate_limiter.state(f"external:{target.host}", probe_first=False)
        return target, clean_url, same_origin, state

    async def _attempt(
        self,
        method: str,
        target: httpx2.URL,
        clean_url: str,
        same_origin: bool,
        state: RateLimitState,
        stream: StreamResponse | None,
        params: Any,
        json: Any,
        content: Any,
        data: Any,
        headers: Mapping[str, str] | None,
        request_timeout: float | None,
        follow_redirects: bool,
    ) -> httpx2.Response:
        """One attempt: wait for pacing and a concurrency slot, send, map the outcome.

        Buffered (`stream` None): the body is read and the slot given back before returning. Streamed: the
        open response is returned, its slot and rate-limit reservation held on `stream`'s behalf (the stream
        gives them back). A failure raises `_Failed`, everything given back.
        """
        probe = await state.acquire(self._clock)
        kept = False
        try:
            if stream is None:
                async with Slot(self.limiter):
                    return await self._send(
                        method, target, clean_url, same_origin, state, probe, True, params, json,
                        content, data, headers, request_timeout, follow_redirects,
                    )  # fmt: skip
            await self.limiter.acquire_on_behalf_of(stream)
            try:
                response = await self._send(
                    method, target, clean_url, same_origin, state, probe, False, params, json,
                    content, data, headers, request_timeout, follow_redirects,
                )  # fmt: skip
            except BaseException:
                self.limiter.release_on_behalf_of(stream)
                raise
            stream._response, stream._probe, kept = response, probe, True
            return response
        finally:
            if not kept:
                state.release(probe)

    async def _send(
        self,
        method: str,
        target: httpx2.URL,
        clean_url: str,
        same_origin: bool,
        state: RateLimitState,
        probe: bool,
        read_body: bool,
        params: Any,
        json: Any,
        content: Any,
        data: Any,
        headers: Mapping[str, str] | None,
        request_timeout: float | None,
        follow_redirects: bool,
    ) -> httpx2.Response:
        if self.closed:
            # Closed while this call waited for pacing or a slot.
            raise errors.ClientClosedError("this client is closed")
        try:
            request = httpx2.Request(
                method,
                target,
                params=params,
                json=json,
                content=content,
                data=data,
                headers=self._headers(headers, authorized=same_origin),
                extensions={
                    "timeout": self._timeout
                    if request_timeout is None
                    else httpx2.Timeout(request_timeout).as_dict()
                },
            )
        except (httpx2.InvalidURL, UnicodeError) as exc:
            # Input the argument checks let through (e.g. a header that is not ASCII): a clear error naming
            # the request, never httpx's own, and never a header's value (it could be the token).
            what = "a header is not ASCII" if isinstance(exc, UnicodeError) else str(exc)
            raise ValueError(f"cannot send {method} {clean_url}: {what}") from None
        response: httpx2.Response | None = None
        try:
            response = await self._exchange(request, follow_redirects)
            if response.status_code >= 400 or read_body:
                # A body cut off is a transport failure of this same attempt (retried under the same rules
                # and the same attempt budget).
                await response.aread()
        except httpx2.RequestError as exc:
            # Transport failures, and also a redirect loop or an undecodable error body: never a raw httpx
            # error out of the SDK.
            if response is not None:
                await response.aclose()
            if probe:
                state.settle_probe()
            error = _map_transport_error(exc, method, clean_url)
            _wire.redact(error, [self._config.token])
            if isinstance(error, errors.ConnectError):
                outcome = Outcome.REFUSED if not self._answered and _refused(exc) else Outcome.NOT_SENT
            else:
                outcome = Outcome.NO_ANSWER if _retryable_transport(exc) else Outcome.FINAL
            reason = "connection refused" if outcome is Outcome.REFUSED else _detail(exc)
            raise _Failed(error, Failure(outcome, reason)) from None
        except BaseException:
            # Cancelled (or failed otherwise) while an error body was arriving: release the connection now
            # rather than when the response is garbage-collected.
            if response is not None:
                with anyio.CancelScope(shield=True):
                    await response.aclose()
            raise
        self._answered = True
        now = self._clock.now()
        response_headers = response.headers
        info = parse_rate_limit(response_headers)
        status = response.status_code
        retry_after = retry_after_seconds(response_headers)
        state.observe(
            info if info is None or info.bucket == state.bucket else None,
            now=now,
            status=status,
            retry_after=retry_after,
            probe=probe,
        )
        if info is not None and info.bucket != state.bucket:
            self.rate_limiter.state(info.bucket).observe(info, now=now, status=status)
        logger.debug("%s %s -> %s", method, clean_url, status)
        self._log_hub_warnings(response_headers)
        if status < 400:
            return response
        await response.aclose()
        status_error = _wire.error_from_response(
            status=status,
            reason=response.reason_phrase,
            headers=response_headers,
            body=response.content,
            method=method,
            url=clean_url,
            now_retry_after=rate_limited_wait(response_headers) if status == 429 else None,
        )
        _wire.redact(status_error, [self._config.token])
        if status == 429:
            failure = Failure(Outcome.RATE_LIMITED, f"{status} rate limited")
        elif is_retryable_status(status):
            failure = Failure(
                Outcome.RETRYABLE_STATUS, f"{status} {response.reason_phrase}".rstrip(), retry_after
            )
        else:
            failure = _FINAL
        raise _Failed(status_error, failure)

    async def _exchange(self, request: httpx2.Request, follow_redirects: bool) -> httpx2.Response:
        """Send `request` through the connection pool (or the proxy the environment names for its URL),
        following redirects when asked; the final response is returned open.

        This is what `AsyncClient.send` does, without what the SDK never uses (auth flows, cookies, event
        hooks, timing): that machinery was a measurable share of the CPU spent per request.
        """
        hops = 0
        while True:
            response = await self._transport_for(request.url).handle_async_request(request)
            response.request = request
            if not (follow_redirects and response.has_redirect_location):
                return response
            try:
                hops += 1
                if hops > _MAX_REDIRECTS:
                    raise httpx2.TooManyRedirects("Exceeded maximum allowed redirects.", request=request)
                request = self._redirected(request, response)
            finally:
                await response.aclose()

    def _redirected(self, request: httpx2.Request, response: httpx2.Response) -> httpx2.Request:
        """The request that follows `response`'s redirect, by the rules browsers and httpx apply: 303 (and
        302, and 301 after a POST) become a GET without a body; the token goes only to the endpoint's
        origin, so a redirect to storage on another host never carries it."""
        method = request.method
        status = response.status_code
        if (status in (302, 303) and method != "HEAD") or (status == 301 and method == "POST"):
            method = "GET"
        try:
            url = httpx2.URL(response.headers["location"])
            if url.is_relative_url:
                url = request.url.join(url)
        except httpx2.InvalidURL as exc:
            raise httpx2.RemoteProtocolError(f"Invalid redirect location: {exc}", request=request) from None
        headers = httpx2.Headers(request.headers)
        origin = _origin(url)
        if origin != _origin(request.url):
            headers["host"] = url.netloc.decode("ascii")
        if origin != self._endpoint_origin:
            headers.pop("authorization", None)
        if method == request.method:
            stream = request.stream
            return httpx2.Request(method, url, headers=headers, stream=stream, extensions=request.extensions)
        headers.pop("content-length", None)
        headers.pop("transfer-encoding", None)
        return httpx2.Request(method, url, headers=headers, extensions=request.extensions)

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        json: Any = None,
        content: Any = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool,
        timeout: float | None = None,  # noqa: ASYNC109 - HfApi's argument; a per-request httpx timeout
        follow_redirects: bool = True,
    ) -> httpx2.Response:
        """Send a request, retrying as the module docstring says, and return the response with its body
        read (a dropped body counts as a transport failure of that attempt and is retried under the same
        rules). Error statuses raise. The concurrency slot is given back before returning."""
        method = method.upper()
        target, clean_url, same_origin, state = self._route(method, url)
        retrying = Retrying(
            self._retry,
            clock=self._clock,
            rng=self.rng,
            classify=_failure_of,
            idempotent=idempotent,
            what=method,
            target=clean_url,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(
                        method, target, clean_url, same_origin, state, None, params, json, content,
                        data, headers, timeout, follow_redirects,
                    )  # fmt: skip
        except _Failed as failed:
            raise failed.error from None
        raise AssertionError("unreachable: the retry loop returns or raises")

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - a per-request httpx timeout
    ) -> AsyncIterator[StreamResponse]:
        """Open a streamed response: `async with transport.stream("GET", path) as response:`.

        Retried like an idempotent request until the status line arrives; error statuses raise on entry.
        Inside the block, `response.aiter_bytes()` / `aiter_lines()` raise SDK errors only. Exiting the block
        — normally, by an exception, by cancellation, or by the garbage collector closing a generator that
        holds it — closes the response and gives the concurrency slot back, from whichever task exits it.
        """
        method = method.upper()
        target, clean_url, same_origin, state = self._route(method, url)
        handle = StreamResponse(method, clean_url)
        retrying = Retrying(
            self._retry,
            clock=self._clock,
            rng=self.rng,
            classify=_failure_of,
            idempotent=True,
            what=method,
            target=clean_url,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self._attempt(
                        method, target, clean_url, same_origin, state, handle, params, None, None,
                        None, headers, timeout, True,
                    )  # fmt: skip
        except _Failed as failed:
            raise failed.error from None
        try:
            yield handle
        finally:
            try:
                # Shielded: a cancelled consumer must still give the connection back. A failure to close a
                # connection being abandoned changes nothing for the caller, and must not replace the
                # exception (if any) that ended the block.
                with anyio.CancelScope(shield=True), suppress(httpx2.HTTPError, httpx2.StreamError):
                    await handle.response.aclose()
            finally:
                self.limiter.release_on_behalf_of(handle)
                state.release(handle._probe)


def _trace_id() -> str:
    """A random (version 4) UUID, formatted as `str(uuid.uuid4())` would, at half its cost per request."""
    digits = os.urandom(16).hex()
    variant = "89ab"[int(digits[16], 16) & 3]
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{variant}{digits[17:20]}-{digits[20:]}"


def _origin(url: httpx2.URL) -> tuple[str, str, int | None]:
    """(scheme, host, port): what must match the endpoint for a request to carry the token."""
    return (url.scheme, url.host, url.port)
