"""The task queue pushed past the cases of test_tasks_*.py: the CSV format's edges (header detection, times,
numbering), each transition's exact fields, the queue's argument checks, and its commits and their titles
against the simulated Hub."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import attrs
import pytest

from aiospaces import errors
from aiospaces._commit_models import CommitOperationAdd
from aiospaces.tasks import (
    Task,
    TaskLeaseLostError,
    TaskQueue,
    TaskStatus,
    add_transition,
    claim_transition,
    finish_transition,
    format_tasks,
    parse_tasks,
    release_transition,
    renew_transition,
)

TOKEN = "hf_alice_tasks"
REPO = "alice/tasks"
ENDPOINT = "https://hub.local"
HEADER = "model_id,dataset_id,STATUS,task_id,worker,lease_expires_at,attempts,reason,token,created_by"


# --- the CSV format ---------------------------------------------------------------------------------------


def test_status_is_read_case_and_space_insensitively_and_unknown_ones_verbatim() -> None:
    """A status cell is matched ignoring case and surrounding spaces; an empty one is PENDING, an unknown one
    kept as written, and each status writes as its plain name."""
    tasks, _ = parse_tasks(b"m,a, done \nm,b,pending\nm,c,\nm,d,Paused-By-Ops\n")
    assert [t.status for t in tasks] == [
        TaskStatus.DONE,
        TaskStatus.PENDING,
        TaskStatus.PENDING,
        "Paused-By-Ops",
    ]
    assert [str(s) for s in TaskStatus] == ["PENDING", "RUNNING", "DONE", "FAILED"]
    assert format_tasks(tasks).decode().splitlines()[1:] == [
        "m,a,DONE,1,,,0,,,",
        "m,b,PENDING,2,,,0,,,",
        "m,c,PENDING,3,,,0,,,",
        "m,d,Paused-By-Ops,4,,,0,,,",
    ]


def test_the_written_file_has_a_header_and_one_line_per_task() -> None:
    """The queue writes a header naming every column, then one `\\n`-terminated line per task, the lease as
    an ISO time in UTC with milliseconds."""
    task = Task(
        task_id="7", model_id="m", dataset_id="d", status=TaskStatus.RUNNING, worker="w",
        lease_expires_at=1_800_000_000.25, attempts=3, reason="r", token="tok", created_by="orig",
    )  # fmt: skip
    assert format_tasks([task], ["priority"]) == (
        f"{HEADER},priority\nm,d,RUNNING,7,w,2027-01-15T08:00:00.250+00:00,3,r,tok,orig,\n".encode()
    )
    assert format_tasks([]) == f"{HEADER}\n".encode()


def test_lease_times_are_read_as_iso_or_epoch_seconds() -> None:
    """A lease cell is read as an ISO time or as epoch seconds; a blank or unreadable one is no lease."""
    rows = (
        f"{HEADER}\n"
        "m,a,RUNNING,1,w,2027-01-15T08:00:00.250+00:00,1,,t,\n"
        "m,b,RUNNING,2,w, 1800000000.5 ,1,,t,\n"
        "m,c,RUNNING,3,w,  ,1,,t,\n"
        "m,d,RUNNING,4,w,tomorrow,1,,t,\n"
    )
    tasks, _ = parse_tasks(rows)
    assert [t.lease_expires_at for t in tasks] == [1_800_000_000.25, 1_800_000_000.5, None, None]


def test_a_header_is_recognised_with_spaces_and_a_byte_order_mark() -> None:
    """A header row is recognised when its cells carry spaces or the file starts with a UTF-8 byte order
    mark; blank rows (empty cells only) are skipped and cells are stripped."""
    data = "\ufeff model_id , dataset_id , STATUS , task_id , attempts \n , , \n m , d , RUNNING , 5 , 2 \n"
    tasks, extra = parse_tasks(data.encode("utf-8"))
    assert extra == []
    assert [(t.task_id, t.model_id, t.dataset_id, t.status, t.attempts) for t in tasks] == [
        ("5", "m", "d", TaskStatus.RUNNING, 2)
    ]


def test_a_file_with_only_a_header_has_no_tasks() -> None:
    """A file holding just the header row is an empty queue (the header is not read as a task)."""
    assert parse_tasks(f"{HEADER}\n".encode()) == ([], [])


def test_missing_columns_and_bad_counts_take_their_defaults() -> None:
    """A header without the queue's columns gives each task the defaults; a non-numeric attempt count is 0."""
    tasks, _ = parse_tasks(b"model_id,dataset_id,STATUS,attempts\nm,d,FAILED,x\nm,e,DONE,\n")
    assert tasks == [
        Task(task_id="1", model_id="m", dataset_id="d", status=TaskStatus.FAILED),
        Task(task_id="2", model_id="m", dataset_id="e", status=TaskStatus.DONE),
    ]
    assert tasks[0].extra == {}
    short, _ = parse_tasks(b"model_id,dataset_id,STATUS\nonly-model\n")
    assert short == [Task(task_id="1", model_id="only-model", dataset_id="", status=TaskStatus.PENDING)]


