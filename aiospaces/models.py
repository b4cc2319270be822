"""Typed values returned by the client: attrs classes and `str` enums.

Attribute names match huggingface_hub's (`SpaceRuntime.stage, hardware, requested_hardware, sleep_time,
storage, dev_mode, hot_reloading, volumes, raw`, ...) so code ports by adding `await`. Every model is built
from the Hub's JSON by a `from_dict` classmethod that never crashes on unknown values: a stage or a hardware
flavor the SDK does not know yet is kept as the raw string, and the whole payload stays
available in `raw`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

import attrs

__all__ = [
    "APP_STARTING_STAGES",
    "BUILD_LOG_STAGES",
    "FAILURE_STAGES",
    "NOT_RUNNING_STAGES",
    "TRANSITIONAL_STAGES",
    "BlobLfsInfo",
    "CommitInfo",
    "DatasetInfo",
    "DuplicatedRepoUrl",
    "HardwareAccelerator",
    "LastCommitInfo",
    "ModelInfo",
    "RepoFile",
    "RepoFolder",
    "RepoSibling",
    "RepoUrl",
    "SpaceHardware",
    "SpaceHardwareInfo",
    "SpaceHotReloading",
    "SpaceInfo",
    "SpaceRuntime",
    "SpaceSearchResult",
    "SpaceSecret",
    "SpaceStage",
    "SpaceStorage",
    "SpaceTemplate",
    "SpaceVariable",
    "Volume",
    "parse_datetime",
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


def parse_datetime(value: str) -> datetime:
    """Parse the Hub's ISO-8601 timestamps (`2025-03-07T12:24:18.657Z`, recording test_manage_variables).

    Raises:
        ValueError: if `value` is not ISO-8601.
    """
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _opt_datetime(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


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
            revision=_opt_str(data.get("revision")),
            read_only=read_only if isinstance(read_only, bool) else None,
            path=_opt_str(data.get("path")),
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
                statuses.append((str(item[0]), _opt_str(item[1])))
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
            hardware=_opt_str(hw.get("current")),
            requested_hardware=_opt_str(hw.get("requested")),
            sleep_time=gc if isinstance(gc, int) and not isinstance(gc, bool) else None,
            storage=_opt_str(data.get("storage")),
            dev_mode=bool(data.get("devMode", False)),
            hot_reloading=SpaceHotReloading.from_dict(hot) if isinstance(hot, Mapping) else None,
            volumes=(
                [Volume.from_dict(v) for v in raw_volumes if isinstance(v, Mapping)]
                if isinstance(raw_volumes, list)
                else None
            ),
            raw=dict(data),
        )


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
            description=_opt_str(data.get("description")),
            updated_at=_opt_datetime(data.get("updatedAt")),
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
            description=_opt_str(data.get("description")),
            updated_at=_opt_datetime(data.get("updatedAt")),
        )


@attrs.frozen
class BlobLfsInfo:
    """LFS details of a file listed in `SpaceInfo.siblings` (note: `sha256` here)."""

    size: int
    sha256: str
    pointer_size: int


@attrs.frozen
class RepoSibling:
    """A file of a repo as listed in `SpaceInfo.siblings`."""

    rfilename: str
    size: int | None = None
    blob_id: str | None = None
    lfs: BlobLfsInfo | None = None


def _siblings(value: object) -> list[RepoSibling] | None:
    """The `siblings` list of a repo object (hub-api.md §6.1), or None when the Hub did not send it."""
    if not isinstance(value, list):
        return None
    siblings = []
    for item in value:
        if not isinstance(item, Mapping):
            continue
        lfs = item.get("lfs")
        siblings.append(
            RepoSibling(
                rfilename=str(item.get("rfilename", "")),
                size=item.get("size"),
                blob_id=_opt_str(item.get("blobId")),
                lfs=(
                    BlobLfsInfo(
                        size=int(lfs.get("size", 0)),
                        sha256=str(lfs.get("sha256", "")),
                        pointer_size=int(lfs.get("pointerSize", 0)),
                    )
                    if isinstance(lfs, Mapping)
                    else None
                ),
            )
        )
    return siblings


@attrs.frozen
class SpaceInfo:
    """A Space as returned by `space_info` and `list_spaces`. Most fields are optional: the
    Hub returns only what was asked for (`expand=`). Keys the model does not name stay in `raw`."""

    id: str
    author: str | None = None
    sha: str | None = None
    created_at: datetime | None = None
    last_modified: datetime | None = None
    private: bool | None = None
    gated: str | bool | None = None
    disabled: bool | None = None
    host: str | None = None
    subdomain: str | None = None
    likes: int | None = None
    sdk: str | None = None
    tags: list[str] | None = None
    trending_score: int | None = None
    used_storage: int | None = None
    card_data: dict[str, Any] | None = None
    siblings: list[RepoSibling] | None = None
    runtime: SpaceRuntime | None = None
    models: list[str] | None = None
    datasets: list[str] | None = None
    region: str | None = None
    resource_group: dict[str, Any] | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpaceInfo:
        """Parse a space object; `id` is the only required key (as in huggingface_hub)."""
        runtime = data.get("runtime")
        card = data.get("cardData")
        group = data.get("resourceGroup")
        tags = data.get("tags")
        return cls(
            id=str(data["id"]),
            author=_opt_str(data.get("author")),
            sha=_opt_str(data.get("sha")),
            created_at=_opt_datetime(data.get("createdAt")),
            last_modified=_opt_datetime(data.get("lastModified")),
            private=data.get("private") if isinstance(data.get("private"), bool) else None,
            gated=data.get("gated"),
            disabled=data.get("disabled") if isinstance(data.get("disabled"), bool) else None,
            host=_opt_str(data.get("host")),
            subdomain=_opt_str(data.get("subdomain")),
            likes=data.get("likes"),
            sdk=_opt_str(data.get("sdk")),
            tags=[str(t) for t in tags] if isinstance(tags, list) else None,
            trending_score=data.get("trendingScore"),
            used_storage=data.get("usedStorage"),
            card_data=dict(card) if isinstance(card, Mapping) else None,
            siblings=_siblings(data.get("siblings")),
            # A falsy runtime means "not included" (huggingface_hub does the same).
            runtime=SpaceRuntime.from_dict(runtime) if isinstance(runtime, Mapping) and runtime else None,
            models=list(data["models"]) if isinstance(data.get("models"), list) else None,
            datasets=list(data["datasets"]) if isinstance(data.get("datasets"), list) else None,
            region=_opt_str(data.get("region")),
            resource_group=dict(group) if isinstance(group, Mapping) else None,
            raw=dict(data),
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
            unit_label=_opt_str(data.get("unitLabel")),
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


_URL_PREFIXES = {"spaces": "space", "datasets": "dataset", "kernels": "kernel"}


class RepoUrl(str):
    """A repo URL (a `str`), with `endpoint`, `namespace`, `repo_name`, `repo_id`, `repo_type` and `url`, as
    huggingface_hub's `RepoUrl`.

    Args:
        url: the repo's URL, e.g. `https://huggingface.co/spaces/alice/demo`.
        endpoint: the Hub endpoint the URL belongs to; defaults to the URL's own scheme and host.
    """

    endpoint: str
    namespace: str
    repo_name: str
    repo_id: str
    repo_type: str
    url: str

    def __new__(cls, url: str, endpoint: str | None = None) -> RepoUrl:
        return super().__new__(cls, url)

    def __init__(self, url: str, endpoint: str | None = None) -> None:
        super().__init__()
        parts = urlsplit(str(url))
        self.endpoint = (endpoint or f"{parts.scheme}://{parts.netloc}").rstrip("/")
        path = parts.path
        base_path = urlsplit(self.endpoint).path.rstrip("/")
        if base_path and path.startswith(base_path):
            path = path[len(base_path) :]
        segments = [s for s in path.split("/") if s]
        repo_type = "model"
        if segments and segments[0] in _URL_PREFIXES:
            repo_type = _URL_PREFIXES[segments.pop(0)]
        if len(segments) >= 2:
            self.namespace, self.repo_name = segments[0], segments[1]
        else:
            self.namespace, self.repo_name = "", segments[0] if segments else ""
        self.repo_id = f"{self.namespace}/{self.repo_name}" if self.namespace else self.repo_name
        self.repo_type = repo_type
        self.url = str(self)

    def __repr__(self) -> str:
        return (
            f"RepoUrl('{self}', endpoint='{self.endpoint}', repo_type='{self.repo_type}', "
            f"repo_id='{self.repo_id}')"
        )


class DuplicatedRepoUrl(RepoUrl):
    """`RepoUrl` returned by `duplicate_repo`; `files_copy_pending` is True while LFS files are still
    copied."""

    files_copy_pending: bool = False


class CommitInfo(str):
    """A commit just created (a `str`: its URL), as huggingface_hub's `CommitInfo`.

    Attributes:
        commit_url: URL of the commit.
        commit_message: the commit summary.
        commit_description: the commit description.
        oid: the commit sha.
        pr_url: URL of the pull request created (with `create_pr=True`).
        pr_revision: `refs/pr/<n>` for that pull request.
        pr_num: the pull request number.
        repo_url: the repo's `RepoUrl`.
    """

    commit_url: str
    commit_message: str
    commit_description: str
    oid: str
    pr_url: str | None
    pr_revision: str | None
    pr_num: int | None
    repo_url: RepoUrl

    def __new__(
        cls,
        commit_url: str,
        commit_message: str = "",
        commit_description: str = "",
        oid: str = "",
        pr_url: str | None = None,
        *,
        endpoint: str | None = None,
    ) -> CommitInfo:
        return super().__new__(cls, commit_url)

    def __init__(
        self,
        commit_url: str,
        commit_message: str = "",
        commit_description: str = "",
        oid: str = "",
        pr_url: str | None = None,
        *,
        endpoint: str | None = None,
    ) -> None:
        super().__init__()
        self.commit_url = commit_url
        self.commit_message = commit_message
        self.commit_description = commit_description
        self.oid = oid
        self.pr_url = pr_url
        # `…/commit/<sha>` → the repo URL is everything before `/commit/`.
        self.repo_url = RepoUrl(commit_url.split("/commit/")[0], endpoint=endpoint)
        self.pr_num = None
        self.pr_revision = None
        if pr_url:
            tail = pr_url.rstrip("/").rsplit("/", 1)[-1]
            if tail.isdigit():
                self.pr_num = int(tail)
                self.pr_revision = f"refs/pr/{tail}"

    def __repr__(self) -> str:
        return f"CommitInfo(commit_url={self.commit_url!r}, oid={self.oid!r}, pr_url={self.pr_url!r})"


@attrs.frozen
class ModelInfo:
    """A model repo as returned by `repo_info(repo_type="model")` (`GET /api/models/{id}`), with
    huggingface_hub's attribute names for the fields every repo has; everything else stays in `raw`."""

    id: str
    author: str | None = None
    sha: str | None = None
    created_at: datetime | None = None
    last_modified: datetime | None = None
    private: bool | None = None
    gated: str | bool | None = None
    disabled: bool | None = None
    downloads: int | None = None
    likes: int | None = None
    library_name: str | None = None
    pipeline_tag: str | None = None
    tags: list[str] | None = None
    card_data: dict[str, Any] | None = None
    siblings: list[RepoSibling] | None = None
    used_storage: int | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelInfo:
        """Parse a model object; `id` is the only required key."""
        common = _repo_fields(data)
        return cls(
            **common,
            downloads=data.get("downloads"),
            library_name=_opt_str(data.get("library_name")),
            pipeline_tag=_opt_str(data.get("pipeline_tag")),
        )


