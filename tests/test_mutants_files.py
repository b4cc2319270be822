"""Commits, uploads and listings as a caller sees them on the simulated Hub: what lands in the repo, what
goes through LFS, the commit's title, parent and pull request, the errors a caller gets (asyncio and trio)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx2
import pytest

import aiospaces.hubsim._routes_git as routes_git
from aiospaces import RetryPolicy, SpacesClient
from aiospaces._commit_models import CommitOperationAdd, CommitOperationDelete, git_blob_sha1
from aiospaces.errors import CommitConflictError, SpaceFailedError, UnexpectedResponseError
from aiospaces.hubsim import SimulatedHub
from aiospaces.testing import SimulatedHubClient

TOKEN = "hf_alice_mutants_files"
ENDPOINT = "https://hub.local"
REPO = "alice/data"
SPACE = "alice/app"
COMMIT = "POST /api/{type}s/{id}/commit/{rev}"
LFS_PUTS = ("PUT /__hubsim/lfs/upload (pre-signed)", "PUT /__hubsim/lfs/part (pre-signed)")
BINARY = bytes(range(256)) * 8  # binary: the Hub sends it through LFS


@pytest.fixture
def hub() -> SimulatedHub:
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token=TOKEN)
    hub.create_repo(REPO, repo_type="dataset")
    return hub


@pytest.fixture
async def client(hub: SimulatedHub) -> AsyncIterator[SpacesClient]:
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=hub.transport()) as client:
        yield client


def _titles(
    hub: SimulatedHub, repo_id: str = REPO, repo_type: str = "dataset", rev: str = "main"
) -> list[str]:
    return [record.title for record in hub.git.history((repo_type, repo_id), rev)]


def _tree(hub: SimulatedHub, repo_id: str = REPO, repo_type: str = "dataset", rev: str = "main") -> list[str]:
    return sorted(hub.git.resolve((repo_type, repo_id), rev).tree)


def _lfs_puts(hub: SimulatedHub) -> int:
    return sum(hub.counters.requests[name] for name in LFS_PUTS)


# --- listing and revisions ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_list_repo_files_follows_every_page_and_lists_only_files(
    hub: SimulatedHub, client: SpacesClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """list_repo_files reads every page of the tree (not only the first) and lists files, never folders."""
    names = [f"dir{i % 3}/f{i:02}.txt" for i in range(12)]
    await client.create_commit(
        REPO,
        [CommitOperationAdd(name, name.encode()) for name in names],
        commit_message="many",
        repo_type="dataset",
    )
    monkeypatch.setattr(routes_git, "TREE_PAGE_SIZE", 4)
    files = await client.list_repo_files(REPO, repo_type="dataset")
    assert sorted(files) == sorted([".gitattributes", *names])
    assert len(files) == len(set(files))


@pytest.mark.anyio
async def test_list_repo_files_and_revision_sha_read_the_revision_asked(
    hub: SimulatedHub, client: SpacesClient
) -> None:
    """list_repo_files and revision_sha read the branch or commit they are given, not main."""
    first = await client.upload_file(
        path_or_fileobj=b"1", path_in_repo="one.txt", repo_id=REPO, repo_type="dataset"
    )
    second = await client.upload_file(
        path_or_fileobj=b"2", path_in_repo="two.txt", repo_id=REPO, repo_type="dataset"
    )
    assert sorted(await client.list_repo_files(REPO, repo_type="dataset", revision=first.oid)) == [
        ".gitattributes",
        "one.txt",
    ]
    assert await client.revision_sha(REPO, repo_type="dataset", revision=first.oid[:10]) == first.oid
    assert await client.revision_sha(REPO, repo_type="dataset") == second.oid
    assert await client.revision_sha(REPO, repo_type="dataset", revision="main") == second.oid


def _scripted(routes: dict[str, Callable[[httpx2.Request], httpx2.Response]]) -> httpx2.MockTransport:
    async def handler(request: httpx2.Request) -> httpx2.Response:
        for suffix, answer in routes.items():
            if request.url.path.endswith(suffix):
                return answer(request)
        raise AssertionError(f"unexpected {request.method} {request.url}")

    return httpx2.MockTransport(handler)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "answer",
    [{"sha": "abc"}, {"sha": 3}, {"id": "a/b"}, ["d" * 40], {"sha": "g" * 40}],
    ids=["short", "number", "missing", "list", "not-hex"],
)
async def test_revision_sha_refuses_an_answer_without_a_commit_sha(answer: object) -> None:
    """A revision answer that names no 40-hex commit sha raises UnexpectedResponseError naming the repo."""
    transport = _scripted({"/revision/main": lambda request: httpx2.Response(200, json=answer)})
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=transport, retry=False) as client:
        with pytest.raises(UnexpectedResponseError, match="a/b@main"):
            await client.revision_sha("a/b", repo_type="dataset")


@pytest.mark.anyio
async def test_list_repo_files_refuses_a_tree_answer_that_is_not_a_list() -> None:
    """A tree answer that is not a list raises UnexpectedResponseError; entries that are not files are left
    out of a well-formed one."""
    transport = _scripted({"/tree/main": lambda request: httpx2.Response(200, json={"path": "x"})})
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=transport, retry=False) as client:
        with pytest.raises(UnexpectedResponseError, match="a/b@main"):
            await client.list_repo_files("a/b", repo_type="dataset")
    entries = [
        {"type": "file", "path": "a.txt"},
        {"type": "directory", "path": "dir"},
        {"type": "file", "path": 7},
        {"type": "file"},
        "garbage",
        {"type": "file", "path": "dir/b.txt"},
    ]
    transport = _scripted({"/tree/main": lambda request: httpx2.Response(200, json=entries)})
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=transport, retry=False) as client:
        assert await client.list_repo_files("a/b", repo_type="dataset") == ["a.txt", "dir/b.txt"]


# --- commit titles, descriptions and no-op commits ----------------------------------------------------------


@pytest.mark.anyio
async def test_default_commit_titles_name_the_file_and_the_folder(
    hub: SimulatedHub, client: SpacesClient, tmp_path: Path
) -> None:
    """upload_file and upload_folder without a commit message title their commits as huggingface_hub does,
    with this library's name; a given message and description are kept."""
    info = await client.upload_file(
        path_or_fileobj=b"x", path_in_repo="dir/x.txt", repo_id=REPO, repo_type="dataset"
    )
    assert _titles(hub)[0] == "Upload dir/x.txt with aiospaces"
    assert info.commit_message == "Upload dir/x.txt with aiospaces"
    assert info.commit_description == ""
    (tmp_path / "a.txt").write_bytes(b"a")
    info = await client.upload_folder(repo_id=REPO, repo_type="dataset", folder_path=tmp_path)
    assert _titles(hub)[0] == "Upload folder using aiospaces"
    assert info.commit_message == "Upload folder using aiospaces"
    (tmp_path / "a.txt").write_bytes(b"b")
    info = await client.upload_folder(
        repo_id=REPO,
        repo_type="dataset",
        folder_path=tmp_path,
        commit_message="mine",
        commit_description="why",
    )
    assert _titles(hub)[0] == "mine"
    assert (info.commit_message, info.commit_description) == ("mine", "why")
    assert hub.git.resolve(("dataset", REPO)).message.strip().endswith("why")


