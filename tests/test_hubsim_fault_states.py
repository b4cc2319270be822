"""Simulator faults that produce the Hub states a client defends against: a hardware request waiting for a
machine, downloads whose bytes do not match their sha256, warning headers echoing the token, 429 storms."""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import AsyncIterator

import httpx2
import pytest

from aiospaces.hubsim import SimulatedHub

ALICE = {"authorization": "Bearer hf_alice"}
RUNTIME = "GET /api/spaces/{id}/runtime"
HARDWARE = "/api/spaces/alice/demo/hardware"
CAPACITY = "not enough hardware capacity"
DATA = random.Random(3).randbytes(4096)  # binary: stored through LFS
BIG = random.Random(4).randbytes(3 * 1024 * 1024 + 5)  # above the size the hub streams in chunks


@pytest.fixture
def hub() -> SimulatedHub:
    hub = SimulatedHub(clock="manual", seed=7)
    hub.add_user("alice", token="hf_alice")
    hub.create_space("alice/demo")
    hub.set_durations(hardware_switch=60)
    hub.create_repo("alice/weights", files={"notes.txt": "hello\n"})
    hub.git.commit(
        ("model", "alice/weights"),
        additions={"model.bin": DATA, "big.bin": BIG},
        lfs_paths=["model.bin", "big.bin"],
        message="weights",
        author="alice",
    )
    return hub


@pytest.fixture
async def client(hub: SimulatedHub) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=hub.transport(), base_url="http://hub.test", headers=ALICE) as c:
        yield c


async def _runtime(client: httpx2.AsyncClient) -> dict[str, object]:
    r = await client.get("/api/spaces/alice/demo/runtime")
    assert r.status_code == 200
    body: dict[str, object] = r.json()
    return body


def _view(runtime: dict[str, object]) -> tuple[object, object, object, object]:
    hardware = runtime["hardware"]
    assert isinstance(hardware, dict)
    return runtime["stage"], hardware["current"], hardware["requested"], runtime.get("errorMessage")


