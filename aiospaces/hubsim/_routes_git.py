"""The file routes the official client uses: preupload, commit, tree, paths-info, commits, refs, branches and
`resolve` downloads (hub-api.md §11, §12; shapes checked against huggingface_hub 2.4's `_commit_api.py`,
`file_download.py` and `hf_api.py`), plus the LFS routes of `_lfs.py`.

Every route authorizes through `GitHost.authorize_repo` before reading or writing, and the commit route calls
`GitHost.after_commit` after each commit landing on `main`.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from urllib.parse import urlencode

from ._git import (
    MAX_COMMIT_BODY,
    TreeView,
    file_response,
    html_text,
    is_ignored,
    iso_date,
    page_of,
    parse_ndjson,
    parse_paths_info,
    text_of,
    truthy,
    upload_mode,
)
from ._git_common import (
    API_TYPE,
    OPTIONAL_NS,
    PREFIX_TYPE,
    GitHost,
    check_repo,
    entry_not_found,
    raw_tail,
    repo_key,
    repo_url,
    store_errors,
)
from ._git_objects import BranchExists, CommitRecord, EscapingPath, RepoKey
from ._http import HubError, RouteSpec, SimRequest, SimResponse, json_response
from ._lfs import LFS_ROUTES

MAX_PREUPLOAD_FILES = 1000  # the client sends chunks of 256 (hub-api.md §11.3)
TREE_PAGE_SIZE = 1000  # [inferred] Hub tree pages; Link-paginated (hub-api.md §11.7)
TREE_EXPAND_PAGE_SIZE = 50  # [inferred] expanded entries are costlier, smaller pages
COMMITS_PAGE_SIZE = 50  # [inferred]

_API = r"/api/(?P<api_type>models|datasets|spaces)/" + OPTIONAL_NS
# Model repos have no prefix: the lookahead keeps `/api/...`, `/datasets/...` and `/spaces/...` out of it.
_WEB = r"/(?:(?P<prefix>datasets|spaces)/)?(?!api/|datasets/|spaces/)" + OPTIONAL_NS


def _key(api_type: str, ns: str | None, name: str) -> RepoKey:
    return repo_key(API_TYPE[api_type], ns, name)


def _keyword_at(ns: str | None) -> int:
    """Index of the path segment after the repo id (`/api/{type}s/{id}/<keyword>/...`)."""
    return 5 if ns else 4


def _resolve(host: GitHost, key: RepoKey, revision: str) -> CommitRecord:
    with store_errors(revision):
        return host.git.resolve(key, revision)


def _whole_revision(req: SimRequest, ns: str | None) -> str:
    # Routes ending in the revision: everything after the route's keyword segment is the revision.
    tail = raw_tail(req, _keyword_at(ns))
    if tail is None:
        raise HubError(400, "Missing revision")
    revision, rest = tail
    return f"{revision}/{rest}" if rest else revision


# ----------------------------------------------------------------------------------- preupload
def preupload(host: GitHost, req: SimRequest, api_type: str, ns: str | None, name: str) -> SimResponse:
    """`POST /api/{type}s/{id}/preupload/{rev}`: each file's upload mode, `shouldIgnore` and stored oid."""
    key = _key(api_type, ns, name)
    revision = _whole_revision(req, ns)
    # `create_pr=1` (huggingface_hub 2.4 `_commit_api.py`, `_fetch_upload_modes`): read access suffices.
    check_repo(host, req, key, write=True, pull_request=truthy(req.arg("create_pr")))
    payload = req.json()
    files = payload.get("files") if isinstance(payload, dict) else None
    if not isinstance(files, list) or len(files) > MAX_PREUPLOAD_FILES:
        raise HubError(400, f'"files" must be an array of at most {MAX_PREUPLOAD_FILES} items')
    gitignore = payload.get("gitIgnore")
    if gitignore is not None and not isinstance(gitignore, str):
        raise HubError(400, '"gitIgnore" must be a string')
    record = _resolve(host, key, revision)
    tree = record.tree
    attributes = text_of(host.git, key, tree.get(".gitattributes"))
    if gitignore is None:
        gitignore = text_of(host.git, key, tree.get(".gitignore"))
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
def commit(host: GitHost, req: SimRequest, api_type: str, ns: str | None, name: str) -> SimResponse:
    """`POST /api/{type}s/{id}/commit/{rev}`: an NDJSON commit; one landing on `main` rebuilds a Space."""
    key = _key(api_type, ns, name)
    revision = _whole_revision(req, ns)
    create_pr = truthy(req.arg("create_pr"))
    # A commit opening a pull request lands on a new `refs/pr/N`, never on the branch: read access suffices
    # (huggingface_hub 2.4 `hf_api.py`, `preupload_lfs_files`; `_commit_api.py`, `_send_commit`).
    check_repo(host, req, key, write=True, pull_request=create_pr)
    if len(req.body) > MAX_COMMIT_BODY:
        raise HubError(
            413, "Payload Too Large: commit body exceeds the inline limit, upload large files with LFS"
        )
    header, operations = parse_ndjson(req.body)
    parent = header.get("parentCommit")
    with store_errors(revision):
        try:
            result = host.git.commit(
                key,
                operations=operations,
                message=header["summary"],
                description=header.get("description") or "",
                author=host.username_of(req) or "user",
                revision=revision,
                parent=parent,
                create_pr=create_pr,
            )
        except EscapingPath as exc:
            raise HubError(422, str(exc)) from None
        except ValueError as exc:
            raise HubError(400, str(exc)) from None
    url = repo_url(req, host.git.canonical_key(key))  # the repo as created, whatever case was sent
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
def tree(host: GitHost, req: SimRequest, api_type: str, ns: str | None, name: str) -> SimResponse:
    """`GET /api/{type}s/{id}/tree/{rev}[/{path}]`: a folder's entries, Link-paginated."""
    key = _key(api_type, ns, name)
    tail = raw_tail(req, _keyword_at(ns))
    if tail is None:
        raise HubError(400, "Missing revision")
    revision, folder = tail
    folder = folder.strip("/")
    check_repo(host, req, key, write=False)
    view = TreeView(host.git, key, _resolve(host, key, revision))
    if folder and folder not in view.dirs:
        raise entry_not_found(f'{folder} does not exist on "{revision}"', view.record.sha)
    expand = truthy(req.arg("expand"))
    paths = view.children(folder, truthy(req.arg("recursive")))
    page, headers = page_of(req, paths, TREE_EXPAND_PAGE_SIZE if expand else TREE_PAGE_SIZE, "cursor")
    return json_response([view.entry(p, expand) for p in page], headers=headers)


