"""The repo-level calls of `HfApi` 2.4 that Space work uses, on `SpacesClient` against the simulated Hub
(in process, virtual time, asyncio and trio), and each one the official client has, through the official
client on the same simulator over a real socket: the two must agree on what the Hub holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from aiospaces import (
    CommitInfo,
    CommitOperationCopy,
    CommitOperationDelete,
    DatasetInfo,
    ModelInfo,
    RepoFile,
    RepoFolder,
    SpaceInfo,
    SpacesClient,
    SpaceSearchResult,
    errors,
)
from aiospaces.hubsim import SimulatedHub
from aiospaces.testing import VirtualClock

TOKEN = "hf_alice_token"
ENDPOINT = "https://hub.local"
FILES = {
    "app.py": "print('hi')\n",
    "src/a.txt": "a\n",
    "src/deep/b.txt": "b\n",
}


def make_hub() -> SimulatedHub:
    hub = SimulatedHub(clock=VirtualClock())
    hub.add_user("alice", token=TOKEN)
    hub.add_user("bob", token="hf_bob_token")
    hub.create_space("alice/demo", sdk="gradio", files=FILES)
    hub.create_space("alice/image-generator", sdk="gradio")
    hub.create_space("bob/chat-generator", sdk="docker")
    hub.create_space("bob/secret-generator", sdk="gradio", private=True)
    hub.create_repo("alice/model", repo_type="model", files={"config.json": "{}"})
    hub.create_repo("alice/data", repo_type="dataset", files={"train.csv": "a,b\n"})
    return hub


def client_for(hub: SimulatedHub) -> SpacesClient:
    return SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=hub.transport(), clock=hub.clock)


async def with_lfs_file(hub: SimulatedHub) -> SimulatedHub:
    """`weights.bin` (an LFS file: `*.bin` is LFS in the default `.gitattributes`) uploaded to alice/demo."""
    async with client_for(hub) as client:
        await client.upload_file(
            path_or_fileobj=b"\1" * 20_000,
            path_in_repo="weights.bin",
            repo_id="alice/demo",
            repo_type="space",
        )
    return hub


def sent(hub: SimulatedHub) -> int:
    return sum(hub.counters.requests.values())


# --- search_spaces, list_space_templates ----------------------------------------------------------------


@pytest.mark.anyio
async def test_search_spaces_finds_readable_spaces_filtered_by_sdk() -> None:
    """`search_spaces` yields `SpaceSearchResult`s of the Spaces the caller may read, and `sdk=` filters."""
    hub = make_hub()
    async with client_for(hub) as client:
        hits = [hit async for hit in client.search_spaces("generator")]
        docker = [hit async for hit in client.search_spaces("generator", sdk="docker")]
    assert all(isinstance(hit, SpaceSearchResult) for hit in hits)
    assert sorted(hit.id for hit in hits) == ["alice/image-generator", "bob/chat-generator"]
    assert [(hit.id, hit.sdk) for hit in docker] == [("bob/chat-generator", "docker")]
    assert hub.counters.requests["GET /api/spaces/semantic-search"] == 2


@pytest.mark.anyio
async def test_search_spaces_refuses_an_empty_query_before_sending() -> None:
    """An empty query raises ValueError naming it, with nothing sent."""
    hub = make_hub()
    async with client_for(hub) as client:
        with pytest.raises(ValueError, match="query"):
            _ = [hit async for hit in client.search_spaces("  ")]
    assert sent(hub) == 0


@pytest.mark.anyio
async def test_list_space_templates() -> None:
    """`list_space_templates` returns the Hub's templates, each with a repo id usable as `space_template`."""
    hub = make_hub()
    async with client_for(hub) as client:
        templates = await client.list_space_templates()
    by_name = {t.name: t for t in templates}
    assert by_name["Streamlit"].repo_id == "streamlit/streamlit-template-space"
    assert by_name["JupyterLab"].preferred_private is True


# --- repo_info, repo_exists, file_exists ----------------------------------------------------------------


