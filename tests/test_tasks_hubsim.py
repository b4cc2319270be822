"""The task queue against the simulated Hub, and the seed guide's read-modify-write scheduler beside it."""

from __future__ import annotations

import csv
import io
import random
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

from aiospaces import SpacesClient
from aiospaces.hubsim import SimulatedHub
from aiospaces.tasks import TaskLeaseLostError, TaskQueue, TaskStatus
from aiospaces.testing import VirtualClock

TOKEN = "hf_alice_tasks"
REPO = "alice/tasks"
ENDPOINT = "https://hub.local"
COMMIT_ROUTE = "POST /api/{type}s/{id}/commit/{rev}"


class _Barrier:
    """All `parties` tasks wait until the last one arrives (reusable, one round at a time)."""

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.arrived = 0
        self.event = anyio.Event()

    async def wait(self) -> None:
        event = self.event
        self.arrived += 1
        if self.arrived == self.parties:
            self.arrived = 0
            self.event = anyio.Event()
            event.set()
        else:
            await event.wait()


class _GateCommits(httpx2.AsyncBaseTransport):
    """Holds the first `parties` commit requests until all of them arrived: everyone has read the same head
    before anyone writes, the race window of a read-modify-write, made deterministic."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, parties: int) -> None:
        self.inner = inner
        self.barrier = _Barrier(parties)
        self.remaining = parties

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST" and "/commit/" in request.url.path and self.remaining > 0:
            self.remaining -= 1
            await self.barrier.wait()
        return await self.inner.handle_async_request(request)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=1_800_000_000.0)


@pytest.fixture
def hub(clock: VirtualClock) -> SimulatedHub:
    hub = SimulatedHub(clock=clock)
    hub.add_user("alice", token=TOKEN)
    hub.create_repo(REPO, repo_type="dataset")
    return hub


@pytest.fixture
async def client(hub: SimulatedHub, clock: VirtualClock) -> AsyncIterator[SpacesClient]:
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=hub.transport(), clock=clock) as client:
        yield client


async def _history(client: SpacesClient) -> list[str]:
    """Titles of every commit on main, oldest first (the Hub's commit listing, Link-paginated)."""
    titles: list[str] = []
    url: str | None = f"/api/datasets/{REPO}/commits/main"
    while url is not None:
        response = await client._session.request("GET", url, idempotent=True)
        titles.extend(item["title"] for item in response.json())
        url = response.links.get("next", {}).get("url")
    return titles[::-1]


# --- the seed guide's scheduler, ported as written (hf_hub_download + upload_file, no parent_commit) -------


async def _seed_read(client: SpacesClient, cache: Path) -> str:
    path = await client.hf_hub_download(REPO, "tasks.csv", repo_type="dataset", cache_dir=cache)
    return await anyio.Path(path).read_text()


async def seed_get_task(client: SpacesClient, cache: Path) -> tuple[str, str] | None:
    text = await _seed_read(client, cache)
    for row in csv.reader(io.StringIO(text)):
        if row and row[2] == "PENDING":  # (`row and`: skip the blank lines the seed's add_task leaves)
            return row[0], row[1]
    return None


async def seed_add_task(
    client: SpacesClient, cache: Path, task: tuple[str, str], between: Callable[[], Awaitable[None]]
) -> None:
    model_id, dataset_id = task
    tasks = await _seed_read(client, cache)
    await between()
    await client.upload_file(
        repo_id=REPO,
        repo_type="dataset",
        path_in_repo="tasks.csv",
        path_or_fileobj=(tasks + f"\n{model_id},{dataset_id},PENDING").encode(),
    )


async def seed_mark_as_done(
    client: SpacesClient, cache: Path, task: tuple[str, str], between: Callable[[], Awaitable[None]]
) -> None:
    model_id, dataset_id = task
    tasks = await _seed_read(client, cache)
    await between()
    await client.upload_file(
        repo_id=REPO,
        repo_type="dataset",
        path_in_repo="tasks.csv",
        path_or_fileobj=tasks.replace(
            f"{model_id},{dataset_id},PENDING", f"{model_id},{dataset_id},DONE"
        ).encode(),
    )


async def _nothing() -> None:
    return None


@pytest.mark.anyio
async def test_seed_read_modify_write_loses_and_double_runs_tasks(
    client: SpacesClient, tmp_path: Path
) -> None:
    """Why the queue exists: 20 seed workers that read before any of them writes keep 10 of 200 added tasks
    and run every surviving task 20 times."""
    await client.upload_file(path_or_fileobj=b"", path_in_repo="tasks.csv", repo_id=REPO, repo_type="dataset")
    workers = 20
    barrier = _Barrier(workers)

    async def producer(worker: int) -> None:
        cache = tmp_path / f"cache-{worker}"
        for i in range(10):
            await seed_add_task(client, cache, (f"model-{worker}", f"data-{i}"), barrier.wait)

    async with anyio.create_task_group() as tg:
        for worker in range(workers):
            tg.start_soon(producer, worker)
    rows = [row for row in csv.reader(io.StringIO(await _seed_read(client, tmp_path / "c"))) if row]
    assert len(rows) == 10  # 190 of the 200 added tasks were silently overwritten

    runs: Counter[tuple[str, str]] = Counter()

    async def consumer(worker: int) -> None:
        cache = tmp_path / f"cache-{worker}"
        while True:
            task = await seed_get_task(client, cache)
            await barrier.wait()  # every worker looked before any finished: they all found the same task
            if task is None:
                return
            runs[task] += 1
            await seed_mark_as_done(client, cache, task, barrier.wait)

    async with anyio.create_task_group() as tg:
        for worker in range(workers):
            tg.start_soon(consumer, worker)
    assert len(runs) == 10
    assert set(runs.values()) == {20}  # every task trained 20 times


@pytest.mark.anyio
async def test_twenty_workers_two_hundred_tasks_each_done_exactly_once(
    hub: SimulatedHub, client: SpacesClient, clock: VirtualClock
) -> None:
    """20 concurrent workers add 200 tasks and process them: every task ends DONE exactly once, none is
    claimed twice and none is lost — the final CSV and the commit history both show it."""
    workers = 20
    queues = [TaskQueue(client, REPO, wall_clock=clock.now, lease_seconds=86_400) for _ in range(workers)]
    for index, queue in enumerate(queues):
        queue._random.seed(index)  # reproducible jitter
    rng = random.Random(7)
    executed: list[tuple[str, str]] = []

    async def producer(queue: TaskQueue, worker: int) -> None:
        await queue.add_many([(f"model-{worker}", f"data-{i}") for i in range(10)])

    async def consumer(queue: TaskQueue, worker: str) -> None:
        while (task := await queue.claim(worker=worker)) is not None:
            executed.append((task.task_id, worker))
            await clock.sleep(rng.uniform(1, 30))  # training
            await queue.complete(task)

    async with anyio.create_task_group() as tg:
        for index, queue in enumerate(queues):
            tg.start_soon(producer, queue, index)
    async with anyio.create_task_group() as tg:
        for index, queue in enumerate(queues):
            tg.start_soon(consumer, queue, f"worker-{index}")

    final = await queues[0].all()
    ids = [task.task_id for task in final]
    assert sorted(ids, key=int) == [str(i) for i in range(1, 201)]
    assert {(t.model_id, t.dataset_id) for t in final} == {
        (f"model-{w}", f"data-{i}") for w in range(20) for i in range(10)
    }
    assert all(task.status == TaskStatus.DONE and task.attempts == 1 for task in final)
    runs = Counter(task_id for task_id, _ in executed)
    assert len(executed) == 200
    assert set(runs.values()) == {1}
    assert {task.task_id: task.worker for task in final} == dict(executed)
    assert len({worker for _, worker in executed}) > 1  # the work was shared

    titles = await _history(client)
    claims = Counter(m.group(1) for t in titles if (m := re.fullmatch(r"Claim task (\d+) for worker-\d+", t)))
    completes = Counter(
        m.group(1) for t in titles if (m := re.fullmatch(r"Complete task (\d+) \(worker-\d+\)", t))
    )
    assert claims == completes == Counter({str(i): 1 for i in range(1, 201)})
    assert titles.count("Add 10 task(s)") == 20
    assert sum(queue.conflicts for queue in queues) > 0  # they really raced; 412s were retried


@pytest.mark.anyio
async def test_racing_writers_conflict_once_and_both_changes_survive(
    hub: SimulatedHub, clock: VirtualClock
) -> None:
    """Two queues that read the same head before either writes: one commit wins, the other gets a 412,
    re-reads and retries — both adds survive, and the two claims get different tasks."""
    transport = _GateCommits(hub.transport(), parties=2)
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=transport, clock=clock) as client:
        a, b = TaskQueue(client, REPO, wall_clock=clock.now), TaskQueue(client, REPO, wall_clock=clock.now)
        async with anyio.create_task_group() as tg:
            tg.start_soon(a.add, "m", "d1")
            tg.start_soon(b.add, "m", "d2")
        assert sorted(t.dataset_id for t in await a.all()) == ["d1", "d2"]
        assert a.conflicts + b.conflicts == 1

        transport.barrier, transport.remaining = _Barrier(2), 2
        claimed: dict[str, Any] = {}

        async def claim(queue: TaskQueue, name: str) -> None:
            claimed[name] = await queue.claim(worker=name)

        async with anyio.create_task_group() as tg:
            tg.start_soon(claim, a, "a")
            tg.start_soon(claim, b, "b")
        assert {claimed["a"].task_id, claimed["b"].task_id} == {"1", "2"}
        assert a.conflicts + b.conflicts == 2


