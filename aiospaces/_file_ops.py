"""Files of repos, fourth of `SpacesClient`'s base classes: commits (`create_commit`, `upload_file`,
`upload_folder`, `delete_file`, `delete_folder`), listing (`list_repo_files`, `revision_sha`) and downloads
(`hf_hub_download`, `read_file`), with huggingface_hub 2.4's names and arguments (`token`: the client's own).

Each method is documented here and delegates to the files component (`_files.Files`: preupload, LFS, the
commit and its safe resend) or the downloads component (`_downloads.Downloads`: the cache layout), which the
class owns. A `CommitOperationCopy` is turned into an addition of its downloaded source before committing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

from ._commit_models import (
    CommitOperation,
    CommitOperationAdd,
    CommitOperationCopy,
    CommitOperationDelete,
)
from ._downloads import Downloads
from ._files import Files
from ._repo_ops import RepoCalls
from ._session import Session
from .models import CommitInfo


class Download(Protocol):
    """How a copy's source file is fetched: `hf_hub_download`'s arguments that a copy sets."""

    async def __call__(
        self, repo_id: str, filename: str, *, repo_type: str | None, revision: str | None, local_dir: Path
    ) -> str: ...


class FileCalls(RepoCalls):
    """The file calls of `SpacesClient` (a base class of it): commits, uploads, listing and downloads."""

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self._files = Files(session, self._ambiguity_safe)
        self._downloads = Downloads(session)

    async def create_commit(
        self,
        repo_id: str,
        operations: Iterable[CommitOperation | CommitOperationCopy],
        *,
        commit_message: str,
        commit_description: str | None = None,
        token: bool | str | None = None,
        repo_type: str | None = None,
        revision: str | None = None,
        create_pr: bool | None = None,
        num_threads: int = 5,
        parent_commit: str | None = None,
    ) -> CommitInfo:
        """Create one commit adding, copying and deleting files, as `HfApi.create_commit`.

        Small files travel inline (base64 in the NDJSON body); files the Hub's preupload answer marks `lfs`
        are first uploaded through the LFS batch endpoint, streamed from disk. Files whose content the Hub
        already has at that path (same preupload `oid`) are left out; if nothing is left, no commit is made
        and the current head is returned.

        The commit request is not idempotent (sent twice, it makes two commits), so when its answer is lost
        (a dropped connection, a timeout, a 5xx that may come from a proxy) the branch is read first: if the
        commit is there (a commit newer than the head before sending, with this title, whose tree holds these
        operations; with `parent_commit`, only the commit right after it), it is returned; otherwise it is
        sent again. It is reported failed only when it is not in the repo. A 412 is still a real conflict,
        unless the commit that made the branch move is this one. With `create_pr`, the pull requests opened
        since are searched the same way.

        Args:
            repo_id: `namespace/name`.
            operations: `CommitOperationAdd`, `CommitOperationCopy` and `CommitOperationDelete` items (a copy
                reads its source file from the Hub and commits it as an addition).
            commit_message: the commit's title (required, non-empty).
            commit_description: the commit's description.
            repo_type: "model" (default), "dataset" or "space".
            revision: branch to commit to (default "main").
            create_pr: open a pull request instead of committing to the branch.
            num_threads: how many files are hashed or uploaded at once.
            parent_commit: the commit the change is based on; if the branch moved since, the Hub answers 412.
            token: `HfApi`'s per-call token; only None, True or this client's own (see `SpacesClient`).

        Returns:
            The new commit (or the unchanged head when every file was already up to date).

        Raises:
            CommitConflictError: `parent_commit` is no longer the head of the branch.
            RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError: as the Hub answers.
            ValueError, TypeError: bad arguments (before any request).
        """
        self._check_token(token)
        if isinstance(operations, str | bytes) or not isinstance(operations, Iterable):
            raise TypeError("operations must be an iterable of commit operations")
        given = list(operations)

        async def commit(ops: list[CommitOperation]) -> CommitInfo:
            return await self._files.create_commit(
                repo_id,
                ops,
                commit_message=commit_message,
                commit_description=commit_description,
                repo_type=repo_type,
                revision=revision,
                create_pr=create_pr,
                num_threads=num_threads,
                parent_commit=parent_commit,
            )

        plain = [op for op in given if not isinstance(op, CommitOperationCopy)]
        if len(plain) == len(given):
            return await commit(plain)
        with tempfile.TemporaryDirectory(prefix="aiospaces-copy-") as folder:
            ops = await _copies_as_additions(
                given, repo_id, repo_type, revision, Path(folder), self.hf_hub_download
            )
            return await commit(ops)

    async def upload_file(
        self,
        *,
        path_or_fileobj: str | Path | bytes | BinaryIO,
        path_in_repo: str,
        repo_id: str,
        token: bool | str | None = None,
        repo_type: str | None = None,
        revision: str | None = None,
        commit_message: str | None = None,
        commit_description: str | None = None,
        create_pr: bool | None = None,
        parent_commit: str | None = None,
    ) -> CommitInfo:
        """Upload one file in its own commit, as `HfApi.upload_file`.

        Args:
            path_or_fileobj: a local path, the content as bytes, or a binary file object.
            path_in_repo: where the file goes in the repo.
            repo_id: `namespace/name`.
            repo_type: "model" (default), "dataset" or "space".
            revision: branch to commit to (default "main").
            commit_message: default `"Upload <path_in_repo> with aiospaces"`.
            commit_description: the commit's description.
            create_pr: open a pull request instead.
            parent_commit: the commit the change is based on (412 → `CommitConflictError` if stale).
            token: `HfApi`'s per-call token; only None, True or this client's own (see `SpacesClient`).

        Returns:
            The commit.
        """
        self._check_token(token)
        return await self._files.upload_file(
            path_or_fileobj=path_or_fileobj,
            path_in_repo=path_in_repo,
            repo_id=repo_id,
            repo_type=repo_type,
            revision=revision,
            commit_message=commit_message,
            commit_description=commit_description,
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
        token: bool | str | None = None,
        repo_type: str | None = None,
        revision: str | None = None,
        create_pr: bool | None = None,
        parent_commit: str | None = None,
        allow_patterns: list[str] | str | None = None,
        ignore_patterns: list[str] | str | None = None,
        delete_patterns: list[str] | str | None = None,
    ) -> CommitInfo:
        """Upload a local folder in one commit, as `HfApi.upload_folder`.

        Patterns are fnmatch-style, applied to paths relative to `folder_path` (or, for `delete_patterns`,
        relative to `path_in_repo` in the repo); `*` also matches `/`, a pattern ending in `/` matches a whole
        folder. `.git` and `.cache/huggingface` are always ignored and `.gitattributes` is never deleted.

        Args:
            repo_id: `namespace/name`.
            folder_path: the local folder.
            path_in_repo: folder in the repo to upload into (default: the root).
            commit_message: default `"Upload folder using aiospaces"`.
            commit_description: the commit's description.
            repo_type: "model" (default), "dataset" or "space".
            revision: branch to commit to (default "main").
            create_pr: open a pull request against the default branch instead.
            parent_commit: the commit the change is based on (412 → `CommitConflictError` if stale).
            allow_patterns: only upload files matching one of these.
            ignore_patterns: never upload files matching one of these.
            delete_patterns: delete remote files under `path_in_repo` matching one of these (files uploaded in
                the same commit are replaced, not deleted).
            token: `HfApi`'s per-call token; only None, True or this client's own (see `SpacesClient`).

        Returns:
            The commit (or the unchanged head if no file changed).
        """
        self._check_token(token)
        return await self._files.upload_folder(
            repo_id=repo_id,
            folder_path=folder_path,
            path_in_repo=path_in_repo,
            commit_message=commit_message,
            commit_description=commit_description,
            repo_type=repo_type,
            revision=revision,
            create_pr=create_pr,
            parent_commit=parent_commit,
            allow_patterns=allow_patterns,
            ignore_patterns=ignore_patterns,
            delete_patterns=delete_patterns,
        )

    async def delete_file(
        self,
        path_in_repo: str,
        repo_id: str,
        *,
        token: bool | str | None = None,
        repo_type: str | None = None,
        revision: str | None = None,
        commit_message: str | None = None,
        commit_description: str | None = None,
        create_pr: bool | None = None,
        parent_commit: str | None = None,
    ) -> CommitInfo:
        """Delete one file in a commit, as `HfApi.delete_file`: a `create_commit` with one
        `CommitOperationDelete`, so it lands exactly once like any commit (a lost answer is looked up before
        resending).

        Raises:
            EntryNotFoundError: no such file at `revision`.
            RepositoryNotFoundError, RevisionNotFoundError, CommitConflictError: as `create_commit`.
            ValueError, TypeError: bad arguments (before any request).
        """
        self._check_token(token)
        operation = CommitOperationDelete(path_in_repo=path_in_repo)
        return await self.create_commit(
            repo_id,
            [operation],
            commit_message=commit_message
            if commit_message is not None
            else f"Delete {path_in_repo} with huggingface_hub",
            commit_description=commit_description,
            repo_type=repo_type,
            revision=revision,
            create_pr=create_pr,
            parent_commit=parent_commit,
        )

    async def delete_folder(
        self,
        path_in_repo: str,
        repo_id: str,
        *,
        token: bool | str | None = None,
        repo_type: str | None = None,
        revision: str | None = None,
        commit_message: str | None = None,
        commit_description: str | None = None,
        create_pr: bool | None = None,
        parent_commit: str | None = None,
    ) -> CommitInfo:
        """Delete a folder and everything under it in a commit, as `HfApi.delete_folder` (a `create_commit`
        with one `CommitOperationDelete(is_folder=True)`).

        Raises:
            EntryNotFoundError: no such folder at `revision`.
            RepositoryNotFoundError, RevisionNotFoundError, CommitConflictError: as `create_commit`.
            ValueError, TypeError: bad arguments (before any request).
        """
        self._check_token(token)
        operation = CommitOperationDelete(path_in_repo=path_in_repo, is_folder=True)
        return await self.create_commit(
            repo_id,
            [operation],
            commit_message=commit_message
            if commit_message is not None
            else f"Delete folder {path_in_repo} with huggingface_hub",
            commit_description=commit_description,
            repo_type=repo_type,
            revision=revision,
            create_pr=create_pr,
            parent_commit=parent_commit,
        )

    async def list_repo_files(
        self,
        repo_id: str,
        *,
        revision: str | None = None,
        repo_type: str | None = None,
        token: bool | str | None = None,
    ) -> list[str]:
        """Every file path in the repo at `revision`, as `HfApi.list_repo_files`.

        Reads `GET /api/{type}s/{id}/tree/{rev}?recursive=true` and follows its `Link` pagination.
        """
        self._check_token(token)
        return await self._files.list_repo_files(repo_id, revision=revision, repo_type=repo_type)

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
        token: bool | str | None = None,
        local_files_only: bool = False,
    ) -> str:
        """Download one file and return its local path, as `hf_hub_download`.

        Without `local_dir`, the file lands in a cache laid out like huggingface_hub's, so both share it:
        `<cache_dir>/<type>s--<ns>--<name>/blobs/<etag>`, `snapshots/<commit>/<filename>` (a relative
        symlink to the blob, or a copy where symlinks are unsupported) and `refs/<revision>` (the commit sha).
        A `HEAD` request gives the commit and ETag; a cached blob with that ETag is reused without
        downloading. If the Hub can't be reached, the copy cached for `revision` is returned.

        With `local_dir`, the file is written to `<local_dir>/<filename>` and its commit and ETag to
        `<local_dir>/.cache/huggingface/download/<filename>.metadata`; an up-to-date copy is not downloaded
        again.

        Args:
            repo_id: `namespace/name`.
            filename: path of the file in the repo.
            subfolder: folder in the repo prepended to `filename`.
            repo_type: "model" (default), "dataset" or "space".
            revision: branch, tag or commit sha (default "main").
            cache_dir: cache root (default: `HF_HUB_CACHE`, `$HF_HOME/hub` or `~/.cache/huggingface/hub`,
                as set when the client was created).
            local_dir: download into this folder instead of the cache.
            force_download: download even if a cached copy is up to date.
            etag_timeout: seconds to wait for the metadata (`HEAD`) answer.
            local_files_only: never send a request; return the cached copy or raise `FileNotFoundError`.
            token: `HfApi`'s per-call token; only None, True or this client's own (see `SpacesClient`).

        Returns:
            The local path of the file, as a str.

        Raises:
            EntryNotFoundError, RevisionNotFoundError, RepositoryNotFoundError: as the Hub answers.
            FileNotFoundError: `local_files_only=True` and no cached copy.
        """
        self._check_token(token)
        return await self._downloads.hf_hub_download(
            repo_id,
            filename,
            subfolder=subfolder,
            repo_type=repo_type,
            revision=revision,
            cache_dir=cache_dir,
            local_dir=local_dir,
            force_download=force_download,
            etag_timeout=etag_timeout,
            local_files_only=local_files_only,
        )

    async def read_file(
        self, repo_id: str, filename: str, *, repo_type: str | None = None, revision: str | None = None
    ) -> bytes | None:
        """The content of a (small) file of a repo, in memory, or None when the revision has no such file.

        `GET /{type}s/{id}/resolve/{revision}/{filename}`. Pass a commit sha as `revision`
        (see `revision_sha`) to read exactly the file a later `create_commit(parent_commit=sha)` is based on.

        Args:
            repo_id: `namespace/name`.
            filename: the file's path in the repo.
            repo_type: "model" (default), "dataset" or "space".
            revision: a branch, tag or commit sha (default "main").

        Raises:
            RepositoryNotFoundError, RevisionNotFoundError: as the Hub answers.
            ValueError, TypeError: bad arguments (before any request).
        """
        return await self._downloads.read_file(repo_id, filename, repo_type=repo_type, revision=revision)

    async def revision_sha(
        self, repo_id: str, *, repo_type: str | None = None, revision: str | None = None
    ) -> str:
        """The commit sha a branch or tag of a repo points to now.

        `GET /api/{type}s/{id}/revision/{revision}?expand=sha`: a cheap read of a branch's
        head, e.g. to commit with `parent_commit` (compare-and-swap) on what was read at that sha.

        Args:
            repo_id: `namespace/name`.
            repo_type: "model" (default), "dataset" or "space".
            revision: a branch, tag or commit sha (default "main").

        Raises:
            RepositoryNotFoundError, RevisionNotFoundError: as the Hub answers.
            ValueError, TypeError: bad arguments (before any request).
        """
        return await self._files.revision_sha(repo_id, repo_type=repo_type, revision=revision)


async def _copies_as_additions(
    ops: Sequence[CommitOperation | CommitOperationCopy],
    repo_id: str,
    repo_type: str | None,
    revision: str | None,
    folder: Path,
    download: Download,
) -> list[CommitOperation]:
    """Each `CommitOperationCopy` replaced by the addition of its source file, downloaded into `folder`.

    The source revision defaults as in huggingface_hub (`_fetch_files_to_copy`): the commit's own
    revision for a file of this repo, "main" for another repo's. A missing source raises
    `EntryNotFoundError` before anything is committed.
    """
    result: list[CommitOperation] = []
    for index, op in enumerate(ops):
        if not isinstance(op, CommitOperationCopy):
            result.append(op)
            continue
        other_repo = op.src_repo_id is not None
        local = await download(
            op.src_repo_id or repo_id,
            op.src_path_in_repo,
            repo_type=op.src_repo_type if other_repo else repo_type,
            revision=op.src_revision or ("main" if other_repo else revision),
            local_dir=folder / str(index),
        )
        result.append(CommitOperationAdd(path_in_repo=op.path_in_repo, path_or_fileobj=local))
    return result
