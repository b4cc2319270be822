"""The git layer's vocabulary: content ids, file and commit records, commit operations and errors.

Content is addressed the way git and git-LFS address it, so the ids the simulator hands out are the ids a
real client computes locally (git blob sha-1 for regular files, sha-256 for LFS objects, hub-api.md §11.3):
that is what lets the official client skip unchanged files.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from collections.abc import Mapping

import attrs

RepoKey = tuple[str, str]
"""(repo_type, repo_id), repo_type in {"model", "dataset", "space"}."""

REPO_TYPES: tuple[str, ...] = ("model", "dataset", "space")

LFS_POINTER_TEMPLATE = "version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n"

# The `.gitattributes` the Hub writes into every new repo's initial commit (the LFS patterns of a fresh
# huggingface.co repo). Files matching one of these patterns are uploaded through LFS (hub-api.md §11.3).
_LFS_PATTERNS = (
    "*.7z *.arrow *.bin *.bz2 *.ckpt *.ftz *.gz *.h5 *.joblib *.lfs.* *.mlmodel *.model *.msgpack *.npy "
    "*.npz *.onnx *.ot *.parquet *.pb *.pickle *.pkl *.pt *.pth *.rar *.safetensors saved_model/**/* "
    "*.tar.* *.tar *.tflite *.tgz *.wasm *.xz *.zip *.zst *tfevents*"
)
DEFAULT_GITATTRIBUTES = "".join(f"{p} filter=lfs diff=lfs merge=lfs -text\n" for p in _LFS_PATTERNS.split())


def git_blob_sha1(data: bytes) -> str:
    """The git blob id of `data`: sha-1 of `blob <size>\\0<data>` (what `git hash-object` prints)."""
    digest = hashlib.sha1(b"blob %d\x00" % len(data), usedforsecurity=False)
    digest.update(data)
    return digest.hexdigest()


def sha256_hex(data: bytes) -> str:
    """The sha-256 hex digest of `data` (the LFS object id)."""
    return hashlib.sha256(data).hexdigest()


def lfs_pointer(oid: str, size: int) -> bytes:
    """The git-LFS pointer file that stands in the git tree for an LFS object."""
    return LFS_POINTER_TEMPLATE.format(oid=oid, size=size).encode()


@attrs.frozen
class FileInfo:
    """One file in a tree.

    Attributes:
        path: Path in the repo (`/`-separated, no leading slash).
        size: Size of the file's content in bytes (the LFS object's size for LFS files).
        blob_oid: The git blob sha-1 of what git stores: the content for regular files, the pointer file
            for LFS files (the Hub's tree `oid`).
        lfs_sha256: The LFS object id (sha-256 of the content), or None for a regular file.
    """

    path: str
    size: int
    blob_oid: str
    lfs_sha256: str | None = None

    @property
    def is_lfs(self) -> bool:
        """Whether the file's content lives in the LFS store."""
        return self.lfs_sha256 is not None

    @property
    def etag(self) -> str:
        """The id the Hub uses as the file's ETag: sha-256 for LFS files, blob sha-1 otherwise (§12.2)."""
        return self.lfs_sha256 or self.blob_oid

    @property
    def pointer_size(self) -> int:
        """Size of the LFS pointer file (the Hub's `lfs.pointerSize`); 0 for regular files."""
        if self.lfs_sha256 is None:
            return 0
        return len(lfs_pointer(self.lfs_sha256, self.size))


@attrs.frozen
class CommitRecord:
    """One commit.

    Attributes:
        sha: 40-hex commit id.
        parents: Parent commit ids (empty for the initial commit).
        title: Commit title (the NDJSON header's `summary`).
        message: Commit description (may be empty).
        author: User name of the author.
        timestamp: Host clock time of the commit (`GitStore`'s `now`).
        date: Wall-clock time of the commit as a timezone-aware datetime (rendered in API answers).
        tree: The full tree after this commit, path → `FileInfo`.
    """

    sha: str
    parents: tuple[str, ...]
    title: str
    message: str
    author: str
    timestamp: float
    date: _dt.datetime
    tree: Mapping[str, FileInfo]


class RepoNotFound(KeyError):
    """No repo with this key in the store."""


class RevisionNotFound(KeyError):
    """The revision names no branch, PR ref or commit of the repo."""


class EntryNotFound(KeyError):
    """A deletion names a path that does not exist in the tree."""


class BranchExists(ValueError):
    """The branch to create already exists (the Hub's 409)."""


class EscapingPath(ValueError):
    """A path that leaves the repo's root (a `..` segment, or a leading `..\\`): the Hub's 422."""


class ParentMismatch(Exception):
    """A conditional commit's parent is no longer the head of the branch (the Hub answers 412)."""


class MissingLFSObject(Exception):
    """An `lfsFile` addition names an object that was never uploaded to the repo."""

    def __init__(self, oid: str) -> None:
        super().__init__(oid)
        self.oid = oid


@attrs.frozen
class CommitResult:
    """What a successful `GitStore.commit` produced.

    Attributes:
        sha: The new commit id.
        revision: The ref that now points at it (`"main"`, `"refs/pr/3"`, ...).
        pr_num: The pull request number when the commit opened one, else None.
    """

    sha: str
    revision: str
    pr_num: int | None = None


@attrs.frozen
class LFSAddition:
    """An `lfsFile` line of a commit: a path pointing at an already uploaded LFS object."""

    oid: str
    size: int | None = None


@attrs.frozen
class AddFile:
    """Add or replace `path`: bytes (regular, or LFS when `lfs`), or an already uploaded LFS object."""

    path: str
    content: bytes | LFSAddition
    lfs: bool = False


@attrs.frozen
class DeleteFile:
    """Delete the file `path` (it must exist)."""

    path: str


@attrs.frozen
class DeleteFolder:
    """Delete every file under the folder `path`."""

    path: str


Operation = AddFile | DeleteFile | DeleteFolder
