"""What the file routes decide and how they answer: upload modes from `.gitattributes`, `.gitignore`
matching, tree listings, NDJSON commit parsing and file downloads (hub-api.md §11, §12).

Pure helpers over the `GitStore`; the routes themselves are in `_routes_git.py`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import fnmatch
import hashlib
import json
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ._git_common import quote_path
from ._git_objects import (
    AddFile,
    CommitRecord,
    DeleteFile,
    DeleteFolder,
    FileInfo,
    LFSAddition,
    Operation,
    RepoKey,
)
from ._git_store import GitStore
from ._http import HubError, SimRequest, SimResponse

# [inferred] the real Hub sends files of 10 MB or more through LFS (hub-api.md §11.3).
LFS_SIZE_THRESHOLD = 10 * 1024 * 1024
STREAM_THRESHOLD = 1024 * 1024  # bodies above this are streamed in chunks of this size
# The client caps inline payload at 1 GB per commit (hub-api.md §11.1): base64 makes that 4/3 GB of NDJSON,
# plus room for the JSON around it. Bigger commit bodies are refused with 413.
MAX_COMMIT_BODY = 1024**3 * 4 // 3 + 64 * 1024 * 1024
_HEX_RE = re.compile(r"^[0-9a-fA-F]{5,40}$")


def truthy(value: str | None) -> bool:
    """A query flag's truth, as the Hub reads `1`, `true`, `yes` or `on`."""
    return (value or "").lower() in ("1", "true", "yes", "on")


def iso_date(date: _dt.datetime) -> str:
    """A commit date as the Hub prints it (milliseconds, `Z`)."""
    return date.strftime("%Y-%m-%dT%H:%M:%S.") + f"{date.microsecond // 1000:03d}Z"


# ----------------------------------------------------------------------------- upload mode decisions
def _attribute_patterns(gitattributes: str) -> list[tuple[str, bool]]:
    """(pattern, is_lfs) for each `.gitattributes` line that sets or unsets the LFS filter."""
    out: list[tuple[str, bool]] = []
    for line in gitattributes.splitlines():
        parts = line.strip().split()
        if not parts or parts[0].startswith("#"):
            continue
        for attr in parts[1:]:
            if attr == "filter=lfs":
                out.append((parts[0], True))
            elif attr in ("-filter", "!filter") or (attr.startswith("filter=") and attr != "filter=lfs"):
                out.append((parts[0], False))
    return out


def _pattern_matches(pattern: str, path: str) -> bool:
    anchored = pattern.startswith("/")
    pattern = pattern.lstrip("/")
    if "/" not in pattern.rstrip("/") and not anchored:
        # A pattern without a slash matches a name at any depth (gitignore/gitattributes rules).
        return any(fnmatch.fnmatchcase(part, pattern.rstrip("/")) for part in path.split("/"))
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, pattern.rstrip("/") + "/*")


def is_lfs_by_attributes(gitattributes: str, path: str) -> bool:
    """Whether `.gitattributes` puts `path` through LFS (the last matching line wins)."""
    result = False
    for pattern, lfs in _attribute_patterns(gitattributes):
        if "/" not in pattern and not pattern.startswith("/"):
            matched = fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], pattern)
        else:
            matched = fnmatch.fnmatchcase(path, pattern.lstrip("/"))
        if matched:
            result = lfs
    return result


def is_ignored(gitignore: str, path: str) -> bool:
    """Whether `.gitignore` text ignores `path` (last matching pattern wins; `!` negates)."""
    ignored = False
    for line in gitignore.splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        if negate:
            pattern = pattern[1:]
        if _pattern_matches(pattern, path):
            ignored = not negate
    return ignored


def _looks_binary(sample: bytes) -> bool:
    if b"\x00" in sample:
        return True
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The sample is cut at 512 bytes and may end inside a multi-byte character.
        return exc.start < len(sample) - 3
    return False


