"""A Space's runtime and its vocabulary: stages and the stage classes, hardware flavors, storage tiers,
volumes, hot reloading.

Re-exported by `aiospaces.models`, where users import them from.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs

from ._model_fields import opt_str

__all__ = [
    "APP_STARTING_STAGES",
    "BUILD_LOG_STAGES",
    "FAILURE_STAGES",
    "NOT_RUNNING_STAGES",
    "TRANSITIONAL_STAGES",
    "SpaceHardware",
    "SpaceHotReloading",
    "SpaceRuntime",
    "SpaceStage",
    "SpaceStorage",
    "Volume",
    "stage_name",
]


class SpaceStage(enum.StrEnum):
    """Lifecycle stage of a Space. Compares equal to its string: `SpaceStage.RUNNING ==
    "RUNNING"`."""

    NO_APP_FILE = "NO_APP_FILE"
    CONFIG_ERROR = "CONFIG_ERROR"
    BUILDING = "BUILDING"
    BUILD_ERROR = "BUILD_ERROR"
    APP_STARTING = "APP_STARTING"
    RUNNING = "RUNNING"
    RUNNING_BUILDING = "RUNNING_BUILDING"
    RUNNING_APP_STARTING = "RUNNING_APP_STARTING"
    RUNTIME_ERROR = "RUNTIME_ERROR"
    DELETING = "DELETING"
    STOPPED = "STOPPED"
    PAUSED = "PAUSED"
    # Not in huggingface_hub's enum; the JS client knows it (hub-api.md §13.1 [js]).
    SLEEPING = "SLEEPING"


# The stage classes (hub-api.md §13.1, design.md §3): every part of the SDK reads them from here.

#: Stages a Space leaves on its own: `wait_for_space` keeps waiting on them (hub-api.md §10.1), and a watch
#: polls fast while a Space is in one.
TRANSITIONAL_STAGES: Final = frozenset(
    {"BUILDING", "APP_STARTING", "RUNNING_BUILDING", "RUNNING_APP_STARTING"}
)
#: The stages right before RUNNING: a restarted app passes through one of them (hub-api.md §13.1).
APP_STARTING_STAGES: Final = frozenset({"APP_STARTING", "RUNNING_APP_STARTING"})
#: A wait for RUNNING raises on these, with the stage and the tail of the relevant logs (design.md §3).
FAILURE_STAGES: Final = frozenset({"BUILD_ERROR", "RUNTIME_ERROR", "CONFIG_ERROR", "NO_APP_FILE"})
#: The failures decided before the app ever ran: the build logs explain them (RUNTIME_ERROR: the run logs).
BUILD_LOG_STAGES: Final = frozenset({"BUILD_ERROR", "CONFIG_ERROR", "NO_APP_FILE"})
#: A wait for RUNNING raises on these unless asked to wake the Space (design.md §3). SLEEPING appears only in
#: the JS client's stage type (hub-api.md §13.1); STOPPED is the Python client's "asleep" stage (§8.3).
NOT_RUNNING_STAGES: Final = frozenset({"PAUSED", "STOPPED", "SLEEPING", "DELETING"})


def stage_name(stage: object) -> str:
    """A stage as a plain string: `SpaceStage` members and stages this SDK does not know alike."""
    return str(stage.value) if hasattr(stage, "value") else str(stage)


class SpaceHardware(enum.StrEnum):
    """Hardware flavors known to huggingface_hub 2.4. Any other string is accepted too: the
    authoritative list is `list_spaces_hardware()`."""

    CPU_BASIC = "cpu-basic"
    CPU_UPGRADE = "cpu-upgrade"
    ZERO_A10G = "zero-a10g"
    T4_SMALL = "t4-small"
    T4_MEDIUM = "t4-medium"
    L4X1 = "l4x1"
    L4X4 = "l4x4"
    L40SX1 = "l40sx1"
    L40SX4 = "l40sx4"
    L40SX8 = "l40sx8"
    A10G_SMALL = "a10g-small"
    A10G_LARGE = "a10g-large"
    A10G_LARGEX2 = "a10g-largex2"
    A10G_LARGEX4 = "a10g-largex4"
    A100_LARGE = "a100-large"
    A100X4 = "a100x4"
    A100X8 = "a100x8"
    RTX_PRO_6000 = "rtx-pro-6000"
    RTX_PRO_6000X2 = "rtx-pro-6000x2"
    RTX_PRO_6000X4 = "rtx-pro-6000x4"
    RTX_PRO_6000X8 = "rtx-pro-6000x8"


class SpaceStorage(enum.StrEnum):
    """Legacy persistent-storage tiers (deprecated by the Hub)."""

    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


def _stage(value: object) -> SpaceStage | str:
    text = str(value) if value is not None else ""
    try:
        return SpaceStage(text)
    except ValueError:
        # Unknown stage from a newer Hub: keep the raw string (design.md §2).
        return text


@attrs.frozen
class Volume:
    """A volume mounted in a Space.

    Attributes:
        type: `"bucket"`, `"model"`, `"dataset"` or `"space"`.
        source: repo or bucket id (`ns/name`).
        mount_path: absolute path in the container.
        revision: git revision (repos only).
        read_only: read-only mount.
        path: sub-folder of the source to mount.
    """

    type: str
    source: str
    mount_path: str
    revision: str | None = None
    read_only: bool | None = None
    path: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Volume:
        """Build from the wire form (camelCase) or from snake_case keys."""
        mount_path = data.get("mountPath", data.get("mount_path"))
        read_only = data.get("readOnly", data.get("read_only"))
        return cls(
            # huggingface_hub defaults a missing `type` to "model" (hub-api.md §8.5).
            type=str(data.get("type") or "model"),
            source=str(data.get("source", "")),
            mount_path=str(mount_path or ""),
            revision=opt_str(data.get("revision")),
            read_only=read_only if isinstance(read_only, bool) else None,
            path=opt_str(data.get("path")),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON payload the Hub expects: camelCase keys, unset keys omitted."""
        data: dict[str, Any] = {"type": self.type, "source": self.source, "mountPath": self.mount_path}
        if self.revision is not None:
            data["revision"] = self.revision
        if self.read_only is not None:
            data["readOnly"] = self.read_only
        if self.path is not None:
            data["path"] = self.path
        return data


