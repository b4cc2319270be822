"""The `examples/temporary_upgrade.py` app end to end against the simulated Hub, in virtual time."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import pytest

from aiospaces import SpacesClient
from aiospaces.tasks import Task, TaskQueue, TaskStatus
from aiospaces.testing import VirtualClock

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "temporary_upgrade.py"


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("temporary_upgrade_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


app = _load_example()


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=1_800_000_000.0)


@pytest.fixture
def hub(clock: VirtualClock) -> Any:
    return app.simulated_hub(clock)


@pytest.fixture
async def client(hub: Any, clock: VirtualClock) -> AsyncIterator[SpacesClient]:
    async with SpacesClient(
        token=app.DEMO_TOKEN, endpoint="https://hub.local", transport=hub.transport(), clock=clock
    ) as client:
        yield client


async def _hardware(client: SpacesClient) -> tuple[str | None, str | None]:
    runtime = await client.get_space_runtime(app.DEMO_SPACE)
    return runtime.hardware, runtime.requested_hardware


@pytest.mark.anyio
async def test_demo_runs_every_task_on_gpu_and_returns_to_cpu(
    client: SpacesClient, clock: VirtualClock
) -> None:
    """The CLI's demo trains every pending task on t4-medium, uploads each model, marks the tasks DONE and
    leaves the Space on cpu-basic."""
    lines: list[str] = []
    trainer = app.make_trainer(app.DEMO_USER, clock.sleep)
    status = await app.run_cli(["--worker", "w1", "demo"], client=client, train=trainer, echo=lines.append)
    assert status == 0
    assert f"{app.DEMO_SPACE} runs on t4-medium" in lines
    tasks = await TaskQueue(client, app.DEMO_TASKS).all()
    assert [(t.task_id, t.status, t.worker) for t in tasks] == [
        ("1", TaskStatus.DONE, ""),  # already DONE in the seed's file
        ("2", TaskStatus.DONE, "w1"),
        ("3", TaskStatus.DONE, "w1"),
    ]
    for task_id in ("2", "3"):
        files = await client.list_repo_files(f"demo/sd-fine-tunable-ft-concept-{task_id}-{task_id}")
        assert {"README.md", "model.safetensors"} <= set(files)
    assert (await _hardware(client))[1] == "cpu-basic"
    await client.wait_for_hardware(app.DEMO_SPACE, "cpu-basic", timeout=3600)
    assert await _hardware(client) == ("cpu-basic", "cpu-basic")


@pytest.mark.anyio
async def test_space_returns_to_cpu_when_training_raises(client: SpacesClient, clock: VirtualClock) -> None:
    """When training raises, the task is FAILED with the reason, the error propagates, the other task stays
    PENDING, and the Space is put back on cpu-basic."""
    queue = TaskQueue(client, app.DEMO_TASKS, wall_clock=clock.now)
    calls: list[str] = []

    async def explode(client: SpacesClient, task: Task) -> str:
        calls.append(task.task_id)
        assert (await _hardware(client))[0] == "t4-medium"  # training really runs on the GPU
        raise app.TrainingError("CUDA error: device-side assert triggered")

    with pytest.raises(app.TrainingError):
        await app.run_worker(client, queue, app.DEMO_SPACE, worker="w", train=explode, echo=lambda _: None)
    assert calls == ["2"]
    tasks = {t.task_id: t for t in await queue.all()}
    assert tasks["2"].status == TaskStatus.FAILED
    assert "device-side assert" in tasks["2"].reason
    assert tasks["3"].status == TaskStatus.PENDING
    assert (await _hardware(client))[1] == "cpu-basic"
    await client.wait_for_hardware(app.DEMO_SPACE, "cpu-basic", timeout=3600)


@pytest.mark.anyio
async def test_keep_going_fails_one_task_and_finishes_the_others(
    client: SpacesClient, clock: VirtualClock
) -> None:
    """With keep_going, a task whose training raises is FAILED and the rest are DONE in the same GPU phase."""
    queue = TaskQueue(client, app.DEMO_TASKS, wall_clock=clock.now)
    await queue.add("acme/diverge-net", "demo/concept-4")
    report = await app.run_worker(
        client,
        queue,
        app.DEMO_SPACE,
        worker="w",
        train=app.make_trainer(app.DEMO_USER, clock.sleep),
        keep_going=True,
        echo=lambda _: None,
    )
    assert report.gpu_hardware == "t4-medium"
    assert [t.task_id for t, _ in report.done] == ["2", "3"]
    assert [t.task_id for t, _ in report.failed] == ["4"]
    statuses = [t.status for t in await queue.all()]
    assert statuses == [TaskStatus.DONE, TaskStatus.DONE, TaskStatus.DONE, TaskStatus.FAILED]
    assert (await _hardware(client))[1] == "cpu-basic"


@pytest.mark.anyio
async def test_space_returns_to_cpu_when_the_worker_is_cancelled(
    client: SpacesClient, clock: VirtualClock
) -> None:
    """Cancelling the worker mid-training still puts the Space back on cpu-basic; the claimed task keeps its
    lease so another worker can reclaim it later."""
    training = anyio.Event()

    async def forever(client: SpacesClient, task: Task) -> str:
        training.set()
        await clock.sleep(10**9)
        raise AssertionError("not reached")

    queue = TaskQueue(client, app.DEMO_TASKS, wall_clock=clock.now)
    async with anyio.create_task_group() as tg:

        async def worker() -> None:
            await app.run_worker(
                client, queue, app.DEMO_SPACE, worker="w", train=forever, echo=lambda _: None
            )

        tg.start_soon(worker)
        await training.wait()
        assert (await _hardware(client))[0] == "t4-medium"
        tg.cancel_scope.cancel()
    assert (await _hardware(client))[1] == "cpu-basic"
    task = next(t for t in await queue.all() if t.task_id == "2")
    assert task.status == TaskStatus.RUNNING
    assert task.lease_expires_at is not None
    # Once the lease has run out, another worker reclaims the task (its second attempt).
    clock.advance(task.lease_expires_at - clock.now() + 1)
    other = TaskQueue(client, app.DEMO_TASKS, wall_clock=clock.now)
    claimed = []
    while (claim := await other.claim(worker="w2")) is not None:
        claimed.append((claim.task_id, claim.worker, claim.attempts))
    assert ("2", "w2", 2) in claimed


@pytest.mark.anyio
async def test_cli_add_and_status(client: SpacesClient) -> None:
    """`add` schedules a task through the queue and `status` lists every task."""
    lines: list[str] = []
    assert await app.run_cli(["add", "google/gemma-2b", "demo/poems"], client=client, echo=lines.append) == 0
    assert lines == ["added task 4: google/gemma-2b on demo/poems"]
    lines.clear()
    assert await app.run_cli(["status"], client=client, echo=lines.append) == 0
    assert len(lines) == 5  # header + 4 tasks
    assert "google/gemma-2b" in lines[-1]
    assert "PENDING" in lines[-1]


@pytest.mark.anyio
async def test_task_is_released_when_the_gpu_never_comes(client: SpacesClient, clock: VirtualClock) -> None:
    """If the hardware wait times out before training starts, the claimed task is PENDING again at once (not
    stuck RUNNING until its lease expires), training never ran, and the Space is back on cpu-basic."""
    from aiospaces.errors import WaitTimeoutError

    queue = TaskQueue(client, app.DEMO_TASKS, wall_clock=clock.now)
    calls: list[str] = []

    async def train(client: SpacesClient, task: Task) -> str:
        calls.append(task.task_id)
        return "never"

    with pytest.raises(WaitTimeoutError):
        await app.run_worker(
            client, queue, app.DEMO_SPACE, worker="w", train=train, hardware_timeout=1.0, echo=lambda _: None
        )
    assert calls == []
    tasks = {t.task_id: t for t in await queue.all()}
    assert tasks["2"].status == TaskStatus.PENDING
    assert tasks["2"].worker == ""
    assert tasks["2"].attempts == 1
    assert (await _hardware(client))[1] == "cpu-basic"
