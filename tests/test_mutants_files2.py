"""Uploads and commits as a caller sees them, where a mistake would go unnoticed elsewhere: checks before any
request, bare model names, folder prefixes, a stale base, the NDJSON commit request, URLs behind a mirror,
and a commit the Hub applied but answered with an error (asyncio and trio)."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpx2
import pytest

from aiospaces import RetryPolicy, SpacesClient
from aiospaces._commit_models import CommitOperationAdd
from aiospaces.errors import CommitConflictError, UnexpectedResponseError
from aiospaces.hubsim import SimulatedHub

TOKEN = "hf_alice_mutants_files2"
ENDPOINT = "https://hub.local"
REPO = "alice/data"
PREUPLOAD = "POST /api/{type}s/{id}/preupload/{rev}"
TWO_TRIES = RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.002)


def _dataset_hub() -> SimulatedHub:
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token=TOKEN)
    hub.create_repo(REPO, repo_type="dataset")
    return hub


def _tree(hub: SimulatedHub, rev: str = "main") -> list[str]:
    return sorted(hub.git.resolve(("dataset", REPO), rev).tree)


def _is_commit(request: httpx2.Request) -> bool:
    return request.method == "POST" and "/commit/" in request.url.path


class _Wire(httpx2.AsyncBaseTransport):
    """Between the client and the simulator: records each request's method, path and Content-Type; may serve
    the client's `prefix` from the Hub's own host (a mirror); may drop the first `drop` commit requests before
    they reach the Hub, lose the answer of the next `lose` once the Hub applied them, answer the next
    `fail_applied` with a 500 after the Hub applied them, run `before_commit` before the first commit request,
    and answer a proxy's 502 to as many requests as `refuse` counts for a (method, URL fragment) pair."""

    def __init__(
        self,
        inner: httpx2.AsyncBaseTransport,
        *,
        mirror_of: str | None = None,
        prefix: str = "",
        drop: int = 0,
        lose: int = 0,
        fail_applied: int = 0,
        before_commit: Callable[[], None] | None = None,
        refuse: dict[tuple[str, str], int] | None = None,
    ) -> None:
        self.inner = inner
        self.mirror_of = mirror_of
        self.prefix = prefix
        self.drop = drop
        self.lose = lose
        self.fail_applied = fail_applied
        self.before_commit = before_commit
        self.refuse = dict(refuse or {})
        self.seen: list[tuple[str, str, str | None]] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if self.prefix:
            assert path.startswith(self.prefix), request.url
            path = path[len(self.prefix) :]
        request.url = request.url.copy_with(path=path)
        if self.mirror_of is not None:
            request.url = request.url.copy_with(host=self.mirror_of)
        self.seen.append((request.method, path, request.headers.get("content-type")))
        for (method, fragment), count in self.refuse.items():
            if count and request.method == method and fragment in path:
                self.refuse[method, fragment] = count - 1
                return httpx2.Response(
                    502, headers={"Content-Type": "text/html"}, content=b"<html>502</html>"
                )
        if _is_commit(request) and self.before_commit is not None:
            before, self.before_commit = self.before_commit, None
            before()
        if _is_commit(request) and self.drop:
            self.drop -= 1
            raise httpx2.ReadTimeout("timed out before the Hub answered", request=request)
        if _is_commit(request) and self.lose:
            self.lose -= 1
            response = await self.inner.handle_async_request(request)
            await response.aread()
            await response.aclose()
            raise httpx2.ReadError("[Errno 104] Connection reset by peer", request=request)
        if _is_commit(request) and self.fail_applied:
            self.fail_applied -= 1
            response = await self.inner.handle_async_request(request)
            await response.aread()
            await response.aclose()
            return httpx2.Response(500, json={"error": "Internal Error"})
        return await self.inner.handle_async_request(request)

    def commits(self) -> int:
        return sum(1 for method, path, _ in self.seen if method == "POST" and "/commit/" in path)


# --- arguments checked before anything is sent --------------------------------------------------------------


