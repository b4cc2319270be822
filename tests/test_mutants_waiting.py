"""Waits and the temporary-hardware block pushed past the cases the other tests cover, each from the caller's
side (an error's fields, what the Hub was asked, what was logged at WARNING) on the simulated Hub in virtual
time."""

from __future__ import annotations

import logging

import anyio
import httpx2
import pytest
import trio
import trio.testing

from aiospaces import RetryPolicy, SpacesClient
from aiospaces.errors import HardwareRestoreError, HubHTTPError
from aiospaces.hubsim import SimulatedHub
from aiospaces.testing import SimulatedHubClient, VirtualClock

SPACE = "alice/gpu"
TOKEN = "hf_test_alice"


# --- temporary hardware ------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_clean_restore_of_the_sleep_time_logs_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    """A block with `sleep_time` that puts the flavor and the sleep time back without trouble logs nothing at
    WARNING or above: a warning there would be a false alarm about a Space left as the user did not want."""
    async with SimulatedHubClient() as env:
        env.hub.create_space(SPACE, hardware="cpu-upgrade", sleep_time=3600)
        with caplog.at_level(logging.WARNING, logger="aiospaces"):
            async with env.client.temporary_hardware(SPACE, "t4-small", sleep_time=600, timeout=600):
                assert env.hub.space_runtime(SPACE)["gcTimeout"] == 600
        assert env.hub.space_runtime(SPACE)["hardware"]["requested"] == "cpu-upgrade"
        assert env.hub.space_runtime(SPACE)["gcTimeout"] == 3600
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


class FrozenClock:
    """A client clock that never advances (its sleeps never end): only real-time bounds can end a wait."""

    def now(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep_forever()


class RefusedThenSilent(httpx2.AsyncBaseTransport):
    """The first runtime read is answered; the entry's hardware request gets a 500; after that every request
    is answered only after `silence` seconds of real time."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, silence: float) -> None:
        self.inner = inner
        self.silence = silence
        self.requests = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests += 1
        if self.requests == 1:
            return await self.inner.handle_async_request(request)
        if self.requests == 2:
            return httpx2.Response(500, json={"error": "boom"}, request=request)
        await anyio.sleep(self.silence)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_the_restore_and_the_billed_read_are_bounded_in_real_time_when_the_clock_stands_still() -> None:
    """With a client clock that stands still and a Hub that answers only after a day, the restore gives up
    after its real-time bound (330 s) and the billed read after its own (10 s): the block raises
    HardwareRestoreError presuming its flavor billed, within minutes of (mock) real time, not a day."""
    silence = 86_400.0

    async def main() -> tuple[HardwareRestoreError, float]:
        hub = SimulatedHub(clock=VirtualClock(), seed=0)
        hub.add_user("alice", token=TOKEN)
        hub.create_space(SPACE)
        transport = RefusedThenSilent(hub.transport(), silence)
        start = trio.current_time()
        async with SpacesClient(
            token=TOKEN,
            endpoint="https://hub.test",
            transport=transport,
            clock=FrozenClock(),
            retry=RetryPolicy(max_attempts=1),
            timeout=None,
        ) as client:
            with pytest.raises(HardwareRestoreError) as caught:
                async with client.temporary_hardware(SPACE, "t4-medium", timeout=600):
                    pytest.fail("the block must not run")
            return caught.value, trio.current_time() - start

    error, elapsed = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert isinstance(error.__context__, HubHTTPError)  # the entry's own failure, restored after
    assert (error.billed_hardware, error.restore_to) == ("t4-medium", "cpu-basic")
    assert elapsed <= 330.0 + 10.0 + 1.0
