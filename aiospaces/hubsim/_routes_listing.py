"""Routes that describe repos: info, listings with pagination and `expand`, semantic Space search."""

from __future__ import annotations

import functools
from typing import Any

from ._git_common import API_TYPE, REPO_ID
from ._hardware import hardware_list
from ._http import HubError, RouteSpec, SimRequest, SimResponse, json_response
from ._params import decode_cursor, next_link
from ._records import RepoRecord, TokenInfo
from ._space import SERVING_STAGES
from ._state import HubState

# hub-api.md §6.1: the expand values the client knows per repo type; the server also accepts the two
# undocumented ones seen in its tests (gitalyUid, xetEnabled).
_SPACE_KEYS = (
    "author cardData createdAt datasets disabled lastModified likes models private region resourceGroup "
    "runtime sdk sha siblings subdomain tags trendingScore usedStorage gitalyUid xetEnabled"
)
_MODEL_KEYS = (
    "author baseModels cardData childrenModelCount config createdAt disabled downloads downloadsAllTime "
    "gated gguf inference inferenceProviderMapping lastModified library_name likes mask_token model-index "
    "pipeline_tag private resourceGroup safetensors sha siblings spaces tags transformersInfo trendingScore "
    "widgetData usedStorage gitalyUid xetEnabled"
)
_DATASET_KEYS = (
    "author cardData citation createdAt description disabled downloads downloadsAllTime gated lastModified "
    "likes paperswithcode_id private resourceGroup sha siblings tags trendingScore usedStorage gitalyUid "
    "xetEnabled"
)
EXPAND_SPACE = tuple(_SPACE_KEYS.split())
EXPAND_MODEL = tuple(_MODEL_KEYS.split())
EXPAND_DATASET = tuple(_DATASET_KEYS.split())
EXPAND = {"space": EXPAND_SPACE, "model": EXPAND_MODEL, "dataset": EXPAND_DATASET}
SORT_KEYS = ("createdAt", "lastModified", "likes", "trendingScore", "downloads")


def _expand(req: SimRequest, repo_type: str) -> list[str] | None:
    values = req.args("expand")
    if not values:
        return None
    allowed = EXPAND[repo_type]
    for value in values:
        if value not in allowed:
            # hub-api.md §3.1: 400 {"error": "\"expand\" must be one of [...]"}.
            raise HubError(400, f'"expand" must be one of [{", ".join(allowed)}]')
    return values


def _select(props: dict[str, Any], expand: list[str] | None) -> dict[str, Any]:
    if expand is None:
        return props
    # hub-api.md §6.1: only the expanded properties, plus `_id` and `id` (recordings: ?expand=xetEnabled).
    out = {"_id": props["_id"], "id": props["id"]}
    for key in expand:
        out[key] = props.get(key)
    return out


def _siblings(
    hub: HubState, repo: RepoRecord, revision: str, blobs: bool
) -> tuple[list[dict[str, Any]], int]:
    files = hub.git.list_files(repo.key, revision)
    siblings = []
    for path, info in sorted(files.items()):
        sibling: dict[str, Any] = {"rfilename": path}
        if blobs:
            sibling["size"] = info.size
            sibling["blobId"] = info.blob_oid
            if info.lfs_sha256 is not None:
                # hub-api.md §6.1: the LFS hash key is `sha256` here.
                lfs = {"size": info.size, "sha256": info.lfs_sha256, "pointerSize": info.pointer_size}
                sibling["lfs"] = lfs
        siblings.append(sibling)
    return siblings, sum(info.size for info in files.values())


