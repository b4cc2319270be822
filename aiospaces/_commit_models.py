"""Commits, pure part: operations, hashing, and the wire payloads of preupload, LFS batch and NDJSON commit.

No HTTP here (design.md §6 "pure wire mapping"): `_files.py` sends what these functions build and feeds
them what the Hub answers. Wire shapes are from hub-api.md §11 and huggingface_hub's `_commit_api.py` /
`lfs.py` (2.4.0).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Literal

import attrs

from . import errors
from ._wire import fix_endpoint_in_url
from .models import CommitInfo
from .validation import resolve_repo_type, validate_path_in_repo, validate_repo_id, validate_revision

__all__ = [
    "CommitOperation",
    "CommitOperationAdd",
    "CommitOperationDelete",
    "UploadInfo",
]

COMMIT_HASH_RE = re.compile(r"[0-9a-f]{40}")
SHA256_RE = re.compile(r"[0-9a-f]{64}")

# Always left out of `upload_folder` (huggingface_hub utils/_paths.py DEFAULT_IGNORE_PATTERNS).
DEFAULT_IGNORE_PATTERNS = (
    ".git",
    ".git/*",
    "*/.git",
    "**/.git/**",
    ".cache/huggingface",
    ".cache/huggingface/*",
    "*/.cache/huggingface",
    "**/.cache/huggingface/**",
)

PREUPLOAD_BATCH = 256  # files per preupload request (huggingface_hub _fetch_upload_modes)
LFS_BATCH = 256  # objects per LFS batch request (hub-api.md §11.4)
SAMPLE_SIZE = 512  # bytes of each file sent to preupload as `sample` (hub-api.md §11.3)
HASH_CHUNK = 1 << 20  # read size when hashing or streaming a file: memory stays at about one chunk

LFS_HEADERS = {"Accept": "application/vnd.git-lfs+json", "Content-Type": "application/vnd.git-lfs+json"}
NDJSON_CONTENT_TYPE = "application/x-ndjson"

UploadMode = Literal["lfs", "regular"]


# --- hashing ---------------------------------------------------------------------------------------------


def git_blob_sha1(data: bytes) -> str:
    """Git blob id of `data`: sha1 of `b"blob <size>\\0" + data` (hub-api.md §11.3)."""
    digest = hashlib.sha1(b"blob %d\0" % len(data), usedforsecurity=False)
    digest.update(data)
    return digest.hexdigest()


@attrs.define
class UploadInfo:
    """Size, first bytes, sha-256 and git blob sha-1 of one file to upload.

    Both hashes come from a single streamed pass (`hash_stream`), so a large file is read once, a chunk at
    a time: the sha-256 is the LFS object id, the sha-1 the git blob id the Hub reports for regular files.
    """

    size: int
    sample: bytes
    sha256: str
    sha1: str

    @classmethod
    def from_bytes(cls, data: bytes) -> UploadInfo:
        """Hash an in-memory blob."""
        return cls(
            size=len(data),
            sample=data[:SAMPLE_SIZE],
            sha256=hashlib.sha256(data).hexdigest(),
            sha1=git_blob_sha1(data),
        )

    @classmethod
    def from_stream(cls, stream: BinaryIO, size: int, *, chunk_size: int = HASH_CHUNK) -> UploadInfo:
        """Hash `size` bytes read from `stream` in chunks of `chunk_size` (blocking; run it in a thread)."""
        sha256 = hashlib.sha256()
        sha1 = hashlib.sha1(b"blob %d\0" % size, usedforsecurity=False)
        sample = b""
        read = 0
        while True:
            chunk = stream.read(chunk_size)
            if not chunk:
                break
            if len(sample) < SAMPLE_SIZE:
                sample += chunk[: SAMPLE_SIZE - len(sample)]
            sha256.update(chunk)
            sha1.update(chunk)
            read += len(chunk)
        if read != size:
            # The git blob header carries the size: a file that changed while being read would get a wrong id.
            raise ValueError(f"file changed while hashing: expected {size} bytes, read {read}")
        return cls(size=size, sample=sample, sha256=sha256.hexdigest(), sha1=sha1.hexdigest())

    @classmethod
    def from_path(cls, path: str, *, chunk_size: int = HASH_CHUNK) -> UploadInfo:
        """Hash a file on disk, streamed (blocking; run it in a thread)."""
        with open(path, "rb") as file:
            return cls.from_stream(file, os.fstat(file.fileno()).st_size, chunk_size=chunk_size)


# --- operations ------------------------------------------------------------------------------------------


def _convert_source(value: object) -> str | bytes | BinaryIO:
    if isinstance(value, Path):
        return str(value)
    return value  # type: ignore[return-value]  # validated below


def _source_repr(value: object) -> str:
    # In-memory content is shown by size only: a repr lands in logs and tracebacks, and the content may be
    # a credentials file or megabytes of weights.
    return f"<{len(value)} bytes>" if isinstance(value, bytes) else repr(value)


@attrs.define(eq=False)
class CommitOperationAdd:
    """Add or replace one file in a commit (huggingface_hub's `CommitOperationAdd`).

    Args:
        path_in_repo: where the file goes in the repo, e.g. `"checkpoints/weights.bin"`.
        path_or_fileobj: a path to a local file (`str` or `Path`; streamed from disk, never read whole for
            LFS uploads), the content as `bytes`, or a binary file object that supports `seek()`/`tell()`.

    Raises:
        TypeError: `path_or_fileobj` has an unsupported type.
        ValueError: `path_in_repo` is invalid, or the local path is not a file.
    """

    path_in_repo: str = attrs.field(converter=validate_path_in_repo)
    path_or_fileobj: str | bytes | BinaryIO = attrs.field(converter=_convert_source, repr=_source_repr)

    # Filled in by create_commit from the Hub's preupload answer.
    _upload_info: UploadInfo | None = attrs.field(default=None, init=False, repr=False)
    _upload_mode: UploadMode | None = attrs.field(default=None, init=False, repr=False)
    _should_ignore: bool = attrs.field(default=False, init=False, repr=False)
    _remote_oid: str | None = attrs.field(default=None, init=False, repr=False)

    @path_or_fileobj.validator
    def _check_source(self, _attribute: object, value: object) -> None:
        if isinstance(value, str):
            if not os.path.isfile(os.path.expanduser(value)):
                raise ValueError(f"path_or_fileobj: {value!r} is not a file on the local file system")
        elif isinstance(value, bytes):
            pass
        elif isinstance(value, io.IOBase) or (hasattr(value, "read") and hasattr(value, "seek")):
            if isinstance(value, io.TextIOBase):
                raise TypeError("path_or_fileobj must be opened in binary mode ('rb')")
            try:
                value.seek(0, os.SEEK_CUR)
                value.tell()  # type: ignore[attr-defined]
            except (OSError, AttributeError) as exc:
                raise ValueError(
                    "path_or_fileobj is a file object but does not support seek() and tell()"
                ) from exc
        else:
            raise TypeError(
                "path_or_fileobj must be a str or Path to a local file, bytes, or a binary file object, "
                f"got {type(value).__name__}"
            )

    @property
    def upload_info(self) -> UploadInfo:
        """Size and hashes; computed by `create_commit` (call `compute_upload_info()` to get them earlier)."""
        if self._upload_info is None:
            return self.compute_upload_info()
        return self._upload_info

    def compute_upload_info(self) -> UploadInfo:
        """Hash the content in one streamed pass and keep the result, which `create_commit` then uses instead
        of hashing again (blocking: `create_commit` runs it in a worker thread)."""
        self._upload_info = self._hash()
        return self._upload_info

    def _hash(self) -> UploadInfo:
        source = self.path_or_fileobj
        if isinstance(source, bytes):
            return UploadInfo.from_bytes(source)
        if isinstance(source, str):
            return UploadInfo.from_path(os.path.expanduser(source))
        start = source.tell()
        try:
            end = source.seek(0, os.SEEK_END)
            source.seek(start)
            return UploadInfo.from_stream(source, end - start)
        finally:
            source.seek(start)

    @property
    def local_oid(self) -> str | None:
        """The id the Hub's preupload `oid` is compared with: sha-256 for LFS files, git sha-1 for regular."""
        if self._upload_mode is None or self._upload_info is None:
            return None
        return self._upload_info.sha256 if self._upload_mode == "lfs" else self._upload_info.sha1

    def open(self) -> _Reader:
        """A blocking reader over the content from its start (for hashing, inline encoding or streaming)."""
        return _Reader(self.path_or_fileobj)

    def read_all(self) -> bytes:
        """The whole content (only used for small, regular files that travel inline in the commit)."""
        with self.open() as stream:
            return stream.read()


class _Reader:
    """Context manager: a binary stream over an operation's content; restores a file object's position."""

    def __init__(self, source: str | bytes | BinaryIO) -> None:
        self._source = source
        self._stream: BinaryIO | None = None
        self._start = 0

    def __enter__(self) -> BinaryIO:
        if isinstance(self._source, bytes):
            self._stream = io.BytesIO(self._source)
        elif isinstance(self._source, str):
            self._stream = open(os.path.expanduser(self._source), "rb")
        else:
            self._start = self._source.tell()
            self._stream = self._source
        return self._stream

    def __exit__(self, *exc: object) -> None:
        assert self._stream is not None
        if isinstance(self._source, str):
            self._stream.close()
        elif not isinstance(self._source, bytes):
            self._source.seek(self._start)


def _convert_is_folder(value: object) -> bool | Literal["auto"]:
    if value == "auto" or isinstance(value, bool):
        return value
    raise ValueError(f"is_folder must be True, False or 'auto', got {value!r}")


def _deletion_path(value: object) -> str:
    return validate_path_in_repo(value, folder=True)


@attrs.define
class CommitOperationDelete:
    """Delete a file, or a folder (path ending with `/` or `is_folder=True`), in a commit.

    Args:
        path_in_repo: the file or folder to delete, e.g. `"logs/"`.
        is_folder: `True`, `False`, or `"auto"` (a folder if `path_in_repo` ends with `/`).
    """

    path_in_repo: str = attrs.field(converter=_deletion_path)
    is_folder: bool | Literal["auto"] = attrs.field(default="auto", converter=_convert_is_folder)

    def __attrs_post_init__(self) -> None:
        if self.is_folder == "auto":
            self.is_folder = self.path_in_repo.endswith("/")


def _copy_path(value: object) -> str:
    return validate_path_in_repo(value)


def _optional_revision(value: object) -> str | None:
    return None if value is None else validate_revision(value, arg="src_revision")


@attrs.define
class CommitOperationCopy:
    """Copy a file of this repo (or of another repo) to a path of this repo, in a commit, as
    huggingface_hub's `CommitOperationCopy`.

    `create_commit` reads the source file from the Hub and commits it as an addition at `path_in_repo`, so
    it goes through the same preupload, LFS and exactly-once landing as any added file (an LFS object the
    repo already has is not uploaded again).

    Args:
        src_path_in_repo: the file to copy, e.g. `"checkpoints/1fec34a/weights.bin"`.
        path_in_repo: where to put the copy.
        src_revision: the source's revision (default: the commit's branch, or "main" for another repo).
        src_repo_id: another repo to copy from (default: this one); needs `src_repo_type`.
        src_repo_type: that repo's type, "model", "dataset" or "space"; needs `src_repo_id`.

    Raises:
        ValueError: a bad path or revision, or only one of `src_repo_id` and `src_repo_type`.
    """

    src_path_in_repo: str = attrs.field(converter=_copy_path)
    path_in_repo: str = attrs.field(converter=_copy_path)
    src_revision: str | None = attrs.field(default=None, converter=_optional_revision)
    src_repo_id: str | None = None
    src_repo_type: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.src_repo_id is not None and self.src_repo_type is None:
            raise ValueError("src_repo_type is required when src_repo_id is set")
        if self.src_repo_type is not None and self.src_repo_id is None:
            raise ValueError("src_repo_id is required when src_repo_type is set")
        if self.src_repo_id is not None:
            self.src_repo_id = validate_repo_id(self.src_repo_id, arg="src_repo_id")
            self.src_repo_type = resolve_repo_type(self.src_repo_type, arg="src_repo_type")


CommitOperation = CommitOperationAdd | CommitOperationDelete


def validate_operations(operations: object) -> list[CommitOperation]:
    """Materialise `operations` and check every item's type (TypeError before any request)."""
    if isinstance(operations, (str, bytes)) or not isinstance(operations, Iterable):
        raise TypeError("operations must be an iterable of CommitOperationAdd / CommitOperationDelete")
    result = list(operations)
    for op in result:
        if not isinstance(op, (CommitOperationAdd, CommitOperationDelete)):
            raise TypeError(
                "operations must contain CommitOperationAdd or CommitOperationDelete, "
                f"got {type(op).__name__}"
            )
    additions = [op for op in result if isinstance(op, CommitOperationAdd)]
    if len({id(op) for op in additions}) != len(additions):
        raise ValueError("the same CommitOperationAdd object appears twice in operations")
    return result


# --- preupload -------------------------------------------------------------------------------------------


def preupload_payload(
    additions: Sequence[CommitOperationAdd], *, git_ignore: str | None = None
) -> dict[str, Any]:
    """Body of `POST /api/{type}s/{id}/preupload/{rev}` (hub-api.md §11.3)."""
    payload: dict[str, Any] = {
        "files": [
            {
                "path": op.path_in_repo,
                "sample": base64.b64encode(op.upload_info.sample).decode("ascii"),
                "size": op.upload_info.size,
            }
            for op in additions
        ]
    }
    if git_ignore is not None:
        payload["gitIgnore"] = git_ignore
    return payload


@attrs.frozen
class PreuploadEntry:
    """One file of the Hub's preupload answer."""

    path: str
    upload_mode: UploadMode
    should_ignore: bool
    oid: str | None


def parse_preupload_response(payload: object) -> dict[str, PreuploadEntry]:
    """Parse the preupload answer into entries by path; `UnexpectedResponseError` when it is malformed."""
    files = payload.get("files") if isinstance(payload, dict) else None
    if not isinstance(files, list):
        raise errors.UnexpectedResponseError("malformed preupload answer from the Hub: no 'files' list")
    entries: dict[str, PreuploadEntry] = {}
    for item in files:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("path"), str)
            and item.get("uploadMode") in ("lfs", "regular")
        ):
            raise errors.UnexpectedResponseError(f"malformed preupload answer from the Hub: {item!r}")
        oid = item.get("oid")
        entries[item["path"]] = PreuploadEntry(
            path=item["path"],
            upload_mode=item["uploadMode"],
            should_ignore=bool(item.get("shouldIgnore", False)),
            oid=oid if isinstance(oid, str) else None,
        )
    return entries


