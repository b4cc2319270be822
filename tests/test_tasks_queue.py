"""The queue's retry loop against a scripted repo: a commit whose answer was lost and that lands late."""

from __future__ import annotations

import hashlib

import anyio
import pytest

from aiospaces import errors
from aiospaces._commit_models import CommitOperationAdd
from aiospaces.tasks import TaskQueue, TaskStatus, parse_tasks

SEED = b"m,d1,PENDING\nm,d2,PENDING\nm,d3,PENDING\n"


class _InstantClock:
    def now(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        await anyio.lowlevel.checkpoint()


class LateLandingRepo:
    """A one-file repo with conditional commits, standing in for a `SpacesClient`.

    The first commit times out on the client's side but is still queued on the Hub's: it lands just after
    the client's next read of the head, so that read cannot see it yet.
    """

    def __init__(self, content: bytes) -> None:
        self.contents: dict[str, bytes] = {}
        self.head = self._store(content)
        self.late: tuple[str, bytes] | None = None
        self.commits = 0
        self.clock = _InstantClock()

    def _store(self, content: bytes) -> str:
        sha = hashlib.sha1(content + str(len(self.contents)).encode()).hexdigest()
        self.contents[sha] = content
        return sha

    async def revision_sha(self, repo_id: str, *, repo_type: str | None, revision: str | None) -> str:
        head = self.head
        if self.late is not None:
            parent, content = self.late
            self.late = None
            if parent == self.head:
                self.head = self._store(content)
        return head

    async def read_file(
        self, repo_id: str, filename: str, *, repo_type: str | None, revision: str | None
    ) -> bytes:
        return self.contents[str(revision)]

    async def create_commit(
        self,
        repo_id: str,
        operations: list[CommitOperationAdd],
        *,
        commit_message: str,
        repo_type: str,
        revision: str,
        parent_commit: str,
    ) -> None:
        content = operations[0].read_all()
        self.commits += 1
        if self.commits == 1:
            self.late = (parent_commit, content)
            raise errors.RequestTimeoutError("timed out", method="POST", url="/commit", sent=None)
        if parent_commit != self.head:
            raise errors.CommitConflictError(
                "412 Precondition Failed", status=412, method="POST", url="/commit"
            )
        self.head = self._store(content)


@pytest.mark.anyio
async def test_claim_whose_lost_commit_lands_after_the_next_read_is_returned_not_orphaned() -> None:
    """A claim whose commit answer was lost and that lands only after the queue's next read is recognised
    when the retry hits 412: the worker gets that task, and no second task is left RUNNING in its name."""
    repo = LateLandingRepo(SEED)
    # The scenario needs one lost answer and one 412. A queue that never settles (e.g. committing without
    # `parent_commit`, which this repo answers with 412 forever) must fail here rather than loop: the fake
    # clock never advances, so the conflict bound stops it, and `fail_after` any other endless loop.
    queue = TaskQueue(repo, "alice/tasks", max_retries=5)  # type: ignore[arg-type]
    with anyio.fail_after(60):
        task = await queue.claim(worker="w1")
    assert task is not None
    tasks, _ = parse_tasks(repo.contents[repo.head])
    running = [t for t in tasks if t.status == TaskStatus.RUNNING]
    assert [t.task_id for t in running] == [task.task_id]
    assert running[0].token == task.token
    await queue.complete(task)
    tasks, _ = parse_tasks(repo.contents[repo.head])
    assert [t.status for t in tasks] == [TaskStatus.DONE, TaskStatus.PENDING, TaskStatus.PENDING]
