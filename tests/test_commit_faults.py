"""Commits under network faults between the client and the simulated Hub: each lands exactly once, and one is
reported failed only when it is not in the repo (on asyncio and trio)."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import anyio
import httpx2
import pytest

from aiospaces import RetryPolicy, SpacesClient
from aiospaces._commit_models import CommitOperationAdd, CommitOperationDelete
from aiospaces.errors import CommitConflictError, ServerError, SpacesError, UnexpectedResponseError
from aiospaces.hubsim import SimulatedHub

TOKEN = "hf_alice_commits"
ENDPOINT = "https://hub.local"
COMMIT_ROUTE = "POST /api/{type}s/{id}/commit/{rev}"
# Eight attempts: a request failing 8 times in a row (1e-8 at 10%) would fail a commit the test expects done.
FAST = RetryPolicy(max_attempts=8, base_delay=0.001, max_delay=0.004)

# The three ways a request fails between a client and the Hub: a proxy answers 502 without forwarding it, the
# Hub applies it and the answer is lost on the way back, the connection is refused.
PROXY_502 = "proxy_502"
ANSWER_LOST = "answer_lost"
REFUSED = "refused"
KINDS = (PROXY_502, ANSWER_LOST, REFUSED)


def _is_commit(request: httpx2.Request) -> bool:
    return request.method == "POST" and "/commit/" in request.url.path


class _Faults(httpx2.AsyncBaseTransport):
    """Wraps the simulator's transport and fails requests: a `rate` of those `match` accepts, each in one of
    the three ways drawn from a seeded RNG, or those in `script` order (then none)."""

    def __init__(
        self,
        inner: httpx2.AsyncBaseTransport,
        *,
        rate: float = 0.0,
        seed: int = 0,
        match: Callable[[httpx2.Request], bool] = lambda request: True,
        script: list[str] | None = None,
        on_fault: Callable[[str], None] | None = None,
    ) -> None:
        self.inner = inner
        self.rate = rate
        self.rng = random.Random(seed)
        self.match = match
        self.script = list(script or ())
        self.on_fault = on_fault
        self.injected: Counter[tuple[str, bool]] = Counter()  # (kind, was it a commit request)
        self.requests = 0

    def _draw(self, request: httpx2.Request) -> str | None:
        if not self.match(request):
            return None
        if self.script:
            return self.script.pop(0)
        if self.rate and self.rng.random() < self.rate:
            return self.rng.choice(KINDS)
        return None

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests += 1
        kind = self._draw(request)
        if kind is None:
            return await self.inner.handle_async_request(request)
        self.injected[kind, _is_commit(request)] += 1
        if kind == REFUSED:
            raise httpx2.ConnectError("[Errno 111] Connection refused", request=request)
        if kind == PROXY_502:
            page = b"<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway</body></html>"
            return httpx2.Response(502, headers={"Content-Type": "text/html"}, content=page)
        assert kind == ANSWER_LOST
        response = await self.inner.handle_async_request(request)
        await response.aread()
        await response.aclose()
        if self.on_fault is not None:
            self.on_fault(kind)
        raise httpx2.ReadError("[Errno 104] Connection reset by peer", request=request)


def _history(hub: SimulatedHub, repo_id: str, revision: str = "main") -> list[tuple[str, str]]:
    """(sha, title) of every commit on `revision`, newest first, read from the simulator's store."""
    return [(record.sha, record.title) for record in hub.git.history(("space", repo_id), revision)]


@pytest.fixture
def hub() -> SimulatedHub:
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token=TOKEN)
    return hub


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    (site / "static").mkdir(parents=True)
    (site / "index.html").write_bytes(b"<h1>hello</h1>\n")
    (site / "static" / "logo.png").write_bytes(bytes(range(256)) * 4)  # binary: the Hub takes it through LFS
    return site


