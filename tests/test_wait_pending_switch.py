"""Waits that start after someone else requested hardware (another client, another process, a CI step before
this one): RUNNING on the old flavor while the runtime shows another one requested is not running yet, and a
wait that times out says what it saw last, the pending flavor and the Hub's reason included."""

from __future__ import annotations

import pytest

from aiospaces import SpaceRuntime, SpacesClient
from aiospaces._poll import describe_last, running_verdict, switch_pending
from aiospaces.cli._exit import ExitCode, classify
from aiospaces.errors import WaitTimeoutError
from aiospaces.testing import SimulatedHubClient, fast_retry

pytestmark = pytest.mark.anyio

CAPACITY = "not enough hardware capacity for a100-large"


def _runtime(
    stage: str, current: str | None, requested: str | None, message: str | None = None
) -> SpaceRuntime:
    raw: dict[str, object] = {"stage": stage, "hardware": {"current": current, "requested": requested}}
    if message is not None:
        raw["errorMessage"] = message
    return SpaceRuntime.from_dict(raw)


def _another_client(env: SimulatedHubClient) -> SpacesClient:
    """A second client of the same user on the same Hub and clock, which knows nothing of the first's actions
    (as another process would)."""
    return SpacesClient(
        token=env.token,
        endpoint="https://hub.test",
        transport=env.hub.transport(),
        clock=env.clock,
        retry=fast_retry(),
    )


def test_running_with_another_flavor_requested_is_still_waiting() -> None:
    """RUNNING counts as running when no switch is pending (the same flavor, nothing requested, or no current
    flavor reported); with another flavor requested than the one running it is waiting, whoever asked."""
    assert running_verdict(_runtime("RUNNING", "cpu-basic", "cpu-basic")) == "running"
    assert running_verdict(_runtime("RUNNING", "cpu-basic", None)) == "running"
    assert running_verdict(_runtime("RUNNING", None, "cpu-basic")) == "running"
    assert running_verdict(_runtime("RUNNING", "cpu-basic", "a100-large")) == "waiting"
    # This client's own request names the flavor that must run; the runtime's own then does not matter.
    assert running_verdict(_runtime("RUNNING", "t4-small", "a100-large"), target="t4-small") == "running"
    assert not switch_pending(_runtime("BUILDING", None, "cpu-basic"))
    assert switch_pending(_runtime("RUNNING_BUILDING", "cpu-basic", "t4-small"))


def test_the_last_runtime_is_described_with_a_pending_switch_and_the_hubs_reason() -> None:
    """A wait's description of the last runtime gives the stage, the flavor running, the flavor requested
    when a switch is pending, and the Hub's `errorMessage`; only the stage when nothing else is known."""
    pending = _runtime("RUNNING", "cpu-basic", "a100-large", CAPACITY)
    assert describe_last(pending) == (
        f"last stage RUNNING, hardware cpu-basic, a100-large requested; the Hub says: {CAPACITY}"
    )
    building = _runtime("BUILDING", None, "cpu-basic")
    assert describe_last(building) == "last stage BUILDING"
    settled = _runtime("RUNNING", "t4-small", "t4-small")
    assert describe_last(settled) == "last stage RUNNING, hardware t4-small"


async def test_a_second_clients_wait_until_running_waits_for_the_hardware_someone_else_requested() -> None:
    """After one client requests t4-small, another client's `wait_until_running` (which knows nothing of the
    request) returns only once t4-small runs, not on the old flavor still RUNNING meanwhile."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/gpu")
        env.hub.set_durations("alice/gpu", hardware_switch=60.0)
        await env.client.request_space_hardware("alice/gpu", "t4-small")
        async with _another_client(env) as other:
            runtime = await other.wait_until_running("alice/gpu", timeout=600)
        assert (str(runtime.stage), runtime.hardware) == ("RUNNING", "t4-small")
        assert env.clock.now() >= 60.0


async def test_a_wait_for_hardware_that_cannot_be_scheduled_names_the_flavor_and_the_hubs_reason() -> None:
    """When the Hub cannot schedule the requested flavor, `wait_for_hardware` and another client's
    `wait_until_running` time out naming the flavor waited for and the Hub's `errorMessage`, and the CLI's
    line says the same."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/gpu")
        env.hub.add_fault("unscheduled_hardware", seconds=3600, message=CAPACITY)
        await env.client.request_space_hardware("alice/gpu", "a100-large")
        with pytest.raises(WaitTimeoutError) as waited:
            await env.client.wait_for_hardware("alice/gpu", timeout=60)
        assert str(waited.value) == (
            "alice/gpu: a100-large running not reached within 60 s (last stage RUNNING, hardware cpu-basic, "
            f"a100-large requested; the Hub says: {CAPACITY})"
        )
        async with _another_client(env) as other:
            with pytest.raises(WaitTimeoutError) as running:
                await other.wait_until_running("alice/gpu", timeout=60)
        assert running.value.last_seen == waited.value.last_seen
        assert classify(running.value) == (
            ExitCode.TIMEOUT,
            f"alice/gpu not ready after 60s ({waited.value.last_seen}); raise --timeout",
        )