@pytest.mark.anyio
async def test_dead_workers_task_is_reclaimed_after_its_lease(client: SpacesClient) -> None:
    """A task claimed by a worker that died is reclaimed once its lease expires; the dead worker's late
    completion is refused instead of overwriting the new owner."""
    now = [1000.0]
    queue = TaskQueue(client, REPO, wall_clock=lambda: now[0], lease_seconds=60)
    await queue.add("m", "d")
    dead = await queue.claim(worker="dead")
    assert dead is not None
    assert await queue.claim(worker="alive") is None  # still leased
    now[0] += 61
    alive = await queue.claim(worker="alive")
    assert alive is not None
    assert (alive.task_id, alive.attempts) == (dead.task_id, 2)
    with pytest.raises(TaskLeaseLostError):
        await queue.complete(dead)
    renewed = await queue.renew(alive)
    assert renewed.lease_expires_at == now[0] + 60
    done = await queue.complete(alive)
    assert (done.status, done.worker) == (TaskStatus.DONE, "alive")
    assert [t.status for t in await queue.all()] == [TaskStatus.DONE]
    failed_task = await queue.add("m", "e")
    claim = await queue.claim(worker="w")
    assert claim is not None
    assert claim.task_id == failed_task.task_id
    failed = await queue.fail(claim, "CUDA out of memory")
    assert (failed.status, failed.reason) == (TaskStatus.FAILED, "CUDA out of memory")
    assert [t.task_id for t in await queue.pending()] == []