def apply_preupload(additions: Sequence[CommitOperationAdd], entries: Mapping[str, PreuploadEntry]) -> None:
    """Record each addition's upload mode, ignore flag and remote oid from the preupload answer."""
    for op in additions:
        entry = entries.get(op.path_in_repo)
        if entry is None:
            raise ValueError(f"the Hub's preupload answer does not mention {op.path_in_repo!r}")
        # Empty files can't go through LFS (S3 rejects them): the official client forces them inline.
        op._upload_mode = "regular" if op.upload_info.size == 0 else entry.upload_mode
        op._should_ignore = entry.should_ignore
        op._remote_oid = entry.oid


def drop_noops(operations: Sequence[CommitOperation]) -> list[CommitOperation]:
    """Remove additions whose content the Hub already has at that path (hub-api.md §11.1 step 6).

    A file also deleted (itself or a parent folder) in the same commit is kept, as the official client does.
    """
    deleted = {op.path_in_repo.rstrip("/") for op in operations if isinstance(op, CommitOperationDelete)}

    def is_deleted(path: str) -> bool:
        return path in deleted or any(str(parent) in deleted for parent in PurePosixPath(path).parents)

    kept: list[CommitOperation] = []
    for op in operations:
        if (
            isinstance(op, CommitOperationAdd)
            and op._remote_oid is not None
            and op._remote_oid == op.local_oid
            and not is_deleted(op.path_in_repo)
        ):
            continue
        kept.append(op)
    return kept


