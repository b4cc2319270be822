"""Files: commits, uploads and downloads (preupload, NDJSON commit, LFS batch, resolve).

The wire payloads are built and parsed in `_commit_models.py`; this module only sends them (design.md §6:
build → send → parse). Flow and formats: hub-api.md §11 (uploads) and §12 (downloads), checked against
huggingface_hub 2.4.0 (`hf_api.create_commit`, `_commit_api.py`, `lfs.py`, `file_download.py`).

Memory stays flat for large files: they are hashed in one streamed pass in a worker thread, uploaded from
disk chunk by chunk (an async iterable that re-opens the file, so a retried request can re-send it), and
downloaded chunk by chunk into a temporary file that is renamed into place once its size is checked.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeVar

import anyio
import anyio.to_thread
import attrs
import httpx2

from . import errors
from ._commit_landing import (
    MAX_HISTORY_PAGES,
    PATHS_INFO_BATCH,
    CommitEntry,
    Expected,
    base_index,
    expected_state,
    landing_candidates,
    parse_commits_page,
    preupload_head,
    pull_request_refs,
    title_matches,
    tree_holds,
)
from ._commit_models import (
    COMMIT_HASH_RE,
    DEFAULT_IGNORE_PATTERNS,
    HASH_CHUNK,
    LFS_BATCH,
    LFS_HEADERS,
    NDJSON_CONTENT_TYPE,
    PREUPLOAD_BATCH,
    SHA256_RE,
    CommitOperation,
    CommitOperationAdd,
    CommitOperationDelete,
    LfsAction,
    apply_preupload,
    commit_body,
    commit_lines,
    drop_noops,
    filter_paths,
    lfs_batch_payload,
    multipart_completion_payload,
    normalize_etag,
    parse_commit_response,
    parse_lfs_batch_response,
    parse_preupload_response,
    pattern_list,
    preupload_payload,
    repo_folder_name,
    validate_operations,
)
from ._core import _is_ambiguous
from ._retry import Failure, Outcome, Retrying, RetryPolicy
from ._session import Session
from ._wire import api_repo_path, json_body, lfs_batch_path, quote_revision, repo_web_url, resolve_path
from .models import CommitInfo
from .validation import (
    resolve_repo_type,
    validate_bool,
    validate_concurrency,
    validate_filename,
    validate_optional_str,
    validate_parent_commit,
    validate_path_in_repo,
    validate_repo_id,
    validate_revision,
    validate_seconds,
)

_T = TypeVar("_T")

logger = logging.getLogger("aiospaces")

# Errors after which `hf_hub_download` may serve a cached copy instead (the official client does the same
# for connection errors, timeouts and 5xx, file_download.py `_get_metadata_or_catch_error`).
_OFFLINE_ERRORS: tuple[type[BaseException], ...] = (
    errors.TransportError,
    errors.ServerError,
    errors.RateLimitedError,
    errors.OfflineModeError,
)


_MAX_RESUMES = 5  # resumptions of a download cut mid-stream (huggingface_hub's `http_get`)
_RESUME_POLICY = RetryPolicy(max_attempts=_MAX_RESUMES + 1, base_delay=1.0, max_delay=8.0)


class _Interrupted(Exception):
    """A download's body was cut off after the status line: resumed from the bytes received."""

    def __init__(self, cause: errors.TransportError) -> None:
        super().__init__(str(cause))
        self.reason = str(cause)


def _resumable(exc: Exception) -> Failure | None:
    return Failure(Outcome.NO_ANSWER, exc.reason) if isinstance(exc, _Interrupted) else None


# An ETag fit to be a file name in the cache: git sha-1 / sha-256 hex on the Hub, tolerant of other storage
# ids (letters, digits, `-`, `_`, inner dots), never a path.
_MAX_RELATIVE_REDIRECTS = 5  # a renamed repo answers a relative redirect; a loop of them is an error
_SAFE_ETAG = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,254}")


def _chunks(items: Sequence[_T], size: int) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _ContentSlice:
    """`length` bytes of an addition's content from `offset`, as a re-iterable async byte stream.

    Each iteration starts over, so the transport can send it again after a retry; each chunk is read in a
    worker thread so the event loop never blocks on disk. An attempt that failed mid-body leaves its
    iteration suspended (httpx does not close it): so a file on disk is opened per iteration, and a
    caller's file object is read chunk by chunk at absolute positions (seek, read, seek back in one step),
    never from wherever an abandoned attempt left it.
    """

    def __init__(
        self, op: CommitOperationAdd, offset: int, length: int, chunk_size: int = HASH_CHUNK
    ) -> None:
        self._op = op
        self._offset = offset
        self._length = length
        self._chunk_size = chunk_size
        source = op.path_or_fileobj
        # Where the content starts in a caller's file object (hashing restored it there).
        self._base = source.tell() if not isinstance(source, str | bytes) else 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        source = self._op.path_or_fileobj
        if isinstance(source, bytes):
            view = memoryview(source)[self._offset : self._offset + self._length]
            for start in range(0, len(view), self._chunk_size):
                yield bytes(view[start : start + self._chunk_size])
            return
        position, remaining = self._base + self._offset, self._length
        file = source if not isinstance(source, str) else await anyio.to_thread.run_sync(_open_local, source)
        read = functools.partial(_read_at, file)
        try:
            while remaining > 0:
                chunk = await anyio.to_thread.run_sync(read, position, min(self._chunk_size, remaining))
                if not chunk:
                    raise ValueError(f"{self._op.path_in_repo!r}: file shrank while uploading")
                position += len(chunk)
                remaining -= len(chunk)
                yield chunk
        finally:
            if file is not source:
                file.close()  # synchronous: also runs when an abandoned iteration is finalized


