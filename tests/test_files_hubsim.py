"""Uploads, commits and downloads against the simulated Hub (in-process transport), on asyncio and trio."""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from huggingface_hub import try_to_load_from_cache

from aiospaces import SpacesClient
from aiospaces._commit_models import CommitOperationAdd, CommitOperationDelete, UploadInfo
from aiospaces.errors import CommitConflictError, EntryNotFoundError
from aiospaces.hubsim import SimulatedHub

TOKEN = "hf_alice_files"
REPO = "alice/data"
MB = 1 << 20

# Route names of the simulator's counters (`SimulatedHub.route_names()`).
COMMIT = "POST /api/{type}s/{id}/commit/{rev}"
RESOLVE = "GET /{prefix}{id}/resolve/{rev}/{path}"
LFS_PUTS = ("PUT /__hubsim/lfs/upload (pre-signed)", "PUT /__hubsim/lfs/part (pre-signed)")


@pytest.fixture
def hub() -> SimulatedHub:
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token=TOKEN)
    hub.create_repo(REPO, repo_type="dataset")
    return hub


@pytest.fixture
async def client(hub: SimulatedHub) -> AsyncIterator[SpacesClient]:
    async with SpacesClient(token=TOKEN, endpoint="https://hub.local", transport=hub.transport()) as client:
        yield client


def _make_folder(root: Path, *, big_mb: int = 0) -> dict[str, bytes]:
    files = {
        "app.py": b"import gradio as gr\nprint('hello')\n",
        "README.md": "# Démo\n\nünïcode ✓\n".encode(),
        "data/config.json": b'{"lr": 0.001}\n',
        "data/deep/notes.txt": b"line\n" * 1000,
        "empty.txt": b"",
        "image.png": bytes(range(256)) * 8,  # binary: the Hub sends it through LFS
    }
    if big_mb:
        rng = random.Random(1234)
        files["weights/model.bin"] = rng.randbytes(big_mb * MB)
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def _read(path: str) -> bytes:
    return Path(path).read_bytes()


def _lfs_puts(hub: SimulatedHub) -> int:
    return sum(hub.counters.requests[name] for name in LFS_PUTS)


@pytest.mark.anyio
async def test_upload_folder_then_download_round_trips_every_byte(
    hub: SimulatedHub, client: SpacesClient, tmp_path: Path
) -> None:
    """Every file of a folder, including a 50 MB binary sent through multipart LFS, downloads byte for byte,
    into a cache huggingface_hub itself can read."""
    hub.git.multipart_threshold = 16 * MB  # 50 MB → seven 8 MB parts
    folder = tmp_path / "src"
    files = _make_folder(folder, big_mb=50)
    info = await client.upload_folder(repo_id=REPO, repo_type="dataset", folder_path=folder)
    assert len(info.oid) == 40
    assert sorted(await client.list_repo_files(REPO, repo_type="dataset")) == sorted(
        [".gitattributes", *files]
    )
    assert hub.counters.requests["PUT /__hubsim/lfs/part (pre-signed)"] == 7
    cache = tmp_path / "cache"
    for rel, data in files.items():
        local = await client.hf_hub_download(REPO, rel, repo_type="dataset", cache_dir=cache)
        assert isinstance(local, str)
        assert _read(local) == data, rel
        # The official client finds our download in the cache: same layout (folder, snapshot, refs).
        assert try_to_load_from_cache(REPO, rel, cache_dir=cache, repo_type="dataset") == local
        assert local == str(cache / "datasets--alice--data" / "snapshots" / info.oid / rel)
    assert (cache / "datasets--alice--data" / "refs" / "main").read_text() == info.oid
    big_blob = (
        cache / "datasets--alice--data" / "blobs" / hashlib.sha256(files["weights/model.bin"]).hexdigest()
    )
    assert big_blob.stat().st_size == 50 * MB


@pytest.mark.anyio
async def test_reupload_of_unchanged_folder_sends_no_file(
    hub: SimulatedHub, client: SpacesClient, tmp_path: Path
) -> None:
    """Uploading the same folder again commits and uploads nothing; changing one file commits only it."""
    folder = tmp_path / "src"
    _make_folder(folder)
    first = await client.upload_folder(repo_id=REPO, repo_type="dataset", folder_path=folder)
    commits, puts = hub.counters.requests[COMMIT], _lfs_puts(hub)
    assert puts >= 1  # image.png went through LFS

    again = await client.upload_folder(repo_id=REPO, repo_type="dataset", folder_path=folder)
    assert again.oid == first.oid
    assert hub.counters.requests[COMMIT] == commits
    assert _lfs_puts(hub) == puts

    (folder / "app.py").write_bytes(b"print('changed')\n")
    changed = await client.upload_folder(repo_id=REPO, repo_type="dataset", folder_path=folder)
    assert changed.oid != first.oid
    assert hub.counters.requests[COMMIT] == commits + 1
    assert _lfs_puts(hub) == puts
    before, after = (
        hub.git.resolve(("dataset", REPO), first.oid).tree,
        hub.git.resolve(("dataset", REPO)).tree,
    )
    assert [path for path in after if after[path] != before.get(path)] == ["app.py"]


