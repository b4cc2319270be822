"""The seed guide's "temporarily upgrade your Space" app, rewritten on aiospaces.

The guide's Space fine-tunes a model on demand: tasks (`model_id,dataset_id,STATUS`) wait in a `tasks.csv`
of a Hub dataset; when one is pending, the Space requests a GPU, trains, marks the task DONE and goes back to
the free CPU. Here:

- the scheduler is `aiospaces.tasks.TaskQueue`: claims are atomic (a commit with `parent_commit`, retried on
  412), so concurrent workers never run a task twice nor erase each other's updates, and a task held by a
  worker that died is reclaimed after its lease;
- the GPU phase is `client.temporary_hardware(space, "t4-medium", restore="cpu-basic")`: the Space goes back
  to `cpu-basic` when the block ends, whatever happens in it — an exception in training, a cancellation,
  Ctrl-C;
- a small CLI stands in for the gradio form.

Run it against the embedded simulated Hub (the default; nothing leaves the process)::

    python examples/temporary_upgrade.py demo

or against any Hub endpoint (a real one, or `aiospaces hubsim` on a socket)::

    export HF_TOKEN=hf_...  # from the environment: a --token argument shows in `ps` and shell history
    python examples/temporary_upgrade.py --endpoint http://127.0.0.1:8123 \\
        --space alice/trainer --tasks alice/training-tasks add bert-base-uncased alice/reviews
    python examples/temporary_upgrade.py --endpoint ... --space ... --tasks ... run
    python examples/temporary_upgrade.py --endpoint ... --space ... --tasks ... status
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
import attrs

from aiospaces import SpacesClient
from aiospaces.tasks import Task, TaskQueue, TaskStatus

FREE_HARDWARE = "cpu-basic"

Train = Callable[[SpacesClient, Task], Awaitable[str]]


class TrainingError(RuntimeError):
    """The (simulated) training step failed."""


def make_trainer(
    owner: str, sleep: Callable[[float], Awaitable[None]] = anyio.sleep, seconds: float = 5.0
) -> Train:
    """The GPU step: "fine-tune" `task.model_id` on `task.dataset_id` and upload the result as a model repo
    under `owner` (the Space's namespace: its token can write there).

    Stands in for real training (which would run inside the Space, on the GPU): it waits `seconds` (through
    `sleep`, so a simulated or virtual clock can speed it up), then uploads a model card and weights. A model
    id containing "diverge" fails, to show what happens when training raises.
    """

    async def train_and_upload(client: SpacesClient, task: Task) -> str:
        await sleep(seconds)
        if "diverge" in task.model_id:
            raise TrainingError(f"loss diverged while fine-tuning {task.model_id} on {task.dataset_id}")
        name = f"{task.model_id.split('/')[-1]}-ft-{task.dataset_id.split('/')[-1]}-{task.task_id}"
        repo_id = f"{owner}/{name}"
        await client.create_repo(repo_id, exist_ok=True)
        card = (
            f"# {name}\n\nFine-tuned from `{task.model_id}` on `{task.dataset_id}` (task {task.task_id}).\n"
        )
        await client.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo_id)
        await client.upload_file(
            path_or_fileobj=bytes(1024),
            path_in_repo="model.safetensors",
            repo_id=repo_id,
            commit_message="weights",
        )
        return repo_id

    return train_and_upload


@attrs.define
class RunReport:
    """What one worker did: tasks completed (with the model each produced) and tasks that failed."""

    done: list[tuple[Task, str]] = attrs.field(factory=list)
    failed: list[tuple[Task, str]] = attrs.field(factory=list)
    gpu_hardware: str | None = None  # the hardware the Space actually ran on during the GPU phase


async def run_worker(
    client: SpacesClient,
    queue: TaskQueue,
    space_id: str,
    *,
    worker: str,
    hardware: str = "t4-medium",
    train: Train | None = None,
    keep_going: bool = False,
    hardware_timeout: float | None = 1800.0,
    echo: Callable[[str], None] = print,
) -> RunReport:
    """Process pending tasks on upgraded hardware, then put the Space back on cpu-basic.

    The GPU is requested only once there is a task (claimed first, so an empty queue costs nothing), and all
    tasks claimed meanwhile run in the same GPU phase. If training raises, the task is marked FAILED; with
    `keep_going=False` (default) the error then leaves the block — the Space still goes back to cpu-basic —
    and is re-raised, leaving the other tasks PENDING for the next run. If the GPU cannot be had (the
    hardware wait times out, the request is refused), the claimed task is released (PENDING again) before
    the error propagates.
    """
    train = train if train is not None else make_trainer(space_id.split("/")[0])
    report = RunReport()
    task = await queue.claim(worker=worker)
    if task is None:
        echo("no pending task: staying on cpu-basic")
        return report
    echo(f"claimed task {task.task_id} ({task.model_id} on {task.dataset_id}); requesting {hardware}")
    entered = False
    try:
        async with client.temporary_hardware(
            space_id, hardware, restore=FREE_HARDWARE, timeout=hardware_timeout
        ) as runtime:
            entered = True
            report.gpu_hardware = runtime.hardware
            echo(f"{space_id} runs on {runtime.hardware}")
            while task is not None:
                try:
                    model_repo = await train(client, task)
                except Exception as exc:
                    reason = f"{type(exc).__name__}: {exc}"
                    await queue.fail(task, reason)
                    report.failed.append((task, reason))
                    echo(f"task {task.task_id} FAILED: {reason}")
                    if not keep_going:
                        raise
                else:
                    await queue.complete(task)
                    report.done.append((task, model_repo))
                    echo(f"task {task.task_id} DONE -> {model_repo}")
                task = await queue.claim(worker=worker)
            echo(f"queue empty: putting {space_id} back on {FREE_HARDWARE}")
    except Exception:
        if not entered and task is not None:
            # No GPU (timeout, refused, failed build; temporary_hardware has already put the Space back):
            # hand the task back now instead of leaving it RUNNING until its lease expires.
            await queue.release(task)
            echo(f"could not get {hardware}: task {task.task_id} is PENDING again")
        raise
    return report


# --- the embedded simulated Hub ---------------------------------------------------------------------------

DEMO_USER = "demo"
DEMO_TOKEN = "hf_demo_token_for_the_simulated_hub"
DEMO_SPACE = "demo/dreambooth-training"
DEMO_TASKS = "demo/dreambooth-task-scheduler"
# The seed guide's example file: headerless `model_id,dataset_id,STATUS` rows.
DEMO_CSV = (
    "multimodalart/sd-fine-tunable,Wauplin/concept-1,DONE\n"
    "multimodalart/sd-fine-tunable,Wauplin/concept-2,PENDING\n"
    "multimodalart/sd-fine-tunable,Wauplin/concept-3,PENDING\n"
)


def simulated_hub(clock: Any = None, *, speed: float = 60.0) -> Any:
    """A simulated Hub seeded like the guide: a training Space on cpu-basic and the task dataset."""
    from aiospaces.hubsim import SimulatedHub

    hub = SimulatedHub(clock=clock) if clock is not None else SimulatedHub(speed=speed)
    hub.add_user(DEMO_USER, token=DEMO_TOKEN)
    hub.create_space(DEMO_SPACE, hardware=FREE_HARDWARE)
    hub.create_repo(DEMO_TASKS, repo_type="dataset", files={"tasks.csv": DEMO_CSV})
    return hub


# --- CLI ----------------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="The seed guide's temporary-GPU training app on aiospaces (default: a simulated Hub)."
    )
    parser.add_argument("--endpoint", help="Hub endpoint (default: an embedded simulated Hub)")
    parser.add_argument("--token", help="Hub token (default: HF_TOKEN / the token file; unused in the demo)")
    parser.add_argument("--space", default=DEMO_SPACE, help="the training Space")
    parser.add_argument("--tasks", default=DEMO_TASKS, help="the dataset holding tasks.csv")
    parser.add_argument("--hardware", default="t4-medium", help="hardware for the training phase")
    parser.add_argument(
        "--worker", default=f"{socket.gethostname()}-{os.getpid()}", help="this worker's name"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="seed the simulated Hub, run every task, show the result")
    add = commands.add_parser("add", help="schedule a task")
    add.add_argument("model_id")
    add.add_argument("dataset_id")
    run = commands.add_parser("run", help="process pending tasks on upgraded hardware")
    run.add_argument("--keep-going", action="store_true", help="continue after a failed task")
    commands.add_parser("status", help="list the tasks")
    return parser


def _print_tasks(tasks: Sequence[Task], echo: Callable[[str], None]) -> None:
    echo(f"{'id':>4}  {'status':8} {'model_id':32} {'dataset_id':28} worker / reason")
    for task in tasks:
        detail = task.reason if task.status == TaskStatus.FAILED else task.worker
        echo(f"{task.task_id:>4}  {task.status!s:8} {task.model_id:32} {task.dataset_id:28} {detail}")


async def run_cli(
    argv: Sequence[str],
    *,
    client: SpacesClient | None = None,
    train: Train | None = None,
    echo: Callable[[str], None] = print,
) -> int:
    """Run one CLI command. Tests pass their own `client` (and `train`); otherwise the arguments decide:
    no `--endpoint` means an embedded simulated Hub running 60 times faster than real time."""
    args = _parser().parse_args(list(argv))
    if client is None:
        if args.endpoint is None:
            hub = simulated_hub()
            async with SpacesClient(
                token=DEMO_TOKEN, endpoint="https://hub.simulated", transport=hub.transport(), clock=hub.clock
            ) as demo_client:
                return await _command(
                    args, demo_client, train or make_trainer(DEMO_USER, hub.clock.sleep), echo
                )
        async with SpacesClient(token=args.token, endpoint=args.endpoint) as real_client:
            return await _command(args, real_client, train, echo)
    return await _command(args, client, train, echo)


async def _command(
    args: argparse.Namespace, client: SpacesClient, train: Train | None, echo: Callable[[str], None]
) -> int:
    queue = TaskQueue(client, args.tasks)
    if args.command == "add":
        task = await queue.add(args.model_id, args.dataset_id)
        echo(f"added task {task.task_id}: {task.model_id} on {task.dataset_id}")
        return 0
    if args.command == "status":
        _print_tasks(await queue.all(), echo)
        return 0
    keep_going = bool(getattr(args, "keep_going", False))
    try:
        report = await run_worker(
            client,
            queue,
            args.space,
            worker=args.worker,
            hardware=args.hardware,
            train=train,
            keep_going=keep_going,
            echo=echo,
        )
    except Exception as exc:
        echo(f"run stopped: {type(exc).__name__}: {exc}")
        status = 1
    else:
        status = 1 if report.failed else 0
    runtime = await client.get_space_runtime(args.space)
    echo(f"{args.space} is back on {runtime.requested_hardware}")
    if args.command == "demo":
        _print_tasks(await queue.all(), echo)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: `python examples/temporary_upgrade.py --help`."""
    return anyio.run(run_cli, sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
