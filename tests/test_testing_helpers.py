"""`aiospaces.testing`'s simulated hub + client pair and its pytest fixtures, as users' tests use them."""

from __future__ import annotations

import pytest

from aiospaces import SpacesClient, testing
from aiospaces.hubsim import SimulatedHub
from aiospaces.testing import SimulatedHubClient, VirtualClock, fast_retry

# Users get the fixtures with `pytest_plugins = ["aiospaces.testing"]` in their root conftest.py; here (not a
# root conftest) they are bound into this module, which pytest treats the same way.
virtual_clock = testing.virtual_clock
simulated_hub = testing.simulated_hub
spaces_client = testing.spaces_client
pytestmark = pytest.mark.anyio


async def test_simulated_hub_client_runs_a_build_in_virtual_time() -> None:
    """The pair shares one virtual clock: a 10-minute build is waited for without real sleeping."""
    async with SimulatedHubClient() as env:
        assert isinstance(env.clock, VirtualClock)
        env.hub.set_durations(build=600.0, start=30.0)
        env.hub.create_space("alice/demo", stage=None)
        runtime = await env.client.wait_until_running("alice/demo", timeout=3600)
        assert str(runtime.stage) == "RUNNING"
        assert 630.0 <= env.clock.now() <= 700.0
        assert env.token not in repr(env.client)


async def test_simulated_hub_client_retries_fast_through_faults() -> None:
    """Injected 5xx answers are retried (with millisecond waits) and the call succeeds."""
    async with SimulatedHubClient(seed=1) as env:
        env.hub.create_space("alice/demo")
        fault = env.hub.add_fault("error", route="GET /api/spaces/{id}/runtime", status=503, count=3)
        runtime = await env.client.get_space_runtime("alice/demo")
        assert str(runtime.stage) == "RUNNING"
        assert fault.injected == 3
        assert env.clock.now() < 1.0
        assert fast_retry().max_attempts > 3


async def test_simulated_hub_client_accepts_client_arguments() -> None:
    """Extra keyword arguments reach the SpacesClient, and another user can be named."""
    async with SimulatedHubClient(user="bob", token="hf_test_bob", max_concurrency=4) as env:
        assert env.client.max_concurrency == 4
        env.hub.create_space("bob/demo")
        info = await env.client.space_info("bob/demo")
        assert info.id == "bob/demo"


async def test_fixtures_are_wired_together(
    spaces_client: SpacesClient, simulated_hub: SimulatedHub, virtual_clock: VirtualClock
) -> None:
    """The fixtures give a client talking to the simulated hub on the shared virtual clock."""
    simulated_hub.create_space("alice/demo", stage=None)
    assert simulated_hub.now() == virtual_clock.now() == 0.0
    runtime = await spaces_client.wait_until_running("alice/demo", timeout=600)
    assert str(runtime.stage) == "RUNNING"
    assert virtual_clock.now() > 0.0
    assert simulated_hub.now() == virtual_clock.now()
