"""aiospaces: an async SDK for managing Hugging Face Spaces at fleet scale."""

from __future__ import annotations

from .client import SpacesClient

__version__ = "0.1.0"

__all__ = ["SpacesClient", "__version__"]
