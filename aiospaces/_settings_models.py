"""A Space's settings as the Hub lists them: secrets (metadata only), variables, hardware flavors with their
prices, templates.

Re-exported by `aiospaces.models`, where users import them from.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from ._model_fields import opt_datetime, opt_str

__all__ = ["HardwareAccelerator", "SpaceHardwareInfo", "SpaceSecret", "SpaceTemplate", "SpaceVariable"]


@attrs.frozen
class SpaceSecret:
    """A Space secret's metadata; values are write-only and never returned."""

    key: str
    description: str | None
    updated_at: datetime | None

    @classmethod
    def from_dict(cls, key: str, data: Mapping[str, Any]) -> SpaceSecret:
        """Build from one entry of the `GET …/secrets` map."""
        return cls(
            key=key,
            description=opt_str(data.get("description")),
            updated_at=opt_datetime(data.get("updatedAt")),
        )


@attrs.frozen
class SpaceVariable:
    """A Space variable."""

    key: str
    value: str
    description: str | None
    updated_at: datetime | None

    @classmethod
    def from_dict(cls, key: str, data: Mapping[str, Any]) -> SpaceVariable:
        """Build from one entry of the variables map (recording test_manage_variables)."""
        value = data.get("value")
        return cls(
            key=key,
            value="" if value is None else str(value),
            description=opt_str(data.get("description")),
            updated_at=opt_datetime(data.get("updatedAt")),
        )


@attrs.frozen
class HardwareAccelerator:
    """Accelerator of a hardware flavor (`GET /api/spaces/hardware`)."""

    type: str | None
    model: str | None
    quantity: str | None
    vram: str | None
    manufacturer: str | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HardwareAccelerator:
        """Build from the `accelerator` object."""

        def text(key: str) -> str | None:
            value = data.get(key)
            return None if value is None else str(value)

        return cls(
            type=text("type"),
            model=text("model"),
            quantity=text("quantity"),
            vram=text("vram"),
            manufacturer=text("manufacturer"),
        )


@attrs.frozen
class SpaceHardwareInfo:
    """One hardware flavor with its price (huggingface_hub's `JobHardwareInfo`)."""

    name: str
    pretty_name: str
    cpu: str
    ram: str
    ephemeral_storage: str
    accelerator: HardwareAccelerator | None
    unit_cost_micro_usd: int | None
    unit_cost_usd: float | None
    unit_label: str | None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpaceHardwareInfo:
        """Build from one element of the hardware list."""
        acc = data.get("accelerator")
        micro = data.get("unitCostMicroUSD")
        usd = data.get("unitCostUSD")
        return cls(
            name=str(data.get("name", "")),
            pretty_name=str(data.get("prettyName", data.get("name", ""))),
            cpu=str(data.get("cpu", "")),
            ram=str(data.get("ram", "")),
            ephemeral_storage=str(data.get("ephemeralStorage", "N/A")),
            accelerator=HardwareAccelerator.from_dict(acc) if isinstance(acc, Mapping) else None,
            unit_cost_micro_usd=int(micro) if isinstance(micro, int | float) else None,
            unit_cost_usd=float(usd) if isinstance(usd, int | float) else None,
            unit_label=opt_str(data.get("unitLabel")),
        )


@attrs.frozen
class SpaceTemplate:
    """A Space template (`GET /api/spaces/templates`)."""

    name: str
    repo_id: str
    sdk: str
    preferred_private: bool

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpaceTemplate:
        """Build from one template object."""
        return cls(
            name=str(data.get("name", "")),
            repo_id=str(data.get("repoId", "")),
            sdk=str(data.get("sdk", "")),
            preferred_private=bool(data.get("preferredPrivate", False)),
        )