@attrs.frozen
class DatasetInfo:
    """A dataset repo as returned by `repo_info(repo_type="dataset")` (`GET /api/datasets/{id}`), with
    huggingface_hub's attribute names for the fields every repo has; everything else stays in `raw`."""

    id: str
    author: str | None = None
    sha: str | None = None
    created_at: datetime | None = None
    last_modified: datetime | None = None
    private: bool | None = None
    gated: str | bool | None = None
    disabled: bool | None = None
    downloads: int | None = None
    likes: int | None = None
    tags: list[str] | None = None
    card_data: dict[str, Any] | None = None
    siblings: list[RepoSibling] | None = None
    used_storage: int | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DatasetInfo:
        """Parse a dataset object; `id` is the only required key."""
        return cls(**_repo_fields(data), downloads=data.get("downloads"))


def _repo_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """The fields models and datasets share, by huggingface_hub's names (hub-api.md §6.1)."""
    tags = data.get("tags")
    card = data.get("cardData")
    return {
        "id": str(data["id"]),
        "author": _opt_str(data.get("author")),
        "sha": _opt_str(data.get("sha")),
        "created_at": _opt_datetime(data.get("createdAt")),
        "last_modified": _opt_datetime(data.get("lastModified")),
        "private": data.get("private") if isinstance(data.get("private"), bool) else None,
        "gated": data.get("gated"),
        "disabled": data.get("disabled") if isinstance(data.get("disabled"), bool) else None,
        "likes": data.get("likes"),
        "tags": [str(t) for t in tags] if isinstance(tags, list) else None,
        "card_data": dict(card) if isinstance(card, Mapping) else None,
        "siblings": _siblings(data.get("siblings")),
        "used_storage": data.get("usedStorage"),
        "raw": dict(data),
    }


