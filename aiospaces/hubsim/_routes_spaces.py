"""Routes of a Space's runtime and settings: hardware, sleep time, pause/restart, dev mode, storage,
volumes, secrets, variables and logs (hub-api.md §7-§9)."""

from __future__ import annotations

import math
from typing import Any

from ._builds import SCHEDULING_FAILURE
from ._git_common import REPO_ID
from ._hardware import STORAGE_TIERS
from ._http import HubError, RouteSpec, SimRequest, SimResponse, json_response
from ._logs import log_stream
from ._params import (
    ENV_KEY,
    body_obj,
    check_hardware,
    check_sleep_time,
    opt_int,
    opt_str,
    parse_volumes,
    req_str,
)
from ._space import SERVING_STAGES, SecretEntry, SpaceState
from ._state import HubState


def _space(
    hub: HubState, req: SimRequest, repo_id: str, *, write: bool = False, owner: bool = False
) -> SpaceState:
    """The Space after the caller's access check: `write` for changes, `owner` for owner-only reads."""
    repo = hub.readable_repo(req, "space", repo_id, write=write)
    if owner and not write:
        caller = hub.caller(req)
        if caller is None:
            # Anonymous callers are told to authenticate (401), as for every write (hub-api.md §3.4).
            raise HubError(401, "You must be authenticated to access this resource")
        if not hub.is_member(caller.user, repo.namespace):
            raise HubError(403, f"You don't have the rights to access the settings of {repo_id}")
    assert repo.space is not None
    return repo.space


def _not_static(space: SpaceState, action: str) -> None:
    if space.is_static:
        # hub-api.md §13.4: static Spaces refuse pause/restart/dev-mode/volumes with a 400.
        raise HubError(400, f"Cannot {action} a static Space")


def _changed(hub: HubState, space: SpaceState, action: str) -> SimResponse:
    return json_response(hub.setting_changed(space, action))


def get_runtime(hub: HubState, req: SimRequest, repo_id: str) -> SimResponse:
    """The Space's runtime."""
    return json_response(hub.runtime_json(_space(hub, req, repo_id)))


def request_hardware(hub: HubState, req: SimRequest, repo_id: str) -> SimResponse:
    """Ask for other hardware (and maybe a sleep time); a running Space keeps its old hardware a while."""
    space = _space(hub, req, repo_id, write=True)
    data = body_obj(req)
    flavor = check_hardware(req_str(data, "flavor"))
    sleep_time = check_sleep_time(opt_int(data, "sleepTimeSeconds"), "sleepTimeSeconds")
    _not_static(space, "request hardware for")
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
            repo = hub.repo("space", repo_id)
            assert repo is not None
            rebuild_log = hub.rebuild_log(repo)
            hold = hub.hardware_hold()
            full = hold is None and flavor is not None and hub.capacity_full(flavor, space)
            if full:
                # Every machine of the flavor is taken: wait for one to free (`set_hardware_capacity`).
                hold = (math.inf, SCHEDULING_FAILURE)
            if hold is not None:
                # No machine for the new flavor yet: the old one keeps RUNNING, with `requested` !=
                # `current` (an `unscheduled_hardware` fault, or the modelled capacity).
                space.wait_for_capacity(
                    now, hold[0], hold[1], hub.durations(space), hub.wall_at, rebuild_log=rebuild_log
                )
                space.awaiting_capacity = full
            else:
                # hub-api.md §8.2: the old hardware keeps running (RUNNING_BUILDING) until the switch.
                space.switch_hardware(now, hub.durations(space), hub.wall_at, rebuild_log=rebuild_log)
        else:
            repo = hub.repo("space", repo_id)
            assert repo is not None
            hub.start_build(repo, keep_serving=True)
        hub.counters.actions["hardware"] += 1
    space.snapshot(now)
    return json_response(hub.runtime_json(space))