async def _one_commit(client: SpacesClient, hub: SimulatedHub, repo_id: str, index: int, folder: Path) -> str:
    """One commit on `repo_id` through one of the SDK's commit paths (chosen by `index`); returns its sha."""
    kind = index % 5
    if kind == 0:
        info = await client.upload_file(
            path_or_fileobj=f"print({index})\n".encode(),
            path_in_repo="app.py",
            repo_id=repo_id,
            repo_type="space",
            commit_message="Update app.py",
        )
    elif kind == 1:
        info = await client.create_commit(
            repo_id,
            [
                CommitOperationAdd("config.json", f'{{"replica": {index}}}\n'.encode()),
                CommitOperationDelete("README.md"),
            ],
            commit_message="Replace the README by a config",
            repo_type="space",
        )
    elif kind == 2:
        info = await client.upload_folder(
            repo_id=repo_id,
            folder_path=folder,
            path_in_repo=f"site-{index}",
            repo_type="space",
            commit_message="Upload the site",
        )
    elif kind == 3:
        info = await client.create_commit(
            repo_id,
            [CommitOperationDelete("README.md")],
            commit_message="Delete the README",
            repo_type="space",
        )
    else:
        head = _history(hub, repo_id)[0][0]
        info = await client.upload_file(
            path_or_fileobj=f"gradio=={index}\n".encode(),
            path_in_repo="requirements.txt",
            repo_id=repo_id,
            repo_type="space",
            commit_message="Pin gradio",
            parent_commit=head,
        )
    return info.oid


async def _commit_everywhere(
    client: SpacesClient, hub: SimulatedHub, repo_ids: list[str], folder: Path
) -> dict[str, str | SpacesError]:
    outcomes: dict[str, str | SpacesError] = {}
    limiter = anyio.CapacityLimiter(32)

    async def one(index: int, repo_id: str) -> None:
        async with limiter:
            try:
                outcomes[repo_id] = await _one_commit(client, hub, repo_id, index, folder)
            except SpacesError as exc:
                outcomes[repo_id] = exc

    async with anyio.create_task_group() as tg:
        for index, repo_id in enumerate(repo_ids):
            tg.start_soon(one, index, repo_id)
    return outcomes


def _check_outcomes(
    hub: SimulatedHub, before: dict[str, int], outcomes: dict[str, str | SpacesError]
) -> tuple[int, int]:
    """Assert that each reported commit is the one new commit of its Space and that each Space reported failed
    has none; return (succeeded, failed)."""
    succeeded = failed = 0
    for repo_id, outcome in outcomes.items():
        history = _history(hub, repo_id)
        new = history[: len(history) - before[repo_id]]
        if isinstance(outcome, SpacesError):
            failed += 1
            assert new == [], f"{repo_id} was reported failed ({outcome!r}) but holds {new}"
        else:
            succeeded += 1
            assert [sha for sha, _title in new] == [outcome], f"{repo_id}: reported {outcome}, holds {new}"
    return succeeded, failed


@pytest.mark.anyio
async def test_three_hundred_spaces_get_exactly_one_commit_each_with_a_tenth_of_requests_failing(
    hub: SimulatedHub, folder: Path
) -> None:
    """With 10% of all requests failing (a proxy's 502 that never reached the Hub, an answer lost after the
    Hub applied the request, a refused connection; seeded), each of 300 Spaces gets exactly one commit through
    upload_file, create_commit (adds and deletes), upload_folder (with LFS) or a parent_commit upload, and
    each commit is reported with its own sha."""
    repo_ids = [f"alice/space-{index:03d}" for index in range(300)]
    for repo_id in repo_ids:
        hub.create_space(repo_id)
    before = {repo_id: len(_history(hub, repo_id)) for repo_id in repo_ids}
    faults = _Faults(hub.transport(), rate=0.10, seed=20261206)
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=faults, retry=FAST) as client:
        outcomes = await _commit_everywhere(client, hub, repo_ids, folder)

    succeeded, failed = _check_outcomes(hub, before, outcomes)
    assert (succeeded, failed) == (300, 0), [o for o in outcomes.values() if isinstance(o, SpacesError)][:3]
    # Every kind of fault hit commit requests themselves, not only the reads and uploads around them.
    assert all(faults.injected[kind, True] > 0 for kind in KINDS), faults.injected
    assert 0.07 < sum(faults.injected.values()) / faults.requests < 0.13