# ---------------------------------------------------------------------------------- paths-info
def paths_info(host: GitHost, req: SimRequest, api_type: str, ns: str | None, name: str) -> SimResponse:
    """`POST /api/{type}s/{id}/paths-info/{rev}`: the entries of the given paths (unknown ones left out)."""
    key = _key(api_type, ns, name)
    revision = _whole_revision(req, ns)
    check_repo(host, req, key, write=False)
    paths, expand = parse_paths_info(req)
    view = TreeView(host.git, key, _resolve(host, key, revision))
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
def commits(host: GitHost, req: SimRequest, api_type: str, ns: str | None, name: str) -> SimResponse:
    """`GET /api/{type}s/{id}/commits/{rev}`: the history, newest first, paginated by `p`."""
    key = _key(api_type, ns, name)
    revision = _whole_revision(req, ns)
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
            "date": iso_date(record.date),
        }
        if formatted:
            item["formatted"] = {"title": html_text(record.title), "message": html_text(record.message)}
        items.append(item)
    return json_response(items, headers=headers)


# ------------------------------------------------------------------------------------- resolve
def resolve_file(
    host: GitHost, req: SimRequest, prefix: str | None, ns: str | None, name: str
) -> SimResponse:
    """`GET|HEAD /{prefix}{id}/resolve/{rev}/{path}`: a file with the Hub's download headers."""
    key = repo_key(PREFIX_TYPE[prefix or ""], ns, name)
    # Segments: [prefix/][ns/]name/resolve/<revision>/<path>.
    tail = raw_tail(req, (1 if prefix else 0) + (1 if ns else 0) + 2)
    if tail is None:
        raise HubError(400, "Missing revision")
    revision, path = tail
    check_repo(host, req, key, write=False)
    host.authorize_download(req, key[0], key[1])  # gated repos refuse their files to outsiders
    record = _resolve(host, key, revision)
    info = record.tree.get(path)
    if info is None:
        raise entry_not_found(commit=record.sha)
    data = host.git.content(key, info)
    return file_response(req, record.sha, info, data)