# ------------------------------------------------------------------------------------ unscheduled hardware
@pytest.mark.anyio
async def test_unscheduled_hardware_keeps_the_old_flavor_running_for_its_seconds(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """Under `unscheduled_hardware`, a hardware request leaves the Space RUNNING on the old flavor with the
    new one requested and the scheduling message, for the fault's seconds; then the switch runs as usual."""
    fault = hub.add_fault("unscheduled_hardware", seconds=300, message=CAPACITY)
    r = await client.post(HARDWARE, json={"flavor": "t4-medium"})
    assert r.status_code == 200
    assert _view(r.json()) == ("RUNNING", "cpu-basic", "t4-medium", CAPACITY)
    hub.advance(299)
    assert _view(await _runtime(client)) == ("RUNNING", "cpu-basic", "t4-medium", CAPACITY)
    hub.advance(2)
    assert _view(await _runtime(client)) == ("RUNNING_BUILDING", "cpu-basic", "t4-medium", None)
    hub.advance(60)
    assert _view(await _runtime(client)) == ("RUNNING", "t4-medium", "t4-medium", None)
    assert fault.injected == 1
    assert hub.counters.faults["unscheduled_hardware"] == 1


@pytest.mark.anyio
async def test_unscheduled_hardware_for_good_never_switches(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """With infinite seconds and no message the request never gets a machine: RUNNING on the old flavor,
    no `errorMessage`, however long one waits; the fault does not fire on other routes."""
    fault = hub.add_fault("unscheduled_hardware", seconds=math.inf, count=1)
    await _runtime(client)
    assert fault.injected == 0
    await client.post(HARDWARE, json={"flavor": "a10g-small"})
    hub.advance(24 * 3600)
    assert _view(await _runtime(client)) == ("RUNNING", "cpu-basic", "a10g-small", None)
    # Asking for the flavor that still runs cancels the request; a later one is scheduled (count used up).
    await client.post(HARDWARE, json={"flavor": "cpu-basic"})
    assert _view(await _runtime(client)) == ("RUNNING", "cpu-basic", "cpu-basic", None)
    await client.post(HARDWARE, json={"flavor": "a10g-small"})
    assert _view(await _runtime(client))[0] == "RUNNING_BUILDING"
    assert fault.injected == 1


def test_unscheduled_hardware_arguments_are_checked(hub: SimulatedHub) -> None:
    """Only `unscheduled_hardware` takes infinite seconds, a NaN is refused, and a message must be a str."""
    with pytest.raises(ValueError, match="infinite"):
        hub.add_fault("latency", seconds=math.inf)
    with pytest.raises(ValueError, match="seconds"):
        hub.add_fault("unscheduled_hardware", seconds=math.nan)
    with pytest.raises(TypeError, match="message"):
        hub.add_fault("unscheduled_hardware", message=3)  # type: ignore[arg-type]
    assert hub.faults == []


# ------------------------------------------------------------------------------------- hardware capacity
SCHEDULING = "Scheduling failure: not enough hardware capacity"


@pytest.mark.anyio
async def test_hardware_capacity_makes_a_request_wait_until_a_machine_frees(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """With the only t4-medium machine taken, a request for it keeps the Space RUNNING on cpu-basic with
    the scheduling message for as long as it stays taken; once it frees, the next read starts the switch,
    and the machine is then taken for a third Space."""
    hub.create_space("alice/holder", hardware="t4-medium")
    hub.create_space("alice/third")
    hub.set_hardware_capacity("t4-medium", 1)
    r = await client.post(HARDWARE, json={"flavor": "t4-medium"})
    assert _view(r.json()) == ("RUNNING", "cpu-basic", "t4-medium", SCHEDULING)
    hub.advance(3600)
    assert _view(await _runtime(client)) == ("RUNNING", "cpu-basic", "t4-medium", SCHEDULING)
    assert (await client.post("/api/spaces/alice/holder/pause")).status_code == 200
    assert _view(await _runtime(client)) == ("RUNNING_BUILDING", "cpu-basic", "t4-medium", None)
    hub.advance(60)
    assert _view(await _runtime(client)) == ("RUNNING", "t4-medium", "t4-medium", None)
    assert hub.counters.actions["scheduled"] == 1
    third = await client.post("/api/spaces/alice/third/hardware", json={"flavor": "t4-medium"})
    assert _view(third.json()) == ("RUNNING", "cpu-basic", "t4-medium", SCHEDULING)


@pytest.mark.anyio
async def test_hardware_capacity_limits_only_its_flavor_and_can_be_lifted(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """A flavor with a free machine, or without a limit, switches at once; lifting the limit lets a waiting
    request through at its next read."""
    hub.set_hardware_capacity("t4-small", 1)
    hub.set_hardware_capacity("a10g-small", 0)
    hub.create_space("alice/other")
    r = await client.post("/api/spaces/alice/other/hardware", json={"flavor": "t4-small"})
    assert _view(r.json())[0] == "RUNNING_BUILDING"
    r = await client.post(HARDWARE, json={"flavor": "a10g-small"})
    assert _view(r.json()) == ("RUNNING", "cpu-basic", "a10g-small", SCHEDULING)
    hub.set_hardware_capacity("a10g-small", None)
    assert _view(await _runtime(client)) == ("RUNNING_BUILDING", "cpu-basic", "a10g-small", None)


def test_hardware_capacity_arguments_are_checked(hub: SimulatedHub) -> None:
    """set_hardware_capacity refuses unknown flavors and negative or non-int machine counts."""
    with pytest.raises(ValueError, match="flavor"):
        hub.set_hardware_capacity("h1000-huge", 1)
    for machines in (-1, 1.5, True):
        with pytest.raises(ValueError, match="machines"):
            hub.set_hardware_capacity("t4-small", machines)  # type: ignore[arg-type]
    assert hub.hardware_capacity == {}


# ------------------------------------------------------------------------------------------ corrupt bodies
@pytest.mark.anyio
@pytest.mark.parametrize("name", ["model.bin", "big.bin"])
async def test_corrupt_body_keeps_headers_and_size_but_not_the_sha256(
    client: httpx2.AsyncClient, hub: SimulatedHub, name: str
) -> None:
    """A `corrupt_body` download has the file's size and `X-Linked-Etag` but bytes whose sha256 is not it
    (buffered and streamed bodies alike); HEAD and API reads are untouched; clearing it heals downloads."""
    data = DATA if name == "model.bin" else BIG
    fault = hub.add_fault("corrupt_body")
    head = await client.head(f"/alice/weights/resolve/main/{name}")
    api = await client.get("/api/models/alice/weights")
    assert (head.status_code, api.status_code, fault.injected) == (200, 200, 0)
    r = await client.get(f"/alice/weights/resolve/main/{name}")
    assert r.status_code == 200
    assert len(r.content) == len(data) == int(r.headers["content-length"])
    linked = r.headers["x-linked-etag"].strip('"')
    assert linked == hashlib.sha256(data).hexdigest()
    assert hashlib.sha256(r.content).hexdigest() != linked
    assert fault.injected == 1
    hub.clear_faults()
    assert (await client.get(f"/alice/weights/resolve/main/{name}")).content == data


@pytest.mark.anyio
async def test_corrupt_body_applies_to_ranges_and_plain_files(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """A ranged read and a small non-LFS file are corrupted too, each with its size and `ETag` intact."""
    hub.add_fault("corrupt_body")
    part = await client.get("/alice/weights/resolve/main/model.bin", headers={"range": "bytes=10-99"})
    assert part.status_code == 206
    assert len(part.content) == 90
    assert part.content != DATA[10:100]
    text = await client.get("/alice/weights/resolve/main/notes.txt")
    assert len(text.content) == len(b"hello\n")
    assert text.content != b"hello\n"
    hub.clear_faults()
    assert (await client.get("/alice/weights/resolve/main/notes.txt")).headers["etag"] == text.headers["etag"]


# ----------------------------------------------------------------------------------------- warning headers
@pytest.mark.anyio
async def test_warning_fault_echoes_the_token_and_path(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """A `warning` fault adds one `X-HF-Warning` per fault, with `{token}` and `{path}` filled from the
    request (the default names the token under a topic), on its route only."""
    hub.add_fault("warning", route=RUNTIME)
    hub.add_fault("warning", route=RUNTIME, message="{path} used the legacy token {token}")
    r = await client.get("/api/spaces/alice/demo/runtime")
    assert r.headers.get_list("x-hf-warning") == [
        "token; the token hf_alice is deprecated, use a fine-grained token",
        "/api/spaces/alice/demo/runtime used the legacy token hf_alice",
    ]
    assert "x-hf-warning" not in (await client.get("/api/whoami-v2")).headers
    assert hub.counters.faults["warning"] == 2


def test_warning_message_must_not_be_empty(hub: SimulatedHub) -> None:
    """An empty warning text is refused."""
    with pytest.raises(ValueError, match="message"):
        hub.add_fault("warning", message="")


# ------------------------------------------------------------------------------------------------- storms
@pytest.mark.anyio
async def test_rate_limited_storm_answers_count_429s_with_retry_after(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """A `rate_limited` storm answers N consecutive 429s with `Retry-After` = its seconds and the matching
    `RateLimit` header, applies none of the requests, then lets them through."""
    hub.add_fault("rate_limited", route="POST /api/spaces/{id}/pause", count=5, seconds=4.5)
    for _ in range(5):
        r = await client.post("/api/spaces/alice/demo/pause")
        assert r.status_code == 429
        assert r.headers["retry-after"] == "5"
        assert r.headers.get_list("ratelimit") == ['"api";r=0;t=5']
        assert "rate limit" in r.json()["error"]
        assert hub.space_stage("alice/demo") == "RUNNING"
    assert (await client.post("/api/spaces/alice/demo/pause")).status_code == 200
    assert hub.counters.rate_limited == 5
    assert hub.counters.statuses[429] == 5


@pytest.mark.anyio
async def test_endless_rate_limited_storm_on_downloads_names_the_resolvers_bucket(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """Without a count the storm never ends, and on downloads its 429 names the `resolvers` bucket."""
    hub.add_fault("rate_limited", route="GET */resolve/*", seconds=30)
    for _ in range(20):
        r = await client.get("/alice/weights/resolve/main/model.bin")
        assert (r.status_code, r.headers["retry-after"]) == (429, "30")
    assert r.headers["ratelimit"] == '"resolvers";r=0;t=30'
    assert (await client.get("/api/spaces/alice/demo/runtime")).status_code == 200