def test_rows_without_ids_are_numbered_after_the_largest_numeric_id() -> None:
    """Rows without an id get the numbers after the largest numeric id in the file, in file order; ids that
    are not numbers are kept and do not count."""
    data = (
        f"{HEADER}\nm,a,DONE,12,,,0,,,\nm,b,PENDING,,,,0,,,\nm,c,PENDING,job-x,,,0,,,\nm,d,PENDING,,,,0,,,\n"
    )
    tasks, _ = parse_tasks(data)
    assert [t.task_id for t in tasks] == ["12", "13", "job-x", "14"]
    lettered, _ = parse_tasks(f"{HEADER}\nm,a,DONE,job-x,,,0,,,\nm,b,PENDING,,,,0,,,\n")
    assert [t.task_id for t in lettered] == ["job-x", "1"]


# --- transitions ------------------------------------------------------------------------------------------


def test_added_tasks_number_on_from_the_largest_id_and_record_their_origin() -> None:
    """Added tasks take the ids after the largest numeric one (1 on an empty file), PENDING, each with a
    fresh token that is also its origin."""
    existing = [
        Task(task_id="9", model_id="m", dataset_id="x"),
        Task(task_id="b", model_id="m", dataset_id="y"),
    ]
    everything, added = add_transition(existing, [("m", "a"), ("n", "b")])
    assert [(t.task_id, t.model_id, t.dataset_id, t.status) for t in added] == [
        ("10", "m", "a", TaskStatus.PENDING),
        ("11", "n", "b", TaskStatus.PENDING),
    ]
    assert everything == [*existing, *added]
    assert all(len(t.token) == 16 and t.token == t.created_by for t in added)
    assert added[0].token != added[1].token
    _, first = add_transition([], [("m", "a")])
    assert first[0].task_id == "1"


def test_a_claim_sets_every_field_of_the_lease() -> None:
    """A claim makes the task RUNNING for the worker until now + lease, counts the attempt, clears an old
    reason and gives it a new token; the other tasks are unchanged."""
    old = Task(task_id="1", model_id="m", dataset_id="a", status=TaskStatus.DONE)
    pending = Task(task_id="2", model_id="m", dataset_id="b", attempts=2, reason="released", token="old")
    tasks, claimed = claim_transition(
        [old, pending], worker="w", now=100.0, lease_seconds=30.0, max_attempts=None
    )
    assert claimed is not None
    assert tasks == [old, claimed]
    assert (claimed.task_id, claimed.status, claimed.worker, claimed.lease_expires_at) == (
        "2", TaskStatus.RUNNING, "w", 130.0,
    )  # fmt: skip
    assert (claimed.attempts, claimed.reason) == (3, "")
    assert claimed.token not in ("", "old")