@pytest.mark.anyio
async def test_upload_folder_with_deletions_refuses_bad_arguments_before_listing_the_repo(
    tmp_path: Path,
) -> None:
    """upload_folder with delete_patterns (which lists the repo first) still raises TypeError/ValueError
    naming a bad argument before sending any request, and a non-str revision with create_pr is a TypeError."""
    sent: list[str] = []

    async def record(request: httpx2.Request) -> httpx2.Response:
        sent.append(f"{request.method} {request.url.path}")
        return httpx2.Response(200, json=[])

    (tmp_path / "a.txt").write_bytes(b"a")
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=httpx2.MockTransport(record)) as client:

        def folder(**kwargs: object) -> Awaitable[object]:
            return client.upload_folder(repo_id="a/b", folder_path=tmp_path, delete_patterns="*", **kwargs)  # type: ignore[arg-type]

        calls: list[tuple[Awaitable[object], type[Exception], str]] = [
            (folder(parent_commit="xyz"), ValueError, "parent_commit"),
            (folder(create_pr="yes"), TypeError, "create_pr"),
            (folder(commit_message=3), TypeError, "commit_message"),
            (folder(commit_description=3), TypeError, "commit_description"),
            (folder(revision=3, create_pr=True), TypeError, "revision"),
        ]
        for call, error, name in calls:
            with pytest.raises(error, match=name):
                await call
    assert sent == []


# --- names and paths ----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_upload_folder_accepts_a_bare_model_name_like_create_commit(tmp_path: Path) -> None:
    """upload_folder accepts a legacy model id without a namespace (as create_commit and huggingface_hub do)
    and commits to that model."""
    head, new = "a" * 40, "b" * 40
    sent: list[str] = []

    async def hub(request: httpx2.Request) -> httpx2.Response:
        sent.append(f"{request.method} {request.url.path}")
        if request.url.path == "/api/models/gpt2/preupload/main":
            files = [{"path": "config.json", "uploadMode": "regular", "shouldIgnore": False}]
            return httpx2.Response(200, json={"files": files, "commitOid": head})
        if request.url.path == "/api/models/gpt2/commit/main":
            return httpx2.Response(200, json={"commitOid": new, "commitUrl": f"{ENDPOINT}/gpt2/commit/{new}"})
        raise AssertionError(f"unexpected {request.method} {request.url}")

    (tmp_path / "config.json").write_bytes(b"{}")
    async with SpacesClient(
        token=TOKEN, endpoint=ENDPOINT, transport=httpx2.MockTransport(hub), retry=False
    ) as client:
        info = await client.upload_folder(repo_id="gpt2", folder_path=tmp_path)
    assert info.oid == new
    assert sent == ["POST /api/models/gpt2/preupload/main", "POST /api/models/gpt2/commit/main"]


@pytest.mark.anyio
@pytest.mark.parametrize("path_in_repo", ["assets/LaTeX", "assets/LaTeX/"])
async def test_upload_folder_keeps_the_whole_last_name_of_its_prefix(
    tmp_path: Path, path_in_repo: str
) -> None:
    """A path_in_repo is used whole (only a trailing slash dropped): a name ending in a letter keeps it."""
    hub = _dataset_hub()
    (tmp_path / "a.tex").write_bytes(b"\\begin{document}")
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=hub.transport()) as client:
        await client.upload_folder(
            repo_id=REPO, repo_type="dataset", folder_path=tmp_path, path_in_repo=path_in_repo
        )
    assert _tree(hub) == [".gitattributes", "assets/LaTeX/a.tex"]


