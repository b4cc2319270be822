"""Pure wire parts of commits and downloads, cross-checked against huggingface_hub where it has them."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path

import pytest
from huggingface_hub import _commit_api as hf_commit
from huggingface_hub.file_download import repo_folder_name as hf_repo_folder_name
from huggingface_hub.utils import filter_repo_objects
from huggingface_hub.utils.sha import git_hash

from aiospaces._commit_models import (
    CommitOperationAdd,
    CommitOperationDelete,
    UploadInfo,
    apply_preupload,
    commit_body,
    commit_lines,
    drop_noops,
    filter_paths,
    git_blob_sha1,
    lfs_batch_payload,
    multipart_completion_payload,
    normalize_etag,
    parse_commit_response,
    parse_lfs_batch_response,
    parse_preupload_response,
    preupload_payload,
    repo_folder_name,
)
from aiospaces._wire import fix_endpoint_in_url, resolve_path
from aiospaces.validation import validate_parent_commit, validate_path_in_repo, validate_repo_id


def _hashed(op: CommitOperationAdd) -> CommitOperationAdd:
    op.compute_upload_info()
    return op


def test_git_blob_sha1_matches_git_and_huggingface_hub() -> None:
    """The git blob id equals huggingface_hub's `git_hash` and git's known id of the empty blob."""
    for data in (b"", b"hello\n", bytes(range(256)) * 3):
        assert git_blob_sha1(data) == git_hash(data)
    assert git_blob_sha1(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def test_upload_info_streams_file_in_small_chunks(tmp_path: Path) -> None:
    """Hashing a file with a tiny chunk size gives the same size, sample and hashes as hashing it whole."""
    data = bytes(range(256)) * 40 + b"tail"
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    streamed = UploadInfo.from_path(str(path), chunk_size=7)
    assert streamed == UploadInfo.from_bytes(data)
    assert streamed.size == len(data)
    assert streamed.sample == data[:512]
    assert streamed.sha256 == hashlib.sha256(data).hexdigest()
    assert streamed.sha1 == git_hash(data)


def test_operation_add_accepts_path_bytes_and_fileobj(tmp_path: Path) -> None:
    """Paths, bytes and binary file objects hash alike, and a file object's position is restored."""
    path = tmp_path / "a.txt"
    path.write_bytes(b"content")
    fileobj = io.BytesIO(b"xxcontent")
    fileobj.seek(2)
    infos = [
        CommitOperationAdd(path_in_repo="a.txt", path_or_fileobj=src).compute_upload_info()
        for src in (str(path), path, b"content", fileobj)
    ]
    assert all(info == infos[0] for info in infos)
    assert fileobj.tell() == 2


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"path_in_repo": "a.txt", "path_or_fileobj": 12}, TypeError),
        ({"path_in_repo": "a.txt", "path_or_fileobj": "/definitely/not/here"}, ValueError),
        ({"path_in_repo": "a.txt", "path_or_fileobj": io.StringIO("text")}, TypeError),
        ({"path_in_repo": "../escape", "path_or_fileobj": b"x"}, ValueError),
        ({"path_in_repo": "a/.git/config", "path_or_fileobj": b"x"}, ValueError),
        ({"path_in_repo": 3, "path_or_fileobj": b"x"}, TypeError),
    ],
)
def test_operation_add_rejects_bad_input(kwargs: dict[str, object], error: type[Exception]) -> None:
    """Bad sources and paths raise TypeError/ValueError at construction, before any request."""
    with pytest.raises(error):
        CommitOperationAdd(**kwargs)  # type: ignore[arg-type]


def test_path_and_id_validation() -> None:
    """A leading `./` is dropped as huggingface_hub does; absolute, `..`, backslash and NUL paths, bad repo
    ids and bad parent commits are rejected."""
    assert validate_path_in_repo("./x") == "x"
    for bad in ("", ".", "a/../b", ".cache/x", "/x", "/./dir/file", "a\\b", "a\0b", "a//b"):
        with pytest.raises(ValueError, match="path_in_repo"):
            validate_path_in_repo(bad)
    assert validate_repo_id("alice/data") == "alice/data"
    for bad_id in ("", "a/b/c", "a//b", "a--b/c", "a b/c"):
        with pytest.raises(ValueError, match="repo_id"):
            validate_repo_id(bad_id)
    with pytest.raises(TypeError, match="repo_id"):
        validate_repo_id(None)
    assert validate_parent_commit("abcde") == "abcde"
    with pytest.raises(ValueError, match="parent_commit"):
        validate_parent_commit("main")