def test_a_lease_expires_at_its_exact_end_and_a_running_task_without_lease_is_never_reclaimed() -> None:
    """A RUNNING task is reclaimable from the instant its lease ends, not before; one with no lease time is
    never reclaimed."""
    running = Task(task_id="1", model_id="m", dataset_id="a", status=TaskStatus.RUNNING,
                   lease_expires_at=50.0, attempts=1, token="t")  # fmt: skip
    unleased = Task(task_id="2", model_id="m", dataset_id="b", status=TaskStatus.RUNNING, token="u")
    assert claim_transition(
        [running, unleased], worker="w", now=49.9, lease_seconds=1, max_attempts=None
    ) == (
        None,
        None,
    )
    tasks, claimed = claim_transition(
        [running, unleased], worker="w", now=50.0, lease_seconds=1, max_attempts=None
    )
    assert claimed is not None
    assert (claimed.task_id, claimed.attempts, claimed.lease_expires_at) == ("1", 2, 51.0)
    assert tasks is not None
    assert tasks[1] == unleased


def test_max_attempts_allows_exactly_that_many_claims() -> None:
    """A task whose lease expired is reclaimed while its attempts are below `max_attempts`, and failed with a
    reason naming the attempts and the last worker once they reach it, the next task then claimed."""
    expired = Task(task_id="1", model_id="m", dataset_id="a", status=TaskStatus.RUNNING, worker="w1",
                   lease_expires_at=10.0, attempts=1, token="t1")  # fmt: skip
    _, again = claim_transition([expired], worker="w2", now=20.0, lease_seconds=5, max_attempts=2)
    assert again is not None
    assert (again.task_id, again.attempts) == ("1", 2)
    twice = Task(task_id="1", model_id="m", dataset_id="a", status=TaskStatus.RUNNING, worker="w2",
                 lease_expires_at=10.0, attempts=2, token="t2")  # fmt: skip
    pending = Task(task_id="2", model_id="m", dataset_id="b")
    tasks, claimed = claim_transition(
        [twice, pending], worker="w3", now=20.0, lease_seconds=5, max_attempts=2
    )
    assert tasks is not None
    assert claimed is not None
    assert claimed.task_id == "2"
    failed = tasks[0]
    assert (failed.status, failed.reason, failed.lease_expires_at, failed.worker) == (
        TaskStatus.FAILED, "lease expired after 2 attempts (last worker: w2)", None, "w2",
    )  # fmt: skip
    assert len(failed.token) == 16
    assert failed.token != "t2"
    only, nothing = claim_transition([twice], worker="w3", now=20.0, lease_seconds=5, max_attempts=2)
    assert nothing is None
    assert only is not None
    assert only[0].status == TaskStatus.FAILED


def test_finishing_releasing_and_renewing_touch_only_their_fields() -> None:
    """DONE clears the lease and changes the token, FAILED also records the reason; release empties the
    worker and lease; renew moves only the lease end and keeps the claim's token."""
    tasks, _ = add_transition([Task(task_id="1", model_id="m", dataset_id="z")], [("m", "a")])
    claimed_tasks, claim = claim_transition(tasks, worker="w", now=0.0, lease_seconds=10, max_attempts=None)
    assert claimed_tasks is not None
    assert claim is not None
    assert claim.task_id == "1"
    done_tasks, done = finish_transition(claimed_tasks, claim, status=TaskStatus.DONE)
    assert (done.status, done.reason, done.lease_expires_at, done.worker, done.attempts) == (
        TaskStatus.DONE, "", None, "w", 1,
    )  # fmt: skip
    assert len(done.token) == 16
    assert done.token != claim.token
    assert done_tasks == [done, claimed_tasks[1]]
    released_tasks, released = release_transition(claimed_tasks, claim)
    assert (released.status, released.worker, released.lease_expires_at) == (TaskStatus.PENDING, "", None)
    assert len(released.token) == 16
    assert released.token != claim.token
    assert released_tasks[1] == claimed_tasks[1]
    renewed_tasks, renewed = renew_transition(claimed_tasks, claim, now=7.0, lease_seconds=10)
    assert renewed == attrs.evolve(claim, lease_expires_at=17.0)
    assert renewed_tasks == [renewed, claimed_tasks[1]]