@attrs.frozen
class SpaceHotReloading:
    """Last hot-reload of a Space: `status` and per-replica statuses."""

    status: str
    replica_statuses: list[tuple[str, str | None]]
    raw: dict[str, Any] = attrs.field(repr=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpaceHotReloading:
        """Build from the runtime's `hotReloading` object."""
        statuses: list[tuple[str, str | None]] = []
        for item in data.get("replicaStatuses") or []:
            if isinstance(item, Sequence) and len(item) >= 2:
                statuses.append((str(item[0]), opt_str(item[1])))
        return cls(status=str(data.get("status", "")), replica_statuses=statuses, raw=dict(data))


@attrs.frozen
class SpaceRuntime:
    """A Space's runtime.

    Attributes:
        stage: a `SpaceStage`, or the raw string when the Hub sends a stage this SDK does not know.
        hardware: hardware actually running (`hardware.current`), None during a first build or on
            static Spaces.
        requested_hardware: last requested flavor (`hardware.requested`).
        sleep_time: seconds of inactivity before sleeping (`gcTimeout`); -1 never; None default.
        storage: legacy persistent storage tier, or None.
        dev_mode: whether dev mode is on (`devMode`, absent means False).
        hot_reloading: the last hot-reload, if any.
        volumes: mounted volumes, or None when the Hub sends none.
        raw: the JSON object as received (e.g. `raw.get("errorMessage")`, `raw["replicas"]`).
    """

    stage: SpaceStage | str
    hardware: str | None
    requested_hardware: str | None
    sleep_time: int | None
    storage: str | None
    dev_mode: bool
    hot_reloading: SpaceHotReloading | None
    volumes: list[Volume] | None
    raw: dict[str, Any] = attrs.field(repr=False, eq=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpaceRuntime:
        """Parse the runtime JSON; never raises on unknown values."""
        hardware = data.get("hardware")
        # `hardware` is an object on every observed payload, but tolerate null (recording
        # test_static_space_runtime shows both fields null inside the object).
        hw: Mapping[str, Any] = hardware if isinstance(hardware, Mapping) else {}
        gc = data.get("gcTimeout")
        hot = data.get("hotReloading")
        raw_volumes = data.get("volumes")
        return cls(
            stage=_stage(data.get("stage")),
            hardware=opt_str(hw.get("current")),
            requested_hardware=opt_str(hw.get("requested")),
            sleep_time=gc if isinstance(gc, int) and not isinstance(gc, bool) else None,
            storage=opt_str(data.get("storage")),
            dev_mode=bool(data.get("devMode", False)),
            hot_reloading=SpaceHotReloading.from_dict(hot) if isinstance(hot, Mapping) else None,
            volumes=(
                [Volume.from_dict(v) for v in raw_volumes if isinstance(v, Mapping)]
                if isinstance(raw_volumes, list)
                else None
            ),
            raw=dict(data),
        )