# --- what a commit carries ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_upload_folder_on_a_stale_parent_commit_is_refused(tmp_path: Path) -> None:
    """upload_folder passes parent_commit on: based on a commit the branch has moved past, it raises
    CommitConflictError and changes nothing; based on the head, it lands."""
    hub = _dataset_hub()
    (tmp_path / "a.txt").write_bytes(b"a")
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=hub.transport()) as client:
        first = await client.upload_file(
            path_or_fileobj=b"1", path_in_repo="one.txt", repo_id=REPO, repo_type="dataset"
        )
        second = await client.upload_file(
            path_or_fileobj=b"2", path_in_repo="two.txt", repo_id=REPO, repo_type="dataset"
        )
        with pytest.raises(CommitConflictError):
            await client.upload_folder(
                repo_id=REPO, repo_type="dataset", folder_path=tmp_path, parent_commit=first.oid
            )
        assert hub.git.resolve(("dataset", REPO)).sha == second.oid
        info = await client.upload_folder(
            repo_id=REPO, repo_type="dataset", folder_path=tmp_path, parent_commit=second.oid
        )
    assert hub.git.resolve(("dataset", REPO)).sha == info.oid
    assert _tree(hub) == [".gitattributes", "a.txt", "one.txt", "two.txt"]


@pytest.mark.anyio
async def test_upload_file_commits_its_description() -> None:
    """upload_file's commit_description reaches the commit on the Hub and the returned CommitInfo."""
    hub = _dataset_hub()
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=hub.transport()) as client:
        info = await client.upload_file(
            path_or_fileobj=b"x",
            path_in_repo="x.txt",
            repo_id=REPO,
            repo_type="dataset",
            commit_message="Add x",
            commit_description="Because the reader needs it.",
        )
    head = hub.git.resolve(("dataset", REPO))
    assert head.title == "Add x"
    assert head.message.strip().endswith("Because the reader needs it.")
    assert info.commit_description == "Because the reader needs it."


@pytest.mark.anyio
async def test_a_commit_is_one_ndjson_request_after_one_preupload_request() -> None:
    """A commit of a few files asks the Hub about them in one preupload request and sends one commit request
    typed application/x-ndjson, the body format the Hub's commit endpoint reads."""
    hub = _dataset_hub()
    wire = _Wire(hub.transport())
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=wire) as client:
        await client.create_commit(
            REPO,
            [CommitOperationAdd(f"f{i}.txt", str(i).encode()) for i in range(3)],
            commit_message="three",
            repo_type="dataset",
        )
    assert hub.counters.requests[PREUPLOAD] == 1
    commits = [content_type for method, path, content_type in wire.seen if "/commit/" in path]
    assert commits == ["application/x-ndjson"]
    assert _tree(hub) == [".gitattributes", "f0.txt", "f1.txt", "f2.txt"]


@pytest.mark.anyio
async def test_commit_urls_given_on_the_hubs_own_host_are_reported_on_a_mirror_endpoint() -> None:
    """Behind a mirror endpoint, the commit and pull request URLs the Hub answers on its own host are
    reported on the client's endpoint, with the repo URL's endpoint."""
    hub = _dataset_hub()
    wire = _Wire(hub.transport(), mirror_of="huggingface.co", prefix="/mirror")
    async with SpacesClient(token=TOKEN, endpoint=f"{ENDPOINT}/mirror", transport=wire) as client:
        info = await client.upload_file(
            path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=REPO, repo_type="dataset"
        )
        pr = await client.upload_file(
            path_or_fileobj=b"y", path_in_repo="y.txt", repo_id=REPO, repo_type="dataset", create_pr=True
        )
    assert info.commit_url == f"{ENDPOINT}/mirror/datasets/{REPO}/commit/{info.oid}"
    assert info.repo_url.endpoint == f"{ENDPOINT}/mirror"
    assert pr.pr_url == f"{ENDPOINT}/mirror/datasets/{REPO}/discussions/{pr.pr_num}"
    assert pr.commit_url == f"{ENDPOINT}/mirror/datasets/{REPO}/commit/{pr.oid}"


# --- a commit the Hub applied but answered with an error ----------------------------------------------------


