"""A task queue kept in a CSV file of a Hub repo, safe under any number of concurrent workers.

The seed guide ("temporarily upgrade your Space") schedules work with a `tasks.csv` in a dataset
(`model_id,dataset_id,STATUS`) and updates it by read-modify-write: two workers can pick the same task,
and an update can silently erase another. This queue keeps the same file format (plus a header and a few
columns of its own) and makes every change a commit with `parent_commit` = the exact commit it read, so a
concurrent change makes the Hub answer 412 and the queue re-reads and retries with
jittered backoff. Reads go to that commit's sha, never to "main", so what is written is always derived
from what was read.

A claimed task carries a lease: if its worker dies, another worker can reclaim it once the lease expires.
A worker that lost its lease (it was too slow) gets `TaskLeaseLostError` instead of overwriting the new
owner's result.
"""

from __future__ import annotations

import csv
import enum
import io
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, TypeVar

import attrs

from . import CommitOperationAdd, errors
from .errors import TaskLeaseLostError
from .retry import Failure, Outcome, Retrying, RetryPolicy
from .validation import (
    resolve_repo_type,
    validate_path_in_repo,
    validate_repo_id,
    validate_revision,
    validate_seconds,
)

if TYPE_CHECKING:
    from . import Clock
    from .models import CommitInfo

__all__ = ["Task", "TaskLeaseLostError", "TaskQueue", "TaskStatus", "format_tasks", "parse_tasks"]

_R = TypeVar("_R")

# The seed's three columns first (so the seed's own `row[2] == "PENDING"` reader still works), then ours.
SEED_COLUMNS = ("model_id", "dataset_id", "STATUS")
QUEUE_COLUMNS = ("task_id", "worker", "lease_expires_at", "attempts", "reason", "token", "created_by")
COLUMNS = SEED_COLUMNS + QUEUE_COLUMNS


class TaskStatus(enum.StrEnum):
    """A task's state. PENDING and DONE are the seed's; RUNNING and FAILED are the queue's additions."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"

    def __str__(self) -> str:
        return self.value


def _status(value: object) -> TaskStatus | str:
    # Unknown statuses written by other tools are kept verbatim, never crash the reader.
    try:
        return TaskStatus(str(value).strip().upper())
    except ValueError:
        return str(value)


@attrs.frozen
class Task:
    """One row of the task file.

    Attributes:
        task_id: the queue's id for the row (rows of a seed file without ids get `1`, `2`, ... in file order).
        model_id: the seed's first column.
        dataset_id: the seed's second column.
        status: a `TaskStatus` (or the raw string if unknown).
        worker: who claimed it last ("" if nobody).
        lease_expires_at: wall-clock time (epoch seconds) when a RUNNING task may be reclaimed, or None.
        attempts: how many times it was claimed.
        reason: why it failed (for FAILED tasks).
        token: random id of the last change; a claim's token is its lease, checked by `complete`/`fail`.
        created_by: random id of the `add` that created the row (never changes; tells whether an add whose
            answer was lost landed, even after the task was claimed).
        extra: values of columns this queue does not know, preserved as they were.
    """

    task_id: str
    model_id: str
    dataset_id: str
    status: TaskStatus | str = TaskStatus.PENDING
    worker: str = ""
    lease_expires_at: float | None = None
    attempts: int = 0
    reason: str = ""
    token: str = ""
    created_by: str = ""
    extra: Mapping[str, str] = attrs.field(factory=dict, eq=False)


# --- the CSV format (pure) -------------------------------------------------------------------------------


def _format_time(value: float | None) -> str:
    if value is None:
        return ""
    return datetime.fromtimestamp(value, UTC).isoformat(timespec="milliseconds")


def _parse_time(value: str) -> float | None:
    value = value.strip()
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return None


def parse_tasks(data: bytes | str | None) -> tuple[list[Task], list[str]]:
    """Parse a task file: this queue's format (header row) or the seed's (headerless `model,dataset,STATUS`).

    Returns:
        The tasks in file order, and the names of extra columns to preserve on write.
    """
    if data is None:
        return [], []
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if rows and [cell.strip() for cell in rows[0][:3]] == list(SEED_COLUMNS):
        header = [cell.strip() for cell in rows[0]]
        rows = rows[1:]
    else:
        header = list(COLUMNS)  # the seed's headerless rows; any further cells are read in our column order
    extra_columns = [name for name in header if name not in COLUMNS]
    tasks: list[Task] = []
    for row in rows:
        cells = dict(zip(header, (cell.strip() for cell in row), strict=False))
        attempts = cells.get("attempts", "")
        tasks.append(
            Task(
                task_id=cells.get("task_id", ""),
                model_id=cells.get("model_id", ""),
                dataset_id=cells.get("dataset_id", ""),
                status=_status(cells.get("STATUS", "PENDING") or "PENDING"),
                worker=cells.get("worker", ""),
                lease_expires_at=_parse_time(cells.get("lease_expires_at", "")),
                attempts=int(attempts) if attempts.isdigit() else 0,
                reason=cells.get("reason", ""),
                token=cells.get("token", ""),
                created_by=cells.get("created_by", ""),
                extra={name: cells.get(name, "") for name in extra_columns},
            )
        )
    # Rows without an id (a seed file, or rows appended by the seed's code) get the next free numbers, in file
    # order: deterministic for a given file content, and persisted by the next write.
    next_id = 1 + max((int(t.task_id) for t in tasks if t.task_id.isdigit()), default=0)
    numbered = []
    for task in tasks:
        if not task.task_id:
            task = attrs.evolve(task, task_id=str(next_id))
            next_id += 1
        numbered.append(task)
    return numbered, extra_columns


def format_tasks(tasks: Iterable[Task], extra_columns: Sequence[str] = ()) -> bytes:
    """Serialise tasks with a header row, the seed's three columns first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*COLUMNS, *extra_columns])
    for task in tasks:
        writer.writerow(
            [
                task.model_id,
                task.dataset_id,
                str(task.status),
                task.task_id,
                task.worker,
                _format_time(task.lease_expires_at),
                str(task.attempts),
                task.reason,
                task.token,
                task.created_by,
                *(task.extra.get(name, "") for name in extra_columns),
            ]
        )
    return out.getvalue().encode()