@pytest.mark.anyio
async def test_claim_whose_commit_answer_is_lost_is_not_claimed_twice(
    hub: SimulatedHub, client: SpacesClient
) -> None:
    """If the connection drops after the Hub applied a claim, the queue sees its own change on the next
    read and returns that task instead of claiming another one."""
    queue = TaskQueue(client, REPO)
    await queue.add_many([("m", "d1"), ("m", "d2")])
    fault = hub.add_fault("drop", route=COMMIT_ROUTE, after=True, count=1)
    task = await queue.claim(worker="w")
    assert fault.injected == 1
    assert task is not None
    assert task.task_id == "1"
    rows = await queue.all()
    assert [(t.task_id, t.status) for t in rows] == [("1", TaskStatus.RUNNING), ("2", TaskStatus.PENDING)]
    assert sum(1 for title in await _history(client) if title.startswith("Claim")) == 1


@pytest.mark.anyio
async def test_queue_reads_the_seed_file_and_keeps_it_readable(client: SpacesClient) -> None:
    """A seed-format tasks.csv (no header, no ids) is read as is, and after a claim the seed's own reader
    still finds the remaining PENDING task."""
    seed = (
        b"multimodalart/sd-fine-tunable,Wauplin/concept-1,DONE\n"
        b"multimodalart/sd-fine-tunable,Wauplin/concept-2,PENDING\n"
        b"multimodalart/sd-fine-tunable,Wauplin/concept-3,PENDING\n"
    )
    await client.upload_file(
        path_or_fileobj=seed, path_in_repo="tasks.csv", repo_id=REPO, repo_type="dataset"
    )
    queue = TaskQueue(client, REPO)
    assert [(t.task_id, t.dataset_id, t.status) for t in await queue.all()] == [
        ("1", "Wauplin/concept-1", TaskStatus.DONE),
        ("2", "Wauplin/concept-2", TaskStatus.PENDING),
        ("3", "Wauplin/concept-3", TaskStatus.PENDING),
    ]
    task = await queue.claim(worker="gpu")
    assert task is not None
    assert task.dataset_id == "Wauplin/concept-2"
    text = (await client.read_file(REPO, "tasks.csv", repo_type="dataset", revision="main") or b"").decode()
    pending = [(row[0], row[1]) for row in csv.reader(io.StringIO(text)) if row and row[2] == "PENDING"]
    assert pending == [("multimodalart/sd-fine-tunable", "Wauplin/concept-3")]


