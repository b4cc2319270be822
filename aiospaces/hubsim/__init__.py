"""A simulated Hugging Face Hub that speaks the real wire format (design.md §4)."""

from __future__ import annotations