# --- LFS batch -------------------------------------------------------------------------------------------


def lfs_batch_payload(infos: Sequence[UploadInfo], *, revision: str | None) -> dict[str, Any]:
    """Body of the LFS batch request (hub-api.md §11.4); `revision=None` when opening a PR (no `ref`)."""
    payload: dict[str, Any] = {
        "operation": "upload",
        "transfers": ["basic", "multipart"],
        "objects": [{"oid": info.sha256, "size": info.size} for info in infos],
        "hash_algo": "sha256",
    }
    if revision is not None:
        payload["ref"] = {"name": revision}
    return payload


@attrs.frozen
class LfsAction:
    """Where to send one LFS object: one PUT, or multipart parts + completion URL; plus an optional verify."""

    oid: str
    size: int
    upload_href: str
    upload_header: Mapping[str, str]
    verify_href: str | None = None
    verify_header: Mapping[str, str] = attrs.Factory(dict)

    @property
    def chunk_size(self) -> int | None:
        """Part size when the Hub asks for a multipart upload (`header.chunk_size`), else None."""
        raw = self.upload_header.get("chunk_size")
        if raw is None:
            return None
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise errors.UnexpectedResponseError(
                f"malformed LFS batch answer: chunk_size {raw!r} is not an integer"
            ) from None

    def part_urls(self) -> list[str]:
        """The multipart part URLs, in part order; ValueError if their count does not match the size."""
        chunk_size = self.chunk_size
        assert chunk_size is not None
        parts = sorted((int(key), url) for key, url in self.upload_header.items() if key.isdigit())
        if len(parts) != math.ceil(self.size / chunk_size):
            raise errors.UnexpectedResponseError(
                "malformed LFS batch answer: wrong number of multipart upload URLs"
            )
        return [url for _, url in parts]


