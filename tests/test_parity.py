"""Parity with the installed huggingface_hub: every Space method of `HfApi` exists on `SpacesClient` as a
coroutine function (or a method returning an async iterator) with `HfApi`'s parameter names, kinds and
defaults, `token` included."""

from __future__ import annotations

import ast
import inspect
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

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
    "search_spaces",
    "list_space_templates",
    "repo_exists",
    "file_exists",
    "repo_info",
    "list_repo_tree",
    "delete_file",
    "delete_folder",
    "move_repo",
]
ITERATORS = {"list_spaces", "fetch_space_logs", "search_spaces", "list_repo_tree"}
# Keyword-only arguments aiospaces adds to an HfApi method (default None): the "Manage your Space" guide
# passes them, huggingface_hub 2.x dropped them, and the Hub still reads them.
EXTRAS: dict[str, set[str]] = {"create_repo": {"space_storage"}}
HF = "huggingface_hub"

# The three methods huggingface_hub 2.x removed, with their parameters from hub-api.md §16.
P = inspect.Parameter
REMOVED: dict[str, list[tuple[str, object, object]]] = {
    "duplicate_space": [
        ("from_id", P.POSITIONAL_OR_KEYWORD, P.empty),
        ("to_id", P.POSITIONAL_OR_KEYWORD, None),
        ("private", P.KEYWORD_ONLY, None),
        ("visibility", P.KEYWORD_ONLY, None),
        ("token", P.KEYWORD_ONLY, None),
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
        ("token", P.KEYWORD_ONLY, None),
    ],
    "delete_space_storage": [("repo_id", P.POSITIONAL_OR_KEYWORD, P.empty), ("token", P.KEYWORD_ONLY, None)],
}


def shape(func: object) -> list[tuple[str, object, object]]:
    """(name, kind, default) of every parameter except self."""
    params = inspect.signature(func).parameters.values()  # type: ignore[arg-type]
    return [(p.name, p.kind, p.default) for p in params if p.name != "self"]


def is_async(name: str) -> bool:
    func = getattr(SpacesClient, name)
    if name in ITERATORS:
        # A plain method returning an async generator: it checks `token` when called, before iterating.
        returned = str(inspect.signature(func).return_annotation)
        return not inspect.iscoroutinefunction(func) and returned.startswith(
            ("AsyncIterator[", "AsyncGenerator[")
        )
    return inspect.iscoroutinefunction(func)


@pytest.mark.parametrize("name", METHODS)
def test_method_matches_hfapi(name: str) -> None:
    """The method exists, is async (or returns an async iterator) and has HfApi's parameters, `token`
    included."""
    assert hasattr(SpacesClient, name), name
    assert is_async(name), f"{name} must be a coroutine function or an async generator"
    ours = shape(getattr(SpacesClient, name))
    extras = [p for p in ours if p[0] in EXTRAS.get(name, set())]
    assert extras == [(extra, P.KEYWORD_ONLY, None) for extra in sorted(EXTRAS.get(name, set()))]
    assert [p for p in ours if p not in extras] == shape(getattr(HfApi, name))


def _token_place(func: object) -> tuple[str, object, object]:
    """The parameter before `token`, and `token`'s kind and default."""
    params = [p for p in inspect.signature(func).parameters.values() if p.name != "self"]  # type: ignore[arg-type]
    names = [p.name for p in params]
    index = names.index("token")
    return (names[index - 1] if index else "", params[index].kind, params[index].default)


def test_every_ported_method_takes_hfapi_token_in_its_place() -> None:
    """Every public client method named like an `HfApi` method taking `token` (the file calls and
    `wait_for_space` included, whose other parameters differ) takes `token` after the same parameter, with
    the same kind and default."""
    ported = [
        name
        for name, _ in inspect.getmembers(SpacesClient, inspect.isfunction)
        if not name.startswith("_")
        and hasattr(HfApi, name)
        and "token" in inspect.signature(getattr(HfApi, name)).parameters
    ]
    assert len(ported) >= len(METHODS) + 6
    for name in ported:
        assert _token_place(getattr(SpacesClient, name)) == _token_place(getattr(HfApi, name)), name


# The repo-level calls Space work uses: HfApi's return annotation, and ours. Iterables become async iterators,
# `move_repo`'s missing annotation is None, and kernels (KernelInfo) are not supported by `repo_info`.
RETURNS: dict[str, tuple[str, str]] = {
    "search_spaces": ("Iterable[SpaceSearchResult]", "AsyncIterator[SpaceSearchResult]"),
    "list_space_templates": ("list[SpaceTemplate]", "list[SpaceTemplate]"),
    "repo_exists": ("bool", "bool"),
    "file_exists": ("bool", "bool"),
    "repo_info": ("ModelInfo | DatasetInfo | SpaceInfo | KernelInfo", "ModelInfo | DatasetInfo | SpaceInfo"),
    "list_repo_tree": ("Iterable[RepoFile | RepoFolder]", "AsyncIterator[RepoFile | RepoFolder]"),
    "delete_file": ("CommitInfo", "CommitInfo"),
    "delete_folder": ("CommitInfo", "CommitInfo"),
    "move_repo": ("", "None"),
}


