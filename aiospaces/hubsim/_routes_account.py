"""Routes about the caller and the Hub itself: `whoami-v2`, agent harnesses, card metadata validation."""

from __future__ import annotations

import re
from typing import Any

from ._builds import SDKS, parse_front_matter, without_comment
from ._hardware import HARDWARE_NAMES
from ._http import HubError, RouteSpec, SimRequest, SimResponse, json_response
from ._params import body_obj, req_str
from ._state import HubState


def whoami(hub: HubState, req: SimRequest) -> SimResponse:
    """The caller's account (hub-api.md §2.5: the client reads name, orgs[].name, auth.accessToken)."""
    caller = hub.caller(req)
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
                "fullname": (org.fullname if org else None) or org_name,
                "email": None,
                "canPay": True,
                "avatarUrl": f"{req.base_url}/avatars/{org_name}.svg",
                "periodEnd": None,
                "roleInOrg": "admin",
            }
        )
    token = {"displayName": caller.display_name, "role": caller.role, "createdAt": hub.wall(0.0)}
    account: dict[str, Any] = {
        "type": "user",
        "id": user.object_id,
        "name": user.name,
        "fullname": user.fullname or user.name,
        "email": f"{user.name}@example.com",
        "emailVerified": True,
        "isPro": user.is_pro,
        "canPay": True,
        "avatarUrl": f"{req.base_url}/avatars/{user.name}.svg",
        "periodEnd": None,
        "orgs": orgs,
        "auth": {"type": "access_token", "accessToken": token},
    }
    return json_response(account)


def agent_harnesses(hub: HubState, req: SimRequest) -> SimResponse:
    """The agent harness registry; an empty one is a valid answer (hub-api.md §2.4)."""
    return json_response({"standardEnvVars": [], "harnesses": {}})


# The warning the Hub gives a README without front matter, as the official client shows it to users
# ("Warnings while validating metadata in README.md:\n- empty or missing yaml metadata in repo card").
MISSING_METADATA = "empty or missing yaml metadata in repo card"
# Hub docs, Spaces configuration reference: the colors of a Space card's thumbnail gradient.
SPACE_COLORS = ("red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray")


def _top_level(content: str) -> dict[str, tuple[str, list[str]]]:
    """Each top-level front matter key: its inline value and the indented or `-` lines under it."""
    out: dict[str, tuple[str, list[str]]] = {}
    block: list[str] | None = None
    for line in content.lstrip("\ufeff").splitlines()[1:]:
        if line.strip() == "---":
            break
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] in " \t-":
            if block is not None:
                block.append(line.strip())
            continue
        key, _, value = line.partition(":")
        block = []
        out[key.strip()] = (without_comment(value.strip()), block)
    return out


def _is_list(value: str, block: list[str]) -> bool:
    return value.startswith("[") or (not value and bool(block) and block[0].startswith("-"))


def _is_scalar(value: str, block: list[str]) -> bool:
    return bool(value) and not value.startswith(("[", "{", "|", ">")) and not block


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> str | None:
    if value.strip("'\"") in allowed:
        return None
    return f'"{name}" must be one of [{", ".join(allowed)}]'


def card_errors(content: str, repo_type: str) -> list[str]:
    """What the Hub's card validation refuses in `content`'s front matter, for a repo of `repo_type`.

    `model-index` must be a list on every repo type ([inferred] text); a Space card's keys are checked as the
    hub docs' Spaces configuration reference and huggingface_hub 2.4 `repocard_data.py` (`SpaceCardData`)
    define them: `sdk` one of the SDKs a Space can be created with (hub-api.md §5.1 and §13.4, huggingface_hub
    `constants.py` `SPACES_SDK_TYPES`), `app_port` a port number, `sdk_version`, `python_version` and
    `app_file` strings, `colorFrom`/`colorTo` one of the eight colors, `suggested_hardware` a known flavor. A
    value outside its list is worded as the Hub answers it (observed: `"colorFrom" must be one of [red,
    yellow, ...]`). Other repo types ignore the Space keys.

    Clients call this before they upload a README (hub-api.md §11.1 step 2). [modelled] The simulated commit
    endpoint does not check card metadata itself (no source shows the Hub's doing so), so a README that
    reaches a Space by a commit sent without this call still ends its build in CONFIG_ERROR (`_builds.py`).
    """
    keys = _top_level(content)
    errors: list[str] = []
    if "model-index" in keys and not _is_list(*keys["model-index"]):
        errors.append('"model-index" must be an array')
    if repo_type != "space":
        return errors
    checks = [
        _one_of("sdk", keys["sdk"][0], SDKS) if "sdk" in keys else None,
        _one_of("colorFrom", keys["colorFrom"][0], SPACE_COLORS) if "colorFrom" in keys else None,
        _one_of("colorTo", keys["colorTo"][0], SPACE_COLORS) if "colorTo" in keys else None,
        _one_of("suggested_hardware", keys["suggested_hardware"][0], HARDWARE_NAMES)
        if "suggested_hardware" in keys
        else None,
    ]
    errors += [error for error in checks if error is not None]
    for key in ("sdk_version", "python_version", "app_file"):
        if key in keys and not _is_scalar(*keys[key]):
            errors.append(f'"{key}" must be a string')
    if "app_port" in keys and not re.fullmatch(r"[0-9]{1,5}", keys["app_port"][0]):
        errors.append('"app_port" must be a number')
    return errors


def validate_yaml(hub: HubState, req: SimRequest) -> SimResponse:
    """`POST /api/validate-yaml` with `{"content", "repoType"}`: a README's front matter, for a repo type.

    huggingface_hub 2.4 `hf_api.py` (`_validate_yaml`, run before any upload of a README) shows every
    `warnings[].message` of the answer (200 or 400) as a warning and turns a 400's `errors[].message` into a
    `ValueError("Invalid metadata in README.md. ...")`; `repocard.py` (`RepoCard.validate`) raises the 400's
    text. Both parse the body as JSON whatever the status (hub-api.md §11.2).
    """
    data = body_obj(req)
    content = req_str(data, "content")
    repo_type = data.get("repoType", "model")
    if repo_type not in ("model", "dataset", "space"):
        raise HubError(400, '"repoType" must be one of ["model", "dataset", "space"]')
    try:
        card = parse_front_matter(content)
    except ValueError as exc:
        errors = [str(exc)]
        card = None
    else:
        errors = card_errors(content, repo_type) if card else []
    warnings = [] if card or errors else [{"message": MISSING_METADATA}]
    if errors:
        body = {"error": errors[0], "errors": [{"message": m} for m in errors], "warnings": warnings}
        return json_response(body, 400)
    return json_response({"errors": [], "warnings": warnings})


ACCOUNT_ROUTES = [
    RouteSpec("GET", "/api/whoami-v2", "GET /api/whoami-v2", whoami),
    RouteSpec("GET", "/api/agent-harnesses", "GET /api/agent-harnesses", agent_harnesses),
    RouteSpec("POST", "/api/validate-yaml", "POST /api/validate-yaml", validate_yaml),
]
