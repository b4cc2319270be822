"""`SpacesClient`: the public client, assembled from the core operations, waiting, and files."""

from __future__ import annotations

from ._files import FilesMixin
from ._waiting import WaitingMixin


class SpacesClient(WaitingMixin, FilesMixin):
    """Async client for Hugging Face Spaces: every Space operation of `HfApi`, awaitable, plus waiting,
    fleet operations and billing safety.

    Use it as an async context manager (`async with SpacesClient() as client:`), or call `await
    client.aclose()` when done.
    """
