"""Shared test configuration: every async test runs on asyncio and on trio."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Trio tests time out through pytest-timeout's thread method.

    Its default (signal) method raises inside trio's run loop, which then never returns: a hung trio test
    would stall the whole run. The thread method dumps every stack and ends the run instead.
    """
    for item in items:
        spec = getattr(item, "callspec", None)
        if spec is not None and spec.params.get("anyio_backend") == "trio":
            item.add_marker(pytest.mark.timeout(method="thread"))