@pytest.mark.anyio
async def test_a_no_op_commit_returns_the_head_with_the_callers_message(
    hub: SimulatedHub, client: SpacesClient
) -> None:
    """A commit that changes nothing sends no commit and returns the head's sha and URL with the caller's
    message and description; a parent_commit naming the head (a short upper-case prefix too) is accepted."""
    base = await client.upload_file(
        path_or_fileobj=b"same", path_in_repo="f.txt", repo_id=REPO, repo_type="dataset"
    )
    commits = hub.counters.requests[COMMIT]
    info = await client.create_commit(
        REPO,
        [CommitOperationAdd("f.txt", b"same")],
        commit_message="again",
        commit_description="nothing new",
        repo_type="dataset",
        parent_commit=base.oid[:12].upper(),
    )
    assert hub.counters.requests[COMMIT] == commits
    assert info.oid == base.oid
    assert info.commit_url == f"{ENDPOINT}/datasets/{REPO}/commit/{base.oid}"
    assert (info.commit_message, info.commit_description) == ("again", "nothing new")
    info = await client.create_commit(
        REPO, [CommitOperationAdd("f.txt", b"same")], commit_message="again", repo_type="dataset"
    )
    assert (info.oid, info.commit_description) == (base.oid, "")


@pytest.mark.anyio
async def test_a_no_op_commit_on_a_stale_parent_is_the_412_a_commit_would_get(
    hub: SimulatedHub, client: SpacesClient
) -> None:
    """A no-op commit whose parent_commit is not the head raises CommitConflictError with status 412, the
    request it stands for, and the Hub's message; nothing is committed."""
    base = await client.upload_file(
        path_or_fileobj=b"same", path_in_repo="f.txt", repo_id=REPO, repo_type="dataset"
    )
    head = await client.upload_file(
        path_or_fileobj=b"other", path_in_repo="g.txt", repo_id=REPO, repo_type="dataset"
    )
    commits = hub.counters.requests[COMMIT]
    with pytest.raises(CommitConflictError) as caught:
        await client.create_commit(
            REPO,
            [CommitOperationAdd("f.txt", b"same")],
            commit_message="again",
            repo_type="dataset",
            parent_commit=base.oid,
        )
    error = caught.value
    assert error.status == 412
    assert error.method == "POST"
    assert error.url == f"{ENDPOINT}/api/datasets/{REPO}/commit/main"
    assert error.server_message
    assert head.oid in str(error)
    assert base.oid in str(error)
    assert hub.counters.requests[COMMIT] == commits


