"""The simulated Hub's git layer: every repo's commits, branches and trees, plus the LFS object store.

Pure data, no HTTP: the file routes (`_routes_git.py`, `_lfs.py`) and the hub (`HubState`) both drive it.
Memory: a file's bytes are stored once (regular files by blob sha-1, LFS objects by sha-256) and shared by
every commit, branch and copied repo that refers to them; trees are small dicts of `FileInfo`.
Repo ids are matched regardless of case, as the Hub matches them; each repo keeps the casing it was created
with. Thread safety: one lock guards every mutation, so the socket server's thread and a test's seeding calls
can use the same store; each commit's parent check and branch update happen under it (no lost update).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import itertools
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

import attrs

from ._git_objects import (
    REPO_TYPES,
    AddFile,
    BranchExists,
    CommitRecord,
    CommitResult,
    DeleteFile,
    DeleteFolder,
    EntryNotFound,
    EscapingPath,
    FileInfo,
    LFSAddition,
    MissingLFSObject,
    Operation,
    ParentMismatch,
    RepoKey,
    RepoNotFound,
    RevisionNotFound,
    git_blob_sha1,
    lfs_pointer,
    sha256_hex,
)

_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_SHORT_SHA_RE = re.compile(r"^[0-9a-f]{7,40}$")


@attrs.define
class _Repo:
    key: RepoKey  # as first written: repo ids are matched without regard to case, shown as created
    branches: dict[str, str] = attrs.field(factory=dict)  # ref name ("main", "refs/pr/1") → commit sha
    tags: dict[str, str] = attrs.field(factory=dict)  # tag name ("v1.0") → commit sha
    commits: dict[str, CommitRecord] = attrs.field(factory=dict)
    lfs_objects: dict[str, bytes] = attrs.field(factory=dict)  # sha256 → content (shared, never copied)
    next_pr: int = 1
    last_modified: float = 0.0


class GitStore:
    """All repos' trees and commits, plus the LFS object store.

    Args:
        now: Host clock (seconds) stamped on commits and returned by `last_modified`; defaults to
            `time.time`. Commit dates shown in API answers are wall-clock times: `now()` offset so that the
            store's creation maps to the real time of creation (a virtual clock starting at 0 still yields
            plausible dates).
    """

    def __init__(self, now: Callable[[], float] | None = None) -> None:
        self._now: Callable[[], float] = now or time.time
        self._epoch_offset = time.time() - self._now()
        self._repos: dict[RepoKey, _Repo] = {}
        self._blobs: dict[str, bytes] = {}  # git blob sha-1 → content of regular files
        self._lock = threading.RLock()
        self._counter = itertools.count(1)
        # Signs the LFS upload URLs this hub hands out (hub-api.md §11.4: hrefs work without auth).
        self.signing_key = secrets.token_bytes(32)
        # LFS objects at least this large get a multipart upload action (None: always a single PUT).
        self.multipart_threshold: int | None = None
        self.multipart_chunk_size = 8 * 1024 * 1024
        self._parts: dict[tuple[RepoKey, str], dict[int, bytes]] = {}  # multipart uploads in flight

    # ----------------------------------------------------------------------------------------- repos
    def has_repo(self, key: RepoKey) -> bool:
        """Whether the repo exists in the store."""
        return _fold(key) in self._repos

    def canonical_key(self, key: RepoKey) -> RepoKey:
        """The repo's key as it was created (`key` itself when there is no such repo)."""
        repo = self._repos.get(_fold(key))
        return repo.key if repo is not None else key

    def create_repo(self, key: RepoKey, *, initial_files: Mapping[str, bytes], author: str) -> str:
        """Create a repo whose `main` branch holds one initial commit with `initial_files`.

        Returns:
            The initial commit's sha.

        Raises:
            ValueError: if the repo already exists or the repo type is unknown.
        """
        _check_key(key)
        with self._lock:
            if _fold(key) in self._repos:
                raise ValueError(f"repo {key!r} already exists")
            repo = _Repo(key)
            self._repos[_fold(key)] = repo
            tree = {path: self._store_regular(path, data) for path, data in initial_files.items()}
            record = self._new_commit(repo, tree, (), "initial commit", "", author)
            repo.branches["main"] = record.sha
            return record.sha

    def delete_repo(self, key: RepoKey) -> None:
        """Forget a repo (its blobs shared with other repos stay)."""
        with self._lock:
            if self._repos.pop(_fold(key), None) is None:
                raise RepoNotFound(key)

    def copy_repo(self, src: RepoKey, dst: RepoKey, *, author: str) -> str:
        """Create `dst` with one commit holding `src`'s `main` tree and LFS objects (duplication).

        Returns:
            The new repo's commit sha.
        """
        _check_key(dst)
        with self._lock:
            source = self._repo(src)
            if _fold(dst) in self._repos:
                raise ValueError(f"repo {dst!r} already exists")
            head = source.commits[source.branches["main"]]
            repo = _Repo(dst, lfs_objects=dict(source.lfs_objects))
            self._repos[_fold(dst)] = repo
            record = self._new_commit(repo, dict(head.tree), (), f"Duplicate from {src[1]}", "", author)
            repo.branches["main"] = record.sha
            return record.sha

    def rename_repo(self, src: RepoKey, dst: RepoKey) -> None:
        """Move `src` with its whole history, branches and LFS objects to `dst` (a repo move)."""
        _check_key(dst)
        with self._lock:
            self._repo(src)
            if _fold(dst) in self._repos:
                raise ValueError(f"repo {dst!r} already exists")
            repo = self._repos.pop(_fold(src))
            repo.key = dst
            self._repos[_fold(dst)] = repo

    # ------------------------------------------------------------------------------------- reading
    def head(self, key: RepoKey, revision: str = "main") -> str | None:
        """The commit sha `revision` resolves to, or None when the repo or revision does not exist."""
        with self._lock:
            repo = self._repos.get(_fold(key))
            if repo is None:
                return None
            return _resolve(repo, revision)

    def resolve(self, key: RepoKey, revision: str = "main") -> CommitRecord:
        """The commit `revision` (branch, `refs/heads/x`, `refs/pr/N`, or a commit sha) points at.

        Raises:
            RepoNotFound: no such repo.
            RevisionNotFound: no such revision.
        """
        with self._lock:
            repo = self._repo(key)
            sha = _resolve_existing(repo, revision)
            return repo.commits[sha]

    def list_files(self, key: RepoKey, revision: str = "main") -> dict[str, FileInfo]:
        """The tree at `revision` (path → `FileInfo`); empty if the repo or revision does not exist."""
        try:
            return dict(self.resolve(key, revision).tree)
        except KeyError:
            return {}

    def read_file(self, key: RepoKey, path: str, revision: str = "main") -> bytes | None:
        """The content of `path` at `revision`, or None if any of repo, revision, path is missing."""
        try:
            info = self.resolve(key, revision).tree.get(path)
        except KeyError:
            return None
        if info is None:
            return None
        return self.content(key, info)

    def content(self, key: RepoKey, info: FileInfo) -> bytes:
        """The bytes behind a `FileInfo` of repo `key` (the stored object itself, not a copy)."""
        with self._lock:
            if info.lfs_sha256 is not None:
                return self._repo(key).lfs_objects[info.lfs_sha256]
            return self._blobs[info.blob_oid]

    def last_modified(self, key: RepoKey) -> float:
        """Host clock time of the repo's last commit (on any ref)."""
        with self._lock:
            return self._repo(key).last_modified

    def history(self, key: RepoKey, revision: str = "main") -> list[CommitRecord]:
        """Commits reachable from `revision`, newest first (first-parent order, as `git log` lists them)."""
        with self._lock:
            repo = self._repo(key)
            sha = _resolve_existing(repo, revision)
            out: list[CommitRecord] = []
            current: str | None = sha
            while current is not None:
                record = repo.commits[current]
                out.append(record)
                current = record.parents[0] if record.parents else None
            return out

    def branches(self, key: RepoKey) -> dict[str, str]:
        """Every ref of the repo (branch names and `refs/pr/N`) → commit sha."""
        with self._lock:
            return dict(self._repo(key).branches)

    def tags(self, key: RepoKey) -> dict[str, str]:
        """Every tag of the repo (tag name → commit sha)."""
        with self._lock:
            return dict(self._repo(key).tags)

    # ----------------------------------------------------------------------------------------- LFS
    def has_lfs_object(self, key: RepoKey, oid: str) -> bool:
        """Whether the LFS object `oid` (sha-256) was uploaded to repo `key`."""
        with self._lock:
            return oid in self._repo(key).lfs_objects

    def lfs_object_size(self, key: RepoKey, oid: str) -> int | None:
        """Size of the stored LFS object, or None if it is not stored."""
        with self._lock:
            data = self._repo(key).lfs_objects.get(oid)
            return None if data is None else len(data)

    def lfs_object(self, key: RepoKey, oid: str) -> bytes | None:
        """The stored LFS object (by reference), or None."""
        with self._lock:
            return self._repo(key).lfs_objects.get(oid)

    def stage_part(self, key: RepoKey, oid: str, number: int, data: bytes) -> None:
        """Keep part `number` of a multipart upload of object `oid` until the upload completes."""
        with self._lock:
            self._parts.setdefault((key, oid), {})[number] = data

    def staged_parts(self, key: RepoKey, oid: str) -> dict[int, bytes]:
        """The parts uploaded so far for object `oid`, by part number."""
        with self._lock:
            return dict(self._parts.get((key, oid), {}))

    def drop_parts(self, key: RepoKey, oid: str) -> None:
        """Forget a multipart upload's parts (once it is complete)."""
        with self._lock:
            self._parts.pop((key, oid), None)

    def put_lfs_object(self, key: RepoKey, data: bytes, *, oid: str | None = None) -> str:
        """Store `data` as an LFS object of repo `key` (kept by reference, not copied).

        Args:
            key: The repo.
            data: The object's bytes.
            oid: The sha-256 the uploader claims; checked when given.

        Returns:
            The object's sha-256.

        Raises:
            ValueError: `oid` is not the sha-256 of `data`.
        """
        actual = sha256_hex(data)
        if oid is not None and oid != actual:
            raise ValueError(f"sha256 mismatch: expected {oid}, got {actual}")
        with self._lock:
            self._repo(key).lfs_objects[actual] = data
        return actual

    # -------------------------------------------------------------------------------------- writing
    def commit(
        self,
        key: RepoKey,
        *,
        additions: Mapping[str, bytes | LFSAddition] | None = None,
        deletions: Iterable[str] = (),
        deleted_folders: Iterable[str] = (),
        operations: Sequence[Operation] | None = None,
        message: str,
        description: str = "",
        author: str,
        revision: str = "main",
        parent: str | None = None,
        create_pr: bool = False,
        lfs_paths: Iterable[str] = (),
    ) -> CommitResult:
        """Apply one commit atomically.

        Args:
            key: The repo.
            additions: path → bytes (stored as a regular file, or as LFS when the path is in `lfs_paths`),
                or path → `LFSAddition` (an object already uploaded with `put_lfs_object`).
            deletions: Paths of files to delete (each must exist).
            deleted_folders: Folder paths whose files are all deleted (a missing folder is a no-op).
            operations: Ordered operations (`AddFile`, `DeleteFile`, `DeleteFolder`), applied in order after
                `deleted_folders`, `deletions` and `additions` (the commit route passes NDJSON lines here).
            message: Commit title.
            description: Commit description.
            author: User name of the author.
            revision: Branch (or `refs/pr/N`) to commit to; with `create_pr`, the base of the new PR.
            parent: Expected head (full sha or a prefix of at least 5 hex characters); `ParentMismatch` if
                the branch moved (the Hub's 412, hub-api.md §11.6). With `create_pr` it is the PR's base.
            create_pr: Open a pull request (`refs/pr/N`) holding the commit instead of moving `revision`.
            lfs_paths: Paths among `additions` (given as bytes) to store through LFS.

        Returns:
            The `CommitResult` (new sha, the ref it is on, the PR number if one was opened).

        Raises:
            RepoNotFound, RevisionNotFound, ParentMismatch, EntryNotFound (deleting a missing file),
            MissingLFSObject (an `LFSAddition` that was never uploaded), ValueError (bad path, or a path
            that is both a file and a folder).
        """
        lfs_set = set(lfs_paths)
        ops: list[Operation] = [DeleteFolder(p) for p in deleted_folders]
        ops += [DeleteFile(p) for p in deletions]
        ops += [AddFile(p, v, lfs=p in lfs_set) for p, v in (additions or {}).items()]
        ops += operations or ()
        with self._lock:
            repo = self._repo(key)
            base_sha = _commit_base(repo, revision, parent, create_pr=create_pr)
            tree = dict(repo.commits[base_sha].tree)
            for op in ops:
                self._apply(repo, tree, op)
            # git cannot hold a file and a folder at the same path.
            _check_tree(tree)
            record = self._new_commit(repo, tree, (base_sha,), message, description, author)
            if create_pr:
                num = repo.next_pr
                repo.next_pr += 1
                ref = f"refs/pr/{num}"
                repo.branches[ref] = record.sha
                return CommitResult(record.sha, ref, num)
            repo.branches[revision] = record.sha
            return CommitResult(record.sha, revision, None)

    def _apply(self, repo: _Repo, tree: dict[str, FileInfo], op: Operation) -> None:
        """Apply one operation of a commit to the tree being built."""
        if isinstance(op, DeleteFolder):
            prefix = op.path.strip("/") + "/"
            if prefix == "/":
                tree.clear()
                return
            for path in [p for p in tree if p.startswith(prefix)]:
                del tree[path]
        elif isinstance(op, DeleteFile):
            if op.path in tree:
                del tree[op.path]
                return
            # A file deletion naming a folder deletes the folder, as the Hub does: huggingface_hub 2.4
            # `_commit_api.py` (`CommitOperationDelete`) sends `deletedFile` for any path not ending in "/",
            # and its tests (`tests/test_hf_api.py`, `test_create_commit_implicit_delete_folder_is_ok`)
            # commit `CommitOperationDelete(path_in_repo="1")` on a folder against the real Hub.
            prefix = op.path.strip("/") + "/"
            inside = [p for p in tree if p.startswith(prefix)] if prefix != "/" else []
            if not inside:
                raise EntryNotFound(op.path)
            for path in inside:
                del tree[path]
        else:
            _check_path(op.path)
            value = op.content
            if isinstance(value, LFSAddition):
                stored = repo.lfs_objects.get(value.oid)
                if stored is None or (value.size is not None and value.size != len(stored)):
                    raise MissingLFSObject(value.oid)
                tree[op.path] = _lfs_info(op.path, value.oid, len(stored))
            elif op.lfs:
                oid = sha256_hex(value)
                repo.lfs_objects.setdefault(oid, value)
                tree[op.path] = _lfs_info(op.path, oid, len(value))
            else:
                tree[op.path] = self._store_regular(op.path, value)

    def create_branch(self, key: RepoKey, branch: str, *, revision: str = "main") -> str:
        """Create `branch` at `revision`'s commit; returns that sha."""
        with self._lock:
            repo = self._repo(key)
            sha = _resolve_existing(repo, revision)
            if branch in repo.branches:
                raise BranchExists(branch)
            repo.branches[branch] = sha
            return sha

    def create_tag(self, key: RepoKey, tag: str, *, revision: str = "main") -> str:
        """Tag `revision`'s commit (a branch, `refs/pr/N`, a tag or a full or short commit sha).

        Returns:
            The tagged commit's sha.

        Raises:
            RepoNotFound, RevisionNotFound: no such repo or revision.
            BranchExists: the tag already exists.
        """
        with self._lock:
            repo = self._repo(key)
            sha = _resolve_existing(repo, revision)
            if tag in repo.tags:
                raise BranchExists(tag)
            repo.tags[tag] = sha
            return sha

    def delete_tag(self, key: RepoKey, tag: str) -> None:
        """Delete a tag; `RevisionNotFound` when there is no such tag (a branch's name included)."""
        with self._lock:
            repo = self._repo(key)
            if repo.tags.pop(tag, None) is None:
                raise RevisionNotFound(tag)

    def delete_branch(self, key: RepoKey, branch: str) -> None:
        """Delete a branch (not `main`, not a PR ref).

        Raises:
            RevisionNotFound: no such branch.
            ValueError: `main` or a `refs/pr/N` ref.
        """
        with self._lock:
            repo = self._repo(key)
            if branch == "main" or branch.startswith("refs/"):
                raise ValueError(f"cannot delete {branch!r}")
            if branch not in repo.branches:
                raise RevisionNotFound(branch)
            del repo.branches[branch]

    # ------------------------------------------------------------------------------------ internals
    def _repo(self, key: RepoKey) -> _Repo:
        repo = self._repos.get(_fold(key))
        if repo is None:
            raise RepoNotFound(key)
        return repo

    def _store_regular(self, path: str, data: bytes) -> FileInfo:
        _check_path(path)
        oid = git_blob_sha1(data)
        self._blobs.setdefault(oid, data)
        return FileInfo(path=path, size=len(data), blob_oid=oid, lfs_sha256=None)

    def _new_commit(
        self,
        repo: _Repo,
        tree: dict[str, FileInfo],
        parents: tuple[str, ...],
        title: str,
        description: str,
        author: str,
    ) -> CommitRecord:
        now = self._now()
        wall = _dt.datetime.fromtimestamp(self._epoch_offset + now, tz=_dt.UTC)
        # A git-like commit object; the counter keeps ids unique even for identical content and time.
        listing = "".join(f"{p}\0{i.blob_oid}\n" for p, i in sorted(tree.items()))
        tree_id = hashlib.sha1(listing.encode(), usedforsecurity=False).hexdigest()
        body = (
            f"tree {tree_id}\n"
            + "".join(f"parent {p}\n" for p in parents)
            + f"author {author} {wall.timestamp():.6f}\nserial {next(self._counter)}\n"
            + f"\n{title}\n\n{description}"
        ).encode()
        sha = hashlib.sha1(b"commit %d\x00" % len(body) + body, usedforsecurity=False).hexdigest()
        record = CommitRecord(
            sha=sha,
            parents=parents,
            title=title,
            message=description,
            author=author,
            timestamp=now,
            date=wall,
            tree=tree,
        )
        repo.commits[sha] = record
        repo.last_modified = now
        return record


