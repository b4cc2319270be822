"""The simulated Hub's git/file layer, driven over `Router` with a tiny fake host (no SimulatedHub needed)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from aiospaces.hubsim import _routes_git
from aiospaces.hubsim._git_objects import (
    DEFAULT_GITATTRIBUTES,
    EntryNotFound,
    LFSAddition,
    MissingLFSObject,
    ParentMismatch,
    RevisionNotFound,
    git_blob_sha1,
    sha256_hex,
)
from aiospaces.hubsim._git_store import GitStore
from aiospaces.hubsim._http import HubError, Router, SimRequest, SimResponse
from aiospaces.hubsim._routes_git import FILE_ROUTES

SPACE = ("space", "alice/demo")
BASE = "http://hub.test"


class FakeHost:
    """A GitHost: real GitStore, a settable clock, an access rule, and a record of calls."""

    def __init__(self) -> None:
        self.clock = 1000.0
        self.git = GitStore(now=self.now)
        self.after: list[tuple[str, str, str]] = []
        self.authorized: list[tuple[str, str, bool]] = []
        self.deny: HubError | None = None

    def now(self) -> float:
        return self.clock

    def authorize_repo(self, req: SimRequest, repo_type: str, repo_id: str, *, write: bool) -> None:
        self.authorized.append((repo_type, repo_id, write))
        if self.deny is not None:
            raise self.deny

    def authorize_pull_request(self, req: SimRequest, repo_type: str, repo_id: str) -> None:
        self.authorize_repo(req, repo_type, repo_id, write=False)

    def after_commit(self, repo_type: str, repo_id: str, commit_sha: str) -> None:
        self.after.append((repo_type, repo_id, commit_sha))

    def authorize_download(self, req: SimRequest, repo_type: str, repo_id: str) -> None:
        pass

    def username_of(self, req: SimRequest) -> str:
        return "alice"


@pytest.fixture
def host() -> FakeHost:
    h = FakeHost()
    h.git.create_repo(SPACE, initial_files={".gitattributes": DEFAULT_GITATTRIBUTES.encode()}, author="alice")
    return h


@pytest.fixture
def router(host: FakeHost) -> Router:
    r = Router()
    r.add_table(FILE_ROUTES, host)
    return r


async def call(
    router: Router,
    method: str,
    url: str,
    *,
    body: bytes = b"",
    json_body: Any = None,
    headers: dict[str, str] | None = None,
) -> SimResponse:
    """Dispatch like the hub does: match the decoded path, pass raw path and query, map HubError."""
    parts = urlsplit(url)
    if json_body is not None:
        body = json.dumps(json_body).encode()
    req = SimRequest.from_parts(method, parts.path, parts.query, headers or {}, body, BASE)
    found = router.match(method, req.path)
    assert found is not None, f"no route for {method} {url}"
    route, groups = found
    try:
        return route.handler(req, **groups)
    except HubError as exc:
        return exc.to_response()


async def read_body(resp: SimResponse) -> bytes:
    if resp.stream is None:
        return resp.body
    return b"".join([chunk async for chunk in resp.stream])


def ndjson(*lines: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def header(summary: str = "Upload", **extra: Any) -> dict[str, Any]:
    return {"key": "header", "value": {"summary": summary, "description": "", **extra}}


def file_line(path: str, data: bytes) -> dict[str, Any]:
    return {
        "key": "file",
        "value": {"path": path, "content": base64.b64encode(data).decode(), "encoding": "base64"},
    }


def lfs_line(path: str, data: bytes) -> dict[str, Any]:
    return {
        "key": "lfsFile",
        "value": {"path": path, "algo": "sha256", "oid": sha256_hex(data), "size": len(data)},
    }


def body_json(resp: SimResponse) -> Any:
    return json.loads(resp.body)


# ------------------------------------------------------------------------------------------- store
def test_blob_ids_are_git_blob_sha1() -> None:
    """File ids equal what `git hash-object` prints, so the official client's local oids match."""
    assert git_blob_sha1(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"
    assert git_blob_sha1(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def test_store_commit_read_and_history(host: FakeHost) -> None:
    """Commits update the tree, head, history and last-modified time; reads return the exact bytes."""
    first = host.git.head(SPACE)
    host.clock = 2000.0
    result = host.git.commit(SPACE, additions={"app.py": b"print(1)\n"}, message="add app", author="alice")
    assert host.git.head(SPACE) == result.sha != first
    assert host.git.read_file(SPACE, "app.py") == b"print(1)\n"
    assert host.git.read_file(SPACE, "app.py", revision=first or "") is None
    info = host.git.list_files(SPACE)["app.py"]
    assert (info.size, info.blob_oid, info.lfs_sha256) == (9, git_blob_sha1(b"print(1)\n"), None)
    assert host.git.last_modified(SPACE) == 2000.0
    assert [c.title for c in host.git.history(SPACE)] == ["add app", "initial commit"]
    assert host.git.head(SPACE, "nope") is None
    assert host.git.head(("model", "x/y")) is None


def test_store_parent_check_and_errors(host: FakeHost) -> None:
    """A stale parent, a missing file deletion, an unknown branch and an unuploaded LFS object are refused."""
    head = host.git.head(SPACE) or ""
    host.git.commit(SPACE, additions={"a.txt": b"a"}, message="m", author="alice", parent=head[:7])
    with pytest.raises(ParentMismatch):
        host.git.commit(SPACE, additions={"b.txt": b"b"}, message="m", author="alice", parent=head)
    with pytest.raises(EntryNotFound):
        host.git.commit(SPACE, deletions=["missing.txt"], message="m", author="alice")
    with pytest.raises(RevisionNotFound):
        host.git.commit(SPACE, additions={"b.txt": b"b"}, message="m", author="alice", revision="dev")
    with pytest.raises(MissingLFSObject):
        host.git.commit(SPACE, additions={"w.bin": LFSAddition("0" * 64, 3)}, message="m", author="alice")
    with pytest.raises(ValueError, match="invalid path"):
        host.git.commit(SPACE, additions={"../x": b"x"}, message="m", author="alice")
    assert sorted(host.git.list_files(SPACE)) == [".gitattributes", "a.txt"]


def test_store_copy_delete_and_lfs_sharing(host: FakeHost) -> None:
    """Copying a repo carries its tree and LFS objects by reference; deleting forgets the repo."""
    data = b"\x00" * 100
    host.git.commit(SPACE, additions={"w.bin": data}, lfs_paths=["w.bin"], message="m", author="alice")
    dst = ("space", "bob/copy")
    host.git.copy_repo(SPACE, dst, author="bob")
    assert host.git.read_file(dst, "w.bin") is host.git.read_file(SPACE, "w.bin")
    assert host.git.list_files(dst)["w.bin"].lfs_sha256 == sha256_hex(data)
    host.git.delete_repo(SPACE)
    assert not host.git.has_repo(SPACE)
    assert host.git.read_file(dst, "w.bin") == data


# --------------------------------------------------------------------------------------- preupload
@pytest.mark.anyio
async def test_preupload_modes_ignore_and_oids(router: Router, host: FakeHost) -> None:
    """Preupload classifies text/binary/pattern/size, applies .gitignore, returns oids of existing files."""
    big_text = b"x" * 600
    host.git.commit(
        SPACE,
        additions={"app.py": b"print(1)\n", "w.bin": b"\x01\x02", ".gitignore": b"*.log\n"},
        lfs_paths=["w.bin"],
        message="m",
        author="alice",
    )

    def entry(path: str, data: bytes, size: int | None = None) -> dict[str, Any]:
        return {"path": path, "sample": base64.b64encode(data[:512]).decode(), "size": size or len(data)}

    resp = await call(
        router,
        "POST",
        "/api/spaces/alice/demo/preupload/main",
        json_body={
            "files": [
                entry("app.py", b"print(1)\n"),
                entry("notes.txt", big_text),
                entry("img.png", b"\x89PNG\r\n\x1a\n\x00\x00"),
                entry("model.safetensors", b"{}"),
                entry("huge.csv", b"a,b\n", size=50 * 1024 * 1024),
                entry("run.log", b"hi"),
                entry("w.bin", b"\x01\x02"),
                entry("empty.txt", b""),
            ]
        },
    )
    assert resp.status == 200
    data = body_json(resp)
    assert data["commitOid"] == host.git.head(SPACE)
    by_path = {f["path"]: f for f in data["files"]}
    modes = {p: f["uploadMode"] for p, f in by_path.items()}
    assert modes == {
        "app.py": "regular",
        "notes.txt": "regular",
        "img.png": "lfs",
        "model.safetensors": "lfs",
        "huge.csv": "lfs",
        "run.log": "regular",
        "w.bin": "lfs",
        "empty.txt": "regular",
    }
    assert {p for p, f in by_path.items() if f["shouldIgnore"]} == {"run.log"}
    assert by_path["app.py"]["oid"] == git_blob_sha1(b"print(1)\n")
    assert by_path["w.bin"]["oid"] == sha256_hex(b"\x01\x02")
    assert "oid" not in by_path["notes.txt"]
    assert ("space", "alice/demo", True) in host.authorized


@pytest.mark.anyio
async def test_preupload_gitignore_from_request_wins(router: Router) -> None:
    """A `gitIgnore` text sent by the client is used instead of the repo's (hub-api.md §11.3)."""
    resp = await call(
        router,
        "POST",
        "/api/spaces/alice/demo/preupload/main",
        json_body={"files": [{"path": "build/out.txt", "sample": "", "size": 0}], "gitIgnore": "build/\n"},
    )
    assert body_json(resp)["files"][0]["shouldIgnore"] is True


@pytest.mark.anyio
@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[]",
        b'{"files": 3}',
        b'{"files": [{"path": 1, "size": 1}]}',
        b'{"files": [{"path": "a"}]}',
        b'{"files": [{"path": "a", "size": 1, "sample": "@@@"}]}',
    ],
)
async def test_preupload_bad_input_is_400(router: Router, payload: bytes) -> None:
    """Malformed preupload bodies get the Hub's 400 JSON error, never a 500."""
    resp = await call(router, "POST", "/api/spaces/alice/demo/preupload/main", body=payload)
    assert resp.status == 400
    assert isinstance(body_json(resp)["error"], str)