# --- README and .gitignore -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_readme_that_is_not_utf8_is_refused_before_anything_is_sent(
    hub: SimulatedHub, client: SpacesClient, tmp_path: Path
) -> None:
    """A README.md that is not UTF-8 text, in memory or on disk, raises ValueError and commits nothing."""
    commits = hub.counters.requests[COMMIT]
    with pytest.raises(ValueError, match=r"README\.md"):
        await client.upload_file(
            path_or_fileobj=b"\xff\xfe bad", path_in_repo="README.md", repo_id=REPO, repo_type="dataset"
        )
    (tmp_path / "README.md").write_bytes(b"---\nlicense: mit\n---\n\xff\n" + b"x" * (2 << 20))
    with pytest.raises(ValueError, match=r"README\.md"):
        await client.upload_folder(repo_id=REPO, repo_type="dataset", folder_path=tmp_path)
    assert hub.counters.requests[COMMIT] == commits
    assert hub.counters.requests["POST /api/validate-yaml"] == 0


@pytest.mark.anyio
async def test_invalid_readme_metadata_names_each_problem_once(
    hub: SimulatedHub, client: SpacesClient
) -> None:
    """A README whose metadata the Hub refuses raises ValueError carrying the Hub's explanation once, and
    nothing is committed; a README at another path is not validated."""
    hub.create_space(SPACE)
    bad = b"---\nsdk: not-an-sdk\n---\n# Title\n"
    with pytest.raises(ValueError, match=r"Invalid metadata in README\.md") as caught:
        await client.upload_file(
            path_or_fileobj=bad, path_in_repo="README.md", repo_id=SPACE, repo_type="space"
        )
    assert str(caught.value).count('"sdk" must be one of') == 1
    assert hub.counters.requests[COMMIT] == 0
    validations = hub.counters.requests["POST /api/validate-yaml"]
    await client.upload_file(
        path_or_fileobj=bad, path_in_repo="docs/README.md", repo_id=SPACE, repo_type="space"
    )
    assert hub.counters.requests["POST /api/validate-yaml"] == validations
    assert "docs/README.md" in _tree(hub, SPACE, "space")


@pytest.mark.anyio
async def test_a_gitignore_on_disk_in_the_commit_decides_what_is_ignored(
    hub: SimulatedHub, client: SpacesClient, tmp_path: Path
) -> None:
    """A .gitignore uploaded from a folder makes the Hub ignore the files it names in the same commit."""
    (tmp_path / ".gitignore").write_bytes(b"*.log\n")
    (tmp_path / "run.log").write_bytes(b"noise")
    (tmp_path / "app.py").write_bytes(b"print(1)\n")
    await client.upload_folder(repo_id=REPO, repo_type="dataset", folder_path=tmp_path)
    assert _tree(hub) == [".gitattributes", ".gitignore", "app.py"]


# --- LFS, hashing and batches ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_binary_files_go_through_lfs_and_land_with_their_sha256(
    hub: SimulatedHub, client: SpacesClient, tmp_path: Path
) -> None:
    """A binary file from disk, from memory and a big one in memory are uploaded to LFS once each and land as
    LFS pointers whose sha256 is their content's; a text file is committed inline."""
    big = bytes(range(256)) * (5 << 12)  # 5 MB in memory: hashed in a worker thread
    (tmp_path / "img.png").write_bytes(BINARY)
    info = await client.create_commit(
        REPO,
        [
            CommitOperationAdd("disk.png", str(tmp_path / "img.png")),
            CommitOperationAdd("mem.bin", BINARY[::-1]),
            CommitOperationAdd("big.bin", big),
            CommitOperationAdd("text.txt", b"hello\n"),
        ],
        commit_message="mixed",
        repo_type="dataset",
    )
    assert _lfs_puts(hub) == 3
    tree = hub.git.resolve(("dataset", REPO), info.oid).tree
    assert tree["disk.png"].lfs_sha256 == hashlib.sha256(BINARY).hexdigest()
    assert tree["mem.bin"].lfs_sha256 == hashlib.sha256(BINARY[::-1]).hexdigest()
    assert tree["big.bin"].lfs_sha256 == hashlib.sha256(big).hexdigest()
    assert tree["text.txt"].lfs_sha256 is None
    assert tree["text.txt"].blob_oid == git_blob_sha1(b"hello\n")


