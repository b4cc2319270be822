"""Typed values returned by the client: attrs classes and `str` enums.

Attribute names match huggingface_hub's (`SpaceRuntime.stage, hardware, requested_hardware, sleep_time,
storage, dev_mode, hot_reloading, volumes, raw`, ...) so code ports by adding `await`. Every model is built
from the Hub's JSON by a `from_dict` classmethod that never crashes on unknown values: a stage or a hardware
flavor the SDK does not know yet is kept as the raw string, and the whole payload stays available in `raw`.

This module is where to import them from. They are defined by area: a Space's runtime, its stages and the
stage classes in `_runtime_models.py`; secrets, variables, hardware flavors and templates in
`_settings_models.py`; repos, files and commits in `_repo_models.py`.
"""

from __future__ import annotations

from ._model_fields import parse_datetime
from ._repo_models import (
    BlobLfsInfo,
    CommitInfo,
    DatasetInfo,
    DuplicatedRepoUrl,
    LastCommitInfo,
    ModelInfo,
    RepoFile,
    RepoFolder,
    RepoSibling,
    RepoUrl,
    SpaceInfo,
    SpaceSearchResult,
)
from ._runtime_models import (
    APP_STARTING_STAGES,
    BUILD_LOG_STAGES,
    FAILURE_STAGES,
    NOT_RUNNING_STAGES,
    TRANSITIONAL_STAGES,
    SpaceHardware,
    SpaceHotReloading,
    SpaceRuntime,
    SpaceStage,
    SpaceStorage,
    Volume,
    stage_name,
)
from ._settings_models import (
    HardwareAccelerator,
    SpaceHardwareInfo,
    SpaceSecret,
    SpaceTemplate,
    SpaceVariable,
)

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