@pytest.mark.anyio
async def test_stale_parent_commit_raises_commit_conflict(client: SpacesClient, tmp_path: Path) -> None:
    """A commit based on a parent that is no longer the head fails with CommitConflictError (412)."""
    base = await client.upload_file(
        path_or_fileobj=b"v1", path_in_repo="f.txt", repo_id=REPO, repo_type="dataset"
    )
    await client.upload_file(
        path_or_fileobj=b"v2", path_in_repo="f.txt", repo_id=REPO, repo_type="dataset", parent_commit=base.oid
    )
    with pytest.raises(CommitConflictError) as caught:
        await client.upload_file(
            path_or_fileobj=b"v3",
            path_in_repo="f.txt",
            repo_id=REPO,
            repo_type="dataset",
            parent_commit=base.oid,
        )
    assert caught.value.status == 412
    local = await client.hf_hub_download(REPO, "f.txt", repo_type="dataset", local_dir=tmp_path)
    assert _read(local) == b"v2"  # the conflicting change was not applied


@pytest.mark.anyio
async def test_create_commit_adds_and_deletes_with_patterns(client: SpacesClient, tmp_path: Path) -> None:
    """create_commit applies additions and file/folder deletions; upload_folder honours allow, ignore and
    delete patterns and never deletes .gitattributes."""
    await client.create_commit(
        REPO,
        [
            CommitOperationAdd("logs/1.txt", b"1"),
            CommitOperationAdd("logs/2.txt", b"2"),
            CommitOperationAdd("keep.txt", b"k"),
            CommitOperationAdd("old.csv", b"a,b\n"),
        ],
        commit_message="seed",
        repo_type="dataset",
    )
    await client.create_commit(
        REPO,
        [CommitOperationDelete("logs/"), CommitOperationDelete("old.csv")],
        commit_message="clean",
        commit_description="remove logs",
        repo_type="dataset",
    )
    assert sorted(await client.list_repo_files(REPO, repo_type="dataset")) == [".gitattributes", "keep.txt"]

    folder = tmp_path / "src"
    _make_folder(folder)
    await client.upload_folder(
        repo_id=REPO,
        repo_type="dataset",
        folder_path=folder,
        path_in_repo="sub",
        allow_patterns=["*.py", "data/"],
        ignore_patterns="*notes.txt",
        delete_patterns="*",
    )
    assert sorted(await client.list_repo_files(REPO, repo_type="dataset")) == [
        ".gitattributes", "keep.txt", "sub/app.py", "sub/data/config.json",
    ]  # fmt: skip
    await client.upload_folder(
        repo_id=REPO,
        repo_type="dataset",
        folder_path=folder / "data",
        allow_patterns="*.json",
        delete_patterns="*",
    )
    assert sorted(await client.list_repo_files(REPO, repo_type="dataset")) == [
        ".gitattributes",
        "config.json",
    ]


@pytest.mark.anyio
async def test_download_reuses_cache_by_etag_and_falls_back_offline(
    hub: SimulatedHub, client: SpacesClient, tmp_path: Path
) -> None:
    """A cached file is served after a HEAD only; a new commit is fetched; when the Hub fails, the cached
    copy for the revision is returned; a missing file raises EntryNotFoundError."""
    cache = tmp_path / "cache"
    await client.upload_file(path_or_fileobj=b"one", path_in_repo="f.txt", repo_id=REPO, repo_type="dataset")
    first = await client.hf_hub_download(REPO, "f.txt", repo_type="dataset", cache_dir=cache)
    gets = hub.counters.requests[RESOLVE]
    again = await client.hf_hub_download(REPO, "f.txt", repo_type="dataset", cache_dir=cache)
    assert again == first
    assert hub.counters.requests[RESOLVE] == gets + 1  # the HEAD only (HEAD shares the GET route's name)

    await client.upload_file(path_or_fileobj=b"two", path_in_repo="f.txt", repo_id=REPO, repo_type="dataset")
    second = await client.hf_hub_download(REPO, "f.txt", repo_type="dataset", cache_dir=cache)
    assert second != first
    assert (_read(first), _read(second)) == (b"one", b"two")

    hub.add_fault("error", route=RESOLVE, status=503)
    async with SpacesClient(
        token=TOKEN, endpoint="https://hub.local", transport=hub.transport(), retry=False
    ) as no_retry:
        assert await no_retry.hf_hub_download(REPO, "f.txt", repo_type="dataset", cache_dir=cache) == second
    hub.clear_faults()

    with pytest.raises(EntryNotFoundError):
        await client.hf_hub_download(REPO, "missing.txt", repo_type="dataset", cache_dir=cache)
    assert (
        await client.hf_hub_download(
            REPO, "f.txt", repo_type="dataset", cache_dir=cache, local_files_only=True
        )
        == second
    )
    with pytest.raises(FileNotFoundError):
        await client.hf_hub_download(
            REPO, "nope.txt", repo_type="dataset", cache_dir=cache, local_files_only=True
        )


