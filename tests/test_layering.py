"""Import layering of `aiospaces/`, read from the source with `ast` (no import is executed).

The rules: no import cycle anywhere (imports under `TYPE_CHECKING` and inside functions count too); a private
module (`_name`) is imported only by the modules of its own package, and never by the edge modules built on
the SDK's public names (the CLI, the task queue, the fleet plan, the testing helpers); the simulated Hub
imports nothing of aiospaces outside itself.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import aiospaces

ROOT = Path(aiospaces.__file__).parent
PACKAGE = "aiospaces"
# Modules of the `aiospaces` package that are built on the public API only, like any user's code.
EDGE_MODULES = frozenset({"aiospaces.tasks", "aiospaces.testing"})
# Packages whose modules, all of them, are edge modules.
EDGE_PACKAGES = frozenset({"aiospaces.cli", "aiospaces.plan"})
# A package that may import nothing of aiospaces outside itself.
SELF_CONTAINED = "aiospaces.hubsim"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {module_name(p): p for p in ROOT.rglob("*.py")}


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def package_of(name: str) -> str:
    """The package a module belongs to (a package's `__init__` belongs to the package itself)."""
    return name if is_package(name) else name.rpartition(".")[0]


def imports_of(name: str) -> Iterator[str]:
    """The aiospaces modules `name` imports, wherever in the file the import statement is."""
    tree = ast.parse(MODULES[name].read_text(), filename=str(MODULES[name]))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                    yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_of(name)
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            if source != PACKAGE and not source.startswith(PACKAGE + "."):
                continue
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                yield submodule if submodule in MODULES else source


GRAPH: dict[str, set[str]] = {name: set(imports_of(name)) - {name} for name in MODULES}


def is_private(name: str) -> bool:
    return any(part.startswith("_") and part not in ("__init__", "__main__") for part in name.split("."))


def is_edge(name: str) -> bool:
    return name in EDGE_MODULES or any(name == p or name.startswith(p + ".") for p in EDGE_PACKAGES)


def test_the_graph_is_read() -> None:
    """The import graph has every module and sees relative, absolute and function-level imports."""
    assert "aiospaces.client" in GRAPH["aiospaces"]
    assert "aiospaces._session" in GRAPH["aiospaces.client"]
    assert "aiospaces.cli._demo" in GRAPH["aiospaces.cli"]  # imported inside a function
    assert all(target in MODULES for targets in GRAPH.values() for target in targets)


def find_cycle() -> list[str] | None:
    """One import cycle, as the list of modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for target in sorted(GRAPH[name]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                found = visit(target)
                if found is not None:
                    return found
        path.pop()
        state[name] = 2
        return None

    for name in sorted(GRAPH):
        if name not in state:
            found = visit(name)
            if found is not None:
                return found
    return None


def test_no_import_cycle() -> None:
    """No module imports itself back through others, not even for type checking only."""
    assert find_cycle() is None


def test_private_modules_stay_in_their_package() -> None:
    """A private module is imported only by its own package's modules, never by an edge module (CLI, tasks,
    plan, testing), which use public names."""
    offenders = sorted(
        f"{importer} imports {target}"
        for importer, targets in GRAPH.items()
        for target in targets
        if is_private(target)
        and (package_of(importer) != package_of(target) or is_edge(importer))
        # the CLI's own private modules are its package's business
        and not (is_edge(importer) and package_of(importer) == package_of(target) != PACKAGE)
    )
    assert offenders == []


def test_hubsim_imports_only_itself() -> None:
    """The simulated Hub depends on nothing of aiospaces outside `aiospaces.hubsim`."""
    offenders = sorted(
        f"{importer} imports {target}"
        for importer, targets in GRAPH.items()
        if importer == SELF_CONTAINED or importer.startswith(SELF_CONTAINED + ".")
        for target in targets
        if target != SELF_CONTAINED and not target.startswith(SELF_CONTAINED + ".")
    )
    assert offenders == []


# The one module that uses asyncio itself: the socket layer under the pool when the loop is asyncio's (anyio's
# streams cost a fifth of the CPU per request there); on trio, `_netio_trio` takes its place.
ASYNCIO_MODULES = frozenset({"aiospaces._netio"})


def imports_asyncio(name: str) -> bool:
    tree = ast.parse(MODULES[name].read_text(), filename=str(MODULES[name]))
    for node in ast.walk(tree):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        if any(n == "asyncio" or n.startswith("asyncio.") for n in names):
            return True
    return False


def test_only_the_asyncio_socket_layer_uses_asyncio() -> None:
    """The library runs on anyio (so on asyncio and trio alike); the only module that imports asyncio is the
    socket layer built for asyncio's loop."""
    assert sorted(name for name in MODULES if imports_asyncio(name)) == sorted(ASYNCIO_MODULES)


def test_the_rules_catch_what_they_forbid() -> None:
    """The checks themselves: a private module of another package, or one imported by an edge module, is
    refused; a sibling's private module is allowed."""
    assert is_private("aiospaces._wire")
    assert is_private("aiospaces.cli._demo")
    assert not is_private("aiospaces.cli.__main__")
    assert is_edge("aiospaces.cli._commands")
    assert is_edge("aiospaces.tasks")
    assert is_edge("aiospaces.plan._apply")
    assert not is_edge("aiospaces.client")
    assert package_of("aiospaces.cli") == "aiospaces.cli"
    assert package_of("aiospaces.cli._demo") == "aiospaces.cli"
    assert package_of("aiospaces._core") == "aiospaces"


def test_readme_lays_out_every_module() -> None:
    """README.md's "How the code is laid out" has one line for each module of aiospaces/, and no other."""
    readme = (ROOT.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## How the code is laid out") :]
    section = section[: section.index("\n## ", 1)]
    listed = {line.split("`")[1] for line in section.splitlines() if line.startswith("- `aiospaces/")}
    on_disk = {str(path.relative_to(ROOT.parent)) for path in ROOT.rglob("*.py")}
    assert listed == on_disk
