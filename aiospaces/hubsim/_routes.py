"""The simulated Hub's whole route table, in match order (the first matching route answers).

Each area keeps its handlers and its rows in its own module; this one only puts the tables together.
"""

from __future__ import annotations

from ._git_common import API_TYPE
from ._http import RouteSpec
from ._routes_account import ACCOUNT_ROUTES
from ._routes_git import FILE_ROUTES
from ._routes_listing import listing_routes, semantic_search, spaces_hardware
from ._routes_repos import REPO_ROUTES, per_type_routes, spaces_templates
from ._routes_spaces import SPACE_ROUTES

CATALOG_ROUTES = [
    RouteSpec("GET", "/api/spaces/hardware", "GET /api/spaces/hardware", spaces_hardware),
    RouteSpec("GET", "/api/spaces/semantic-search", "GET /api/spaces/semantic-search", semantic_search),
    RouteSpec("GET", "/api/spaces/templates", "GET /api/spaces/templates", spaces_templates),
]


def api_routes() -> list[RouteSpec]:
    """The JSON API routes (everything but the file routes)."""
    table = [*ACCOUNT_ROUTES, *REPO_ROUTES, *CATALOG_ROUTES]
    for plural in API_TYPE:
        table += listing_routes(plural) + per_type_routes(plural)
    return table + SPACE_ROUTES


__all__ = ["FILE_ROUTES", "api_routes"]
