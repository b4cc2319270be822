"""`aiospaces demo`: the seed guide's workflow, as a fleet, against a simulated Hub served on 127.0.0.1.

Everything goes over real HTTP through a real `SpacesClient`: create a dozen Spaces concurrently, upload their
app code, set a secret and a variable, request GPU hardware, watch every stage and hardware transition live,
run a `temporary_hardware` block, pause everything, and print a summary with the simulator's own counters.

The simulator runs on a sped-up clock shared with the client, so simulated builds of tens of seconds pass in a
fraction of a second while every poll interval stays realistic in simulated time.
"""

from __future__ import annotations

import json
import re
import secrets
import tempfile
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import httpx2

from ..models import stage_name
from ._commands import (
    RUNTIME_COLUMNS,
    describe_change,
    emit_runtime_change,
    for_each,
    runtime_cells,
    text,
)
from ._exit import ExitCode, UsageError

if TYPE_CHECKING:
    from ..client import SpacesClient
    from ._render import LiveTable, Output

DEMO_USER = "demo-user"
GPU = "t4-medium"
TEMPORARY_GPU = "a10g-large"
DEFAULT_SPEED = 25.0
# Real seconds the whole demo may take before it gives up (the README promises under a minute).
REAL_TIME_BUDGET = 55.0

APP_PY = """\
import gradio as gr


def greet(name: str) -> str:
    return f"Hello {name}!"


gr.Interface(fn=greet, inputs="text", outputs="text").launch()
"""
REQUIREMENTS_TXT = "gradio>=4\n"


def readme(index: int) -> str:
    """The Space card: front matter the Hub reads to pick the SDK (the simulator builds from it too)."""
    return (
        f"---\ntitle: Demo {index:02d}\nsdk: gradio\nsdk_version: 4.44.0\napp_file: app.py\n---\n\n"
        f"Demo Space {index:02d}, managed by aiospaces.\n"
    )


_SPACE_PATH = re.compile(r"^/(?:api/)?spaces/([^/]+)/([^/?.]+)")
SHARED = "(shared)"


class CountingTransport(httpx2.AsyncBaseTransport):
    """Counts the client's requests per Space (from the URL, or the body of `POST /api/repos/create`).

    Requests that serve many Spaces at once (a fleet watch's `list_spaces` pages) count under `SHARED`. The
    simulator's own counters give the totals per route; this gives the per-Space split the summary shows.
    """

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.per_space: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.per_space[self._space_of(request)] += 1
        return await self.inner.handle_async_request(request)

    @staticmethod
    def _space_of(request: httpx2.Request) -> str:
        match = _SPACE_PATH.match(request.url.path)
        if match:
            return f"{match.group(1)}/{match.group(2)}"
        if request.url.path == "/api/repos/create":
            try:
                body = json.loads(request.content)
                return f"{body.get('organization') or DEMO_USER}/{body['name']}"
            except (ValueError, KeyError, TypeError, httpx2.RequestNotRead):
                return SHARED
        return SHARED

    async def aclose(self) -> None:
        await self.inner.aclose()


class Tracker:
    """The latest runtime of every Space, fed by one `watch_many` loop; phases await conditions on it."""

    def __init__(self, output: Output, table: LiveTable, clock: Any, created_at: Mapping[str, float]) -> None:
        self.output = output
        self.table = table
        self.clock = clock
        self.created_at = created_at
        self.latest: dict[str, Any] = {}
        self.first_running: dict[str, float] = {}
        self.transitions: dict[str, int] = {}
        self._changed = anyio.Event()

    def record(self, repo_id: str, previous: Any, current: Any) -> None:
        """Take one `RuntimeChange` into account, show it, and wake whoever awaits a condition."""
        self.latest[repo_id] = current
        self.transitions[repo_id] = self.transitions.get(repo_id, 0) + 1
        if stage_name(current.stage) == "RUNNING" and repo_id not in self.first_running:
            self.first_running[repo_id] = self.clock.now() - self.created_at.get(repo_id, 0.0)
        emit_runtime_change(
            self.output, repo_id, previous, current, simulated_time=round(self.clock.now(), 3)
        )
        self.table.update(
            repo_id, runtime_cells(current), line="  " + describe_change(repo_id, previous, current)
        )
        self._changed.set()
        self._changed = anyio.Event()

    async def until(self, repo_ids: list[str], predicate: Callable[[Any], bool]) -> None:
        """Return once every Space in `repo_ids` was seen and its latest runtime satisfies `predicate`."""
        while not all(r in self.latest and predicate(self.latest[r]) for r in repo_ids):
            await self._changed.wait()


