"""The core client: configuration, the HTTP layer, and every Space operation of `HfApi`.

(Filled in by the client work; `SpacesClient` in `client.py` combines it with waiting and files.)
"""

from __future__ import annotations


class CoreClient:
    """Base of `SpacesClient`: configuration, connection pool, rate-limit state and the Hub operations."""
