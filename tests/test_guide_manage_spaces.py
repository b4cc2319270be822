"""huggingface_hub's guide "Manage your Space", every code snippet in the guide's order, on `SpacesClient`.

The snippets are those of the guide's simple example (sections 1 to 6 and their "Bonus" blocks), as published
with huggingface_hub v0.30 (`docs/source/en/guides/manage-spaces.md` in the huggingface/huggingface_hub
repository, https://huggingface.co/docs/huggingface_hub/v0.30.2/guides/manage-spaces): the version of the
guide that still shows `duplicate_space`, persistent storage and string sleep times. Each snippet is written
as the guide writes it with only `await` added; `api = HfApi()` becomes a `SpacesClient` on the simulated Hub.
Where the guide's text is not valid Python, the least change that makes it so is made and said: its dicts
written `{"key"="HF_TOKEN", ...}` use `:`, its `, ...]` elisions are dropped, and the comma missing after
`space_sdk="gradio"` is added. The guide's "More advanced: temporarily upgrade your Space" section is an app
skeleton with undefined helpers; its pattern is run in tests/test_example_temporary_upgrade.py.

Every snippet runs against a fresh simulated Hub in virtual time, where the guide's user `Wauplin` owns the
guide's `repo_id`. The snippets that duplicate `repo_id` into the caller's own namespace (`duplicate_space(
from_id=repo_id, ...)` without `to_id`) run as another user, `alice`, for whom `repo_id` is someone else's
public Space, as the guide's duplicate of `multimodalart/dreambooth-training` is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aiospaces import SpaceHardware, SpacesClient, SpaceStorage, StorageDowngradeError
from aiospaces.hubsim import SimulatedHub
from aiospaces.testing import VirtualClock

pytestmark = pytest.mark.anyio

ENDPOINT = "https://hub.local"
repo_id = "Wauplin/my-cool-training-space"  # the guide's own name for it


class GuideHub:
    """A simulated Hub seeded for the guide: Wauplin (and alice) with tokens, and a public Space to copy."""

    def __init__(self) -> None:
        self.clock = VirtualClock()
        self.hub = SimulatedHub(clock=self.clock)
        self.hub.add_user("Wauplin", token="hf_wauplin_token")
        self.hub.add_user("alice", token="hf_alice_token")
        self.hub.create_space("multimodalart/dreambooth-training", sdk="gradio")

    def client(self, user: str = "Wauplin") -> SpacesClient:
        token = {"Wauplin": "hf_wauplin_token", "alice": "hf_alice_token"}[user]
        return SpacesClient(token=token, endpoint=ENDPOINT, transport=self.hub.transport(), clock=self.clock)

    def runtime(self, space: str) -> dict[str, object]:
        return self.hub.space_runtime(space)


@pytest.fixture
def guide() -> GuideHub:
    return GuideHub()


@pytest.fixture
async def api(guide: GuideHub) -> AsyncIterator[SpacesClient]:
    async with guide.client() as client:
        yield client


@pytest.fixture
async def alice(guide: GuideHub) -> AsyncIterator[SpacesClient]:
    """`api` for the duplicate snippets: another user, for whom `repo_id` is a public Space to copy."""
    guide.hub.create_space(repo_id, sdk="gradio")
    async with guide.client("alice") as client:
        yield client


def secret_keys(guide: GuideHub, space: str) -> set[str]:
    return set(guide.hub.space_state(space).secrets)


def variable_values(guide: GuideHub, space: str) -> dict[str, str]:
    return {key: entry.value for key, entry in guide.hub.space_state(space).variables.items()}


# --- 1. Create a Space on the Hub --------------------------------------------------------------------------


async def test_01_create_space(guide: GuideHub, api: SpacesClient) -> None:
    """`create_repo(repo_id=..., repo_type="space", space_sdk="gradio")` creates the Gradio Space."""
    await api.create_repo(repo_id=repo_id, repo_type="space", space_sdk="gradio")
    assert guide.hub.repo_exists(repo_id)
    assert guide.hub.space_state(repo_id).sdk == "gradio"


# --- 1. (bis) Duplicate a Space ----------------------------------------------------------------------------


async def test_02_duplicate_public_space_of_another_user(guide: GuideHub, api: SpacesClient) -> None:
    """`duplicate_space("multimodalart/dreambooth-training")` copies another user's public Space into the
    caller's namespace under the same name."""
    url = await api.duplicate_space("multimodalart/dreambooth-training")
    assert url.repo_id == "Wauplin/dreambooth-training"
    assert guide.hub.repo_exists("Wauplin/dreambooth-training")