@pytest.mark.anyio
async def test_a_commit_applied_but_answered_500_on_the_last_attempt_is_reported_found(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """When the last attempt allowed is applied by the Hub but answered with a 500, the commit is found in
    the repo and returned (not raised), it lands once, and an INFO log names the commit found."""
    hub = _dataset_hub()
    wire = _Wire(hub.transport(), drop=1, fail_applied=1)
    caplog.set_level(logging.INFO, logger="aiospaces")
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=wire, retry=TWO_TRIES) as client:
        info = await client.upload_file(
            path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=REPO, repo_type="dataset", commit_message="x"
        )
    head = hub.git.resolve(("dataset", REPO))
    assert (info.oid, head.title) == (head.sha, "x")
    assert [record.title for record in hub.git.history(("dataset", REPO), "main")].count("x") == 1
    assert wire.commits() == 2
    assert any(
        record.levelno == logging.INFO and head.sha in record.getMessage()
        for record in caplog.records
        if record.name == "aiospaces"
    )


@pytest.mark.anyio
async def test_a_resend_on_a_stale_parent_commit_is_refused_once(tmp_path: Path) -> None:
    """A commit on a parent_commit the branch moved past meanwhile, whose first request was lost before the
    Hub, is resent once, refused with CommitConflictError, and not sent again (each commit request counts
    against the Hub's commit quota)."""
    hub = _dataset_hub()
    key = ("dataset", REPO)
    base = hub.git.resolve(key).sha

    def someone_else() -> None:
        hub.git.commit(key, additions={"other.txt": b"o"}, message="Other", author="alice")

    wire = _Wire(hub.transport(), drop=1, before_commit=someone_else)
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=wire, retry=TWO_TRIES) as client:
        with pytest.raises(CommitConflictError):
            await client.upload_file(
                path_or_fileobj=b"x",
                path_in_repo="x.txt",
                repo_id=REPO,
                repo_type="dataset",
                parent_commit=base,
            )
    assert wire.commits() == 2
    assert _tree(hub) == [".gitattributes", "other.txt"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("create_pr", "refused"),
    [
        (False, ("GET", "/commits/main")),
        (False, ("POST", "/paths-info/")),
        (True, ("GET", "/commits/refs/pr/1")),
        (True, ("POST", "/paths-info/")),
    ],
    ids=["branch-history", "branch-tree", "pr-history", "pr-tree"],
)
async def test_a_lost_commit_is_found_though_a_proxy_refuses_a_lookup_read_twice(
    create_pr: bool, refused: tuple[str, str]
) -> None:
    """A commit whose answer was lost is still found, and not sent again, when a proxy refuses two of the
    reads that look for it (each read is sent again like any other read)."""
    hub = _dataset_hub()
    wire = _Wire(hub.transport(), lose=1, refuse={refused: 2})
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=wire, retry=TWO_TRIES) as client:
        info = await client.upload_file(
            path_or_fileobj=b"x",
            path_in_repo="x.txt",
            repo_id=REPO,
            repo_type="dataset",
            commit_message="Mine",
            create_pr=create_pr,
        )
    assert wire.refuse[refused] == 0
    assert wire.commits() == 1
    ref = "refs/pr/1" if create_pr else "main"
    assert info.oid == hub.git.resolve(("dataset", REPO), ref).sha
    assert info.pr_num == (1 if create_pr else None)


@pytest.mark.anyio
async def test_a_lost_commit_on_a_parent_is_not_taken_for_a_later_identical_one() -> None:
    """With parent_commit, a commit lost before reaching the Hub is not confused with an identical commit
    (same title, same files) someone else made later on top of another one: the caller gets the conflict."""
    hub = _dataset_hub()
    key = ("dataset", REPO)
    base = hub.git.resolve(key).sha

    def someone_else() -> None:
        hub.git.commit(key, additions={"other.txt": b"o"}, message="Other", author="alice")
        hub.git.commit(key, additions={"x.txt": b"x"}, message="Mine", author="alice")

    wire = _Wire(hub.transport(), drop=1, before_commit=someone_else)
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=wire, retry=TWO_TRIES) as client:
        with pytest.raises(CommitConflictError):
            await client.upload_file(
                path_or_fileobj=b"x",
                path_in_repo="x.txt",
                repo_id=REPO,
                repo_type="dataset",
                commit_message="Mine",
                parent_commit=base,
            )
    assert [record.title for record in hub.git.history(key, "main")][:2] == ["Mine", "Other"]