def upload_mode(path: str, size: int, sample: bytes, gitattributes: str) -> str:
    """ "lfs" or "regular", as the Hub decides it ([inferred] hub-api.md §11.3: patterns, size, binary)."""
    if is_lfs_by_attributes(gitattributes, path) or size >= LFS_SIZE_THRESHOLD or _looks_binary(sample):
        return "lfs"
    return "regular"


# --------------------------------------------------------------------------------------- listings
class TreeView:
    """Directory structure of one commit's tree, with git-like directory ids and last-commit lookups."""

    def __init__(self, git: GitStore, key: RepoKey, record: CommitRecord) -> None:
        self.git, self.key, self.record = git, key, record
        self.dirs: set[str] = set()
        for path in record.tree:
            parts = path.split("/")
            for i in range(1, len(parts)):
                self.dirs.add("/".join(parts[:i]))
        self._dir_oids: dict[str, str] = {}
        self._history: list[CommitRecord] | None = None

    def dir_oid(self, directory: str, tree: Mapping[str, FileInfo] | None = None) -> str:
        tree = self.record.tree if tree is None else tree
        prefix = directory + "/"
        listing = "".join(f"{p}\0{i.blob_oid}\n" for p, i in sorted(tree.items()) if p.startswith(prefix))
        return hashlib.sha1(b"tree\0" + listing.encode(), usedforsecurity=False).hexdigest()

    def _cached_dir_oid(self, directory: str) -> str:
        if directory not in self._dir_oids:
            self._dir_oids[directory] = self.dir_oid(directory)
        return self._dir_oids[directory]

    def last_commit(self, path: str, is_dir: bool) -> dict[str, str]:
        if self._history is None:
            self._history = self.git.history(self.key, self.record.sha)
        history = self._history
        found = history[-1]
        for index, commit in enumerate(history):
            parent = history[index + 1] if index + 1 < len(history) else None
            mine: str | None
            theirs: str | None
            if is_dir:
                mine = self.dir_oid(path, commit.tree)
                theirs = self.dir_oid(path, parent.tree) if parent else None
            else:
                info, before = commit.tree.get(path), parent.tree.get(path) if parent else None
                mine = info.blob_oid if info else None
                theirs = before.blob_oid if before else None
            if mine != theirs:
                found = commit
                break
        return {"id": found.sha, "title": found.title, "date": iso_date(found.date)}

    def entry(self, path: str, expand: bool) -> dict[str, Any]:
        if path in self.dirs:
            out: dict[str, Any] = {
                "type": "directory",
                "oid": self._cached_dir_oid(path),
                "size": 0,
                "path": path,
            }
            if expand:
                out["lastCommit"] = self.last_commit(path, is_dir=True)
            return out
        info = self.record.tree[path]
        out = {"type": "file", "oid": info.blob_oid, "size": info.size, "path": path}
        if info.lfs_sha256 is not None:
            out["lfs"] = {"oid": info.lfs_sha256, "size": info.size, "pointerSize": info.pointer_size}
        if expand:
            out["lastCommit"] = self.last_commit(path, is_dir=False)
            out["securityFileStatus"] = {
                "status": "safe",
                "avScan": {"virusFound": False, "virusNames": None},
                "pickleImportScan": None,
            }
        return out

    def children(self, folder: str, recursive: bool) -> list[str]:
        prefix = folder + "/" if folder else ""
        dirs = sorted(
            d for d in self.dirs if d.startswith(prefix) and (recursive or "/" not in d[len(prefix) :])
        )
        files = sorted(
            p for p in self.record.tree if p.startswith(prefix) and (recursive or "/" not in p[len(prefix) :])
        )
        # Folders first, then files, each sorted (as in hf_api.py's list_repo_tree docstring example).
        return dirs + files