@pytest.mark.anyio
async def test_preupload_unknown_revision_and_repo(router: Router, host: FakeHost) -> None:
    """An unknown revision is 404 RevisionNotFound; an unknown repo is 404 RepoNotFound."""
    resp = await call(router, "POST", "/api/spaces/alice/demo/preupload/dev", json_body={"files": []})
    assert (resp.status, resp.header("X-Error-Code")) == (404, "RevisionNotFound")
    resp = await call(router, "POST", "/api/models/alice/none/preupload/main", json_body={"files": []})
    assert (resp.status, resp.header("X-Error-Code")) == (404, "RepoNotFound")


# ------------------------------------------------------------------------------------------ commit
@pytest.mark.anyio
async def test_commit_inline_file_matches_recorded_shape(router: Router, host: FakeHost) -> None:
    """A regular-file commit answers the recorded keys, stores the bytes and triggers after_commit."""
    resp = await call(
        router,
        "POST",
        "/api/spaces/alice/demo/commit/main",
        body=ndjson(header("Upload app.py with huggingface_hub"), file_line("app.py", b"import gradio\n")),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert resp.status == 200
    data = body_json(resp)
    # Keys as in recording test_space_runtime (commit response).
    assert set(data) == {"success", "commitOid", "commitUrl", "hookOutput"}
    assert data["success"] is True
    assert data["hookOutput"] == ""
    assert data["commitUrl"] == f"{BASE}/spaces/alice/demo/commit/{data['commitOid']}"
    assert host.git.head(SPACE) == data["commitOid"]
    assert host.git.read_file(SPACE, "app.py") == b"import gradio\n"
    assert host.after == [("space", "alice/demo", data["commitOid"])]
    assert host.git.history(SPACE)[0].author == "alice"


@pytest.mark.anyio
async def test_commit_stale_parent_is_412(router: Router, host: FakeHost) -> None:
    """A commit whose parentCommit is not the head fails with the Hub's 412 message and changes nothing."""
    old = host.git.head(SPACE)
    host.git.commit(SPACE, additions={"tasks.csv": b"a\n"}, message="m", author="bob")
    resp = await call(
        router,
        "POST",
        "/api/datasets/alice/demo/commit/main".replace("datasets", "spaces"),
        body=ndjson(header(parentCommit=old), file_line("tasks.csv", b"b\n")),
    )
    assert resp.status == 412
    assert "The branch was updated" in body_json(resp)["error"]
    assert host.git.read_file(SPACE, "tasks.csv") == b"a\n"
    ok = await call(
        router,
        "POST",
        "/api/spaces/alice/demo/commit/main",
        body=ndjson(header(parentCommit=host.git.head(SPACE)), file_line("tasks.csv", b"b\n")),
    )
    assert ok.status == 200
    assert host.git.read_file(SPACE, "tasks.csv") == b"b\n"


@pytest.mark.anyio
async def test_commit_create_pr_and_encoded_revision(router: Router, host: FakeHost) -> None:
    """create_pr=1 opens refs/pr/N (pullRequestUrl), leaves main alone, and refs%2Fpr%2FN resolves to it."""
    main_before = host.git.head(SPACE)
    resp = await call(
        router,
        "POST",
        "/api/spaces/alice/demo/commit/main?create_pr=1",
        body=ndjson(header(), file_line("x.txt", b"x")),
    )
    data = body_json(resp)
    assert data["pullRequestUrl"] == f"{BASE}/spaces/alice/demo/discussions/1"
    assert host.git.head(SPACE) == main_before
    assert host.after == []  # only commits on main rebuild a Space
    got = await call(router, "GET", f"/spaces/alice/demo/resolve/{quote('refs/pr/1', safe='')}/x.txt")
    assert got.status == 200
    assert got.body == b"x"
    assert got.header("X-Repo-Commit") == data["commitOid"]
    again = await call(
        router,
        "POST",
        f"/api/spaces/alice/demo/commit/{quote('refs/pr/1', safe='')}",
        body=ndjson(header(), file_line("y.txt", b"y")),
    )
    assert again.status == 200
    assert host.git.read_file(SPACE, "y.txt", revision="refs/pr/1") == b"y"


@pytest.mark.anyio
async def test_commit_deletions(router: Router, host: FakeHost) -> None:
    """deletedFile removes a file, deletedFolder removes a folder, and a missing file is 404 EntryNotFound."""
    host.git.commit(
        SPACE, additions={"src/a.py": b"a", "src/b/c.py": b"c", "keep.txt": b"k"}, message="m", author="a"
    )
    resp = await call(
        router,
        "POST",
        "/api/spaces/alice/demo/commit/main",
        body=ndjson(
            header(),
            {"key": "deletedFolder", "value": {"path": "src/"}},
            {"key": "deletedFile", "value": {"path": "keep.txt"}},
        ),
    )
    assert resp.status == 200
    assert sorted(host.git.list_files(SPACE)) == [".gitattributes"]
    missing = await call(
        router,
        "POST",
        "/api/spaces/alice/demo/commit/main",
        body=ndjson(header(), {"key": "deletedFile", "value": {"path": "nope.txt"}}),
    )
    assert (missing.status, missing.header("X-Error-Code")) == (404, "EntryNotFound")
    assert "A file with this name doesn't exist" in body_json(missing)["error"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{not json}\n",
        ndjson(file_line("a.txt", b"a")),
        ndjson({"key": "header", "value": {"summary": ""}}),
        ndjson(header(), {"key": "file", "value": {"path": "a.txt", "content": "***", "encoding": "base64"}}),
        ndjson(header(), {"key": "file", "value": {"path": "a.txt"}}),
        ndjson(header(), {"key": "rename", "value": {"path": "a.txt"}}),
        ndjson(header(), {"key": "lfsFile", "value": {"path": "w.bin", "oid": "xyz", "size": 1}}),
        ndjson(header(parentCommit="not-a-sha")),
        b"[1, 2]\n",
        b"\xff\xfe\n",
    ],
)
async def test_commit_bad_input_is_400(router: Router, host: FakeHost, body: bytes) -> None:
    """Bad NDJSON, bad base64, a missing header or bad fields get a 400 JSON error and no commit."""
    head = host.git.head(SPACE)
    resp = await call(router, "POST", "/api/spaces/alice/demo/commit/main", body=body)
    assert resp.status == 400
    assert isinstance(body_json(resp)["error"], str)
    assert host.git.head(SPACE) == head


