"""`SimulatedHub`: one in-memory Hugging Face Hub with its own clock (design.md §4, hub-api.md §14).

`HubState` holds the Hub's data and the operations its routes call; `SimulatedHub` adds what a test or a
server needs around it: seeding without HTTP, lifecycle and fault controls, rate limits, and `handle`,
through which every request passes whichever way it arrives (httpx transport, ASGI, socket). `handle`
applies rate limits, auth, faults and counters, and runs the route's handler under the hub lock. Handlers are
synchronous, so nothing waits while the lock is held; latency, slow bodies and log streams happen after it
is released.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx2

from ._builds import FAILURE_PHASES, SCHEDULING_FAILURE, SDKS, ForcedFailure
from ._control import Fault, FaultKind, RateLimit, RateLimiter
from ._dispatch import PRESIGNED_PREFIX, TrackedStream, corrupt, corrupt_stream, finish, slow_body
from ._git import MAX_COMMIT_BODY
from ._git_objects import DEFAULT_GITATTRIBUTES
from ._hardware import FREE_HARDWARE, HARDWARE_NAMES
from ._http import DropConnection, HubError, Router, SimRequest, SimResponse, json_response
from ._records import as_bytes, check_repo_id, default_space_files, sample_app_files
from ._routes import FILE_ROUTES, api_routes
from ._space import Durations, SecretEntry, SpaceState
from ._state import HubState
from ._transport import ASGIApp, HubTransport, make_asgi_app, serve_in_thread

MAX_JSON_BODY = 1_000_000


class SimulatedHub(HubState):
    """An in-memory Hugging Face Hub speaking the real wire format, with test controls.

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
        super().__init__(clock, speed=speed)
        self.rate_limiter = RateLimiter()
        self.faults: list[Fault] = []
        self.rng = random.Random(seed)
        self.router = Router()
        api = api_routes()
        self.router.add_table(api, self)
        self.router.add_table(FILE_ROUTES, self)
        # JSON API routes get the Hub's small-body limit; file routes (commits, LFS) carry content.
        self._json_routes = {spec.name for spec in api if spec.method != "GET"}

    def __repr__(self) -> str:
        return f"SimulatedHub(users={self.user_count}, repos={len(self.repos())}, clock={self.clock!r})"

    def advance(self, seconds: float) -> None:
        """Move a manual/virtual clock forward (needs a clock with `advance(seconds)`)."""
        advance = getattr(self.clock, "advance", None)
        if advance is None:
            raise TypeError(f"{self.clock!r} cannot be advanced; create the hub with clock='manual'")
        advance(seconds)

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
            initial = {".gitattributes": DEFAULT_GITATTRIBUTES.encode(), **as_bytes(files)}
            self.new_repo(repo_type, repo_id, visibility="private" if private else "public", files=initial)

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
            stage: `"RUNNING"` (default): running right away on `hardware`, with the build log (when
                `files` build) and run log of a build that ended just before; None: a build starts now and the
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
        content.update(as_bytes(files) if files is not None else sample_app_files(sdk))
        with self._lock:
            now = self.now()
            repo = self.new_repo(
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
                self.start_build(repo, keep_serving=False)
            elif stage == "RUNNING":
                plan = self.build_plan(repo)
                space.set_running(
                    now,
                    plan.run_log,
                    build_log=plan.built_log,
                    durations=self.durations(space),
                    wall=self.wall_at,
                )
            else:
                space.set_stage(now, stage)

    def delete_repo(self, repo_id: str, *, repo_type: str = "space") -> None:
        """Delete a repo directly."""
        with self._lock:
            self.remove_repo(repo_type, repo_id)

    def repo_exists(self, repo_id: str, *, repo_type: str = "space") -> bool:
        """Whether the repo exists."""
        return self.repo(repo_type, repo_id) is not None

    def list_repo_ids(self, *, repo_type: str = "space") -> list[str]:
        """Ids of every repo of a type."""
        with self._lock:
            return [repo.repo_id for repo in self.repos(repo_type)]

    # --------------------------------------------------------------------------------- space controls
    def space_runtime(self, repo_id: str) -> dict[str, Any]:
        """The runtime JSON a `GET .../runtime` would answer now (not counted, no faults)."""
        with self._lock:
            space = self.space(repo_id)
            return space.runtime()

    def space_stage(self, repo_id: str) -> str:
        """The Space's current stage."""
        return str(self.space_runtime(repo_id)["stage"])

    def space_state(self, repo_id: str) -> SpaceState:
        """The live `SpaceState` (settled to now) — for assertions on secrets, sleep time, logs, ..."""
        with self._lock:
            return self.space(repo_id)

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
                space = self.space(repo_id)
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
            self.space(repo_id).forced_failure = failure

    def crash(
        self,
        repo_id: str,
        logs: Sequence[str] | None = None,
        *,
        message: str = "Exit code: 1. Reason: crashed",
    ) -> None:
        """Make a running Space crash now: RUNTIME_ERROR, with these lines appended to its run log."""
        with self._lock:
            space = self.space(repo_id)
            now = self.now()
            extra = _log_lines(logs or ["Killed\n"])
            space.run_log = [(t, line) for t, line in space.run_log if t <= now]
            space.run_log += [(now, line) for line in extra]
            space.set_stage(now, "RUNTIME_ERROR", error_message=message)
            self.counters.actions["crash"] += 1

    def visit(self, repo_id: str) -> None:
        """Traffic to the Space's app: resets the sleep timer and wakes a sleeping Space."""
        with self._lock:
            space = self.space(repo_id)
            now = self.now()
            if space.stage in ("STOPPED", "SLEEPING"):
                space.wake(now, self.durations(space), self.wall_at)
                self.counters.actions["wake"] += 1
            elif space.stage == "RUNNING":
                space.last_active = now

    def rebuild(self, repo_id: str) -> None:
        """Start a new build of the Space from its current files (what a commit does)."""
        with self._lock:
            repo = self.repo("space", repo_id)
            if repo is None:
                raise KeyError(f"no space {repo_id!r} on the simulated hub")
            self.start_build(repo, keep_serving=True)

    def set_hardware_capacity(self, flavor: str, machines: int | None) -> None:
        """Model the Hub's limited machines of one flavor: at most `machines` Spaces run on it at once.

        A hardware request for a flavor whose machines are all taken is accepted but not scheduled, as on
        the Hub when a GPU is scarce: the Space keeps RUNNING on its old flavor with `requested` = the new
        one and `errorMessage` "Scheduling failure: not enough hardware capacity" (the Hub's wording of a
        scheduling failure; that it shows while the old flavor runs is inferred). A machine is taken by a
        Space running on the flavor or building/starting towards it. The wait ends at the first read or
        write of the waiting Space after a machine frees (another Space moves off, pauses, sleeps or is
        deleted, or the capacity grows): then the usual switch runs. Only a RUNNING Space's hardware
        request waits; starting a stopped Space is not limited. This exercises the client's hardware
        verdicts and fences (`wait_for_hardware`, `wait_until_running`, `temporary_hardware`) on an
        unbounded wait, where the `unscheduled_hardware` fault gives a fixed one.

        Args:
            flavor: A hardware flavor name.
            machines: How many Spaces can run on it at once (0: none); None removes the limit.
        """
        if flavor not in HARDWARE_NAMES:
            raise ValueError(f"flavor must be one of {HARDWARE_NAMES}, got {flavor!r}")
        if machines is not None and (
            not isinstance(machines, int) or isinstance(machines, bool) or machines < 0
        ):
            raise ValueError(f"machines must be an int >= 0 or None, got {machines!r}")
        with self._lock:
            if machines is None:
                self.hardware_capacity.pop(flavor, None)
            else:
                self.hardware_capacity[flavor] = machines

    # ---------------------------------------------------------------------------- rate limits / faults
    def set_rate_limit(
        self, requests: int | None, window_seconds: float = 300.0, *, bucket: str = "api"
    ) -> None:
        """Limit each token (anonymous callers share one quota) to `requests` per fixed window.

        The `RateLimit`/`RateLimit-Policy` headers every response carries then show this quota (without
        one, the hub's default quotas, never enforced), and a 429 with `Retry-After` answers once it is used.
        `bucket` is `"api"` (all `/api` routes) or `"resolvers"` (file downloads).
        `requests=None` removes the limit.
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
        message: str | None = None,
    ) -> Fault:
        """Inject a fault (see `Fault` for the kinds and what each one exercises); returns it.

        The returned fault's `injected` counts its hits. Examples::

            hub.add_fault("unscheduled_hardware", seconds=600, message="not enough hardware capacity")
            hub.add_fault("corrupt_body")  # every download's bytes stop matching their sha256
            hub.add_fault("warning", message="token; the token {token} expires soon")
            hub.add_fault("rate_limited", route="GET /api/spaces/{id}/runtime", count=20, seconds=5)
        """
        fault = Fault(kind, route, probability, count, status, seconds, after, message)
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
        return HubTransport(self)

    @property
    def asgi_app(self) -> ASGIApp:
        """The hub as an ASGI 3 application."""
        return make_asgi_app(self)

    @contextlib.contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Run the hub on a real socket in a background thread; yields its base URL (needs `uvicorn`)."""
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
            response = await self._answer(req)
            if response.stream is not None:
                streaming = True
                response.stream = TrackedStream(response.stream, self._stream_done)
            return response
        finally:
            if not streaming:
                counters.in_flight -= 1

    def _stream_done(self) -> None:
        self.counters.in_flight -= 1

    async def _answer(self, req: SimRequest) -> SimResponse:
        found = self.router.match(req.method, req.path)
        route_name = found[0].name if found else "UNKNOWN"
        self.counters.requests[route_name] += 1
        bucket = "resolvers" if "/resolve/" in req.path and not req.path.startswith("/api/") else "api"
        allowed = True
        rl_headers: list[tuple[str, str]] = []
        if not req.path.startswith(PRESIGNED_PREFIX):
            # Pre-signed URLs stand for object storage (S3), which the Hub's quotas do not cover.
            with self._lock:
                allowed, rl_headers = self.rate_limiter.check(bucket, req.token or "anonymous", self.now())
        if not allowed:
            self.counters.rate_limited += 1
            message = f"You have exceeded our rate limit for '{bucket}' requests. Please wait and retry."
            return self._finish(req, HubError(429, message, headers=rl_headers).to_response(), [])
        try:
            if found is None:
                self.counters.unknown_routes.append(f"{req.method} {req.path}")
                status = 405 if self.router.allows(req.path) else 404
                raise HubError(status, "Sorry, we can't find the page you are looking for.")
            response = await self._run_route(req, *found)
        except HubError as exc:
            response = exc.to_response()
        except DropConnection:
            raise
        except Exception as exc:  # a simulator bug: answer 500 but record it so tests can fail on it
            self.counters.server_errors.append(f"{req.method} {req.path}: {type(exc).__name__}: {exc}")
            response = json_response({"error": "Internal Error - We're working hard to fix this."}, 500)
        return self._finish(req, response, rl_headers)

    async def _run_route(self, req: SimRequest, route: Any, groups: dict[str, str]) -> SimResponse:
        """Check the token and body size, apply the faults that fire, and call the handler under the lock."""
        self.caller(req)  # 401 for an unknown token, on every route (hub-api.md §2.5)
        if route.name in self._json_routes and len(req.body) > MAX_JSON_BODY:
            raise HubError(413, "Payload Too Large: request body exceeds 1MB")
        with self._lock:
            fired = [f for f in self.faults if f.matches(route.name, req.method) and f.fire(self.rng)]
        for fault in fired:
            self.counters.faults[fault.kind] += 1
        for fault in fired:
            if fault.kind == "latency":
                await self.sleep(fault.seconds)
        for fault in fired:
            if fault.kind == "rate_limited":
                self.counters.rate_limited += 1
                raise _storm_error(req.path, fault.seconds)
            if fault.kind == "error":
                raise HubError(fault.status, f"Simulated server error ({fault.status})")
            if fault.kind == "drop" and not fault.after:
                raise DropConnection(route.name)
        stale = max((f.seconds for f in fired if f.kind == "stale_runtime"), default=None)
        hold = next(((f.seconds, f.message) for f in fired if f.kind == "unscheduled_hardware"), None)
        with self.stale_reads(stale), self.unscheduled_hardware(hold), self._lock:
            response: SimResponse = route.handler(req, **groups)
        if any(f.kind == "drop" and f.after for f in fired):
            raise DropConnection(route.name)
        if any(f.kind == "corrupt_body" for f in fired) and response.status in (200, 206):
            if response.stream is not None:
                response.stream = corrupt_stream(response.stream)
            else:
                response.body = corrupt(response.body)
        response.headers += [
            ("X-HF-Warning", f.warning_header(req.token, req.path)) for f in fired if f.kind == "warning"
        ]
        slow = max((f.seconds for f in fired if f.kind == "slow_body"), default=None)
        if slow is not None and response.stream is None:
            response.stream = slow_body(response.body, slow, self.sleep)
            response.body = b""
        return response

    def _finish(self, req: SimRequest, response: SimResponse, extra: list[tuple[str, str]]) -> SimResponse:
        finish(req, response, extra, self.epoch_time())
        self.counters.statuses[response.status] += 1
        return response

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
            return MAX_COMMIT_BODY
        return None


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


def _storm_error(path: str, seconds: float) -> HubError:
    """The Hub's 429 of a `rate_limited` fault: its message, `RateLimit` and `Retry-After` headers."""
    bucket = "resolvers" if "/resolve/" in path and not path.startswith("/api/") else "api"
    reset = max(1, math.ceil(seconds))
    message = f"You have exceeded our rate limit for '{bucket}' requests. Please wait and retry."
    headers = [("RateLimit", f'"{bucket}";r=0;t={reset}'), ("Retry-After", str(reset))]
    return HubError(429, message, headers=headers)


def _log_lines(lines: Sequence[str]) -> tuple[str, ...]:
    """Log lines as the simulator stores them: each ends with a newline."""
    return tuple(line if line.endswith("\n") else line + "\n" for line in lines)