# --- state transitions (pure) ----------------------------------------------------------------------------


def _new_token() -> str:
    return uuid.uuid4().hex[:16]


def add_transition(tasks: Sequence[Task], items: Sequence[tuple[str, str]]) -> tuple[list[Task], list[Task]]:
    """Append PENDING tasks with fresh ids; returns (all tasks, the added ones)."""
    next_id = 1 + max((int(t.task_id) for t in tasks if t.task_id.isdigit()), default=0)
    added = []
    for i, (model_id, dataset_id) in enumerate(items):
        token = _new_token()
        added.append(
            Task(
                task_id=str(next_id + i),
                model_id=model_id,
                dataset_id=dataset_id,
                token=token,
                created_by=token,
            )
        )
    return [*tasks, *added], added


def claim_transition(
    tasks: Sequence[Task], *, worker: str, now: float, lease_seconds: float, max_attempts: int | None
) -> tuple[list[Task] | None, Task | None]:
    """Claim the first PENDING task, else the first RUNNING one whose lease expired.

    A task whose lease expired after `max_attempts` claims is marked FAILED instead of being reclaimed
    (its workers keep dying on it). Returns (new tasks or None if nothing changed, the claimed task or None).
    """
    result = list(tasks)
    changed = False
    for index, task in enumerate(result):
        expired = (
            task.status == TaskStatus.RUNNING
            and task.lease_expires_at is not None
            and task.lease_expires_at <= now
        )
        if task.status != TaskStatus.PENDING and not expired:
            continue
        if expired and max_attempts is not None and task.attempts >= max_attempts:
            result[index] = attrs.evolve(
                task,
                status=TaskStatus.FAILED,
                reason=f"lease expired after {task.attempts} attempts (last worker: {task.worker})",
                lease_expires_at=None,
                token=_new_token(),
            )
            changed = True
            continue
        claimed = attrs.evolve(
            task,
            status=TaskStatus.RUNNING,
            worker=worker,
            lease_expires_at=now + lease_seconds,
            attempts=task.attempts + 1,
            reason="",
            token=_new_token(),
        )
        result[index] = claimed
        return result, claimed
    return (result if changed else None), None


def _held(tasks: Sequence[Task], task: Task) -> int:
    for index, row in enumerate(tasks):
        if row.task_id == task.task_id:
            if row.status != TaskStatus.RUNNING or row.token != task.token:
                raise TaskLeaseLostError(
                    f"task {task.task_id} is no longer held by this claim "
                    f"(now {row.status}, worker {row.worker!r})",
                    task_id=task.task_id,
                )
            return index
    raise TaskLeaseLostError(f"task {task.task_id} is not in the task file any more", task_id=task.task_id)