@pytest.mark.anyio
async def test_repo_info_returns_the_type_of_the_repo() -> None:
    """`repo_info` is a ModelInfo, DatasetInfo or SpaceInfo by `repo_type`, with the repo's id and sha."""
    hub = make_hub()
    async with client_for(hub) as client:
        model = await client.repo_info("alice/model")
        dataset = await client.repo_info("alice/data", repo_type="dataset")
        space = await client.repo_info("alice/demo", repo_type="space", files_metadata=True)
        with pytest.raises(errors.RepositoryNotFoundError):
            await client.repo_info("alice/nothing")
    assert isinstance(model, ModelInfo)
    assert isinstance(dataset, DatasetInfo)
    assert isinstance(space, SpaceInfo)
    assert (model.id, dataset.id, space.id) == ("alice/model", "alice/data", "alice/demo")
    assert model.sha is not None
    assert len(model.sha) == 40
    assert "app.py" in [s.rfilename for s in space.siblings or []]


@pytest.mark.anyio
async def test_repo_exists() -> None:
    """True for a repo the caller can see; False for a missing one and for another user's private Space."""
    hub = make_hub()
    async with client_for(hub) as client:
        assert await client.repo_exists("alice/demo", repo_type="space")
        assert await client.repo_exists("alice/data", repo_type="dataset")
        assert not await client.repo_exists("alice/demo")  # no such model
        assert not await client.repo_exists("bob/secret-generator", repo_type="space")


@pytest.mark.anyio
async def test_file_exists() -> None:
    """True for a regular and an LFS file; False for a missing file, revision or repo."""
    hub = await with_lfs_file(make_hub())
    async with client_for(hub) as client:
        assert await client.file_exists("alice/demo", "app.py", repo_type="space")
        assert await client.file_exists("alice/demo", "src/deep/b.txt", repo_type="space")
        assert await client.file_exists("alice/demo", "weights.bin", repo_type="space")
        assert not await client.file_exists("alice/demo", "nope.py", repo_type="space")
        assert not await client.file_exists("alice/demo", "app.py", repo_type="space", revision="nope")
        assert not await client.file_exists("alice/nothing", "app.py", repo_type="space")


# --- list_repo_tree --------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_list_repo_tree_root_folder_and_recursive() -> None:
    """The root lists files and folders; a folder lists its own entries; `recursive` lists the subtree."""
    hub = await with_lfs_file(make_hub())
    async with client_for(hub) as client:
        root = [e async for e in client.list_repo_tree("alice/demo", repo_type="space")]
        src = [e async for e in client.list_repo_tree("alice/demo", "src", repo_type="space")]
        deep = [
            e.path
            async for e in client.list_repo_tree("alice/demo", "src", recursive=True, repo_type="space")
        ]
    folders = {e.path for e in root if isinstance(e, RepoFolder)}
    files = {e.path: e for e in root if isinstance(e, RepoFile)}
    assert folders == {"src"}
    assert {"app.py", "weights.bin", "README.md"} <= set(files)
    assert files["app.py"].size == len("print('hi')\n")
    assert files["weights.bin"].size == 20_000
    assert {(type(e).__name__, e.path) for e in src} == {
        ("RepoFile", "src/a.txt"),
        ("RepoFolder", "src/deep"),
    }
    assert sorted(deep) == ["src/a.txt", "src/deep", "src/deep/b.txt"]


@pytest.mark.anyio
async def test_list_repo_tree_expand_and_missing_folder() -> None:
    """`expand=True` gives each entry its last commit; a missing folder raises EntryNotFoundError."""
    hub = make_hub()
    async with client_for(hub) as client:
        entries = [e async for e in client.list_repo_tree("alice/demo", expand=True, repo_type="space")]
        with pytest.raises(errors.EntryNotFoundError):
            _ = [e async for e in client.list_repo_tree("alice/demo", "nowhere", repo_type="space")]
    assert entries
    assert all(e.last_commit is not None and len(e.last_commit.oid) == 40 for e in entries)