@pytest.mark.anyio
async def test_a_commit_of_more_files_than_one_preupload_batch_lands_whole(
    hub: SimulatedHub, client: SpacesClient
) -> None:
    """A commit of 300 files (more than one preupload request holds) lands every file with its content."""
    ops = [CommitOperationAdd(f"f/{i:03}.txt", f"{i}\n".encode()) for i in range(300)]
    info = await client.create_commit(REPO, ops, commit_message="bulk", repo_type="dataset")
    tree = hub.git.resolve(("dataset", REPO), info.oid).tree
    assert sum(1 for path in tree if path.startswith("f/")) == 300
    assert tree["f/299.txt"].blob_oid == git_blob_sha1(b"299\n")
    assert hub.counters.requests[COMMIT] == 1


# --- pull requests -----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_pull_request_with_an_lfs_file_leaves_main_alone(
    hub: SimulatedHub, client: SpacesClient
) -> None:
    """create_pr=True with a binary file opens a pull request holding it (uploaded to LFS) and main keeps its
    head; the CommitInfo names the pull request."""
    head = await client.revision_sha(REPO, repo_type="dataset")
    info = await client.create_commit(
        REPO,
        [CommitOperationAdd("w.bin", BINARY), CommitOperationAdd("notes.txt", b"n")],
        commit_message="proposal",
        repo_type="dataset",
        create_pr=True,
    )
    assert await client.revision_sha(REPO, repo_type="dataset") == head
    assert info.pr_url is not None
    assert info.pr_num is not None
    tree = hub.git.resolve(("dataset", REPO), info.oid).tree
    assert tree["w.bin"].lfs_sha256 == hashlib.sha256(BINARY).hexdigest()
    assert _lfs_puts(hub) == 1