@pytest.mark.anyio
async def test_commit_unknown_revision_and_denied(router: Router, host: FakeHost) -> None:
    """An unknown branch is 404 RevisionNotFound; an authorization error is returned before any change."""
    resp = await call(router, "POST", "/api/spaces/alice/demo/commit/dev", body=ndjson(header()))
    assert (resp.status, resp.header("X-Error-Code")) == (404, "RevisionNotFound")
    head = host.git.head(SPACE)
    host.deny = HubError(403, "You don't have the rights")
    resp = await call(
        router, "POST", "/api/spaces/alice/demo/commit/main", body=ndjson(header(), file_line("a", b"a"))
    )
    assert resp.status == 403
    assert host.git.head(SPACE) == head
    assert host.authorized[-1] == ("space", "alice/demo", True)


# --------------------------------------------------------------------------------------------- LFS
async def lfs_batch(router: Router, prefix: str, objects: list[dict[str, Any]]) -> SimResponse:
    return await call(
        router,
        "POST",
        f"/{prefix}alice/demo.git/info/lfs/objects/batch",
        json_body={
            "operation": "upload",
            "transfers": ["basic", "multipart"],
            "objects": objects,
            "hash_algo": "sha256",
            "ref": {"name": "main"},
        },
        headers={"Content-Type": "application/vnd.git-lfs+json", "Accept": "application/vnd.git-lfs+json"},
    )


