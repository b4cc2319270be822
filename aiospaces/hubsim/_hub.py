"""`SimulatedHub`: one in-memory Hugging Face Hub with its own clock (design.md §4, hub-api.md §14).

The hub owns users, tokens, repos' metadata and every Space's settings and lifecycle; file content lives in
the `GitStore` (sim-git's `_git_store.py`), whose HTTP routes (`_git.py`) are registered on the same router.
Every request, whichever way it arrives (httpx transport, ASGI, socket), goes through `SimulatedHub.handle`,
which applies auth, rate limits, fault injection and counters, then the route's handler.

Route handlers never await while holding state: state changes are synchronous under one re-entrant lock, so
the socket server's thread and a test's seeding calls can share the hub.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import email.utils
import hashlib
import json
import random
import re
import secrets as _secrets
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlencode

import anyio
import attrs

from . import _api
from ._builds import (
    FAILURE_PHASES,
    SCHEDULING_FAILURE,
    SDKS,
    BuildPlan,
    ForcedFailure,
    parse_front_matter,
    plan_build,
)
from ._clock import ManualClock, SpeedClock
from ._control import Counters, Fault, FaultKind, RateLimit, RateLimiter
from ._git_store import DEFAULT_GITATTRIBUTES, GitStore
from ._hardware import FREE_HARDWARE, HARDWARE_NAMES
from ._http import HubError, Router, SimRequest, SimResponse, json_response
from ._space import Durations, SecretEntry, SpaceState, iso

if TYPE_CHECKING:
    import httpx2

    from ._serve import ASGIApp

Role = Literal["read", "write"]

REPO_TYPES = ("model", "dataset", "space")
MSG_REPO_NOT_FOUND = "Repository not found"
MSG_BAD_TOKEN = "Invalid credentials in Authorization header"  # special-cased by the client (hub-api.md §3.1)
MAX_JSON_BODY = 1_000_000
PRESIGNED_PREFIX = "/__hubsim/"  # the routes of `_lfs.py` that stand for pre-signed storage URLs


class DropConnection(Exception):
    """Raised by `handle` when a `drop` fault closes the connection instead of answering."""


@attrs.define
class User:
    """A simulated user (or organization, `is_org=True`)."""

    name: str
    orgs: tuple[str, ...] = ()
    is_org: bool = False
    is_pro: bool = True
    object_id: str = attrs.field(factory=lambda: _secrets.token_hex(12))


@attrs.define
class TokenInfo:
    """One access token: its owner, role and display name (never the token itself in reprs)."""

    user: User
    role: Role
    display_name: str


@attrs.define
class RepoRecord:
    """A repo's metadata (its files are in the `GitStore`)."""

    repo_type: str
    repo_id: str
    object_id: str
    created_at: float
    visibility: str = "public"
    gated: bool | str = False
    disabled: bool = False
    likes: int = 0
    space: SpaceState | None = None

    @property
    def key(self) -> tuple[str, str]:
        """The `GitStore` key."""
        return (self.repo_type, self.repo_id)

    @property
    def namespace(self) -> str:
        """Owner part of the id."""
        return self.repo_id.split("/", 1)[0]

    @property
    def private(self) -> bool:
        """`private` as the API reports it (protected Spaces are public in listings)."""
        return self.visibility == "private"


_NAME_RE = re.compile(r"^(?!.*(?:--|\.\.))[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$")


def valid_repo_name(name: str) -> bool:
    """The Hub's rule for a repo name or namespace (letters, digits, `-_.`, ≤ 96 chars, no `--`/`..`)."""
    return bool(_NAME_RE.match(name)) and not name.endswith(".git")


def check_repo_id(repo_id: object, *, argument: str = "repo_id") -> str:
    """Validate a `namespace/name` repo id for the seeding helpers (ValueError/TypeError naming it)."""
    if not isinstance(repo_id, str):
        raise TypeError(f"{argument} must be a str, got {type(repo_id).__name__}")
    parts = repo_id.split("/")
    if len(parts) != 2 or not all(valid_repo_name(p) for p in parts):
        raise ValueError(f"{argument} must look like 'namespace/name', got {repo_id!r}")
    return repo_id


def default_space_files(repo_id: str, sdk: str) -> dict[str, bytes]:
    """The files the Hub writes into a new Space (`.gitattributes` and a README with front matter)."""
    name = repo_id.split("/", 1)[1]
    lines = ["---", f"title: {name}", "emoji: 🚀", "colorFrom: blue", "colorTo: purple", f"sdk: {sdk}"]
    if sdk == "gradio":
        lines += ["sdk_version: 5.49.1", "app_file: app.py"]
    elif sdk == "streamlit":
        lines += ["sdk_version: 1.50.0", "app_file: app.py"]
    elif sdk == "docker":
        lines += ["app_port: 7860"]
    lines += [
        "pinned: false",
        "---",
        "",
        "Check out the configuration reference at https://huggingface.co/docs/hub/spaces-config-reference",
        "",
    ]
    return {".gitattributes": DEFAULT_GITATTRIBUTES.encode(), "README.md": "\n".join(lines).encode()}


