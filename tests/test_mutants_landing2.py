"""Finding a commit whose answer was lost, as a caller sees it through the client and the simulated Hub (the
pure part's edges are in test_mutants_landing.py): operations that undo each other within one commit, paths
the Hub lists as they are, a same-titled commit of someone else, the pull request listing, malformed lookup
answers reaching the caller (asyncio and trio)."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx2
import pytest

from aiospaces import RetryPolicy, SpacesClient
from aiospaces._commit_models import CommitOperation, CommitOperationAdd, CommitOperationDelete
from aiospaces.errors import UnexpectedResponseError
from aiospaces.hubsim import SimulatedHub

TOKEN = "hf_alice_mutants_landing"
ENDPOINT = "https://hub.local"
SPACE = "alice/app"
KEY = ("space", SPACE)
COMMIT_ROUTE = "POST /api/{type}s/{id}/commit/{rev}"
FAST = RetryPolicy(max_attempts=4, base_delay=0.001, max_delay=0.002)


def _is_commit(request: httpx2.Request) -> bool:
    return request.method == "POST" and "/commit/" in request.url.path


class _Wire(httpx2.AsyncBaseTransport):
    """Between the client and the simulator: loses the answer of the first `lose` commit requests once the Hub
    applied them, answers a proxy's 502 to the first `refuse` (never forwarded), runs `before_commit` before
    each commit request reaches the Hub, and passes every other answer through `rewrite` (method, path,
    decoded JSON body → the JSON body to answer)."""

    def __init__(
        self,
        inner: httpx2.AsyncBaseTransport,
        *,
        lose: int = 0,
        refuse: int = 0,
        before_commit: Callable[[], None] | None = None,
        rewrite: Callable[[str, str, object], object] | None = None,
    ) -> None:
        self.inner = inner
        self.lose = lose
        self.refuse = refuse
        self.before_commit = before_commit
        self.rewrite = rewrite

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if _is_commit(request):
            if self.before_commit is not None:
                self.before_commit()
            if self.refuse:
                self.refuse -= 1
                return httpx2.Response(502, headers={"Content-Type": "text/html"}, content=b"502 Bad Gateway")
            if self.lose:
                self.lose -= 1
                response = await self.inner.handle_async_request(request)
                await response.aread()
                raise httpx2.ReadError("[Errno 104] Connection reset by peer", request=request)
        response = await self.inner.handle_async_request(request)
        if self.rewrite is None or _is_commit(request):
            return response
        body = await response.aread()
        if not response.headers.get("content-type", "").startswith("application/json"):
            return response
        payload = self.rewrite(request.method, request.url.path, json.loads(body))
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in ("content-length",)]
        return httpx2.Response(response.status_code, headers=headers, json=payload)


@pytest.fixture
def hub() -> SimulatedHub:
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token=TOKEN)
    hub.create_space(SPACE, files={"app.py": b"print('v1')\n", "docs/INDEX": b"toc\n"})
    return hub


def _titles(hub: SimulatedHub) -> list[str]:
    return [record.title for record in hub.git.history(KEY, "main")]


def _client(wire: httpx2.AsyncBaseTransport) -> SpacesClient:
    return SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=wire, retry=FAST)


async def _commit_with_lost_answer(hub: SimulatedHub, operations: list[CommitOperation], title: str) -> str:
    """Commit `operations` through a wire that loses the commit's answer; check it landed exactly once, as the
    sha reported; return that sha."""
    before = _titles(hub)
    async with _client(_Wire(hub.transport(), lose=1)) as client:
        info = await client.create_commit(SPACE, operations, commit_message=title, repo_type="space")
    assert _titles(hub) == [title, *before]
    assert info.oid == hub.git.resolve(KEY, "main").sha
    assert hub.counters.requests[COMMIT_ROUTE] == 1
    return info.oid


@pytest.mark.anyio
async def test_a_lost_commit_that_replaces_a_file_is_found_not_sent_again(hub: SimulatedHub) -> None:
    """A commit that deletes a file and adds it back with new content, whose answer was lost, is found on the
    branch (the file exists: the later addition wins) and is not committed a second time."""
    await _commit_with_lost_answer(
        hub,
        [CommitOperationDelete("app.py"), CommitOperationAdd("app.py", b"print('v2')\n")],
        "Replace app.py",
    )
    assert hub.git.read_file(KEY, "app.py") == b"print('v2')\n"


@pytest.mark.anyio
async def test_a_lost_commit_that_adds_files_then_deletes_their_folder_is_found(hub: SimulatedHub) -> None:
    """A commit that adds files into a folder and then deletes that folder (the Hub applies its operations in
    order, so they are gone), whose answer was lost, is found and not committed a second time."""
    await _commit_with_lost_answer(
        hub,
        [
            CommitOperationAdd("scratch/a.txt", b"a"),
            CommitOperationAdd("scratch/b/c.txt", b"c"),
            CommitOperationAdd("kept.txt", b"kept"),
            CommitOperationDelete("scratch/"),
        ],
        "Scratch and keep",
    )
    assert sorted(path for path in hub.git.list_files(KEY) if not path.startswith(".")) == [
        "README.md",
        "app.py",
        "docs/INDEX",
        "kept.txt",
    ]


@pytest.mark.parametrize("path", ["XGBoost/model.json", "notes ", " notes", "docs/APPENDIX"])
@pytest.mark.anyio
async def test_a_lost_commit_is_found_whatever_characters_its_paths_begin_or_end_with(
    hub: SimulatedHub, path: str
) -> None:
    """A lost commit adding a file whose path begins or ends with a letter X or a space is found (the Hub
    lists the path exactly as it was written) and not committed a second time."""
    await _commit_with_lost_answer(hub, [CommitOperationAdd(path, b"{}\n")], "Add a file")


@pytest.mark.anyio
async def test_a_refused_commit_is_resent_past_a_same_titled_one_that_kept_a_file_it_deletes(
    hub: SimulatedHub,
) -> None:
    """When a proxy refused the commit and someone else meanwhile committed the same title and the same new
    file but kept the file this commit deletes, that commit is not taken for this one: this one is resent
    and lands, and the file is gone."""
    new_app = b"print('v2')\n"
    done: list[bool] = []

    def someone_else_commits_the_same_update() -> None:
        if not done:
            done.append(True)
            hub.git.commit(KEY, additions={"app.py": new_app}, message="Release v2", author="bob")

    wire = _Wire(hub.transport(), refuse=1, before_commit=someone_else_commits_the_same_update)
    async with _client(wire) as client:
        info = await client.create_commit(
            SPACE,
            [CommitOperationAdd("app.py", new_app), CommitOperationDelete("docs/INDEX")],
            commit_message="Release v2",
            repo_type="space",
        )
    head = hub.git.resolve(KEY, "main")
    assert info.oid == head.sha
    assert _titles(hub)[:2] == ["Release v2", "Release v2"]
    assert "docs/INDEX" not in hub.git.list_files(KEY)


@pytest.mark.anyio
async def test_a_lost_pull_request_is_found_past_an_unreadable_entry_of_the_refs_answer(
    hub: SimulatedHub,
) -> None:
    """With create_pr, a pull request whose answer was lost is found even when the refs answer lists an entry
    it cannot read before it: one pull request, reported with its number."""

    def junk_first(method: str, path: str, payload: object) -> object:
        if path.endswith("/refs") and isinstance(payload, dict):
            return {**payload, "pullRequests": [None, *payload.get("pullRequests", [])]}
        return payload

    async with _client(_Wire(hub.transport(), lose=1, rewrite=junk_first)) as client:
        info = await client.upload_file(
            path_or_fileobj=b"print('pr')\n",
            path_in_repo="app.py",
            repo_id=SPACE,
            repo_type="space",
            create_pr=True,
        )
    refs = hub.git.branches(KEY)
    assert [ref for ref in refs if ref.startswith("refs/pr/")] == ["refs/pr/1"]
    assert info.oid == refs["refs/pr/1"]
    assert info.pr_num == 1
    assert hub.counters.requests[COMMIT_ROUTE] == 1


@pytest.mark.anyio
async def test_a_refs_answer_that_is_not_an_object_is_an_unexpected_response(hub: SimulatedHub) -> None:
    """With create_pr, a refs answer that is not a JSON object raises UnexpectedResponseError naming the
    'pullRequests' list it lacks, before any commit is sent."""

    def a_list(method: str, path: str, payload: object) -> object:
        return [] if path.endswith("/refs") else payload

    async with _client(_Wire(hub.transport(), rewrite=a_list)) as client:
        with pytest.raises(UnexpectedResponseError, match="'pullRequests'"):
            await client.upload_file(
                path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=SPACE, repo_type="space", create_pr=True
            )
    assert hub.counters.requests[COMMIT_ROUTE] == 0


@pytest.mark.parametrize("listing", [{"commits": []}, [{"title": "no id"}]])
@pytest.mark.anyio
async def test_a_malformed_commit_listing_during_the_lookup_says_so(
    hub: SimulatedHub, listing: object
) -> None:
    """When the commit listing read to look for a lost commit is not a list, or lists a commit without an id,
    the caller gets an UnexpectedResponseError saying the commit listing is malformed."""

    def malformed(method: str, path: str, payload: object) -> object:
        return listing if method == "GET" and "/commits/" in path else payload

    async with _client(_Wire(hub.transport(), lose=1, rewrite=malformed)) as client:
        with pytest.raises(UnexpectedResponseError, match=r"(?i)malformed commit listing"):
            await client.upload_file(
                path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=SPACE, repo_type="space"
            )
