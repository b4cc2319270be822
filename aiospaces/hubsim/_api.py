"""The simulated Hub's JSON API routes (everything but the file/git routes of `_git.py`).

Shapes, status codes and messages follow hub-api.md (section tags in comments) and the recordings in
`tests/fixtures/recordings/`. Handlers run under the hub lock and never await while they change state.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from ._builds import SDKS, parse_front_matter
from ._hardware import FREE_HARDWARE, HARDWARE_NAMES, STORAGE_TIERS, hardware_list
from ._http import HubError, Router, SimRequest, SimResponse, json_response, text_response
from ._space import SERVING_STAGES, SecretEntry, SpaceState

if TYPE_CHECKING:
    from ._hub import RepoRecord, SimulatedHub, TokenInfo

PLURALS = {"models": "model", "datasets": "dataset", "spaces": "space"}
ID = r"(?P<repo_id>[^/]+/[^/]+)"

# hub-api.md §6.1: the expand values the client knows for Spaces; the server also accepts the two
# undocumented ones seen in its tests (gitalyUid, xetEnabled).
EXPAND_SPACE = (
    "author",
    "cardData",
    "createdAt",
    "datasets",
    "disabled",
    "lastModified",
    "likes",
    "models",
    "private",
    "region",
    "resourceGroup",
    "runtime",
    "sdk",
    "sha",
    "siblings",
    "subdomain",
    "tags",
    "trendingScore",
    "usedStorage",
    "gitalyUid",
    "xetEnabled",
)
EXPAND_MODEL = (
    "author",
    "baseModels",
    "cardData",
    "childrenModelCount",
    "config",
    "createdAt",
    "disabled",
    "downloads",
    "downloadsAllTime",
    "gated",
    "gguf",
    "inference",
    "inferenceProviderMapping",
    "lastModified",
    "library_name",
    "likes",
    "mask_token",
    "model-index",
    "pipeline_tag",
    "private",
    "resourceGroup",
    "safetensors",
    "sha",
    "siblings",
    "spaces",
    "tags",
    "transformersInfo",
    "trendingScore",
    "widgetData",
    "usedStorage",
    "gitalyUid",
    "xetEnabled",
)
EXPAND_DATASET = (
    "author",
    "cardData",
    "citation",
    "createdAt",
    "description",
    "disabled",
    "downloads",
    "downloadsAllTime",
    "gated",
    "lastModified",
    "likes",
    "paperswithcode_id",
    "private",
    "resourceGroup",
    "sha",
    "siblings",
    "tags",
    "trendingScore",
    "usedStorage",
    "gitalyUid",
    "xetEnabled",
)
EXPAND = {"space": EXPAND_SPACE, "model": EXPAND_MODEL, "dataset": EXPAND_DATASET}

VOLUME_TYPES = ("bucket", "model", "dataset", "space")
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
VISIBILITIES = ("public", "private", "protected")

# hub-api.md §5.6 (known entries from the client's guide).
TEMPLATES = [
    {
        "name": "Streamlit",
        "repoId": "streamlit/streamlit-template-space",
        "sdk": "docker",
        "preferredPrivate": False,
    },
    {"name": "JupyterLab", "repoId": "SpacesExamples/jupyterlab", "sdk": "docker", "preferredPrivate": True},
    {"name": "Chatbot", "repoId": "gradio-templates/chatbot", "sdk": "gradio", "preferredPrivate": False},
    {
        "name": "Argilla",
        "repoId": "argilla/argilla-template-space",
        "sdk": "docker",
        "preferredPrivate": False,
    },
    {"name": "Livebook", "repoId": "livebook-dev/livebook", "sdk": "docker", "preferredPrivate": False},
]


# ------------------------------------------------------------------------------------- body helpers
def body_obj(req: SimRequest) -> dict[str, Any]:
    """The JSON body as an object; 400 otherwise."""
    data = req.json()
    if not isinstance(data, dict):
        raise HubError(400, "Invalid request body: expected a JSON object")
    return data


def opt_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise HubError(400, f'"{key}" must be a string')
    return value


def req_str(data: dict[str, Any], key: str) -> str:
    value = opt_str(data, key)
    if value is None:
        raise HubError(400, f'"{key}" is required')
    return value


def body_repo_type(data: dict[str, Any]) -> str:
    """The body's repo `type` (default "model"); 400 unless it is model, dataset or space."""
    repo_type = data.get("type") or "model"
    if repo_type not in PLURALS.values():
        raise HubError(400, '"type" must be one of [model, dataset, space]')
    return str(repo_type)


# [inferred] The Hub is a JavaScript server: integers beyond 2**53 - 1 are not numbers it can hold.
MAX_SAFE_INTEGER = 2**53 - 1