def test_delete_operation_folder_detection() -> None:
    """A delete path ending with '/' is a folder unless told otherwise; bad is_folder values are refused."""
    assert CommitOperationDelete("logs/").is_folder is True
    assert CommitOperationDelete("logs.txt").is_folder is False
    assert CommitOperationDelete("logs", is_folder=True).is_folder is True
    with pytest.raises(ValueError, match="is_folder"):
        CommitOperationDelete("x", is_folder="yes")  # type: ignore[arg-type]


def test_preupload_payload_and_response() -> None:
    """The preupload body carries path, base64 sample and size; the answer sets mode, ignore flag and oid."""
    ops = [_hashed(CommitOperationAdd("a.txt", b"hello")), _hashed(CommitOperationAdd("empty.bin", b""))]
    payload = preupload_payload(ops)
    assert payload == {
        "files": [
            {"path": "a.txt", "sample": base64.b64encode(b"hello").decode(), "size": 5},
            {"path": "empty.bin", "sample": "", "size": 0},
        ]
    }
    entries = parse_preupload_response(
        {
            "files": [
                {"path": "a.txt", "uploadMode": "regular", "shouldIgnore": False, "oid": git_hash(b"hello")},
                {"path": "empty.bin", "uploadMode": "lfs", "shouldIgnore": False},
            ],
            "commitOid": "0" * 40,
        }
    )
    apply_preupload(ops, entries)
    assert ops[0]._upload_mode == "regular"
    assert ops[1]._upload_mode == "regular"  # empty files never go through LFS
    assert ops[0].local_oid == ops[0]._remote_oid
    assert drop_noops(ops) == [ops[1]]
    with pytest.raises(ValueError, match="preupload"):
        parse_preupload_response({"files": [{"path": "x", "uploadMode": "xet"}]})


def test_drop_noops_keeps_files_deleted_in_same_commit() -> None:
    """An unchanged file whose folder is deleted in the same commit is re-added, as the official client."""
    op = _hashed(CommitOperationAdd("dir/a.txt", b"x"))
    op._upload_mode, op._remote_oid = "regular", git_hash(b"x")
    delete = CommitOperationDelete("dir/")
    assert drop_noops([delete, op]) == [delete, op]


def test_commit_lines_match_huggingface_hub_payload() -> None:
    """The NDJSON items equal huggingface_hub's `_prepare_commit_payload` output for the same operations."""
    regular = _hashed(CommitOperationAdd("app.py", b"print('hi')\n"))
    large = _hashed(CommitOperationAdd("model.bin", b"\x00" * 2000))
    ignored = _hashed(CommitOperationAdd("skip.txt", b"x"))
    regular._upload_mode, large._upload_mode, ignored._upload_mode = "regular", "lfs", "regular"
    ignored._should_ignore = True
    ours = list(
        commit_lines(
            [regular, large, ignored, CommitOperationDelete("old.txt"), CommitOperationDelete("logs/")],
            commit_message="msg",
            commit_description=None,
            parent_commit="abcdef1",
        )
    )

    hf_ops: list[hf_commit.CommitOperation] = []
    for path, data, mode in (("app.py", b"print('hi')\n", "regular"), ("model.bin", b"\x00" * 2000, "lfs")):
        hf_op = hf_commit.CommitOperationAdd(path_in_repo=path, path_or_fileobj=data)
        hf_op._upload_mode = mode  # type: ignore[assignment]
        hf_op._should_ignore = False
        hf_ops.append(hf_op)
    hf_ignored = hf_commit.CommitOperationAdd(path_in_repo="skip.txt", path_or_fileobj=b"x")
    hf_ignored._upload_mode, hf_ignored._should_ignore = "regular", True
    hf_ops += [
        hf_ignored,
        hf_commit.CommitOperationDelete("old.txt"),
        hf_commit.CommitOperationDelete("logs/"),
    ]
    theirs = list(
        hf_commit._prepare_commit_payload(hf_ops, {}, commit_message="msg", parent_commit="abcdef1")
    )
    assert ours == theirs
    body = commit_body(ours)
    assert body.endswith(b"\n")
    assert [json.loads(line)["key"] for line in body.splitlines()] == [
        "header",
        "file",
        "lfsFile",
        "deletedFile",
        "deletedFolder",
    ]