# --- delete_file, delete_folder ----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_delete_file_and_folder_commit_the_deletion() -> None:
    """`delete_file` and `delete_folder` each make one commit (huggingface_hub's default titles) and the
    paths are gone; deleting a missing file raises EntryNotFoundError."""
    hub = make_hub()
    async with client_for(hub) as client:
        one = await client.delete_file("app.py", "alice/demo", repo_type="space")
        two = await client.delete_folder("src", "alice/demo", repo_type="space")
        files = await client.list_repo_files("alice/demo", repo_type="space")
        with pytest.raises(errors.EntryNotFoundError):
            await client.delete_file("app.py", "alice/demo", repo_type="space")
    assert isinstance(one, CommitInfo)
    assert one.oid != two.oid
    assert one.commit_message == "Delete app.py with huggingface_hub"
    assert two.commit_message == "Delete folder src with huggingface_hub"
    assert "app.py" not in files
    assert not [f for f in files if f.startswith("src/")]


@pytest.mark.anyio
async def test_delete_file_refuses_a_bad_path_before_sending() -> None:
    """A path leaving the repo raises ValueError naming `path_in_repo`, with nothing sent."""
    hub = make_hub()
    async with client_for(hub) as client:
        with pytest.raises(ValueError, match="path_in_repo"):
            await client.delete_file("../x", "alice/demo", repo_type="space")
    assert sent(hub) == 0


# --- move_repo -----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_move_repo_renames_the_space() -> None:
    """`move_repo` renames a Space: the old id is gone, the new one holds its files."""
    hub = make_hub()
    async with client_for(hub) as client:
        assert await client.move_repo("alice/demo", "alice/renamed", repo_type="space") is None
        assert not await client.repo_exists("alice/demo", repo_type="space")
        assert await client.file_exists("alice/renamed", "app.py", repo_type="space")
        with pytest.raises(errors.RepositoryNotFoundError):
            await client.move_repo("alice/demo", "alice/again", repo_type="space")


@pytest.mark.anyio
async def test_move_repo_resent_after_a_lost_answer_moves_once() -> None:
    """When the move's answer is lost after the Hub applied it, the resend's 404 is recognised as our own
    move: the call succeeds and the repo is at its new id."""
    hub = make_hub()
    hub.add_fault("drop", route="POST /api/repos/move", count=1, after=True)
    async with client_for(hub) as client:
        await client.move_repo("alice/demo", "alice/renamed", repo_type="space")
    assert hub.repo_exists("alice/renamed")
    assert not hub.repo_exists("alice/demo")
    assert hub.counters.requests["POST /api/repos/move"] == 2


# --- the official client, on the same simulator ---------------------------------------------------------

OFFICIAL = """
    import json
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFile, RepoFolder

    api, out = HfApi(), {}
    out["search"] = sorted(hit.id for hit in api.search_spaces("generator"))
    out["templates"] = sorted(t.repo_id for t in api.list_space_templates())
    out["exists"] = [
        api.repo_exists("alice/demo", repo_type="space"),
        api.repo_exists("bob/secret-generator", repo_type="space"),
        api.repo_exists("alice/data", repo_type="dataset"),
    ]
    out["file_exists"] = [
        api.file_exists("alice/demo", "app.py", repo_type="space"),
        api.file_exists("alice/demo", "weights.bin", repo_type="space"),
        api.file_exists("alice/demo", "nope.py", repo_type="space"),
    ]
    out["info"] = [type(api.repo_info(r, repo_type=t)).__name__ for r, t in
                   [("alice/model", None), ("alice/data", "dataset"), ("alice/demo", "space")]]
    out["tree"] = sorted(
        [type(e).__name__, e.path] for e in api.list_repo_tree("alice/demo", "src", repo_type="space")
    )
    out["delete_file"] = api.delete_file("app.py", "alice/demo", repo_type="space").commit_message
    out["delete_folder"] = api.delete_folder("src", "alice/demo", repo_type="space").commit_message
    out["files"] = sorted(api.list_repo_files("alice/demo", repo_type="space"))
    api.move_repo("alice/demo", "alice/renamed", repo_type="space")
    out["moved"] = [api.repo_exists("alice/demo", repo_type="space"),
                    api.repo_exists("alice/renamed", repo_type="space")]
    print(json.dumps(out))
"""