def finish_transition(
    tasks: Sequence[Task], task: Task, *, status: TaskStatus, reason: str = ""
) -> tuple[list[Task], Task]:
    """Mark a claimed task DONE or FAILED; `TaskLeaseLostError` if the claim no longer holds it."""
    result = list(tasks)
    index = _held(result, task)
    finished = attrs.evolve(
        result[index], status=status, reason=reason, lease_expires_at=None, token=_new_token()
    )
    result[index] = finished
    return result, finished


def release_transition(tasks: Sequence[Task], task: Task) -> tuple[list[Task], Task]:
    """Hand a claimed task back: PENDING again, no worker, no lease (the attempt stays counted);
    `TaskLeaseLostError` if the claim no longer holds it."""
    result = list(tasks)
    index = _held(result, task)
    released = attrs.evolve(
        result[index], status=TaskStatus.PENDING, worker="", lease_expires_at=None, token=_new_token()
    )
    result[index] = released
    return result, released


def renew_transition(
    tasks: Sequence[Task], task: Task, *, now: float, lease_seconds: float
) -> tuple[list[Task], Task]:
    """Extend a claimed task's lease; `TaskLeaseLostError` if the claim no longer holds it."""
    result = list(tasks)
    index = _held(result, task)
    renewed = attrs.evolve(result[index], lease_expires_at=now + lease_seconds)
    result[index] = renewed
    return result, renewed


# --- the queue -------------------------------------------------------------------------------------------


class TaskStore(Protocol):
    """What a `TaskQueue` needs of its client (implemented by `SpacesClient`)."""

    @property
    def clock(self) -> Clock: ...

    async def revision_sha(
        self, repo_id: str, *, repo_type: str | None = None, revision: str | None = None
    ) -> str: ...

    async def read_file(
        self, repo_id: str, filename: str, *, repo_type: str | None = None, revision: str | None = None
    ) -> bytes | None: ...

    async def create_commit(
        self,
        repo_id: str,
        operations: Iterable[CommitOperationAdd],
        *,
        commit_message: str,
        repo_type: str | None = None,
        revision: str | None = None,
        parent_commit: str | None = None,
    ) -> CommitInfo: ...


