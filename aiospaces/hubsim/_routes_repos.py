"""Routes that create, delete, move, duplicate and configure repos (hub-api.md §5), and auth checks."""

from __future__ import annotations

import functools
from typing import Any

from ._builds import SDKS
from ._git_common import API_TYPE, REPO_ID
from ._git_objects import DEFAULT_GITATTRIBUTES
from ._http import HubError, RouteSpec, SimRequest, SimResponse, json_response, text_response
from ._params import (
    SpaceSettings,
    body_obj,
    body_repo_type,
    opt_str,
    req_str,
    visibility,
)
from ._records import RepoRecord, TokenInfo, default_space_files, valid_repo_id, valid_repo_name
from ._state import HubState

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
INVALID_NAME = (
    "Invalid repo name: use letters, digits, '-', '_' and '.', at most 96 characters, "
    "no '--' or '..', not starting or ending with '-' or '.'"
)


def _already_exists(hub: HubState, req: SimRequest, repo: RepoRecord) -> HubError:
    # recording test_manage_secrets: 409 with the repo url (the official client's `create_repo(exist_ok=True)`
    # returns that url), spelled as the repo was created.
    url = hub.repo_url(req, repo.repo_type, repo.repo_id)
    return HubError(409, f"You already created this {repo.repo_type} repo", extra={"url": url})


def create_repo(hub: HubState, req: SimRequest) -> SimResponse:
    """`POST /api/repos/create`: a model, dataset or Space (which starts building at once)."""
    data = body_obj(req)
    name = req_str(data, "name")
    organization = opt_str(data, "organization")
    repo_type = body_repo_type(data)
    caller = hub.caller(req)
    if caller is None:
        raise HubError(401, "You must be authenticated to create a repo")
    namespace = organization or caller.user.name
    if not valid_repo_name(name) or not valid_repo_name(namespace):
        raise HubError(400, INVALID_NAME)
    hub.require_write(caller, namespace)
    repo_id = f"{namespace}/{name}"
    owner = hub.user(namespace)
    # huggingface_hub 2.4 `hf_api.py` (`create_repo`, `private`): "If `None` (default), the repo will be
    # public unless the organization's default is private".
    default = "private" if owner is not None and owner.private_repos_by_default else "public"
    chosen = visibility(data, repo_type, default=default)
    existing = hub.repo(repo_type, repo_id)
    if existing is not None:
        raise _already_exists(hub, req, existing)
    if repo_type == "space":
        record = _create_space(hub, data, repo_id, chosen, caller)
    else:
        files = {".gitattributes": DEFAULT_GITATTRIBUTES.encode()}
        record = hub.new_repo(repo_type, repo_id, visibility=chosen, files=files, author=caller.user.name)
    # recording test_space_runtime: {"url", "name", "id"}.
    url = hub.repo_url(req, repo_type, repo_id)
    return json_response({"url": url, "name": repo_id, "id": record.object_id})


def _create_space(
    hub: HubState, data: dict[str, Any], repo_id: str, chosen: str, caller: TokenInfo
) -> RepoRecord:
    sdk = opt_str(data, "sdk")
    template = opt_str(data, "template")
    template_files: dict[str, bytes] | None = None
    if template is not None:
        known = next((t for t in TEMPLATES if t["repoId"] == template), None)
        source = hub.repo("space", template)
        if known is None and source is None:
            raise HubError(400, f"Unknown Space template {template!r}")
        if sdk is None and known is not None:
            sdk = str(known["sdk"])
        if source is not None:
            sdk = sdk or (source.space.sdk if source.space else None)
            paths = hub.git.list_files(source.key)
            template_files = {path: hub.git.read_file(source.key, path) or b"" for path in paths}
    if sdk is None:
        raise HubError(400, '"sdk" is required when creating a Space')
    if sdk not in SDKS:
        raise HubError(400, f'"sdk" must be one of [{", ".join(SDKS)}]')
    settings = SpaceSettings.from_body(data)
    if settings.volumes and sdk == "static":
        raise HubError(400, "Cannot mount volumes in a static Space")
    files = template_files or default_space_files(repo_id, sdk)
    record = hub.new_repo("space", repo_id, visibility=chosen, files=files, sdk=sdk, author=caller.user.name)
    assert record.space is not None
    settings.apply(record.space, hub.now())
    hub.start_build(record, keep_serving=False)
    return record


def delete_repo(hub: HubState, req: SimRequest) -> SimResponse:
    """`DELETE /api/repos/delete`: answers text "OK" (recording, hub-api.md §5.2)."""
    data = body_obj(req)
    name = req_str(data, "name")
    organization = opt_str(data, "organization")
    repo_type = body_repo_type(data)
    caller = hub.caller(req)
    namespace = organization or (caller.user.name if caller else "")
    repo_id = f"{namespace}/{name}"
    hub.authorize_repo(req, repo_type, repo_id, write=True)
    hub.remove_repo(repo_type, repo_id)
    hub.counters.actions["delete_repo"] += 1
    return text_response("OK")


