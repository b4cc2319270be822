"""Fleet operations and reports: bounded concurrency, outcomes in input order, failures isolated, bugs
propagate."""

from __future__ import annotations

import json

import anyio
import httpx2
import pytest

from aiospaces import FleetError, FleetReport, SpacesClient, errors
from aiospaces.testing import VirtualClock

ENDPOINT = "https://hub.test"


def runtime_handler(missing: set[str]) -> httpx2.MockTransport:
    """Answers every runtime/secret call; Spaces in `missing` are 404."""

    async def handler(request: httpx2.Request) -> httpx2.Response:
        parts = request.url.path.split("/")
        repo_id = f"{parts[3]}/{parts[4]}"
        await anyio.lowlevel.checkpoint()
        if repo_id in missing:
            return httpx2.Response(404, headers={"X-Error-Code": "RepoNotFound"}, json={"error": "not found"})
        if request.url.path.endswith("/secrets"):
            return httpx2.Response(200, json={})
        return httpx2.Response(200, json={"stage": "RUNNING", "hardware": {"current": "cpu-basic"}})

    return httpx2.MockTransport(handler)


def client_with(transport: httpx2.AsyncBaseTransport) -> SpacesClient:
    return SpacesClient(token="hf_fleet", endpoint=ENDPOINT, transport=transport, clock=VirtualClock())


@pytest.mark.anyio
async def test_fleet_reports_in_input_order_and_isolates_failures() -> None:
    """Outcomes keep input order; a missing Space fails alone and the others succeed."""
    ids = [f"alice/s{i}" for i in range(20)]
    async with client_with(runtime_handler({"alice/s3", "alice/s17"})) as client:
        report = await client.fleet(ids, concurrency=4).get_space_runtime()
    assert [o.repo_id for o in report] == ids
    assert not report.ok
    assert [o.repo_id for o in report.failed] == ["alice/s3", "alice/s17"]
    assert len(report.succeeded) == 18
    assert isinstance(report["alice/s3"].error, errors.RepositoryNotFoundError)
    assert report["alice/s0"].result is not None
    assert set(report.errors) == {"alice/s3", "alice/s17"}
    assert len(report.results) == 18


@pytest.mark.anyio
async def test_raise_on_failure_raises_an_exception_group_subclass() -> None:
    """raise_on_failure raises FleetError (an ExceptionGroup) holding each failure, and the report."""
    async with client_with(runtime_handler({"alice/b"})) as client:
        report = await client.fleet(["alice/a", "alice/b"]).add_space_secret("K", "v")
    with pytest.raises(FleetError) as info:
        report.raise_on_failure()
    assert isinstance(info.value, ExceptionGroup)
    assert [type(e) for e in info.value.exceptions] == [errors.RepositoryNotFoundError]
    assert info.value.report is report
    assert "alice/b" in str(info.value)


@pytest.mark.anyio
async def test_raise_on_failure_is_silent_when_all_succeeded() -> None:
    """A clean report raises nothing and `.ok` is True."""
    async with client_with(runtime_handler(set())) as client:
        report = await client.fleet(["alice/a", "alice/b"]).pause_space()
    report.raise_on_failure()
    assert report.ok


@pytest.mark.anyio
async def test_fleet_concurrency_bounds_operations() -> None:
    """`concurrency=3` keeps at most 3 operations running at once."""
    running = {"now": 0, "max": 0}

    async def operation(repo_id: str) -> str:
        running["now"] += 1
        running["max"] = max(running["max"], running["now"])
        await anyio.lowlevel.checkpoint()
        await anyio.lowlevel.checkpoint()
        running["now"] -= 1
        return repo_id.upper()

    async with client_with(runtime_handler(set())) as client:
        report = await client.fleet([f"a/s{i}" for i in range(12)], concurrency=3).run(operation)
    assert running["max"] == 3
    assert report.results["a/s5"] == "A/S5"


@pytest.mark.anyio
async def test_a_bug_propagates_and_is_not_recorded() -> None:
    """A non-SpacesError exception in an operation propagates as itself instead of becoming an outcome."""

    async def operation(repo_id: str) -> None:
        await anyio.lowlevel.checkpoint()
        if repo_id == "a/bad":
            raise ZeroDivisionError("bug")

    async with client_with(runtime_handler(set())) as client:
        with pytest.raises(ZeroDivisionError):
            await client.fleet(["a/ok", "a/bad", "a/other"]).run(operation)