def test_a_lost_claim_names_the_task_and_its_new_state() -> None:
    """Finishing a task that someone else holds now, or that is gone, raises TaskLeaseLostError naming the
    task and what happened to it."""
    tasks, _ = add_transition([], [("m", "a")])
    first_tasks, first = claim_transition(tasks, worker="w1", now=0.0, lease_seconds=1, max_attempts=None)
    assert first_tasks is not None
    assert first is not None
    second_tasks, _ = claim_transition(first_tasks, worker="w2", now=5.0, lease_seconds=1, max_attempts=None)
    assert second_tasks is not None
    with pytest.raises(TaskLeaseLostError) as caught:
        finish_transition(second_tasks, first, status=TaskStatus.DONE)
    assert str(caught.value) == "task 1 is no longer held by this claim (now RUNNING, worker 'w2')"
    with pytest.raises(TaskLeaseLostError) as gone:
        renew_transition([], first, now=0.0, lease_seconds=1)
    assert str(gone.value) == "task 1 is not in the task file any more"
    assert gone.value.task_id == "1"


# --- the queue ----------------------------------------------------------------------------------------------


class _RecordingClock:
    """A clock whose sleeps return at once and are recorded."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def now(self) -> float:
        return sum(self.sleeps)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await anyio.lowlevel.checkpoint()


class ScriptedRepo:
    """A one-file repo with conditional commits standing in for a `SpacesClient`: it records every read and
    commit, and answers the first `conflicts` commits with 412 and then `failures` more with `failure`."""

    def __init__(self, content: bytes | None = None, *, conflicts: int = 0) -> None:
        self.contents: dict[str, bytes | None] = {"sha-0": content}
        self.head = "sha-0"
        self.conflicts = conflicts
        self.failure: Exception | None = None
        self.clock = _RecordingClock()
        self.sha_reads: list[tuple[str, str | None, str | None]] = []
        self.file_reads: list[tuple[str, str, str | None, str | None]] = []
        self.commits: list[dict[str, Any]] = []

    async def revision_sha(
        self, repo_id: str, *, repo_type: str | None = None, revision: str | None = None
    ) -> str:
        self.sha_reads.append((repo_id, repo_type, revision))
        return self.head

    async def read_file(
        self, repo_id: str, filename: str, *, repo_type: str | None = None, revision: str | None = None
    ) -> bytes | None:
        self.file_reads.append((repo_id, filename, repo_type, revision))
        return self.contents[str(revision)]

    async def create_commit(self, repo_id: str, operations: list[CommitOperationAdd], **kwargs: Any) -> None:
        (operation,) = operations
        self.commits.append({"repo_id": repo_id, "path": operation.path_in_repo, **kwargs})
        if self.conflicts:
            self.conflicts -= 1
            raise errors.CommitConflictError("412 Precondition Failed", status=412, method="POST", url="/c")
        if self.failure is not None:
            failure, self.failure = self.failure, None
            raise failure
        assert kwargs["parent_commit"] == self.head
        self.head = f"sha-{len(self.contents)}"
        self.contents[self.head] = operation.read_all()

    def tasks(self) -> list[Task]:
        return parse_tasks(self.contents[self.head])[0]

    def titles(self) -> list[str]:
        return [c["commit_message"] for c in self.commits]


def _queue(repo: ScriptedRepo, **kwargs: Any) -> TaskQueue:
    return TaskQueue(repo, "alice/tasks", wall_clock=lambda: 1000.0, **kwargs)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_each_change_is_one_commit_titled_after_it() -> None:
    """Adding, claiming, completing, failing, releasing and renewing each make one commit, conditioned on
    the commit read, whose title says what changed."""
    repo = ScriptedRepo()
    queue = _queue(repo, lease_seconds=60)
    added = await queue.add_many([("m", "a"), ("m", "b"), ("m", "c")])
    assert [t.task_id for t in added] == ["1", "2", "3"]
    first = await queue.claim(worker="w1")
    second = await queue.claim(worker="w2")
    third = await queue.claim(worker="w3")
    assert first is not None
    assert second is not None
    assert third is not None
    renewed = await queue.renew(first)
    assert renewed.lease_expires_at == 1060.0
    await queue.complete(first)
    await queue.fail(second, "out of memory")
    await queue.release(third)
    assert repo.titles() == [
        "Add 3 task(s)",
        "Claim task 1 for w1",
        "Claim task 2 for w2",
        "Claim task 3 for w3",
        "Renew lease of task 1 (w1)",
        "Complete task 1 (w1)",
        "Fail task 2 (w2)",
        "Release task 3",
    ]
    assert [c["parent_commit"] for c in repo.commits] == [f"sha-{i}" for i in range(8)]
    assert all(
        (c["repo_id"], c["path"], c["repo_type"], c["revision"])
        == ("alice/tasks", "tasks.csv", "dataset", "main")
        for c in repo.commits
    )
    assert [(t.status, t.reason) for t in repo.tasks()] == [
        (TaskStatus.DONE, ""),
        (TaskStatus.FAILED, "out of memory"),
        (TaskStatus.PENDING, ""),
    ]


@pytest.mark.anyio
async def test_reads_go_to_the_exact_commit_of_the_branch_read() -> None:
    """The queue reads the branch's head sha, then the file at that sha, in its repo type and file."""
    repo = ScriptedRepo(b"m,a,PENDING\n")
    queue = TaskQueue(repo, "alice/tasks", "jobs/queue.csv", "model", revision="dev")  # type: ignore[arg-type]
    sha, tasks = await queue.snapshot()
    assert sha == "sha-0"
    assert [t.dataset_id for t in tasks] == ["a"]
    assert repo.sha_reads == [("alice/tasks", "model", "dev")]
    assert repo.file_reads == [("alice/tasks", "jobs/queue.csv", "model", "sha-0")]
    task = await queue.claim(worker="w")
    assert task is not None
    (commit,) = repo.commits
    assert (commit["path"], commit["repo_type"], commit["revision"]) == ("jobs/queue.csv", "model", "dev")