@pytest.mark.anyio
async def test_lfs_upload_flow(router: Router, host: FakeHost) -> None:
    """Batch → unauthenticated PUT → verify → lfsFile commit; resolve then serves LFS headers and bytes."""
    data = bytes(range(256)) * 40
    oid = sha256_hex(data)
    # A commit referencing an object that was never uploaded is refused.
    refused = await call(
        router, "POST", "/api/spaces/alice/demo/commit/main", body=ndjson(header(), lfs_line("w.bin", data))
    )
    assert refused.status == 400
    resp = await lfs_batch(router, "spaces/", [{"oid": oid, "size": len(data)}])
    assert resp.status == 200
    assert resp.header("Content-Type") == "application/vnd.git-lfs+json"
    (obj,) = body_json(resp)["objects"]
    upload, verify = obj["actions"]["upload"], obj["actions"]["verify"]
    assert upload["href"].startswith(BASE)
    assert "header" not in upload
    put = await call(router, "PUT", upload["href"].removeprefix(BASE), body=data)
    assert put.status == 200
    ok = await call(
        router, "POST", verify["href"].removeprefix(BASE), json_body={"oid": oid, "size": len(data)}
    )
    assert ok.status == 200
    again = await lfs_batch(router, "spaces/", [{"oid": oid, "size": len(data)}])
    assert "actions" not in body_json(again)["objects"][0]
    done = await call(
        router, "POST", "/api/spaces/alice/demo/commit/main", body=ndjson(header(), lfs_line("w.bin", data))
    )
    assert done.status == 200
    got = await call(router, "GET", "/spaces/alice/demo/resolve/main/w.bin")
    assert await read_body(got) == data
    assert got.header("X-Linked-Etag") == f'"{oid}"'
    assert got.header("X-Linked-Size") == str(len(data))
    assert got.header("ETag") == f'"{oid}"'


