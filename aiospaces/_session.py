"""The state one `SpacesClient` shares between its parts: configuration, clock, HTTP transport, rate-limit
state, the action fences, and the load of the poll loops running right now.

Every component of the client (the Hub operations, waiting, files) is handed the same `Session`; none of
them reaches into another one.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import httpx2

from . import validation
from ._budget import Budget, PollBudget
from ._clock import Clock, SystemClock
from ._config import Config, load_config
from ._fences import Fences
from ._poll import StageHistory
from ._ratelimit import RateLimitState
from ._retry import RetryPolicy, coerce_retry
from ._transport import HttpTransport, StreamResponse

_T = TypeVar("_T")

logger = logging.getLogger("aiospaces")

# A poll slot this close after a deadline still counts as on it (clock rounding).
DEADLINE_SLACK = 1e-9


class PollLoad:
    """How many requests per round the poll loops of one client make right now, and their jitter source.

    The rate-limit pacing interval is per caller (`RateLimitState.min_interval`), so N concurrent pollers each
    leave N times that interval. A watch counts while its `__anext__` runs; a fleet watch counts one per read
    of its last round.
    """

    def __init__(self) -> None:
        self.pollers = 0
        self.rng = random.Random()

    async def polling(self, weight: int, poll: Callable[[], Awaitable[_T]]) -> _T:
        """`await poll()`, counting `weight` more pollers for the pacing while it runs."""
        self.pollers += weight
        try:
            return await poll()
        finally:
            self.pollers -= weight


class Session:
    """What every part of one client shares: see the module docstring.

    Attributes:
        config: the resolved configuration (token, endpoint, offline mode).
        clock: where every sleep and timestamp goes.
        endpoint: the Hub base URL.
        retry: the retry policy of every call.
        transport: the HTTP layer (connection pool, pacing, retries, error mapping).
        fences: what this client's own actions guarantee about later runtime reads.
        load: the poll loops running right now, for the pacing.
        budget: the poll slots handed out (every poll request of the client draws on one budget).
        history: how long each Space's transitional stages lasted, as this client's watches saw them.
    """

    def __init__(self, *, config: Config, clock: Clock, retry: RetryPolicy, transport: HttpTransport) -> None:
        self.config = config
        self.clock = clock
        self.endpoint: str = config.endpoint
        self.retry = retry
        self.transport = transport
        self.fences = Fences(clock)
        self.load = PollLoad()
        self.budget = PollBudget()
        self.history = StageHistory()
        self._logged_budget: Budget | None = None

    @property
    def rate_limit(self) -> RateLimitState:
        """The shared state of the Hub's `api` rate-limit bucket, fed by every response."""
        return self.transport.rate_limiter.state("api")

    def pacing(self, now: float) -> float:
        """The shortest delay between two polls of one poller, given the shared rate-limit state."""
        return self.rate_limit.min_interval(now) * max(1, self.load.pollers)

    def poll_budget(self, share: float) -> Budget:
        """The poll budget for `share` of the quota the Hub advertised last (the free account's until then);
        logged at INFO each time it changes."""
        state = self.rate_limit
        budget = Budget.of(share=share, quota=state.limit, window=state.window)
        if budget != self._logged_budget:
            self._logged_budget = budget
            logger.info("%s", budget.describe())
        return budget

    async def poll_slot(self, requests: int, share: float, deadline: float | None) -> bool:
        """Wait until `requests` poll requests fit the polling budget (`share` of the quota), and take them.

        Returns False, without waiting, when they cannot go before `deadline` (no poll after a deadline).
        The budget is re-read after each sleep: the Hub's answers may have told another quota meanwhile.
        """
        clock = self.clock
        while True:
            now = clock.now()
            budget = self.poll_budget(share)
            wait = self.budget.wait(now, requests, budget)
            if wait <= 0:
                self.budget.take(now, requests, budget)
                return True
            if deadline is not None and now + wait > deadline + DEADLINE_SLACK:
                return False
            await clock.sleep(wait)

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
        """Send one request with auth, pacing, retries and error mapping; return the response, body read.

        Args:
            method: HTTP method.
            url: a path starting with `/` (joined to the endpoint) or an absolute URL.
            params: query parameters (a mapping or a list of pairs; lists repeat the key).
            json: JSON body.
            content: raw body (bytes).
            data: form body.
            headers: extra headers.
            idempotent: True when resending after an ambiguous failure is safe; otherwise only requests that
                provably never left (connect errors) or were rate-limited (429) are resent.
            timeout: per-request timeout in seconds (None: the client's).
            follow_redirects: False returns a 3xx answer as it is (file metadata, hub-api.md §12.2).

        Raises:
            HubHTTPError: subclass matching the status (hub-api.md §3.2).
            TransportError: the request got no answer after the allowed retries.
            OfflineModeError: `HF_HUB_OFFLINE` is set.
        """
        return await self.transport.request(
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
        )

    def stream(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> AbstractAsyncContextManager[StreamResponse]:
        """Like `request` but the body is not read: `async with session.stream("GET", path) as response:`.

        Error statuses raise on entry; reading the body raises SDK errors only; exiting (however it happens)
        closes the response and gives its concurrency slot back. Used for SSE logs and downloads; the request
        is treated as idempotent (retried before the status line arrives).
        """
        return self.transport.stream(method, url, params=params, headers=headers, timeout=timeout)

    async def aclose(self) -> None:
        """Close the connection pool. No request can be sent afterwards."""
        await self.transport.aclose()


def open_session(
    *,
    token: str | bool | None,
    endpoint: str | None,
    timeout: float | httpx2.Timeout | None,
    max_concurrency: int,
    retry: RetryPolicy | int | bool | None,
    transport: httpx2.AsyncBaseTransport | None,
    clock: Clock | None,
    headers: Mapping[str, str] | None,
    user_agent: str | None,
) -> Session:
    """Check `SpacesClient`'s arguments, read the configuration once, and open the session (see there)."""
    validation.validate_concurrency(max_concurrency, arg="max_concurrency")
    validation.validate_client_options(
        timeout=timeout, transport=transport, headers=headers, user_agent=user_agent
    )
    if clock is not None and not isinstance(clock, Clock):
        raise TypeError("clock must have now() and async sleep(seconds)")
    config = load_config(token=token, endpoint=endpoint)
    session_clock: Clock = clock if clock is not None else SystemClock()
    policy = coerce_retry(retry)
    http = HttpTransport(
        config=config,
        clock=session_clock,
        timeout=timeout,
        max_concurrency=max_concurrency,
        retry=policy,
        transport=transport,
        headers=headers,
        user_agent=user_agent,
    )
    return Session(config=config, clock=session_clock, retry=policy, transport=http)