class ResendSafely(Protocol):
    """How a non-idempotent call is resent safely (`HubOperations._ambiguity_safe`): after an ambiguous
    failure, `before_resend` may find the outcome; after an HTTP error following one,
    `on_error_after_ambiguous` may recognise the trace of an earlier attempt."""

    async def __call__(
        self,
        send: Callable[[], Awaitable[CommitInfo]],
        *,
        on_error_after_ambiguous: Callable[[errors.HubHTTPError], Awaitable[CommitInfo | None]] | None = ...,
        before_resend: Callable[[], Awaitable[CommitInfo | None]] | None = ...,
    ) -> CommitInfo: ...


@attrs.define
class _SentCommit:
    """A commit request and what tells it apart in the repo, kept to find it if its answer is lost."""

    repo_id: str
    repo_type: str
    revision: str
    commit_message: str
    commit_description: str | None
    create_pr: bool
    parent_commit: str | None
    expected: Expected
    # The branch head before sending (None with `create_pr`): the commit, if it landed, is newer.
    base: str | None = None
    # Pull requests open before sending (only with `create_pr`): the commit, if it landed, opened another.
    pull_requests_before: dict[int, str] | None = None
    # The branch head the last lookup read, and the one a resend names as its parent (see `_send_commit`).
    head_seen: str | None = None
    guard: str | None = None
    # An attempt failed in a way that may have applied it (no answer, a 5xx): the commit may be in the repo.
    unsure: bool = False


def _open_local(path: str) -> BinaryIO:
    return open(os.path.expanduser(path), "rb")


def _read_at(stream: BinaryIO, position: int, size: int) -> bytes:
    """`size` bytes at `position`, leaving the stream where it was."""
    before = stream.tell()
    try:
        stream.seek(position)
        return stream.read(size)
    finally:
        stream.seek(before)