@pytest.mark.anyio
async def test_lfs_upload_url_checks(router: Router, host: FakeHost) -> None:
    """The pre-signed URL refuses a bad signature, a wrong size and content that does not hash to the oid."""
    data = b"payload" * 10
    resp = await lfs_batch(router, "spaces/", [{"oid": sha256_hex(data), "size": len(data)}])
    href = body_json(resp)["objects"][0]["actions"]["upload"]["href"].removeprefix(BASE)
    tampered = href.replace("signature=", "signature=0")
    assert (await call(router, "PUT", tampered, body=data)).status == 403
    assert (await call(router, "PUT", href, body=data[:-1])).status == 400
    assert (await call(router, "PUT", href, body=data[::-1])).status == 400
    assert not host.git.has_lfs_object(SPACE, sha256_hex(data))
    host.clock += 7200  # past the URL's lifetime
    assert (await call(router, "PUT", href, body=data)).status == 403


@pytest.mark.anyio
async def test_lfs_batch_bad_input_and_per_object_errors(router: Router) -> None:
    """A malformed batch is 400; an invalid oid gets a per-object error the client reports."""
    bad = await call(router, "POST", "/spaces/alice/demo.git/info/lfs/objects/batch", body=b"{oops")
    assert bad.status == 400
    resp = await lfs_batch(router, "spaces/", [{"oid": "nothex", "size": 3}])
    assert body_json(resp)["objects"][0]["error"]["code"] == 422
    missing = await lfs_batch(router, "datasets/", [{"oid": "0" * 64, "size": 3}])
    assert (missing.status, missing.header("X-Error-Code")) == (404, "RepoNotFound")


@pytest.mark.anyio
async def test_lfs_multipart_upload(router: Router, host: FakeHost) -> None:
    """With a multipart threshold, parts are PUT, answer ETags, and the completion call stores the object."""
    host.git.multipart_threshold = 10
    host.git.multipart_chunk_size = 16
    data = b"0123456789abcdef" * 3 + b"tail"
    oid = sha256_hex(data)
    resp = await lfs_batch(router, "spaces/", [{"oid": oid, "size": len(data)}])
    upload = body_json(resp)["objects"][0]["actions"]["upload"]
    hdr = upload["header"]
    assert hdr["chunk_size"] == "16"
    part_urls = [hdr[str(n)] for n in range(1, 5)]
    assert set(hdr) == {"chunk_size", "1", "2", "3", "4"}
    parts = []
    for number, url in enumerate(part_urls, start=1):
        put = await call(router, "PUT", url.removeprefix(BASE), body=data[(number - 1) * 16 : number * 16])
        assert put.header("ETag")
        parts.append({"partNumber": number, "etag": put.header("ETag")})
    done = await call(
        router, "POST", upload["href"].removeprefix(BASE), json_body={"oid": oid, "parts": parts}
    )
    assert done.status == 200
    assert host.git.lfs_object(SPACE, oid) == data


# ----------------------------------------------------------------------------------------- resolve
@pytest.mark.anyio
async def test_resolve_headers_head_and_ranges(router: Router, host: FakeHost) -> None:
    """Resolve sends X-Repo-Commit, quoted ETag, real Content-Length (also on HEAD), and honours Range."""
    content = b"0123456789"
    host.git.commit(SPACE, additions={"dir/f.txt": content}, message="m", author="a")
    head = await call(router, "HEAD", "/spaces/alice/demo/resolve/main/dir/f.txt")
    assert head.status == 200
    assert head.body == b""
    assert head.header("Content-Length") == "10"
    assert head.header("ETag") == f'"{git_blob_sha1(content)}"'
    assert head.header("X-Repo-Commit") == host.git.head(SPACE)
    assert head.header("X-Linked-Etag") is None
    part = await call(
        router, "GET", "/spaces/alice/demo/resolve/main/dir/f.txt", headers={"Range": "bytes=3-"}
    )
    assert (part.status, part.body, part.header("Content-Range")) == (206, b"3456789", "bytes 3-9/10")
    suffix = await call(
        router, "GET", "/spaces/alice/demo/resolve/main/dir/f.txt", headers={"Range": "bytes=-2"}
    )
    assert (suffix.status, suffix.body) == (206, b"89")
    bad = await call(
        router, "GET", "/spaces/alice/demo/resolve/main/dir/f.txt", headers={"Range": "bytes=20-"}
    )
    assert (bad.status, bad.header("Content-Range")) == (416, "bytes */10")