def sample_app_files(sdk: str) -> dict[str, bytes]:
    """A minimal working app for each SDK (what the seeding helper adds when no files are given)."""
    if sdk == "gradio":
        code = (
            "import gradio as gr\n\n\ndef greet(name):\n    return 'Hello ' + name + '!'\n\n\n"
            "gr.Interface(fn=greet, inputs='text', outputs='text').launch()\n"
        )
        return {"app.py": code.encode()}
    if sdk == "streamlit":
        return {"app.py": b"import streamlit as st\n\nst.write('Hello world')\n"}
    if sdk == "docker":
        return {"Dockerfile": b'FROM python:3.11\nCMD ["python", "-m", "http.server", "7860"]\n'}
    return {"index.html": b"<!doctype html><html><body><h1>Hello</h1></body></html>\n"}


def subdomain_of(repo_id: str) -> str:
    """`alice/My_space.v2` → `alice-my-space-v2`: the Space's subdomain.

    Recording test_space_runtime: `user/tmp_test_space` → `user-tmp-test-space`.
    """
    return re.sub(r"[^a-z0-9]+", "-", repo_id.lower()).strip("-")


class SimulatedHub:
    """An in-memory Hugging Face Hub speaking the real wire format (hub-api.md), with test controls.

    Args:
        clock: Any object with `now() -> float` (seconds). If it also has `async sleep(seconds)`, the hub's
            own waits (latency faults, slow bodies, log streaming) use it, so a virtual clock shared with
            the SDK keeps everything in virtual time. `None`: real time times `speed`. Pass
            `ManualClock()` (or the string `"manual"`) for a clock moved only by `hub.advance(seconds)`.
        speed: Simulated seconds per real second when `clock` is None (e.g. 60).
        seed: Seed of the RNG used for probabilistic faults (reproducible runs).

    Example:
        >>> hub = SimulatedHub(clock="manual")
        >>> token = hub.add_user("alice", token="hf_alice")
        >>> hub.create_space("alice/demo")  # RUNNING right away
        >>> async with httpx2.AsyncClient(transport=hub.transport(), base_url="https://hub.local") as c:
        ...     r = await c.get("/api/spaces/alice/demo/runtime", headers={"authorization": "Bearer hf_x"})
    """

    def __init__(self, clock: Any = None, *, speed: float = 1.0, seed: int | None = None) -> None:
        if clock is None:
            clock = SpeedClock(speed)
        elif clock == "manual":
            clock = ManualClock()
        elif not callable(getattr(clock, "now", None)):
            raise TypeError("clock must have a now() -> float method")
        self.clock: Any = clock
        self._epoch = time.time() - float(clock.now())
        self._lock = threading.RLock()
        self.git = GitStore(now=self.now)
        self.router = Router()
        self.counters = Counters()
        self.default_durations = Durations()
        self.rate_limiter = RateLimiter()
        self.faults: list[Fault] = []
        self.rng = random.Random(seed)
        self.list_page_size = 1000  # server page size of list endpoints when `limit` is not given
        self.sse_keepalive = 30.0  # seconds of silence between log keep-alives (real seconds under `speed`)
        self.sse_poll = 1.0  # how often (hub seconds) a following log stream re-checks the Space
        self._users: dict[str, User] = {}
        self._tokens: dict[str, TokenInfo] = {}
        self._repos: dict[tuple[str, str], RepoRecord] = {}
        self._register_routes()

    def __repr__(self) -> str:
        return f"SimulatedHub(users={len(self._users)}, repos={len(self._repos)}, clock={self.clock!r})"

    # ------------------------------------------------------------------------------------------ time
    def now(self) -> float:
        """The hub clock, in seconds."""
        return float(self.clock.now())

    def wall(self, t: float | None = None) -> str:
        """ISO timestamp (Hub format) of hub time `t` (default: now)."""
        return iso(self._epoch + (self.now() if t is None else t))

    def advance(self, seconds: float) -> None:
        """Move a manual/virtual clock forward (needs a clock with `advance(seconds)`)."""
        advance = getattr(self.clock, "advance", None)
        if advance is None:
            raise TypeError(f"{self.clock!r} cannot be advanced; create the hub with clock='manual'")
        advance(seconds)

    @property
    def speed(self) -> float:
        """Simulated seconds per real second (1 for external clocks)."""
        return float(getattr(self.clock, "speed", 1.0))

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of hub time (the clock's own `sleep` if it has one)."""
        sleep = getattr(self.clock, "sleep", None)
        if sleep is not None:
            await sleep(seconds)
        else:
            await anyio.sleep(max(0.0, seconds))

    # ----------------------------------------------------------------------------------------- users
    def add_user(
        self,
        name: str,
        token: str | None = None,
        *,
        orgs: Sequence[str] = (),
        role: Role = "write",
        pro: bool = True,
    ) -> str:
        """Create a user (and the orgs it belongs to) with one access token; returns the token.

        Args:
            name: User name (a valid Hub namespace).
            token: The token string; generated (`hf_...`) when None.
            orgs: Organizations the user is a member of (created if needed); the user may write there.
            role: `"write"` or `"read"` (a read token gets 403 on every write).
            pro: PRO plan (dev mode needs it).
        """
        if not isinstance(name, str) or not valid_repo_name(name):
            raise ValueError(f"name must be a valid Hub user name, got {name!r}")
        if isinstance(orgs, str):
            raise TypeError("orgs must be a sequence of organization names, not a str")
        for org in orgs:
            if not isinstance(org, str) or not valid_repo_name(org):
                raise ValueError(f"orgs must hold valid organization names, got {org!r}")
        with self._lock:
            user = self._users.get(name)
            if user is None:
                user = User(name=name, orgs=tuple(orgs), is_pro=pro)
                self._users[name] = user
            else:
                user.orgs = tuple(dict.fromkeys((*user.orgs, *orgs)))
                user.is_pro = pro
            for org in orgs:
                self._users.setdefault(org, User(name=org, is_org=True))
            return self.add_token(name, token, role=role)

    def add_token(self, user: str, token: str | None = None, *, role: Role = "write") -> str:
        """Give an existing user one more token; returns it."""
        if role not in ("read", "write"):
            raise ValueError(f"role must be 'read' or 'write', got {role!r}")
        if token is not None and (not isinstance(token, str) or not token.strip()):
            raise ValueError("token must be a non-empty str")
        with self._lock:
            owner = self._users.get(user)
            if owner is None or owner.is_org:
                raise ValueError(f"unknown user {user!r}")
            token = token or f"hf_{_secrets.token_urlsafe(24)}"
            self._tokens[token] = TokenInfo(owner, role, f"{user}-{role}-{len(self._tokens) + 1}")
            return token

    def revoke_token(self, token: str) -> None:
        """Make a token invalid (requests with it get 401)."""
        with self._lock:
            self._tokens.pop(token, None)

    # --------------------------------------------------------------------------------------- seeding
    def create_repo(
        self,
        repo_id: str,
        *,
        repo_type: str = "model",
        private: bool = False,
        files: Mapping[str, bytes | str] | None = None,
    ) -> None:
        """Create a model or dataset repo directly (no HTTP), optionally with files."""
        check_repo_id(repo_id)
        if repo_type not in ("model", "dataset"):
            raise ValueError("repo_type must be 'model' or 'dataset' (use create_space for Spaces)")
        with self._lock:
            initial = {".gitattributes": DEFAULT_GITATTRIBUTES.encode(), **_as_bytes(files)}
            self._new_repo(repo_type, repo_id, visibility="private" if private else "public", files=initial)

    def create_space(
        self,
        repo_id: str,
        *,
        sdk: str = "gradio",
        files: Mapping[str, bytes | str] | None = None,
        hardware: str = FREE_HARDWARE,
        stage: str | None = "RUNNING",
        private: bool = False,
        secrets: Mapping[str, str] | None = None,
        variables: Mapping[str, str] | None = None,
        sleep_time: int | None = None,
        storage: str | None = None,
        durations: Durations | None = None,
    ) -> None:
        """Create a Space directly (no HTTP, no rate limit) — fast enough for thousands.

        Args:
            repo_id: `namespace/name` (the namespace need not be a registered user).
            sdk: `gradio`, `streamlit`, `docker` or `static`.
            files: Files besides the Hub's default README/.gitattributes (default: a minimal app for `sdk`).
            hardware: Requested (and, when RUNNING, current) hardware.
            stage: `"RUNNING"` (default): running right away on `hardware`; None: a build starts now and the
                outcome is decided from the files; any other stage (e.g. `"PAUSED"`, `"BUILD_ERROR"`,
                `"SLEEPING"`) is set as is.
            private: Private visibility.
            secrets: Secret values by key.
            variables: Variable values by key.
            sleep_time: User sleep time (gcTimeout) in seconds.
            storage: Persistent storage tier.
            durations: Per-Space lifecycle durations.
        """
        check_repo_id(repo_id)
        if sdk not in SDKS:
            raise ValueError(f"sdk must be one of {SDKS}, got {sdk!r}")
        if hardware not in HARDWARE_NAMES:
            raise ValueError(f"hardware must be one of {HARDWARE_NAMES}, got {hardware!r}")
        if storage is not None and storage not in ("small", "medium", "large"):
            raise ValueError(f"storage must be small, medium or large, got {storage!r}")
        if stage is not None and not isinstance(stage, str):
            raise TypeError("stage must be a str or None")
        content = default_space_files(repo_id, sdk)
        content.update(_as_bytes(files) if files is not None else sample_app_files(sdk))
        with self._lock:
            now = self.now()
            repo = self._new_repo(
                "space", repo_id, visibility="private" if private else "public", files=content, sdk=sdk
            )
            space = repo.space
            assert space is not None
            space.requested = None if sdk == "static" else hardware
            space.sleep_time = sleep_time
            space.storage = storage
            space.durations = durations.copy() if durations else None
            for key, value in (secrets or {}).items():
                space.secrets[key] = SecretEntry(value, None, now)
            for key, value in (variables or {}).items():
                space.variables[key] = SecretEntry(value, None, now)
            if stage is None:
                self._start_build(repo, keep_serving=False)
            elif stage == "RUNNING":
                plan = self._plan(repo)
                space.set_running(now, plan.run_log)
            else:
                space.set_stage(now, stage)

    def delete_repo(self, repo_id: str, *, repo_type: str = "space") -> None:
        """Delete a repo directly."""
        with self._lock:
            if self._repos.pop((repo_type, repo_id), None) is None:
                raise KeyError(f"no {repo_type} {repo_id!r}")
            self.git.delete_repo((repo_type, repo_id))

    def repo_exists(self, repo_id: str, *, repo_type: str = "space") -> bool:
        """Whether the repo exists."""
        return (repo_type, repo_id) in self._repos

    def list_repo_ids(self, *, repo_type: str = "space") -> list[str]:
        """Ids of every repo of a type."""
        with self._lock:
            return [rid for (rtype, rid) in self._repos if rtype == repo_type]

    # --------------------------------------------------------------------------------- space controls
    def space_runtime(self, repo_id: str) -> dict[str, Any]:
        """The runtime JSON a `GET .../runtime` would answer now (not counted, no faults)."""
        with self._lock:
            space = self._space(repo_id)
            return space.runtime()

    def space_stage(self, repo_id: str) -> str:
        """The Space's current stage."""
        return str(self.space_runtime(repo_id)["stage"])

    def space_state(self, repo_id: str) -> SpaceState:
        """The live `SpaceState` (settled to now) — for assertions on secrets, sleep time, logs, ..."""
        with self._lock:
            return self._space(repo_id)

    def set_durations(
        self,
        repo_id: str | None = None,
        *,
        build: float | None = None,
        start: float | None = None,
        hardware_switch: float | None = None,
        wake: float | None = None,
        commit_to_build: float | None = None,
    ) -> None:
        """Set lifecycle durations (hub seconds) for one Space, or the hub defaults when `repo_id` is None.

        See `Durations` for each one; `commit_to_build=0` starts a commit's build in the commit's instant.
        """
        values = {
            "build": build,
            "start": start,
            "hardware_switch": hardware_switch,
            "wake": wake,
            "commit_to_build": commit_to_build,
        }
        for name, value in values.items():
            if value is not None and (not isinstance(value, int | float) or value < 0):
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        with self._lock:
            if repo_id is None:
                target = self.default_durations
            else:
                space = self._space(repo_id)
                if space.durations is None:
                    space.durations = self.default_durations.copy()
                target = space.durations
            for name, value in values.items():
                if value is not None:
                    setattr(target, name, float(value))

    def fail_next_build(
        self,
        repo_id: str,
        logs: Sequence[str] | None = None,
        *,
        message: str | None = None,
        phase: str = "build",
    ) -> None:
        """Make the Space's next build (after a commit, restart or `rebuild`) fail, whatever its files say.

        Args:
            repo_id: The Space.
            logs: Log lines of the failing phase (default: one line saying what failed).
            message: The runtime's `errorMessage` (default: the Hub's usual one for the phase).
            phase: `"build"`: BUILD_ERROR, `logs` are the build log (a dependency or Dockerfile error);
                `"start"`: the build succeeds and the app crashes at start (RUNTIME_ERROR, `logs` are the run
                log); `"schedule"`: the build succeeds and no machine can run it (RUNTIME_ERROR,
                "Scheduling failure: not enough hardware capacity", no run log); `"config"`: CONFIG_ERROR at
                once (an invalid README front matter).
        """
        if phase not in FAILURE_PHASES:
            raise ValueError(f"phase must be one of {FAILURE_PHASES}, got {phase!r}")
        default_logs, default_message = _FAILURE_DEFAULTS[phase]
        lines = _log_lines(default_logs if logs is None else logs)
        failure = ForcedFailure(phase, lines, default_message if message is None else message)
        with self._lock:
            self._space(repo_id).forced_failure = failure

    def crash(
        self,
        repo_id: str,
        logs: Sequence[str] | None = None,
        *,
        message: str = "Exit code: 1. Reason: crashed",
    ) -> None:
        """Make a running Space crash now: RUNTIME_ERROR, with these lines appended to its run log."""
        with self._lock:
            space = self._space(repo_id)
            now = self.now()
            extra = _log_lines(logs or ["Killed\n"])
            space.run_log = [(t, line) for t, line in space.run_log if t <= now]
            space.run_log += [(now, line) for line in extra]
            space.set_stage(now, "RUNTIME_ERROR", error_message=message)
            self.counters.actions["crash"] += 1

    def visit(self, repo_id: str) -> None:
        """Traffic to the Space's app: resets the sleep timer and wakes a sleeping Space."""
        with self._lock:
            space = self._space(repo_id)
            now = self.now()
            if space.stage in ("STOPPED", "SLEEPING"):
                space.wake(now, self._durations(space), self.wall_at)
                self.counters.actions["wake"] += 1
            elif space.stage == "RUNNING":
                space.last_active = now

    def rebuild(self, repo_id: str) -> None:
        """Start a new build of the Space from its current files (what a commit does)."""
        with self._lock:
            self._start_build(self._repos_get("space", repo_id), keep_serving=True)

    # ---------------------------------------------------------------------------- rate limits / faults
    def set_rate_limit(
        self, requests: int | None, window_seconds: float = 300.0, *, bucket: str = "api"
    ) -> None:
        """Limit each token (anonymous callers share one quota) to `requests` per fixed window.

        `RateLimit`/`RateLimit-Policy` headers are then sent on every response of the bucket, and a 429 with
        `Retry-After` once the quota is used (hub-api.md §4.1). `bucket` is `"api"` (all `/api` routes) or
        `"resolvers"` (file downloads). `requests=None` removes the limit.
        """
        if bucket not in ("api", "resolvers"):
            raise ValueError(f"bucket must be 'api' or 'resolvers', got {bucket!r}")
        with self._lock:
            if requests is None:
                self.rate_limiter.limits.pop(bucket, None)
                return
            if not isinstance(requests, int) or isinstance(requests, bool) or requests < 1:
                raise ValueError(f"requests must be a positive int, got {requests!r}")
            if not isinstance(window_seconds, int | float) or window_seconds <= 0:
                raise ValueError(f"window_seconds must be positive, got {window_seconds!r}")
            self.rate_limiter.limits[bucket] = RateLimit(requests, float(window_seconds))
            self.rate_limiter.windows.clear()

    def add_fault(
        self,
        kind: FaultKind,
        *,
        route: str | None = None,
        probability: float = 1.0,
        count: int | None = None,
        status: int = 503,
        seconds: float = 1.0,
        after: bool = False,
    ) -> Fault:
        """Inject a fault (see `Fault` for the kinds); returns it (its `injected` counts hits)."""
        fault = Fault(kind, route, probability, count, status, seconds, after)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every fault."""
        with self._lock:
            self.faults.clear()

    def seed(self, seed: int) -> None:
        """Reseed the fault RNG."""
        self.rng.seed(seed)

    def route_names(self) -> list[str]:
        """Names of every route (the keys of `counters.requests`, and what `Fault.route` matches)."""
        return [route.name for route in self.router.routes]

    # ----------------------------------------------------------------------------------- transports
    def transport(self) -> httpx2.AsyncBaseTransport:
        """An httpx async transport that serves requests in-process (responses may stream)."""
        from ._serve import HubTransport

        return HubTransport(self)

    @property
    def asgi_app(self) -> ASGIApp:
        """The hub as an ASGI 3 application."""
        from ._serve import make_asgi_app

        return make_asgi_app(self)

    @contextlib.contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Run the hub on a real socket in a background thread; yields its base URL (needs `uvicorn`)."""
        from ._serve import serve_in_thread

        with serve_in_thread(self, host, port) as url:
            yield url

    # ------------------------------------------------------------------------------------- dispatch
    async def handle(self, req: SimRequest) -> SimResponse:
        """Answer one request: routing, rate limit, auth, faults, handler, common headers, counters.

        Raises:
            DropConnection: a `drop` fault fired; the transport must close the connection.
        """
        counters = self.counters
        counters.in_flight += 1
        counters.max_in_flight = max(counters.max_in_flight, counters.in_flight)
        streaming = False
        try:
            response = await self._handle(req)
            if response.stream is not None:
                streaming = True
                response.stream = self._track_stream(response.stream)
            return response
        finally:
            if not streaming:
                counters.in_flight -= 1

    def _track_stream(self, stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        def done() -> None:
            self.counters.in_flight -= 1

        return _TrackedStream(stream, done)

    async def _handle(self, req: SimRequest) -> SimResponse:
        counters = self.counters
        found = self.router.match(req.method, req.path)
        route_name = found[0].name if found else "UNKNOWN"
        counters.requests[route_name] += 1
        bucket = "resolvers" if "/resolve/" in req.path and not req.path.startswith("/api/") else "api"
        allowed = True
        rl_headers: list[tuple[str, str]] = []
        if not req.path.startswith(PRESIGNED_PREFIX):
            # Pre-signed URLs stand for object storage (S3), which the Hub's quotas do not cover.
            with self._lock:
                allowed, rl_headers = self.rate_limiter.check(bucket, req.token or "anonymous", self.now())
        if not allowed:
            counters.rate_limited += 1
            response = HubError(
                429,
                f"You have exceeded our rate limit for '{bucket}' requests. Please wait and retry.",
                headers=rl_headers,
            ).to_response()
            return self._finish(req, response, [])
        try:
            if found is None:
                counters.unknown_routes.append(f"{req.method} {req.path}")
                status = 405 if self.router.allows(req.path) else 404
                raise HubError(status, "Sorry, we can't find the page you are looking for.")
            route, groups = found
            self._caller(req)  # 401 for an unknown token, on every route (hub-api.md §2.5)
            if route.name in self._json_routes and len(req.body) > MAX_JSON_BODY:
                raise HubError(413, "Payload Too Large: request body exceeds 1MB")
            fired = self._fire_faults(route.name)
            for fault in fired:
                if fault.kind == "latency":
                    await self.sleep(fault.seconds)
            for fault in fired:
                if fault.kind == "error":
                    raise HubError(fault.status, f"Simulated server error ({fault.status})")
                if fault.kind == "drop" and not fault.after:
                    raise DropConnection(route.name)
            stale = max((f.seconds for f in fired if f.kind == "stale_runtime"), default=None)
            token = _STALE.set(stale)
            try:
                with self._lock:
                    response = await route.handler(req, **groups)
            finally:
                _STALE.reset(token)
            if any(f.kind == "drop" and f.after for f in fired):
                raise DropConnection(route.name)
            slow = max((f.seconds for f in fired if f.kind == "slow_body"), default=None)
            if slow is not None and response.stream is None:
                response.stream = self._slow_body(response.body, slow)
                response.body = b""
        except HubError as exc:
            response = exc.to_response()
        except DropConnection:
            raise
        except Exception as exc:  # a simulator bug: answer 500 but record it so tests can fail on it
            counters.server_errors.append(f"{req.method} {req.path}: {type(exc).__name__}: {exc}")
            response = json_response({"error": "Internal Error - We're working hard to fix this."}, 500)
        return self._finish(req, response, rl_headers)

    def _finish(self, req: SimRequest, response: SimResponse, extra: list[tuple[str, str]]) -> SimResponse:
        trace = req.headers.get("x-request-id") or req.headers.get("x-amzn-trace-id") or _secrets.token_hex(8)
        # Real responses echo the client's trace id (hub-api.md §1.3, cassettes).
        response.headers += [
            ("X-Request-Id", f"Root=1-{int(time.time()):x}-{_secrets.token_hex(12)};{trace}"),
            ("X-Powered-By", "huggingface-moon"),
            # Hub-clock time, so that clients comparing log timestamps with `Date` (the official client's
            # no-follow log replay ends at the first event after it) see one consistent timeline.
            ("Date", email.utils.formatdate(self._epoch + self.now(), usegmt=True)),
            *extra,
        ]
        if (
            response.stream is None
            and response.body
            and response.header("ETag") is None
            and not req.path.startswith(PRESIGNED_PREFIX)
        ):
            # Every API body carries the web framework's weak ETag (as in every recording).
            response.headers.append(("ETag", _weak_etag(response.body)))
        # Header values must be single-line ASCII on every transport (httpx encodes ASCII, h11 refuses CR/LF):
        # messages that quote a revision or path the caller sent are percent-encoded where they are not.
        response.headers = [(name, _header_safe(value)) for name, value in response.headers]
        if response.status == 429:
            # Keep the rate-limit headers only once.
            seen: set[str] = set()
            deduped = []
            for name, value in response.headers:
                if name in ("RateLimit", "RateLimit-Policy", "Retry-After"):
                    if name in seen:
                        continue
                    seen.add(name)
                deduped.append((name, value))
            response.headers = deduped
        self.counters.statuses[response.status] += 1
        return response

    def _fire_faults(self, route_name: str) -> list[Fault]:
        with self._lock:
            fired = [f for f in self.faults if f.matches(route_name) and f.fire(self.rng)]
        for fault in fired:
            self.counters.faults[fault.kind] += 1
        return fired

    async def _slow_body(self, body: bytes, seconds: float) -> AsyncIterator[bytes]:
        parts = max(1, min(10, len(body)))
        size = -(-len(body) // parts) if body else 0
        for i in range(parts):
            await self.sleep(seconds / parts)
            yield body[i * size : (i + 1) * size]

    # ----------------------------------------------------------------------------------------- auth
    def _caller(self, req: SimRequest) -> TokenInfo | None:
        token = req.token
        if token is None:
            return None
        info = self._tokens.get(token)
        if info is None:
            raise HubError(401, MSG_BAD_TOKEN, error_message=MSG_BAD_TOKEN)
        return info

    def _can_read(self, caller: TokenInfo | None, repo: RepoRecord) -> bool:
        if repo.visibility != "private":
            return True
        return caller is not None and self._member(caller.user, repo.namespace)

    @staticmethod
    def _member(user: User, namespace: str) -> bool:
        return user.name == namespace or namespace in user.orgs

    def authorize_repo(self, req: SimRequest, repo_type: str, repo_id: str, *, write: bool) -> None:
        """Raise the Hub's error unless the caller may read (or write) the repo.

        401 for a bad token; 404 `RepoNotFound` for a missing or invisible repo (401 + `RepoNotFound` when
        anonymous, hub-api.md §3.2); 403 when a visible repo is not the caller's or the token is read-only.
        """
        caller = self._caller(req)
        repo = self._repos.get((repo_type, repo_id))
        if repo is None or not self._can_read(caller, repo):
            raise HubError(401 if caller is None else 404, MSG_REPO_NOT_FOUND, error_code="RepoNotFound")
        if write:
            self._require_write(caller, repo.namespace)

    def authorize_download(self, req: SimRequest, repo_type: str, repo_id: str) -> None:
        """Raise `GatedRepo` (401 anonymous, else 403) when an outsider asks for a gated repo's file.

        Gating hides a repo's files, not the repo: its info and listings stay readable (hub-api.md §3.1-§3.2,
        `GatedRepoError`; the messages are the Hub's usual ones [inferred]).
        """
        repo = self._repos.get((repo_type, repo_id))
        if repo is None or not repo.gated:
            return
        caller = self._caller(req)
        if caller is not None and self._member(caller.user, repo.namespace):
            return
        if caller is None:
            message = (
                f"Access to {repo_type} {repo_id} is restricted. You must have access to it and be "
                "authenticated to access it. Please log in."
            )
            raise HubError(401, message, error_code="GatedRepo")
        message = f"Access to {repo_type} {repo_id} is restricted and you are not in the authorized list."
        raise HubError(403, message, error_code="GatedRepo")

    def _require_write(self, caller: TokenInfo | None, namespace: str) -> TokenInfo:
        if caller is None:
            raise HubError(401, "You must be authenticated to perform this action")
        if not self._member(caller.user, namespace):
            raise HubError(403, f"You don't have the rights to write to the '{namespace}' namespace")
        if caller.role != "write":
            raise HubError(403, "You have read access but not the required permissions for this operation.")
        return caller

    def after_commit(self, repo_type: str, repo_id: str, commit_sha: str) -> None:
        """Called by the file routes after a commit to `main`: a Space rebuilds from its new files."""
        with self._lock:
            repo = self._repos.get((repo_type, repo_id))
            if repo is None or repo.space is None:
                return
            self.counters.actions["commit"] += 1
            self._settle(repo)
            if repo.space.stage == "PAUSED":
                return  # a paused Space stays paused until its owner restarts it
            if not self._changes_files(repo, commit_sha):
                return  # an empty commit leaves the files, and so the running build, as they were
            space = repo.space
            durations = self._durations(space)
            space.queue_build(self.now(), self._plan(repo, commit_sha), durations, wall=self.wall_at)
            self.counters.actions["build"] += 1

    def _changes_files(self, repo: RepoRecord, commit_sha: str) -> bool:
        """Whether the commit's tree differs from its first parent's (README included: it configures)."""
        commit = self.git.resolve(repo.key, commit_sha)
        if not commit.parents:
            return True
        return commit.tree != self.git.resolve(repo.key, commit.parents[0]).tree

    # -------------------------------------------------------------------------------------- helpers
    def wall_at(self, t: float) -> str:
        """ISO time of hub time `t` as the Hub prints it."""
        return iso(self._epoch + t)

    def _durations(self, space: SpaceState) -> Durations:
        return space.durations or self.default_durations

    def _plan(self, repo: RepoRecord, commit_sha: str = "") -> BuildPlan:
        assert repo.space is not None
        files = {path: self.git.read_file(repo.key, path) or b"" for path in self.git.list_files(repo.key)}
        return plan_build(files, repo.space.sdk, commit_sha=commit_sha or (self.git.head(repo.key) or ""))

    def _start_build(self, repo: RepoRecord, *, keep_serving: bool, commit_sha: str = "") -> None:
        space = repo.space
        assert space is not None
        now = self.now()
        space.settle(now)
        space.start_build(
            now,
            self._plan(repo, commit_sha),
            self._durations(space),
            keep_serving=keep_serving,
            wall=self.wall_at,
        )
        self.counters.actions["build"] += 1

    def _settle(self, repo: RepoRecord) -> None:
        if repo.space is not None:
            repo.space.settle(self.now())

    def _space(self, repo_id: str) -> SpaceState:
        repo = self._repos_get("space", repo_id)
        assert repo.space is not None
        repo.space.settle(self.now())
        return repo.space

    def _repos_get(self, repo_type: str, repo_id: str) -> RepoRecord:
        repo = self._repos.get((repo_type, repo_id))
        if repo is None:
            raise KeyError(f"no {repo_type} {repo_id!r} on the simulated hub")
        return repo

    def _new_repo(
        self,
        repo_type: str,
        repo_id: str,
        *,
        visibility: str,
        files: Mapping[str, bytes],
        sdk: str | None = None,
        author: str | None = None,
    ) -> RepoRecord:
        key = (repo_type, repo_id)
        if key in self._repos:
            raise ValueError(f"{repo_type} {repo_id!r} already exists")
        now = self.now()
        self.git.create_repo(key, initial_files=dict(files), author=author or repo_id.split("/")[0])
        record = RepoRecord(repo_type, repo_id, _secrets.token_hex(12), now, visibility)
        if repo_type == "space":
            record.space = SpaceState(sdk=sdk or "gradio", subdomain=subdomain_of(repo_id))
            record.space.requested = None if sdk == "static" else FREE_HARDWARE
            record.space.last_active = now
            record.space.snapshot(now)
        self._repos[key] = record
        self.counters.actions["create_repo"] += 1
        return record

    def repo_url(self, req: SimRequest, repo_type: str, repo_id: str) -> str:
        """Web URL of a repo on this server (`{base}/spaces/ns/name`)."""
        prefix = {"model": "", "dataset": "datasets/", "space": "spaces/"}[repo_type]
        return f"{req.base_url}/{prefix}{repo_id}"

    def card_data(self, repo: RepoRecord) -> dict[str, Any] | None:
        """README front matter of the repo (its `cardData`)."""
        readme = self.git.read_file(repo.key, "README.md")
        if readme is None:
            return None
        try:
            card = parse_front_matter(readme.decode("utf-8", "replace"))
        except ValueError:
            return None
        if not card:
            return None
        out: dict[str, Any] = {}
        for key, value in card.items():
            # YAML scalars: booleans and integers are not strings in the Hub's cardData.
            if value in ("true", "false"):
                out[key] = value == "true"
            elif re.fullmatch(r"-?\d+", value):
                out[key] = int(value)
            else:
                out[key] = value
        return out

    def _register_routes(self) -> None:
        _api.register(self.router, self)
        # JSON API routes get the Hub's small-body limit; file routes (commits, LFS) carry content.
        self._json_routes = {route.name for route in self.router.routes if route.method != "GET"}
        from ._git import register_routes

        register_routes(self.router, self)

    def body_limit(self, method: str, path: str) -> int | None:
        """Largest body the route for (method, decoded path) accepts before its 413; None when unbounded.

        Servers read at most this much (plus one chunk) of a request body, so an endless upload cannot
        exhaust memory: JSON routes take 1 MB, commits their inline limit, storage uploads anything.
        """
        found = self.router.match(method, path)
        if found is None or method.upper() in ("GET", "HEAD"):
            return MAX_JSON_BODY  # nothing reads these bodies
        name = found[0].name
        if name in self._json_routes:
            return MAX_JSON_BODY
        if name.endswith("/commit/{rev}"):
            from ._git import MAX_COMMIT_BODY

            return MAX_COMMIT_BODY
        return None

    # exposed for _api (kept here so that they run under the hub lock)
    def caller(self, req: SimRequest) -> TokenInfo | None:
        """The token's owner, None when anonymous (401 for an unknown token)."""
        return self._caller(req)

    def user(self, name: str) -> User | None:
        """A user or org by name."""
        return self._users.get(name)


class _TrackedStream:
    """A response stream that runs `on_done` exactly once: at its end, on error, or when closed unread."""

    def __init__(self, inner: AsyncIterator[bytes], on_done: Callable[[], None]) -> None:
        self._inner = inner
        self._on_done: Callable[[], None] | None = on_done

    def __aiter__(self) -> _TrackedStream:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self._inner.__anext__()
        except BaseException:
            self._finish()
            raise

    def _finish(self) -> None:
        if self._on_done is not None:
            on_done, self._on_done = self._on_done, None
            on_done()

    async def aclose(self) -> None:
        """Close the underlying stream (an un-started generator included)."""
        self._finish()
        aclose = getattr(self._inner, "aclose", None)
        if aclose is not None:
            await aclose()


def _as_bytes(files: Mapping[str, bytes | str] | None) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for path, content in (files or {}).items():
        if not isinstance(path, str):
            raise TypeError("files keys must be str paths")
        if isinstance(content, str):
            out[path] = content.encode()
        elif isinstance(content, bytes | bytearray):
            out[path] = bytes(content)
        else:
            raise TypeError(f"files[{path!r}] must be bytes or str")
    return out


def _weak_etag(body: bytes) -> str:
    """Express's weak ETag: body length in hex and the first 27 characters of its base64 SHA-1."""
    digest = base64.b64encode(hashlib.sha1(body, usedforsecurity=False).digest()).decode()[:27]
    return f'W/"{len(body):x}-{digest}"'


_HEADER_UNSAFE = re.compile(r"[^\x20-\x7e\t]+")


def _header_safe(value: str) -> str:
    """`value` with every run of non-printable or non-ASCII characters percent-encoded as UTF-8."""
    if value.isascii() and value.isprintable():
        return value
    return _HEADER_UNSAFE.sub(lambda m: quote(m.group(0), safe=""), value)


def encode_cursor(offset: int) -> str:
    """Opaque pagination cursor (base64 JSON, like the Hub's)."""
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """Offset from a cursor; `HubError(400)` when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        offset = json.loads(raw)["o"]
    except (ValueError, KeyError, TypeError):
        raise HubError(400, "Invalid cursor") from None
    if not isinstance(offset, int) or offset < 0:
        raise HubError(400, "Invalid cursor")
    return offset


def next_link(req: SimRequest, offset: int) -> str:
    """Absolute `Link` header for the next page (hub-api.md §6.2, §14 item 15)."""
    query = [(k, v) for k, v in req.query if k != "cursor"] + [("cursor", encode_cursor(offset))]
    return f'<{req.base_url}{req.path}?{urlencode(query)}>; rel="next"'


# Stale-runtime fault of the current request (seconds), read by runtime-producing handlers.
_STALE: contextvars.ContextVar[float | None] = contextvars.ContextVar("hubsim_stale", default=None)


def current_staleness() -> float | None:
    """How stale runtime reads of the current request must be (a `stale_runtime` fault), or None."""
    return _STALE.get()


# Per failure phase of `fail_next_build`: the default log lines and `errorMessage`.
_FAILURE_DEFAULTS: dict[str, tuple[Sequence[str], str]] = {
    "build": (["ERROR: build failed"], "Build failed with exit code: 1"),
    "start": (
        ["Traceback (most recent call last):", "RuntimeError: the app crashed at start"],
        "Exit code: 1. Reason: RuntimeError: the app crashed at start",
    ),
    "schedule": ([], SCHEDULING_FAILURE),
    "config": ([], "Invalid README.md metadata"),
}


def _log_lines(lines: Sequence[str]) -> tuple[str, ...]:
    """Log lines as the simulator stores them: each ends with a newline."""
    return tuple(line if line.endswith("\n") else line + "\n" for line in lines)