class Files:
    """`create_commit`, `upload_file`, `upload_folder`, `hf_hub_download`, `list_repo_files` of
    `SpacesClient` (documented there), on the client's session."""

    def __init__(self, session: Session, ambiguity_safe: ResendSafely) -> None:
        self._session = session
        self._ambiguity_safe = ambiguity_safe

    # --- commits ---------------------------------------------------------------------------------------

    async def create_commit(
        self,
        repo_id: str,
        operations: Iterable[CommitOperation],
        *,
        commit_message: str,
        commit_description: str | None = None,
        repo_type: str | None = None,
        revision: str | None = None,
        create_pr: bool | None = None,
        num_threads: int = 5,
        parent_commit: str | None = None,
    ) -> CommitInfo:
        """`SpacesClient.create_commit`."""
        repo_id = validate_repo_id(repo_id, allow_bare_name=True)
        repo_type = resolve_repo_type(repo_type)
        ops = validate_operations(operations)
        if not isinstance(commit_message, str):
            raise TypeError(f"commit_message must be a str, got {type(commit_message).__name__}")
        if not commit_message.strip():
            raise ValueError("commit_message can't be empty")
        commit_description = validate_optional_str(commit_description, arg="commit_description")
        revision = validate_revision(revision)
        create_pr = validate_bool(create_pr, arg="create_pr", optional=True)
        parent_commit = validate_parent_commit(parent_commit)
        validate_concurrency(num_threads, arg="num_threads")

        api = api_repo_path(repo_type, repo_id)
        qrev = quote_revision(revision)
        pr_params = {"create_pr": "1"} if create_pr else None
        additions = [op for op in ops if isinstance(op, CommitOperationAdd)]
        limiter = anyio.CapacityLimiter(num_threads)

        readme = next((op for op in additions if op.path_in_repo == "README.md"), None)
        if readme is not None:
            await self._validate_readme(readme, repo_type)
        # A `.gitignore` in the commit decides what the Hub ignores, not the one it already has
        # (huggingface_hub `preupload_lfs_files`, hub-api.md §11.3).
        gitignore = next((op for op in additions if op.path_in_repo == ".gitignore"), None)
        git_ignore = None
        if gitignore is not None:
            git_ignore = (await _read_content(gitignore)).decode("utf-8", errors="replace")
        await self._hash_additions(additions, limiter)

        # Preupload: which files go through LFS, which the Hub ignores, which it already has (§11.3).
        head_before: str | None = None  # the branch head before this commit, to find it if its answer is lost
        for chunk in _chunks(additions, PREUPLOAD_BATCH):
            response = await self._session.request(
                "POST",
                f"{api}/preupload/{qrev}",
                json=preupload_payload(chunk, git_ignore=git_ignore),
                params=pr_params,
                idempotent=True,
            )
            payload = json_body(response)
            apply_preupload(chunk, parse_preupload_response(payload))
            head_before = head_before or preupload_head(payload)

        to_commit = drop_noops(ops)
        if not to_commit:
            return await self._noop_commit(
                repo_id, repo_type, revision, commit_message, commit_description, parent_commit
            )

        lfs_additions = [
            op
            for op in to_commit
            if isinstance(op, CommitOperationAdd) and op._upload_mode == "lfs" and not op._should_ignore
        ]
        if lfs_additions:
            await self._upload_lfs(
                repo_id, repo_type, None if create_pr else revision, lfs_additions, limiter
            )

        def build_body(parent: str | None) -> bytes:
            lines = commit_lines(
                to_commit,
                commit_message=commit_message,
                commit_description=commit_description,
                parent_commit=parent,
            )
            return commit_body(lines)

        small = all(_small_bytes(op) for op in to_commit if isinstance(op, CommitOperationAdd))

        async def body_for(parent: str | None) -> bytes:
            # Inline files on disk are read in a worker thread (small: the Hub sends big ones to LFS).
            return build_body(parent) if small else await anyio.to_thread.run_sync(build_body, parent)

        sent = _SentCommit(
            repo_id=repo_id,
            repo_type=repo_type,
            revision=revision,
            commit_message=commit_message,
            commit_description=commit_description,
            create_pr=create_pr,
            parent_commit=parent_commit,
            expected=expected_state(to_commit),
        )
        if create_pr:
            sent.pull_requests_before = await self._pull_requests(repo_id, repo_type)
        else:
            sent.base = parent_commit or head_before or await self._revision_sha(repo_id, repo_type, revision)
        return await self._send_commit(sent, body_for)

    async def _send_commit(
        self, sent: _SentCommit, body_for: Callable[[str | None], Awaitable[bytes]]
    ) -> CommitInfo:
        """Send the commit request; after a lost answer or a proxy's refusal, resend it only if it is not in
        the repo (`_commit_landing`), so it lands exactly once and is reported failed only when it did not.

        A resend names the head the lookup just read as its `parentCommit` (when the caller gave none): if an
        earlier attempt the Hub was still applying lands in between, the resend is refused (412) instead of
        landing a second time, and the lookup that follows finds the earlier one.
        """
        api = api_repo_path(sent.repo_type, sent.repo_id)

        async def send() -> CommitInfo:
            try:
                response = await self._session.request(
                    "POST",
                    f"{api}/commit/{quote_revision(sent.revision)}",
                    content=await body_for(sent.parent_commit or sent.guard),
                    headers={"Content-Type": NDJSON_CONTENT_TYPE},
                    params={"create_pr": "1"} if sent.create_pr else None,
                    idempotent=False,
                )
            except errors.SpacesError as exc:
                sent.unsure = sent.unsure or _is_ambiguous(exc)
                raise
            return parse_commit_response(
                json_body(response),
                commit_message=sent.commit_message,
                commit_description=sent.commit_description,
                create_pr=sent.create_pr,
                endpoint=self._session.endpoint,
            )

        async def landed() -> CommitInfo | None:
            return await self._find_sent_commit(sent)

        async def before_resend() -> CommitInfo | None:
            found = await landed()
            if found is None and sent.parent_commit is None and not sent.create_pr:
                sent.guard = sent.head_seen
            return found

        async def settle(exc: errors.HubHTTPError) -> CommitInfo | None:
            # A resend refused because the branch moved past its parent (412) or because a file to delete is
            # gone (404) may have been refused because an earlier attempt of this very commit landed.
            if not isinstance(exc, errors.CommitConflictError | errors.EntryNotFoundError):
                return None
            found = await landed()
            if found is None and sent.guard is not None and isinstance(exc, errors.CommitConflictError):
                # Someone else moved the branch past the head this resend named: the caller asked for no
                # condition, so it is sent once more without one (any failure is then looked up once more).
                sent.guard = None
                return await send()
            return found

        try:
            return await self._ambiguity_safe(
                send, before_resend=before_resend, on_error_after_ambiguous=settle
            )
        except errors.SpacesError as exc:
            # Once an attempt may have landed, a failure is reported only if the commit is not in the repo:
            # after the last attempt's own ambiguous failure, or a lookup that could not reach the Hub. (A
            # resend the Hub refused with a 412 or 404 was looked up already, in `settle`.)
            if not sent.unsure or (isinstance(exc, errors.HubHTTPError) and not _is_ambiguous(exc)):
                raise
            try:
                found = await landed()
            except errors.SpacesError:
                raise exc from None
            if found is None:
                raise
            logger.info("the commit's answer was lost but the commit is in the repo: %s", found.oid)
            return found

    async def _find_sent_commit(self, sent: _SentCommit) -> CommitInfo | None:
        """The commit `sent` if it is in the repo (on its branch, or as a new pull request), else None."""
        if sent.create_pr:
            return await self._find_pull_request(sent)
        assert sent.base is not None
        api = api_repo_path(sent.repo_type, sent.repo_id)
        history: list[CommitEntry] = []
        url: str | None = f"{api}/commits/{quote_revision(sent.revision)}"
        for _ in range(MAX_HISTORY_PAGES):
            if url is None:
                break
            response = await self._session.request("GET", url, idempotent=True)
            history.extend(parse_commits_page(json_body(response)))
            if base_index(history, sent.base) is not None:
                break
            url = response.links.get("next", {}).get("url")
        sent.head_seen = history[0].id if history else None
        candidates = landing_candidates(
            history, sent.base, sent.commit_message, exact_parent=sent.parent_commit is not None
        )
        for sha in candidates or ():
            if await self._tree_holds(sent, sha):
                url = repo_web_url(self._session.endpoint, sent.repo_type, sent.repo_id)
                return CommitInfo(
                    f"{url}/commit/{sha}",
                    sent.commit_message,
                    sent.commit_description or "",
                    sha,
                    endpoint=self._session.endpoint,
                )
        return None

    async def _find_pull_request(self, sent: _SentCommit) -> CommitInfo | None:
        """A pull request opened since the commit was sent whose head is that commit, if there is one."""
        assert sent.pull_requests_before is not None
        api = api_repo_path(sent.repo_type, sent.repo_id)
        opened = await self._pull_requests(sent.repo_id, sent.repo_type)
        for number, head in sorted(opened.items()):
            if number in sent.pull_requests_before:
                continue
            response = await self._session.request(
                "GET", f"{api}/commits/{quote_revision(f'refs/pr/{number}')}", idempotent=True
            )
            listed = parse_commits_page(json_body(response))
            if not (listed and listed[0].id == head and title_matches(listed[0].title, sent.commit_message)):
                continue
            if await self._tree_holds(sent, head):
                url = repo_web_url(self._session.endpoint, sent.repo_type, sent.repo_id)
                return CommitInfo(
                    f"{url}/commit/{head}",
                    sent.commit_message,
                    sent.commit_description or "",
                    head,
                    f"{url}/discussions/{number}",
                    endpoint=self._session.endpoint,
                )
        return None

    async def _pull_requests(self, repo_id: str, repo_type: str) -> dict[int, str]:
        """Open pull requests (number → head commit), from `GET …/refs?include_prs=1` (hub-api.md §11.7)."""
        response = await self._session.request(
            "GET",
            f"{api_repo_path(repo_type, repo_id)}/refs",
            params={"include_prs": "1"},
            idempotent=True,
        )
        return pull_request_refs(json_body(response))

    async def _tree_holds(self, sent: _SentCommit, sha: str) -> bool:
        """Whether the tree at commit `sha` holds what `sent` wrote (`POST …/paths-info/{sha}`, §11.7)."""
        api = api_repo_path(sent.repo_type, sent.repo_id)
        entries: list[Any] = []
        for chunk in _chunks(sent.expected.paths, PATHS_INFO_BATCH):
            response = await self._session.request(
                "POST",
                f"{api}/paths-info/{sha}",
                data={"paths": list(chunk), "expand": "false"},
                idempotent=True,
            )
            payload = json_body(response)
            if not isinstance(payload, list):
                raise errors.UnexpectedResponseError(
                    f"malformed paths-info answer from the Hub for {sent.repo_id}@{sha}"
                )
            entries.extend(entry for entry in payload if isinstance(entry, dict))
        return tree_holds(entries, sent.expected)

    async def _validate_readme(self, readme: CommitOperationAdd, repo_type: str) -> None:
        """Check a README's YAML metadata before uploading anything, as the official client does (§11.2)."""
        data = await _read_content(readme)
        try:
            content = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("README.md must be UTF-8 text") from None
        try:
            await self._session.request(
                "POST",
                "/api/validate-yaml",
                json={"content": content, "repoType": repo_type},
                idempotent=True,
            )
        except errors.BadRequestError as exc:
            raise ValueError(f"Invalid metadata in README.md: {exc.server_message or exc}") from None

    async def _hash_additions(
        self, additions: Sequence[CommitOperationAdd], limiter: anyio.CapacityLimiter
    ) -> None:
        async def hash_one(op: CommitOperationAdd) -> None:
            op._upload_info = await anyio.to_thread.run_sync(op.compute_upload_info, limiter=limiter)

        async with anyio.create_task_group() as tg:
            for op in additions:
                if op._upload_info is not None:
                    continue
                if _small_bytes(op):
                    op._upload_info = op.compute_upload_info()  # in memory and small: no thread needed
                else:
                    tg.start_soon(hash_one, op)

    async def _noop_commit(
        self,
        repo_id: str,
        repo_type: str,
        revision: str,
        commit_message: str,
        commit_description: str | None,
        parent_commit: str | None,
    ) -> CommitInfo:
        # Nothing changed: no commit request, report the current head (hub-api.md §11.1 step 7).
        sha = await self._revision_sha(repo_id, repo_type, revision)
        endpoint = self._session.endpoint
        if parent_commit is not None and not sha.startswith(parent_commit.lower()):
            # The official client returns the head silently here; a caller that passed `parent_commit` wants
            # to know its base is stale, exactly as the Hub would have said with a 412 on a real commit.
            raise errors.CommitConflictError(
                f"412 Precondition Failed: {revision} is at {sha}, not at parent_commit {parent_commit}",
                status=412,
                method="POST",
                url=f"{endpoint}{api_repo_path(repo_type, repo_id)}/commit/{quote_revision(revision)}",
                server_message="The branch was updated since you opened this page.",
            )
        url = repo_web_url(endpoint, repo_type, repo_id)
        return CommitInfo(
            f"{url}/commit/{sha}", commit_message, commit_description or "", sha, endpoint=endpoint
        )

    async def _revision_sha(self, repo_id: str, repo_type: str, revision: str) -> str:
        """The commit sha `revision` points to.

        `GET /api/{type}s/{id}/revision/{rev}` and its `sha` (hub-api.md §11.1 step 7, §11.7), with
        `expand=sha` so the answer is only that (the task queue reads it before every change).
        """
        response = await self._session.request(
            "GET",
            f"{api_repo_path(repo_type, repo_id)}/revision/{quote_revision(revision)}",
            params={"expand": "sha"},
            idempotent=True,
        )
        payload = json_body(response)
        sha = payload.get("sha") if isinstance(payload, dict) else None
        if not isinstance(sha, str) or not COMMIT_HASH_RE.fullmatch(sha):
            raise errors.UnexpectedResponseError(
                f"malformed revision answer from the Hub for {repo_id}@{revision}: no commit sha"
            )
        return sha

    async def _upload_lfs(
        self,
        repo_id: str,
        repo_type: str,
        revision: str | None,
        additions: Sequence[CommitOperationAdd],
        limiter: anyio.CapacityLimiter,
    ) -> None:
        by_oid: dict[str, CommitOperationAdd] = {}
        for op in additions:
            by_oid.setdefault(op.upload_info.sha256, op)  # same content twice: upload it once
        unique = list(by_oid.values())
        actions: list[LfsAction] = []
        for chunk in _chunks(unique, LFS_BATCH):
            payload = lfs_batch_payload([op.upload_info for op in chunk], revision=revision)
            response = await self._session.request(
                "POST",
                lfs_batch_path(repo_type, repo_id),
                content=json.dumps(payload).encode(),
                headers=dict(LFS_HEADERS),
                idempotent=True,
            )
            chunk_actions, _already_stored = parse_lfs_batch_response(json_body(response))
            actions.extend(chunk_actions)

        async def upload(action: LfsAction) -> None:
            op = by_oid.get(action.oid)
            if op is None:
                raise ValueError(
                    f"the Hub's LFS batch answer names an object it was not asked about: {action.oid}"
                )
            async with limiter:
                await self._upload_lfs_object(op, action)

        async with anyio.create_task_group() as tg:
            for action in actions:
                tg.start_soon(upload, action)

    async def _upload_lfs_object(self, op: CommitOperationAdd, action: LfsAction) -> None:
        size = op.upload_info.size
        chunk_size = action.chunk_size
        if chunk_size is None:
            await self._lfs_put(action.upload_href, _ContentSlice(op, 0, size), size)
        else:
            etags: list[str | None] = []
            for number, url in enumerate(action.part_urls()):
                offset = number * chunk_size
                length = min(chunk_size, size - offset)
                response = await self._lfs_put(url, _ContentSlice(op, offset, length), length)
                etags.append(response.headers.get("etag"))
            await self._storage_request(
                "POST",
                action.upload_href,
                content=json.dumps(multipart_completion_payload(action.oid, etags)).encode(),
                headers=dict(LFS_HEADERS),
            )
        if action.verify_href is not None:
            await self._session.request(
                "POST",
                action.verify_href,
                content=json.dumps({"oid": action.oid, "size": size}).encode(),
                headers={**LFS_HEADERS, **action.verify_header},
                idempotent=True,
            )

    async def _lfs_put(self, url: str, content: _ContentSlice, length: int) -> httpx2.Response:
        # An explicit Content-Length keeps httpx from using chunked encoding, which S3-style storage refuses.
        # Re-sending the same object is harmless, hence idempotent.
        return await self._storage_request(
            "PUT", url, content=content, headers={"Content-Length": str(length)}
        )

    async def _storage_request(
        self, method: str, url: str, *, content: Any, headers: dict[str, str]
    ) -> httpx2.Response:
        """Send to a pre-signed storage URL (LFS upload, part or completion; hub-api.md §11.4).

        The official client sends these without auth headers: the URL authorises itself. The core request
        path sends the token only to the Hub's own host, and never shows another host's query string.
        """
        return await self._session.request(method, url, content=content, headers=headers, idempotent=True)

    async def upload_file(
        self,
        *,
        path_or_fileobj: str | Path | bytes | BinaryIO,
        path_in_repo: str,
        repo_id: str,
        repo_type: str | None = None,
        revision: str | None = None,
        commit_message: str | None = None,
        commit_description: str | None = None,
        create_pr: bool | None = None,
        parent_commit: str | None = None,
    ) -> CommitInfo:
        """`SpacesClient.upload_file`."""
        operation = CommitOperationAdd(path_in_repo=path_in_repo, path_or_fileobj=path_or_fileobj)
        commit_message = (
            commit_message if commit_message is not None else f"Upload {path_in_repo} with aiospaces"
        )
        return await self.create_commit(
            repo_id,
            [operation],
            commit_message=commit_message,
            commit_description=commit_description,
            repo_type=repo_type,
            revision=revision,
            create_pr=create_pr,
            parent_commit=parent_commit,
        )

    async def upload_folder(
        self,
        *,
        repo_id: str,
        folder_path: str | Path,
        path_in_repo: str | None = None,
        commit_message: str | None = None,
        commit_description: str | None = None,
        repo_type: str | None = None,
        revision: str | None = None,
        create_pr: bool | None = None,
        parent_commit: str | None = None,
        allow_patterns: list[str] | str | None = None,
        ignore_patterns: list[str] | str | None = None,
        delete_patterns: list[str] | str | None = None,
    ) -> CommitInfo:
        """`SpacesClient.upload_folder`."""
        repo_id = validate_repo_id(repo_id, allow_bare_name=True)
        repo_type = resolve_repo_type(repo_type)
        if not isinstance(folder_path, (str, Path)):
            raise TypeError(f"folder_path must be a str or Path, got {type(folder_path).__name__}")
        folder = await anyio.to_thread.run_sync(_resolve_dir, folder_path)
        if folder is None:
            raise ValueError(f"folder_path: {str(folder_path)!r} is not a directory")
        prefix = ""
        if path_in_repo is not None and path_in_repo not in ("", ".", "./"):
            prefix = validate_path_in_repo(path_in_repo, folder=True).rstrip("/") + "/"
        # Everything create_commit checks, checked before the listing below is sent.
        validate_revision(revision)
        validate_parent_commit(parent_commit)
        validate_bool(create_pr, arg="create_pr", optional=True)
        validate_optional_str(commit_message, arg="commit_message")
        validate_optional_str(commit_description, arg="commit_description")
        if create_pr and revision is not None and revision != "main":
            raise ValueError(
                "create_pr=True opens a pull request against the default branch: don't set revision"
            )
        allow = pattern_list(allow_patterns, "allow_patterns")
        ignore = [*(pattern_list(ignore_patterns, "ignore_patterns") or []), *DEFAULT_IGNORE_PATTERNS]
        delete = pattern_list(delete_patterns, "delete_patterns")

        relpaths = await anyio.to_thread.run_sync(_list_folder, folder)
        selected = filter_paths(relpaths, allow_patterns=allow, ignore_patterns=ignore)
        additions: list[CommitOperation] = [
            CommitOperationAdd(path_in_repo=prefix + rel, path_or_fileobj=str(folder / rel))
            for rel in selected
        ]
        deletions: list[CommitOperation] = []
        if delete is not None:
            remote = await self.list_repo_files(
                repo_id, revision=None if create_pr else revision, repo_type=repo_type
            )
            relative = {path[len(prefix) :]: path for path in remote if path.startswith(prefix)}
            added = {op.path_in_repo for op in additions}
            deletions = [
                CommitOperationDelete(path_in_repo=relative[rel], is_folder=False)
                for rel in filter_paths(list(relative), allow_patterns=delete)
                if relative[rel] != ".gitattributes" and relative[rel] not in added
            ]
        return await self.create_commit(
            repo_id,
            deletions + additions,
            commit_message=commit_message if commit_message is not None else "Upload folder using aiospaces",
            commit_description=commit_description,
            repo_type=repo_type,
            revision=revision,
            create_pr=create_pr,
            parent_commit=parent_commit,
        )

    # --- listing ---------------------------------------------------------------------------------------

    async def list_repo_files(
        self, repo_id: str, *, revision: str | None = None, repo_type: str | None = None
    ) -> list[str]:
        """`SpacesClient.list_repo_files`."""
        repo_id = validate_repo_id(repo_id, allow_bare_name=True)
        repo_type = resolve_repo_type(repo_type)
        revision = validate_revision(revision)
        url: str | None = f"{api_repo_path(repo_type, repo_id)}/tree/{quote_revision(revision)}"
        params: dict[str, Any] | None = {"recursive": "true", "expand": "false"}
        files: list[str] = []
        while url is not None:
            response = await self._session.request("GET", url, params=params, idempotent=True)
            entries = json_body(response)
            if not isinstance(entries, list):
                raise errors.UnexpectedResponseError(
                    f"malformed tree answer from the Hub for {repo_id}@{revision}"
                )
            files.extend(
                entry["path"]
                for entry in entries
                if isinstance(entry, dict)
                and entry.get("type") == "file"
                and isinstance(entry.get("path"), str)
            )
            # The `next` URL already carries the query (cursor included).
            url = response.links.get("next", {}).get("url")
            params = None
        return files

    # --- downloads -------------------------------------------------------------------------------------

    async def hf_hub_download(
        self,
        repo_id: str,
        filename: str,
        *,
        subfolder: str | None = None,
        repo_type: str | None = None,
        revision: str | None = None,
        cache_dir: str | Path | None = None,
        local_dir: str | Path | None = None,
        force_download: bool = False,
        etag_timeout: float = 10,
        local_files_only: bool = False,
    ) -> str:
        """`SpacesClient.hf_hub_download`."""
        repo_id = validate_repo_id(repo_id, allow_bare_name=True)
        repo_type = resolve_repo_type(repo_type)
        revision = validate_revision(revision)
        filename = validate_filename(filename)
        folder = (validate_optional_str(subfolder, arg="subfolder") or "").strip("/")
        if folder:
            filename = f"{validate_filename(folder, arg='subfolder')}/{filename}"
        for name, value in (("cache_dir", cache_dir), ("local_dir", local_dir)):
            if value is not None and not isinstance(value, (str, Path)):
                raise TypeError(f"{name} must be a str, Path or None, got {type(value).__name__}")
        force_download = validate_bool(force_download, arg="force_download", optional=True)
        local_files_only = validate_bool(local_files_only, arg="local_files_only", optional=True)
        etag_timeout = validate_seconds(etag_timeout, arg="etag_timeout")

        url = resolve_path(repo_type, repo_id, revision, filename)

        def url_at(commit: str) -> str:
            # The content is fetched at the commit the metadata named, not at the branch: a commit landing
            # between the HEAD and the GET must not give a body that contradicts the ETag and size.
            return resolve_path(repo_type, repo_id, commit, filename)

        if local_dir is not None:
            return await self._download_to_local_dir(
                _expand(local_dir),
                url,
                url_at,
                filename,
                revision,
                force_download,
                local_files_only,
                etag_timeout,
            )
        # The default cache is part of the configuration, resolved once when the client was created.
        storage = _expand(cache_dir if cache_dir is not None else self._session.config.hub_cache)
        storage = storage / repo_folder_name(repo_id, repo_type)
        return await self._download_to_cache(
            storage, url, url_at, filename, revision, force_download, local_files_only, etag_timeout
        )

    async def _file_metadata(self, url: str, etag_timeout: float) -> tuple[str, str, int | None]:
        """`(commit sha, etag, size)` of a resolve URL from a `HEAD` request (hub-api.md §12.2).

        As huggingface_hub does, only relative redirects (a renamed repo, on the Hub itself) are followed: an
        LFS file answers 302 to storage with its metadata in `X-Linked-*` headers, and a storage URL signed
        for GET need not accept a HEAD.
        """
        target = url
        for _ in range(_MAX_RELATIVE_REDIRECTS + 1):
            response = await self._session.request(
                "HEAD",
                target,
                headers={"Accept-Encoding": "identity"},
                idempotent=True,
                timeout=etag_timeout,
                follow_redirects=False,
            )
            location = response.headers.get("location")
            if not (response.is_redirect and location):
                break
            hop = httpx2.URL(location)
            if hop.scheme or hop.host:  # absolute or scheme-relative (`//host/...`): storage, not the Hub
                break
            target = str(response.url.join(hop))
        else:
            raise ValueError(f"too many redirects in the Hub's answers for {url}")
        commit = response.headers.get("x-repo-commit")
        if not commit:
            raise ValueError(f"the Hub sent no X-Repo-Commit for {url}: is the endpoint a Hugging Face Hub?")
        etag = normalize_etag(response.headers.get("x-linked-etag") or response.headers.get("etag"))
        size_header = response.headers.get("x-linked-size") or (
            None if response.is_redirect else response.headers.get("content-length")
        )
        if not etag:
            raise ValueError(f"the Hub sent no ETag for {url}")
        # Both name paths in the cache (`blobs/<etag>`, `snapshots/<commit>/`): a value with `/` or `..` would
        # write outside it, so anything but a plain token is refused.
        if not COMMIT_HASH_RE.fullmatch(commit):
            raise errors.UnexpectedResponseError(
                f"the Hub sent a malformed X-Repo-Commit for {url}: {commit[:80]!r}"
            )
        if not _SAFE_ETAG.fullmatch(etag):
            raise errors.UnexpectedResponseError(f"the Hub sent a malformed ETag for {url}: {etag[:80]!r}")
        return commit, etag, int(size_header) if size_header and size_header.isdigit() else None

    async def _download_to_cache(
        self,
        storage: Path,
        url: str,
        url_at: Callable[[str], str],
        filename: str,
        revision: str,
        force_download: bool,
        local_files_only: bool,
        etag_timeout: float,
    ) -> str:
        relative = Path(*filename.split("/"))
        if COMMIT_HASH_RE.fullmatch(revision) and not force_download:
            pointer = storage / "snapshots" / revision / relative
            if pointer.exists():
                return str(pointer)
        if local_files_only:
            cached = _cached_pointer(storage, revision, relative)
            if cached is None:
                raise FileNotFoundError(
                    f"{filename!r} at {revision!r} is not in the cache and local_files_only=True"
                )
            return cached
        try:
            commit, etag, size = await self._file_metadata(url, etag_timeout)
        except _OFFLINE_ERRORS:
            cached = None if force_download else _cached_pointer(storage, revision, relative)
            if cached is None:
                raise
            return cached

        blob = storage / "blobs" / etag
        pointer = storage / "snapshots" / commit / relative
        if revision != commit:
            await anyio.to_thread.run_sync(_write_ref, storage, revision, commit)
        if not force_download and await anyio.to_thread.run_sync(_points_to, pointer, blob):
            return str(pointer)
        if force_download or not await anyio.to_thread.run_sync(blob.exists):
            await self._download_blob(url_at(commit), blob, etag, size)
        await anyio.to_thread.run_sync(_link_pointer, blob, pointer)
        return str(pointer)

    async def _download_to_local_dir(
        self,
        local_dir: Path,
        url: str,
        url_at: Callable[[str], str],
        filename: str,
        revision: str,
        force_download: bool,
        local_files_only: bool,
        etag_timeout: float,
    ) -> str:
        target = local_dir / Path(*filename.split("/"))
        hf_dir = local_dir / ".cache" / "huggingface"
        metadata_path = hf_dir / "download" / f"{Path(*filename.split('/'))}.metadata"
        metadata = await anyio.to_thread.run_sync(_read_local_metadata, metadata_path, target)
        if (
            not force_download
            and metadata is not None
            and COMMIT_HASH_RE.fullmatch(revision)
            and metadata[0] == revision
        ):
            return str(target)
        if local_files_only:
            if target.is_file():
                return str(target)
            raise FileNotFoundError(f"{filename!r} is not in {str(local_dir)!r} and local_files_only=True")
        try:
            commit, etag, size = await self._file_metadata(url, etag_timeout)
        except _OFFLINE_ERRORS:
            if target.is_file() and not force_download:
                return str(target)
            raise
        if not force_download and target.is_file():
            up_to_date = metadata is not None and metadata[1] == etag
            if not up_to_date and metadata is None and SHA256_RE.fullmatch(etag):
                # No metadata but an LFS etag: the content hash tells whether the local file is current.
                up_to_date = await anyio.to_thread.run_sync(_sha256_file, target) == etag
            if up_to_date:
                await anyio.to_thread.run_sync(_write_local_metadata, hf_dir, metadata_path, commit, etag)
                return str(target)
        await self._download_blob(url_at(commit), target, etag, size)
        await anyio.to_thread.run_sync(_write_local_metadata, hf_dir, metadata_path, commit, etag)
        return str(target)

    async def _download_blob(self, url: str, destination: Path, etag: str, size: int | None) -> None:
        """Stream `url` into a temporary file beside `destination`, check it, then rename it into place.

        A body cut mid-stream is resumed with `Range: bytes=<received>-` (up to `_MAX_RESUMES` times, as the
        official client does, hub-api.md §12.3); a server answering 200 instead of 206 restarts from zero.
        """
        await anyio.to_thread.run_sync(lambda: destination.parent.mkdir(parents=True, exist_ok=True))
        temporary = destination.with_name(f".{destination.name}.{uuid.uuid4().hex[:12]}.incomplete")
        # An LFS etag is the content's sha-256: check it while streaming (corrupt or truncated bodies fail).
        checked = SHA256_RE.fullmatch(etag) is not None
        digest = hashlib.sha256()
        received = 0
        pending = bytearray()
        try:
            resumes = Retrying(
                _RESUME_POLICY,
                clock=self._session.clock,
                rng=self._session.transport.rng,
                classify=_resumable,
                what="download",
                target=url,
            )
            async with await anyio.open_file(temporary, "wb") as out:
                try:
                    async for attempt in resumes:
                        with attempt:
                            # Uncompressed: the byte counts behind `Range` and the size check are the file's
                            # own (with gzip, a range would index the compressed stream and a resume would
                            # corrupt it).
                            headers = {"Accept-Encoding": "identity"}
                            if received:
                                headers["Range"] = f"bytes={received}-"
                            async with self._session.stream("GET", url, headers=headers) as response:
                                if received and response.status_code != 206:
                                    # The server ignored the range: start again from the first byte.
                                    await out.seek(0)
                                    await out.truncate()
                                    received, digest = 0, hashlib.sha256()
                                    pending.clear()
                                try:
                                    async for chunk in response.aiter_bytes():
                                        received += len(chunk)
                                        if checked:
                                            digest.update(chunk)
                                        pending += chunk
                                        if len(pending) >= HASH_CHUNK:  # large pieces: fewer thread hops
                                            await out.write(pending)
                                            pending.clear()
                                except errors.TransportError as exc:
                                    if isinstance(exc, errors.BodyDecodingError):
                                        raise
                                    await out.write(pending)  # what arrived before the cut is good: keep it
                                    pending.clear()
                                    raise _Interrupted(exc) from None
                            await out.write(pending)
                except _Interrupted as cut:
                    raise errors.TransportError(
                        f"download of {url} failed after {received} bytes: {cut.reason}",
                        method="GET",
                        url=url,
                        sent=True,
                    ) from None
            if size is not None and received != size:
                raise errors.TransportError(
                    f"download of {url} ended after {received} of {size} bytes",
                    method="GET",
                    url=url,
                    sent=True,
                )
            if checked and digest.hexdigest() != etag:
                raise errors.TransportError(
                    f"download of {url} does not match its sha256 {etag}", method="GET", url=url, sent=True
                )
            await anyio.to_thread.run_sync(os.replace, temporary, destination)
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(lambda: temporary.unlink(missing_ok=True))

    # --- helpers for the task queue ---------------------------------------------------------------------

    async def read_file(
        self, repo_id: str, filename: str, *, repo_type: str | None = None, revision: str | None = None
    ) -> bytes | None:
        """`SpacesClient.read_file`."""
        repo_id = validate_repo_id(repo_id, allow_bare_name=True)
        filename = validate_filename(filename)
        repo_type = resolve_repo_type(repo_type)
        revision = validate_revision(revision)
        try:
            response = await self._session.request(
                "GET", resolve_path(repo_type, repo_id, revision, filename), idempotent=True
            )
        except errors.EntryNotFoundError:
            return None
        return response.content

    async def revision_sha(
        self, repo_id: str, *, repo_type: str | None = None, revision: str | None = None
    ) -> str:
        """`SpacesClient.revision_sha`."""
        repo_id = validate_repo_id(repo_id, allow_bare_name=True)
        repo_type = resolve_repo_type(repo_type)
        revision = validate_revision(revision)
        return await self._revision_sha(repo_id, repo_type, revision)