# --- hashing ------------------------------------------------------------------------------------------------


class _Overlap:
    """How many reads of a group of file objects run at once; its first read waits (a bounded while) for
    another one to start alongside, so that reads allowed to overlap do."""

    def __init__(self, *, wait_first: bool) -> None:
        self.cond = threading.Condition()
        self.inflight = 0
        self.most = 0
        self.waited = not wait_first


class _Watched(io.BytesIO):
    """A binary file object noting the thread of each of its reads, and their overlap with its group's."""

    def __init__(self, data: bytes, group: _Overlap) -> None:
        super().__init__(data)
        self.group = group
        self.threads: set[int] = set()

    def read(self, size: int | None = -1) -> bytes:
        self.threads.add(threading.get_ident())
        group = self.group
        with group.cond:
            group.inflight += 1
            group.most = max(group.most, group.inflight)
            group.cond.notify_all()
            if not group.waited:
                group.waited = True
                group.cond.wait_for(lambda: group.inflight > 1, timeout=1.0)
        try:
            return super().read(size)
        finally:
            with group.cond:
                group.inflight -= 1


@pytest.mark.anyio
async def test_files_are_hashed_off_the_event_loop_thread() -> None:
    """create_commit hashes and reads a file object in worker threads, never on the event loop's thread,
    also when another addition was hashed by the caller beforehand."""
    hub = _dataset_hub()
    early = CommitOperationAdd("early.txt", b"hashed early")
    assert early.upload_info.size == len(b"hashed early")
    source = _Watched(b"late content\n" * 100, _Overlap(wait_first=False))
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=hub.transport()) as client:
        await client.create_commit(
            REPO,
            [early, CommitOperationAdd("late.txt", source)],
            commit_message="two",
            repo_type="dataset",
        )
    assert source.threads
    assert threading.get_ident() not in source.threads
    assert _tree(hub) == [".gitattributes", "early.txt", "late.txt"]


@pytest.mark.anyio
async def test_num_threads_bounds_how_many_files_are_hashed_at_once() -> None:
    """With num_threads=1, create_commit reads one file at a time."""
    hub = _dataset_hub()
    group = _Overlap(wait_first=True)
    sources = [_Watched(f"file {i}\n".encode() * 100, group) for i in range(3)]
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=hub.transport()) as client:
        await client.create_commit(
            REPO,
            [CommitOperationAdd(f"f{i}.txt", source) for i, source in enumerate(sources)],
            commit_message="three",
            repo_type="dataset",
            num_threads=1,
        )
    assert group.most == 1
    assert _tree(hub) == [".gitattributes", "f0.txt", "f1.txt", "f2.txt"]


@pytest.mark.anyio
async def test_a_commit_message_of_another_type_is_named_with_its_type() -> None:
    """A commit_message that is not a str raises TypeError naming the argument and the type given, before
    any request."""

    async def refuse(request: httpx2.Request) -> httpx2.Response:
        raise AssertionError(f"no request expected, got {request.method} {request.url}")

    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=httpx2.MockTransport(refuse)) as client:
        with pytest.raises(TypeError, match=r"commit_message.*\bint\b"):
            await client.create_commit("a/b", [], commit_message=3)  # type: ignore[arg-type]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"commit_description": 3}, TypeError, "commit_description"),
        ({"create_pr": "yes"}, TypeError, "create_pr"),
        ({"num_threads": 0}, ValueError, "num_threads"),
        ({"parent_commit": "xyz"}, ValueError, "parent_commit"),
        ({"revision": ""}, ValueError, "revision"),
        ({"commit_message": " \n"}, ValueError, "commit_message"),
    ],
)
async def test_create_commit_errors_begin_with_the_argument_they_refuse(
    kwargs: dict[str, object], error: type[Exception], name: str
) -> None:
    """A bad create_commit argument raises an error whose message begins with that argument's exact name,
    before any request."""

    async def refuse(request: httpx2.Request) -> httpx2.Response:
        raise AssertionError(f"no request expected, got {request.method} {request.url}")

    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=httpx2.MockTransport(refuse)) as client:
        with pytest.raises(error, match=rf"^{name}\b"):
            await client.create_commit("a/b", [], **{"commit_message": "m", **kwargs})  # type: ignore[arg-type]