def page_of(
    req: SimRequest, items: list[Any], size: int, param: str
) -> tuple[list[Any], list[tuple[str, str]]]:
    """Slice one page at the `param` cursor and build the `Link: <...>; rel="next"` header (absolute URL)."""
    raw_cursor = req.arg(param) or ""
    try:
        start = int(base64.urlsafe_b64decode(raw_cursor.encode() + b"==").decode()) if raw_cursor else 0
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise HubError(400, f"Invalid {param}") from None
    if start < 0:
        raise HubError(400, f"Invalid {param}")
    page = items[start : start + size]
    headers: list[tuple[str, str]] = []
    if start + size < len(items):
        cursor = base64.urlsafe_b64encode(str(start + size).encode()).decode().rstrip("=")
        query = [(k, v) for k, v in req.query if k != param] + [(param, cursor)]
        path = req.raw_path.split("?", 1)[0]
        headers.append(("Link", f'<{req.base_url}{path}?{urlencode(query)}>; rel="next"'))
    return page, headers


# -------------------------------------------------------------------------------------- commit bodies
def text_of(git: GitStore, key: RepoKey, info: FileInfo | None) -> str:
    """A stored file's text ("" when there is no such file)."""
    if info is None:
        return ""
    return git.content(key, info).decode("utf-8", errors="replace")