@pytest.mark.anyio
async def test_claim_uses_the_wall_clock_and_the_lease() -> None:
    """A claim's lease ends `lease_seconds` after the queue's wall clock, and an empty queue claims nothing
    without committing."""
    repo = ScriptedRepo(b"m,a,PENDING\n")
    queue = _queue(repo, lease_seconds=90)
    assert queue.lease_seconds == 90.0
    task = await queue.claim(worker="w")
    assert task is not None
    assert (task.worker, task.lease_expires_at) == ("w", 1090.0)
    assert await queue.claim(worker="w") is None
    assert len(repo.commits) == 1


@pytest.mark.anyio
async def test_expired_leases_failed_by_a_claim_are_committed() -> None:
    """When a claim finds only tasks whose leases expired after `max_attempts`, it commits them as FAILED
    (titled so) and returns None."""
    row = "m,a,RUNNING,1,w0,1970-01-01T00:00:10.000+00:00,1,,tok,\n"
    repo = ScriptedRepo(f"{HEADER}\n{row}".encode())
    queue = _queue(repo, max_attempts=1)
    assert await queue.claim(worker="w") is None
    assert repo.titles() == ["Fail tasks whose leases expired"]
    assert repo.tasks()[0].status == TaskStatus.FAILED


@pytest.mark.anyio
async def test_pending_and_get_read_the_file() -> None:
    """`pending` lists the PENDING tasks in order, `get` finds a task by id or gives None."""
    repo = ScriptedRepo(b"m,a,DONE\nm,b,PENDING\nm,c,RUNNING\nm,d,PENDING\n")
    queue = _queue(repo)
    assert [t.dataset_id for t in await queue.pending()] == ["b", "d"]
    found = await queue.get("3")
    assert found is not None
    assert found.dataset_id == "c"
    assert await queue.get("9") is None
    assert [t.task_id for t in await queue.all()] == ["1", "2", "3", "4"]


