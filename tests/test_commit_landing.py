"""Finding a commit whose answer was lost, the pure part: expected state, tree checks, candidates."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from aiospaces._commit_landing import (
    CommitEntry,
    expected_state,
    landing_candidates,
    parse_commits_page,
    preupload_head,
    pull_request_refs,
    title_matches,
    tree_holds,
)
from aiospaces._commit_models import CommitOperationAdd, CommitOperationDelete, git_blob_sha1
from aiospaces.errors import UnexpectedResponseError

BASE = "b" * 40
THEIRS = "1" * 40
OURS = "2" * 40
LATER = "3" * 40


def _file(path: str, data: bytes, *, lfs: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "file", "path": path, "oid": git_blob_sha1(data), "size": len(data)}
    if lfs:
        entry["oid"] = "f" * 40  # the pointer file's blob id, not the content's
        entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 130}
    return entry


def test_expected_state_follows_the_order_of_operations() -> None:
    """Later operations win: an addition inside a deleted folder keeps the folder, a deleted addition is
    absent, and ignored additions are not expected at all."""
    ignored = CommitOperationAdd("build/out.bin", b"x")
    ignored._should_ignore = True
    state = expected_state(
        [
            CommitOperationDelete("data/", is_folder=True),
            CommitOperationAdd("data/new.txt", b"new"),
            CommitOperationAdd("tmp.txt", b"tmp"),
            CommitOperationDelete("tmp.txt"),
            CommitOperationDelete("logs/", is_folder=True),
            ignored,
        ]
    )
    assert set(state.present) == {"data/new.txt"}
    assert git_blob_sha1(b"new") in state.present["data/new.txt"]
    assert state.absent == frozenset({"tmp.txt", "logs"})
    assert state.paths == ["data/new.txt", "logs", "tmp.txt"]


@pytest.mark.parametrize(
    ("entries", "holds"),
    [
        ([_file("app.py", b"ours"), _file("w.bin", b"weights", lfs=True)], True),
        ([_file("app.py", b"theirs"), _file("w.bin", b"weights", lfs=True)], False),  # other content
        ([_file("w.bin", b"weights", lfs=True)], False),  # an added file is missing
        ([_file("app.py", b"ours"), _file("w.bin", b"other", lfs=True)], False),  # other LFS object
        (
            [_file("app.py", b"ours"), _file("w.bin", b"weights", lfs=True), _file("old.txt", b"")],
            False,  # a deleted file is still there
        ),
        (
            [
                _file("app.py", b"ours"),
                _file("w.bin", b"weights", lfs=True),
                {"type": "directory", "path": "logs", "oid": "d" * 40},
            ],
            False,  # a deleted folder is still there
        ),
        ([{"path": 3}, _file("app.py", b"ours"), _file("w.bin", b"weights", lfs=True)], True),  # junk ignored
    ],
)
def test_tree_holds_checks_every_addition_and_deletion(entries: list[dict[str, Any]], holds: bool) -> None:
    """A commit's tree holds the commit only with each added file at its content id (git sha-1, or the
    sha-256 of an LFS file) and each deleted file and folder gone."""
    state = expected_state(
        [
            CommitOperationAdd("app.py", b"ours"),
            CommitOperationAdd("w.bin", b"weights"),
            CommitOperationDelete("old.txt"),
            CommitOperationDelete("logs/"),
        ]
    )
    assert tree_holds(entries, state) is holds


HISTORY = [
    CommitEntry(LATER, "Notes"),
    CommitEntry(OURS, "Update app.py"),
    CommitEntry(THEIRS, "Update app.py"),
    CommitEntry(BASE, "Initial commit"),
    CommitEntry("0" * 40, "Older"),
]


@pytest.mark.parametrize(
    ("base", "summary", "exact_parent", "expected"),
    [
        (BASE, "Update app.py", False, [THEIRS, OURS]),  # oldest first, same title only
        (BASE, "Notes", False, [LATER]),
        (BASE, "Update app.py", True, [THEIRS]),  # with parent_commit: only the commit right after the base
        (BASE[:7], "Update app.py", True, [THEIRS]),  # a short parent_commit
        (THEIRS, "Update app.py", True, [OURS]),
        (LATER, "Notes", False, []),  # nothing after the base
        ("c" * 40, "Update app.py", False, None),  # base not listed: unknown
    ],
)
def test_landing_candidates(base: str, summary: str, exact_parent: bool, expected: list[str] | None) -> None:
    """Candidates are the commits after the base with the commit's title, oldest first; with parent_commit
    only the one right after it; None when the base is not in the listing."""
    assert landing_candidates(HISTORY, base, summary, exact_parent=exact_parent) == expected


@pytest.mark.parametrize(
    ("title", "summary", "matches"),
    [
        ("Update app.py", "Update app.py", True),
        ("Update app.py", "  Update app.py\n", True),
        ("Update app.py", "Update app.py\n\nwith details", True),  # the Hub may keep only the first line
        ("Update app.py\n\nwith details", "Update app.py\n\nwith details", True),
        ("Update app", "Update app.py", False),
    ],
)
def test_title_matches(title: str, summary: str, matches: bool) -> None:
    """A listed title matches the summary sent, whole or its first line, whitespace aside."""
    assert title_matches(title, summary) is matches


def test_parse_commits_page_reads_ids_and_titles_and_refuses_garbage() -> None:
    """The commit listing gives (id, title); an entry without an id or a non-list answer is an error."""
    page = [{"id": OURS, "title": "t", "message": "", "authors": [], "date": "x"}, {"id": BASE}]
    assert parse_commits_page(page, "alice/app") == [CommitEntry(OURS, "t"), CommitEntry(BASE, "")]
    with pytest.raises(UnexpectedResponseError):
        parse_commits_page({"id": OURS}, "alice/app")
    with pytest.raises(UnexpectedResponseError):
        parse_commits_page([{"title": "no id"}], "alice/app")


def test_preupload_head_and_pull_request_refs() -> None:
    """The preupload answer's `commitOid` is the head when well formed; refs give pull request heads."""
    assert preupload_head({"files": [], "commitOid": OURS}) == OURS
    assert preupload_head({"files": []}) is None
    assert preupload_head({"files": [], "commitOid": "../x"}) is None
    refs = {
        "branches": [],
        "pullRequests": [
            {"name": "2", "ref": "refs/pr/2", "targetCommit": OURS},
            {"name": "draft", "ref": "refs/pr/draft", "targetCommit": BASE},
        ],
    }
    assert pull_request_refs(refs) == {2: OURS}
    with pytest.raises(UnexpectedResponseError):
        pull_request_refs({"branches": []})
