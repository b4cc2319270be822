"""Reading route inputs the way the Hub checks them: JSON body fields, Space settings, cursors.

Every helper raises `HubError(400)` with the Hub's message style (`"<field>" must be ...`) on the first bad
value, so no handler sees a malformed input.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import urlencode

import attrs

from ._git_common import API_TYPE
from ._hardware import HARDWARE_NAMES, STORAGE_TIERS
from ._http import HubError, SimRequest
from ._space import SecretEntry, SpaceState

VOLUME_TYPES = ("bucket", "model", "dataset", "space")
VISIBILITIES = ("public", "private", "protected")
ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# [inferred] The Hub is a JavaScript server: integers beyond 2**53 - 1 are not numbers it can hold.
MAX_SAFE_INTEGER = 2**53 - 1


def body_obj(req: SimRequest) -> dict[str, Any]:
    """The JSON body as an object; 400 otherwise."""
    data = req.json()
    if not isinstance(data, dict):
        raise HubError(400, "Invalid request body: expected a JSON object")
    return data


def opt_str(data: dict[str, Any], key: str) -> str | None:
    """`data[key]` when it is a string, None when absent; 400 for any other type."""
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise HubError(400, f'"{key}" must be a string')
    return value


def req_str(data: dict[str, Any], key: str) -> str:
    """`data[key]`, which must be a string."""
    value = opt_str(data, key)
    if value is None:
        raise HubError(400, f'"{key}" is required')
    return value


def opt_int(data: dict[str, Any], key: str) -> int | None:
    """`data[key]` when it is an integer the Hub can hold, None when absent."""
    value = data.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise HubError(400, f'"{key}" must be an integer')
    if value is not None and abs(value) > MAX_SAFE_INTEGER:
        raise HubError(400, f'"{key}" is out of range')
    return value


def body_repo_type(data: dict[str, Any]) -> str:
    """The body's repo `type` (default "model"); 400 unless it is model, dataset or space."""
    repo_type = data.get("type") or "model"
    if repo_type not in API_TYPE.values():
        raise HubError(400, '"type" must be one of [model, dataset, space]')
    return str(repo_type)


def check_sleep_time(value: int | None, key: str) -> int | None:
    """A sleep time: positive seconds, or -1 (never sleep)."""
    if value is not None and value != -1 and value <= 0:
        raise HubError(400, f'"{key}" must be a positive number of seconds or -1')
    return value


def check_hardware(value: str | None, key: str = "flavor") -> str | None:
    """A hardware flavor name the Hub knows."""
    if value is not None and value not in HARDWARE_NAMES:
        raise HubError(400, f'"{key}" must be one of [{", ".join(HARDWARE_NAMES)}]')
    return value


def visibility(data: dict[str, Any], repo_type: str, *, default: str) -> str:
    """The body's `visibility` (or legacy `private` flag), else `default`."""
    value = data.get("visibility")
    private = data.get("private")
    if value is not None:
        if value not in VISIBILITIES:
            raise HubError(400, '"visibility" must be one of [public, private, protected]')
        if value == "protected" and repo_type != "space":
            raise HubError(400, '"protected" visibility is only available for Spaces')
        return str(value)
    if private is not None:
        # The legacy `private` flag (recordings, hub-api.md §5.1) is still accepted.
        if not isinstance(private, bool):
            raise HubError(400, '"private" must be a boolean')
        return "private" if private else "public"
    return default


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
        if not ENV_KEY.match(key):
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
        out.append(_parse_volume(item, mounts))
    return out


def _parse_volume(item: dict[str, Any], mounts: set[str]) -> dict[str, Any]:
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
    return volume


@attrs.frozen
class SpaceSettings:
    """The Space settings a create or duplicate body may carry (hub-api.md §5.1, §5.5)."""

    hardware: str | None = None
    sleep_time: int | None = None
    storage: str | None = None
    secrets: list[tuple[str, str, str | None]] = attrs.field(factory=list)
    variables: list[tuple[str, str, str | None]] = attrs.field(factory=list)
    volumes: list[dict[str, Any]] | None = None

    @classmethod
    def from_body(cls, data: dict[str, Any]) -> SpaceSettings:
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


def encode_cursor(offset: int) -> str:
    """Opaque pagination cursor (base64 JSON, like the Hub's)."""
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """Offset from a cursor; `HubError(400)` when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        offset = json.loads(raw)["o"]
    except (ValueError, KeyError, TypeError):
        raise HubError(400, "Invalid cursor") from None
    if not isinstance(offset, int) or offset < 0:
        raise HubError(400, "Invalid cursor")
    return offset


def next_link(req: SimRequest, offset: int) -> str:
    """Absolute `Link` header for the next page (hub-api.md §6.2, §14 item 15)."""
    query = [(k, v) for k, v in req.query if k != "cursor"] + [("cursor", encode_cursor(offset))]
    return f'<{req.base_url}{req.path}?{urlencode(query)}>; rel="next"'