def _small_bytes(op: CommitOperationAdd) -> bool:
    return isinstance(op.path_or_fileobj, bytes) and len(op.path_or_fileobj) <= HASH_CHUNK


async def _read_content(op: CommitOperationAdd) -> bytes:
    """The whole content of a small file (README.md, .gitignore): in place if in memory, else in a thread."""
    return op.read_all() if _small_bytes(op) else await anyio.to_thread.run_sync(op.read_all)


def _expand(path: str | Path) -> Path:
    return Path(path).expanduser()


def _resolve_dir(path: str | Path) -> Path | None:
    folder = Path(path).expanduser().resolve()
    return folder if folder.is_dir() else None


def _points_to(pointer: Path, blob: Path) -> bool:
    return pointer.exists() and os.path.realpath(pointer) == os.path.realpath(blob)


def _list_folder(folder: Path) -> list[str]:
    # Sorted so commits are deterministic (as huggingface_hub does).
    return sorted(path.relative_to(folder).as_posix() for path in folder.glob("**/*") if path.is_file())


def _cached_pointer(storage: Path, revision: str, relative: Path) -> str | None:
    commit: str | None = revision if COMMIT_HASH_RE.fullmatch(revision) else None
    if commit is None:
        ref = storage / "refs" / revision
        if ref.is_file():
            commit = ref.read_text().strip()
    if commit is None:
        return None
    pointer = storage / "snapshots" / commit / relative
    return str(pointer) if pointer.exists() else None