@pytest.mark.anyio
async def test_conflicts_are_retried_with_growing_jittered_delays_up_to_max_retries() -> None:
    """Each 412 is counted and retried on a fresh read after a delay between half and all of base x 2^n
    (capped); after `max_retries` conflicts the CommitConflictError is raised."""
    repo = ScriptedRepo(conflicts=3)
    queue = _queue(repo, max_retries=3, backoff_base=1.0, backoff_cap=3.0)
    task = await queue.add("m", "a")
    assert task.task_id == "1"
    assert queue.conflicts == 3
    assert len(repo.sha_reads) == 4
    first, second, third = repo.clock.sleeps
    assert 0.5 <= first <= 1.0
    assert 1.0 <= second <= 2.0
    assert 1.5 <= third <= 3.0
    stubborn = ScriptedRepo(conflicts=3)
    limited = _queue(stubborn, max_retries=2)
    with pytest.raises(errors.CommitConflictError):
        await limited.add("m", "a")
    assert len(stubborn.commits) == 3
    assert limited.conflicts == 3
    never = ScriptedRepo(conflicts=1)
    with pytest.raises(errors.CommitConflictError):
        await _queue(never, max_retries=0).add("m", "a")
    assert len(never.commits) == 1


@pytest.mark.anyio
@pytest.mark.parametrize(
    "failure",
    [
        errors.ServerError("503", status=503, method="POST", url="/c"),
        errors.RequestTimeoutError("timed out", method="POST", url="/c", sent=None),
    ],
)
async def test_a_commit_whose_answer_was_lost_is_redone_on_a_fresh_read(failure: Exception) -> None:
    """A commit answered with a server error or no answer that did not land is redone once on a fresh read,
    without counting a conflict."""
    repo = ScriptedRepo(b"m,a,PENDING\n")
    repo.failure = failure
    queue = _queue(repo)
    task = await queue.claim(worker="w")
    assert task is not None
    assert task.task_id == "1"
    assert len(repo.commits) == 2
    assert queue.conflicts == 0
    assert [t.status for t in repo.tasks()] == [TaskStatus.RUNNING]


@pytest.mark.anyio
async def test_another_error_ends_the_operation_at_once() -> None:
    """An error that is neither a conflict nor a lost answer (e.g. 403) is raised without a retry."""
    repo = ScriptedRepo()
    repo.failure = errors.PermissionDeniedError("403", status=403, method="POST", url="/c")
    with pytest.raises(errors.PermissionDeniedError):
        await _queue(repo).add("m", "a")
    assert len(repo.commits) == 1
    assert repo.clock.sleeps == []


@pytest.mark.anyio
async def test_adding_nothing_commits_nothing_and_items_are_checked_first() -> None:
    """An empty add returns [] without a request; a malformed item or cell raises before any request."""
    repo = ScriptedRepo()
    queue = _queue(repo)
    assert await queue.add_many([]) == []
    for items, kind, match in [
        ([("m", "d", "x")], TypeError, r"^items must be \(model_id, dataset_id\) tuples$"),
        ([["m", "d"]], TypeError, r"^items must be \(model_id, dataset_id\) tuples$"),
        ([(1, "d")], TypeError, "model_id must be a str, got int"),
        ([("m", "")], ValueError, "dataset_id must be a non-empty single-line string"),
        ([("m", "  ")], ValueError, "dataset_id"),
        ([("m\nx", "d")], ValueError, "model_id"),
        ([("m", "d\r")], ValueError, "dataset_id"),
    ]:
        with pytest.raises(kind, match=match):
            await queue.add_many(items)  # type: ignore[arg-type]
    assert repo.sha_reads == []
    assert repo.commits == []