# --- 2. Upload your code -----------------------------------------------------------------------------------


async def test_03_upload_folder(
    guide: GuideHub, api: SpacesClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`upload_folder(repo_id=..., repo_type="space", folder_path="src/")` pushes the local src/ folder."""
    guide.hub.create_space(repo_id, sdk="gradio")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("import gradio as gr\n")
    monkeypatch.chdir(tmp_path)
    await api.upload_folder(repo_id=repo_id, repo_type="space", folder_path="src/")
    assert "app.py" in await api.list_repo_files(repo_id, repo_type="space")


# --- 3. Configure secrets and variables --------------------------------------------------------------------


async def test_04_add_secret_and_variable(guide: GuideHub, api: SpacesClient) -> None:
    """`add_space_secret` and `add_space_variable` with the guide's keys set both on the Space."""
    guide.hub.create_space(repo_id, sdk="gradio")
    await api.add_space_secret(repo_id=repo_id, key="HF_TOKEN", value="hf_api_***")
    await api.add_space_variable(repo_id=repo_id, key="MODEL_REPO_ID", value="user/repo")
    assert secret_keys(guide, repo_id) == {"HF_TOKEN"}
    assert variable_values(guide, repo_id) == {"MODEL_REPO_ID": "user/repo"}


async def test_05_delete_secret_and_variable(guide: GuideHub, api: SpacesClient) -> None:
    """`delete_space_secret` and `delete_space_variable` remove them again."""
    guide.hub.create_space(repo_id, sdk="gradio", secrets={"HF_TOKEN": "x"}, variables={"MODEL_REPO_ID": "y"})
    await api.delete_space_secret(repo_id=repo_id, key="HF_TOKEN")
    await api.delete_space_variable(repo_id=repo_id, key="MODEL_REPO_ID")
    assert secret_keys(guide, repo_id) == set()
    assert variable_values(guide, repo_id) == {}


async def test_06_create_with_secrets_and_variables(guide: GuideHub, api: SpacesClient) -> None:
    """Bonus: `create_repo(..., space_secrets=[...], space_variables=[...])` sets them at creation."""
    await api.create_repo(
        repo_id=repo_id,
        repo_type="space",
        space_sdk="gradio",
        space_secrets=[{"key": "HF_TOKEN", "value": "hf_api_***"}],
        space_variables=[{"key": "MODEL_REPO_ID", "value": "user/repo"}],
    )
    assert secret_keys(guide, repo_id) == {"HF_TOKEN"}
    assert variable_values(guide, repo_id) == {"MODEL_REPO_ID": "user/repo"}


async def test_07_duplicate_with_secrets_and_variables(guide: GuideHub, alice: SpacesClient) -> None:
    """Bonus: `duplicate_space(from_id=repo_id, secrets=[...], variables=[...])` sets them on the copy."""
    api = alice
    await api.duplicate_space(
        from_id=repo_id,
        secrets=[{"key": "HF_TOKEN", "value": "hf_api_***"}],
        variables=[{"key": "MODEL_REPO_ID", "value": "user/repo"}],
    )
    assert secret_keys(guide, "alice/my-cool-training-space") == {"HF_TOKEN"}
    assert variable_values(guide, "alice/my-cool-training-space") == {"MODEL_REPO_ID": "user/repo"}


# --- 4. Configure the hardware -----------------------------------------------------------------------------


async def test_08_request_hardware_enum_or_string(guide: GuideHub, api: SpacesClient) -> None:
    """`request_space_hardware` takes the `SpaceHardware` enum or simply the string value."""
    guide.hub.create_space(repo_id, sdk="gradio")
    # Use `SpaceHardware` enum
    await api.request_space_hardware(repo_id=repo_id, hardware=SpaceHardware.T4_MEDIUM)
    assert guide.runtime(repo_id)["hardware"] == {"current": "cpu-basic", "requested": "t4-medium"}

    # Or simply pass a string value
    await api.request_space_hardware(repo_id=repo_id, hardware="t4-medium")
    assert guide.runtime(repo_id)["hardware"] == {"current": "cpu-basic", "requested": "t4-medium"}


async def test_09_runtime_shows_the_pending_request(guide: GuideHub, api: SpacesClient) -> None:
    """Right after the request, `get_space_runtime` shows RUNNING_BUILDING, cpu-basic, t4-medium."""
    guide.hub.create_space(repo_id, sdk="gradio")
    await api.request_space_hardware(repo_id=repo_id, hardware="t4-medium")
    runtime = await api.get_space_runtime(repo_id=repo_id)
    assert runtime.stage == "RUNNING_BUILDING"
    assert runtime.hardware == "cpu-basic"
    assert runtime.requested_hardware == "t4-medium"


async def test_10_create_with_hardware_storage_and_string_sleep_time(
    guide: GuideHub, api: SpacesClient
) -> None:
    """Bonus: `create_repo(..., space_hardware="cpu-upgrade", space_storage="small", space_sleep_time="7200")`
    creates the Space with all three (the guide's sleep time is a string)."""
    await api.create_repo(
        repo_id=repo_id,
        repo_type="space",
        space_sdk="gradio",
        space_hardware="cpu-upgrade",
        space_storage="small",
        space_sleep_time="7200",  # 2 hours in secs
    )
    runtime = await api.get_space_runtime(repo_id)
    assert (runtime.requested_hardware, runtime.storage, runtime.sleep_time) == ("cpu-upgrade", "small", 7200)


async def test_11_duplicate_with_hardware_storage_and_string_sleep_time(
    guide: GuideHub, alice: SpacesClient
) -> None:
    """Bonus: `duplicate_space(from_id=repo_id, hardware=..., storage="small", sleep_time="7200")` sets all
    three on the copy."""
    api = alice
    await api.duplicate_space(
        from_id=repo_id,
        hardware="cpu-upgrade",
        storage="small",
        sleep_time="7200",  # 2 hours in secs
    )
    runtime = await api.get_space_runtime("alice/my-cool-training-space")
    assert (runtime.requested_hardware, runtime.storage, runtime.sleep_time) == ("cpu-upgrade", "small", 7200)


# --- 5. Pause and restart your Space -----------------------------------------------------------------------


async def test_12_pause_and_restart(guide: GuideHub, api: SpacesClient) -> None:
    """`pause_space` pauses the Space; `restart_space` starts it building again."""
    guide.hub.create_space(repo_id, sdk="gradio", hardware="t4-medium")
    # Pause your Space to avoid getting billed
    await api.pause_space(repo_id=repo_id)
    assert guide.hub.space_stage(repo_id) == "PAUSED"
    # (...)
    # Restart it when you need it
    await api.restart_space(repo_id=repo_id)
    assert guide.hub.space_stage(repo_id) == "BUILDING"


async def test_13_set_sleep_time(guide: GuideHub, api: SpacesClient) -> None:
    """`set_space_sleep_time(repo_id=..., sleep_time=3600)` sets one hour."""
    guide.hub.create_space(repo_id, sdk="gradio", hardware="t4-medium")
    # Put your Space to sleep after 1h of inactivity
    await api.set_space_sleep_time(repo_id=repo_id, sleep_time=3600)
    assert guide.runtime(repo_id)["gcTimeout"] == 3600


async def test_14_sleep_time_while_requesting_hardware(guide: GuideHub, api: SpacesClient) -> None:
    """Bonus: `request_space_hardware(..., hardware=SpaceHardware.T4_MEDIUM, sleep_time=3600)` sets both."""
    guide.hub.create_space(repo_id, sdk="gradio")
    await api.request_space_hardware(repo_id=repo_id, hardware=SpaceHardware.T4_MEDIUM, sleep_time=3600)
    runtime = await api.get_space_runtime(repo_id)
    assert (runtime.requested_hardware, runtime.sleep_time) == ("t4-medium", 3600)


async def test_15_create_with_string_sleep_time(guide: GuideHub, api: SpacesClient) -> None:
    """Bonus: `create_repo(..., space_hardware="t4-medium", space_sleep_time="3600")` sets both."""
    await api.create_repo(
        repo_id=repo_id,
        repo_type="space",
        space_sdk="gradio",
        space_hardware="t4-medium",
        space_sleep_time="3600",
    )
    runtime = await api.get_space_runtime(repo_id)
    assert (runtime.requested_hardware, runtime.sleep_time) == ("t4-medium", 3600)


async def test_16_duplicate_with_string_sleep_time(guide: GuideHub, alice: SpacesClient) -> None:
    """Bonus: `duplicate_space(from_id=repo_id, hardware="t4-medium", sleep_time="3600")` sets both."""
    api = alice
    await api.duplicate_space(
        from_id=repo_id,
        hardware="t4-medium",
        sleep_time="3600",
    )
    runtime = await api.get_space_runtime("alice/my-cool-training-space")
    assert (runtime.requested_hardware, runtime.sleep_time) == ("t4-medium", 3600)


# --- 6. Add persistent storage to your Space ---------------------------------------------------------------


async def test_17_request_storage_with_enum(guide: GuideHub, api: SpacesClient) -> None:
    """`request_space_storage(repo_id=..., storage=SpaceStorage.LARGE)` gives the Space large storage."""
    guide.hub.create_space(repo_id, sdk="gradio")
    await api.request_space_storage(repo_id=repo_id, storage=SpaceStorage.LARGE)
    assert guide.runtime(repo_id)["storage"] == "large"


async def test_18_delete_storage(guide: GuideHub, api: SpacesClient) -> None:
    """`delete_space_storage(repo_id=...)` removes it."""
    guide.hub.create_space(repo_id, sdk="gradio", storage="large")
    await api.delete_space_storage(repo_id=repo_id)
    assert guide.runtime(repo_id)["storage"] is None


async def test_18b_storage_cannot_be_decreased_without_deleting(guide: GuideHub, api: SpacesClient) -> None:
    """The guide's note: a lower tier is refused with `StorageDowngradeError` (current and requested tiers,
    Space unchanged); after deleting the storage the lower tier is granted."""
    guide.hub.create_space(repo_id, sdk="gradio", storage="large")
    with pytest.raises(StorageDowngradeError, match="delete") as caught:
        await api.request_space_storage(repo_id=repo_id, storage=SpaceStorage.SMALL)
    assert (caught.value.current, caught.value.requested, caught.value.status) == ("large", "small", 400)
    assert guide.runtime(repo_id)["storage"] == "large"
    await api.delete_space_storage(repo_id=repo_id)
    await api.request_space_storage(repo_id=repo_id, storage=SpaceStorage.SMALL)
    assert guide.runtime(repo_id)["storage"] == "small"


async def test_19_create_with_storage(guide: GuideHub, api: SpacesClient) -> None:
    """Bonus: `create_repo(..., space_storage="large")` creates the Space with large storage."""
    await api.create_repo(
        repo_id=repo_id,
        repo_type="space",
        space_sdk="gradio",
        space_storage="large",
    )
    assert guide.runtime(repo_id)["storage"] == "large"


async def test_20_duplicate_with_storage(guide: GuideHub, alice: SpacesClient) -> None:
    """Bonus: `duplicate_space(from_id=repo_id, storage="large")` gives the copy large storage."""
    api = alice
    await api.duplicate_space(
        from_id=repo_id,
        storage="large",
    )
    assert guide.runtime("alice/my-cool-training-space")["storage"] == "large"


# --- the guide's string sleep times, and what is still refused ---------------------------------------------


@pytest.mark.parametrize("bad", ["abc", "1.5", float("nan"), -5, "-5"])
async def test_bad_sleep_times_are_refused_naming_the_argument(
    guide: GuideHub, api: SpacesClient, bad: object
) -> None:
    """`"abc"`, `"1.5"`, NaN and negatives are refused naming the argument, before anything is sent."""
    before = sum(guide.hub.counters.requests.values())
    with pytest.raises((ValueError, TypeError), match="space_sleep_time"):
        await api.create_repo(repo_id, repo_type="space", space_sdk="gradio", space_sleep_time=bad)  # type: ignore[arg-type]
    with pytest.raises((ValueError, TypeError), match="sleep_time"):
        await api.duplicate_space("multimodalart/dreambooth-training", sleep_time=bad)  # type: ignore[arg-type]
    assert not guide.hub.repo_exists(repo_id)
    assert sum(guide.hub.counters.requests.values()) == before