@pytest.mark.anyio
async def test_resolve_missing_entry_and_revision(router: Router, host: FakeHost) -> None:
    """A missing file is 404 EntryNotFound with X-Repo-Commit; a bad revision is 404 RevisionNotFound."""
    miss = await call(router, "GET", "/spaces/alice/demo/resolve/main/nope.txt")
    assert (miss.status, miss.header("X-Error-Code")) == (404, "EntryNotFound")
    assert miss.header("X-Repo-Commit") == host.git.head(SPACE)
    rev = await call(router, "HEAD", "/spaces/alice/demo/resolve/v9/a.txt")
    assert (rev.status, rev.header("X-Error-Code")) == (404, "RevisionNotFound")


@pytest.mark.anyio
async def test_resolve_model_and_dataset_prefixes(router: Router, host: FakeHost) -> None:
    """Models resolve without a prefix, datasets under datasets/, and /api paths are not taken as models."""
    for key in (("model", "alice/demo"), ("dataset", "alice/demo")):
        host.git.create_repo(key, initial_files={"f.txt": key[0].encode()}, author="alice")
    assert (await call(router, "GET", "/alice/demo/resolve/main/f.txt")).body == b"model"
    assert (await call(router, "GET", "/datasets/alice/demo/resolve/main/f.txt")).body == b"dataset"
    assert router.match("GET", "/api/spaces/resolve/main/x") is None
    assert router.match("GET", "/api/models/alice/demo/resolve/main/x") is None