@pytest.mark.anyio
async def test_download_to_local_dir_skips_up_to_date_files(
    hub: SimulatedHub, client: SpacesClient, tmp_path: Path
) -> None:
    """local_dir downloads land at <local_dir>/<filename> with metadata; an unchanged file is not fetched
    again, an edited or outdated one is."""
    await client.upload_file(
        path_or_fileobj=b"abc", path_in_repo="dir/f.txt", repo_id=REPO, repo_type="dataset"
    )
    target = tmp_path / "out"
    path = await client.hf_hub_download(REPO, "f.txt", subfolder="dir", repo_type="dataset", local_dir=target)
    assert path == str(target / "dir" / "f.txt")
    assert _read(path) == b"abc"
    metadata = target / ".cache" / "huggingface" / "download" / "dir" / "f.txt.metadata"
    assert metadata.read_text().splitlines()[0] == hub.git.resolve(("dataset", REPO)).sha
    gets = hub.counters.requests[RESOLVE]
    await client.hf_hub_download(REPO, "dir/f.txt", repo_type="dataset", local_dir=target)
    assert hub.counters.requests[RESOLVE] == gets + 1  # HEAD only

    await client.upload_file(
        path_or_fileobj=b"xyz", path_in_repo="dir/f.txt", repo_id=REPO, repo_type="dataset"
    )
    await client.hf_hub_download(REPO, "dir/f.txt", repo_type="dataset", local_dir=target)
    assert _read(path) == b"xyz"


@pytest.mark.anyio
async def test_no_op_commit_with_stale_parent_is_a_conflict(client: SpacesClient) -> None:
    """Committing unchanged content returns the head, unless parent_commit is stale: then it is a conflict."""
    base = await client.upload_file(
        path_or_fileobj=b"same", path_in_repo="f.txt", repo_id=REPO, repo_type="dataset"
    )
    same = await client.upload_file(
        path_or_fileobj=b"same",
        path_in_repo="f.txt",
        repo_id=REPO,
        repo_type="dataset",
        parent_commit=base.oid,
    )
    assert same.oid == base.oid
    await client.upload_file(
        path_or_fileobj=b"other", path_in_repo="g.txt", repo_id=REPO, repo_type="dataset"
    )
    with pytest.raises(CommitConflictError):
        await client.upload_file(
            path_or_fileobj=b"same",
            path_in_repo="f.txt",
            repo_id=REPO,
            repo_type="dataset",
            parent_commit=base.oid,
        )


