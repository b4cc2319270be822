"""Parity with the installed huggingface_hub: every Space method of issue 3 exists on `SpacesClient` as a
coroutine
function (or async iterator) with `HfApi`'s parameter names, kinds and defaults, minus `token`."""

from __future__ import annotations

import inspect

import pytest
from huggingface_hub import HfApi

from aiospaces import SpacesClient

METHODS = [
    "create_repo",
    "delete_repo",
    "duplicate_repo",
    "update_repo_settings",
    "space_info",
    "list_spaces",
    "whoami",
    "add_space_secret",
    "delete_space_secret",
    "get_space_secrets",
    "add_space_variable",
    "delete_space_variable",
    "get_space_variables",
    "get_space_runtime",
    "request_space_hardware",
    "set_space_sleep_time",
    "pause_space",
    "restart_space",
    "set_space_volumes",
    "delete_space_volumes",
    "enable_space_dev_mode",
    "disable_space_dev_mode",
    "list_spaces_hardware",
    "fetch_space_logs",
]
ITERATORS = {"list_spaces", "fetch_space_logs"}

# The three methods huggingface_hub 2.x removed, with their parameters from hub-api.md §16 (minus token).
P = inspect.Parameter
REMOVED: dict[str, list[tuple[str, object, object]]] = {
    "duplicate_space": [
        ("from_id", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("to_id", P.POSITIONAL_OR_KEYWORD, None),
        ("private", P.KEYWORD_ONLY, None),
        ("visibility", P.KEYWORD_ONLY, None),
        ("exist_ok", P.KEYWORD_ONLY, False),
        ("hardware", P.KEYWORD_ONLY, None),
        ("storage", P.KEYWORD_ONLY, None),
        ("sleep_time", P.KEYWORD_ONLY, None),
        ("secrets", P.KEYWORD_ONLY, None),
        ("variables", P.KEYWORD_ONLY, None),
    ],
    "request_space_storage": [
        ("repo_id", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("storage", P.POSITIONAL_OR_KEYWORD, P.empty),
    ],
    "delete_space_storage": [("repo_id", P.POSITIONAL_OR_KEYWORD, P.empty)],
}


def shape(func: object) -> list[tuple[str, object, object]]:
    """(name, kind, default) of every parameter except self and token."""
    params = inspect.signature(func).parameters.values()  # type: ignore[arg-type]
    return [(p.name, p.kind, p.default) for p in params if p.name not in ("self", "token")]


def is_async(name: str) -> bool:
    func = getattr(SpacesClient, name)
    if name in ITERATORS:
        return inspect.isasyncgenfunction(func)
    return inspect.iscoroutinefunction(func)


@pytest.mark.parametrize("name", METHODS)
def test_method_matches_hfapi(name: str) -> None:
    """The method exists, is async (or an async iterator) and has HfApi's parameters minus `token`."""
    assert hasattr(SpacesClient, name), name
    assert is_async(name), f"{name} must be a coroutine function or an async generator"
    assert shape(getattr(SpacesClient, name)) == shape(getattr(HfApi, name))


@pytest.mark.parametrize("name", sorted(REMOVED))
def test_removed_methods_match_hub_api_reference(name: str) -> None:
    """Methods the newest client removed keep the parameters listed in hub-api.md §16."""
    assert not hasattr(HfApi, name) or shape(getattr(HfApi, name)) == REMOVED[name]
    assert inspect.iscoroutinefunction(getattr(SpacesClient, name))
    assert shape(getattr(SpacesClient, name)) == REMOVED[name]


def test_library_does_not_import_huggingface_hub() -> None:
    """The library's own modules never import huggingface_hub (it is a test-only dependency)."""
    import ast
    import pathlib

    import aiospaces

    def imports_hf(path: pathlib.Path) -> bool:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import) and any(
                a.name.split(".")[0] == "huggingface_hub" for a in node.names
            ):
                return True
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "huggingface_hub":
                return True
        return False

    root = pathlib.Path(aiospaces.__file__).parent
    offenders = [str(path.relative_to(root)) for path in root.rglob("*.py") if imports_hf(path)]
    # The CLI/benchmarks may drive the official client deliberately; the client core must not.
    core = {"_core.py", "_wire.py", "_transport.py", "_ratelimit.py", "_config.py", "models.py", "fleet.py"}
    assert not core.intersection(offenders)