def _running_on(hardware: str) -> Callable[[Any], bool]:
    def predicate(runtime: Any) -> bool:
        return (
            stage_name(runtime.stage) == "RUNNING"
            and text(runtime.hardware) == hardware
            and text(runtime.requested_hardware) == hardware
        )

    return predicate


def _stage_is(stage: str) -> Callable[[Any], bool]:
    return lambda runtime: stage_name(runtime.stage) == stage


async def run_demo(output: Output, *, spaces: int = 12, speed: float | None = None) -> int:
    """Run the demo and return the exit code (0 when every step worked)."""
    from ..hubsim import SimulatedHub, SpeedClock

    clock = SpeedClock(speed or DEFAULT_SPEED)
    hub = SimulatedHub(clock=clock)
    token = "hf_demo_" + secrets.token_hex(16)
    hub.add_user(DEMO_USER, token=token)
    serving = hub.serve(host="127.0.0.1", port=0)
    try:
        url: str = await anyio.to_thread.run_sync(serving.__enter__)
    except RuntimeError as exc:
        if isinstance(exc.__cause__, ImportError):
            # Installed without the `server` extra: the message says what to install.
            raise UsageError(str(exc)) from None
        raise
    try:
        with anyio.move_on_after(REAL_TIME_BUDGET) as budget:
            code = await _workflow(output, hub, clock, url, token, spaces)
        if budget.cancelled_caught:
            output.error(f"the demo did not finish within {REAL_TIME_BUDGET:g} real seconds")
            return ExitCode.TIMEOUT
        return code
    finally:
        await anyio.to_thread.run_sync(serving.__exit__, None, None, None)


async def _workflow(output: Output, hub: Any, clock: Any, url: str, token: str, count: int) -> int:
    from ..client import SpacesClient

    repo_ids = [f"{DEMO_USER}/demo-space-{i:02d}" for i in range(count)]
    output.emit("hub", url=url, speed=clock.speed, spaces=repo_ids)
    output.line(
        f"Simulated Hub on {url} (simulated time runs x{clock.speed:g}); {count} Spaces of {DEMO_USER}."
    )
    step = _Steps(output, total=6)
    created_at: dict[str, float] = {}

    counting = CountingTransport(httpx2.AsyncHTTPTransport())
    async with SpacesClient(endpoint=url, token=token, clock=clock, transport=counting) as client:
        step("create", f"creating {count} Spaces concurrently (gradio SDK)")

        async def create(repo_id: str) -> None:
            created_at[repo_id] = clock.now()
            await client.create_repo(repo_id, repo_type="space", space_sdk="gradio")

        await _each(client, repo_ids, create, output, "create")

        with output.live_table(RUNTIME_COLUMNS, title="Spaces (live)") as table:
            tracker = Tracker(output, table, clock, created_at)
            async with anyio.create_task_group() as tg:
                tg.start_soon(_watch, client, repo_ids, tracker)
                await _phases(output, client, clock, repo_ids, tracker, step)
                tg.cancel_scope.cancel()

        _summary(output, hub, repo_ids, tracker, counting)
    output.emit("done", ok=True, simulated_seconds=round(clock.now(), 1))
    output.line(
        f"Done: {count} Spaces configured, upgraded, restored and paused in {clock.now():.0f} simulated s."
    )
    return ExitCode.OK


async def _watch(client: SpacesClient, repo_ids: list[str], tracker: Tracker) -> None:
    async for change in client.watch_many(repo_ids):
        tracker.record(change.repo_id, change.previous, change.current)