def _annotation(func: object) -> str:
    annotation = inspect.signature(func).return_annotation  # type: ignore[arg-type]
    return "" if annotation is inspect.Signature.empty else str(annotation)


@pytest.mark.parametrize("name", sorted(RETURNS))
def test_return_types_match_hfapi(name: str) -> None:
    """HfApi's return annotation is the one listed, ours is its async counterpart, and every class it names
    is importable from `aiospaces` (or `aiospaces.models`) under the same name."""
    import aiospaces
    import aiospaces.models

    theirs, ours = RETURNS[name]
    assert _annotation(getattr(HfApi, name)) == theirs
    assert _annotation(getattr(SpacesClient, name)) == ours
    for word in re.findall(r"[A-Z][A-Za-z]+", ours):
        if word not in ("AsyncIterator", "None"):
            assert hasattr(aiospaces, word) or hasattr(aiospaces.models, word), word


def test_commit_operation_copy_matches_hfapi() -> None:
    """`CommitOperationCopy` takes huggingface_hub's fields, in its order, with its defaults."""
    from huggingface_hub import CommitOperationCopy as Theirs

    from aiospaces import CommitOperationCopy as Ours

    public = [f for f in inspect.signature(Theirs).parameters.values() if not f.name.startswith("_")]
    assert shape(Ours) == [(p.name, p.kind, p.default) for p in public]


@pytest.mark.parametrize("name", sorted(REMOVED))
def test_removed_methods_match_hub_api_reference(name: str) -> None:
    """Methods the newest client removed keep the parameters listed in hub-api.md §16."""
    assert not hasattr(HfApi, name) or shape(getattr(HfApi, name)) == REMOVED[name]
    assert inspect.iscoroutinefunction(getattr(SpacesClient, name))
    assert shape(getattr(SpacesClient, name)) == REMOVED[name]


def _imports_huggingface_hub(tree: ast.AST) -> bool:
    """Whether a module's syntax tree imports huggingface_hub anywhere (also inside functions, and through
    `importlib.import_module` / `__import__` with a literal name)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == HF for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == HF:
            return True
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            first = node.args[0]
            if (
                name in ("import_module", "__import__")
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and first.value.split(".")[0] == HF
            ):
                return True
    return False


def test_import_check_recognises_every_way_of_importing() -> None:
    """The import check flags each form of importing huggingface_hub, and not a name merely starting alike."""
    flagged = [
        "import huggingface_hub",
        "import huggingface_hub.utils as u",
        "from huggingface_hub import HfApi",
        "def f():\n    from huggingface_hub.hf_api import HfApi",
        "import importlib\nimportlib.import_module('huggingface_hub')",
        "__import__('huggingface_hub.utils')",
    ]
    for source in flagged:
        assert _imports_huggingface_hub(ast.parse(source)), source
    for source in ("import huggingface_hubx", "from . import huggingface_hub", "x = 'huggingface_hub'"):
        assert not _imports_huggingface_hub(ast.parse(source)), source


def test_library_does_not_import_huggingface_hub() -> None:
    """No module of the package, the CLI and the simulator included, imports huggingface_hub (a test-only
    dependency): not in its source, and not when every module is imported with huggingface_hub absent."""
    import aiospaces

    root = Path(aiospaces.__file__).parent
    files = sorted(root.rglob("*.py"))
    # Every module Python can import from the package is one of the files checked (and vice versa).
    modules = sorted(m.name for m in pkgutil.walk_packages(aiospaces.__path__, "aiospaces."))
    dotted = sorted(
        ".".join(("aiospaces", *path.relative_to(root).with_suffix("").parts)).removesuffix(".__init__")
        for path in files
    )
    assert dotted == ["aiospaces", *modules]
    offenders = [
        str(path.relative_to(root)) for path in files if _imports_huggingface_hub(ast.parse(path.read_text()))
    ]
    assert offenders == []

    # The same modules imported in a fresh interpreter where `import huggingface_hub` fails (`__main__`
    # modules run the CLI when imported: their source is checked above).
    importable = [name for name in modules if not name.endswith(".__main__")]
    script = (
        "import importlib, sys\n"
        "sys.modules['huggingface_hub'] = None\n"
        f"for name in {importable!r}:\n"
        "    importlib.import_module(name)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
