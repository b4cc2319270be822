"""The simulated Hub's build log for Spaces it did not build step by step: a Space created running shows the
log of the build that made it run, and a hardware change rebuilds the Space with a build log of its own, read
through `SpacesClient.fetch_space_logs(..., build=True)` and `aiospaces logs --build`, in virtual time."""

from __future__ import annotations

import pytest

from aiospaces import SpacesClient
from aiospaces.hubsim import SimulatedHub
from aiospaces.models import SpaceStage
from aiospaces.testing import VirtualClock
from tests._cli_support import run_cli

pytestmark = pytest.mark.anyio

TOKEN = "hf_alice_token"
QUEUED = "===== Build Queued at "


def make_hub() -> tuple[SimulatedHub, VirtualClock]:
    clock = VirtualClock(start=1000.0)
    hub = SimulatedHub(clock=clock)
    hub.add_user("alice", token=TOKEN)
    return hub, clock


def client_for(hub: SimulatedHub, clock: VirtualClock) -> SpacesClient:
    return SpacesClient(token=TOKEN, endpoint="https://hub.local", transport=hub.transport(), clock=clock)


async def build_log(client: SpacesClient, repo_id: str, *, follow: bool = False) -> list[str]:
    return [line async for line in client.fetch_space_logs(repo_id, build=True, follow=follow)]


def head(hub: SimulatedHub, repo_id: str) -> str:
    sha = hub.git.head(("space", repo_id))
    assert sha is not None
    return sha


async def test_a_space_created_running_has_the_build_log_a_build_of_its_files_writes() -> None:
    """A Space created RUNNING shows a build log, stamped before its creation, with the lines a restart's
    build of the same files writes (only the header's queued time differs)."""
    hub, clock = make_hub()
    hub.create_space("alice/app")
    created = hub.now()
    async with client_for(hub, clock) as client:
        seeded = await build_log(client, "alice/app")
        assert seeded[0].startswith(QUEUED)
        assert f"/ Commit SHA: {head(hub, 'alice/app')[:7]} =====" in seeded[0]
        assert all(t < created for t, _ in hub.space_state("alice/app").build_log)
        await client.restart_space("alice/app")
        assert (await client.wait_for_space("alice/app", timeout=600)).stage is SpaceStage.RUNNING
        rebuilt = await build_log(client, "alice/app")
    assert rebuilt[0].startswith(QUEUED)
    assert rebuilt[0] != seeded[0]
    assert rebuilt[1:] == seeded[1:]
    assert any("pip install --no-cache-dir gradio" in line for line in seeded)


@pytest.mark.parametrize("sdk", ["streamlit", "docker"])
async def test_every_app_sdk_created_running_has_its_build_log(sdk: str) -> None:
    """A streamlit or docker Space created RUNNING shows the build log of its SDK's build."""
    hub, clock = make_hub()
    hub.create_space("alice/app", sdk=sdk)
    async with client_for(hub, clock) as client:
        lines = await build_log(client, "alice/app")
    assert lines[0].startswith(QUEUED)
    step = "--> Building Dockerfile" if sdk == "docker" else "pip install --no-cache-dir streamlit"
    assert any(step in line for line in lines)


async def test_a_static_space_created_running_has_no_build_log() -> None:
    """A static Space is served as is, without a build, so its build log stays empty."""
    hub, clock = make_hub()
    hub.create_space("alice/site", sdk="static")
    async with client_for(hub, clock) as client:
        assert await build_log(client, "alice/site") == []


async def test_a_space_created_running_with_files_that_would_not_build_shows_no_failed_build() -> None:
    """A Space seeded RUNNING whose files would fail to build shows no build error next to its running app,
    and a hardware change keeps that (empty) log; a restart then shows the failing build."""
    hub, clock = make_hub()
    hub.create_space("alice/app", files={"app.py": "print(1)\n", "requirements.txt": "torch==>1\n"})
    async with client_for(hub, clock) as client:
        assert await build_log(client, "alice/app") == []
        await client.request_space_hardware("alice/app", "t4-small")
        assert (await client.wait_for_hardware("alice/app", "t4-small", timeout=600)).hardware == "t4-small"
        assert await build_log(client, "alice/app") == []
        await client.restart_space("alice/app")
        await client.wait_for_space("alice/app", timeout=600)
        assert any("torch==>1" in line for line in await build_log(client, "alice/app"))


