"""Commits and uploads: `create_commit`, `upload_file`, `upload_folder`, `list_repo_files` (preupload, NDJSON
commit; hub-api.md §11, checked against huggingface_hub 2.4.0 `hf_api.create_commit`, `_commit_api.py`).

The wire payloads are built and parsed in `_commit_models.py`; this module only sends them (design.md §6:
build → send → parse). Large files are hashed in one streamed pass in a worker thread and uploaded through
LFS (`_lfs_upload.py`); downloads are in `_downloads.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TypeVar

import anyio
import anyio.to_thread
import attrs

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
    NDJSON_CONTENT_TYPE,
    PREUPLOAD_BATCH,
    CommitOperation,
    CommitOperationAdd,
    CommitOperationDelete,
    apply_preupload,
    commit_body,
    commit_lines,
    drop_noops,
    filter_paths,
    parse_commit_response,
    parse_preupload_response,
    pattern_list,
    preupload_payload,
    validate_operations,
)
from ._lfs_upload import LfsUpload
from ._repos import _is_ambiguous
from ._session import Session
from ._wire import api_repo_path, json_body, quote_revision, repo_web_url
from .models import CommitInfo
from .validation import (
    resolve_repo_type,
    validate_bool,
    validate_concurrency,
    validate_optional_str,
    validate_parent_commit,
    validate_path_in_repo,
    validate_repo_id,
    validate_revision,
)

_T = TypeVar("_T")

logger = logging.getLogger("aiospaces")


def _chunks(items: Sequence[_T], size: int) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


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


class Files:
    """`create_commit`, `upload_file`, `upload_folder`, `list_repo_files` and `revision_sha` of
    `SpacesClient` (documented in `_file_ops.FileCalls`), on the client's session."""

    def __init__(self, session: Session, ambiguity_safe: ResendSafely) -> None:
        self._lfs = LfsUpload(session)
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

        pr_params = {"create_pr": "1"} if create_pr else None
        additions = [op for op in ops if isinstance(op, CommitOperationAdd)]
        limiter = anyio.CapacityLimiter(num_threads)

        head_before = await self._preupload(repo_id, repo_type, revision, additions, limiter, pr_params)

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
            await self._lfs.upload(
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
        info = await self._send_commit(sent, body_for)
        if repo_type == "space" and not create_pr and revision == "main":
            # The Hub rebuilds a Space from its branch's new files, once it has scheduled the build: waits
            # that follow must not take the previous build, still RUNNING meanwhile, for this commit's.
            self._session.fences.record_commit(repo_id)
        return info

    async def _preupload(
        self,
        repo_id: str,
        repo_type: str,
        revision: str,
        additions: list[CommitOperationAdd],
        limiter: anyio.CapacityLimiter,
        pr_params: dict[str, str] | None,
    ) -> str | None:
        """Check a README, hash the additions, and ask the Hub which of them go through LFS, which it ignores
        and which it already has (hub-api.md §11.3). Returns the branch head the Hub's answer named, if any:
        the head before this commit, to find it again if its answer is lost."""
        api = api_repo_path(repo_type, repo_id)
        qrev = quote_revision(revision)
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
        head_before: str | None = None
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

        return head_before

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
            try:
                return parse_commit_response(
                    json_body(response),
                    commit_message=sent.commit_message,
                    commit_description=sent.commit_description,
                    create_pr=sent.create_pr,
                    endpoint=self._session.endpoint,
                )
            except errors.UnexpectedResponseError as exc:
                # The Hub said yes, so the commit is in the repo, but not as what: it is looked up rather than
                # reported failed, which would have the caller commit it again.
                return await landed_or_raise(exc)

        async def landed() -> CommitInfo | None:
            return await self._find_sent_commit(sent)

        async def landed_or_raise(exc: errors.SpacesError) -> CommitInfo:
            """The commit, if a lookup finds it in the repo; else `exc`, also when the lookup fails."""
            try:
                found = await landed()
            except errors.SpacesError:
                raise exc from None
            if found is None:
                raise exc
            return found

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
            found = await landed_or_raise(exc)
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
            history.extend(parse_commits_page(json_body(response), sent.repo_id))
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
            listed = parse_commits_page(json_body(response), sent.repo_id)
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
            # The Hub may name its first error twice (`error` and `errors[]`): each is said once.
            problems = "\n".join(dict.fromkeys((exc.server_message or str(exc)).splitlines()))
            raise ValueError(f"Invalid metadata in README.md: {problems}") from None

    async def _hash_additions(
        self, additions: Sequence[CommitOperationAdd], limiter: anyio.CapacityLimiter
    ) -> None:
        async def hash_one(op: CommitOperationAdd) -> None:
            await anyio.to_thread.run_sync(op.compute_upload_info, limiter=limiter)

        async with anyio.create_task_group() as tg:
            for op in additions:
                if op._upload_info is not None:
                    continue
                if _small_bytes(op):
                    op.compute_upload_info()  # in memory and small: no thread needed
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
                server_message=(
                    "The branch was updated since you opened this page. Please refresh and try again."
                ),
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

    # --- helpers for the task queue ---------------------------------------------------------------------

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


def _list_folder(folder: Path) -> list[str]:
    # Sorted so commits are deterministic (as huggingface_hub does).
    return sorted(path.relative_to(folder).as_posix() for path in folder.glob("**/*") if path.is_file())


def _resolve_dir(path: str | Path) -> Path | None:
    folder = Path(path).expanduser().resolve()
    return folder if folder.is_dir() else None