# --------------------------------------------------------------------------------- refs/branches
def refs(host: GitHost, req: SimRequest, api_type: str, ns: str | None, name: str) -> SimResponse:
    """`GET /api/{type}s/{id}/refs`: branches and tags (and pull requests with `include_prs`).

    Shape from huggingface_hub 2.4 `hf_api.py` (`list_repo_refs`): every item is `{name, ref, targetCommit}`;
    `pullRequests` is read only when `include_prs=1` was sent.
    """
    key = _key(api_type, ns, name)
    check_repo(host, req, key, write=False)
    with store_errors():
        all_refs = host.git.branches(key)
        tags = host.git.tags(key)
    branches = [
        {"name": ref, "ref": f"refs/heads/{ref}", "targetCommit": sha}
        for ref, sha in sorted(all_refs.items())
        if not ref.startswith("refs/")
    ]
    tag_items = [{"name": t, "ref": f"refs/tags/{t}", "targetCommit": sha} for t, sha in sorted(tags.items())]
    body: dict[str, Any] = {"branches": branches, "converts": [], "tags": tag_items}
    if truthy(req.arg("include_prs")):
        prs = [
            (int(ref.rsplit("/", 1)[1]), sha) for ref, sha in all_refs.items() if ref.startswith("refs/pr/")
        ]
        body["pullRequests"] = [
            {"name": str(num), "ref": f"refs/pr/{num}", "targetCommit": sha} for num, sha in sorted(prs)
        ]
    return json_response(body)


# Git's ref name rules, narrowed to what the Hub accepts ([inferred]: letters, digits, `._/-`, no `..`).
_REF_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,199}")


def _valid_ref_name(name: str) -> bool:
    return bool(_REF_NAME.fullmatch(name)) and ".." not in name and not name.endswith((".", "/", ".lock"))


def branch(host: GitHost, req: SimRequest, api_type: str, ns: str | None, name: str) -> SimResponse:
    """`POST|DELETE /api/{type}s/{id}/branch/{branch}`: create or delete a branch.

    Messages as huggingface_hub's tests (`tests/test_hf_api.py`, `TestHfApiBranchEndpoint`) match them on the
    real Hub: "Reference refs/heads/NAME already exists" (409), "Invalid reference for a branch" (400),
    "Cannot delete refs/heads/main", "Invalid rev id" for a missing branch (a tag's name included).
    """
    key = _key(api_type, ns, name)
    check_repo(host, req, key, write=True)
    branch_name = _whole_revision(req, ns)
    if req.method == "DELETE":
        if branch_name == "main" or branch_name.startswith("refs/"):
            ref = branch_name if branch_name.startswith("refs/") else f"refs/heads/{branch_name}"
            # [inferred] status: the client's test matches the message only; a protected ref is a 403.
            raise HubError(403, f"Cannot delete {ref}")
        with store_errors(branch_name):
            host.git.delete_branch(key, branch_name)
        return json_response({})
    payload = req.json() if req.body else {}
    start = payload.get("startingPoint") if isinstance(payload, dict) else None
    if start is not None and not isinstance(start, str):
        raise HubError(400, '"startingPoint" must be a revision string')
    if branch_name.startswith("refs/"):
        raise HubError(400, f"Invalid reference for a branch: {branch_name}")
    if not _valid_ref_name(branch_name):
        raise HubError(400, f"Invalid reference for a branch: {branch_name}")
    with store_errors(start or "main"):
        try:
            host.git.create_branch(key, branch_name, revision=start or "main")
        except BranchExists:
            raise HubError(409, f"Reference refs/heads/{branch_name} already exists") from None
    return json_response({})