@pytest.mark.anyio
async def test_finishing_checks_the_task_and_the_reason_first() -> None:
    """complete/fail/release/renew refuse what claim() did not return, and fail refuses a multi-line reason,
    before any request; an empty reason is allowed."""
    repo = ScriptedRepo(b"m,a,PENDING\n")
    queue = _queue(repo)
    task = await queue.claim(worker="w")
    assert task is not None
    reads = len(repo.sha_reads)
    with pytest.raises(TypeError, match="task must be a Task returned by claim\\(\\), got str"):
        await queue.complete("1")  # type: ignore[arg-type]
    pending = Task(task_id="1", model_id="m", dataset_id="a")
    for call in (queue.complete, queue.release, queue.renew):
        with pytest.raises(ValueError, match="task 1 was not returned by claim\\(\\) \\(status PENDING\\)"):
            await call(pending)
    with pytest.raises(ValueError, match="was not returned by claim"):
        await queue.complete(attrs.evolve(task, token=""))
    with pytest.raises(ValueError, match=r"^reason must be a non-empty single-line string"):
        await queue.fail(task, "line one\nline two")
    with pytest.raises(TypeError, match="worker must be a str"):
        await queue.claim(worker=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="worker"):
        await queue.claim(worker="")
    assert len(repo.sha_reads) == reads
    failed = await queue.fail(task, "")
    assert (failed.status, failed.reason) == (TaskStatus.FAILED, "")


def test_queue_arguments_are_checked_and_shown() -> None:
    """The constructor refuses a cap below the base, bad attempt or retry limits, a bad file name and bad
    durations, each message starting with the argument's name; its repr names the repo, file and type."""
    client: Any = object()
    with pytest.raises(ValueError, match=r"backoff_cap must be a number >= backoff_base, got 0\.5"):
        TaskQueue(client, "a/b", backoff_base=1.0, backoff_cap=0.5)
    TaskQueue(client, "a/b", backoff_base=1.0, backoff_cap=1.0)
    for kwargs, name in [
        ({"filename": "../t.csv"}, "filename"),
        ({"lease_seconds": 0}, "lease_seconds"),
        ({"backoff_base": 0}, "backoff_base"),
        ({"backoff_cap": float("nan")}, "backoff_cap"),
    ]:
        with pytest.raises(ValueError, match=f"^{name} must be "):
            TaskQueue(client, "a/b", **kwargs)
    for name in ("max_attempts", "max_retries"):
        for bad in (-1, True, 1.5, "3"):
            with pytest.raises(ValueError, match=f"{name} must be a non-negative int or None, got"):
                TaskQueue(client, "a/b", **{name: bad})
        assert getattr(TaskQueue(client, "a/b", **{name: 0}), name) == 0
    with pytest.raises(TypeError, match=r"^wall_clock must be a callable returning epoch seconds$"):
        TaskQueue(client, "a/b", wall_clock=5)  # type: ignore[arg-type]
    queue = TaskQueue(client, "tasks", "q.csv", "model")
    assert repr(queue) == "TaskQueue(repo_id='tasks', filename='q.csv', repo_type='model')"
    assert (queue.revision, queue.lease_seconds, queue.max_attempts, queue.max_retries) == (
        "main",
        3600.0,
        None,
        None,
    )


@pytest.mark.anyio
async def test_default_backoff_starts_at_fifty_milliseconds_and_caps_at_five_seconds() -> None:
    """With the default backoff, the first retry waits 25-50 ms, and after many conflicts no wait exceeds
    5 s while the late ones stay at least 2.5 s."""
    repo = ScriptedRepo(conflicts=20)
    queue = _queue(repo)
    await queue.add("m", "a")
    sleeps = repo.clock.sleeps
    assert len(sleeps) == 20
    assert 0.025 <= sleeps[0] <= 0.05
    assert max(sleeps) <= 5.0
    assert all(delay >= 2.5 for delay in sleeps[8:])


