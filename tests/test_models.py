"""Model parsing tests: attribute names match huggingface_hub's, unknown values are kept, nothing crashes."""

from __future__ import annotations

from datetime import UTC, datetime

from aiospaces.models import (
    CommitInfo,
    DuplicatedRepoUrl,
    RepoUrl,
    SpaceHardware,
    SpaceHardwareInfo,
    SpaceInfo,
    SpaceRuntime,
    SpaceStage,
    SpaceVariable,
    Volume,
)


def test_enums_compare_equal_to_strings() -> None:
    """Enum members are their wire strings (`SpaceStage.RUNNING == "RUNNING"`)."""
    assert SpaceStage.RUNNING == "RUNNING"
    assert SpaceHardware.T4_SMALL == "t4-small"
    assert str(SpaceStage.PAUSED) == "PAUSED"


def test_runtime_unknown_stage_and_hardware_are_kept() -> None:
    """A stage and a flavor this SDK does not know stay as raw strings instead of crashing."""
    runtime = SpaceRuntime.from_dict(
        {"stage": "HIBERNATING", "hardware": {"current": "h200x9", "requested": None}}
    )
    assert runtime.stage == "HIBERNATING"
    assert not isinstance(runtime.stage, SpaceStage)
    assert runtime.hardware == "h200x9"
    assert runtime.requested_hardware is None


def test_runtime_known_stage_is_enum_and_fields_map() -> None:
    """Known stages become `SpaceStage`; gcTimeout/devMode/storage/volumes map to the huggingface_hub
    names."""
    runtime = SpaceRuntime.from_dict(
        {
            "stage": "RUNNING_BUILDING",
            "hardware": {"current": "cpu-basic", "requested": "t4-small"},
            "gcTimeout": 3600,
            "storage": "small",
            "devMode": True,
            "volumes": [{"source": "a/b", "mountPath": "/m"}],
            "hotReloading": {"status": "created", "replicaStatuses": [["r1", "ok"], ["r2", None]]},
            "errorMessage": "x",
        }
    )
    assert runtime.stage is SpaceStage.RUNNING_BUILDING
    assert (runtime.hardware, runtime.requested_hardware, runtime.sleep_time) == (
        "cpu-basic",
        "t4-small",
        3600,
    )
    assert (runtime.storage, runtime.dev_mode) == ("small", True)
    assert runtime.volumes == [Volume(type="model", source="a/b", mount_path="/m")]
    assert runtime.hot_reloading is not None
    assert runtime.hot_reloading.replica_statuses == [
        ("r1", "ok"),
        ("r2", None),
    ]
    assert runtime.raw["errorMessage"] == "x"


def test_runtime_tolerates_null_hardware_and_missing_keys() -> None:
    """`hardware: null` (never seen, but possible) and a bare `{"stage": ...}` parse with None fields."""
    runtime = SpaceRuntime.from_dict({"stage": "STOPPED", "hardware": None})
    assert (runtime.hardware, runtime.requested_hardware, runtime.sleep_time, runtime.dev_mode) == (
        None,
        None,
        None,
        False,
    )
    assert runtime.volumes is None
    assert runtime.hot_reloading is None


def test_volume_round_trip() -> None:
    """`Volume.to_dict` omits unset keys and `from_dict` reads it back."""
    volume = Volume(type="dataset", source="a/d", mount_path="/data", revision="main")
    assert volume.to_dict() == {"type": "dataset", "source": "a/d", "mountPath": "/data", "revision": "main"}
    assert Volume.from_dict(volume.to_dict()) == volume