@pytest.mark.anyio
async def test_a_commit_is_reported_failed_only_when_it_is_not_in_the_repo(
    hub: SimulatedHub, folder: Path
) -> None:
    """With most commit requests failing and only two attempts allowed, some commits fail and some succeed:
    every one reported failed is absent from its Space, every one reported done is its Space's one new
    commit."""
    repo_ids = [f"alice/space-{index:03d}" for index in range(60)]
    for repo_id in repo_ids:
        hub.create_space(repo_id)
    before = {repo_id: len(_history(hub, repo_id)) for repo_id in repo_ids}
    faults = _Faults(hub.transport(), rate=0.7, seed=7, match=_is_commit)
    retry = RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.004)
    async with SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=faults, retry=retry) as client:
        outcomes = await _commit_everywhere(client, hub, repo_ids, folder)

    succeeded, failed = _check_outcomes(hub, before, outcomes)
    assert succeeded > 0, (succeeded, failed)
    assert failed > 0, (succeeded, failed)
    assert faults.injected[ANSWER_LOST, True] > 0


# --- one fault at a time ---------------------------------------------------------------------------------


REPO = "alice/app"


@pytest.fixture
def space(hub: SimulatedHub) -> str:
    hub.create_space(REPO)
    return REPO


def _client(transport: httpx2.AsyncBaseTransport, retry: RetryPolicy | bool = FAST) -> SpacesClient:
    return SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=transport, retry=retry)


@pytest.mark.anyio
async def test_a_commit_a_proxy_refused_is_sent_again(hub: SimulatedHub, space: str) -> None:
    """A 502 from a proxy on the commit request (the Hub never saw it) leads to one resend: one commit."""
    before = _history(hub, space)
    async with _client(_Faults(hub.transport(), match=_is_commit, script=[PROXY_502])) as client:
        info = await client.upload_file(
            path_or_fileobj=b"print(1)\n", path_in_repo="app.py", repo_id=space, repo_type="space"
        )
    after = _history(hub, space)
    assert after[1:] == before
    assert after[0][0] == info.oid
    assert hub.counters.requests[COMMIT_ROUTE] == 1


@pytest.mark.anyio
async def test_a_commit_whose_answer_was_lost_is_found_not_sent_again(hub: SimulatedHub, space: str) -> None:
    """When the Hub applied the commit but the answer was lost, the commit is found on the branch and
    returned; it is not sent again."""
    before = _history(hub, space)
    async with _client(_Faults(hub.transport(), match=_is_commit, script=[ANSWER_LOST])) as client:
        info = await client.upload_file(
            path_or_fileobj=b"print(1)\n", path_in_repo="app.py", repo_id=space, repo_type="space"
        )
    after = _history(hub, space)
    assert after[1:] == before
    assert after[0][0] == info.oid
    assert info.commit_url == f"{ENDPOINT}/spaces/{space}/commit/{info.oid}"
    assert hub.counters.requests[COMMIT_ROUTE] == 1


@pytest.mark.anyio
async def test_parent_commit_whose_answer_was_lost_is_not_reported_as_a_conflict(
    hub: SimulatedHub, space: str
) -> None:
    """A conditional commit (parent_commit) that landed but whose answer was lost is reported done, not as the
    412 its resend would get."""
    head = _history(hub, space)[0][0]
    async with _client(_Faults(hub.transport(), match=_is_commit, script=[ANSWER_LOST])) as client:
        info = await client.upload_file(
            path_or_fileobj=b"x\n", path_in_repo="x.txt", repo_id=space, repo_type="space", parent_commit=head
        )
    after = _history(hub, space)
    assert after[0][0] == info.oid
    assert after[1][0] == head


