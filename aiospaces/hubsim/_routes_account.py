"""Routes about the caller and the Hub itself: `whoami-v2`, agent harnesses, card metadata validation."""

from __future__ import annotations

from typing import Any

from ._builds import parse_front_matter
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
                "fullname": org_name,
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
        "fullname": user.name,
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


def validate_yaml(hub: HubState, req: SimRequest) -> SimResponse:
    """Check a README's front matter: 400 with `errors` when it does not parse (hub-api.md §14 item 9)."""
    content = req_str(body_obj(req), "content")
    try:
        parse_front_matter(content)
    except ValueError as exc:
        message = str(exc)
        return json_response({"error": message, "errors": [{"message": message}], "warnings": []}, 400)
    return json_response({"errors": [], "warnings": []})


ACCOUNT_ROUTES = [
    RouteSpec("GET", "/api/whoami-v2", "GET /api/whoami-v2", whoami),
    RouteSpec("GET", "/api/agent-harnesses", "GET /api/agent-harnesses", agent_harnesses),
    RouteSpec("POST", "/api/validate-yaml", "POST /api/validate-yaml", validate_yaml),
]