async def test_a_hardware_switch_replaces_the_build_log_with_its_rebuild() -> None:
    """A hardware change rebuilds the Space: while the old hardware serves, the build log is the rebuild's,
    streamed as it goes and ending with the switch; afterwards it holds that build only, like a restart's."""
    # The Hub's word on this is not recorded: its build log route serves one build's log (one header, one
    # commit), so the rebuild's lines replace the previous build's rather than follow them.
    hub, clock = make_hub()
    hub.create_space("alice/app")
    async with client_for(hub, clock) as client:
        before = await build_log(client, "alice/app")
        requested = await client.request_space_hardware("alice/app", "t4-small")
        assert requested.stage is SpaceStage.RUNNING_BUILDING
        assert requested.hardware == "cpu-basic"
        switch_started = hub.now()
        followed = await build_log(client, "alice/app", follow=True)
        runtime = await client.get_space_runtime("alice/app")
        assert (runtime.stage, runtime.hardware) == (SpaceStage.RUNNING, "t4-small")
        after = await build_log(client, "alice/app")
    assert followed == after
    assert after[0].startswith(QUEUED + hub.wall_at(switch_started))
    assert after[1:] == before[1:]
    stamps = [t for t, _ in hub.space_state("alice/app").build_log]
    assert stamps[0] == switch_started
    assert stamps[-1] > switch_started  # the lines came in during the switch, not all at once


async def test_each_hardware_switch_writes_its_own_build_log() -> None:
    """Switching back to the old hardware rebuilds again: the build log is then that newest build's."""
    hub, clock = make_hub()
    hub.create_space("alice/app")
    async with client_for(hub, clock) as client:
        headers = []
        for flavor in ("t4-small", "cpu-basic"):
            await client.request_space_hardware("alice/app", flavor)
            await client.wait_for_hardware("alice/app", flavor, timeout=600)
            lines = await build_log(client, "alice/app")
            headers.append(lines[0])
            assert sum(line.startswith("===== Build Queued") for line in lines) == 1
    assert headers[0] != headers[1]


async def test_an_unscheduled_hardware_request_keeps_the_old_build_log_until_the_rebuild_starts() -> None:
    """While no machine takes the new hardware the old build log stays; the rebuild writes its own log when
    the scheduler starts it."""
    hub, clock = make_hub()
    hub.create_space("alice/app")
    hub.add_fault("unscheduled_hardware", seconds=600, message="not enough hardware capacity")
    async with client_for(hub, clock) as client:
        before = await build_log(client, "alice/app")
        requested = await client.request_space_hardware("alice/app", "a10g-small")
        asked_at = hub.now()
        assert requested.stage is SpaceStage.RUNNING
        assert await build_log(client, "alice/app") == before
        switched = await client.wait_for_hardware("alice/app", "a10g-small", timeout=3600)
        assert switched.hardware == "a10g-small"
        after = await build_log(client, "alice/app")
    assert after[0].startswith(QUEUED + hub.wall_at(asked_at + 600))
    assert after[1:] == before[1:]


async def test_a_switch_waiting_for_a_free_machine_writes_its_build_log_when_scheduled() -> None:
    """Under a modelled capacity, the waiting Space's rebuild (and its build log) starts when a machine
    frees, not when it asked."""
    hub, clock = make_hub()
    hub.set_hardware_capacity("t4-small", 1)
    hub.create_space("alice/holder", hardware="t4-small")
    hub.create_space("alice/app")
    async with client_for(hub, clock) as client:
        before = await build_log(client, "alice/app")
        await client.request_space_hardware("alice/app", "t4-small")
        assert await build_log(client, "alice/app") == before
        await clock.sleep(300)
        await client.pause_space("alice/holder")
        freed_at = hub.now()
        switched = await client.wait_for_hardware("alice/app", "t4-small", timeout=3600)
        assert switched.hardware == "t4-small"
        after = await build_log(client, "alice/app")
    assert after[0].startswith(QUEUED + hub.wall_at(freed_at))
    assert after[1:] == before[1:]


async def test_cli_logs_build_prints_the_rebuild_after_a_hardware_switch() -> None:
    """`aiospaces logs ID --build` after a hardware switch prints the rebuild's log, header first."""
    hub, clock = make_hub()
    hub.create_space("alice/app")
    async with client_for(hub, clock) as client:
        await client.request_space_hardware("alice/app", "t4-small")
        switch_started = hub.now()
        await client.wait_for_hardware("alice/app", "t4-small", timeout=600)
    result = await run_cli(hub, clock, TOKEN, "logs", "alice/app", "--build")
    assert result.code == 0
    printed = result.out.splitlines()
    assert printed[0].startswith(QUEUED + hub.wall_at(switch_started))
    assert "--> Pushing image" in printed