def _run_official(url: str, home: Path, script: str = OFFICIAL) -> dict[str, Any]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))},
        "HF_ENDPOINT": url,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HOME": str(home),
        "HF_TOKEN": TOKEN,
    }
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.anyio
async def test_official_client_agrees_on_the_simulator(tmp_path: Path) -> None:
    """huggingface_hub 2.4 runs every one of these calls against the simulator over a real socket, and its
    answers are the ones `SpacesClient` gets from an identical simulated Hub."""
    pytest.importorskip("huggingface_hub")
    pytest.importorskip("uvicorn")
    theirs_hub = await with_lfs_file(make_hub())
    with theirs_hub.serve() as url:
        theirs = _run_official(url, tmp_path / "home")

    hub = await with_lfs_file(make_hub())
    async with client_for(hub) as client:
        ours: dict[str, Any] = {}
        ours["search"] = sorted([hit.id async for hit in client.search_spaces("generator")])
        ours["templates"] = sorted(t.repo_id for t in await client.list_space_templates())
        ours["exists"] = [
            await client.repo_exists("alice/demo", repo_type="space"),
            await client.repo_exists("bob/secret-generator", repo_type="space"),
            await client.repo_exists("alice/data", repo_type="dataset"),
        ]
        ours["file_exists"] = [
            await client.file_exists("alice/demo", "app.py", repo_type="space"),
            await client.file_exists("alice/demo", "weights.bin", repo_type="space"),
            await client.file_exists("alice/demo", "nope.py", repo_type="space"),
        ]
        ours["info"] = [
            type(await client.repo_info(r, repo_type=t)).__name__
            for r, t in [("alice/model", None), ("alice/data", "dataset"), ("alice/demo", "space")]
        ]
        ours["tree"] = sorted(
            [
                [type(e).__name__, e.path]
                async for e in client.list_repo_tree("alice/demo", "src", repo_type="space")
            ]
        )
        ours["delete_file"] = (
            await client.delete_file("app.py", "alice/demo", repo_type="space")
        ).commit_message
        ours["delete_folder"] = (
            await client.delete_folder("src", "alice/demo", repo_type="space")
        ).commit_message
        ours["files"] = sorted(await client.list_repo_files("alice/demo", repo_type="space"))
        await client.move_repo("alice/demo", "alice/renamed", repo_type="space")
        ours["moved"] = [
            await client.repo_exists("alice/demo", repo_type="space"),
            await client.repo_exists("alice/renamed", repo_type="space"),
        ]
    assert theirs == ours
    assert theirs["search"] == ["alice/image-generator", "bob/chat-generator"]
    assert theirs["exists"] == [True, False, True]
    assert theirs["file_exists"] == [True, True, False]
    assert theirs["info"] == ["ModelInfo", "DatasetInfo", "SpaceInfo"]
    assert theirs["moved"] == [False, True]


# --- CommitOperationCopy ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_copy_regular_and_lfs_files_in_one_commit() -> None:
    """A regular and an LFS file copied (with a delete) in one commit: the copies hold the sources' bytes,
    the LFS copy is the same LFS object (not uploaded again), and the sources stay."""
    hub = await with_lfs_file(make_hub())
    async with client_for(hub) as client:
        before = hub.counters.requests["PUT /__hubsim/lfs/upload (pre-signed)"]
        assert before == 1  # weights.bin's own upload
        info = await client.create_commit(
            "alice/demo",
            [
                CommitOperationCopy(src_path_in_repo="app.py", path_in_repo="copy/app.py"),
                CommitOperationCopy(src_path_in_repo="weights.bin", path_in_repo="copy/weights.bin"),
                CommitOperationDelete(path_in_repo="src/a.txt"),
            ],
            commit_message="copy",
            repo_type="space",
        )
        copied = await client.read_file("alice/demo", "copy/app.py", repo_type="space")
        tree = {
            e.path: e async for e in client.list_repo_tree("alice/demo", recursive=True, repo_type="space")
        }
    assert info.commit_message == "copy"
    assert copied == b"print('hi')\n"
    original, copy = tree["weights.bin"], tree["copy/weights.bin"]
    assert isinstance(original, RepoFile)
    assert isinstance(copy, RepoFile)
    assert copy.lfs is not None
    assert original.lfs is not None
    assert copy.lfs.sha256 == original.lfs.sha256
    assert "src/a.txt" not in tree
    assert "app.py" in tree
    assert hub.counters.requests["PUT /__hubsim/lfs/upload (pre-signed)"] == before