@pytest.mark.anyio
async def test_a_real_conflict_after_a_refused_attempt_is_still_a_conflict(
    hub: SimulatedHub, space: str
) -> None:
    """If the first attempt of a parent_commit commit never reached the Hub and someone else committed
    meanwhile, the resend's 412 is raised as a conflict and the commit is not in the repo."""
    head = _history(hub, space)[0][0]
    committed = []

    def someone_else_commits(request: httpx2.Request) -> bool:
        if _is_commit(request) and not committed:
            hub.git.commit(
                ("space", space), additions={"other.txt": b"theirs"}, message="theirs", author="bob"
            )
            committed.append(True)
        return _is_commit(request)

    faults = _Faults(hub.transport(), match=someone_else_commits, script=[PROXY_502])
    async with _client(faults) as client:
        with pytest.raises(CommitConflictError):
            await client.upload_file(
                path_or_fileobj=b"x\n",
                path_in_repo="x.txt",
                repo_id=space,
                repo_type="space",
                parent_commit=head,
            )
    history = _history(hub, space)
    assert history[0][1] == "theirs"
    assert history[1][0] == head
    assert "x.txt" not in hub.git.list_files(("space", space))


@pytest.mark.anyio
async def test_a_delete_whose_answer_was_lost_is_reported_done(hub: SimulatedHub, space: str) -> None:
    """A delete-only commit that landed without an answer is found (not resent into a 404 for the missing
    file)."""
    async with _client(_Faults(hub.transport(), match=_is_commit, script=[ANSWER_LOST])) as client:
        info = await client.create_commit(
            space, [CommitOperationDelete("README.md")], commit_message="Delete README", repo_type="space"
        )
    assert _history(hub, space)[0] == (info.oid, "Delete README")
    assert hub.counters.requests[COMMIT_ROUTE] == 1


@pytest.mark.anyio
async def test_the_commit_is_told_apart_from_others_with_the_same_title(
    hub: SimulatedHub, space: str
) -> None:
    """Someone else's commit with the same title just before it and another commit right after it do not
    confuse the search: the commit found is the one holding this content, at its own sha."""
    key = ("space", space)
    base = _history(hub, space)[0][0]

    def around(request: httpx2.Request) -> bool:
        if _is_commit(request):
            hub.git.commit(
                key, additions={"app.py": b"print('theirs')\n"}, message="Update app.py", author="bob"
            )
        return _is_commit(request)

    def after_ours(kind: str) -> None:
        hub.git.commit(key, additions={"notes.txt": b"later"}, message="Notes", author="bob")

    faults = _Faults(hub.transport(), match=around, script=[ANSWER_LOST], on_fault=after_ours)
    async with _client(faults) as client:
        info = await client.upload_file(
            path_or_fileobj=b"print('ours')\n",
            path_in_repo="app.py",
            repo_id=space,
            repo_type="space",
            commit_message="Update app.py",
        )
    history = _history(hub, space)
    assert [title for _sha, title in history[:3]] == ["Notes", "Update app.py", "Update app.py"]
    assert history[3][0] == base
    assert info.oid == history[1][0]  # ours: after theirs, before the notes
    assert hub.counters.requests[COMMIT_ROUTE] == 1


@pytest.mark.anyio
async def test_a_pull_request_whose_answer_was_lost_is_found(hub: SimulatedHub, space: str) -> None:
    """With create_pr, a commit whose answer was lost is found as the pull request it opened: one pull
    request, reported with its number."""
    async with _client(_Faults(hub.transport(), match=_is_commit, script=[ANSWER_LOST])) as client:
        info = await client.upload_file(
            path_or_fileobj=b"print(2)\n",
            path_in_repo="app.py",
            repo_id=space,
            repo_type="space",
            create_pr=True,
        )
    refs = hub.git.branches(("space", space))
    assert [ref for ref in refs if ref.startswith("refs/pr/")] == ["refs/pr/1"]
    assert info.oid == refs["refs/pr/1"]
    assert info.pr_num == 1
    assert hub.counters.requests[COMMIT_ROUTE] == 1


@pytest.mark.anyio
async def test_without_retries_a_lost_answer_is_still_checked(hub: SimulatedHub, space: str) -> None:
    """With retries disabled, a commit whose answer was lost is looked up once and reported done, while one a
    proxy refused is reported failed and is not in the repo."""
    before = _history(hub, space)
    script = [ANSWER_LOST, PROXY_502]
    async with _client(_Faults(hub.transport(), match=_is_commit, script=script), retry=False) as client:
        info = await client.upload_file(
            path_or_fileobj=b"a\n", path_in_repo="a.txt", repo_id=space, repo_type="space"
        )
        with pytest.raises(ServerError):
            await client.upload_file(
                path_or_fileobj=b"b\n", path_in_repo="b.txt", repo_id=space, repo_type="space"
            )
    after = _history(hub, space)
    assert after[1:] == before
    assert after[0][0] == info.oid
    assert "b.txt" not in hub.git.list_files(("space", space))