def test_queue_rejects_bad_arguments() -> None:
    """Bad constructor arguments raise ValueError/TypeError naming them."""
    client: Any = object()
    with pytest.raises(ValueError, match="repo_id"):
        TaskQueue(client, "a/b/c")
    with pytest.raises(ValueError, match="repo_type"):
        TaskQueue(client, "a/b", repo_type="datasets")
    with pytest.raises(ValueError, match="lease_seconds"):
        TaskQueue(client, "a/b", lease_seconds=0)
    with pytest.raises(ValueError, match="filename"):
        TaskQueue(client, "a/b", filename="../tasks.csv")
    with pytest.raises(TypeError, match="wall_clock"):
        TaskQueue(client, "a/b", wall_clock=5)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_exactly_once_under_dropped_and_failed_commits(
    hub: SimulatedHub, client: SpacesClient, clock: VirtualClock
) -> None:
    """With commits failing (503) or applied but their answer lost (dropped connection), 10 workers still run
    each of 60 tasks exactly once, and the history holds exactly one claim and one completion per task."""
    queues = [TaskQueue(client, REPO, wall_clock=clock.now, lease_seconds=86_400) for _ in range(10)]
    await queues[0].add_many([("m", f"d{i}") for i in range(60)])
    hub.seed(11)
    dropped = hub.add_fault("drop", route=COMMIT_ROUTE, after=True, probability=0.15)
    failed = hub.add_fault("error", route=COMMIT_ROUTE, status=503, probability=0.1)
    executed: list[str] = []

    async def consumer(queue: TaskQueue, worker: str) -> None:
        while (task := await queue.claim(worker=worker)) is not None:
            executed.append(task.task_id)
            await clock.sleep(2)
            await queue.complete(task)

    async with anyio.create_task_group() as tg:
        for index, queue in enumerate(queues):
            queue._random.seed(index)
            tg.start_soon(consumer, queue, f"worker-{index}")
    hub.clear_faults()
    assert dropped.injected > 0
    assert failed.injected > 0
    assert sorted(executed, key=int) == [str(i) for i in range(1, 61)]
    assert all(t.status == TaskStatus.DONE for t in await queues[0].all())
    titles = await _history(client)
    claims = Counter(m.group(1) for t in titles if (m := re.fullmatch(r"Claim task (\d+) .*", t)))
    completes = Counter(m.group(1) for t in titles if (m := re.fullmatch(r"Complete task (\d+) .*", t)))
    assert claims == completes == Counter({str(i): 1 for i in range(1, 61)})
