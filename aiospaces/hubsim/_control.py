"""Test controls of the simulated Hub as data: faults to inject, rate limits, and counters to read."""

from __future__ import annotations

import fnmatch
import math
import random
from collections import Counter
from typing import Literal

import attrs

FaultKind = Literal[
    "latency",
    "error",
    "drop",
    "slow_body",
    "stale_runtime",
    "unscheduled_hardware",
    "corrupt_body",
    "warning",
    "rate_limited",
]
FAULT_KINDS: tuple[str, ...] = (
    "latency",
    "error",
    "drop",
    "slow_body",
    "stale_runtime",
    "unscheduled_hardware",
    "corrupt_body",
    "warning",
    "rate_limited",
)

# The routes a kind acts on when the fault names none: a kind that only makes sense on some routes does not
# fire (nor use up its `count`) on the others.
DEFAULT_ROUTES: dict[str, str] = {
    "unscheduled_hardware": "POST /api/spaces/{id}/hardware",
    "corrupt_body": "GET */resolve/*",
}
# Methods a kind acts on (any when absent): a corrupted body needs a body, which HEAD answers lack.
_METHODS: dict[str, tuple[str, ...]] = {"corrupt_body": ("GET",)}

DEFAULT_WARNING = "token; the token {token} is deprecated, use a fine-grained token"


@attrs.define
class Fault:
    """One fault rule. Faults are checked on every request whose route name matches `route`.

    Kinds that change how the Hub answers:

    - `latency`: wait `seconds` before answering.
    - `error`: answer `status` with a JSON error; the request is not applied.
    - `drop`: close the connection: before handling, or after applying the request when `after=True`;
      over a socket the response is cut after its headers.
    - `slow_body`: send the body in small chunks spread over `seconds`.
    - `stale_runtime`: runtime reads (runtime, space_info and list_spaces `runtime`) answer the state of
      `seconds` ago.

    Kinds that produce the Hub states a client must defend against:

    - `unscheduled_hardware`: a hardware request on a RUNNING Space is accepted (`requested` = the new
      flavor) but no machine takes it for `seconds` (`math.inf`: for good): the Space stays RUNNING on its
      old flavor, with `message` as the runtime's `errorMessage` when given (e.g. "not enough hardware
      capacity"); afterwards the switch runs as usual (`Durations.hardware_switch`). This is what a client
      reads while a requested GPU waits for capacity, and what its hardware fences and verdicts must not
      take for the new flavor running (`wait_for_hardware`, `wait_until_running`, `temporary_hardware`).
      Unlike `fail_next_build(phase="schedule")`, nothing fails: the old app keeps serving. Applies to
      `POST /api/spaces/{id}/hardware` unless `route` says otherwise; each matching request uses one of
      `count`, even one that switches nothing (a paused Space, the flavor already requested).
    - `corrupt_body`: a file download (GET `.../resolve/...` unless `route` says otherwise) answers its
      headers unchanged (`ETag`, `X-Linked-Etag`, `Content-Length`) with one byte of the body flipped, so
      the bytes no longer match their sha256 but have the right size, as a broken proxy or storage node
      can serve them: a download's hash check (`hf_hub_download` comparing the bytes with the `ETag` /
      `X-Linked-Etag` before it moves the file in place) must refuse them, where a size check would not.
    - `warning`: the answer carries an `X-HF-Warning` header of `message` (default `DEFAULT_WARNING`), in
      which `{token}` is replaced by the request's bearer token and `{path}` by its path: a Hub warning
      that echoes request content: a client that logs the Hub's warnings must mask the token in them
      (secrets never reach logs). A value of the form `"topic; text"` has a topic, any other value none.
    - `rate_limited`: answer the Hub's 429 with `Retry-After: seconds` (rounded up, at least 1) and the
      matching `RateLimit` header, without applying the request. `count=N` makes a storm of N consecutive
      429s on the matching routes (None: endless): longer than a client's retry budgets, it shows whether
      429s are counted against the 429 budget (e.g. `RetryPolicy.max_rate_limited`) rather than the
      ordinary attempts, and that an endless storm ends in a rate-limit error once that budget is spent.
      (`set_rate_limit` gives the Hub's own quota instead, whose 429s end with the window.)

    Attributes:
        kind: One of the kinds above.
        route: `fnmatch` pattern over route names such as `"GET /api/spaces/{id}/runtime"` (see
            `SimulatedHub.route_names()`); None matches every route (or the kind's own routes, see above).
        probability: Chance each matching request is hit (drawn from the hub's seedable RNG).
        count: Stop after this many injections (None: unlimited).
        status: HTTP status for `error` faults.
        seconds: Delay, slow-body duration, staleness, unscheduled time or `Retry-After`, in hub seconds.
        after: For `drop`: apply the request, then drop the connection (the client cannot know it worked).
        message: The `errorMessage` of `unscheduled_hardware`, the header value of `warning`.
        injected: How many times this fault fired so far.
    """

    kind: FaultKind
    route: str | None = None
    probability: float = 1.0
    count: int | None = None
    status: int = 503
    seconds: float = 1.0
    after: bool = False
    message: str | None = None
    injected: int = 0

    def __attrs_post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {FAULT_KINDS}, got {self.kind!r}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"probability must be within [0, 1], got {self.probability!r}")
        if self.count is not None and self.count < 0:
            raise ValueError(f"count must be >= 0, got {self.count!r}")
        if self.kind == "error" and not 400 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP error status, got {self.status!r}")
        if not self.seconds >= 0:  # NaN included
            raise ValueError(f"seconds must be >= 0, got {self.seconds!r}")
        if self.kind != "unscheduled_hardware" and math.isinf(self.seconds):
            raise ValueError("seconds may be infinite only for unscheduled_hardware")
        if self.message is not None and not isinstance(self.message, str):
            raise TypeError("message must be a str or None")
        if self.kind == "warning" and self.message == "":
            raise ValueError("message of a warning must not be empty")
        if self.route is None:
            self.route = DEFAULT_ROUTES.get(self.kind)

    @property
    def exhausted(self) -> bool:
        """Whether the fault has fired `count` times already."""
        return self.count is not None and self.injected >= self.count

    def matches(self, route_name: str, method: str = "GET") -> bool:
        """Whether this fault applies to a route (and, for kinds that need one, to the request's method)."""
        methods = _METHODS.get(self.kind)
        if methods is not None and method.upper() not in methods:
            return False
        return self.route is None or fnmatch.fnmatchcase(route_name, self.route)

    def warning_header(self, token: str | None, path: str) -> str:
        """The `X-HF-Warning` value of a `warning` fault for a request with this token and path."""
        text = DEFAULT_WARNING if self.message is None else self.message
        return text.replace("{token}", token or "").replace("{path}", path)

    def fire(self, rng: random.Random) -> bool:
        """Decide (and record) whether this fault hits the current request."""
        if self.exhausted:
            return False
        if self.probability < 1.0 and rng.random() >= self.probability:
            return False
        self.injected += 1
        return True