class _SlowHub(httpx2.AsyncBaseTransport):
    """A gateway that answers 504 to the first commit request while the Hub is still applying it: the commit
    lands only when the next commit request arrives, just before that one."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.held: httpx2.Request | None = None
        self.commits = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if not _is_commit(request):
            return await self.inner.handle_async_request(request)
        self.commits += 1
        if self.commits == 1:
            await request.aread()
            self.held = request
            return httpx2.Response(
                504, headers={"Content-Type": "text/html"}, content=b"504 Gateway Time-out"
            )
        if self.held is not None:
            held, self.held = self.held, None
            applied = await self.inner.handle_async_request(held)
            await applied.aread()
        return await self.inner.handle_async_request(request)


@pytest.mark.anyio
async def test_a_commit_landing_late_is_not_committed_twice(hub: SimulatedHub, space: str) -> None:
    """A commit the Hub was still applying when the lookup ran (a gateway timeout) and that lands just
    before the resend makes that resend refused (it names the head the lookup read), and it is then found:
    one commit."""
    before = _history(hub, space)
    async with _client(_SlowHub(hub.transport())) as client:
        info = await client.upload_file(
            path_or_fileobj=b"print('late')\n", path_in_repo="app.py", repo_id=space, repo_type="space"
        )
    after = _history(hub, space)
    assert after[1:] == before
    assert after[0][0] == info.oid
    assert hub.counters.requests[COMMIT_ROUTE] == 2  # the late one, and the refused resend


@pytest.mark.anyio
async def test_a_resend_overtaken_by_someone_else_still_lands_once(hub: SimulatedHub, space: str) -> None:
    """When someone else commits between the lookup and the resend (the resend's parent is then stale), the
    commit is sent once more without a parent, as the caller asked: it lands once, on top of theirs."""
    key = ("space", space)
    base = _history(hub, space)[0][0]
    commits = []

    def someone_else_before_the_resend(request: httpx2.Request) -> bool:
        if _is_commit(request):
            commits.append(request)
            if len(commits) == 2:
                hub.git.commit(key, additions={"theirs.txt": b"theirs"}, message="theirs", author="bob")
        return _is_commit(request)

    faults = _Faults(hub.transport(), match=someone_else_before_the_resend, script=[PROXY_502])
    async with _client(faults) as client:
        info = await client.upload_file(
            path_or_fileobj=b"ours\n", path_in_repo="ours.txt", repo_id=space, repo_type="space"
        )
    history = _history(hub, space)
    assert [title for _sha, title in history[:2]] == ["Upload ours.txt with aiospaces", "theirs"]
    assert history[0][0] == info.oid
    assert history[2][0] == base
    assert len(commits) == 3  # refused by the proxy, refused for its stale parent, landed


class _LookupsRefused(httpx2.AsyncBaseTransport):
    """Loses the answer of the first commit request (the Hub applied it), then refuses the connection for the
    next `refused` reads of the commit listing."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, refused: int) -> None:
        self.inner = inner
        self.refused = refused
        self.lost = False

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if _is_commit(request) and not self.lost:
            self.lost = True
            response = await self.inner.handle_async_request(request)
            await response.aread()
            raise httpx2.ReadError("[Errno 104] Connection reset by peer", request=request)
        if request.method == "GET" and "/commits/" in request.url.path and self.refused > 0:
            self.refused -= 1
            raise httpx2.ConnectError("[Errno 111] Connection refused", request=request)
        return await self.inner.handle_async_request(request)


@pytest.mark.anyio
async def test_a_lookup_that_cannot_reach_the_hub_is_tried_again_before_reporting(
    hub: SimulatedHub, space: str
) -> None:
    """When the lookup after a lost answer cannot reach the Hub, one more lookup runs before anything is
    reported: the commit is found and reported done, not failed."""
    before = _history(hub, space)
    async with _client(_LookupsRefused(hub.transport(), refused=FAST.max_attempts)) as client:
        info = await client.upload_file(
            path_or_fileobj=b"print(3)\n", path_in_repo="app.py", repo_id=space, repo_type="space"
        )
    after = _history(hub, space)
    assert after[1:] == before
    assert after[0][0] == info.oid
    assert hub.counters.requests[COMMIT_ROUTE] == 1


@pytest.mark.anyio
async def test_a_commit_buried_under_pages_of_others_is_found(hub: SimulatedHub, space: str) -> None:
    """When 120 other commits land after it (more than two pages of the commit listing), the lookup follows
    the listing's pages down to the head read before sending and still finds the commit: not resent."""
    key = ("space", space)

    def many_after_ours(kind: str) -> None:
        for number in range(120):
            hub.git.commit(key, additions={f"n/{number}.txt": b"%d" % number}, message="noise", author="bob")

    faults = _Faults(hub.transport(), match=_is_commit, script=[ANSWER_LOST], on_fault=many_after_ours)
    async with _client(faults) as client:
        info = await client.upload_file(
            path_or_fileobj=b"print(4)\n", path_in_repo="app.py", repo_id=space, repo_type="space"
        )
    history = _history(hub, space)
    assert history[120][0] == info.oid
    assert history[120][1] == "Upload app.py with aiospaces"
    assert hub.counters.requests[COMMIT_ROUTE] == 1
    assert hub.counters.requests["GET /api/{type}s/{id}/commits/{rev}"] >= 3


class _AnswerWithout(httpx2.AsyncBaseTransport):
    """Passes every request to the Hub, and removes `field` from the JSON of the commit answers."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, field: str) -> None:
        self.inner = inner
        self.field = field

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        if not _is_commit(request):
            return response
        payload = json.loads(await response.aread())
        payload.pop(self.field, None)
        return httpx2.Response(
            response.status_code, headers={"Content-Type": "application/json"}, json=payload
        )


@pytest.mark.anyio
@pytest.mark.parametrize("field", ["commitOid", "commitUrl"])
@pytest.mark.parametrize("create_pr", [False, True])
async def test_a_commit_the_hub_accepted_with_a_malformed_answer_is_found_not_failed(
    hub: SimulatedHub, space: str, field: str, create_pr: bool
) -> None:
    """A commit the Hub accepted (200) with an answer missing its sha or URL is looked up and reported as the
    commit it made (on the branch, or as the pull request it opened), not as a failure the caller would
    retry into a second commit."""
    before = _history(hub, space)
    async with _client(_AnswerWithout(hub.transport(), field)) as client:
        info = await client.upload_file(
            path_or_fileobj=b"print('ok')\n",
            path_in_repo="app.py",
            repo_id=space,
            repo_type="space",
            create_pr=create_pr,
        )
    if create_pr:
        assert info.oid == hub.git.branches(("space", space))["refs/pr/1"]
        assert info.pr_num == 1
    else:
        after = _history(hub, space)
        assert after[1:] == before
        assert after[0][0] == info.oid
        assert info.commit_url == f"{ENDPOINT}/spaces/{space}/commit/{info.oid}"
    assert hub.counters.requests[COMMIT_ROUTE] == 1


@pytest.mark.anyio
async def test_a_malformed_answer_for_a_commit_not_in_the_repo_is_an_unexpected_response(
    hub: SimulatedHub, space: str
) -> None:
    """A 200 commit answer without a sha, for a commit the lookup does not find, is reported as the Hub's
    malformed answer (nothing landed that the caller could commit twice)."""

    class _Pretend(httpx2.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            if _is_commit(request):
                return httpx2.Response(200, json={"success": True})
            return await hub.transport().handle_async_request(request)

    before = _history(hub, space)
    async with _client(_Pretend()) as client:
        with pytest.raises(UnexpectedResponseError, match="commitOid"):
            await client.upload_file(
                path_or_fileobj=b"print('no')\n", path_in_repo="app.py", repo_id=space, repo_type="space"
            )
    assert _history(hub, space) == before