def parse_lfs_batch_response(payload: object) -> tuple[list[LfsAction], set[str]]:
    """Parse the LFS batch answer: the objects to upload, and the oids the Hub already stores.

    Raises:
        UnexpectedResponseError: the answer is malformed or reports a per-object error.
    """
    objects = payload.get("objects") if isinstance(payload, dict) else None
    if not isinstance(objects, list):
        raise errors.UnexpectedResponseError("malformed LFS batch answer from the Hub: no 'objects' list")
    actions: list[LfsAction] = []
    present: set[str] = set()
    refused: list[str] = []
    for obj in objects:
        if not (
            isinstance(obj, dict) and isinstance(obj.get("oid"), str) and isinstance(obj.get("size"), int)
        ):
            raise errors.UnexpectedResponseError(f"malformed LFS batch answer from the Hub: {obj!r}")
        if "error" in obj:
            error = obj["error"] if isinstance(obj["error"], dict) else {}
            refused.append(f"{obj['oid']}: {error.get('code')} {error.get('message')}")
            continue
        obj_actions = obj.get("actions")
        if not obj_actions:
            present.add(obj["oid"])  # already stored: no upload needed
            continue
        upload = obj_actions.get("upload") if isinstance(obj_actions, dict) else None
        verify = obj_actions.get("verify") if isinstance(obj_actions, dict) else None
        for action in (upload, verify):
            if action is not None and not (
                isinstance(action, dict)
                and isinstance(action.get("href"), str)
                and isinstance(action.get("header", {}), dict)
            ):
                raise errors.UnexpectedResponseError(f"malformed LFS batch action from the Hub: {action!r}")
        if upload is None:
            raise errors.UnexpectedResponseError(
                f"malformed LFS batch answer from the Hub: no upload action for {obj['oid']}"
            )
        actions.append(
            LfsAction(
                oid=obj["oid"],
                size=obj["size"],
                upload_href=upload["href"],
                upload_header={str(k): str(v) for k, v in (upload.get("header") or {}).items()},
                verify_href=verify["href"] if verify else None,
                verify_header={str(k): str(v) for k, v in ((verify or {}).get("header") or {}).items()},
            )
        )
    if refused:
        raise errors.UnexpectedResponseError(
            "the Hub's LFS batch endpoint refused some objects: " + "; ".join(refused)
        )
    return actions, present