def test_space_info_maps_camel_case_and_keeps_extras() -> None:
    """SpaceInfo maps camelCase keys to snake_case attributes, parses runtime and siblings, keeps extras in
    raw."""
    info = SpaceInfo.from_dict(
        {
            "_id": "x",
            "id": "a/b",
            "author": "a",
            "createdAt": "2025-03-07T12:24:18.657Z",
            "trendingScore": 3,
            "usedStorage": 10,
            "cardData": {"title": "T"},
            "siblings": [
                {"rfilename": "app.py"},
                {"rfilename": "m.bin", "lfs": {"size": 5, "sha256": "s", "pointerSize": 1}},
            ],
            "runtime": {"stage": "RUNNING", "hardware": {"current": "cpu-basic", "requested": "cpu-basic"}},
            "emoji": "🚀",
        }
    )
    assert info.id == "a/b"
    assert info.author == "a"
    assert info.created_at == datetime(2025, 3, 7, 12, 24, 18, 657000, tzinfo=UTC)
    assert (info.trending_score, info.used_storage, info.card_data) == (3, 10, {"title": "T"})
    assert info.siblings is not None
    assert info.siblings[1].lfs is not None
    assert info.siblings[1].lfs.sha256 == "s"
    assert info.runtime is not None
    assert info.runtime.stage is SpaceStage.RUNNING
    assert info.raw["emoji"] == "🚀"


def test_space_info_empty_runtime_is_none() -> None:
    """A falsy runtime means "not included", as in huggingface_hub."""
    assert SpaceInfo.from_dict({"id": "a/b", "runtime": {}}).runtime is None


def test_variable_parses_timestamp() -> None:
    """`updatedAt` in millisecond UTC form parses to an aware datetime (recording test_manage_variables)."""
    var = SpaceVariable.from_dict("foo", {"value": "123", "updatedAt": "2025-03-07T12:24:18.657Z"})
    assert var.updated_at == datetime(2025, 3, 7, 12, 24, 18, 657000, tzinfo=UTC)
    assert var.description is None


def test_repo_url_properties() -> None:
    """RepoUrl is a str with repo_id, repo_type, namespace, repo_name and endpoint."""
    url = RepoUrl("https://huggingface.co/spaces/user/tmp_test_space", endpoint="https://huggingface.co")
    assert url == "https://huggingface.co/spaces/user/tmp_test_space"
    assert (url.repo_type, url.repo_id, url.namespace, url.repo_name) == (
        "space",
        "user/tmp_test_space",
        "user",
        "tmp_test_space",
    )
    assert RepoUrl("http://127.0.0.1:9/datasets/a/d").repo_type == "dataset"
    assert RepoUrl("http://127.0.0.1:9/a/m").repo_type == "model"
    assert DuplicatedRepoUrl("http://h/spaces/a/b").files_copy_pending is False


def test_commit_info_parses_pr() -> None:
    """CommitInfo derives repo_url and the PR number/revision from its URLs."""
    info = CommitInfo(
        "https://huggingface.co/spaces/a/b/commit/abc",
        "msg",
        "",
        "abc",
        "https://huggingface.co/spaces/a/b/discussions/4",
    )
    assert info.repo_url.repo_id == "a/b"
    assert info.pr_num == 4
    assert info.pr_revision == "refs/pr/4"


def test_hardware_info_parses_accelerator_and_prices() -> None:
    """Hardware list entries map prettyName/unitCostUSD/accelerator (hub-api.md §8.6)."""
    hw = SpaceHardwareInfo.from_dict(
        {
            "name": "t4-small",
            "prettyName": "Nvidia T4 - small",
            "cpu": "4 vCPU",
            "ram": "15 GB",
            "accelerator": {
                "type": "gpu",
                "model": "T4",
                "quantity": "1",
                "vram": "16 GB",
                "manufacturer": "Nvidia",
            },
            "unitCostMicroUSD": 6667,
            "unitCostUSD": 0.006667,
            "unitLabel": "minute",
        }
    )
    assert hw.pretty_name == "Nvidia T4 - small"
    assert hw.unit_cost_usd == 0.006667
    assert hw.accelerator is not None
    assert hw.accelerator.model == "T4"
    assert hw.ephemeral_storage == "N/A"
