"""The file layer through the whole SimulatedHub: httpx transport in-process, official client on a socket."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import attrs
import httpx2
import pytest

from aiospaces.hubsim import SimulatedHub
from aiospaces.hubsim._git_objects import git_blob_sha1, sha256_hex

ALICE = {"authorization": "Bearer hf_alice"}
BOB = {"authorization": "Bearer hf_bob"}


@pytest.fixture
def hub() -> SimulatedHub:
    h = SimulatedHub(clock="manual")
    h.add_user("alice", token="hf_alice")
    h.add_user("bob", token="hf_bob")
    h.create_space("alice/demo")
    h.create_repo("alice/tasks", repo_type="dataset", files={"tasks.csv": b"model_id,dataset_id,STATUS\n"})
    return h


def _ndjson(*lines: dict[str, object]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def _commit_body(path: str, data: bytes, **header: object) -> bytes:
    return _ndjson(
        {"key": "header", "value": {"summary": "edit", "description": "", **header}},
        {
            "key": "file",
            "value": {"path": path, "content": base64.b64encode(data).decode(), "encoding": "base64"},
        },
    )


@pytest.mark.anyio
async def test_transport_commit_download_and_listing(hub: SimulatedHub) -> None:
    """Over hub.transport(), a commit lands, rebuilds the Space, and resolve/tree/commits show it."""
    async with httpx2.AsyncClient(transport=hub.transport(), base_url="https://hub.local") as client:
        pre = await client.post(
            "/api/spaces/alice/demo/preupload/main",
            json={
                "files": [{"path": "app.py", "sample": base64.b64encode(b"print(2)\n").decode(), "size": 9}]
            },
            headers=ALICE,
        )
        assert pre.status_code == 200
        assert pre.json()["files"][0]["uploadMode"] == "regular"
        resp = await client.post(
            "/api/spaces/alice/demo/commit/main",
            content=_commit_body("app.py", b"print(2)\n"),
            headers={**ALICE, "content-type": "application/x-ndjson"},
        )
        assert resp.status_code == 200
        sha = resp.json()["commitOid"]
        assert resp.json()["commitUrl"] == f"https://hub.local/spaces/alice/demo/commit/{sha}"
        assert hub.space_stage("alice/demo") == "RUNNING"  # the previous build, until the new one starts
        hub.advance(hub.default_durations.commit_to_build)
        assert hub.space_stage("alice/demo") in ("RUNNING_BUILDING", "BUILDING")
        head = await client.head("/spaces/alice/demo/resolve/main/app.py", headers=ALICE)
        assert head.status_code == 200
        assert head.headers["content-length"] == "9"
        assert head.headers["x-repo-commit"] == sha
        blob = git_blob_sha1(b"print(2)\n")
        assert head.headers["etag"] == f'"{blob}"'
        got = await client.get(
            "/spaces/alice/demo/resolve/main/app.py", headers={**ALICE, "Range": "bytes=6-"}
        )
        assert (got.status_code, got.content) == (206, b"2)\n")
        tree = await client.get(
            "/api/spaces/alice/demo/tree/main", params={"recursive": "true"}, headers=ALICE
        )
        assert "app.py" in {entry["path"] for entry in tree.json()}
        commits = await client.get("/api/spaces/alice/demo/commits/main", headers=ALICE)
        assert commits.json()[0]["id"] == sha
        assert commits.json()[0]["authors"][0]["user"] == "alice"


@pytest.mark.anyio
async def test_transport_authorization(hub: SimulatedHub) -> None:
    """Writes need the owner's token: anonymous is 401, another user is 403 (an LFS batch naming the branch
    included), and nothing is committed."""
    before = hub.git.head(("space", "alice/demo"))
    async with httpx2.AsyncClient(transport=hub.transport(), base_url="https://hub.local") as client:
        anon = await client.post("/api/spaces/alice/demo/commit/main", content=_commit_body("a", b"a"))
        assert anon.status_code == 401
        other = await client.post(
            "/api/spaces/alice/demo/commit/main", content=_commit_body("a", b"a"), headers=BOB
        )
        assert other.status_code == 403
        lfs = await client.post(
            "/spaces/alice/demo.git/info/lfs/objects/batch",
            json={
                "operation": "upload",
                "objects": [{"oid": "0" * 64, "size": 1}],
                "ref": {"name": "main"},
            },
            headers=BOB,
        )
        assert lfs.status_code == 403
        missing = await client.get("/spaces/alice/nope/resolve/main/app.py", headers=ALICE)
        assert (missing.status_code, missing.headers.get("x-error-code")) == (404, "RepoNotFound")
    assert hub.git.head(("space", "alice/demo")) == before


@pytest.mark.anyio
async def test_transport_lfs_round_trip_streams(hub: SimulatedHub) -> None:
    """A 5 MB LFS object goes batch → PUT (no auth) → commit, and downloads byte for byte with LFS headers."""
    data = hashlib.sha256(b"x").digest() * (5 * 1024 * 1024 // 32)
    oid = sha256_hex(data)
    async with httpx2.AsyncClient(transport=hub.transport(), base_url="https://hub.local") as client:
        batch = await client.post(
            "/datasets/alice/tasks.git/info/lfs/objects/batch",
            json={
                "operation": "upload",
                "transfers": ["basic"],
                "objects": [{"oid": oid, "size": len(data)}],
            },
            headers={**ALICE, "content-type": "application/vnd.git-lfs+json"},
        )
        href = batch.json()["objects"][0]["actions"]["upload"]["href"]
        put = await client.put(href, content=data)
        assert put.status_code == 200
        line = {"key": "lfsFile", "value": {"path": "w.bin", "algo": "sha256", "oid": oid, "size": len(data)}}
        commit = await client.post(
            "/api/datasets/alice/tasks/commit/main",
            content=_ndjson({"key": "header", "value": {"summary": "w"}}, line),
            headers=ALICE,
        )
        assert commit.status_code == 200
        async with client.stream("GET", "/datasets/alice/tasks/resolve/main/w.bin", headers=ALICE) as resp:
            assert resp.headers["x-linked-etag"] == f'"{oid}"'
            body = b"".join([chunk async for chunk in resp.aiter_bytes()])
        assert body == data


OFFICIAL_CLIENT_SCRIPT = textwrap.dedent(
    """
    import os, sys, json
    from huggingface_hub import CommitOperationCopy, HfApi, hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError

    src, out = sys.argv[1], {}
    api = HfApi()
    first = api.upload_folder(folder_path=src, repo_id="alice/demo", repo_type="space")
    out["first"] = first.oid
    out["files"] = sorted(api.list_repo_files("alice/demo", repo_type="space"))
    for name in ("app.py", "sub/notes.txt", "sub/weights.bin", "sub/image.png"):
        path = hf_hub_download("alice/demo", name, repo_type="space")
        with open(path, "rb") as f, open(os.path.join(src, name), "rb") as g:
            out["same:" + name] = f.read() == g.read()
    out["second"] = api.upload_folder(folder_path=src, repo_id="alice/demo", repo_type="space").oid
    csv = hf_hub_download("alice/tasks", "tasks.csv", repo_type="dataset")
    with open(csv, "rb") as f:
        data = f.read() + b"m1,d1,PENDING\\n"
    head = api.list_repo_commits("alice/tasks", repo_type="dataset")[0].commit_id
    up = api.upload_file(path_or_fileobj=data, path_in_repo="tasks.csv", repo_id="alice/tasks",
                         repo_type="dataset", parent_commit=head)
    try:
        api.upload_file(path_or_fileobj=b"lost", path_in_repo="tasks.csv", repo_id="alice/tasks",
                        repo_type="dataset", parent_commit=head)
        out["stale"] = None
    except HfHubHTTPError as exc:
        out["stale"] = exc.response.status_code
    out["csv"] = open(hf_hub_download("alice/tasks", "tasks.csv", repo_type="dataset"), "rb").read().decode()
    out["upload_oid"] = up.oid
    infos = api.get_paths_info("alice/demo", ["app.py", "sub", "nope"], repo_type="space")
    out["paths_info"] = [type(i).__name__ for i in infos]
    pr = api.upload_file(path_or_fileobj=b"pr", path_in_repo="pr.txt", repo_id="alice/demo",
                         repo_type="space", create_pr=True)
    out["pr"] = [pr.pr_revision, sorted(api.list_repo_files("alice/demo", repo_type="space",
                                                           revision=pr.pr_revision))]
    api.create_commit("alice/demo", repo_type="space", commit_message="copies", operations=[
        CommitOperationCopy(src_path_in_repo="sub/weights.bin", path_in_repo="copy.bin"),
        CommitOperationCopy(src_path_in_repo="app.py", path_in_repo="app_copy.py"),
    ])
    api.delete_folder("sub", repo_id="alice/demo", repo_type="space")
    out["after_delete"] = sorted(api.list_repo_files("alice/demo", repo_type="space"))
    print(json.dumps(out))
    """
)


@pytest.mark.parametrize("multipart", [False, True])
def test_official_client_round_trip(hub: SimulatedHub, tmp_path: Path, multipart: bool) -> None:
    """The official client (basic or multipart LFS) uploads, skips unchanged files, downloads, 412s."""
    if multipart:
        hub.git.multipart_threshold = 8 * 1024 * 1024
        hub.git.multipart_chunk_size = 4 * 1024 * 1024
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "app.py").write_bytes(b"import gradio as gr\n")
    (src / "sub" / "notes.txt").write_bytes(b"notes\n" * 100)
    (src / "sub" / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (src / "sub" / "weights.bin").write_bytes(hashlib.sha256(b"w").digest() * (11 * 1024 * 1024 // 32))
    with hub.serve(host="127.0.0.1", port=0) as url:
        env = {
            **os.environ,
            "HF_ENDPOINT": url,
            "HF_TOKEN": "hf_alice",
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "HF_HOME": str(tmp_path / "hf_home"),
        }
        done = subprocess.run(
            [sys.executable, "-c", OFFICIAL_CLIENT_SCRIPT, str(src)],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["files"] == [
        ".gitattributes",
        "README.md",
        "app.py",
        "sub/image.png",
        "sub/notes.txt",
        "sub/weights.bin",
    ]
    assert all(value for key, value in out.items() if key.startswith("same:"))
    assert out["second"] == out["first"]  # nothing changed: no new commit
    assert out["stale"] == 412
    assert out["csv"] == "model_id,dataset_id,STATUS\nm1,d1,PENDING\n"
    assert out["paths_info"] == ["RepoFile", "RepoFolder"]
    assert out["pr"][0] == "refs/pr/1"
    assert "pr.txt" in out["pr"][1]
    assert out["after_delete"] == [".gitattributes", "README.md", "app.py", "app_copy.py", "copy.bin"]
    space = ("space", "alice/demo")
    files = hub.git.list_files(space)
    assert files["app.py"].lfs_sha256 is None
    assert files["app_copy.py"] == attrs.evolve(files["app.py"], path="app_copy.py")
    assert hub.git.read_file(space, "copy.bin") == (src / "sub" / "weights.bin").read_bytes()
    # Binary and large files went through LFS, as the real Hub decides.
    history = hub.git.history(space)
    tree_with_sub = next(c.tree for c in history if "sub/weights.bin" in c.tree)
    assert tree_with_sub["sub/weights.bin"].lfs_sha256 is not None
    assert tree_with_sub["sub/image.png"].lfs_sha256 is not None
    assert tree_with_sub["sub/notes.txt"].lfs_sha256 is None
    multipart_parts = hub.counters.requests["PUT /__hubsim/lfs/part (pre-signed)"]
    assert multipart_parts == (3 if multipart else 0)  # 11 MB in 4 MB parts
    assert hub.counters.server_errors == []


@pytest.mark.anyio
async def test_transport_large_inline_commit_is_accepted(hub: SimulatedHub) -> None:
    """A 6 MB text file is "regular" (under the 10 MB LFS threshold), so its inline commit is accepted."""
    data = b"model_id,dataset_id,STATUS\n" + b"org/model,org/data,PENDING\n" * (6 * 1024 * 1024 // 27)
    async with httpx2.AsyncClient(transport=hub.transport(), base_url="https://hub.local") as client:
        pre = await client.post(
            "/api/datasets/alice/tasks/preupload/main",
            json={
                "files": [
                    {"path": "big.csv", "sample": base64.b64encode(data[:512]).decode(), "size": len(data)}
                ]
            },
            headers=ALICE,
        )
        assert pre.json()["files"][0]["uploadMode"] == "regular"
        resp = await client.post(
            "/api/datasets/alice/tasks/commit/main",
            content=_commit_body("big.csv", data),
            headers={**ALICE, "content-type": "application/x-ndjson"},
        )
        assert resp.status_code == 200, resp.text
    assert hub.git.read_file(("dataset", "alice/tasks"), "big.csv") == data
    assert hub.counters.server_errors == []