def move_repo(hub: HubState, req: SimRequest) -> SimResponse:
    """`POST /api/repos/move` with {"fromRepo", "toRepo", "type"} (hub-api.md §5.4)."""
    data = body_obj(req)
    source, target = req_str(data, "fromRepo"), req_str(data, "toRepo")
    repo_type = body_repo_type(data)
    if not valid_repo_id(target):
        raise HubError(400, f"Invalid target repository id {target!r}")
    repo = hub.readable_repo(req, repo_type, source, write=True)
    hub.require_write(hub.caller(req), target.split("/")[0])
    existing = hub.repo(repo_type, target)
    if existing is not None:
        # huggingface_hub tests (`tests/test_hf_api.py`, `test_move_repo_target_already_exists`) match
        # "A model repository called .* already exists" on the real Hub's answer.
        raise HubError(409, f"A {repo_type} repository called {existing.repo_id} already exists")
    hub.rename_repo(repo, target)
    hub.counters.actions["move_repo"] += 1
    return json_response({})  # [inferred] body not read by the client


def update_settings(hub: HubState, req: SimRequest, repo_id: str, *, repo_type: str) -> SimResponse:
    """`PUT /api/{type}s/{id}/settings`: visibility and gating."""
    repo = hub.readable_repo(req, repo_type, repo_id, write=True)
    data = body_obj(req)
    changed = False
    if "visibility" in data or "private" in data:
        repo.visibility = visibility(data, repo_type, default=repo.visibility)
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


def auth_check(hub: HubState, req: SimRequest, repo_id: str, *, repo_type: str, write: bool) -> SimResponse:
    """`GET /api/{type}s/{id}/auth-check[/write]`: 200 `{}` when the caller may read (write) the repo.

    A gated repo answers `GatedRepo` to a caller without access, as its downloads do (huggingface_hub 2.4
    `hf_api.py`, `auth_check`: "GatedRepoError: Raised if the repository exists but is gated and the user is
    not authorized to access it").
    """
    hub.authorize_repo(req, repo_type, repo_id, write=write)
    hub.authorize_download(req, repo_type, repo_id)
    return json_response({})


def duplicate(hub: HubState, req: SimRequest, repo_id: str, *, repo_type: str) -> SimResponse:
    """`POST /api/{type}s/{id}/duplicate` (hub-api.md §5.5); a Space copy starts building."""
    source = hub.readable_repo(req, repo_type, repo_id)
    data = body_obj(req)
    target = req_str(data, "repository")
    if not valid_repo_id(target):
        raise HubError(400, f"Invalid target repository id {target!r}")
    caller = hub.require_write(hub.caller(req), target.split("/")[0])
    existing = hub.repo(repo_type, target)
    if existing is not None:
        raise _already_exists(hub, req, existing)
    # hub-api.md §5.5: visibility defaults to the source's [inferred].
    chosen = visibility(data, repo_type, default=source.visibility)
    settings = SpaceSettings.from_body(data) if repo_type == "space" else SpaceSettings()
    record = hub.copy_repo(source, target, visibility=chosen, author=caller.user.name)
    hub.counters.actions["duplicate"] += 1
    if record.space is not None:
        settings.apply(record.space, hub.now())
        record.space.snapshot(hub.now())
        hub.start_build(record, keep_serving=False)
    return json_response({"url": hub.repo_url(req, repo_type, target)})


def spaces_templates(hub: HubState, req: SimRequest) -> SimResponse:
    """`GET /api/spaces/templates`: the templates a Space can be created from."""
    return json_response({"templates": TEMPLATES})


REPO_ROUTES = [
    RouteSpec("POST", "/api/repos/create", "POST /api/repos/create", create_repo),
    RouteSpec("DELETE", "/api/repos/delete", "DELETE /api/repos/delete", delete_repo),
    RouteSpec("POST", "/api/repos/move", "POST /api/repos/move", move_repo),
]


def per_type_routes(plural: str) -> list[RouteSpec]:
    """Settings, auth checks and duplication of one repo type (`models`, `datasets` or `spaces`)."""
    base, kind = f"/api/{plural}/{REPO_ID}", API_TYPE[plural]
    name = f"/api/{plural}/{{id}}"
    return [
        RouteSpec(
            "PUT",
            f"{base}/settings",
            f"PUT {name}/settings",
            functools.partial(update_settings, repo_type=kind),
        ),
        RouteSpec(
            "GET",
            f"{base}/auth-check",
            f"GET {name}/auth-check",
            functools.partial(auth_check, repo_type=kind, write=False),
        ),
        RouteSpec(
            "GET",
            f"{base}/auth-check/write",
            f"GET {name}/auth-check/write",
            functools.partial(auth_check, repo_type=kind, write=True),
        ),
        RouteSpec(
            "POST",
            f"{base}/duplicate",
            f"POST {name}/duplicate",
            functools.partial(duplicate, repo_type=kind),
        ),
    ]