async def _phases(
    output: Output, client: SpacesClient, clock: Any, repo_ids: list[str], tracker: Tracker, step: _Steps
) -> None:
    step("upload", "uploading app.py, requirements.txt and README.md to every Space")
    with tempfile.TemporaryDirectory(prefix="aiospaces-demo-") as tmp:
        folder = Path(tmp)
        (folder / "app.py").write_text(APP_PY)
        (folder / "requirements.txt").write_text(REQUIREMENTS_TXT)

        async def upload(repo_id: str) -> None:
            index = repo_ids.index(repo_id)
            await client.upload_folder(
                repo_id=repo_id,
                folder_path=folder,
                repo_type="space",
                allow_patterns=["app.py", "requirements.txt"],
                commit_message="Upload app code",
            )
            await client.upload_file(
                path_or_fileobj=readme(index).encode(),
                path_in_repo="README.md",
                repo_id=repo_id,
                repo_type="space",
                commit_message="Add Space card",
            )

        await _each(client, repo_ids, upload, output, "upload")

    step("settings", "setting a secret (HF_TOKEN) and a variable (MODEL_REPO_ID) on every Space")

    async def configure(repo_id: str) -> None:
        # A made-up secret value: the demo never prints it, and neither does the SDK.
        await client.add_space_secret(repo_id, "HF_TOKEN", "hf_secret_" + secrets.token_hex(8))
        await client.add_space_variable(repo_id, "MODEL_REPO_ID", f"{DEMO_USER}/model")

    await _each(client, repo_ids, configure, output, "settings")
    await tracker.until(repo_ids, _stage_is("RUNNING"))

    step("hardware", f"requesting {GPU} for every Space and waiting until each one runs on it")

    async def upgrade(repo_id: str) -> Any:
        return await client.request_space_hardware(repo_id, GPU)

    await _each(client, repo_ids, upgrade, output, "hardware")
    await tracker.until(repo_ids, _running_on(GPU))

    target = repo_ids[0]
    step(
        "temporary", f"temporary_hardware: {target} on {TEMPORARY_GPU} for a training run, then back to {GPU}"
    )
    async with client.temporary_hardware(target, TEMPORARY_GPU):
        output.emit("training", repo_id=target, hardware=TEMPORARY_GPU)
        output.line(f"  training on {TEMPORARY_GPU}…")
        await clock.sleep(30)
    output.line(f"  block exited: {target} requested back on {GPU}")
    await tracker.until([target], _running_on(GPU))

    step("pause", "pausing every Space (no billing while paused)")
    await _each(client, repo_ids, client.pause_space, output, "pause")
    await tracker.until(repo_ids, _stage_is("PAUSED"))


class _Steps:
    def __init__(self, output: Output, *, total: int) -> None:
        self.output = output
        self.total = total
        self.done = 0

    def __call__(self, name: str, description: str) -> None:
        self.done += 1
        self.output.emit("step", step=self.done, of=self.total, name=name, description=description)
        self.output.line(f"[{self.done}/{self.total}] {description}")


async def _each(
    client: SpacesClient,
    repo_ids: list[str],
    operation: Callable[[str], Awaitable[Any]],
    output: Output,
    description: str,
) -> None:
    """One step over every Space at once (a `Fleet` run); a Space's failure stops the demo with its error."""
    report = await for_each(
        client, repo_ids, operation, concurrency=len(repo_ids), output=output, description=description
    )
    for outcome in report.failed:
        # Against our own simulator a failed step is a bug: surface the first error as it is.
        assert outcome.error is not None
        raise outcome.error


def _summary(
    output: Output, hub: Any, repo_ids: list[str], tracker: Tracker, counting: CountingTransport
) -> None:
    requests = counting.per_space
    rows = []
    for repo_id in repo_ids:
        runtime = tracker.latest.get(repo_id)
        to_running = tracker.first_running.get(repo_id)
        output.emit(
            "summary",
            repo_id=repo_id,
            stage=text(runtime.stage) if runtime is not None else None,
            hardware=text(runtime.hardware) if runtime is not None else None,
            requested_hardware=text(runtime.requested_hardware) if runtime is not None else None,
            seconds_to_running=round(to_running, 1) if to_running is not None else None,
            transitions=tracker.transitions.get(repo_id, 0),
            requests=requests[repo_id],
        )
        rows.append(
            [
                repo_id,
                text(runtime.stage) if runtime is not None else None,
                text(runtime.requested_hardware) if runtime is not None else None,
                to_running,
                tracker.transitions.get(repo_id, 0),
                requests[repo_id],
            ]
        )
    output.table(
        ["Space", "final stage", "requested hardware", "to RUNNING (sim s)", "changes seen", "requests"],
        rows,
        title="Summary",
    )
    shared = requests[SHARED]
    client_total = sum(requests.values())
    hub_total = hub.counters.total_requests
    output.emit("requests", client_total=client_total, shared=shared, hub_total=hub_total)
    output.line(
        f"Requests: {client_total} sent by the client ({shared} of them shared by all Spaces: fleet-watch "
        f"list pages); the simulated Hub counted {hub_total}."
    )
