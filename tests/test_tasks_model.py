"""The task file format and the queue's pure state transitions (no I/O)."""

from __future__ import annotations

import csv
import io

import pytest

from aiospaces.tasks import (
    Task,
    TaskLeaseLostError,
    TaskStatus,
    add_transition,
    claim_transition,
    finish_transition,
    format_tasks,
    parse_tasks,
    renew_transition,
)

SEED_FILE = (
    b"multimodalart/sd-fine-tunable,Wauplin/concept-1,DONE\n"
    b"multimodalart/sd-fine-tunable,Wauplin/concept-2,PENDING\n\n"
)


def test_reads_the_seed_headerless_format() -> None:
    """The seed's `model_id,dataset_id,STATUS` rows parse, blank lines are skipped, ids go in order."""
    tasks, extra = parse_tasks(SEED_FILE)
    assert extra == []
    assert [(t.task_id, t.model_id, t.dataset_id, t.status) for t in tasks] == [
        ("1", "multimodalart/sd-fine-tunable", "Wauplin/concept-1", TaskStatus.DONE),
        ("2", "multimodalart/sd-fine-tunable", "Wauplin/concept-2", TaskStatus.PENDING),
    ]
    assert parse_tasks(None) == ([], [])
    assert parse_tasks(b"") == ([], [])


def test_written_file_stays_readable_by_the_seed_code() -> None:
    """The written file keeps the seed's columns first, so the seed's `row[2] == "PENDING"` still works."""
    tasks, _ = parse_tasks(SEED_FILE)
    data = format_tasks(tasks)
    rows = list(csv.reader(io.StringIO(data.decode())))
    assert rows[0][:3] == ["model_id", "dataset_id", "STATUS"]
    pending = [(row[0], row[1]) for row in rows if row[2] == "PENDING"]  # the seed's get_task logic
    assert pending == [("multimodalart/sd-fine-tunable", "Wauplin/concept-2")]


def test_round_trip_preserves_every_field_and_unknown_columns() -> None:
    """Formatting then parsing gives back the same tasks, including leases, commas, and unknown columns."""
    source = (
        b"model_id,dataset_id,STATUS,task_id,priority,worker\n"
        b'm1,"d,1",RUNNING,7,high,w1\n'
        b"m2,d2,weird-status,8,low,\n"
    )
    tasks, extra = parse_tasks(source)
    assert extra == ["priority"]
    assert tasks[0].dataset_id == "d,1"
    assert tasks[1].status == "weird-status"  # unknown statuses are kept, not crashed on
    leased = Task(
        task_id="9", model_id="m", dataset_id="d", status=TaskStatus.RUNNING, worker="w",
        lease_expires_at=1234.5, attempts=2, reason="r", token="t",
    )  # fmt: skip
    again, extra_again = parse_tasks(format_tasks([*tasks, leased], extra))
    assert again == [*tasks, leased]
    assert extra_again == ["priority"]
    assert [t.extra for t in again[:2]] == [{"priority": "high"}, {"priority": "low"}]


def test_add_assigns_fresh_ids() -> None:
    """Added tasks are PENDING with ids after the largest existing one."""
    tasks, _ = parse_tasks(SEED_FILE)
    all_tasks, added = add_transition(tasks, [("m", "d1"), ("m", "d2")])
    assert [t.task_id for t in added] == ["3", "4"]
    assert all(t.status == TaskStatus.PENDING and t.token for t in added)
    assert all_tasks[:2] == tasks


def test_claim_takes_first_pending_then_expired_leases() -> None:
    """Claims take PENDING tasks in order, then RUNNING ones whose lease expired; nothing else."""
    tasks, _ = add_transition([], [("m", "a"), ("m", "b")])
    tasks1, first = claim_transition(tasks, worker="w1", now=100.0, lease_seconds=10, max_attempts=None)
    assert first is not None
    assert tasks1 is not None
    assert (first.task_id, first.status, first.worker, first.lease_expires_at, first.attempts) == (
        "1", TaskStatus.RUNNING, "w1", 110.0, 1,
    )  # fmt: skip
    tasks2, second = claim_transition(tasks1, worker="w2", now=101.0, lease_seconds=10, max_attempts=None)
    assert second is not None
    assert tasks2 is not None
    assert second.task_id == "2"
    assert claim_transition(tasks2, worker="w3", now=105.0, lease_seconds=10, max_attempts=None) == (
        None,
        None,
    )
    # w1 died: after its lease, w3 reclaims task 1 with a new token and a second attempt.
    tasks3, reclaimed = claim_transition(tasks2, worker="w3", now=110.0, lease_seconds=10, max_attempts=None)
    assert reclaimed is not None
    assert tasks3 is not None
    assert (reclaimed.task_id, reclaimed.worker, reclaimed.attempts) == ("1", "w3", 2)
    assert reclaimed.token != first.token
    # The dead worker's late result must not overwrite the new owner's claim.
    with pytest.raises(TaskLeaseLostError) as caught:
        finish_transition(tasks3, first, status=TaskStatus.DONE)
    assert caught.value.task_id == "1"


