"""The client against the simulated Hub, in process and in virtual time: the seed guide's whole flow, the
concurrency bound, rate-limit pacing under a small quota, and a fleet operation under injected faults."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from aiospaces import SpacesClient, errors
from aiospaces.hubsim._hub import SimulatedHub
from aiospaces.models import SpaceStage
from aiospaces.testing import VirtualClock

TOKEN = "hf_alice_token"
ENDPOINT = "https://hub.local"


def make_hub(**kwargs: object) -> tuple[SimulatedHub, VirtualClock]:
    clock = VirtualClock()
    hub = SimulatedHub(clock=clock, **kwargs)  # type: ignore[arg-type]
    hub.add_user("alice", token=TOKEN)
    return hub, clock


def client_for(hub: SimulatedHub, clock: VirtualClock, **kwargs: object) -> SpacesClient:
    return SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=hub.transport(), clock=clock, **kwargs)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_seed_flow(tmp_path: Path) -> None:
    """The seed guide end to end: create, upload, duplicate, secrets/variables, hardware, sleep,
    pause/restart,
    wait, logs, storage, download/upload a tasks file, list, delete — every answer parsed into models."""
    hub, clock = make_hub()
    hub.create_repo("alice/tasks", repo_type="dataset", files={"tasks.csv": "id,done\n1,no\n"})
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.py").write_text("import gradio as gr\n\ngr.Interface(lambda x: x, 'text', 'text').launch()\n")
    (src / "requirements.txt").write_text("gradio\n")
    async with client_for(hub, clock) as client:
        me = await client.whoami()
        assert me["name"] == "alice"

        url = await client.create_repo("alice/demo", repo_type="space", space_sdk="gradio")
        assert (url.repo_type, url.repo_id) == ("space", "alice/demo")
        await client.upload_folder(repo_id="alice/demo", repo_type="space", folder_path=src)
        running = await client.wait_until_running("alice/demo", timeout=600)
        assert running.stage is SpaceStage.RUNNING

        copy = await client.duplicate_space("alice/demo", "alice/demo-copy")
        assert copy.repo_id == "alice/demo-copy"

        await client.add_space_secret("alice/demo", "API_KEY", "s3cr3t", description="the key")
        await client.add_space_secret("alice/demo", "OTHER", "x")
        await client.delete_space_secret("alice/demo", "OTHER")
        secrets = await client.get_space_secrets("alice/demo")
        assert list(secrets) == ["API_KEY"]
        assert secrets["API_KEY"].description == "the key"
        variables = await client.add_space_variable("alice/demo", "MODEL", "gpt2")
        assert variables["MODEL"].value == "gpt2"
        assert await client.delete_space_variable("alice/demo", "MODEL") == {}

        configured = await client.create_repo(
            "alice/configured",
            repo_type="space",
            space_sdk="docker",
            space_hardware="cpu-upgrade",
            space_sleep_time=3600,
            space_secrets=[{"key": "S", "value": "v"}],
            space_variables=[{"key": "V", "value": "w", "description": "d"}],
        )
        assert configured.repo_id == "alice/configured"
        assert (await client.get_space_variables("alice/configured"))["V"].description == "d"
        assert list(await client.get_space_secrets("alice/configured")) == ["S"]
        configured_runtime = await client.get_space_runtime("alice/configured")
        assert configured_runtime.requested_hardware == "cpu-upgrade"
        assert configured_runtime.sleep_time == 3600

        requested = await client.request_space_hardware("alice/demo", "t4-medium")
        assert requested.requested_hardware == "t4-medium"
        assert requested.hardware == "cpu-basic"
        switched = await client.wait_for_hardware("alice/demo", "t4-medium", timeout=900)
        assert switched.hardware == "t4-medium"

        slept = await client.set_space_sleep_time("alice/demo", 3600)
        assert slept.sleep_time == 3600
        paused = await client.pause_space("alice/demo")
        assert paused.stage is SpaceStage.PAUSED
        restarted = await client.restart_space("alice/demo")
        assert restarted.stage is SpaceStage.BUILDING
        final = await client.wait_for_space("alice/demo", timeout=900)
        assert final.stage is SpaceStage.RUNNING

        build_log = [line async for line in client.fetch_space_logs("alice/demo", build=True)]
        run_log = [line async for line in client.fetch_space_logs("alice/demo")]
        assert build_log
        assert run_log

        stored = await client.request_space_storage("alice/demo", "small")
        assert stored.storage == "small"
        unstored = await client.delete_space_storage("alice/demo")
        assert unstored.storage is None

        path = await client.hf_hub_download(
            "alice/tasks", "tasks.csv", repo_type="dataset", local_dir=tmp_path / "dl"
        )
        updated = await anyio.Path(path).read_text() + "2,no\n"
        commit = await client.upload_file(
            path_or_fileobj=updated.encode(),
            path_in_repo="tasks.csv",
            repo_id="alice/tasks",
            repo_type="dataset",
        )
        assert commit.oid
        again = await client.hf_hub_download(
            "alice/tasks", "tasks.csv", repo_type="dataset", local_dir=tmp_path / "dl2"
        )
        assert await anyio.Path(again).read_text() == "id,done\n1,no\n2,no\n"

        listed = [s async for s in client.list_spaces(author="alice", expand=["runtime", "sdk"])]
        by_id = {s.id: s for s in listed}
        assert set(by_id) == {"alice/demo", "alice/demo-copy", "alice/configured"}
        demo_runtime = by_id["alice/demo"].runtime
        assert demo_runtime is not None
        assert demo_runtime.requested_hardware == "t4-medium"
        assert by_id["alice/configured"].sdk == "docker"

        hardware = await client.list_spaces_hardware()
        assert "t4-medium" in {h.name for h in hardware}

        for repo_id in ("alice/demo", "alice/demo-copy", "alice/configured"):
            await client.delete_repo(repo_id, repo_type="space")
        with pytest.raises(errors.RepositoryNotFoundError):
            await client.space_info("alice/demo")
    assert hub.counters.unknown_routes == []
    assert hub.counters.server_errors == []


@pytest.mark.anyio
async def test_500_calls_never_exceed_max_concurrency() -> None:
    """500 concurrent calls with max_concurrency=32: the simulator never sees more than 32 in flight."""
    hub, clock = make_hub()
    ids = [f"alice/s{i}" for i in range(500)]
    for repo_id in ids:
        hub.create_space(repo_id)
    # Each answer takes a virtual half second, so calls overlap as much as the client lets them.
    hub.add_fault("latency", seconds=0.5)
    async with client_for(hub, clock, max_concurrency=32) as client, anyio.create_task_group() as tg:
        for repo_id in ids:
            tg.start_soon(client.get_space_runtime, repo_id)
    assert hub.counters.requests["GET /api/spaces/{id}/runtime"] == 500
    assert hub.counters.max_in_flight == 32


@pytest.mark.anyio
async def test_rate_limited_hub_gets_at_most_one_429_per_window() -> None:
    """Limited to 60 requests per 2 s, 400 concurrent calls all succeed with at most one 429 per window."""
    hub, clock = make_hub()
    ids = [f"alice/s{i}" for i in range(400)]
    for repo_id in ids:
        hub.create_space(repo_id)
    hub.set_rate_limit(60, 2.0)
    results: list[object] = []
    start = clock.now()

    async def one(repo_id: str) -> None:
        results.append(await client.get_space_runtime(repo_id))

    async with client_for(hub, clock) as client, anyio.create_task_group() as tg:
        for repo_id in ids:
            tg.start_soon(one, repo_id)
    windows = int((clock.now() - start) // 2.0) + 1
    assert len(results) == 400
    assert windows >= 400 // 60  # the quota really was the bottleneck
    assert hub.counters.rate_limited <= windows
    assert hub.counters.statuses[200] == 400


@pytest.mark.anyio
async def test_fleet_under_faults_reaches_the_desired_state() -> None:
    """With 10% injected 5xx and ~10% dropped connections (half after applying), a 200-Space fleet run ends
    with every Space created once, configured as asked and restarted exactly once."""
    hub, clock = make_hub(seed=1234)
    new_ids = [f"alice/new-{i:03d}" for i in range(200)]
    ids = [f"alice/app-{i:03d}" for i in range(200)]
    for repo_id in ids:
        hub.create_space(repo_id)
    seeded_creates = hub.counters.actions["create_repo"]
    hub.add_fault("error", probability=0.10, status=503)
    hub.add_fault("drop", probability=0.05)
    hub.add_fault("drop", probability=0.05, after=True)
    async with client_for(hub, clock) as client:
        created = await client.fleet(new_ids, concurrency=50).create_repo(space_sdk="gradio")
        fleet = client.fleet(ids, concurrency=50)
        reports = [
            await fleet.add_space_secret("API_KEY", "s3cret"),
            await fleet.add_space_variable("MODE", "prod"),
            await fleet.request_space_hardware("t4-small"),
            await fleet.set_space_sleep_time(3600),
            await fleet.restart_space(),
        ]
    assert created.ok
    for report in reports:
        report.raise_on_failure()
    assert hub.counters.faults["error"] > 0
    assert hub.counters.faults["drop"] > 0
    assert hub.counters.actions["create_repo"] - seeded_creates == 200
    assert all(hub.repo_exists(repo_id) for repo_id in new_ids)
    assert hub.counters.actions["restart"] == 200
    for repo_id in ids:
        state = hub.space_state(repo_id)
        assert state.secrets["API_KEY"].value == "s3cret"
        assert state.variables["MODE"].value == "prod"
        assert state.requested == "t4-small"
        assert state.sleep_time == 3600
    assert hub.counters.server_errors == []