def tag(host: GitHost, req: SimRequest, api_type: str, ns: str | None, name: str) -> SimResponse:
    """`POST /api/{type}s/{id}/tag/{rev}` with `{"tag", "message"}`, `DELETE /api/{type}s/{id}/tag/{tag}`.

    Wire format from huggingface_hub 2.4 `hf_api.py` (`create_tag`, `delete_tag`); behaviour as its tests
    (`tests/test_hf_api.py`, `TestHfApiTagEndpoint`) expect of the real Hub: the revision may be a branch, a
    `refs/pr/N` or a full or short commit id, and is resolved first (an unknown one is `RevisionNotFound`
    even when the tag name is bad); an invalid name is a 400; an existing tag is a 409; deleting a missing tag
    (a branch's name included) is `RevisionNotFound`.
    """
    key = _key(api_type, ns, name)
    check_repo(host, req, key, write=True)
    target = _whole_revision(req, ns)
    if req.method == "DELETE":
        with store_errors(target):
            host.git.delete_tag(key, target)
        return json_response({})
    payload = req.json() if req.body else {}
    if not isinstance(payload, dict):
        raise HubError(400, "Invalid JSON body: expected an object")
    tag_name, message = payload.get("tag"), payload.get("message")
    if not isinstance(tag_name, str):
        raise HubError(400, '"tag" must be a string')
    if message is not None and not isinstance(message, str):
        raise HubError(400, '"message" must be a string')
    _resolve(host, key, target)
    if tag_name.startswith("refs/") or not _valid_ref_name(tag_name):
        raise HubError(400, f"Invalid reference for a tag: {tag_name}")
    with store_errors(target):
        try:
            host.git.create_tag(key, tag_name, revision=target)
        except BranchExists:
            # [inferred] text, by analogy with the branch route's; the client's test checks the 409.
            raise HubError(409, f"Reference refs/tags/{tag_name} already exists") from None
    return json_response({})


GIT_ROUTES = [
    RouteSpec("GET", _API + r"/refs", "GET /api/{type}s/{id}/refs", refs),
    RouteSpec("POST", _API + r"/branch/.+", "POST /api/{type}s/{id}/branch/{branch}", branch),
    RouteSpec("DELETE", _API + r"/branch/.+", "DELETE /api/{type}s/{id}/branch/{branch}", branch),
    RouteSpec("POST", _API + r"/tag/.+", "POST /api/{type}s/{id}/tag/{rev}", tag),
    RouteSpec("DELETE", _API + r"/tag/.+", "DELETE /api/{type}s/{id}/tag/{tag}", tag),
    RouteSpec("POST", _API + r"/preupload/.+", "POST /api/{type}s/{id}/preupload/{rev}", preupload),
    RouteSpec("POST", _API + r"/commit/.+", "POST /api/{type}s/{id}/commit/{rev}", commit),
    RouteSpec("GET", _API + r"/tree/.+", "GET /api/{type}s/{id}/tree/{rev}/{path}", tree),
    RouteSpec("POST", _API + r"/paths-info/.+", "POST /api/{type}s/{id}/paths-info/{rev}", paths_info),
    RouteSpec("GET", _API + r"/commits/.+", "GET /api/{type}s/{id}/commits/{rev}", commits),
    RouteSpec("GET", _WEB + r"/resolve/.+", "GET /{prefix}{id}/resolve/{rev}/{path}", resolve_file),
]
FILE_ROUTES = GIT_ROUTES + LFS_ROUTES
"""Every file route, to bind to a `GitHost` (`Router.add_table(FILE_ROUTES, host)`)."""