def test_fleet_argument_checks() -> None:
    """Bad ids, duplicates, a bare string and non-positive concurrency are refused up front."""
    client = SpacesClient(token=False, endpoint=ENDPOINT)
    with pytest.raises(ValueError, match="concurrency"):
        client.fleet(["a/b"], concurrency=0)
    with pytest.raises(ValueError, match="twice"):
        client.fleet(["a/b", "a/b"])
    with pytest.raises(ValueError, match="repo_ids"):
        client.fleet(["a/b", "nope"])
    with pytest.raises(TypeError, match="repo_ids"):
        client.fleet("a/b")


@pytest.mark.anyio
async def test_fleet_method_arguments_checked_before_any_request() -> None:
    """A bad secret key or sleep time fails the whole fleet call before any request."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={})

    async with client_with(httpx2.MockTransport(handler)) as client:
        fleet = client.fleet(["a/b", "a/c"])
        with pytest.raises(ValueError, match="key"):
            await fleet.add_space_secret("", "v")
        with pytest.raises(ValueError, match="sleep_time"):
            await fleet.set_space_sleep_time(-3)
    assert seen == []


@pytest.mark.anyio
async def test_fleet_sends_the_same_operation_to_every_space() -> None:
    """Each Space receives the same secret body."""
    bodies: dict[str, object] = {}

    def handler(request: httpx2.Request) -> httpx2.Response:
        bodies[request.url.path] = json.loads(request.content)
        return httpx2.Response(200, json={})

    async with client_with(httpx2.MockTransport(handler)) as client:
        report = await client.fleet(["a/b", "a/c"]).add_space_secret("API", "x", description="d")
    assert report.ok
    assert bodies == {
        "/api/spaces/a/b/secrets": {"key": "API", "value": "x", "description": "d"},
        "/api/spaces/a/c/secrets": {"key": "API", "value": "x", "description": "d"},
    }


def test_report_from_results_and_bugs() -> None:
    """from_results builds a report from (repo_id, value-or-SpacesError) pairs and refuses other
    exceptions."""
    error = errors.ServerError("boom", status=500, method="GET", url="u")
    report: FleetReport[int] = FleetReport.from_results([("a/x", 1), ("a/y", error)])
    assert [o.ok for o in report] == [True, False]
    assert report["a/y"].error is error
    assert repr(report) == "FleetReport(total=2, succeeded=1, failed=1)"
    with pytest.raises(TypeError, match="SpacesError"):
        FleetReport.from_results([("a/x", KeyError("bug"))])
    with pytest.raises(KeyError):
        report["a/zzz"]


@pytest.mark.anyio
async def test_the_same_bug_in_many_spaces_surfaces_as_one_plain_exception() -> None:
    """When every operation hits the same bug, the caller gets that exception itself, not an
    ExceptionGroup."""

    async def operation(repo_id: str) -> None:
        raise ValueError(f"bad argument for {repo_id}")

    async with client_with(runtime_handler(set())) as client:
        with pytest.raises(ValueError, match="bad argument"):
            await client.fleet([f"a/s{i}" for i in range(5)]).run(operation)


@pytest.mark.anyio
async def test_a_malformed_hub_answer_is_recorded_per_space_not_treated_as_a_bug() -> None:
    """A Space whose runtime answer is not JSON fails alone (UnexpectedResponseError); the others succeed."""

    async def handler(request: httpx2.Request) -> httpx2.Response:
        await anyio.lowlevel.checkpoint()
        if "/broken/" in request.url.path:
            return httpx2.Response(200, text="<html>maintenance</html>")
        return httpx2.Response(200, json={"stage": "RUNNING", "hardware": {"current": "cpu-basic"}})

    async with client_with(httpx2.MockTransport(handler)) as client:
        report = await client.fleet(["a/ok", "a/broken", "b/ok"]).get_space_runtime()
    assert [o.repo_id for o in report.succeeded] == ["a/ok", "b/ok"]
    (failed,) = report.failed
    assert failed.repo_id == "a/broken"
    assert isinstance(failed.error, errors.UnexpectedResponseError)
    assert "not JSON" in str(failed.error)