@pytest.mark.anyio
@pytest.mark.parametrize("create_pr", [False, True])
async def test_the_preupload_request_says_when_the_commit_opens_a_pull_request(create_pr: bool) -> None:
    """The preupload request carries `create_pr=1` exactly when the commit opens a pull request, as
    huggingface_hub sends it."""
    hub = _dataset_hub()
    queries: list[str] = []

    class Recording(httpx2.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            if "/preupload/" in request.url.path:
                queries.append(request.url.query.decode())
            return await hub.transport().handle_async_request(request)

    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=Recording()) as client:
        info = await client.upload_file(
            path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=REPO, repo_type="dataset", create_pr=create_pr
        )
    assert queries == (["create_pr=1"] if create_pr else [""])
    assert (info.pr_num is not None) is create_pr


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("kwargs", "error", "begins"),
    [
        ({"folder_path": 3}, TypeError, "folder_path must be a str or Path, got int"),
        ({"create_pr": "yes"}, TypeError, "create_pr"),
        ({"commit_message": 3}, TypeError, "commit_message"),
        ({"commit_description": 3}, TypeError, "commit_description"),
        ({"allow_patterns": [3]}, TypeError, "allow_patterns"),
        ({"ignore_patterns": [3]}, TypeError, "ignore_patterns"),
        ({"delete_patterns": [3]}, TypeError, "delete_patterns"),
        ({"create_pr": True, "revision": "dev"}, ValueError, "create_pr=True"),
    ],
)
async def test_upload_folder_errors_begin_with_the_argument_they_refuse(
    tmp_path: Path, kwargs: dict[str, object], error: type[Exception], begins: str
) -> None:
    """A bad upload_folder argument raises an error whose message begins with that argument's exact name
    (and, for a value of the wrong type, says which type it got), before any request."""

    async def refuse(request: httpx2.Request) -> httpx2.Response:
        raise AssertionError(f"no request expected, got {request.method} {request.url}")

    arguments: dict[str, object] = {"repo_id": "a/b", "folder_path": tmp_path, **kwargs}
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=httpx2.MockTransport(refuse)) as client:
        with pytest.raises(error) as caught:
            await client.upload_folder(**arguments)  # type: ignore[arg-type]
    message = str(caught.value)
    assert message.startswith(begins)
    assert message[len(begins) : len(begins) + 1] in ("", " ", ":")


@pytest.mark.anyio
async def test_upload_folder_names_the_folder_that_is_not_a_directory(tmp_path: Path) -> None:
    """upload_folder on a path that is not a directory raises ValueError naming that path."""
    missing = tmp_path / "nowhere-to-be-found"

    async def refuse(request: httpx2.Request) -> httpx2.Response:
        raise AssertionError(f"no request expected, got {request.method} {request.url}")

    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=httpx2.MockTransport(refuse)) as client:
        with pytest.raises(ValueError, match=r"^folder_path: .*nowhere-to-be-found"):
            await client.upload_folder(repo_id="a/b", folder_path=missing)


# --- README checks ------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_readme_that_is_not_utf8_is_refused_with_a_message_saying_so() -> None:
    """A README.md that is not UTF-8 raises ValueError whose message begins with README.md and says it must
    be UTF-8, before any request."""

    async def refuse(request: httpx2.Request) -> httpx2.Response:
        raise AssertionError(f"no request expected, got {request.method} {request.url}")

    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=httpx2.MockTransport(refuse)) as client:
        with pytest.raises(ValueError, match=r"^README\.md .*UTF-8"):
            await client.upload_file(path_or_fileobj=b"\xff\xfe", path_in_repo="README.md", repo_id="a/b")


