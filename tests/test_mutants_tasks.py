"""The task queue pushed past the cases of test_tasks_*.py: the CSV format's edges (header detection, times,
numbering), each transition's exact fields, the queue's argument checks, and its commits and their titles
against the simulated Hub."""

from __future__ import annotations

import attrs
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
    assert failed.token not in ("", "t2")
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
    assert done.token not in ("", claim.token)
    assert done_tasks == [done, claimed_tasks[1]]
    released_tasks, released = release_transition(claimed_tasks, claim)
    assert (released.status, released.worker, released.lease_expires_at) == (TaskStatus.PENDING, "", None)
    assert released.token not in ("", claim.token)
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
