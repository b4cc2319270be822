"""The exception tree drawn in `aiospaces.errors`' docstring is the real one, and it is complete."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import aiospaces
from aiospaces import errors


def sdk_modules() -> list[str]:
    """Every module of the SDK, the CLI and the simulated Hub left out (their exceptions stay inside)."""
    names = []
    for info in pkgutil.walk_packages(aiospaces.__path__, "aiospaces."):
        if info.name.startswith(("aiospaces.hubsim", "aiospaces.cli")):
            continue
        names.append(info.name)
    return names


def test_every_sdk_exception_is_defined_in_errors_or_listed_there() -> None:
    """An exception class defined anywhere in the SDK lives in errors.py, or is named in its docstring."""
    doc = errors.__doc__ or ""
    strays = []
    for name in sdk_modules():
        module = importlib.import_module(name)
        for cls in vars(module).values():
            if (
                inspect.isclass(cls)
                and issubclass(cls, BaseException)
                and cls.__module__ == name
                and name != "aiospaces.errors"
                and not re.search(rf"\b{cls.__name__}\b", doc)
            ):
                strays.append(f"{name}.{cls.__name__}")
    assert strays == []


def test_the_drawn_tree_matches_the_classes() -> None:
    """Each class under `SpacesError` in the drawing sits under the parent the drawing shows."""
    doc = errors.__doc__ or ""
    tree = doc[doc.index("SpacesError\n") : doc.index("\n\n", doc.index("SpacesError\n"))]
    parents: list[tuple[int, str]] = []
    seen = set()
    for line in tree.splitlines():
        match = re.match(r"^(\s*)(?:[│ ]*[├└]── )?([A-Za-z]+)", line)
        assert match is not None, line
        depth = len(line) - len(line.lstrip(" │├└─"))
        name = match.group(2)
        while parents and parents[-1][0] >= depth:
            parents.pop()
        cls = getattr(errors, name)
        if parents:
            assert parents[-1][1] in [base.__name__ for base in cls.__mro__[1:]], name
        parents.append((depth, name))
        seen.add(name)
    spaces_errors = {
        name
        for name, cls in vars(errors).items()
        if inspect.isclass(cls) and issubclass(cls, errors.SpacesError)
    }
    assert seen == spaces_errors