def test_environment_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The default cache follows HF_HUB_CACHE, then HF_HOME, like huggingface_hub."""
    from aiospaces._config import load_config

    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "c"))
    assert load_config().hub_cache == str(tmp_path / "c")
    monkeypatch.delenv("HF_HUB_CACHE")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert load_config().hub_cache == os.path.join(str(tmp_path / "home"), "hub")


@pytest.mark.anyio
async def test_readme_metadata_is_validated_before_uploading(hub: SimulatedHub, client: SpacesClient) -> None:
    """A README.md with broken YAML metadata is refused with ValueError before any file is committed."""
    bad = b"---\nlicense: mit\n# Title, but the metadata block is never closed\n"
    with pytest.raises(ValueError, match=r"README\.md"):
        await client.upload_file(
            path_or_fileobj=bad, path_in_repo="README.md", repo_id=REPO, repo_type="dataset"
        )
    assert hub.counters.requests[COMMIT] == 0
    good = b"---\nlicense: mit\n---\n# Title\n"
    await client.upload_file(
        path_or_fileobj=good, path_in_repo="README.md", repo_id=REPO, repo_type="dataset"
    )
    assert hub.counters.requests[COMMIT] == 1


@pytest.mark.anyio
async def test_create_pr_opens_a_pull_request_and_leaves_main(client: SpacesClient, tmp_path: Path) -> None:
    """create_pr=True commits to refs/pr/N: the CommitInfo names the PR and main does not change."""
    info = await client.upload_file(
        path_or_fileobj=b"proposal",
        path_in_repo="idea.txt",
        repo_id=REPO,
        repo_type="dataset",
        create_pr=True,
    )
    assert info.pr_num == 1
    assert info.pr_revision == "refs/pr/1"
    assert info.pr_url is not None
    assert info.pr_url.endswith("/discussions/1")
    assert "idea.txt" not in await client.list_repo_files(REPO, repo_type="dataset")
    assert "idea.txt" in await client.list_repo_files(REPO, repo_type="dataset", revision="refs/pr/1")
    local = await client.hf_hub_download(
        REPO, "idea.txt", repo_type="dataset", revision="refs/pr/1", cache_dir=tmp_path
    )
    assert _read(local) == b"proposal"
    assert (tmp_path / "datasets--alice--data" / "refs" / "refs" / "pr" / "1").read_text() == info.oid


_OFFICIAL_CACHE_SCRIPT = """
import json, sys
from huggingface_hub import hf_hub_download
cache = sys.argv[1]
ours = hf_hub_download("alice/data", "ours.txt", repo_type="dataset", cache_dir=cache, local_files_only=True)
theirs = hf_hub_download("alice/data", "theirs.bin", repo_type="dataset", cache_dir=cache)
print(json.dumps({"ours": ours, "theirs": theirs}))
"""


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # a subprocess run: one event loop is enough
async def test_cache_is_shared_with_the_official_client(
    hub: SimulatedHub, client: SpacesClient, tmp_path: Path
) -> None:
    """huggingface_hub finds our downloads in the cache without a request, and we find its downloads with
    local_files_only=True: both write the same layout."""
    import json
    import sys

    await client.upload_file(
        path_or_fileobj=b"ours", path_in_repo="ours.txt", repo_id=REPO, repo_type="dataset"
    )
    theirs_data = bytes(range(256)) * 64  # binary: stored through LFS
    await client.upload_file(
        path_or_fileobj=theirs_data, path_in_repo="theirs.bin", repo_id=REPO, repo_type="dataset"
    )
    cache = tmp_path / "cache"
    ours = await client.hf_hub_download(REPO, "ours.txt", repo_type="dataset", cache_dir=cache)
    with hub.serve(host="127.0.0.1", port=0) as url:
        env = {
            **os.environ,
            "HF_ENDPOINT": url,
            "HF_TOKEN": TOKEN,
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "HF_HOME": str(tmp_path / "hf_home"),
        }
        done = await anyio.run_process(
            [sys.executable, "-c", _OFFICIAL_CACHE_SCRIPT, str(cache)], env=env, check=False
        )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    out = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert out["ours"] == ours
    theirs = await client.hf_hub_download(
        REPO, "theirs.bin", repo_type="dataset", cache_dir=cache, local_files_only=True
    )
    assert theirs == out["theirs"]
    assert _read(theirs) == theirs_data


@pytest.mark.anyio
async def test_gitignore_in_the_commit_decides_what_is_ignored(
    hub: SimulatedHub, client: SpacesClient, tmp_path: Path
) -> None:
    """A `.gitignore` uploaded in the same commit is sent with the preupload request, so the files it
    ignores are left out of that very commit (huggingface_hub's behaviour)."""
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / ".gitignore").write_text("*.log\n")
    (folder / "app.py").write_text("print('hi')\n")
    (folder / "debug.log").write_text("noise\n")
    await client.upload_folder(repo_id=REPO, repo_type="dataset", folder_path=folder)
    files = await client.list_repo_files(REPO, repo_type="dataset")
    assert "debug.log" not in files
    assert {".gitignore", "app.py"} <= set(files)


@pytest.mark.anyio
async def test_upload_info_computed_ahead_is_what_the_commit_uses(
    client: SpacesClient, hub: SimulatedHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file hashed ahead with `compute_upload_info()` is not read for hashing again by `create_commit`,
    which commits it as hashed."""
    path = tmp_path / "weights.bin"
    path.write_bytes(bytes(range(256)) * 64)
    early = CommitOperationAdd("weights.bin", str(path))
    info = early.compute_upload_info()
    assert early.upload_info is info
    hashed: list[str] = []
    real = UploadInfo.from_path

    def counting(source: str) -> UploadInfo:
        hashed.append(source)
        return real(source)

    monkeypatch.setattr(UploadInfo, "from_path", staticmethod(counting))
    await client.create_commit(REPO, [early], commit_message="ahead", repo_type="dataset")
    assert hashed == []
    local = await client.hf_hub_download(REPO, "weights.bin", repo_type="dataset", local_dir=tmp_path / "out")
    assert hashlib.sha256(await anyio.Path(local).read_bytes()).hexdigest() == info.sha256