def test_lfs_batch_payload_and_response() -> None:
    """The batch body lists oid/size with a ref; the answer splits into uploads, stored objects and errors."""
    info = UploadInfo.from_bytes(b"x" * 100)
    assert lfs_batch_payload([info], revision="refs/pr/1") == {
        "operation": "upload",
        "transfers": ["basic", "multipart"],
        "objects": [{"oid": info.sha256, "size": 100}],
        "hash_algo": "sha256",
        "ref": {"name": "refs/pr/1"},
    }
    assert "ref" not in lfs_batch_payload([info], revision=None)
    actions, present = parse_lfs_batch_response(
        {
            "objects": [
                {"oid": "a" * 64, "size": 10, "actions": {"upload": {"href": "http://s/put"}}},
                {"oid": "b" * 64, "size": 10},
                {
                    "oid": "c" * 64,
                    "size": 25,
                    "actions": {
                        "upload": {
                            "href": "http://s/done",
                            "header": {"chunk_size": "10", "1": "u1", "2": "u2", "3": "u3"},
                        },
                        "verify": {"href": "http://s/verify"},
                    },
                },
            ]
        }
    )
    assert present == {"b" * 64}
    assert [a.oid for a in actions] == ["a" * 64, "c" * 64]
    assert actions[0].chunk_size is None
    assert actions[1].chunk_size == 10
    assert actions[1].part_urls() == ["u1", "u2", "u3"]
    assert actions[1].verify_href == "http://s/verify"
    with pytest.raises(ValueError, match="refused"):
        parse_lfs_batch_response(
            {"objects": [{"oid": "a" * 64, "size": 1, "error": {"code": 422, "message": "no"}}]}
        )
    assert multipart_completion_payload("o", ['"e1"', "e2"]) == {
        "oid": "o",
        "parts": [{"partNumber": 1, "etag": '"e1"'}, {"partNumber": 2, "etag": "e2"}],
    }
    with pytest.raises(ValueError, match="ETag"):
        multipart_completion_payload("o", ["e1", None])


def test_parse_commit_response_builds_commit_info() -> None:
    """The commit answer becomes a CommitInfo; hub URLs move to a custom endpoint; PR fields parse."""
    info = parse_commit_response(
        {
            "success": True,
            "commitOid": "1" * 40,
            "commitUrl": "https://huggingface.co/datasets/a/b/commit/" + "1" * 40,
            "pullRequestUrl": "https://huggingface.co/datasets/a/b/discussions/7",
        },
        commit_message="m",
        commit_description=None,
        create_pr=True,
        endpoint="http://127.0.0.1:9",
    )
    assert info.oid == "1" * 40
    assert info.commit_url == "http://127.0.0.1:9/datasets/a/b/commit/" + "1" * 40
    assert info.pr_num == 7
    assert info.pr_revision == "refs/pr/7"
    assert fix_endpoint_in_url("http://other/x", "http://e") == "http://other/x"
    with pytest.raises(ValueError, match="commitOid"):
        parse_commit_response({}, commit_message="m", commit_description=None, create_pr=False, endpoint="e")


def test_filter_paths_matches_huggingface_hub() -> None:
    """Allow/ignore filtering agrees with huggingface_hub's `filter_repo_objects` on a varied set of cases."""
    paths = ["a.txt", "data/x.json", "data/sub/y.json", "README.md", ".hidden", "src\\win.py", "logs/1.txt"]
    cases = [
        (None, None),
        ("*.json", None),
        (["data/"], ["*y.json"]),
        (None, [".*", "logs/"]),
        (["*.txt", "*.md"], "logs/*"),
        ("src/*", None),
    ]
    for allow, ignore in cases:
        expected = list(filter_repo_objects(paths, allow_patterns=allow, ignore_patterns=ignore))
        assert filter_paths(paths, allow_patterns=allow, ignore_patterns=ignore) == expected, (allow, ignore)
    with pytest.raises(TypeError, match="allow_patterns"):
        filter_paths(paths, allow_patterns=[1])  # type: ignore[list-item]


def test_cache_layout_names() -> None:
    """Repo folder names, ETag normalisation and resolve URLs follow huggingface_hub's conventions."""
    for repo_type in ("model", "dataset", "space"):
        assert repo_folder_name("alice/x", repo_type) == hf_repo_folder_name(
            repo_id="alice/x", repo_type=repo_type
        )
    assert normalize_etag('W/"abc"') == "abc"
    assert normalize_etag('"abc"') == "abc"
    assert resolve_path("space", "a/b", "refs/pr/1", "dir/my file.txt") == (
        "/spaces/a/b/resolve/refs%2Fpr%2F1/dir/my%20file.txt"
    )
    assert resolve_path("model", "a/b", "main", "x") == "/a/b/resolve/main/x"


def test_operation_repr_shows_in_memory_content_by_size_only() -> None:
    """The repr of an addition made from bytes shows their size, never the content (it lands in logs and
    tracebacks)."""
    op = CommitOperationAdd("secrets.env", b"API_KEY=sv-very-secret")
    assert "sv-very-secret" not in repr(op)
    assert "<22 bytes>" in repr(op)
    assert "'secrets.env'" in repr(op)