def html_text(text: str) -> str:
    """Text as the Hub's `formatted` commit fields show it: HTML-escaped, newlines as `<br>`."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("\n", "<br>")


def parse_paths_info(req: SimRequest) -> tuple[list[str], bool]:
    """`paths` and `expand` from the form body (the official client) or a JSON body (huggingface.js)."""
    content_type = req.headers.get("content-type", "")
    if "json" in content_type:
        payload = req.json()
        if not isinstance(payload, dict):
            raise HubError(400, "Invalid JSON body: expected an object")
        raw_paths, expand = payload.get("paths"), payload.get("expand", False)
        if isinstance(raw_paths, str):
            raw_paths = [raw_paths]
        if not isinstance(raw_paths, list) or not all(isinstance(p, str) for p in raw_paths):
            raise HubError(400, '"paths" must be a list of strings')
        return list(raw_paths), bool(expand) if not isinstance(expand, str) else truthy(expand)
    try:
        form = parse_qsl(req.body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise HubError(400, "Invalid form body") from None
    paths = [value for name, value in form if name in ("paths", "paths[]")]
    expand = any(name == "expand" and truthy(value) for name, value in form)
    return paths, expand


def parse_ndjson(body: bytes) -> tuple[dict[str, Any], list[Operation]]:
    """The header and the ordered operations of an NDJSON commit body; the Hub's 400 on anything malformed."""
    header: dict[str, Any] | None = None
    operations: list[Operation] = []
    for number, line in enumerate(body.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise HubError(400, f"Invalid NDJSON: line {number} is not valid JSON") from None
        if not isinstance(item, dict) or not isinstance(item.get("value"), dict):
            raise HubError(400, f'Invalid NDJSON: line {number} must be {{"key": ..., "value": {{...}}}}')
        kind, value = item.get("key"), item["value"]
        if header is None:
            if kind != "header":
                raise HubError(400, "Invalid commit: the first line must be the header")
            summary = value.get("summary")
            if not isinstance(summary, str) or not summary.strip():
                raise HubError(400, "Invalid commit: the header needs a non-empty summary")
            description = value.get("description", "")
            if description is not None and not isinstance(description, str):
                raise HubError(400, "Invalid commit: description must be a string")
            parent = value.get("parentCommit")
            if parent is not None and (not isinstance(parent, str) or not _HEX_RE.match(parent)):
                raise HubError(400, "Invalid commit: parentCommit must be a commit id")
            header = value
            continue
        path = value.get("path")
        if not isinstance(path, str) or not path:
            raise HubError(400, f"Invalid commit: line {number} needs a path")
        if kind == "file":
            operations.append(AddFile(path, _decode_content(value, number)))
        elif kind == "lfsFile":
            oid, size, algo = value.get("oid"), value.get("size"), value.get("algo", "sha256")
            if algo != "sha256" or not isinstance(oid, str) or not re.fullmatch(r"[0-9a-f]{64}", oid):
                raise HubError(400, f"Invalid commit: line {number} needs a sha256 oid")
            if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
                raise HubError(400, f"Invalid commit: line {number} has an invalid size")
            operations.append(AddFile(path, LFSAddition(oid, size)))
        elif kind == "deletedFile":
            operations.append(DeleteFile(path))
        elif kind == "deletedFolder":
            operations.append(DeleteFolder(path))
        else:
            raise HubError(400, f"Invalid commit: unknown line kind {kind!r}")
    if header is None:
        raise HubError(400, "Invalid commit: missing header line")
    return header, operations


def _decode_content(value: Mapping[str, Any], number: int) -> bytes:
    content, encoding = value.get("content"), value.get("encoding", "base64")
    if not isinstance(content, str):
        raise HubError(400, f"Invalid commit: line {number} needs a content string")
    if encoding == "utf-8":
        return content.encode("utf-8")
    if encoding != "base64":
        raise HubError(400, f"Invalid commit: unknown encoding {encoding!r}")
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise HubError(400, f"Invalid commit: line {number} has invalid base64 content") from None


# ---------------------------------------------------------------------------------------- download
def file_response(req: SimRequest, commit_sha: str, info: FileInfo, data: bytes) -> SimResponse:
    """200/206/416 for a file, with the headers `hf_hub_download` needs (hub-api.md §12.2)."""
    total = len(data)
    filename = info.path.rsplit("/", 1)[-1]
    # The quoted `filename=` fallback must be one ASCII token; `filename*` carries the real UTF-8 name.
    ascii_name = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)
    headers: list[tuple[str, str]] = [
        (
            "Content-Type",
            "application/octet-stream"
            if info.is_lfs or _looks_binary(data[:512])
            else "text/plain; charset=utf-8",
        ),
        ("X-Repo-Commit", commit_sha),
        ("ETag", f'"{info.etag}"'),
        ("Accept-Ranges", "bytes"),
        (
            "Content-Disposition",
            f"inline; filename*=UTF-8''{quote_path(filename)}; filename=\"{ascii_name}\";",
        ),
    ]
    if info.lfs_sha256 is not None:
        headers += [("X-Linked-Etag", f'"{info.lfs_sha256}"'), ("X-Linked-Size", str(info.size))]
    status, start, end = 200, 0, total
    byte_range = _parse_range(req.headers.get("range"), total)
    if byte_range == "unsatisfiable":
        return SimResponse(
            status=416,
            headers=[("Content-Range", f"bytes */{total}"), ("X-Repo-Commit", commit_sha)],
        )
    if isinstance(byte_range, tuple):
        status, (start, end) = 206, byte_range
        headers.append(("Content-Range", f"bytes {start}-{end - 1}/{total}"))
    # Content-Length is the real size on HEAD too (hub-api.md §14 item 13).
    headers.append(("Content-Length", str(end - start)))
    if req.method == "HEAD":
        return SimResponse(status=status, headers=headers)
    if end - start <= STREAM_THRESHOLD:
        return SimResponse(status=status, headers=headers, body=data[start:end])
    return SimResponse(status=status, headers=headers, stream=_chunks(data, start, end))


async def _chunks(data: bytes, start: int, end: int) -> AsyncIterator[bytes]:
    view = memoryview(data)
    for offset in range(start, end, STREAM_THRESHOLD):
        yield bytes(view[offset : min(offset + STREAM_THRESHOLD, end)])


def _parse_range(value: str | None, total: int) -> tuple[int, int] | str | None:
    """(start, end-exclusive) for one `bytes=` range, "unsatisfiable", or None (serve everything)."""
    if not value:
        return None
    match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", value)
    if match is None:
        return None  # multiple or malformed ranges: answer 200 with the whole body, as servers may
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:
        length = int(last)
        if length == 0:
            return "unsatisfiable"
        return max(0, total - length), total
    start = int(first)
    end = total if not last else min(int(last) + 1, total)
    if start >= total or end <= start:
        return "unsatisfiable"
    return start, end