# --- upload_folder -----------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("root", [None, "", ".", "./"])
async def test_upload_folder_to_the_root_keeps_relative_paths(
    hub: SimulatedHub, client: SpacesClient, tmp_path: Path, root: str | None
) -> None:
    """Every spelling of the repo's root as path_in_repo uploads the folder's files at their own paths."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_bytes(b"a")
    (tmp_path / "b.txt").write_bytes(b"b")
    await client.upload_folder(repo_id=REPO, repo_type="dataset", folder_path=tmp_path, path_in_repo=root)
    assert _tree(hub) == [".gitattributes", "b.txt", "sub/a.txt"]


@pytest.mark.anyio
async def test_upload_folder_deletes_only_under_its_prefix_and_never_what_it_uploads(
    hub: SimulatedHub, client: SpacesClient, tmp_path: Path
) -> None:
    """delete_patterns removes matching remote files under path_in_repo only, never .gitattributes nor a
    file the same commit uploads."""
    await client.create_commit(
        REPO,
        [
            CommitOperationAdd("site/old.txt", b"old"),
            CommitOperationAdd("site/keep.txt", b"keep v1"),
            CommitOperationAdd("site/x.csv", b"a,b\n"),
            CommitOperationAdd("other/old.txt", b"elsewhere"),
            CommitOperationAdd("top.txt", b"top"),
        ],
        commit_message="seed",
        repo_type="dataset",
    )
    (tmp_path / "keep.txt").write_bytes(b"keep v2")
    await client.upload_folder(
        repo_id=REPO,
        repo_type="dataset",
        folder_path=tmp_path,
        path_in_repo="site/",
        delete_patterns="*.txt",
    )
    assert _tree(hub) == [".gitattributes", "other/old.txt", "site/keep.txt", "site/x.csv", "top.txt"]
    assert hub.git.resolve(("dataset", REPO)).tree["site/keep.txt"].blob_oid == git_blob_sha1(b"keep v2")
    (tmp_path / "keep.txt").unlink()
    (tmp_path / "new.txt").write_bytes(b"n")
    await client.upload_folder(repo_id=REPO, repo_type="dataset", folder_path=tmp_path, delete_patterns=["*"])
    assert _tree(hub) == [".gitattributes", "new.txt"]


@pytest.mark.anyio
async def test_upload_folder_pull_request_deletes_what_main_holds(
    hub: SimulatedHub, client: SpacesClient, tmp_path: Path
) -> None:
    """upload_folder with create_pr=True and delete_patterns opens a pull request that removes the matching
    files main holds, and main keeps them."""
    await client.upload_file(path_or_fileobj=b"o", path_in_repo="old.txt", repo_id=REPO, repo_type="dataset")
    (tmp_path / "new.txt").write_bytes(b"n")
    info = await client.upload_folder(
        repo_id=REPO, repo_type="dataset", folder_path=tmp_path, create_pr=True, delete_patterns="*.txt"
    )
    assert sorted(hub.git.resolve(("dataset", REPO), info.oid).tree) == [".gitattributes", "new.txt"]
    assert _tree(hub) == [".gitattributes", "old.txt"]


@pytest.mark.anyio
async def test_upload_folder_on_a_branch_commits_there_and_deletes_what_the_branch_holds(
    hub: SimulatedHub, client: SpacesClient, tmp_path: Path
) -> None:
    """upload_folder with a revision commits to that branch and deletes the files that branch holds."""
    hub.git.create_branch(("dataset", REPO), "dev")
    await client.upload_file(
        path_or_fileobj=b"d", path_in_repo="dev-only.txt", repo_id=REPO, repo_type="dataset", revision="dev"
    )
    (tmp_path / "new.txt").write_bytes(b"n")
    await client.upload_folder(
        repo_id=REPO, repo_type="dataset", folder_path=tmp_path, revision="dev", delete_patterns="*.txt"
    )
    assert _tree(hub, rev="dev") == [".gitattributes", "new.txt"]
    assert _tree(hub) == [".gitattributes"]


@pytest.mark.anyio
async def test_upload_folder_refuses_bad_arguments_before_any_request(tmp_path: Path) -> None:
    """upload_folder raises TypeError/ValueError naming a bad argument before sending anything."""

    async def refuse(request: httpx2.Request) -> httpx2.Response:
        raise AssertionError(f"no request expected, got {request.method} {request.url}")

    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=httpx2.MockTransport(refuse)) as client:
        calls: list[tuple[Awaitable[object], type[Exception], str]] = [
            (client.upload_folder(repo_id="a/b", folder_path=3), TypeError, "folder_path"),  # type: ignore[arg-type]
            (client.upload_folder(repo_id="a/b", folder_path=tmp_path / "no"), ValueError, "folder_path"),
            (client.upload_folder(repo_id="a/b/c", folder_path=tmp_path), ValueError, "repo_id"),
            (
                client.upload_folder(repo_id="a/b", folder_path=tmp_path, repo_type="x"),
                ValueError,
                "repo_type",
            ),
            (
                client.upload_folder(repo_id="a/b", folder_path=tmp_path, path_in_repo="../up"),
                ValueError,
                "path_in_repo",
            ),
            (client.upload_folder(repo_id="a/b", folder_path=tmp_path, revision=""), ValueError, "revision"),
            (
                client.upload_folder(repo_id="a/b", folder_path=tmp_path, parent_commit="xyz"),
                ValueError,
                "parent_commit",
            ),
            (
                client.upload_folder(repo_id="a/b", folder_path=tmp_path, create_pr="yes"),  # type: ignore[arg-type]
                TypeError,
                "create_pr",
            ),
            (
                client.upload_folder(repo_id="a/b", folder_path=tmp_path, commit_message=3),  # type: ignore[arg-type]
                TypeError,
                "commit_message",
            ),
            (
                client.upload_folder(repo_id="a/b", folder_path=tmp_path, commit_description=3),  # type: ignore[arg-type]
                TypeError,
                "commit_description",
            ),
            (
                client.upload_folder(repo_id="a/b", folder_path=tmp_path, ignore_patterns=[3]),  # type: ignore[list-item]
                TypeError,
                "ignore_patterns",
            ),
            (
                client.upload_folder(repo_id="a/b", folder_path=tmp_path, delete_patterns=[3]),  # type: ignore[list-item]
                TypeError,
                "delete_patterns",
            ),
            (
                client.create_commit("a/b", [], commit_message="m", commit_description=3),  # type: ignore[arg-type]
                TypeError,
                "commit_description",
            ),
            (client.create_commit("a/b", [], commit_message="  "), ValueError, "commit_message"),
            (client.create_commit("a/b", [], commit_message="m", revision=""), ValueError, "revision"),
            (
                client.create_commit("a/b", [], commit_message="m", create_pr=1),  # type: ignore[arg-type]
                TypeError,
                "create_pr",
            ),
            (client.revision_sha("a/b/c"), ValueError, "repo_id"),
            (client.revision_sha("a/b", repo_type="x"), ValueError, "repo_type"),
            (client.revision_sha("a/b", revision=""), ValueError, "revision"),
            (client.list_repo_files("a/b/c"), ValueError, "repo_id"),
            (client.list_repo_files("a/b", repo_type="x"), ValueError, "repo_type"),
        ]
        for call, error, name in calls:
            with pytest.raises(error, match=name):
                await call


@pytest.mark.anyio
async def test_create_pr_on_main_is_accepted_by_upload_folder(
    hub: SimulatedHub, client: SpacesClient, tmp_path: Path
) -> None:
    """upload_folder accepts create_pr=True with revision "main" (the default branch) and opens a pull
    request."""
    (tmp_path / "a.txt").write_bytes(b"a")
    info = await client.upload_folder(
        repo_id=REPO, repo_type="dataset", folder_path=tmp_path, create_pr=True, revision="main"
    )
    assert info.pr_num is not None
    assert _tree(hub) == [".gitattributes"]


@pytest.mark.anyio
async def test_deleting_a_folder_and_files_in_one_commit(hub: SimulatedHub, client: SpacesClient) -> None:
    """A commit of deletions removes the folder and file it names and nothing else."""
    await client.create_commit(
        REPO,
        [
            CommitOperationAdd("d/a.txt", b"a"),
            CommitOperationAdd("d/b.txt", b"b"),
            CommitOperationAdd("c", b"c"),
        ],
        commit_message="seed",
        repo_type="dataset",
    )
    await client.create_commit(
        REPO,
        [CommitOperationDelete("d/"), CommitOperationDelete("c")],
        commit_message="drop",
        repo_type="dataset",
    )
    assert _tree(hub) == [".gitattributes"]


# --- what a commit tells the waits that follow -----------------------------------------------------------

GOOD_APP = b"import gradio as gr\n\ngr.Interface(lambda x: x, 'text', 'text').launch()\n"


@pytest.mark.anyio
@pytest.mark.parametrize("how", ["upload_file", "upload_folder"])
async def test_a_wait_after_a_commit_to_a_running_space_waits_for_its_rebuild(
    how: str, tmp_path: Path
) -> None:
    """A commit breaking a running Space's app, then wait_until_running: the wait reports the new build's
    failure, not the previous build still running meanwhile."""
    async with SimulatedHubClient() as env:
        client = env.client
        await client.create_repo(SPACE, repo_type="space", space_sdk="gradio")
        await client.upload_file(
            path_or_fileobj=GOOD_APP, path_in_repo="app.py", repo_id=SPACE, repo_type="space"
        )
        await client.wait_until_running(SPACE, timeout=900)
        if how == "upload_file":
            await client.upload_file(
                path_or_fileobj=b"def broken(:\n", path_in_repo="app.py", repo_id=SPACE, repo_type="space"
            )
        else:
            (tmp_path / "app.py").write_bytes(b"def broken(:\n")
            await client.upload_folder(repo_id=SPACE, repo_type="space", folder_path=tmp_path)
        with pytest.raises(SpaceFailedError) as caught:
            await client.wait_until_running(SPACE, timeout=900)
        assert caught.value.stage == "RUNTIME_ERROR"


@pytest.mark.anyio
@pytest.mark.parametrize("where", ["branch", "pull request"])
async def test_a_commit_off_the_main_branch_leaves_a_running_space_running(where: str) -> None:
    """A commit to another branch or a pull request does not rebuild the Space: a wait that follows finds it
    running at once, well within a timeout shorter than a rebuild would take."""
    async with SimulatedHubClient() as env:
        client = env.client
        await client.create_repo(SPACE, repo_type="space", space_sdk="gradio")
        await client.upload_file(
            path_or_fileobj=GOOD_APP, path_in_repo="app.py", repo_id=SPACE, repo_type="space"
        )
        await client.wait_until_running(SPACE, timeout=900)
        if where == "branch":
            env.hub.git.create_branch(("space", SPACE), "dev")
        await client.upload_file(
            path_or_fileobj=b"print('draft')\n",
            path_in_repo="draft.py",
            repo_id=SPACE,
            repo_type="space",
            revision="dev" if where == "branch" else None,
            create_pr=where == "pull request",
        )
        runtime = await client.wait_until_running(SPACE, timeout=5)
        assert runtime.stage == "RUNNING"


# --- lost answers, refused reads and endpoints with a path -------------------------------------------------

PROXY_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>"
FAST = RetryPolicy(max_attempts=4, base_delay=0.001, max_delay=0.002)


def _is_commit(request: httpx2.Request) -> bool:
    return request.method == "POST" and "/commit/" in request.url.path


class _Faults(httpx2.AsyncBaseTransport):
    """Wraps the simulator's transport: strips `prefix` from every path (an endpoint with a path), loses the
    answer of the first `lose` commit requests (applied, then the connection drops), runs `before_commit`
    before the first one reaches the Hub, and answers a proxy's 502 to the first request of each `refuse`
    (method, path fragment) pair."""

    def __init__(
        self,
        inner: httpx2.AsyncBaseTransport,
        *,
        prefix: str = "",
        lose: int = 0,
        refuse: list[tuple[str, str]] | None = None,
        before_commit: Callable[[], None] | None = None,
    ) -> None:
        self.inner = inner
        self.prefix = prefix
        self.lose = lose
        self.refuse = list(refuse or ())
        self.before_commit = before_commit
        self.refused: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self.prefix:
            assert request.url.path.startswith(self.prefix), request.url
            request.url = request.url.copy_with(path=request.url.path[len(self.prefix) :])
        for method, fragment in self.refuse:
            if request.method == method and fragment in str(request.url):
                self.refuse.remove((method, fragment))
                self.refused.append((method, fragment))
                return httpx2.Response(502, headers={"Content-Type": "text/html"}, content=PROXY_PAGE)
        if _is_commit(request) and self.before_commit is not None:
            before, self.before_commit = self.before_commit, None
            before()
        if _is_commit(request) and self.lose:
            self.lose -= 1
            response = await self.inner.handle_async_request(request)
            await response.aread()
            await response.aclose()
            raise httpx2.ReadError("[Errno 104] Connection reset by peer", request=request)
        return await self.inner.handle_async_request(request)


def _space_hub() -> SimulatedHub:
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token=TOKEN)
    hub.create_space(SPACE)
    return hub


def _pull_requests(hub: SimulatedHub) -> list[tuple[int, str]]:
    refs = hub.git.branches(("space", SPACE))
    return sorted(
        (int(ref.rsplit("/", 1)[1]), hub.git.resolve(("space", SPACE), ref).title)
        for ref in refs
        if ref.startswith("refs/pr/")
    )


@pytest.mark.anyio
@pytest.mark.parametrize("description", [None, "why"])
async def test_a_lost_pull_request_is_told_apart_from_others_opened_meanwhile(
    description: str | None,
) -> None:
    """A pull request whose answer was lost is found among older ones and one someone else opened meanwhile
    with the same files under another title; it is reported with its own number, URL, title and description,
    and opened once, on an endpoint with a path."""
    hub = _space_hub()
    key = ("space", SPACE)
    hub.git.commit(key, additions={"old.txt": b"old"}, message="Older idea", author="alice", create_pr=True)

    def someone_else() -> None:
        hub.git.commit(
            key, additions={"app.py": b"print(2)\n"}, message="Other", author="alice", create_pr=True
        )

    transport = _Faults(hub.transport(), prefix="/mirror", lose=1, before_commit=someone_else)
    async with SpacesClient(
        token=TOKEN, endpoint=f"{ENDPOINT}/mirror", transport=transport, retry=FAST
    ) as client:
        info = await client.upload_file(
            path_or_fileobj=b"print(2)\n",
            path_in_repo="app.py",
            repo_id=SPACE,
            repo_type="space",
            commit_message="Mine",
            commit_description=description,
            create_pr=True,
        )
    assert _pull_requests(hub) == [(1, "Older idea"), (2, "Other"), (3, "Mine")]
    assert info.pr_num == 3
    assert info.oid == hub.git.branches(key)["refs/pr/3"]
    assert info.commit_url == f"{ENDPOINT}/mirror/spaces/{SPACE}/commit/{info.oid}"
    assert info.pr_url == f"{ENDPOINT}/mirror/spaces/{SPACE}/discussions/3"
    assert (info.commit_message, info.commit_description) == ("Mine", description or "")
    assert info.repo_url.repo_id == SPACE
    assert info.repo_url.endpoint == f"{ENDPOINT}/mirror"
    assert hub.counters.requests[COMMIT] == 1


@pytest.mark.anyio
@pytest.mark.parametrize("description", [None, "why"])
async def test_a_lost_commit_is_reported_with_its_url_title_and_description(description: str | None) -> None:
    """A branch commit whose answer was lost is reported with its sha, its URL under an endpoint with a path,
    the caller's title and description, and lands once."""
    hub = _space_hub()
    transport = _Faults(hub.transport(), prefix="/mirror", lose=1)
    async with SpacesClient(
        token=TOKEN, endpoint=f"{ENDPOINT}/mirror", transport=transport, retry=FAST
    ) as client:
        info = await client.upload_file(
            path_or_fileobj=b"print(3)\n",
            path_in_repo="app.py",
            repo_id=SPACE,
            repo_type="space",
            commit_message="Mine",
            commit_description=description,
        )
    head = hub.git.resolve(("space", SPACE))
    assert (info.oid, head.title) == (head.sha, "Mine")
    assert info.commit_url == f"{ENDPOINT}/mirror/spaces/{SPACE}/commit/{head.sha}"
    assert (info.commit_message, info.commit_description) == ("Mine", description or "")
    assert info.repo_url.repo_id == SPACE
    assert info.pr_url is None
    assert hub.counters.requests[COMMIT] == 1