def set_sleeptime(hub: HubState, req: SimRequest, repo_id: str) -> SimResponse:
    """Set the sleep time (gcTimeout); it counts from now, not retroactively."""
    space = _space(hub, req, repo_id, write=True)
    seconds = opt_int(body_obj(req), "seconds")
    if seconds is None:
        raise HubError(400, '"seconds" is required')
    check_sleep_time(seconds, "seconds")
    _not_static(space, "set the sleep time of")
    space.sleep_time = seconds
    space.last_active = hub.now()
    return _changed(hub, space, "sleeptime")


def pause(hub: HubState, req: SimRequest, repo_id: str) -> SimResponse:
    """Pause the Space (recording test_pause_and_restart_space)."""
    space = _space(hub, req, repo_id, write=True)
    _not_static(space, "pause")
    space.set_stage(hub.now(), "PAUSED")
    hub.counters.actions["pause"] += 1
    return json_response(hub.runtime_json(space))


def restart(hub: HubState, req: SimRequest, repo_id: str) -> SimResponse:
    """Restart (or, with `factory=true`, factory-reboot) the Space: a new build starts."""
    space = _space(hub, req, repo_id, write=True)
    _not_static(space, "restart")
    factory = (req.arg("factory") or "").lower() in ("true", "1")
    repo = hub.repo("space", repo_id)
    assert repo is not None
    hub.start_build(repo, keep_serving=False)
    hub.counters.actions["factory_reboot" if factory else "restart"] += 1
    return json_response(hub.runtime_json(space))


def dev_mode(hub: HubState, req: SimRequest, repo_id: str) -> SimResponse:
    """Turn dev mode on or off (PRO users and Enterprise orgs only)."""
    space = _space(hub, req, repo_id, write=True)
    enabled = body_obj(req).get("enabled")
    if not isinstance(enabled, bool):
        raise HubError(400, '"enabled" must be a boolean')
    _not_static(space, "enable dev mode on")
    caller = hub.caller(req)
    if enabled and caller is not None and not caller.user.is_pro:
        raise HubError(403, "Dev Mode is only available to PRO users and Enterprise organizations")
    space.dev_mode = enabled
    return _changed(hub, space, "dev_mode")


def add_storage(hub: HubState, req: SimRequest, repo_id: str) -> SimResponse:
    """Add or upgrade persistent storage (hub-api.md §8.4: upgrade only; delete first to go down)."""
    space = _space(hub, req, repo_id, write=True)
    tier = req_str(body_obj(req), "tier")
    if tier not in STORAGE_TIERS:
        raise HubError(400, f'"tier" must be one of [{", ".join(STORAGE_TIERS)}]')
    if space.storage is not None and STORAGE_TIERS.index(tier) < STORAGE_TIERS.index(space.storage):
        message = f"Cannot downgrade persistent storage from {space.storage} to {tier}: delete it first"
        raise HubError(400, message)
    space.storage = tier
    return _changed(hub, space, "storage")


def delete_storage(hub: HubState, req: SimRequest, repo_id: str) -> SimResponse:
    """Remove persistent storage."""
    space = _space(hub, req, repo_id, write=True)
    if space.storage is None:
        raise HubError(400, "This Space has no persistent storage to delete")
    space.storage = None
    return _changed(hub, space, "storage_delete")


def set_volumes(hub: HubState, req: SimRequest, repo_id: str) -> SimResponse:
    """Replace the Space's mounted volumes (hub-api.md §8.5)."""
    space = _space(hub, req, repo_id, write=True)
    data = body_obj(req)
    if "volumes" not in data:
        raise HubError(400, '"volumes" is required')
    volumes = parse_volumes(data["volumes"])
    _not_static(space, "mount volumes in")
    space.volumes = volumes or None
    return _changed(hub, space, "volumes")


def delete_volumes(hub: HubState, req: SimRequest, repo_id: str) -> SimResponse:
    """Unmount every volume."""
    space = _space(hub, req, repo_id, write=True)
    _not_static(space, "remove volumes from")
    if not space.volumes:
        raise HubError(400, "This Space has no volumes")
    space.volumes = None
    return _changed(hub, space, "volumes_delete")