def multipart_completion_payload(oid: str, etags: Sequence[str | None]) -> dict[str, Any]:
    """Body of the multipart completion POST: every part's ETag, in order (hub-api.md §11.4)."""
    parts = []
    for number, etag in enumerate(etags, start=1):
        if not etag:
            raise errors.UnexpectedResponseError(f"the LFS storage returned no ETag for part {number}")
        parts.append({"partNumber": number, "etag": etag})
    return {"oid": oid, "parts": parts}


# --- NDJSON commit ---------------------------------------------------------------------------------------


def commit_lines(
    operations: Iterable[CommitOperation],
    *,
    commit_message: str,
    commit_description: str | None,
    parent_commit: str | None,
) -> Iterator[dict[str, Any]]:
    """The NDJSON commit items (hub-api.md §11.5): the header, then one line per operation.

    Additions must have been through preupload (upload mode known); ignored files are left out.
    """
    header: dict[str, Any] = {"summary": commit_message, "description": commit_description or ""}
    if parent_commit is not None:
        header["parentCommit"] = parent_commit
    yield {"key": "header", "value": header}
    for op in operations:
        if isinstance(op, CommitOperationDelete):
            yield {
                "key": "deletedFolder" if op.is_folder else "deletedFile",
                "value": {"path": op.path_in_repo},
            }
        elif op._should_ignore:
            continue
        elif op._upload_mode == "regular":
            yield {
                "key": "file",
                "value": {
                    "content": base64.b64encode(op.read_all()).decode("ascii"),
                    "path": op.path_in_repo,
                    "encoding": "base64",
                },
            }
        elif op._upload_mode == "lfs":
            info = op.upload_info
            yield {
                "key": "lfsFile",
                "value": {"path": op.path_in_repo, "algo": "sha256", "oid": info.sha256, "size": info.size},
            }
        else:
            raise ValueError(f"upload mode of {op.path_in_repo!r} is unknown: preupload must run first")