@pytest.mark.anyio
async def test_resolve_streams_large_files_by_commit_sha(router: Router, host: FakeHost) -> None:
    """A large file is streamed in chunks that add up to the exact bytes, also when resolved by commit sha."""
    data = hashlib.sha256(b"seed").digest() * (3 * 1024 * 1024 // 32 + 7)
    result = host.git.commit(
        SPACE, additions={"big.bin": data}, lfs_paths=["big.bin"], message="m", author="a"
    )
    resp = await call(router, "GET", f"/spaces/alice/demo/resolve/{result.sha}/big.bin")
    assert resp.stream is not None
    assert await read_body(resp) == data
    assert resp.header("Content-Length") == str(len(data))


# ---------------------------------------------------------------------------------- tree / listing
@pytest.mark.anyio
async def test_tree_listing_recursive_and_folder(router: Router, host: FakeHost) -> None:
    """Tree lists folders then files, recurses on request, lists an encoded sub-folder, 404s a missing one."""
    host.git.commit(
        SPACE,
        additions={"src/a.py": b"a", "src/sub/b.py": b"b", "w.bin": b"\x00"},
        lfs_paths=["w.bin"],
        message="m",
        author="a",
    )
    top = body_json(await call(router, "GET", "/api/spaces/alice/demo/tree/main"))
    assert [(e["type"], e["path"]) for e in top] == [
        ("directory", "src"),
        ("file", ".gitattributes"),
        ("file", "w.bin"),
    ]
    lfs_entry = top[2]
    assert lfs_entry["lfs"] == {
        "oid": sha256_hex(b"\x00"),
        "size": 1,
        "pointerSize": lfs_entry["lfs"]["pointerSize"],
    }
    assert lfs_entry["oid"] != sha256_hex(b"\x00")
    deep = body_json(await call(router, "GET", "/api/spaces/alice/demo/tree/main?recursive=true"))
    assert {e["path"] for e in deep if e["type"] == "file"} == {
        ".gitattributes",
        "w.bin",
        "src/a.py",
        "src/sub/b.py",
    }
    sub = body_json(
        await call(router, "GET", f"/api/spaces/alice/demo/tree/main/{quote('src/sub', safe='')}")
    )
    assert [e["path"] for e in sub] == ["src/sub/b.py"]
    miss = await call(router, "GET", "/api/spaces/alice/demo/tree/main/nope")
    assert (miss.status, miss.header("X-Error-Code")) == (404, "EntryNotFound")


@pytest.mark.anyio
async def test_tree_pagination_and_expand(
    router: Router, host: FakeHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tree pages follow the Link rel="next" absolute URL, and expand adds lastCommit per entry."""
    monkeypatch.setattr(_routes_git, "TREE_PAGE_SIZE", 3)
    first = host.git.commit(
        SPACE, additions={f"f{i}.txt": b"%d" % i for i in range(5)}, message="five", author="a"
    )
    host.git.commit(SPACE, additions={"f0.txt": b"changed"}, message="change f0", author="a")
    seen: list[str] = []
    url: str | None = "/api/spaces/alice/demo/tree/main?recursive=false"
    while url:
        resp = await call(router, "GET", url)
        seen += [e["path"] for e in body_json(resp)]
        link = resp.header("Link")
        url = link.split(">")[0].removeprefix("<").removeprefix(BASE) if link else None
    assert seen == [".gitattributes"] + [f"f{i}.txt" for i in range(5)]
    expanded = body_json(await call(router, "GET", "/api/spaces/alice/demo/tree/main?expand=true"))
    last = {e["path"]: e["lastCommit"]["title"] for e in expanded}
    assert last["f0.txt"] == "change f0"
    assert last["f1.txt"] == "five"
    assert last[".gitattributes"] == "initial commit"
    assert first.sha in {e["lastCommit"]["id"] for e in expanded}


@pytest.mark.anyio
async def test_paths_info_form_encoded(router: Router, host: FakeHost) -> None:
    """paths-info takes repeated form `paths`, answers files and folders, and leaves unknown paths out."""
    host.git.commit(SPACE, additions={"src/a.py": b"a"}, message="m", author="a")
    resp = await call(
        router,
        "POST",
        "/api/spaces/alice/demo/paths-info/main",
        body=b"paths=src%2Fa.py&paths=src&paths=missing&expand=false",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    entries = body_json(resp)
    assert [(e["type"], e["path"]) for e in entries] == [("file", "src/a.py"), ("directory", "src")]
    assert entries[0]["oid"] == git_blob_sha1(b"a")
    assert entries[0]["size"] == 1


@pytest.mark.anyio
async def test_commits_history_and_pages(router: Router, host: FakeHost) -> None:
    """The commits route lists history newest first with id/title/message/authors/date, paginated by Link."""
    for i in range(3):
        host.git.commit(
            SPACE, additions={"t.csv": b"%d" % i}, message=f"c{i}", description=f"d{i}", author="bob"
        )
    resp = await call(router, "GET", "/api/spaces/alice/demo/commits/main?limit=2")
    items = body_json(resp)
    assert [i["title"] for i in items] == ["c2", "c1"]
    assert items[0]["authors"] == [{"user": "bob", "avatar": None}]
    assert items[0]["message"] == "d2"
    assert items[0]["id"] == host.git.head(SPACE)
    assert items[0]["date"].endswith("Z")
    nxt = resp.header("Link")
    assert nxt is not None
    rest = body_json(await call(router, "GET", nxt.split(">")[0].removeprefix("<").removeprefix(BASE)))
    assert [i["title"] for i in rest] == ["c0", "initial commit"]
    assert resp.header("X-Total-Count") == "4"


@pytest.mark.anyio
async def test_lfs_download_batch_and_verify_errors(router: Router, host: FakeHost) -> None:
    """The batch download operation hands out a signed URL; verify refuses unknown objects and wrong sizes."""
    data = b"\x00lfs\x00" * 10
    oid = host.git.put_lfs_object(SPACE, data)
    resp = await call(
        router,
        "POST",
        "/spaces/alice/demo.git/info/lfs/objects/batch",
        json_body={
            "operation": "download",
            "objects": [{"oid": oid, "size": len(data)}, {"oid": "1" * 64, "size": 1}],
        },
    )
    found, missing = body_json(resp)["objects"]
    got = await call(router, "GET", found["actions"]["download"]["href"].removeprefix(BASE))
    assert got.body == data
    assert missing["error"]["code"] == 404
    verify = "/spaces/alice/demo.git/info/lfs/objects/verify"
    assert (await call(router, "POST", verify, json_body={"oid": "1" * 64, "size": 1})).status == 404
    assert (await call(router, "POST", verify, json_body={"oid": oid, "size": 1})).status == 422
    assert (await call(router, "POST", verify, json_body={"oid": oid, "size": len(data)})).status == 200


@pytest.mark.anyio
async def test_pr_with_parent_commit_and_model_api_route(router: Router, host: FakeHost) -> None:
    """With create_pr, parentCommit picks the PR's base; model repos use /api/models/... routes."""
    base = host.git.head(SPACE) or ""
    host.git.commit(SPACE, additions={"later.txt": b"l"}, message="later", author="a")
    resp = await call(
        router,
        "POST",
        "/api/spaces/alice/demo/commit/main?create_pr=1",
        body=ndjson(header(parentCommit=base), file_line("pr.txt", b"p")),
    )
    assert resp.status == 200
    pr_files = host.git.list_files(SPACE, "refs/pr/1")
    assert "pr.txt" in pr_files
    assert "later.txt" not in pr_files
    model = ("model", "alice/demo")
    host.git.create_repo(model, initial_files={}, author="alice")
    ok = await call(
        router, "POST", "/api/models/alice/demo/commit/main", body=ndjson(header(), file_line("m", b"m"))
    )
    assert ok.status == 200
    assert host.git.read_file(model, "m") == b"m"
    assert host.after[-1] == ("model", "alice/demo", body_json(ok)["commitOid"])


@pytest.mark.anyio
async def test_paths_info_json_body_and_tree_on_file(router: Router, host: FakeHost) -> None:
    """paths-info also takes a JSON body (huggingface.js) with expand; a tree of a file path is a 404."""
    host.git.commit(SPACE, additions={"a.txt": b"a"}, message="add a", author="a")
    resp = await call(
        router,
        "POST",
        "/api/spaces/alice/demo/paths-info/main",
        json_body={"paths": ["a.txt"], "expand": True},
        headers={"Content-Type": "application/json"},
    )
    (entry,) = body_json(resp)
    assert entry["lastCommit"]["title"] == "add a"
    tree = await call(router, "GET", "/api/spaces/alice/demo/tree/main/a.txt")
    assert tree.status == 404
    bad = await call(
        router,
        "POST",
        "/api/spaces/alice/demo/paths-info/main",
        json_body={"paths": [1]},
        headers={"Content-Type": "application/json"},
    )
    assert bad.status == 400


@pytest.mark.anyio
async def test_branches_and_refs(router: Router, host: FakeHost) -> None:
    """Branches can be created from a revision, committed to, listed with PR refs, and deleted (not main)."""
    made = await call(
        router, "POST", "/api/spaces/alice/demo/branch/dev", json_body={"startingPoint": "main"}
    )
    assert made.status == 200
    assert (await call(router, "POST", "/api/spaces/alice/demo/branch/dev", json_body={})).status == 409
    resp = await call(
        router, "POST", "/api/spaces/alice/demo/commit/dev", body=ndjson(header(), file_line("d", b"d"))
    )
    assert resp.status == 200
    assert host.after == []  # only main rebuilds a Space
    await call(router, "POST", "/api/spaces/alice/demo/commit/main?create_pr=1", body=ndjson(header()))
    refs = body_json(await call(router, "GET", "/api/spaces/alice/demo/refs?include_prs=1"))
    assert [b["name"] for b in refs["branches"]] == ["dev", "main"]
    assert refs["branches"][0]["targetCommit"] == body_json(resp)["commitOid"]
    assert refs["pullRequests"][0]["ref"] == "refs/pr/1"
    assert (await call(router, "DELETE", "/api/spaces/alice/demo/branch/main")).status == 403
    assert (await call(router, "DELETE", "/api/spaces/alice/demo/branch/dev")).status == 200
    gone = await call(router, "DELETE", "/api/spaces/alice/demo/branch/dev")
    assert gone.header("X-Error-Code") == "RevisionNotFound"


@pytest.mark.anyio
async def test_percent_encoded_paths(router: Router, host: FakeHost) -> None:
    """File and folder names with spaces and unicode resolve from their percent-encoded URL forms."""
    host.git.commit(SPACE, additions={"my dir/résumé 1.txt": b"cv"}, message="m", author="a")
    got = await call(router, "GET", "/spaces/alice/demo/resolve/main/" + quote("my dir/résumé 1.txt"))
    assert got.body == b"cv"
    listed = await call(router, "GET", "/api/spaces/alice/demo/tree/main/" + quote("my dir", safe=""))
    assert [e["path"] for e in body_json(listed)] == ["my dir/résumé 1.txt"]


@pytest.mark.anyio
async def test_oversized_commit_and_lfs_object(router: Router, monkeypatch: pytest.MonkeyPatch) -> None:
    """A commit body over the inline limit is 413; an LFS object over 50 GB gets a per-object error."""
    monkeypatch.setattr(_routes_git, "MAX_COMMIT_BODY", 100)
    resp = await call(
        router,
        "POST",
        "/api/spaces/alice/demo/commit/main",
        body=ndjson(header(), file_line("a", b"a" * 200)),
    )
    assert resp.status == 413
    assert "error" in body_json(resp)
    batch = await lfs_batch(router, "spaces/", [{"oid": "a" * 64, "size": 51 * 1000**3}])
    assert body_json(batch)["objects"][0]["error"]["code"] == 422


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["../escape", "a/../../escape", "..\\ddd"])
async def test_commit_escaping_path_is_422(router: Router, host: FakeHost, path: str) -> None:
    """A path leaving the repo root (a `..` segment, a leading `..\\`) is a 422 and commits nothing."""
    head = host.git.head(SPACE)
    body = ndjson(header(), file_line(path, b"x"))
    resp = await call(router, "POST", "/api/spaces/alice/demo/commit/main", body=body)
    assert resp.status == 422
    assert "leaves the repository" in body_json(resp)["error"]
    assert host.git.head(SPACE) == head
