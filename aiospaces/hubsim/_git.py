"""The simulated Hub's file layer: `GitStore` plus the routes the official client uses for files.

Routes (hub-api.md §11, §12; shapes checked against huggingface_hub 2.4.0's `_commit_api.py`, `lfs.py`,
`file_download.py` and `hf_api.py`):

- `POST /api/{type}s/{id}/preupload/{rev}`: upload mode per file, `shouldIgnore`, existing `oid`, `commitOid`.
- `POST /api/{type}s/{id}/commit/{rev}`: NDJSON commit (`header`, `file`, `lfsFile`, `deletedFile`,
  `deletedFolder`), `parentCommit` → 412, `create_pr=1` → `refs/pr/N`.
- `GET /api/{type}s/{id}/tree/{rev}[/{path}]`, `POST /api/{type}s/{id}/paths-info/{rev}`,
  `GET /api/{type}s/{id}/commits/{rev}`: listings, Link-paginated.
- `GET|HEAD /{prefix}{id}/resolve/{rev}/{path}`: downloads with the Hub's headers and `Range` support.
- The LFS batch endpoint and its pre-signed upload URLs (`_lfs.py`).

Every route authorizes through `GitHost.authorize_repo` before reading or writing, and the commit route calls
`GitHost.after_commit` after each commit landing on `main`.
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

from ._git_common import (
    GitHost,
    check_repo,
    entry_not_found,
    quote_path,
    raw_tail,
    repo_url,
    store_errors,
)
from ._git_store import (
    DEFAULT_GITATTRIBUTES,
    AddFile,
    BranchExists,
    CommitRecord,
    DeleteFile,
    DeleteFolder,
    FileInfo,
    GitStore,
    LFSAddition,
    Operation,
    RepoKey,
    git_blob_sha1,
    sha256_hex,
)
from ._http import HubError, Router, SimRequest, SimResponse, json_response
from ._lfs import register_lfs_routes

__all__ = [
    "DEFAULT_GITATTRIBUTES",
    "CommitRecord",
    "FileInfo",
    "GitHost",
    "GitStore",
    "RepoKey",
    "git_blob_sha1",
    "register_routes",
    "sha256_hex",
]

# [inferred] the real Hub sends files of 10 MB or more through LFS (hub-api.md §11.3).
LFS_SIZE_THRESHOLD = 10 * 1024 * 1024
MAX_PREUPLOAD_FILES = 1000  # the client sends chunks of 256 (hub-api.md §11.3)
TREE_PAGE_SIZE = 1000  # [inferred] Hub tree pages; Link-paginated (hub-api.md §11.7)
TREE_EXPAND_PAGE_SIZE = 50  # [inferred] expanded entries are costlier, smaller pages
COMMITS_PAGE_SIZE = 50  # [inferred]
STREAM_THRESHOLD = 1024 * 1024  # bodies above this are streamed in chunks of this size
# The client caps inline payload at 1 GB per commit (hub-api.md §11.1): base64 makes that 4/3 GB of NDJSON,
# plus room for the JSON around it. Bigger commit bodies are refused with 413.
MAX_COMMIT_BODY = 1024**3 * 4 // 3 + 64 * 1024 * 1024
_HEX_RE = re.compile(r"^[0-9a-fA-F]{5,40}$")

_API = r"/api/(?P<api_type>models|datasets|spaces)/(?P<ns>[^/]+)/(?P<name>[^/]+)"
_API_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
# Model repos have no prefix: the lookahead keeps `/api/...`, `/datasets/...` and `/spaces/...` out of it.
_WEB = r"/(?:(?P<prefix>datasets|spaces)/)?(?!api/|datasets/|spaces/)(?P<ns>[^/]+)/(?P<name>[^/]+)"


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes", "on")


def _iso(date: _dt.datetime) -> str:
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
class _TreeView:
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
        return {"id": found.sha, "title": found.title, "date": _iso(found.date)}

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


def _page(
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


# ------------------------------------------------------------------------------------------ routes
def register_routes(router: Router, host: GitHost) -> None:
    """Register every file route (preupload, commit, LFS, resolve, tree, paths-info, commits) on `router`."""

    def api_key(api_type: str, ns: str, name: str) -> RepoKey:
        return (_API_TYPES[api_type], f"{ns}/{name}")

    def resolve(key: RepoKey, revision: str) -> CommitRecord:
        with store_errors(revision):
            return host.git.resolve(key, revision)

    def author_of(req: SimRequest) -> str:
        # Optional hooks (not part of GitHost): `username_of(req) -> str | None`, or SimulatedHub's
        # `caller(req)` (a token record with `.user.name`). Commits are otherwise authored by "user".
        name: object = None
        username_of = getattr(host, "username_of", None)
        caller = getattr(host, "caller", None)
        if callable(username_of):
            name = username_of(req)
        elif callable(caller):
            name = getattr(getattr(caller(req), "user", None), "name", None)
        return name if isinstance(name, str) and name else "user"

    def whole_revision(req: SimRequest) -> str:
        # Routes ending in the revision: everything after the route's keyword segment is the revision.
        tail = raw_tail(req, 5)
        if tail is None:
            raise HubError(400, "Missing revision")
        revision, rest = tail
        return f"{revision}/{rest}" if rest else revision

    # ----------------------------------------------------------------------------------- preupload
    async def preupload(req: SimRequest, api_type: str, ns: str, name: str) -> SimResponse:
        key = api_key(api_type, ns, name)
        revision = whole_revision(req)
        check_repo(host, req, key, write=True)
        payload = req.json()
        files = payload.get("files") if isinstance(payload, dict) else None
        if not isinstance(files, list) or len(files) > MAX_PREUPLOAD_FILES:
            raise HubError(400, f'"files" must be an array of at most {MAX_PREUPLOAD_FILES} items')
        gitignore = payload.get("gitIgnore")
        if gitignore is not None and not isinstance(gitignore, str):
            raise HubError(400, '"gitIgnore" must be a string')
        record = resolve(key, revision)
        tree = record.tree
        attributes = _text(host.git, key, tree.get(".gitattributes"))
        if gitignore is None:
            gitignore = _text(host.git, key, tree.get(".gitignore"))
        answers = []
        for item in files:
            if not isinstance(item, dict):
                raise HubError(400, '"files" items must be objects')
            path, size, sample_b64 = item.get("path"), item.get("size"), item.get("sample", "")
            if not isinstance(path, str) or not path:
                raise HubError(400, '"files[].path" must be a non-empty string')
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise HubError(400, '"files[].size" must be a non-negative integer')
            if not isinstance(sample_b64, str):
                raise HubError(400, '"files[].sample" must be a base64 string')
            try:
                sample = base64.b64decode(sample_b64, validate=True)
            except (binascii.Error, ValueError):
                raise HubError(400, '"files[].sample" must be a base64 string') from None
            answer: dict[str, Any] = {
                "path": path,
                "uploadMode": upload_mode(path, size, sample, attributes),
                "shouldIgnore": is_ignored(gitignore, path),
            }
            existing = tree.get(path)
            if existing is not None:
                # git blob sha-1 for a regular file, sha-256 for an LFS file (recording + hub-api.md §11.3).
                answer["oid"] = existing.etag
            answers.append(answer)
        return json_response({"files": answers, "commitOid": record.sha})

    # -------------------------------------------------------------------------------------- commit
    async def commit(req: SimRequest, api_type: str, ns: str, name: str) -> SimResponse:
        key = api_key(api_type, ns, name)
        revision = whole_revision(req)
        check_repo(host, req, key, write=True)
        if len(req.body) > MAX_COMMIT_BODY:
            raise HubError(
                413, "Payload Too Large: commit body exceeds the inline limit, upload large files with LFS"
            )
        header, operations = _parse_ndjson(req.body)
        create_pr = _truthy(req.arg("create_pr"))
        parent = header.get("parentCommit")
        with store_errors(revision):
            try:
                result = host.git.commit(
                    key,
                    operations=operations,
                    message=header["summary"],
                    description=header.get("description") or "",
                    author=author_of(req),
                    revision=revision,
                    parent=parent,
                    create_pr=create_pr,
                )
            except ValueError as exc:
                raise HubError(400, str(exc)) from None
        url = repo_url(req, key)
        body: dict[str, Any] = {
            "success": True,
            "commitOid": result.sha,
            "commitUrl": f"{url}/commit/{result.sha}",
            "hookOutput": "",
        }
        if result.pr_num is not None:
            body["pullRequestUrl"] = f"{url}/discussions/{result.pr_num}"
        if result.revision == "main":
            host.after_commit(key[0], key[1], result.sha)
        return json_response(body)

    # ---------------------------------------------------------------------------------------- tree
    async def tree(req: SimRequest, api_type: str, ns: str, name: str) -> SimResponse:
        key = api_key(api_type, ns, name)
        tail = raw_tail(req, 5)
        if tail is None:
            raise HubError(400, "Missing revision")
        revision, folder = tail
        folder = folder.strip("/")
        check_repo(host, req, key, write=False)
        view = _TreeView(host.git, key, resolve(key, revision))
        if folder and folder not in view.dirs:
            raise entry_not_found(f'{folder} does not exist on "{revision}"', view.record.sha)
        expand = _truthy(req.arg("expand"))
        paths = view.children(folder, _truthy(req.arg("recursive")))
        page, headers = _page(req, paths, TREE_EXPAND_PAGE_SIZE if expand else TREE_PAGE_SIZE, "cursor")
        return json_response([view.entry(p, expand) for p in page], headers=headers)

    # ---------------------------------------------------------------------------------- paths-info
    async def paths_info(req: SimRequest, api_type: str, ns: str, name: str) -> SimResponse:
        key = api_key(api_type, ns, name)
        revision = whole_revision(req)
        check_repo(host, req, key, write=False)
        paths, expand = _parse_paths_info(req)
        view = _TreeView(host.git, key, resolve(key, revision))
        out = []
        seen: set[str] = set()
        for path in paths:
            path = path.strip("/")
            if path in seen or (path not in view.record.tree and path not in view.dirs):
                continue  # unknown paths are left out (hub-api.md §11.7)
            seen.add(path)
            out.append(view.entry(path, expand))
        return json_response(out)

    # ------------------------------------------------------------------------------------- commits
    async def commits(req: SimRequest, api_type: str, ns: str, name: str) -> SimResponse:
        key = api_key(api_type, ns, name)
        revision = whole_revision(req)
        check_repo(host, req, key, write=False)
        with store_errors(revision):
            history = host.git.history(key, revision)
        formatted = "formatted" in req.args("expand[]") or "formatted" in req.args("expand")
        try:
            limit = int(req.arg("limit") or COMMITS_PAGE_SIZE)
            page_index = int(req.arg("p") or 0)
        except ValueError:
            raise HubError(400, '"limit" and "p" must be integers') from None
        if not 1 <= limit <= 1000 or page_index < 0:
            raise HubError(400, '"limit" must be in 1..1000 and "p" non-negative')
        page = history[page_index * limit : (page_index + 1) * limit]
        headers = [("X-Total-Count", str(len(history)))]
        if (page_index + 1) * limit < len(history):
            query = [(k, v) for k, v in req.query if k != "p"] + [("p", str(page_index + 1))]
            path = req.raw_path.split("?", 1)[0]
            headers.append(("Link", f'<{req.base_url}{path}?{urlencode(query)}>; rel="next"'))
        items = []
        for record in page:
            item: dict[str, Any] = {
                "id": record.sha,
                "title": record.title,
                "message": record.message,
                "authors": [{"user": record.author, "avatar": None}],
                "date": _iso(record.date),
            }
            if formatted:
                item["formatted"] = {"title": _html(record.title), "message": _html(record.message)}
            items.append(item)
        return json_response(items, headers=headers)

    # ------------------------------------------------------------------------------------- resolve
    async def resolve_file(req: SimRequest, prefix: str | None, ns: str, name: str) -> SimResponse:
        key: RepoKey = ({"datasets": "dataset", "spaces": "space"}.get(prefix or "", "model"), f"{ns}/{name}")
        tail = raw_tail(req, 4 if prefix else 3)
        if tail is None:
            raise HubError(400, "Missing revision")
        revision, path = tail
        check_repo(host, req, key, write=False)
        # Optional hook (not part of GitHost): gated repos refuse their files to outsiders (GatedRepo).
        authorize_download = getattr(host, "authorize_download", None)
        if callable(authorize_download):
            authorize_download(req, key[0], key[1])
        record = resolve(key, revision)
        info = record.tree.get(path)
        if info is None:
            raise entry_not_found(commit=record.sha)
        data = host.git.content(key, info)
        return _file_response(req, record.sha, info, data)

    # --------------------------------------------------------------------------------- refs/branches
    async def refs(req: SimRequest, api_type: str, ns: str, name: str) -> SimResponse:
        key = api_key(api_type, ns, name)
        check_repo(host, req, key, write=False)
        with store_errors():
            all_refs = host.git.branches(key)
        branches = [
            {"name": ref, "ref": f"refs/heads/{ref}", "targetCommit": sha}
            for ref, sha in sorted(all_refs.items())
            if not ref.startswith("refs/")
        ]
        body: dict[str, Any] = {"branches": branches, "converts": [], "tags": []}
        if _truthy(req.arg("include_prs")):
            prs = [
                (int(ref.rsplit("/", 1)[1]), sha)
                for ref, sha in all_refs.items()
                if ref.startswith("refs/pr/")
            ]
            body["pullRequests"] = [
                {"name": str(num), "ref": f"refs/pr/{num}", "targetCommit": sha} for num, sha in sorted(prs)
            ]
        return json_response(body)

    async def branch(req: SimRequest, api_type: str, ns: str, name: str) -> SimResponse:
        key = api_key(api_type, ns, name)
        check_repo(host, req, key, write=True)
        branch_name = whole_revision(req)
        if req.method == "DELETE":
            with store_errors(branch_name):
                try:
                    host.git.delete_branch(key, branch_name)
                except ValueError as exc:
                    raise HubError(403, f"You cannot delete this branch: {exc}") from None
            return json_response({})
        payload = req.json() if req.body else {}
        start = payload.get("startingPoint") if isinstance(payload, dict) else None
        if start is not None and not isinstance(start, str):
            raise HubError(400, '"startingPoint" must be a revision string')
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,199}", branch_name) or branch_name.startswith(
            "refs/"
        ):
            raise HubError(400, f"Invalid branch name: {branch_name}")
        with store_errors(start or "main"):
            try:
                host.git.create_branch(key, branch_name, revision=start or "main")
            except BranchExists:
                raise HubError(409, "Reference already exists") from None
        return json_response({})

    router.add("GET", _API + r"/refs", "GET /api/{type}s/{id}/refs", refs)
    router.add("POST", _API + r"/branch/.+", "POST /api/{type}s/{id}/branch/{branch}", branch)
    router.add("DELETE", _API + r"/branch/.+", "DELETE /api/{type}s/{id}/branch/{branch}", branch)
    router.add("POST", _API + r"/preupload/.+", "POST /api/{type}s/{id}/preupload/{rev}", preupload)
    router.add("POST", _API + r"/commit/.+", "POST /api/{type}s/{id}/commit/{rev}", commit)
    router.add("GET", _API + r"/tree/.+", "GET /api/{type}s/{id}/tree/{rev}/{path}", tree)
    router.add("POST", _API + r"/paths-info/.+", "POST /api/{type}s/{id}/paths-info/{rev}", paths_info)
    router.add("GET", _API + r"/commits/.+", "GET /api/{type}s/{id}/commits/{rev}", commits)
    router.add("GET", _WEB + r"/resolve/.+", "GET /{prefix}{id}/resolve/{rev}/{path}", resolve_file)
    register_lfs_routes(router, host)


def _text(git: GitStore, key: RepoKey, info: FileInfo | None) -> str:
    if info is None:
        return ""
    return git.content(key, info).decode("utf-8", errors="replace")


def _html(text: str) -> str:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("\n", "<br>")


def _parse_paths_info(req: SimRequest) -> tuple[list[str], bool]:
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
        return list(raw_paths), bool(expand) if not isinstance(expand, str) else _truthy(expand)
    try:
        form = parse_qsl(req.body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise HubError(400, "Invalid form body") from None
    paths = [value for name, value in form if name in ("paths", "paths[]")]
    expand = any(name == "expand" and _truthy(value) for name, value in form)
    return paths, expand


def _parse_ndjson(body: bytes) -> tuple[dict[str, Any], list[Operation]]:
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
def _file_response(req: SimRequest, commit_sha: str, info: FileInfo, data: bytes) -> SimResponse:
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
