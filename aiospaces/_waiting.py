"""Watching and waiting on Space runtimes, fleet watching, and the temporary-hardware block."""

from __future__ import annotations

from ._core import CoreClient


class WaitingMixin(CoreClient):
    """`watch`, `wait_*`, `watch_many`, `wait_all`, `temporary_hardware` on top of the core operations."""