class TaskQueue:
    """Tasks in a CSV file of a Hub repo; each change is a conditional commit (parent_commit), retried on 412.

    Args:
        client: a `SpacesClient` (any object with its files methods).
        repo_id: the repo holding the file, e.g. `"alice/training-tasks"`.
        filename: the task file's path in the repo.
        repo_type: "dataset" (default), "model" or "space".
        lease_seconds: how long a claim holds a task before another worker may reclaim it.
        max_attempts: after this many claims whose leases expired, a task is marked FAILED instead of being
            reclaimed again (None: no limit).
        wall_clock: wall-clock time in epoch seconds, shared by every worker on every machine (leases are
            compared across them); default `time.time`. Tests pass a virtual one.
        max_retries: give up (re-raising `CommitConflictError`) after this many conflicts in one operation;
            None retries until it succeeds.
        backoff_base: the first retry waits between half of this and this many seconds (doubling per
            conflict, jittered).
        backoff_cap: largest retry delay in seconds.

    Example:
        ```python
        queue = TaskQueue(client, "alice/training-tasks")
        await queue.add("bert-base-uncased", "alice/reviews")
        task = await queue.claim(worker="gpu-1")
        if task is not None:
            ...  # train
            await queue.complete(task)
        ```
    """

    def __init__(
        self,
        client: TaskStore,
        repo_id: str,
        filename: str = "tasks.csv",
        repo_type: str = "dataset",
        *,
        revision: str = "main",
        lease_seconds: float = 3600.0,
        max_attempts: int | None = None,
        wall_clock: Callable[[], float] = time.time,
        max_retries: int | None = None,
        backoff_base: float = 0.05,
        backoff_cap: float = 5.0,
    ) -> None:
        self._client = client
        self.repo_id = validate_repo_id(repo_id, allow_bare_name=True)
        self.filename = validate_path_in_repo(filename, arg="filename")
        self.repo_type = resolve_repo_type(repo_type)
        self.revision = validate_revision(revision)
        for name, value in (("lease_seconds", lease_seconds), ("backoff_base", backoff_base)):
            validate_seconds(value, arg=name)
        if validate_seconds(backoff_cap, arg="backoff_cap") < backoff_base:
            raise ValueError(f"backoff_cap must be a number >= backoff_base, got {backoff_cap!r}")
        for name, limit in (("max_attempts", max_attempts), ("max_retries", max_retries)):
            if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
                raise ValueError(f"{name} must be a non-negative int or None, got {limit!r}")
        if not callable(wall_clock):
            raise TypeError("wall_clock must be a callable returning epoch seconds")
        self.lease_seconds = float(lease_seconds)
        self.max_attempts = max_attempts
        self.max_retries = max_retries
        self._wall_clock = wall_clock
        # Conflicts are retried without end unless `max_retries` is set.
        self._retry = RetryPolicy(
            max_attempts=sys.maxsize if max_retries is None else max_retries + 1,
            base_delay=float(backoff_base),
            max_delay=float(backoff_cap),
        )
        self._random = random.Random()
        self.conflicts = 0  # 412 answers seen by this queue object (for tests and metrics)

    def __repr__(self) -> str:
        return (
            f"TaskQueue(repo_id={self.repo_id!r}, filename={self.filename!r}, repo_type={self.repo_type!r})"
        )

    # --- reading ---------------------------------------------------------------------------------------

    async def snapshot(self) -> tuple[str, list[Task]]:
        """The head commit sha of the branch and the tasks in the file at exactly that commit."""
        sha, tasks, _ = await self._read()
        return sha, tasks

    async def _read(self) -> tuple[str, list[Task], list[str]]:
        client = self._client
        sha = await client.revision_sha(self.repo_id, repo_type=self.repo_type, revision=self.revision)
        # Read at the sha, not at the branch: the write below is conditioned on this very commit.
        data = await client.read_file(self.repo_id, self.filename, repo_type=self.repo_type, revision=sha)
        tasks, extra_columns = parse_tasks(data)
        return sha, tasks, extra_columns

    async def all(self) -> list[Task]:
        """Every task, in file order."""
        return (await self.snapshot())[1]

    async def pending(self) -> list[Task]:
        """The PENDING tasks, in file order."""
        return [task for task in await self.all() if task.status == TaskStatus.PENDING]

    async def get(self, task_id: str) -> Task | None:
        """The task with this id, or None."""
        return next((task for task in await self.all() if task.task_id == task_id), None)

    # --- writing ---------------------------------------------------------------------------------------

    async def add(self, model_id: str, dataset_id: str) -> Task:
        """Append a PENDING task and return it."""
        return (await self.add_many([(model_id, dataset_id)]))[0]

    async def add_many(self, items: Iterable[tuple[str, str]]) -> list[Task]:
        """Append several PENDING tasks in one commit and return them."""
        pairs = []
        for item in items:
            if not (isinstance(item, tuple) and len(item) == 2):
                raise TypeError("items must be (model_id, dataset_id) tuples")
            pairs.append((_check_cell(item[0], "model_id"), _check_cell(item[1], "dataset_id")))
        if not pairs:
            return []

        def mutate(tasks: list[Task]) -> tuple[list[Task] | None, list[Task]]:
            return add_transition(tasks, pairs)

        return await self._update(mutate, lambda added: f"Add {len(added)} task(s)", _landed_all)

    async def claim(self, *, worker: str) -> Task | None:
        """Atomically move the first PENDING task (or one whose lease expired) to RUNNING for `worker`.

        Returns:
            The claimed task (its `token` is the lease `complete`/`fail` check), or None if none is left.
        """
        worker = _check_cell(worker, "worker")

        def mutate(tasks: list[Task]) -> tuple[list[Task] | None, Task | None]:
            return claim_transition(
                tasks,
                worker=worker,
                now=self._wall_clock(),
                lease_seconds=self.lease_seconds,
                max_attempts=self.max_attempts,
            )

        def message(task: Task | None) -> str:
            return f"Claim task {task.task_id} for {worker}" if task else "Fail tasks whose leases expired"

        return await self._update(mutate, message, _landed_one)

    async def complete(self, task: Task) -> Task:
        """Mark a task this worker claimed as DONE; `TaskLeaseLostError` if the claim no longer holds it."""
        _check_task(task)

        def mutate(tasks: list[Task]) -> tuple[list[Task] | None, Task]:
            return finish_transition(tasks, task, status=TaskStatus.DONE)

        return await self._update(mutate, lambda t: f"Complete task {t.task_id} ({t.worker})", _landed_one)

    async def fail(self, task: Task, reason: str) -> Task:
        """Mark a task this worker claimed as FAILED with `reason`; `TaskLeaseLostError` if no longer held."""
        _check_task(task)
        reason = _check_cell(reason, "reason", allow_empty=True)

        def mutate(tasks: list[Task]) -> tuple[list[Task] | None, Task]:
            return finish_transition(tasks, task, status=TaskStatus.FAILED, reason=reason)

        return await self._update(mutate, lambda t: f"Fail task {t.task_id} ({t.worker})", _landed_one)

    async def release(self, task: Task) -> Task:
        """Give a task this worker claimed but will not run back to the queue (PENDING, claimable at once
        instead of after its lease); `TaskLeaseLostError` if the claim no longer holds it."""
        _check_task(task)

        def mutate(tasks: list[Task]) -> tuple[list[Task] | None, Task]:
            return release_transition(tasks, task)

        return await self._update(mutate, lambda t: f"Release task {t.task_id}", _landed_one)

    async def renew(self, task: Task) -> Task:
        """Extend the lease of a task this worker holds (a heartbeat for long jobs); returns the task."""
        _check_task(task)

        def mutate(tasks: list[Task]) -> tuple[list[Task] | None, Task]:
            return renew_transition(tasks, task, now=self._wall_clock(), lease_seconds=self.lease_seconds)

        return await self._update(
            mutate, lambda t: f"Renew lease of task {t.task_id} ({t.worker})", _landed_one
        )

    async def _update(
        self,
        mutate: Callable[[list[Task]], tuple[list[Task] | None, _R]],
        message: Callable[[_R], str],
        landed: Callable[[list[Task], _R], bool],
    ) -> _R:
        """Read at the head commit, apply `mutate`, commit with `parent_commit`; on 412 back off and redo.

        A commit whose answer was lost (transport error, 5xx) may or may not have landed, and may land later
        than the next read (the Hub can still be processing it): every read checks with `landed` whether the
        head holds any such change (its fresh token) before redoing it. At most one of them can land, since
        they all name a parent that the first one to land makes stale.
        """
        uncertain: list[_R] = []  # results of commits whose answer was lost
        retrying = Retrying(
            self._retry,
            clock=self._client.clock,
            rng=self._random,
            classify=_commit_failure,
            idempotent=False,
            what="task queue commit to",
            target=self.repo_id,
        )
        async for attempt in retrying:
            with attempt:
                sha, tasks, extra_columns = await self._read()
                for earlier in uncertain:
                    if landed(tasks, earlier):
                        return earlier
                new_tasks, result = mutate(tasks)
                if new_tasks is None:
                    return result
                operation = CommitOperationAdd(
                    path_in_repo=self.filename, path_or_fileobj=format_tasks(new_tasks, extra_columns)
                )
                try:
                    await self._client.create_commit(
                        self.repo_id,
                        [operation],
                        commit_message=message(result),
                        repo_type=self.repo_type,
                        revision=self.revision,
                        parent_commit=sha,
                    )
                    return result
                except errors.CommitConflictError:
                    self.conflicts += 1
                    raise
                except (errors.TransportError, errors.ServerError):
                    # Not retried by the client (a commit is not idempotent): find out on the next read.
                    uncertain.append(result)
                    raise
        raise AssertionError("unreachable: the retry loop returns or raises")