def _lfs_info(path: str, oid: str, size: int) -> FileInfo:
    return FileInfo(path=path, size=size, blob_oid=git_blob_sha1(lfs_pointer(oid, size)), lfs_sha256=oid)


def _fold(key: RepoKey) -> RepoKey:
    """The case-insensitive form of a repo key: the Hub finds `alice/MyRepo` as `alice/myrepo` too."""
    return (key[0], key[1].lower())


def _check_key(key: RepoKey) -> None:
    if key[0] not in REPO_TYPES:
        raise ValueError(f"unknown repo type {key[0]!r}")


def _check_path(path: str) -> None:
    # Same rules as the official client's path normalisation (hub-api.md §11.1): git cannot store these.
    parts = path.split("/")
    if ".." in parts or path.startswith("..\\"):
        # A path leaving the root is the Hub's 422. The client only splits on "/", so `..\ddd` reaches the
        # Hub, which refuses it; `folder/..\..\file` is a plain name there (huggingface_hub's
        # `tests/test_file_download.py`, `TestHfHubDownloadRelativePaths`, uploads only the latter).
        raise EscapingPath(f"invalid path in repo: {path!r} leaves the repository")
    if (
        not path
        or path.startswith("/")
        or "\x00" in path  # a git tree entry name ends at its NUL byte
        or any(part in ("", ".", "..", ".git") for part in parts)
    ):
        raise ValueError(f"invalid path in repo: {path!r}")