def repo_props(
    hub: HubState, repo: RepoRecord, *, revision: str, sha: str | None, blobs: bool
) -> dict[str, Any]:
    """Every property of a repo's info answer at `revision` (hub-api.md §6.1)."""
    siblings, used = _siblings(hub, repo, revision, blobs)
    props: dict[str, Any] = {
        "_id": repo.object_id,
        "id": repo.repo_id,
        "author": repo.namespace,
        "sha": sha,
        "lastModified": hub.wall_at(hub.git.last_modified(repo.key)),
        "createdAt": hub.wall_at(repo.created_at),
        "private": repo.private,
        "gated": repo.gated,
        "disabled": repo.disabled,
        "likes": repo.likes,
        "trendingScore": 0,
        "tags": repo.tags,
        "siblings": siblings,
        "usedStorage": used,
        "xetEnabled": False,
        "region": "us",
        "resourceGroup": None,
        "gitalyUid": repo.object_id[:12],
    }
    card = hub.card_data(repo)
    if card is not None:
        props["cardData"] = card
    if repo.space is not None:
        space = repo.space
        props["sdk"] = space.sdk
        props["subdomain"] = space.subdomain
        props["host"] = f"https://{space.subdomain}.hf.space"
        props["runtime"] = hub.runtime_json(space)
        props["models"] = []
        props["datasets"] = []
    else:
        props.update({"downloads": 0, "downloadsAllTime": 0})
        if repo.repo_type == "model":
            props["library_name"] = None
            props["pipeline_tag"] = None
            props["spaces"] = []
    return props


def repo_info(
    hub: HubState, req: SimRequest, repo_id: str, revision: str = "main", *, repo_type: str
) -> SimResponse:
    """`GET /api/{type}s/{id}[/revision/{rev}]`."""
    repo = hub.readable_repo(req, repo_type, repo_id)
    sha = hub.git.head(repo.key, revision)
    if sha is None:
        raise HubError(404, f"Invalid rev id: {revision}", error_code="RevisionNotFound")
    expand = _expand(req, repo_type)
    blobs = (req.arg("blobs") or "").lower() == "true"
    props = repo_props(hub, repo, revision=revision, sha=sha, blobs=blobs)
    return json_response(_select(props, expand))


def _limit(req: SimRequest) -> int | None:
    limit_arg = req.arg("limit")
    if limit_arg is None:
        return None
    try:
        limit = int(limit_arg)
    except ValueError:
        raise HubError(400, '"limit" must be a positive integer') from None
    if limit < 1:
        raise HubError(400, '"limit" must be a positive integer')
    return limit


def _matching(hub: HubState, req: SimRequest, repo_type: str, caller: TokenInfo | None) -> list[RepoRecord]:
    """The repos a listing shows, filtered by `author`, `search` and `filter`, in `sort` order."""
    author = req.arg("author")
    search = (req.arg("search") or "").lower()
    tags = req.args("filter")
    repos = [
        r
        for r in hub.repos(repo_type)
        if hub.can_read(caller, r)
        and (author is None or r.namespace == author)
        and (not search or search in r.repo_id.lower())
        and (not tags or set(tags) <= set(r.tags))
    ]
    sort = req.arg("sort")
    if sort is not None:
        if sort not in SORT_KEYS:
            raise HubError(400, '"sort" must be one of [createdAt, lastModified, likes, trendingScore]')
        key_of = {
            "createdAt": lambda r: r.created_at,
            "lastModified": lambda r: hub.git.last_modified(r.key),
            "likes": lambda r: r.likes,
            "trendingScore": lambda r: 0,
            "downloads": lambda r: 0,
        }[sort]
        repos.sort(key=key_of, reverse=True)
    return repos