@pytest.mark.anyio
async def test_a_no_op_commit_is_reported_under_an_endpoint_with_a_path() -> None:
    """A no-op commit's CommitInfo names the repo under a client endpoint that has a path."""
    hub = _space_hub()
    transport = _Faults(hub.transport(), prefix="/mirror")
    async with SpacesClient(token=TOKEN, endpoint=f"{ENDPOINT}/mirror", transport=transport) as client:
        first = await client.upload_file(
            path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=SPACE, repo_type="space"
        )
        info = await client.upload_file(
            path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=SPACE, repo_type="space"
        )
    assert info.oid == first.oid
    assert info.repo_url.repo_id == SPACE
    assert info.repo_url.endpoint == f"{ENDPOINT}/mirror"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("call", "refused", "lose"),
    [
        ("file", ("POST", "/preupload/"), 0),
        ("readme", ("POST", "/api/validate-yaml"), 0),
        ("pr", ("GET", "/refs"), 0),
        ("noop", ("GET", "/revision/"), 0),
        ("list", ("GET", "/tree/"), 0),
        ("file", ("GET", "/commits/"), 1),
        ("file", ("POST", "/paths-info/"), 1),
        ("pr", ("GET", "/commits/refs%2Fpr%2F"), 1),
    ],
)
async def test_a_read_a_proxy_refuses_is_sent_again(call: str, refused: tuple[str, str], lose: int) -> None:
    """Every read of the commit path (preupload, README check, refs, revision, tree, and the lookups after a
    lost answer) that a proxy refuses with a 502 is sent again, and the call succeeds with one commit."""
    hub = _space_hub()
    base = hub.git.resolve(("space", SPACE)).sha
    transport = _Faults(hub.transport(), lose=lose, refuse=[refused])
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=transport, retry=FAST) as client:
        if call == "list":
            assert "README.md" in await client.list_repo_files(SPACE, repo_type="space")
        elif call == "noop":
            readme = hub.git.read_file(("space", SPACE), "README.md")
            assert readme is not None
            info = await client.upload_file(
                path_or_fileobj=readme, path_in_repo="README.md", repo_id=SPACE, repo_type="space"
            )
            assert info.oid == base
        else:
            info = await client.upload_file(
                path_or_fileobj=b"---\nsdk: gradio\n---\n# Hi\n" if call == "readme" else b"print(4)\n",
                path_in_repo="README.md" if call == "readme" else "app.py",
                repo_id=SPACE,
                repo_type="space",
                create_pr=call == "pr",
            )
            assert hub.counters.requests[COMMIT] == 1
            assert len(_pull_requests(hub)) == (1 if call == "pr" else 0)
    assert transport.refused == [refused]