def _commit_failure(exc: Exception) -> Failure | None:
    """A lost compare-and-swap race (412) is redone on a fresh read; so is a commit whose answer was lost
    (the next read tells whether it landed)."""
    if isinstance(exc, errors.CommitConflictError):
        return Failure(Outcome.CONFLICT, "412: the file changed since it was read")
    if isinstance(exc, errors.TransportError | errors.ServerError):
        return Failure(Outcome.AMBIGUOUS, f"{exc}; checking whether it landed")
    return None


def _landed_one(tasks: list[Task], task: Task | None) -> bool:
    return task is not None and any(t.task_id == task.task_id and t.token == task.token for t in tasks)


def _landed_all(tasks: list[Task], added: list[Task]) -> bool:
    # `created_by`, not `token`: the tasks may have been claimed since the add landed.
    origins = {(t.task_id, t.created_by) for t in tasks}
    return all((t.task_id, t.created_by) in origins for t in added)


def _check_cell(value: object, name: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if ("\n" in value or "\r" in value) or (not allow_empty and not value.strip()):
        raise ValueError(f"{name} must be a non-empty single-line string, got {value!r}")
    return value


def _check_task(task: object) -> None:
    if not isinstance(task, Task):
        raise TypeError(f"task must be a Task returned by claim(), got {type(task).__name__}")
    if task.status != TaskStatus.RUNNING or not task.token:
        raise ValueError(f"task {task.task_id} was not returned by claim() (status {task.status})")