def test_short_rows_take_the_defaults_of_the_missing_cells() -> None:
    """A seed row with only a model and a dataset is PENDING, and an extra column missing from a row is
    kept as an empty cell."""
    seed, _ = parse_tasks(b"m,d\n")
    assert [(t.model_id, t.dataset_id, t.status) for t in seed] == [("m", "d", TaskStatus.PENDING)]
    tasks, extra = parse_tasks(b"model_id,dataset_id,STATUS,priority\nm,d,DONE\n")
    assert extra == ["priority"]
    assert tasks[0].extra == {"priority": ""}


class LostAnswerRepo(ScriptedRepo):
    """Applies the next commit, then answers it with `failure` (the answer lost on the way back)."""

    lose_next: Exception | None = None

    async def create_commit(self, repo_id: str, operations: list[CommitOperationAdd], **kwargs: Any) -> None:
        await super().create_commit(repo_id, operations, **kwargs)
        if self.lose_next is not None:
            failure, self.lose_next = self.lose_next, None
            raise failure


def _lost() -> Exception:
    return errors.ServerError("502 Bad Gateway", status=502, method="POST", url="/c")


@pytest.mark.anyio
async def test_a_change_whose_answer_was_lost_but_that_landed_is_not_made_again() -> None:
    """Each change whose commit landed but whose answer was lost is recognised on the next read and
    returned as it landed, never committed a second time (nor refused as a lost lease)."""
    repo = LostAnswerRepo(b"m,a,PENDING\nm,b,PENDING\nm,c,PENDING\n")
    queue = _queue(repo)
    repo.lose_next = _lost()
    added = await queue.add_many([("m", "d")])
    assert [t.task_id for t in added] == ["4"]
    claims = []
    for worker in ("w1", "w2", "w3", "w4"):
        repo.lose_next = _lost()
        claimed = await queue.claim(worker=worker)
        assert claimed is not None
        claims.append(claimed)
    one, two, three, four = claims
    for change in (
        lambda: queue.renew(one),
        lambda: queue.complete(one),
        lambda: queue.fail(two, "bad data"),
        lambda: queue.release(three),
    ):
        repo.lose_next = _lost()
        await change()
    assert len(repo.commits) == 9
    assert [(t.task_id, t.status, t.reason) for t in repo.tasks()] == [
        ("1", TaskStatus.DONE, ""),
        ("2", TaskStatus.FAILED, "bad data"),
        ("3", TaskStatus.PENDING, ""),
        ("4", TaskStatus.RUNNING, ""),
    ]
    assert repo.tasks()[3].token == four.token
    assert queue.conflicts == 0


@pytest.mark.anyio
async def test_unknown_columns_survive_the_queue_s_writes() -> None:
    """Columns the queue does not know are written back with their values after a change."""
    repo = ScriptedRepo(b"model_id,dataset_id,STATUS,priority\nm,a,PENDING,high\nm,b,PENDING,low\n")
    task = await _queue(repo).claim(worker="w")
    assert task is not None
    tasks, extra = parse_tasks(repo.contents[repo.head])
    assert extra == ["priority"]
    assert [t.extra for t in tasks] == [{"priority": "high"}, {"priority": "low"}]


@pytest.mark.anyio
async def test_a_lost_race_is_routine_and_a_lost_answer_is_a_warning_naming_the_repo(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Retrying after a 412 logs below WARNING (a lost compare-and-swap race is routine); retrying after a
    lost answer is a warning that names the repo."""
    caplog.set_level(logging.DEBUG, logger="aiospaces")
    await _queue(ScriptedRepo(conflicts=2)).add("m", "a")
    retries = [r for r in caplog.records if r.name.startswith("aiospaces")]
    assert len(retries) == 2
    assert all(r.levelno < logging.WARNING for r in retries)
    caplog.clear()
    repo = ScriptedRepo()
    repo.failure = _lost()
    await _queue(repo).add("m", "a")
    (warning,) = [r for r in caplog.records if r.name.startswith("aiospaces")]
    assert warning.levelno == logging.WARNING
    assert "alice/tasks" in warning.getMessage()
