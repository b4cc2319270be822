"""The one module that does HTTP: one `httpx2.AsyncClient` (connection pool) per client, auth and user-agent
headers, the concurrency bound, rate-limit pacing, retries with backoff, and mapping failures to `errors.py`.

Retry rules (issue 3 item 4, hub-api.md §4.3):

* connect failures (the request provably never left): retried for every method;
* timeouts, dropped connections, 408 and 5xx: retried only for idempotent requests;
* 429: retried for every method, after the rate-limit window resets (the Hub rejected it before acting);
* everything else is final and raised as the matching `HubHTTPError` subclass.
"""

from __future__ import annotations

import logging
import platform
import random
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
import attrs
import httpx2

from . import _wire, errors
from ._clock import Clock
from ._config import VERSION, Config
from ._ratelimit import RateLimiter

logger = logging.getLogger("aiospaces")


@attrs.frozen
class RetryPolicy:
    """How transient failures are retried.

    Attributes:
        max_attempts: total attempts for one call, the first included (1 disables retries).
        base_delay: delay before the first retry (before jitter), seconds.
        max_delay: cap of the exponential backoff, seconds.
        max_rate_limited: how many 429s one call absorbs (each waits for the window reset) before raising.
    """

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_rate_limited: int = 10

    def __attrs_post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"retry.max_attempts must be >= 1, got {self.max_attempts}")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("retry delays must be >= 0")
        if self.max_rate_limited < 0:
            raise ValueError("retry.max_rate_limited must be >= 0")


def coerce_retry(retry: RetryPolicy | int | bool | None) -> RetryPolicy:
    """`retry=` accepts a `RetryPolicy`, an int (number of retries), False (no retry) or None (default)."""
    if retry is None or retry is True:
        return RetryPolicy()
    if retry is False:
        return RetryPolicy(max_attempts=1, max_rate_limited=0)
    if isinstance(retry, RetryPolicy):
        return retry
    if isinstance(retry, int):
        if retry < 0:
            raise ValueError(f"retry must be >= 0 retries, got {retry}")
        return RetryPolicy(max_attempts=retry + 1)
    raise TypeError(f"retry must be a RetryPolicy, an int, a bool or None, got {type(retry).__name__}")


def _map_transport_error(exc: httpx2.RequestError, method: str, url: str) -> errors.TransportError:
    """httpx failure → our transport branch; `sent=False` only when the request provably never left."""
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
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