@attrs.frozen
class LastCommitInfo:
    """The last commit that touched a tree entry (`lastCommit`, only with `expand=True`)."""

    oid: str
    title: str
    date: datetime | None

    @classmethod
    def from_dict(cls, data: object) -> LastCommitInfo | None:
        """Parse `lastCommit` (`id`, `title`, `date`), or None when absent."""
        if not isinstance(data, Mapping):
            return None
        return cls(
            oid=str(data.get("id", "")),
            title=str(data.get("title", "")),
            date=_opt_datetime(data.get("date")),
        )


@attrs.frozen
class RepoFile:
    """A file of a repo tree, as huggingface_hub's `RepoFile` (`GET /api/{type}s/{id}/tree/...`).
    `lfs.sha256` is the tree's `lfs.oid`."""

    path: str
    size: int
    blob_id: str
    lfs: BlobLfsInfo | None = None
    xet_hash: str | None = None
    last_commit: LastCommitInfo | None = None

    @property
    def rfilename(self) -> str:
        """The path (huggingface_hub's older name for it)."""
        return self.path

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RepoFile:
        """Parse a tree entry of type `file`."""
        lfs = data.get("lfs")
        return cls(
            path=str(data["path"]),
            size=int(data.get("size") or 0),
            blob_id=str(data.get("oid", "")),
            lfs=(
                BlobLfsInfo(
                    size=int(lfs.get("size", 0)),
                    sha256=str(lfs.get("oid", "")),
                    pointer_size=int(lfs.get("pointerSize", 0)),
                )
                if isinstance(lfs, Mapping)
                else None
            ),
            xet_hash=_opt_str(data.get("xetHash")),
            last_commit=LastCommitInfo.from_dict(data.get("lastCommit")),
        )