def opt_int(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise HubError(400, f'"{key}" must be an integer')
    if value is not None and abs(value) > MAX_SAFE_INTEGER:
        raise HubError(400, f'"{key}" is out of range')
    return value


def check_sleep_time(value: int | None, key: str) -> int | None:
    if value is not None and value != -1 and value <= 0:
        raise HubError(400, f'"{key}" must be a positive number of seconds or -1')
    return value


def check_hardware(value: str | None, key: str = "flavor") -> str | None:
    if value is not None and value not in HARDWARE_NAMES:
        raise HubError(400, f'"{key}" must be one of [{", ".join(HARDWARE_NAMES)}]')
    return value


def parse_key_values(data: dict[str, Any], field: str) -> list[tuple[str, str, str | None]]:
    """`secrets`/`variables` arrays of `{key, value, description?}` (hub-api.md §5.1)."""
    raw = data.get(field)
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise HubError(400, f'"{field}" must be an array')
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise HubError(400, f'"{field}" items must be objects')
        key = req_str(item, "key")
        if not _ENV_KEY.match(key):
            raise HubError(400, f'"{field}" key {key!r} is not a valid environment variable name')
        out.append((key, req_str(item, "value"), opt_str(item, "description")))
    return out


def parse_volumes(raw: Any) -> list[dict[str, Any]]:
    """Validate volume objects (hub-api.md §8.5); keys are omitted when unset."""
    if not isinstance(raw, list):
        raise HubError(400, '"volumes" must be an array')
    out: list[dict[str, Any]] = []
    mounts: set[str] = set()
    for item in raw:
        if not isinstance(item, dict):
            raise HubError(400, '"volumes" items must be objects')
        vtype = item.get("type", "model")
        if vtype not in VOLUME_TYPES:
            raise HubError(400, f'volume "type" must be one of [{", ".join(VOLUME_TYPES)}]')
        source = req_str(item, "source")
        if source.count("/") != 1:
            raise HubError(400, f"volume source {source!r} must look like 'namespace/name'")
        mount = req_str(item, "mountPath")
        if not mount.startswith("/"):
            raise HubError(400, f'volume "mountPath" must be an absolute path, got {mount!r}')
        if mount in mounts:
            raise HubError(400, f"two volumes are mounted at {mount!r}")
        mounts.add(mount)
        volume: dict[str, Any] = {"type": vtype, "source": source, "mountPath": mount}
        revision = opt_str(item, "revision")
        if revision is not None:
            if vtype == "bucket":
                raise HubError(400, 'volume "revision" is only allowed for repos')
            volume["revision"] = revision
        read_only = item.get("readOnly")
        if read_only is not None and not isinstance(read_only, bool):
            raise HubError(400, 'volume "readOnly" must be a boolean')
        # Repos are always mounted read-only (hub-api.md §8.5).
        volume["readOnly"] = True if vtype != "bucket" else bool(read_only)
        path = opt_str(item, "path")
        if path is not None:
            volume["path"] = path
        out.append(volume)
    return out


# ----------------------------------------------------------------------------------- registration
def register(router: Router, hub: SimulatedHub) -> None:
    """Add every JSON API route of the hub to `router`."""

    def caller_of(req: SimRequest) -> TokenInfo | None:
        return hub.caller(req)

    def repo_for(req: SimRequest, repo_type: str, repo_id: str, *, write: bool = False) -> RepoRecord:
        hub.authorize_repo(req, repo_type, repo_id, write=write)
        repo = hub._repos[(repo_type, repo_id)]
        hub._settle(repo)
        return repo

    def space_for(req: SimRequest, repo_id: str, *, write: bool = False, owner: bool = False) -> SpaceState:
        repo = repo_for(req, "space", repo_id, write=write)
        if owner and not write:
            caller = caller_of(req)
            if caller is None:
                # Anonymous callers are told to authenticate (401), as for every write (hub-api.md §3.4).
                raise HubError(401, "You must be authenticated to access this resource")
            if not hub._member(caller.user, repo.namespace):
                raise HubError(403, f"You don't have the rights to access the settings of {repo_id}")
        assert repo.space is not None
        return repo.space

    def runtime_json(space: SpaceState) -> dict[str, Any]:
        from ._hub import current_staleness

        stale = current_staleness()
        if stale:
            return space.runtime_at(hub.now() - stale)
        return space.runtime()

    def setting_changed(space: SpaceState, action: str) -> SimResponse:
        """Record a changed Space setting (runtime snapshot, action counter); answer the new runtime."""
        space.snapshot(hub.now())
        hub.counters.actions[action] += 1
        return json_response(runtime_json(space))

    def not_static(space: SpaceState, action: str) -> None:
        if space.is_static:
            # hub-api.md §13.4: static Spaces refuse pause/restart/dev-mode/volumes with a 400.
            raise HubError(400, f"Cannot {action} a static Space")

    # ------------------------------------------------------------------------------ account
    async def whoami(req: SimRequest) -> SimResponse:
        caller = caller_of(req)
        if caller is None:
            raise HubError(401, "Invalid username or password.")
        user = caller.user
        orgs = []
        for org_name in user.orgs:
            org = hub.user(org_name)
            orgs.append(
                {
                    "type": "org",
                    "id": org.object_id if org else "",
                    "name": org_name,
                    "fullname": org_name,
                    "email": None,
                    "canPay": True,
                    "avatarUrl": f"{req.base_url}/avatars/{org_name}.svg",
                    "periodEnd": None,
                    "roleInOrg": "admin",
                }
            )
        # hub-api.md §2.5 (client reads name, orgs[].name, auth.accessToken.{displayName, role}).
        return json_response(
            {
                "type": "user",
                "id": user.object_id,
                "name": user.name,
                "fullname": user.name,
                "email": f"{user.name}@example.com",
                "emailVerified": True,
                "isPro": user.is_pro,
                "canPay": True,
                "avatarUrl": f"{req.base_url}/avatars/{user.name}.svg",
                "periodEnd": None,
                "orgs": orgs,
                "auth": {
                    "type": "access_token",
                    "accessToken": {
                        "displayName": caller.display_name,
                        "role": caller.role,
                        "createdAt": hub.wall(0.0),
                    },
                },
            }
        )

    async def agent_harnesses(req: SimRequest) -> SimResponse:
        # hub-api.md §2.4: an empty registry is fine.
        return json_response({"standardEnvVars": [], "harnesses": {}})

    async def validate_yaml(req: SimRequest) -> SimResponse:
        data = body_obj(req)
        content = req_str(data, "content")
        try:
            parse_front_matter(content)
        except ValueError as exc:
            message = str(exc)
            return json_response({"error": message, "errors": [{"message": message}], "warnings": []}, 400)
        return json_response({"errors": [], "warnings": []})  # hub-api.md §14 item 9

    # --------------------------------------------------------------------------------- repos
    async def create_repo(req: SimRequest) -> SimResponse:
        data = body_obj(req)
        name = req_str(data, "name")
        organization = opt_str(data, "organization")
        repo_type = body_repo_type(data)
        caller = caller_of(req)
        if caller is None:
            raise HubError(401, "You must be authenticated to create a repo")
        namespace = organization or caller.user.name
        from ._hub import valid_repo_name

        if not valid_repo_name(name) or not valid_repo_name(namespace):
            raise HubError(
                400,
                "Invalid repo name: use letters, digits, '-', '_' and '.', at most 96 characters, "
                "no '--' or '..', not starting or ending with '-' or '.'",
            )
        hub._require_write(caller, namespace)
        repo_id = f"{namespace}/{name}"
        visibility = _visibility(data, repo_type, default="public")
        if (repo_type, repo_id) in hub._repos:
            # recording test_manage_secrets: 409 with the repo url.
            raise HubError(
                409,
                f"You already created this {repo_type} repo",
                extra={"url": hub.repo_url(req, repo_type, repo_id)},
            )
        if repo_type != "space":
            from ._git_store import DEFAULT_GITATTRIBUTES

            files = {".gitattributes": DEFAULT_GITATTRIBUTES.encode()}
            record = hub._new_repo(
                repo_type, repo_id, visibility=visibility, files=files, author=caller.user.name
            )
        else:
            sdk = opt_str(data, "sdk")
            template = opt_str(data, "template")
            template_files: dict[str, bytes] | None = None
            if template is not None:
                known = next((t for t in TEMPLATES if t["repoId"] == template), None)
                source = hub._repos.get(("space", template))
                if known is None and source is None:
                    raise HubError(400, f"Unknown Space template {template!r}")
                if sdk is None and known is not None:
                    sdk = str(known["sdk"])
                if source is not None:
                    sdk = sdk or (source.space.sdk if source.space else None)
                    template_files = {
                        path: hub.git.read_file(source.key, path) or b""
                        for path in hub.git.list_files(source.key)
                    }
            if sdk is None:
                raise HubError(400, '"sdk" is required when creating a Space')
            if sdk not in SDKS:
                raise HubError(400, f'"sdk" must be one of [{", ".join(SDKS)}]')
            settings = _SpaceSettings.from_body(data)
            if settings.volumes and sdk == "static":
                raise HubError(400, "Cannot mount volumes in a static Space")
            from ._hub import default_space_files

            files = template_files or default_space_files(repo_id, sdk)
            record = hub._new_repo(
                "space", repo_id, visibility=visibility, files=files, sdk=sdk, author=caller.user.name
            )
            space = record.space
            assert space is not None
            settings.apply(space, hub.now())
            hub._start_build(record, keep_serving=False)
        # recording test_space_runtime: {"url", "name", "id"}.
        return json_response(
            {"url": hub.repo_url(req, repo_type, repo_id), "name": repo_id, "id": record.object_id}
        )

    async def delete_repo(req: SimRequest) -> SimResponse:
        data = body_obj(req)
        name = req_str(data, "name")
        organization = opt_str(data, "organization")
        repo_type = body_repo_type(data)
        caller = caller_of(req)
        namespace = organization or (caller.user.name if caller else "")
        repo_id = f"{namespace}/{name}"
        hub.authorize_repo(req, repo_type, repo_id, write=True)
        del hub._repos[(repo_type, repo_id)]
        hub.git.delete_repo((repo_type, repo_id))
        hub.counters.actions["delete_repo"] += 1
        # recording: text "OK", text/plain (hub-api.md §5.2).
        return text_response("OK")

    async def move_repo(req: SimRequest) -> SimResponse:
        # hub-api.md §5.4: {"fromRepo", "toRepo", "type"}; the client ignores the answer's body.
        data = body_obj(req)
        source, target = req_str(data, "fromRepo"), req_str(data, "toRepo")
        repo_type = body_repo_type(data)
        from ._hub import subdomain_of, valid_repo_name

        parts = target.split("/")
        if len(parts) != 2 or not all(valid_repo_name(p) for p in parts):
            raise HubError(400, f"Invalid target repository id {target!r}")
        repo = repo_for(req, repo_type, source, write=True)
        hub._require_write(caller_of(req), parts[0])
        if (repo_type, target) in hub._repos:
            raise HubError(409, f"A {repo_type} repo named {target} already exists")
        hub.git.rename_repo(repo.key, (repo_type, target))
        del hub._repos[repo.key]
        repo.repo_id = target
        if repo.space is not None:
            repo.space.subdomain = subdomain_of(target)
            repo.space.snapshot(hub.now())
        hub._repos[repo.key] = repo
        hub.counters.actions["move_repo"] += 1
        return json_response({})  # [inferred] body not read by the client

    def settings_route(repo_type: str) -> Any:
        async def settings(req: SimRequest, repo_id: str) -> SimResponse:
            repo = repo_for(req, repo_type, repo_id, write=True)
            data = body_obj(req)
            changed = False
            if "visibility" in data or "private" in data:
                repo.visibility = _visibility(data, repo_type, default=repo.visibility)
                changed = True
            if "gated" in data:
                gated = data["gated"]
                if gated not in ("auto", "manual", False):
                    raise HubError(400, '"gated" must be one of ["auto", "manual", false]')
                repo.gated = gated
                changed = True
            if not changed:
                raise HubError(400, "Nothing to update: give 'visibility', 'private' or 'gated'")
            hub.counters.actions["settings"] += 1
            return json_response({})

        return settings

    def info_route(repo_type: str, with_revision: bool) -> Any:
        async def info(req: SimRequest, repo_id: str, revision: str = "main") -> SimResponse:
            repo = repo_for(req, repo_type, repo_id)
            sha = hub.git.head(repo.key, revision)
            if sha is None:
                raise HubError(404, f"Invalid rev id: {revision}", error_code="RevisionNotFound")
            expand = _expand(req, repo_type)
            blobs = (req.arg("blobs") or "").lower() == "true"
            props = _repo_props(hub, repo, revision=revision, sha=sha, blobs=blobs, runtime=runtime_json)
            return json_response(_select(props, expand))

        return info

    def auth_check_route(repo_type: str, write: bool) -> Any:
        async def auth_check(req: SimRequest, repo_id: str) -> SimResponse:
            hub.authorize_repo(req, repo_type, repo_id, write=write)
            return json_response({})

        return auth_check

    def duplicate_route(repo_type: str) -> Any:
        async def duplicate(req: SimRequest, repo_id: str) -> SimResponse:
            source = repo_for(req, repo_type, repo_id)
            data = body_obj(req)
            target = req_str(data, "repository")
            parts = target.split("/")
            from ._hub import valid_repo_name

            if len(parts) != 2 or not all(valid_repo_name(p) for p in parts):
                raise HubError(400, f"Invalid target repository id {target!r}")
            caller = hub._require_write(caller_of(req), parts[0])
            if (repo_type, target) in hub._repos:
                raise HubError(
                    409,
                    f"You already created this {repo_type} repo",
                    extra={"url": hub.repo_url(req, repo_type, target)},
                )
            # hub-api.md §5.5: visibility defaults to the source's [inferred].
            visibility = _visibility(data, repo_type, default=source.visibility)
            settings = _SpaceSettings.from_body(data) if repo_type == "space" else _SpaceSettings()
            hub.git.copy_repo(source.key, (repo_type, target), author=caller.user.name)
            from ._hub import RepoRecord, subdomain_of

            record = RepoRecord(repo_type, target, _new_id(), hub.now(), visibility)
            if source.space is not None:
                space = SpaceState(sdk=source.space.sdk, subdomain=subdomain_of(target))
                space.requested = None if space.is_static else FREE_HARDWARE
                # Variables are public configuration and are carried over; secrets never are.
                now = hub.now()
                for key, entry in source.space.variables.items():
                    space.variables[key] = SecretEntry(entry.value, entry.description, now)
                record.space = space
                settings.apply(space, hub.now())
            hub._repos[record.key] = record
            hub.counters.actions["duplicate"] += 1
            if record.space is not None:
                record.space.snapshot(hub.now())
                hub._start_build(record, keep_serving=False)
            return json_response({"url": hub.repo_url(req, repo_type, target)})

        return duplicate

    def list_route(repo_type: str) -> Any:
        async def list_repos(req: SimRequest) -> SimResponse:
            caller = caller_of(req)
            expand = _expand(req, repo_type)
            full = (req.arg("full") or "").lower() in ("true", "1")
            limit_arg = req.arg("limit")
            limit: int | None = None
            if limit_arg is not None:
                try:
                    limit = int(limit_arg)
                except ValueError:
                    raise HubError(400, '"limit" must be a positive integer') from None
                if limit < 1:
                    raise HubError(400, '"limit" must be a positive integer')
            offset = 0
            cursor = req.arg("cursor")
            if cursor is not None:
                from ._hub import decode_cursor

                offset = decode_cursor(cursor)
            author = req.arg("author")
            search = (req.arg("search") or "").lower()
            tags = req.args("filter")
            repos = [
                r
                for r in hub._repos.values()
                if r.repo_type == repo_type
                and hub._can_read(caller, r)
                and (author is None or r.namespace == author)
                and (not search or search in r.repo_id.lower())
                and (not tags or set(tags) <= set(_tags(r)))
            ]
            sort = req.arg("sort")
            if sort is not None:
                if sort not in ("createdAt", "lastModified", "likes", "trendingScore", "downloads"):
                    raise HubError(
                        400, '"sort" must be one of [createdAt, lastModified, likes, trendingScore]'
                    )
                key_of = {
                    "createdAt": lambda r: r.created_at,
                    "lastModified": lambda r: hub.git.last_modified(r.key),
                    "likes": lambda r: r.likes,
                    "trendingScore": lambda r: 0,
                    "downloads": lambda r: 0,
                }[sort]
                repos.sort(key=key_of, reverse=True)
            page_size = min(limit or hub.list_page_size, 1000, hub.list_page_size)
            page = repos[offset : offset + page_size]
            # Without `expand`, the listing's own keys (`full` adds some).
            kind = "sdk" if repo_type == "space" else "downloads"
            keys = ["_id", "id", "author", "likes", "trendingScore", "private", kind, "tags", "createdAt"]
            if full:
                keys += ["lastModified", "sha", "siblings", "cardData", "disabled", "gated"]
            items = []
            for repo in page:
                hub._settle(repo)
                props = _repo_props(
                    hub, repo, revision="main", sha=hub.git.head(repo.key), blobs=False, runtime=runtime_json
                )
                if expand is not None:
                    items.append(_select(props, expand))
                else:
                    items.append({k: props.get(k) for k in keys if k in props})
            headers = []
            if offset + page_size < len(repos):
                from ._hub import next_link

                headers.append(("Link", next_link(req, offset + page_size)))
            return json_response(items, headers=headers)

        return list_repos

    async def semantic_search(req: SimRequest) -> SimResponse:
        # hub-api.md §6.3: a plain array (no pagination) with snake_case `ai_*` keys beside camelCase ones.
        # [inferred] Relevance here is the share of query words found in the id, title or description.
        words = (req.arg("q") or "").lower().split()
        if not words:
            raise HubError(400, '"q" is required')
        caller = caller_of(req)
        sdk = req.arg("sdk")
        tags = req.args("filter")
        include_all = (req.arg("includeNonRunning") or "").lower() == "true"
        scored = []
        for repo in hub._repos.values():
            if repo.space is None or not hub._can_read(caller, repo):
                continue
            hub._settle(repo)
            space = repo.space
            if (sdk and space.sdk != sdk) or (tags and not set(tags) <= set(_tags(repo))):
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
        items = [
            {
                "id": repo.repo_id,
                "author": repo.namespace,
                "title": str(card.get("title", repo.repo_id.split("/", 1)[1])),
                "emoji": str(card.get("emoji", "")) or None,
                "sdk": repo.space.sdk if repo.space else None,
                "likes": repo.likes,
                "private": repo.private,
                "tags": _tags(repo),
                "runtime": runtime_json(repo.space) if repo.space else None,
                "ai_short_description": card.get("short_description"),
                "ai_category": None,
                "semanticRelevancyScore": round(float(score), 4),
                "trendingScore": 0,
            }
            for score, repo, card in scored[:100]
        ]
        return json_response(items)

    async def spaces_hardware(req: SimRequest) -> SimResponse:
        caller_of(req)
        return json_response(hardware_list())

    async def spaces_templates(req: SimRequest) -> SimResponse:
        return json_response({"templates": TEMPLATES})

    # ------------------------------------------------------------------------------ runtime
    async def get_runtime(req: SimRequest, repo_id: str) -> SimResponse:
        space = space_for(req, repo_id)
        return json_response(runtime_json(space))

    async def request_hardware(req: SimRequest, repo_id: str) -> SimResponse:
        space = space_for(req, repo_id, write=True)
        data = body_obj(req)
        flavor = check_hardware(req_str(data, "flavor"))
        sleep_time = check_sleep_time(opt_int(data, "sleepTimeSeconds"), "sleepTimeSeconds")
        not_static(space, "request hardware for")
        repo = hub._repos[("space", repo_id)]
        now = hub.now()
        if sleep_time is not None:
            space.sleep_time = sleep_time
            space.last_active = now
        if flavor != space.requested:
            space.requested = flavor
            if space.stage == "PAUSED":
                pass  # stays paused; runs on the new hardware after a restart
            elif space.stage in SERVING_STAGES and space.current == flavor:
                space.set_stage(now, "RUNNING")  # back to the hardware still running: switch cancelled
            elif space.stage == "RUNNING" and space.current is not None and not space.plan:
                # hub-api.md §8.2: the old hardware keeps running (RUNNING_BUILDING) until the switch.
                space.switch_hardware(now, hub._durations(space), hub.wall_at)
            else:
                hub._start_build(repo, keep_serving=True)
            hub.counters.actions["hardware"] += 1
        space.snapshot(now)
        return json_response(runtime_json(space))

    async def set_sleeptime(req: SimRequest, repo_id: str) -> SimResponse:
        space = space_for(req, repo_id, write=True)
        data = body_obj(req)
        seconds = opt_int(data, "seconds")
        if seconds is None:
            raise HubError(400, '"seconds" is required')
        check_sleep_time(seconds, "seconds")
        not_static(space, "set the sleep time of")
        space.sleep_time = seconds
        space.last_active = hub.now()  # the new sleep time counts from now, not retroactively
        return setting_changed(space, "sleeptime")

    async def pause(req: SimRequest, repo_id: str) -> SimResponse:
        space = space_for(req, repo_id, write=True)
        not_static(space, "pause")
        space.set_stage(hub.now(), "PAUSED")  # recording test_pause_and_restart_space
        hub.counters.actions["pause"] += 1
        return json_response(runtime_json(space))

    async def restart(req: SimRequest, repo_id: str) -> SimResponse:
        space = space_for(req, repo_id, write=True)
        not_static(space, "restart")
        factory = (req.arg("factory") or "").lower() in ("true", "1")
        repo = hub._repos[("space", repo_id)]
        hub._start_build(repo, keep_serving=False)
        hub.counters.actions["factory_reboot" if factory else "restart"] += 1
        return json_response(runtime_json(space))

    async def dev_mode(req: SimRequest, repo_id: str) -> SimResponse:
        space = space_for(req, repo_id, write=True)
        data = body_obj(req)
        enabled = data.get("enabled")
        if not isinstance(enabled, bool):
            raise HubError(400, '"enabled" must be a boolean')
        not_static(space, "enable dev mode on")
        caller = caller_of(req)
        if enabled and caller is not None and not caller.user.is_pro:
            raise HubError(403, "Dev Mode is only available to PRO users and Enterprise organizations")
        space.dev_mode = enabled
        return setting_changed(space, "dev_mode")

    async def add_storage(req: SimRequest, repo_id: str) -> SimResponse:
        space = space_for(req, repo_id, write=True)
        tier = req_str(body_obj(req), "tier")
        if tier not in STORAGE_TIERS:
            raise HubError(400, f'"tier" must be one of [{", ".join(STORAGE_TIERS)}]')
        if space.storage is not None and STORAGE_TIERS.index(tier) < STORAGE_TIERS.index(space.storage):
            # hub-api.md §8.4: upgrade only; delete first to go down.
            raise HubError(
                400, f"Cannot downgrade persistent storage from {space.storage} to {tier}: delete it first"
            )
        space.storage = tier
        return setting_changed(space, "storage")

    async def delete_storage(req: SimRequest, repo_id: str) -> SimResponse:
        space = space_for(req, repo_id, write=True)
        if space.storage is None:
            raise HubError(400, "This Space has no persistent storage to delete")
        space.storage = None
        return setting_changed(space, "storage_delete")

    async def set_volumes(req: SimRequest, repo_id: str) -> SimResponse:
        space = space_for(req, repo_id, write=True)
        data = body_obj(req)
        if "volumes" not in data:
            raise HubError(400, '"volumes" is required')
        volumes = parse_volumes(data["volumes"])
        not_static(space, "mount volumes in")
        space.volumes = volumes or None
        return setting_changed(space, "volumes")

    async def delete_volumes(req: SimRequest, repo_id: str) -> SimResponse:
        space = space_for(req, repo_id, write=True)
        not_static(space, "remove volumes from")
        if not space.volumes:
            raise HubError(400, "This Space has no volumes")
        space.volumes = None
        return setting_changed(space, "volumes_delete")

    # ---------------------------------------------------------------------- secrets/variables
    async def get_secrets(req: SimRequest, repo_id: str) -> SimResponse:
        space = space_for(req, repo_id, owner=True)
        # hub-api.md §7: secret values are write-only.
        return json_response(entries_json(space.secrets, with_values=False))

    def variables_json(space: SpaceState) -> dict[str, Any]:
        return entries_json(space.variables, with_values=True)

    def entries_json(store: dict[str, SecretEntry], *, with_values: bool) -> dict[str, Any]:
        # hub-api.md §7: `description` omitted when never set.
        out = {}
        for key, entry in store.items():
            item: dict[str, Any] = {"value": entry.value} if with_values else {}
            if entry.description is not None:
                item["description"] = entry.description
            item["updatedAt"] = hub.wall_at(entry.updated_at)
            out[key] = item
        return out

    def upsert(store: dict[str, SecretEntry], req: SimRequest) -> None:
        data = body_obj(req)
        key = req_str(data, "key")
        if not _ENV_KEY.match(key):
            raise HubError(400, f"Invalid key {key!r}: must be a valid environment variable name")
        value = req_str(data, "value")
        description = opt_str(data, "description")
        previous = store.get(key)
        if description is None and previous is not None:
            description = previous.description  # [inferred] hub-api.md §7: keep the previous description
        store[key] = SecretEntry(value, description, hub.now())

    async def add_secret(req: SimRequest, repo_id: str) -> SimResponse:
        space = space_for(req, repo_id, write=True)
        upsert(space.secrets, req)
        hub.counters.actions["secret"] += 1
        return json_response({})  # recording test_manage_secrets

    async def delete_secret(req: SimRequest, repo_id: str) -> SimResponse:
        space = space_for(req, repo_id, write=True)
        space.secrets.pop(req_str(body_obj(req), "key"), None)  # unknown key: still 200 (recording)
        hub.counters.actions["secret_delete"] += 1
        return json_response({})

    async def get_variables(req: SimRequest, repo_id: str) -> SimResponse:
        space = space_for(req, repo_id, owner=True)
        return json_response(variables_json(space))

    async def add_variable(req: SimRequest, repo_id: str) -> SimResponse:
        space = space_for(req, repo_id, write=True)
        upsert(space.variables, req)
        hub.counters.actions["variable"] += 1
        return json_response(variables_json(space))  # recording test_manage_variables: the whole map

    async def delete_variable(req: SimRequest, repo_id: str) -> SimResponse:
        space = space_for(req, repo_id, write=True)
        space.variables.pop(req_str(body_obj(req), "key"), None)
        hub.counters.actions["variable_delete"] += 1
        return json_response(variables_json(space))

    # ---------------------------------------------------------------------------------- logs
    def logs_route(kind: str) -> Any:
        async def logs(req: SimRequest, repo_id: str) -> SimResponse:
            space_for(req, repo_id, owner=True)
            return SimResponse(
                200,
                headers=[("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")],
                stream=_log_stream(hub, repo_id, kind),
            )

        return logs

    # ------------------------------------------------------------------------------- routes
    router.add("GET", "/api/whoami-v2", "GET /api/whoami-v2", whoami)
    router.add("GET", "/api/agent-harnesses", "GET /api/agent-harnesses", agent_harnesses)
    router.add("POST", "/api/validate-yaml", "POST /api/validate-yaml", validate_yaml)
    router.add("POST", "/api/repos/create", "POST /api/repos/create", create_repo)
    router.add("DELETE", "/api/repos/delete", "DELETE /api/repos/delete", delete_repo)
    router.add("POST", "/api/repos/move", "POST /api/repos/move", move_repo)
    router.add("GET", "/api/spaces/hardware", "GET /api/spaces/hardware", spaces_hardware)
    router.add("GET", "/api/spaces/semantic-search", "GET /api/spaces/semantic-search", semantic_search)
    router.add("GET", "/api/spaces/templates", "GET /api/spaces/templates", spaces_templates)
    for plural, repo_type in PLURALS.items():
        base = f"/api/{plural}/{ID}"
        router.add("GET", f"/api/{plural}", f"GET /api/{plural}", list_route(repo_type))
        router.add("GET", base, f"GET /api/{plural}/{{id}}", info_route(repo_type, False))
        router.add(
            "GET",
            base + "/revision/(?P<revision>.+)",
            f"GET /api/{plural}/{{id}}/revision/{{rev}}",
            info_route(repo_type, True),
        )
        router.add("PUT", base + "/settings", f"PUT /api/{plural}/{{id}}/settings", settings_route(repo_type))
        router.add(
            "GET",
            base + "/auth-check",
            f"GET /api/{plural}/{{id}}/auth-check",
            auth_check_route(repo_type, False),
        )
        router.add(
            "GET",
            base + "/auth-check/write",
            f"GET /api/{plural}/{{id}}/auth-check/write",
            auth_check_route(repo_type, True),
        )
        router.add(
            "POST", base + "/duplicate", f"POST /api/{plural}/{{id}}/duplicate", duplicate_route(repo_type)
        )
    space = f"/api/spaces/{ID}"
    for method, suffix, handler in [
        ("GET", "runtime", get_runtime),
        ("POST", "hardware", request_hardware),
        ("POST", "sleeptime", set_sleeptime),
        ("POST", "pause", pause),
        ("POST", "restart", restart),
        ("POST", "dev-mode", dev_mode),
        ("POST", "storage", add_storage),
        ("DELETE", "storage", delete_storage),
        ("PUT", "volumes", set_volumes),
        ("DELETE", "volumes", delete_volumes),
        ("GET", "secrets", get_secrets),
        ("POST", "secrets", add_secret),
        ("DELETE", "secrets", delete_secret),
        ("GET", "variables", get_variables),
        ("POST", "variables", add_variable),
        ("DELETE", "variables", delete_variable),
        ("GET", "logs/build", logs_route("build")),
        ("GET", "logs/run", logs_route("run")),
    ]:
        router.add(method, f"{space}/{suffix}", f"{method} /api/spaces/{{id}}/{suffix}", handler)


# ----------------------------------------------------------------------------------- helpers
def _new_id() -> str:
    import secrets

    return secrets.token_hex(12)


def _visibility(data: dict[str, Any], repo_type: str, *, default: str) -> str:
    visibility = data.get("visibility")
    private = data.get("private")
    if visibility is not None:
        if visibility not in VISIBILITIES:
            raise HubError(400, '"visibility" must be one of [public, private, protected]')
        if visibility == "protected" and repo_type != "space":
            raise HubError(400, '"protected" visibility is only available for Spaces')
        return str(visibility)
    if private is not None:
        # The legacy `private` flag (recordings, hub-api.md §5.1) is still accepted.
        if not isinstance(private, bool):
            raise HubError(400, '"private" must be a boolean')
        return "private" if private else "public"
    return default


@dataclasses.dataclass(frozen=True)
class _SpaceSettings:
    """The Space settings a create or duplicate body may carry (hub-api.md §5.1, §5.5)."""

    hardware: str | None = None
    sleep_time: int | None = None
    storage: str | None = None
    secrets: list[tuple[str, str, str | None]] = dataclasses.field(default_factory=list)
    variables: list[tuple[str, str, str | None]] = dataclasses.field(default_factory=list)
    volumes: list[dict[str, Any]] | None = None

    @classmethod
    def from_body(cls, data: dict[str, Any]) -> _SpaceSettings:
        """Read and check the settings; 400 on the first bad one."""
        hardware = check_hardware(opt_str(data, "hardware"), "hardware")
        sleep_time = check_sleep_time(opt_int(data, "sleepTimeSeconds"), "sleepTimeSeconds")
        storage = opt_str(data, "storageTier")
        if storage is not None and storage not in STORAGE_TIERS:
            raise HubError(400, f'"storageTier" must be one of [{", ".join(STORAGE_TIERS)}]')
        secrets = parse_key_values(data, "secrets")
        variables = parse_key_values(data, "variables")
        volumes = parse_volumes(data["volumes"]) if data.get("volumes") is not None else None
        return cls(hardware, sleep_time, storage, secrets, variables, volumes)

    def apply(self, space: SpaceState, now: float) -> None:
        """Set them on a new Space (a static Space keeps no hardware)."""
        if self.hardware is not None and not space.is_static:
            space.requested = self.hardware
        space.sleep_time = self.sleep_time
        space.storage = self.storage
        for key, value, description in self.secrets:
            space.secrets[key] = SecretEntry(value, description, now)
        for key, value, description in self.variables:
            space.variables[key] = SecretEntry(value, description, now)
        space.volumes = self.volumes or None


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


def _tags(repo: RepoRecord) -> list[str]:
    tags = []
    if repo.space is not None:
        tags.append(repo.space.sdk)
    tags.append("region:us")
    return tags


def _repo_props(
    hub: SimulatedHub,
    repo: RepoRecord,
    *,
    revision: str,
    sha: str | None,
    blobs: bool,
    runtime: Any,
) -> dict[str, Any]:
    files = hub.git.list_files(repo.key, revision)
    siblings = []
    for path, info in sorted(files.items()):
        sibling: dict[str, Any] = {"rfilename": path}
        if blobs:
            sibling["size"] = info.size
            sibling["blobId"] = info.blob_oid
            if info.lfs_sha256 is not None:
                # hub-api.md §6.1: the LFS hash key is `sha256` here.
                sibling["lfs"] = {
                    "size": info.size,
                    "sha256": info.lfs_sha256,
                    "pointerSize": info.pointer_size,
                }
        siblings.append(sibling)
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
        "tags": _tags(repo),
        "siblings": siblings,
        "usedStorage": sum(info.size for info in files.values()),
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
        props.update(
            {
                "sdk": space.sdk,
                "subdomain": space.subdomain,
                "host": f"https://{space.subdomain}.hf.space",
                "runtime": runtime(space),
                "models": [],
                "datasets": [],
            }
        )
    else:
        props.update({"downloads": 0, "downloadsAllTime": 0})
        if repo.repo_type == "model":
            props["library_name"] = None
            props["pipeline_tag"] = None
            props["spaces"] = []
    return props


def _sse_event(line: str, timestamp: str) -> bytes:
    # hub-api.md §9: `data: {"data": "<line>", "timestamp": "<ISO>"}` per event.
    return b"data: " + json.dumps({"data": line, "timestamp": timestamp}).encode() + b"\n\n"


KEEPALIVE = b"data: \n\n"  # empty `data:` event (hub-api.md §9), ignored by clients
_LIVE = {
    "build": frozenset({"BUILDING", "RUNNING_BUILDING"}),
    "run": frozenset({"BUILDING", "APP_STARTING", "RUNNING", "RUNNING_BUILDING", "RUNNING_APP_STARTING"}),
}


async def _log_stream(hub: SimulatedHub, repo_id: str, kind: str) -> AsyncIterator[bytes]:
    """Replay the whole log (each connection starts from the beginning, §9), then follow it while live.

    After the replay one keep-alive marks "buffer drained". The stream stays open while the log can still
    grow (a build in progress for build logs; the app starting or running for run logs), sends new lines as
    their time comes and a keep-alive after `sse_keepalive` seconds of silence, and ends when the log can
    no longer grow (build finished, Space paused, failed or deleted).
    """
    gen = -1
    sent = 0
    first = True
    keepalive = hub.sse_keepalive * hub.speed
    last_sent = hub.now()
    while True:
        with hub._lock:
            repo = hub._repos.get(("space", repo_id))
            if repo is None or repo.space is None:
                return
            space = repo.space
            now = hub.now()
            space.settle(now)
            log, log_gen = (
                (space.build_log, space.build_gen) if kind == "build" else (space.run_log, space.run_gen)
            )
            if log_gen != gen:
                gen, sent = log_gen, 0  # a new build or app start: its log streams from its beginning
            new = []
            for t, line in log[sent:]:
                if t > now:
                    break
                new.append((t, line))
            sent += len(new)
            live = space.stage in _LIVE[kind]
            upcoming = [log[sent][0]] if sent < len(log) else []
            if space.plan:
                upcoming.append(space.plan[0].at)
        chunk = b"".join(_sse_event(line, hub.wall_at(t)) for t, line in new)
        if first:
            chunk += KEEPALIVE
            first = False
        if chunk:
            yield chunk
            last_sent = now
        if not live:
            return
        if now - last_sent >= keepalive:
            yield KEEPALIVE
            last_sent = now
        wake = min([*upcoming, last_sent + keepalive, now + hub.sse_poll * hub.speed])
        await hub.sleep(max(wake - now, 0.001))
