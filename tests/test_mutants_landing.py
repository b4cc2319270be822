"""Finding a commit whose answer was lost, the pure part, at its edges: folder paths and names ending in a
letter, operations undone by later ones in the same commit, and what a malformed Hub answer is called."""

from __future__ import annotations

from typing import Any

import pytest

from aiospaces._commit_landing import (
    expected_state,
    parse_commits_page,
    pull_request_refs,
    tree_holds,
)
from aiospaces._commit_models import CommitOperationAdd, CommitOperationDelete, git_blob_sha1
from aiospaces.errors import UnexpectedResponseError


def _file(path: str, data: bytes) -> dict[str, Any]:
    return {"type": "file", "path": path, "oid": git_blob_sha1(data), "size": len(data)}


# --- what a commit leaves behind ----------------------------------------------------------------------------


def test_a_deleted_folder_named_with_a_final_letter_is_expected_gone_whole() -> None:
    """A deleted folder given with a trailing slash is expected absent under its whole name."""
    state = expected_state([CommitOperationDelete("docs/LaTeX/", is_folder=True)])
    assert state.absent == frozenset({"docs/LaTeX"})
    assert tree_holds([{"type": "directory", "path": "docs/LaTeX"}], state) is False
    assert tree_holds([{"type": "directory", "path": "docs/LaTe"}], state) is True


def test_files_added_then_their_folder_deleted_are_not_expected() -> None:
    """Files a commit adds inside a folder it then deletes are not expected in the tree; the folder is."""
    state = expected_state(
        [
            CommitOperationAdd("data/a.txt", b"a"),
            CommitOperationAdd("data/sub/b.txt", b"b"),
            CommitOperationAdd("database.txt", b"kept"),
            CommitOperationDelete("data/", is_folder=True),
        ]
    )
    assert set(state.present) == {"database.txt"}
    assert state.absent == frozenset({"data"})
    assert tree_holds([_file("database.txt", b"kept")], state) is True


def test_a_file_deleted_then_added_again_is_expected_present() -> None:
    """A path a commit deletes and then adds again is expected with the new content, not absent."""
    state = expected_state([CommitOperationDelete("x.txt"), CommitOperationAdd("x.txt", b"new")])
    assert state.absent == frozenset()
    assert tree_holds([_file("x.txt", b"new")], state) is True


# --- reading the tree ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("listed", ["logs/", "/logs"])
def test_a_folder_listed_with_a_slash_still_counts_as_there(listed: str) -> None:
    """A deleted folder the tree lists with a leading or trailing slash is still there: the tree does not
    hold the commit."""
    state = expected_state(
        [CommitOperationAdd("a.txt", b"a"), CommitOperationDelete("logs/", is_folder=True)]
    )
    assert tree_holds([_file("a.txt", b"a"), {"type": "directory", "path": listed}], state) is False
    assert tree_holds([_file("a.txt", b"a")], state) is True


def test_a_file_whose_name_ends_in_a_letter_is_found() -> None:
    """An added file whose name ends in a letter is recognised in the tree under its whole name."""
    state = expected_state([CommitOperationAdd("paper.TEX", b"x"), CommitOperationAdd("LaTeX", b"y")])
    assert tree_holds([_file("paper.TEX", b"x"), _file("LaTeX", b"y")], state) is True


# --- malformed answers --------------------------------------------------------------------------------------


def test_a_commit_listing_that_is_not_a_list_is_called_malformed_from_the_hub() -> None:
    """A commit listing that is not a list raises UnexpectedResponseError saying the Hub's commit listing of
    that repo is malformed."""
    with pytest.raises(
        UnexpectedResponseError, match=r"^malformed commit listing of alice/app from the Hub\b"
    ):
        parse_commits_page({"id": "a" * 40}, "alice/app")


def test_a_commit_listing_entry_without_an_id_is_shown_in_the_error() -> None:
    """A commit listing entry without an id raises UnexpectedResponseError naming the repo and showing that
    entry."""
    with pytest.raises(
        UnexpectedResponseError, match=r"^malformed commit listing of alice/app from the Hub: .*no id"
    ):
        parse_commits_page([{"title": "no id"}], "alice/app")


@pytest.mark.parametrize("answer", [[], "refs", {"branches": []}, {"pullRequests": "2"}])
def test_a_refs_answer_without_a_pull_request_list_is_called_malformed(answer: object) -> None:
    """A refs answer that is not an object holding a `pullRequests` list raises UnexpectedResponseError
    saying the Hub's refs answer is malformed."""
    with pytest.raises(UnexpectedResponseError, match=r"^malformed refs answer from the Hub\b"):
        pull_request_refs(answer)


def test_pull_request_refs_skip_junk_entries_and_read_those_after() -> None:
    """Entries of `pullRequests` that are not objects are skipped, and the pull requests listed after them
    are still read."""
    head = "2" * 40
    answer = {"pullRequests": ["junk", None, {"name": "2", "ref": "refs/pr/2", "targetCommit": head}]}
    assert pull_request_refs(answer) == {2: head}