@pytest.mark.anyio
async def test_a_no_op_conflict_carries_the_hubs_own_412_message(
    hub: SimulatedHub, client: SpacesClient
) -> None:
    """The 412 a no-op commit on a stale parent raises carries the same server message as the Hub's 412 for
    a real commit on that parent."""
    base = await client.upload_file(
        path_or_fileobj=b"v", path_in_repo="f.txt", repo_id=REPO, repo_type="dataset"
    )
    await client.upload_file(path_or_fileobj=b"w", path_in_repo="g.txt", repo_id=REPO, repo_type="dataset")
    with pytest.raises(CommitConflictError) as real:
        await client.upload_file(
            path_or_fileobj=b"new",
            path_in_repo="h.txt",
            repo_id=REPO,
            repo_type="dataset",
            parent_commit=base.oid,
        )
    with pytest.raises(CommitConflictError) as noop:
        await client.upload_file(
            path_or_fileobj=b"v",
            path_in_repo="f.txt",
            repo_id=REPO,
            repo_type="dataset",
            parent_commit=base.oid,
        )
    assert noop.value.server_message == real.value.server_message


@pytest.mark.anyio
async def test_bare_model_names_are_listed_and_resolved_like_huggingface_hub() -> None:
    """A legacy model id without a namespace is accepted by list_repo_files and revision_sha, and the listing
    asks for the whole tree, unexpanded, as huggingface_hub does."""
    seen: list[str] = []
    head = "e" * 40

    def tree(request: httpx2.Request) -> httpx2.Response:
        seen.append(str(request.url.params))
        return httpx2.Response(200, json=[{"type": "file", "path": "config.json"}])

    transport = _scripted(
        {
            "/api/models/gpt2/tree/main": tree,
            "/api/models/gpt2/revision/main": lambda request: httpx2.Response(200, json={"sha": head}),
        }
    )
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=transport, retry=False) as client:
        assert await client.list_repo_files("gpt2") == ["config.json"]
        assert await client.revision_sha("gpt2") == head
    assert seen == ["recursive=true&expand=false"]


@pytest.mark.anyio
async def test_a_readme_refused_without_a_message_still_says_why() -> None:
    """A README check refused with a bare 400 raises ValueError carrying the status line."""
    transport = _scripted({"/api/validate-yaml": lambda request: httpx2.Response(400)})
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=transport, retry=False) as client:
        with pytest.raises(ValueError, match=r"README\.md") as caught:
            await client.upload_file(
                path_or_fileobj=b"---\nx: 1\n---\n",
                path_in_repo="README.md",
                repo_id="a/b",
                repo_type="space",
            )
    assert "400" in str(caught.value)
