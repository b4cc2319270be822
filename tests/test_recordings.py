"""Replays of real Hub traffic (tests/fixtures/recordings, converted from huggingface_hub's production
cassettes)
through an httpx transport: the client must send the recorded requests and parse the recorded answers into the
right models."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from aiospaces import SpacesClient, errors
from aiospaces.models import RepoUrl, SpaceStage

RECORDINGS = Path(__file__).parent / "fixtures" / "recordings"
ENDPOINT = "https://huggingface.co"


class Replay:
    """Serves recorded interactions in order for matching method + path + query, and records request
    bodies."""

    def __init__(self, name: str) -> None:
        data = json.loads((RECORDINGS / f"{name}.json").read_text())
        self.interactions: list[dict[str, Any]] = data["interactions"]
        self.used: set[int] = set()
        self.sent: list[tuple[str, str, Any]] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content) if request.content else None
        self.sent.append((request.method, str(request.url), body))
        for index, item in enumerate(self.interactions):
            if index in self.used or item["method"] != request.method:
                continue
            if httpx2.URL(item["uri"]) != request.url:
                continue
            self.used.add(index)
            return httpx2.Response(
                item["status"],
                headers=item["response_headers"],
                content=(item["response_body"] or "").encode(),
            )
        raise AssertionError(f"no recorded interaction left for {request.method} {request.url}")

    def recorded_body(self, method: str, path_suffix: str) -> Iterator[Any]:
        """Recorded request bodies (as JSON) for a method and a URL ending."""
        for item in self.interactions:
            if item["method"] == method and item["uri"].endswith(path_suffix) and item["request_body"]:
                yield json.loads(item["request_body"])


def client_for(replay: Replay) -> SpacesClient:
    return SpacesClient(
        token="hf_replay", endpoint=ENDPOINT, transport=httpx2.MockTransport(replay), retry=False
    )


@pytest.mark.anyio
async def test_space_runtime_recording() -> None:
    """Create, then the first runtime of a fresh Space parses to BUILDING on no hardware with cpu-basic
    requested."""
    replay = Replay("test_space_runtime")
    async with client_for(replay) as client:
        url = await client.create_repo(
            "user/tmp_test_space", repo_type="space", space_sdk="gradio", private=True
        )
        runtime = await client.get_space_runtime("user/tmp_test_space")
        await client.delete_repo("user/tmp_test_space", repo_type="space")
    assert isinstance(url, RepoUrl)
    assert (url.repo_type, url.repo_id) == ("space", "user/tmp_test_space")
    assert runtime.stage is SpaceStage.BUILDING
    assert runtime.hardware is None
    assert runtime.requested_hardware == "cpu-basic"
    assert runtime.sleep_time == 172800
    assert runtime.dev_mode is False
    assert runtime.storage is None
    assert runtime.raw["domains"] == [{"domain": "user-tmp-test-space.hf.space", "stage": "READY"}]
    # The create body matches the recording except that today's clients send `visibility` (hub-api.md §5.1).
    sent_create = next(body for method, url_, body in replay.sent if url_.endswith("/repos/create"))
    recorded = next(replay.recorded_body("POST", "/repos/create"))
    assert sent_create == {**{k: v for k, v in recorded.items() if k != "private"}, "visibility": "private"}
    sent_delete = next(body for method, url_, body in replay.sent if method == "DELETE")
    assert sent_delete == next(replay.recorded_body("DELETE", "/repos/delete"))


@pytest.mark.anyio
async def test_static_space_runtime_recording() -> None:
    """A static Space is RUNNING with both hardware fields null and no sleep time."""
    replay = Replay("test_static_space_runtime")
    async with client_for(replay) as client:
        runtime = await client.get_space_runtime("victor/static-space")
    assert runtime.stage is SpaceStage.RUNNING
    assert (runtime.hardware, runtime.requested_hardware, runtime.sleep_time) == (None, None, None)
    assert runtime.raw["replicas"] == {"requested": 1, "current": 1}


@pytest.mark.anyio
async def test_pause_and_restart_recording() -> None:
    """Pause answers PAUSED and restart answers BUILDING, both with the runtime shape."""
    replay = Replay("test_pause_and_restart_space")
    async with client_for(replay) as client:
        before = await client.get_space_runtime("user/tmp_test_space")
        paused = await client.pause_space("user/tmp_test_space")
        restarted = await client.restart_space("user/tmp_test_space")
    assert before.stage is SpaceStage.BUILDING
    assert paused.stage is SpaceStage.PAUSED
    assert paused.requested_hardware == "cpu-basic"
    assert restarted.stage is SpaceStage.BUILDING
    restart_url = next(url for method, url, _ in replay.sent if url.endswith("/restart"))
    assert "factory" not in restart_url


@pytest.mark.anyio
async def test_manage_variables_recording() -> None:
    """Variables calls send the recorded bodies and parse the full map returned after each change."""
    replay = Replay("test_manage_variables")
    repo = "user/tmp_test_space"
    async with client_for(replay) as client:
        assert await client.get_space_variables(repo) == {}
        after_first = await client.add_space_variable(repo, "foo", "123")
        await client.add_space_variable(repo, "MODEL_REPO_ID", "user/repo")
        await client.add_space_variable(repo, "MODEL_PAPER", "arXiv", description="found it there")
        await client.add_space_variable(repo, "foo", "456")
        await client.add_space_variable(repo, "foo", "456", description="updated description")
        after_delete = await client.delete_space_variable(repo, "gh_api_key")
        unchanged = await client.delete_space_variable(repo, "missing_key")
        final = await client.get_space_variables(repo)
    assert list(after_first) == ["foo"]
    assert after_first["foo"].value == "123"
    assert after_delete == unchanged == final
    assert set(final) == {"foo", "MODEL_REPO_ID", "MODEL_PAPER"}
    assert final["foo"].value == "456"
    assert final["foo"].description == "updated description"
    assert final["MODEL_REPO_ID"].description is None
    assert final["MODEL_PAPER"].updated_at is not None
    assert final["MODEL_PAPER"].updated_at.year == 2025
    sent = [body for method, url, body in replay.sent if method == "POST" and url.endswith("/variables")]
    assert sent == list(replay.recorded_body("POST", "/variables"))


@pytest.mark.anyio
async def test_manage_secrets_recording() -> None:
    """The 409 on create maps to ConflictError with the existing URL; secrets calls send the recorded
    bodies."""
    replay = Replay("test_manage_secrets")
    repo = "user/tmp_test_space"
    async with client_for(replay) as client:
        with pytest.raises(errors.ConflictError) as info:
            await client.create_repo(repo, repo_type="space", space_sdk="gradio", private=True)
        await client.add_space_secret(repo, "foo", "123")
        await client.add_space_secret(repo, "token", "hf_api_123456")
        await client.add_space_secret(repo, "gh_api_key", "******")
        await client.add_space_secret(repo, "bar", "123", description="This is a secret")
        await client.add_space_secret(repo, "foo", "456")
        await client.add_space_secret(repo, "foo", "789", description="This is a secret")
        await client.add_space_secret(repo, "bar", "456", description="This is another secret")
        await client.delete_space_secret(repo, "gh_api_key")
        await client.delete_space_secret(repo, "missing_key")
    err = info.value
    assert err.status == 409
    assert err.existing_url == "https://huggingface.co/spaces/user/tmp_test_space"
    assert err.server_message == "You already created this space repo"
    assert err.request_id is not None
    assert err.request_id.startswith("Root=1-67cae56b")
    sent = [body for method, url, body in replay.sent if url.endswith("/secrets")]
    recorded = list(replay.recorded_body("POST", "/secrets")) + list(
        replay.recorded_body("DELETE", "/secrets")
    )
    assert sent == recorded


@pytest.mark.anyio
async def test_recorded_409_with_exist_ok_returns_the_existing_url() -> None:
    """`exist_ok=True` turns the recorded 409 into the existing repo's RepoUrl."""
    replay = Replay("test_manage_secrets")
    async with client_for(replay) as client:
        url = await client.create_repo(
            "user/tmp_test_space", repo_type="space", space_sdk="gradio", private=True, exist_ok=True
        )
    assert url == "https://huggingface.co/spaces/user/tmp_test_space"
    assert url.repo_id == "user/tmp_test_space"
