"""`aiospaces demo` in-process: the fleet workflow against its embedded Hub, on asyncio and trio."""

from __future__ import annotations

import io
import json
import re

import httpx2
import pytest

from aiospaces.cli import ExitCode, run
from aiospaces.cli._demo import SHARED, CountingTransport

pytestmark = pytest.mark.anyio


async def test_demo_json_events_tell_the_whole_story() -> None:
    """The demo exits 0; its JSON events show every step, the Spaces' transitions and a summary per Space."""
    out, err = io.StringIO(), io.StringIO()
    code = await run(["demo", "--json", "--spaces", "3", "--speed", "100"], stdout=out, stderr=err)
    assert code == ExitCode.OK, err.getvalue()
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    steps = [e["name"] for e in events if e["event"] == "step"]
    assert steps == ["create", "upload", "settings", "hardware", "temporary", "pause"]
    seen: set[str] = set()
    for repo_id in events[0]["spaces"]:
        stages = [e["stage"] for e in events if e["event"] == "change" and e["repo_id"] == repo_id]
        assert "RUNNING" in stages
        assert stages[-1] == "PAUSED"
        seen.update(stages)
    # Short stages may fall between two polls of one Space on a busy machine, but not for every Space.
    assert {"BUILDING", "RUNNING_BUILDING"} <= seen
    hardware = [e["hardware"] for e in events if e["event"] == "change"]
    assert "t4-medium" in hardware
    assert "a10g-large" in hardware  # the temporary_hardware block ran there
    summaries = {e["repo_id"]: e for e in events if e["event"] == "summary"}
    assert set(summaries) == set(events[0]["spaces"])
    assert all(s["requested_hardware"] == "t4-medium" and s["stage"] == "PAUSED" for s in summaries.values())
    requests = next(e for e in events if e["event"] == "requests")
    # Every request the client sent reached the simulator, and none went uncounted per Space or shared.
    assert requests["client_total"] == requests["hub_total"]
    assert requests["client_total"] == sum(s["requests"] for s in summaries.values()) + requests["shared"]
    assert "hf_demo_" not in out.getvalue() + err.getvalue()  # the demo token is never printed


async def test_demo_rich_output_renders_live_table_and_summary() -> None:
    """On a terminal (forced rich mode) the demo draws its live table and the summary table."""
    out, err = io.StringIO(), io.StringIO()
    code = await run(["demo", "--spaces", "2", "--speed", "200"], stdout=out, stderr=err, fancy=True)
    assert code == ExitCode.OK, err.getvalue()
    text = out.getvalue()
    assert "Spaces (live)" in text
    assert "Summary" in text
    assert re.search(r"demo-user/demo-space-01\s*│\s*PAUSED", text)


async def test_counting_transport_attributes_requests_to_spaces() -> None:
    """Requests are counted per Space from the URL or the create body; list pages count as shared."""

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={})

    counting = CountingTransport(httpx2.MockTransport(answer))
    async with httpx2.AsyncClient(transport=counting, base_url="http://127.0.0.1") as client:
        await client.get("/api/spaces/demo-user/a/runtime")
        await client.post("/api/spaces/demo-user/a/secrets", json={"key": "K", "value": "v"})
        await client.post("/api/repos/create", json={"name": "b", "type": "space"})
        await client.post("/api/repos/create", json={"name": "c", "organization": "org", "type": "space"})
        await client.get("/api/spaces", params={"author": "demo-user"})
    assert counting.per_space == {"demo-user/a": 2, "demo-user/b": 1, "org/c": 1, SHARED: 1}