@pytest.mark.anyio
async def test_copy_from_another_repo_and_missing_source() -> None:
    """A file of another repo (`src_repo_id`, `src_repo_type`) is copied in; a missing source raises
    EntryNotFoundError and commits nothing."""
    hub = make_hub()
    async with client_for(hub) as client:
        head = await client.revision_sha("alice/demo", repo_type="space")
        with pytest.raises(errors.EntryNotFoundError):
            await client.create_commit(
                "alice/demo",
                [CommitOperationCopy(src_path_in_repo="nope.txt", path_in_repo="x.txt")],
                commit_message="copy",
                repo_type="space",
            )
        assert await client.revision_sha("alice/demo", repo_type="space") == head
        await client.create_commit(
            "alice/demo",
            [
                CommitOperationCopy(
                    src_path_in_repo="train.csv",
                    path_in_repo="data/train.csv",
                    src_repo_id="alice/data",
                    src_repo_type="dataset",
                )
            ],
            commit_message="bring the data",
            repo_type="space",
        )
        assert await client.read_file("alice/demo", "data/train.csv", repo_type="space") == b"a,b\n"


def test_copy_operation_checks_its_arguments() -> None:
    """A path leaving the repo, or a source repo without its type, raises ValueError naming the argument."""
    with pytest.raises(ValueError, match="path_in_repo"):
        CommitOperationCopy(src_path_in_repo="../x", path_in_repo="y")
    with pytest.raises(ValueError, match="src_repo_type"):
        CommitOperationCopy(src_path_in_repo="x", path_in_repo="y", src_repo_id="alice/data")
    with pytest.raises(ValueError, match="src_repo_id"):
        CommitOperationCopy(src_path_in_repo="x", path_in_repo="y", src_repo_type="dataset")


OFFICIAL_COPY = """
    import json
    from huggingface_hub import CommitOperationCopy, HfApi

    api = HfApi()
    api.create_commit(
        "alice/demo",
        [
            CommitOperationCopy(src_path_in_repo="app.py", path_in_repo="copy/app.py"),
            CommitOperationCopy(src_path_in_repo="weights.bin", path_in_repo="copy/weights.bin"),
        ],
        commit_message="copy",
        repo_type="space",
    )
    tree = {e.path: e for e in api.list_repo_tree("alice/demo", "copy", repo_type="space")}
    print(json.dumps({
        "paths": sorted(tree),
        "lfs": tree["copy/weights.bin"].lfs["sha256"] if tree["copy/weights.bin"].lfs else None,
        "size": tree["copy/app.py"].size,
    }))
"""


@pytest.mark.anyio
async def test_official_copy_agrees_on_the_simulator(tmp_path: Path) -> None:
    """huggingface_hub 2.4's `CommitOperationCopy` (a server-side LFS copy) works on the simulator and
    leaves the same tree as ours."""
    pytest.importorskip("huggingface_hub")
    pytest.importorskip("uvicorn")
    theirs_hub = await with_lfs_file(make_hub())
    with theirs_hub.serve() as url:
        theirs = _run_official(url, tmp_path / "home", OFFICIAL_COPY)
    hub = await with_lfs_file(make_hub())
    async with client_for(hub) as client:
        await client.create_commit(
            "alice/demo",
            [
                CommitOperationCopy(src_path_in_repo="app.py", path_in_repo="copy/app.py"),
                CommitOperationCopy(src_path_in_repo="weights.bin", path_in_repo="copy/weights.bin"),
            ],
            commit_message="copy",
            repo_type="space",
        )
        tree = {e.path: e async for e in client.list_repo_tree("alice/demo", "copy", repo_type="space")}
    weights, app = tree["copy/weights.bin"], tree["copy/app.py"]
    assert isinstance(weights, RepoFile)
    assert isinstance(app, RepoFile)
    ours = {"paths": sorted(tree), "lfs": weights.lfs.sha256 if weights.lfs else None, "size": app.size}
    assert theirs == ours
    assert ours["lfs"] is not None