def list_repos(hub: HubState, req: SimRequest, *, repo_type: str) -> SimResponse:
    """`GET /api/{type}s`: one page, `Link` to the next (hub-api.md §6.2)."""
    caller = hub.caller(req)
    expand = _expand(req, repo_type)
    full = (req.arg("full") or "").lower() in ("true", "1")
    limit = _limit(req)
    cursor = req.arg("cursor")
    offset = decode_cursor(cursor) if cursor is not None else 0
    repos = _matching(hub, req, repo_type, caller)
    page_size = min(limit or hub.list_page_size, 1000, hub.list_page_size)
    page = repos[offset : offset + page_size]
    # Without `expand`, the listing's own keys (`full` adds some).
    kind = "sdk" if repo_type == "space" else "downloads"
    keys = ["_id", "id", "author", "likes", "trendingScore", "private", kind, "tags", "createdAt"]
    if full:
        keys += ["lastModified", "sha", "siblings", "cardData", "disabled", "gated"]
    items = []
    for repo in page:
        hub.settle(repo)
        props = repo_props(hub, repo, revision="main", sha=hub.git.head(repo.key), blobs=False)
        if expand is not None:
            items.append(_select(props, expand))
        else:
            items.append({k: props.get(k) for k in keys if k in props})
    headers = []
    if offset + page_size < len(repos):
        headers.append(("Link", next_link(req, offset + page_size)))
    return json_response(items, headers=headers)


def semantic_search(hub: HubState, req: SimRequest) -> SimResponse:
    """`GET /api/spaces/semantic-search`: a plain array (no pagination) of the best-matching Spaces.

    hub-api.md §6.3: snake_case `ai_*` keys beside camelCase ones. [inferred] Relevance here is the share
    of query words found in the id, title or description.
    """
    words = (req.arg("q") or "").lower().split()
    if not words:
        raise HubError(400, '"q" is required')
    caller = hub.caller(req)
    sdk = req.arg("sdk")
    tags = req.args("filter")
    include_all = (req.arg("includeNonRunning") or "").lower() == "true"
    scored = []
    for repo in hub.repos():
        if repo.space is None or not hub.can_read(caller, repo):
            continue
        hub.settle(repo)
        space = repo.space
        if (sdk and space.sdk != sdk) or (tags and not set(tags) <= set(repo.tags)):
            continue
        if not include_all and space.runtime()["stage"] not in SERVING_STAGES:
            continue
        card = hub.card_data(repo) or {}
        text = " ".join(str(card.get(k, "")) for k in ("title", "short_description"))
        haystack = f"{repo.repo_id} {text}".lower()
        score = sum(word in haystack for word in words) / len(words)
        if score > 0:
            scored.append((score, repo, card))
    scored.sort(key=lambda item: (-item[0], -item[1].likes, item[1].repo_id))
    return json_response([_search_hit(hub, score, repo, card) for score, repo, card in scored[:100]])


def _search_hit(hub: HubState, score: float, repo: RepoRecord, card: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": repo.repo_id,
        "author": repo.namespace,
        "title": str(card.get("title", repo.repo_id.split("/", 1)[1])),
        "emoji": str(card.get("emoji", "")) or None,
        "sdk": repo.space.sdk if repo.space else None,
        "likes": repo.likes,
        "private": repo.private,
        "tags": repo.tags,
        "runtime": hub.runtime_json(repo.space) if repo.space else None,
        "ai_short_description": card.get("short_description"),
        "ai_category": None,
        "semanticRelevancyScore": round(float(score), 4),
        "trendingScore": 0,
    }


def spaces_hardware(hub: HubState, req: SimRequest) -> SimResponse:
    """`GET /api/spaces/hardware`: the hardware catalogue (a bad token still gets its 401)."""
    hub.caller(req)
    return json_response(hardware_list())


def listing_routes(plural: str) -> list[RouteSpec]:
    """The listing and info routes of one repo type (`models`, `datasets` or `spaces`)."""
    kind, base = API_TYPE[plural], f"/api/{plural}/{REPO_ID}"
    info = functools.partial(repo_info, repo_type=kind)
    return [
        RouteSpec(
            "GET", f"/api/{plural}", f"GET /api/{plural}", functools.partial(list_repos, repo_type=kind)
        ),
        RouteSpec("GET", base, f"GET /api/{plural}/{{id}}", info),
        RouteSpec(
            "GET", base + "/revision/(?P<revision>.+)", f"GET /api/{plural}/{{id}}/revision/{{rev}}", info
        ),
    ]