# ------------------------------------------------------------------------------- secrets and variables
def _entries(hub: HubState, store: dict[str, SecretEntry], *, with_values: bool) -> dict[str, Any]:
    # hub-api.md §7: `description` omitted when never set; secret values are write-only.
    out = {}
    for key, entry in store.items():
        item: dict[str, Any] = {"value": entry.value} if with_values else {}
        if entry.description is not None:
            item["description"] = entry.description
        item["updatedAt"] = hub.wall_at(entry.updated_at)
        out[key] = item
    return out


def _upsert(hub: HubState, store: dict[str, SecretEntry], req: SimRequest) -> None:
    data = body_obj(req)
    key = req_str(data, "key")
    if not ENV_KEY.match(key):
        raise HubError(400, f"Invalid key {key!r}: must be a valid environment variable name")
    value = req_str(data, "value")
    description = opt_str(data, "description")
    previous = store.get(key)
    if description is None and previous is not None:
        description = previous.description  # [inferred] hub-api.md §7: keep the previous description
    store[key] = SecretEntry(value, description, hub.now())


def get_secrets(hub: HubState, req: SimRequest, repo_id: str) -> SimResponse:
    """The secrets' keys and descriptions, never their values (owner only)."""
    space = _space(hub, req, repo_id, owner=True)
    return json_response(_entries(hub, space.secrets, with_values=False))


def add_secret(hub: HubState, req: SimRequest, repo_id: str) -> SimResponse:
    """Add or update a secret; answers `{}` (recording test_manage_secrets)."""
    space = _space(hub, req, repo_id, write=True)
    _upsert(hub, space.secrets, req)
    hub.counters.actions["secret"] += 1
    return json_response({})


def delete_secret(hub: HubState, req: SimRequest, repo_id: str) -> SimResponse:
    """Delete a secret; an unknown key is still a 200 (recording)."""
    space = _space(hub, req, repo_id, write=True)
    space.secrets.pop(req_str(body_obj(req), "key"), None)
    hub.counters.actions["secret_delete"] += 1
    return json_response({})


def get_variables(hub: HubState, req: SimRequest, repo_id: str) -> SimResponse:
    """The variables with their values (owner only)."""
    space = _space(hub, req, repo_id, owner=True)
    return json_response(_entries(hub, space.variables, with_values=True))


def add_variable(hub: HubState, req: SimRequest, repo_id: str) -> SimResponse:
    """Add or update a variable; answers the whole map (recording test_manage_variables)."""
    space = _space(hub, req, repo_id, write=True)
    _upsert(hub, space.variables, req)
    hub.counters.actions["variable"] += 1
    return json_response(_entries(hub, space.variables, with_values=True))


def delete_variable(hub: HubState, req: SimRequest, repo_id: str) -> SimResponse:
    """Delete a variable; answers the remaining map."""
    space = _space(hub, req, repo_id, write=True)
    space.variables.pop(req_str(body_obj(req), "key"), None)
    hub.counters.actions["variable_delete"] += 1
    return json_response(_entries(hub, space.variables, with_values=True))


# ---------------------------------------------------------------------------------------------- logs
def _logs(hub: HubState, req: SimRequest, repo_id: str, kind: str) -> SimResponse:
    _space(hub, req, repo_id, owner=True)
    headers = [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")]
    return SimResponse(200, headers=headers, stream=log_stream(hub, repo_id, kind))


def build_logs(hub: HubState, req: SimRequest, repo_id: str) -> SimResponse:
    """The build log as SSE (owner only); streams outside the hub lock."""
    return _logs(hub, req, repo_id, "build")


def run_logs(hub: HubState, req: SimRequest, repo_id: str) -> SimResponse:
    """The run log as SSE (owner only); streams outside the hub lock."""
    return _logs(hub, req, repo_id, "run")


_SPACE_ACTIONS = [
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
    ("GET", "logs/build", build_logs),
    ("GET", "logs/run", run_logs),
]
SPACE_ROUTES = [
    RouteSpec(method, f"/api/spaces/{REPO_ID}/{suffix}", f"{method} /api/spaces/{{id}}/{suffix}", handler)
    for method, suffix, handler in _SPACE_ACTIONS
]