def _commit_base(repo: _Repo, revision: str, parent: str | None, *, create_pr: bool) -> str:
    """The commit a new commit on `revision` builds on, after checking the expected `parent`."""
    if revision not in repo.branches:
        # Only branches (and PR refs) can receive commits; a commit sha or unknown name cannot.
        raise RevisionNotFound(revision)
    head_sha = repo.branches[revision]
    if parent is None:
        return head_sha
    if create_pr:
        found = _find_commit(repo, parent)
        if found is None:
            raise RevisionNotFound(parent)
        return found
    if len(parent) < 5 or not head_sha.startswith(parent.lower()):
        raise ParentMismatch(parent)
    return head_sha


def _check_tree(tree: Mapping[str, FileInfo]) -> None:
    for path in tree:
        parts = path.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in tree:
                raise ValueError(f"{'/'.join(parts[:i])!r} is a file, cannot hold {path!r}")


def _find_commit(repo: _Repo, ref: str) -> str | None:
    ref = ref.lower()
    if _SHA_RE.match(ref):
        return ref if ref in repo.commits else None
    if len(ref) >= 5 and re.fullmatch(r"[0-9a-f]+", ref):
        matches = [sha for sha in repo.commits if sha.startswith(ref)]
        return matches[0] if len(matches) == 1 else None
    return None


def _resolve_existing(repo: _Repo, revision: str) -> str:
    """The sha `revision` points at; `RevisionNotFound` when it points nowhere."""
    sha = _resolve(repo, revision)
    if sha is None:
        raise RevisionNotFound(revision)
    return sha


def _resolve(repo: _Repo, revision: str) -> str | None:
    if revision in repo.branches:
        return repo.branches[revision]
    if revision.startswith("refs/heads/") and revision[len("refs/heads/") :] in repo.branches:
        return repo.branches[revision[len("refs/heads/") :]]
    # A tag is a revision like a branch (huggingface_hub tests: `model_info(revision=tag)` reads the tagged
    # commit); a branch of the same name wins [inferred].
    if revision in repo.tags:
        return repo.tags[revision]
    if revision.startswith("refs/tags/") and revision[len("refs/tags/") :] in repo.tags:
        return repo.tags[revision[len("refs/tags/") :]]
    if _SHORT_SHA_RE.match(revision):
        return _find_commit(repo, revision)
    return None