def commit_body(lines: Iterable[Mapping[str, Any]]) -> bytes:
    """Serialise commit items as NDJSON (one object per line, newline-terminated)."""
    return b"".join(json.dumps(line, separators=(",", ":")).encode() + b"\n" for line in lines)


def parse_commit_response(
    payload: object,
    *,
    commit_message: str,
    commit_description: str | None,
    create_pr: bool,
    endpoint: str,
) -> CommitInfo:
    """Build a `CommitInfo` from the commit answer (`commitOid`, `commitUrl`, `pullRequestUrl`)."""
    if not (isinstance(payload, dict) and isinstance(payload.get("commitOid"), str)):
        raise errors.UnexpectedResponseError("malformed commit answer from the Hub: no 'commitOid'")
    commit_url = payload.get("commitUrl")
    if not isinstance(commit_url, str):
        raise errors.UnexpectedResponseError("malformed commit answer from the Hub: no 'commitUrl'")
    pr_url = payload.get("pullRequestUrl") if create_pr else None
    return CommitInfo(
        fix_endpoint_in_url(commit_url, endpoint),
        commit_message,
        commit_description or "",
        payload["commitOid"],
        fix_endpoint_in_url(pr_url, endpoint) if isinstance(pr_url, str) else None,
        endpoint=endpoint,
    )


# --- patterns --------------------------------------------------------------------------------------------


def pattern_list(patterns: object, name: str) -> list[str] | None:
    """Normalise a pattern argument (str, list of str or None); TypeError naming `name` otherwise."""
    if patterns is None:
        return None
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, Iterable) or not all(isinstance(p, str) for p in patterns):
        raise TypeError(f"{name} must be a str, a list of str, or None")
    return [
        (p.replace("\\", "/") + "*") if p.endswith(("/", "\\")) else p.replace("\\", "/") for p in patterns
    ]


def filter_paths(
    paths: Iterable[str],
    *,
    allow_patterns: str | Sequence[str] | None = None,
    ignore_patterns: str | Sequence[str] | None = None,
) -> list[str]:
    """Keep the paths matching an allow pattern (if any) and no ignore pattern.

    Same rules as huggingface_hub's `filter_repo_objects`: `fnmatchcase` (case-sensitive, `*` crosses `/`),
    a pattern ending in `/` matches everything below that folder, backslashes count as `/`.
    """
    allow = pattern_list(allow_patterns, "allow_patterns")
    ignore = pattern_list(ignore_patterns, "ignore_patterns")
    kept = []
    for path in paths:
        normalised = path.replace("\\", "/")
        if allow is not None and not any(fnmatchcase(normalised, p) for p in allow):
            continue
        if ignore is not None and any(fnmatchcase(normalised, p) for p in ignore):
            continue
        kept.append(path)
    return kept


# --- download cache layout -------------------------------------------------------------------------------


def repo_folder_name(repo_id: str, repo_type: str) -> str:
    """`models--ns--name`, `datasets--ns--name`, `spaces--ns--name` (huggingface_hub `repo_folder_name`)."""
    return "--".join([f"{repo_type}s", *repo_id.split("/")])


def normalize_etag(etag: str | None) -> str | None:
    """Strip the `W/` prefix and quotes of an ETag (huggingface_hub `_normalize_etag`)."""
    if etag is None:
        return None
    if etag.startswith("W/"):
        etag = etag[2:]
    return etag.strip('"')