@attrs.frozen
class RepoFolder:
    """A folder of a repo tree, as huggingface_hub's `RepoFolder`."""

    path: str
    tree_id: str
    last_commit: LastCommitInfo | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RepoFolder:
        """Parse a tree entry of type `directory`."""
        return cls(
            path=str(data["path"]),
            tree_id=str(data.get("oid", "")),
            last_commit=LastCommitInfo.from_dict(data.get("lastCommit")),
        )


@attrs.frozen
class SpaceSearchResult:
    """One hit of `search_spaces` (`GET /api/spaces/semantic-search`), as huggingface_hub's
    `SpaceSearchResult`."""

    id: str
    author: str = ""
    title: str = ""
    emoji: str | None = None
    sdk: str | None = None
    likes: int = 0
    private: bool = False
    tags: list[str] | None = None
    runtime: SpaceRuntime | None = None
    ai_short_description: str | None = None
    ai_category: str | None = None
    semantic_relevancy_score: float | None = None
    trending_score: int | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpaceSearchResult:
        """Parse one hit; `id` is the only required key (snake_case `ai_*` keys beside camelCase ones)."""
        runtime = data.get("runtime")
        tags = data.get("tags")
        score = data.get("semanticRelevancyScore")
        return cls(
            id=str(data["id"]),
            author=str(data.get("author") or ""),
            title=str(data.get("title") or ""),
            emoji=_opt_str(data.get("emoji")),
            sdk=_opt_str(data.get("sdk")),
            likes=int(data.get("likes") or 0),
            private=data.get("private") is True,
            tags=[str(t) for t in tags] if isinstance(tags, list) else None,
            runtime=SpaceRuntime.from_dict(runtime) if isinstance(runtime, Mapping) and runtime else None,
            ai_short_description=_opt_str(data.get("ai_short_description")),
            ai_category=_opt_str(data.get("ai_category")),
            semantic_relevancy_score=float(score) if isinstance(score, int | float) else None,
            trending_score=data.get("trendingScore"),
            raw=dict(data),
        )