def _write_ref(storage: Path, revision: str, commit: str) -> None:
    ref = storage / "refs" / revision
    ref.parent.mkdir(parents=True, exist_ok=True)
    if ref.is_file() and ref.read_text() == commit:
        return
    # Atomic replace: a concurrent reader never sees a half-written ref.
    temporary = ref.with_name(f".{ref.name}.{uuid.uuid4().hex[:8]}.tmp")
    temporary.write_text(commit)
    os.replace(temporary, ref)


def _link_pointer(blob: Path, pointer: Path) -> None:
    """Point `snapshots/<commit>/<file>` at the blob: a relative symlink, or a copy if symlinks fail."""
    pointer.parent.mkdir(parents=True, exist_ok=True)
    relative = os.path.relpath(blob, pointer.parent)
    temporary = pointer.with_name(f".{pointer.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        os.symlink(relative, temporary)
    except (OSError, NotImplementedError):
        import shutil

        shutil.copyfile(blob, temporary)
    os.replace(temporary, pointer)  # atomic: concurrent downloads of the same file both succeed


def _read_local_metadata(metadata_path: Path, target: Path) -> tuple[str, str] | None:
    """`(commit, etag)` recorded for a `local_dir` download, if the file was not modified since."""
    try:
        commit, etag, timestamp = metadata_path.read_text().splitlines()[:3]
        if target.stat().st_mtime - 1 > float(timestamp):
            return None  # edited after download: the metadata no longer describes it
        return commit, etag
    except (OSError, ValueError):
        return None


def _write_local_metadata(hf_dir: Path, metadata_path: Path, commit: str, etag: str) -> None:
    metadata_path.parent.mkdir(parents=True, exist_ok=True)
    gitignore = hf_dir / ".gitignore"  # keeps the bookkeeping out of git, as huggingface_hub does
    if not gitignore.exists():
        gitignore.write_text("*")
    metadata_path.write_text(f"{commit}\n{etag}\n{time.time()}\n")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