def _retryable_transport(exc: httpx2.RequestError) -> bool:
    return isinstance(exc, httpx2.NetworkError | httpx2.TimeoutException | httpx2.RemoteProtocolError)


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
        self._rng = random.Random()
        self.limiter = anyio.CapacityLimiter(max_concurrency)
        self.rate_limiter = RateLimiter()
        ua = f"aiospaces/{VERSION}; python/{platform.python_version()}"
        if user_agent:
            ua = f"{ua}; {user_agent}"
        self._base_headers: dict[str, str] = {"user-agent": ua}
        if headers:
            self._base_headers.update({k.lower(): v for k, v in headers.items()})
        self._client = httpx2.AsyncClient(
            transport=transport,
            timeout=timeout if isinstance(timeout, httpx2.Timeout) else httpx2.Timeout(timeout),
            follow_redirects=True,
            limits=httpx2.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency),
        )
        self.closed = False
        self._warned_topics: set[str] = set()

    async def aclose(self) -> None:
        """Close the connection pool."""
        self.closed = True
        await self._client.aclose()

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
        headers["x-amzn-trace-id"] = str(uuid.uuid4())
        if extra:
            headers.update({k.lower(): v for k, v in extra.items()})
        return headers

    def _log_hub_warnings(self, headers: httpx2.Headers) -> None:
        """`X-HF-Warning: <topic>; <message>` (may repeat) is logged once per topic (hub-api.md §3.1)."""
        for value in headers.get_list("x-hf-warning"):
            topic, _, message = value.partition(";")
            topic = topic.strip()
            if topic in self._warned_topics:
                continue
            self._warned_topics.add(topic)
            text = (message.strip() or topic).replace(self._config.token or "\0", "***")
            logger.warning("Hub warning (%s): %s", topic, text)

    def backoff(self, attempt: int) -> float:
        """The delay before retry number `attempt` under this client's policy (exponential, jittered)."""
        return _wire.backoff_delay(
            attempt, base=self._retry.base_delay, cap=self._retry.max_delay, jitter=self._rng.random()
        )

    @asynccontextmanager
    async def open(
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
        read_body: bool = False,
    ) -> AsyncIterator[httpx2.Response]:
        """Send a request, retrying as the module docstring says, and yield the successful response with its
        body not read yet (read already with `read_body`); error statuses raise. The concurrency slot is held
        until the block exits."""
        if self._config.offline:
            raise errors.OfflineModeError(
                f"HF_HUB_OFFLINE is set: refusing to send {method.upper()} {_wire.safe_url(url)}"
            )
        if self.closed:
            raise RuntimeError("this client is closed")
        method = method.upper()
        full_url = self.url_for(url)
        target = httpx2.URL(full_url)
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
        attempt = 0
        rate_limited = 0
        while True:
            attempt += 1
            failure: errors.SpacesError | None = None
            delay = 0.0
            retry = False
            probe = await state.acquire(self._clock)
            try:
                async with self.limiter:
                    request = self._client.build_request(
                        method,
                        full_url,
                        params=params,
                        json=json,
                        content=content,
                        data=data,
                        headers=self._headers(headers, authorized=same_origin),
                        timeout=timeout if timeout is not None else httpx2.USE_CLIENT_DEFAULT,
                    )
                    response: httpx2.Response | None = None
                    try:
                        response = await self._client.send(
                            request, stream=True, follow_redirects=follow_redirects
                        )
                        if response.status_code >= 400 or read_body:
                            # A body cut off is a transport failure of this same attempt (retried under
                            # the same rules and the same attempt budget).
                            await response.aread()
                    except httpx2.RequestError as exc:
                        # Transport failures, and also a redirect loop or an undecodable error body: never
                        # a raw httpx error out of the SDK.
                        if response is not None:
                            await response.aclose()
                        failure = _map_transport_error(exc, method, clean_url)
                        if probe:
                            state.settle_probe()
                        sent_for_sure_not = isinstance(failure, errors.ConnectError)
                        retry = _retryable_transport(exc) and (idempotent or sent_for_sure_not)
                        delay = self.backoff(attempt)
                    except BaseException:
                        # Cancelled (or failed otherwise) while an error body was arriving: release the
                        # connection now rather than when the response is garbage-collected.
                        if response is not None:
                            with anyio.CancelScope(shield=True):
                                await response.aclose()
                        raise
                    else:
                        now = self._clock.now()
                        info = _wire.parse_rate_limit(response.headers)
                        status = response.status_code
                        retry_after = _wire.retry_after_seconds(response.headers)
                        state.observe(
                            info if info is None or info.bucket == state.bucket else None,
                            now=now,
                            status=status,
                            retry_after=retry_after,
                            probe=probe,
                        )
                        if info is not None and info.bucket != state.bucket:
                            self.rate_limiter.state(info.bucket).observe(info, now=now, status=status)
                        logger.debug("%s %s -> %s (attempt %d)", method, clean_url, status, attempt)
                        self._log_hub_warnings(response.headers)
                        if status < 400:
                            try:
                                yield response
                            finally:
                                # Shielded: a cancelled caller must still give the connection back.
                                with anyio.CancelScope(shield=True):
                                    await response.aclose()
                            return
                        await response.aclose()
                        failure = _wire.error_from_response(
                            status=status,
                            reason=response.reason_phrase,
                            headers=response.headers,
                            body=response.content,
                            method=method,
                            url=clean_url,
                            now_retry_after=_wire.rate_limited_wait(response.headers)
                            if status == 429
                            else None,
                        )
                        if status == 429:
                            rate_limited += 1
                            attempt -= 1  # waiting for the window is not a failed attempt
                            # The rate-limit state now holds the reset time: `acquire` waits for it.
                            retry = rate_limited <= self._retry.max_rate_limited
                            delay = 0.0
                        elif _wire.is_retryable_status(status) and idempotent:
                            retry = True
                            delay = retry_after if retry_after is not None else self.backoff(attempt)
            finally:
                state.release(probe)
            assert failure is not None
            _wire.redact(failure, [self._config.token])
            if not retry or attempt >= self._retry.max_attempts:
                raise failure
            logger.log(
                logging.DEBUG if isinstance(failure, errors.RateLimitedError) else logging.WARNING,
                "%s %s failed (%s); retrying in %.2fs (attempt %d/%d)",
                method,
                clean_url,
                type(failure).__name__,
                delay,
                attempt + 1,
                self._retry.max_attempts,
            )
            if delay > 0:
                await self._clock.sleep(delay)

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
        """Like `open`, but the body is read before returning (a dropped body counts as a transport failure
        of that attempt and is retried under the same rules)."""
        async with self.open(
            method,
            url,
            params=params,
            json=json,
            content=content,
            data=data,
            headers=headers,
            idempotent=idempotent,
            timeout=timeout,
            follow_redirects=follow_redirects,
            read_body=True,
        ) as response:
            return response


def _origin(url: httpx2.URL) -> tuple[str, str, int | None]:
    """(scheme, host, port): what must match the endpoint for a request to carry the token."""
    return (url.scheme, url.host, url.port)