@pytest.mark.anyio
async def test_each_problem_the_hub_finds_in_a_readme_is_one_line_of_the_error() -> None:
    """The Hub's card errors for a refused README each make one line of the ValueError, after the first
    line's lead, and one said twice by the Hub is said once."""
    answer = {
        "error": '"sdk" must be one of [gradio, docker, static]',
        "errors": [
            {"message": '"sdk" must be one of [gradio, docker, static]'},
            {"message": '"license" must be a string'},
        ],
    }

    async def hub(request: httpx2.Request) -> httpx2.Response:
        assert request.url.path == "/api/validate-yaml", request.url
        return httpx2.Response(400, json=answer)

    async with SpacesClient(
        token=TOKEN, endpoint=ENDPOINT, transport=httpx2.MockTransport(hub), retry=False
    ) as client:
        with pytest.raises(ValueError, match=r"^Invalid metadata in README\.md: ") as caught:
            await client.upload_file(
                path_or_fileobj=b"---\nsdk: nope\nlicense: 3\n---\n",
                path_in_repo="README.md",
                repo_id="a/b",
                repo_type="space",
            )
    assert str(caught.value).splitlines() == [
        'Invalid metadata in README.md: "sdk" must be one of [gradio, docker, static]',
        '"license" must be a string',
    ]


# --- looking for a lost commit ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_lost_commit_to_a_branch_recreated_elsewhere_is_sent_again() -> None:
    """When the branch a commit was sent to is recreated from another line of history before the lost
    request is looked for (its base is no longer in the branch's history), the commit is sent again and
    lands once on the recreated branch."""
    hub = _dataset_hub()
    key = ("dataset", REPO)
    hub.git.create_branch(key, "dev")
    hub.git.commit(key, additions={"dev.txt": b"d"}, message="Dev work", author="alice", revision="dev")
    hub.git.commit(key, additions={"main.txt": b"m"}, message="Main work", author="alice")

    def recreate_dev_from_main() -> None:
        hub.git.delete_branch(key, "dev")
        hub.git.create_branch(key, "dev", revision="main")

    wire = _Wire(hub.transport(), drop=1, before_commit=recreate_dev_from_main)
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=wire, retry=TWO_TRIES) as client:
        info = await client.upload_file(
            path_or_fileobj=b"x",
            path_in_repo="x.txt",
            repo_id=REPO,
            repo_type="dataset",
            revision="dev",
            commit_message="Mine",
        )
    assert info.oid == hub.git.resolve(key, "dev").sha
    assert [record.title for record in hub.git.history(key, "dev")][:2] == ["Mine", "Main work"]
    assert _tree(hub, "dev") == [".gitattributes", "main.txt", "x.txt"]


@pytest.mark.anyio
async def test_a_malformed_tree_answer_while_looking_for_a_lost_commit_names_the_repo() -> None:
    """A paths-info answer that is not a list, read while looking for a commit whose answer was lost,
    raises UnexpectedResponseError naming the repo and the commit looked at."""
    hub = _dataset_hub()
    inner = hub.transport()

    class Malformed(httpx2.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            if "/paths-info/" in request.url.path:
                return httpx2.Response(200, json={"paths": "not a list"})
            return await inner.handle_async_request(request)

    wire = _Wire(Malformed(), lose=1)
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=wire, retry=TWO_TRIES) as client:
        with pytest.raises(UnexpectedResponseError, match=rf"paths-info .*{REPO}@[0-9a-f]{{40}}"):
            await client.upload_file(
                path_or_fileobj=b"x",
                path_in_repo="x.txt",
                repo_id=REPO,
                repo_type="dataset",
                commit_message="M",
            )