@attrs.define
class Counters:
    """What the hub has seen. Route names are the patterns listed by `SimulatedHub.route_names()`.

    Attributes:
        requests: Requests per route name (unknown routes under `"UNKNOWN"`), 429s and faults included.
        statuses: Responses per status code.
        rate_limited: 429 responses sent.
        faults: Faults injected per kind.
        in_flight: Requests being handled right now (streams count until closed).
        max_in_flight: Highest `in_flight` seen.
        unknown_routes: `"METHOD /path"` of every request no route matched (tests can fail on these).
        actions: State changes applied (`"create_repo"`, `"restart"`, `"hardware"`, `"build"`, ...).
        server_errors: Unexpected exceptions turned into 500 answers (should stay empty).
    """

    requests: Counter[str] = attrs.field(factory=Counter)
    statuses: Counter[int] = attrs.field(factory=Counter)
    rate_limited: int = 0
    faults: Counter[str] = attrs.field(factory=Counter)
    in_flight: int = 0
    max_in_flight: int = 0
    unknown_routes: list[str] = attrs.field(factory=list)
    actions: Counter[str] = attrs.field(factory=Counter)
    server_errors: list[str] = attrs.field(factory=list)

    @property
    def total_requests(self) -> int:
        """All requests received."""
        return sum(self.requests.values())

    def reset(self) -> None:
        """Zero every counter (in-flight requests stay counted)."""
        self.requests.clear()
        self.statuses.clear()
        self.rate_limited = 0
        self.faults.clear()
        self.max_in_flight = self.in_flight
        self.unknown_routes.clear()
        self.actions.clear()
        self.server_errors.clear()


@attrs.define
class RateLimit:
    """A fixed-window quota for one bucket: `requests` per `window` seconds per token."""

    requests: int
    window: float


# The quotas the headers show when none is configured: the real Hub sets the headers on every response
# (huggingface_hub 2.4 `utils/_http.py`, `hf_raise_for_status`: "Headers are set on every response"), so the
# simulator shows the highest documented quotas (hub-api.md §4.2, Enterprise Plus with org IP ranges) and
# never refuses a request on them.
DEFAULT_QUOTAS = {"api": RateLimit(100_000, 300.0), "resolvers": RateLimit(500_000, 300.0)}


@attrs.define
class _Window:
    start: float
    used: int


@attrs.define
class RateLimiter:
    """Fixed windows aligned on multiples of the window length, counted per (bucket, token).

    Only the quotas in `limits` are enforced; a bucket without one is counted against `DEFAULT_QUOTAS`.
    """

    limits: dict[str, RateLimit] = attrs.field(factory=dict)
    windows: dict[tuple[str, str], _Window] = attrs.field(factory=dict)

    def check(self, bucket: str, who: str, now: float) -> tuple[bool, list[tuple[str, str]]]:
        """Count one request; returns (allowed, the `RateLimit` headers to add)."""
        limit = self.limits.get(bucket)
        enforced = limit is not None
        if limit is None:
            limit = DEFAULT_QUOTAS[bucket]
        start = math.floor(now / limit.window) * limit.window
        window = self.windows.get((bucket, who))
        if window is None or window.start != start:
            window = _Window(start, 0)
            self.windows[(bucket, who)] = window
        reset = max(1, math.ceil(start + limit.window - now))
        allowed = not enforced or window.used < limit.requests
        if allowed:
            window.used += 1
        remaining = max(0, limit.requests - window.used)
        headers = [
            ("RateLimit", f'"{bucket}";r={remaining};t={reset}'),
            ("RateLimit-Policy", f'"fixed window";"{bucket}";q={limit.requests};w={math.ceil(limit.window)}'),
        ]
        if not allowed:
            headers.append(("Retry-After", str(reset)))
        return allowed, headers
