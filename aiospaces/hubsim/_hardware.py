"""Hardware flavors the simulated Hub offers, in the shape of `GET /api/spaces/hardware` (hub-api.md §8.6)."""

from __future__ import annotations

from typing import Any


def _gpu(model: str, quantity: int, vram: str, manufacturer: str = "Nvidia") -> dict[str, Any]:
    return {
        "type": "gpu",
        "model": model,
        "quantity": str(quantity),
        "vram": vram,
        "manufacturer": manufacturer,
    }


# (name, prettyName, cpu, ram, accelerator, hourly USD) — prices from hub-api.md §13.2 (docs snapshot); the
# flavor list is the Python client's `SpaceHardware` enum (§13.2).
_FLAVORS: list[tuple[str, str, str, str, dict[str, Any] | None, float]] = [
    ("cpu-basic", "CPU Basic", "2 vCPU", "16 GB", None, 0.0),
    ("cpu-upgrade", "CPU Upgrade", "8 vCPU", "32 GB", None, 0.03),
    ("zero-a10g", "ZeroGPU", "8 vCPU", "32 GB", _gpu("A10G", 1, "24 GB"), 0.0),
    ("t4-small", "Nvidia T4 - small", "4 vCPU", "15 GB", _gpu("T4", 1, "16 GB"), 0.40),
    ("t4-medium", "Nvidia T4 - medium", "8 vCPU", "30 GB", _gpu("T4", 1, "16 GB"), 0.60),
    ("l4x1", "1x Nvidia L4", "8 vCPU", "30 GB", _gpu("L4", 1, "24 GB"), 0.80),
    ("l4x4", "4x Nvidia L4", "48 vCPU", "186 GB", _gpu("L4", 4, "96 GB"), 3.80),
    ("l40sx1", "1x Nvidia L40S", "8 vCPU", "62 GB", _gpu("L40S", 1, "48 GB"), 1.80),
    ("l40sx4", "4x Nvidia L40S", "48 vCPU", "382 GB", _gpu("L40S", 4, "192 GB"), 8.30),
    ("l40sx8", "8x Nvidia L40S", "192 vCPU", "1534 GB", _gpu("L40S", 8, "384 GB"), 23.50),
    ("a10g-small", "Nvidia A10G - small", "4 vCPU", "15 GB", _gpu("A10G", 1, "24 GB"), 1.00),
    ("a10g-large", "Nvidia A10G - large", "12 vCPU", "46 GB", _gpu("A10G", 1, "24 GB"), 1.50),
    ("a10g-largex2", "2x Nvidia A10G - large", "24 vCPU", "92 GB", _gpu("A10G", 2, "48 GB"), 3.00),
    ("a10g-largex4", "4x Nvidia A10G - large", "48 vCPU", "184 GB", _gpu("A10G", 4, "96 GB"), 5.00),
    ("a100-large", "Nvidia A100 - large", "12 vCPU", "142 GB", _gpu("A100", 1, "80 GB"), 4.00),
    ("a100x4", "4x Nvidia A100", "48 vCPU", "568 GB", _gpu("A100", 4, "320 GB"), 10.00),
    ("a100x8", "8x Nvidia A100", "96 vCPU", "1136 GB", _gpu("A100", 8, "640 GB"), 20.00),
]

HARDWARE_NAMES: tuple[str, ...] = tuple(f[0] for f in _FLAVORS)
FREE_HARDWARE = "cpu-basic"
STORAGE_TIERS: tuple[str, ...] = ("small", "medium", "large")  # hub-api.md §8.4, in upgrade order


def hardware_list() -> list[dict[str, Any]]:
    """The `GET /api/spaces/hardware` body."""
    out = []
    for name, pretty, cpu, ram, accel, hourly in _FLAVORS:
        per_minute = hourly / 60
        out.append(
            {
                "name": name,
                "prettyName": pretty,
                "cpu": cpu,
                "ram": ram,
                "ephemeralStorage": "50 GB",
                "accelerator": accel,
                "unitCostMicroUSD": round(per_minute * 1_000_000),
                "unitCostUSD": round(per_minute, 6),
                "unitLabel": "minute",
            }
        )
    return out


def pretty_name(name: str | None) -> str | None:
    """Display name of a flavor (`hardware.currentPrettyName` in the runtime, huggingface.js types)."""
    for flavor in _FLAVORS:
        if flavor[0] == name:
            return flavor[1]
    return None