# --- LFS ----------------------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("revision", "create_pr", "ref"),
    [(None, False, {"name": "main"}), ("dev", False, {"name": "dev"}), (None, True, None)],
    ids=["main", "branch", "pull-request"],
)
async def test_the_lfs_batch_names_the_branch_committed_to_and_no_branch_for_a_pull_request(
    revision: str | None, create_pr: bool, ref: dict[str, str] | None
) -> None:
    """The LFS batch request of a commit with a binary file names the branch the commit goes to (`ref`), and
    none when the commit opens a pull request, as huggingface_hub sends it; the file lands there."""
    hub = _dataset_hub()
    hub.git.create_branch(("dataset", REPO), "dev")
    inner = hub.transport()
    refs: list[object] = []

    class Recording(httpx2.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            if request.url.path.endswith("/info/lfs/objects/batch"):
                refs.append(json.loads(await request.aread()).get("ref"))
            return await inner.handle_async_request(request)

    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=Recording()) as client:
        info = await client.upload_file(
            path_or_fileobj=bytes(range(256)) * 8,
            path_in_repo="blob.bin",
            repo_id=REPO,
            repo_type="dataset",
            revision=revision,
            create_pr=create_pr,
        )
    assert refs == [ref]
    landed = hub.git.resolve(("dataset", REPO), info.oid).tree["blob.bin"]
    assert landed.lfs_sha256 == hashlib.sha256(bytes(range(256)) * 8).hexdigest()


# --- .gitignore ---------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_without_a_gitignore_in_the_commit_the_repos_own_decides_what_is_ignored() -> None:
    """A commit that carries no .gitignore leaves the choice to the one the repo already has: the files it
    names are ignored."""
    hub = _dataset_hub()
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=hub.transport()) as client:
        await client.upload_file(
            path_or_fileobj=b"*.log\n", path_in_repo=".gitignore", repo_id=REPO, repo_type="dataset"
        )
        await client.create_commit(
            REPO,
            [CommitOperationAdd("run.log", b"noise"), CommitOperationAdd("app.py", b"print(1)\n")],
            commit_message="app",
            repo_type="dataset",
        )
    assert _tree(hub) == [".gitattributes", ".gitignore", "app.py"]


@pytest.mark.anyio
async def test_a_gitignore_that_is_not_utf8_still_decides_what_is_ignored() -> None:
    """A .gitignore in the commit with bytes that are not UTF-8 is still sent (those bytes replaced) and its
    readable patterns make the Hub ignore the files they name."""
    hub = _dataset_hub()
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=hub.transport()) as client:
        await client.create_commit(
            REPO,
            [
                CommitOperationAdd(".gitignore", b"# caf\xe9\n*.log\n"),
                CommitOperationAdd("run.log", b"noise"),
                CommitOperationAdd("app.py", b"print(1)\n"),
            ],
            commit_message="app",
            repo_type="dataset",
        )
    assert _tree(hub) == [".gitattributes", ".gitignore", "app.py"]


@pytest.mark.anyio
async def test_upload_folder_uploads_at_most_five_lfs_files_at_once(tmp_path: Path) -> None:
    """upload_folder uploads at most five LFS files at once (create_commit's default num_threads, as in
    huggingface_hub), and every file lands."""
    hub = _dataset_hub()
    inner = hub.transport()
    state = {"inflight": 0, "most": 0}
    crowded = anyio.Event()

    class Counting(httpx2.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            if request.method != "PUT":
                return await inner.handle_async_request(request)
            state["inflight"] += 1
            state["most"] = max(state["most"], state["inflight"])
            if state["inflight"] > 5:
                crowded.set()
            with anyio.move_on_after(0.5):  # give a sixth upload the chance to start alongside
                await crowded.wait()
            try:
                return await inner.handle_async_request(request)
            finally:
                state["inflight"] -= 1

    for i in range(7):
        (tmp_path / f"w{i}.bin").write_bytes(bytes([i]) + bytes(range(256)) * 8)
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=Counting()) as client:
        await client.upload_folder(repo_id=REPO, repo_type="dataset", folder_path=tmp_path)
    assert 1 <= state["most"] <= 5
    assert _tree(hub) == [".gitattributes", *(f"w{i}.bin" for i in range(7))]