def test_max_attempts_fails_a_task_that_keeps_killing_workers() -> None:
    """A task whose lease expired after max_attempts claims becomes FAILED instead of being reclaimed."""
    tasks, _ = add_transition([], [("m", "a"), ("m", "b")])
    tasks, task = claim_transition(tasks, worker="w1", now=0.0, lease_seconds=1, max_attempts=1)
    assert tasks is not None
    assert task is not None
    tasks, _other = claim_transition(tasks, worker="w2", now=0.5, lease_seconds=1, max_attempts=1)
    assert tasks is not None
    tasks, claimed = claim_transition(tasks, worker="w3", now=5.0, lease_seconds=1, max_attempts=1)
    assert tasks is not None
    failed = next(t for t in tasks if t.task_id == "1")
    assert failed.status == TaskStatus.FAILED
    assert "lease expired" in failed.reason
    # Task 2's lease also expired after one attempt: it is failed too, and nothing is left to claim.
    assert claimed is None
    assert next(t for t in tasks if t.task_id == "2").status == TaskStatus.FAILED


def test_finish_and_renew_require_the_current_claim() -> None:
    """complete/fail/renew work for the holder of the claim and refuse a finished or unknown task."""
    tasks, _ = add_transition([], [("m", "a")])
    tasks1, task = claim_transition(tasks, worker="w", now=0.0, lease_seconds=10, max_attempts=None)
    assert tasks1 is not None
    assert task is not None
    tasks2, renewed = renew_transition(tasks1, task, now=8.0, lease_seconds=10)
    assert renewed.lease_expires_at == 18.0
    assert renewed.token == task.token  # renewing keeps the claim
    tasks3, failed = finish_transition(tasks2, task, status=TaskStatus.FAILED, reason="OOM")
    assert (failed.status, failed.reason, failed.lease_expires_at) == (TaskStatus.FAILED, "OOM", None)
    with pytest.raises(TaskLeaseLostError):
        finish_transition(tasks3, task, status=TaskStatus.DONE)
    with pytest.raises(TaskLeaseLostError):
        finish_transition([], task, status=TaskStatus.DONE)


def test_lost_add_is_recognised_even_after_its_tasks_were_claimed() -> None:
    """An add whose answer was lost counts as landed when its rows exist, even if they were claimed since
    (their token changed, their origin did not); an add that did not land is not mistaken for one that did."""
    from aiospaces.tasks import _landed_all

    tasks, added = add_transition([], [("m", "a")])
    claimed_tasks, claimed = claim_transition(tasks, worker="w", now=0.0, lease_seconds=10, max_attempts=None)
    assert claimed_tasks is not None
    assert claimed is not None
    assert claimed.token != added[0].token
    assert _landed_all(claimed_tasks, added)
    _, someone_elses = add_transition([], [("m", "a")])  # same content, different add
    assert not _landed_all(claimed_tasks, someone_elses)
    assert parse_tasks(format_tasks(claimed_tasks))[0][0].created_by == added[0].created_by


def test_release_hands_a_claimed_task_back() -> None:
    """release makes a claimed task PENDING with no worker or lease (attempt kept), only for the current
    claim."""
    from aiospaces.tasks import release_transition

    tasks, _ = add_transition([], [("m", "d")])
    claimed_tasks, claimed = claim_transition(tasks, worker="w", now=0.0, lease_seconds=60, max_attempts=None)
    assert claimed_tasks is not None
    assert claimed is not None
    released_tasks, released = release_transition(claimed_tasks, claimed)
    assert (released.status, released.worker, released.lease_expires_at) == (TaskStatus.PENDING, "", None)
    assert released.attempts == 1
    assert released_tasks == [released]
    with pytest.raises(TaskLeaseLostError):
        release_transition(released_tasks, claimed)
