"""HfApi's per-call `token` argument: the client's own token (or None, or True) calls as the client; any other
token, or False, is refused with a ValueError naming `token` before a single request is sent, and its value
never shows."""

from __future__ import annotations

import inspect
import logging
import re
from pathlib import Path
from typing import Any

import httpx2
import pytest

from aiospaces import CommitOperationAdd, SpacesClient
from aiospaces.fleet import Fleet
from aiospaces.hubsim._hub import SimulatedHub
from aiospaces.models import SpaceStage
from aiospaces.testing import VirtualClock, fast_retry

OWN = "hf_alice_own_token"
OTHER = "hf_bob_other_token"
ENDPOINT = "https://hub.local"
NAMES_TOKEN = re.compile(r"(?<![\w.\[])token(?![\w])")


class CountingHub(httpx2.AsyncBaseTransport):
    """Counts every request that reaches it and hands it to the simulated Hub."""

    def __init__(self, hub: SimulatedHub) -> None:
        self.inner = hub.transport()
        self.requests: list[httpx2.Request] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


def make_hub() -> SimulatedHub:
    """A hub where alice (the client's user) and bob (the other token's user) both exist, so a request sent
    with bob's token would succeed: refusing it is the client's doing."""
    hub = SimulatedHub(clock=VirtualClock(), seed=0)
    hub.add_user("alice", token=OWN)
    hub.add_user("bob", token=OTHER)
    hub.create_space("alice/demo")
    hub.create_space("alice/other")
    return hub


def new_client(transport: CountingHub, token: str | bool = OWN) -> SpacesClient:
    return SpacesClient(
        token=token, endpoint=ENDPOINT, transport=transport, clock=VirtualClock(), retry=fast_retry()
    )


def assert_refused(error: BaseException, transport: CountingHub) -> None:
    """The error names `token`, says to create a client, shows no token, and nothing was sent."""
    message = str(error)
    assert NAMES_TOKEN.search(message), message
    assert "SpacesClient" in message, message
    assert OTHER not in message, message
    assert OWN not in message, message
    assert transport.requests == []


# --- accepted: the client's own identity -------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("token", [OWN, None, True, f"{OWN}\n"], ids=["own", "none", "true", "own-newline"])
async def test_the_clients_own_token_none_and_true_call_as_the_client(token: str | bool | None) -> None:
    """Passing the client's own token (even with the file's trailing newline), None or True as `token` runs
    the call against the simulated Hub, as alice."""
    transport = CountingHub(make_hub())
    async with new_client(transport) as client:
        runtime = await client.get_space_runtime("alice/demo", token=token)
        assert runtime.stage is SpaceStage.RUNNING
        me = await client.whoami(token)  # positional, as HfApi.whoami(token)
        assert me["name"] == "alice"
        await client.add_space_secret("alice/demo", "API_KEY", "s3cr3t", token=token)
        assert list(await client.get_space_secrets("alice/demo", token=token)) == ["API_KEY"]
        names = [info.id async for info in client.list_spaces(author="alice", token=token)]
        assert sorted(names) == ["alice/demo", "alice/other"]
        report = await client.fleet(["alice/demo", "alice/other"]).add_space_variable(
            "MODEL", "gpt2", token=token
        )
        assert report.ok
    assert transport.requests
    assert all(r.headers["authorization"] == f"Bearer {OWN}" for r in transport.requests)


@pytest.mark.anyio
@pytest.mark.parametrize("token", [False, None, True])
async def test_an_anonymous_client_accepts_false_none_and_true(token: bool | None) -> None:
    """On a client created with `token=False`, `token=False` (HfApi's "send no token") is the client's own
    identity and is accepted, as are None and True; no request carries a token."""
    transport = CountingHub(make_hub())
    async with new_client(transport, token=False) as client:
        flavors = await client.list_spaces_hardware(token)
    assert flavors
    assert transport.requests
    assert all("authorization" not in r.headers for r in transport.requests)


# --- refused: another identity ----------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("token", [OTHER, False], ids=["other-token", "false"])
async def test_another_token_or_false_is_refused_before_sending(
    token: str | bool, caplog: pytest.LogCaptureFixture
) -> None:
    """A different token, or False on a client that has a token, raises a ValueError naming `token` that
    says to create a SpacesClient with it; nothing is sent, and no token appears in the message or logs."""
    caplog.set_level(logging.DEBUG, logger="aiospaces")
    transport = CountingHub(make_hub())
    async with new_client(transport) as client:
        with pytest.raises(ValueError, match="SpacesClient") as caught:
            await client.request_space_hardware("alice/demo", "t4-small", token=token)
        assert_refused(caught.value, transport)
        with pytest.raises(ValueError, match=NAMES_TOKEN) as caught:
            await client.whoami(token)
        assert_refused(caught.value, transport)
        assert OWN not in repr(client)
    assert OTHER not in caplog.text
    assert OWN not in caplog.text


@pytest.mark.anyio
async def test_a_string_token_is_refused_by_an_anonymous_client() -> None:
    """A client without a token refuses any token string (it would be another identity)."""
    transport = CountingHub(make_hub())
    async with new_client(transport, token=False) as client:
        with pytest.raises(ValueError, match=NAMES_TOKEN) as caught:
            await client.space_info("alice/demo", token=OTHER)
    assert_refused(caught.value, transport)


@pytest.mark.anyio
async def test_a_token_of_another_type_is_a_type_error() -> None:
    """A `token` that is neither a str, a bool nor None raises a TypeError naming `token`, before sending."""
    transport = CountingHub(make_hub())
    async with new_client(transport) as client:
        with pytest.raises(TypeError, match=NAMES_TOKEN) as caught:
            await client.pause_space("alice/demo", token=b"hf_bytes")  # type: ignore[arg-type]
    assert NAMES_TOKEN.search(str(caught.value))
    assert "hf_bytes" not in str(caught.value)
    assert transport.requests == []


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["fetch_space_logs", "list_spaces", "search_spaces", "list_repo_tree"])
async def test_iterators_refuse_another_token_when_called(name: str) -> None:
    """The async-iterator methods check `token` when called, before anything is iterated or sent."""
    transport = CountingHub(make_hub())
    arguments: dict[str, tuple[Any, ...]] = {
        "fetch_space_logs": ("alice/demo",),
        "list_spaces": (),
        "search_spaces": ("chat bot",),
        "list_repo_tree": ("alice/demo",),
    }
    async with new_client(transport) as client:
        with pytest.raises(ValueError, match=NAMES_TOKEN) as caught:
            getattr(client, name)(*arguments[name], token=OTHER)
    assert_refused(caught.value, transport)


@pytest.mark.anyio
async def test_a_fleet_refuses_another_token_before_touching_any_space() -> None:
    """A fleet operation given another token raises the client's ValueError once, for the whole fleet,
    before any Space is touched; with the client's own token it runs on every Space."""
    transport = CountingHub(make_hub())
    async with new_client(transport) as client:
        fleet = client.fleet(["alice/demo", "alice/other"])
        with pytest.raises(ValueError, match=NAMES_TOKEN) as caught:
            await fleet.restart_space(token=OTHER)
        assert_refused(caught.value, transport)
        report = await fleet.restart_space(token=OWN)
    assert [o.ok for o in report] == [True, True]


# --- every method taking `token` ---------------------------------------------------------------------------

# Valid values for the arguments a method requires besides `token`.
REQUIRED: dict[str, Any] = {
    "repo_id": "alice/demo",
    "from_id": "alice/demo",
    "to_id": "alice/demo2",
    "key": "K",
    "value": "v",
    "hardware": "t4-small",
    "sleep_time": 60,
    "storage": "small",
    "volumes": [],
    "operations": [CommitOperationAdd(path_in_repo="a.txt", path_or_fileobj=b"x")],
    "commit_message": "m",
    "filename": "f.txt",
    "path_or_fileobj": b"x",
    "path_in_repo": "a.txt",
    "query": "chat bot",
    "space_sdk": "gradio",
}


def _taking_token() -> list[tuple[str, str]]:
    cases = []
    for owner, cls in (("client", SpacesClient), ("fleet", Fleet)):
        for name, member in inspect.getmembers(cls, inspect.isfunction):
            if not name.startswith("_") and "token" in inspect.signature(member).parameters:
                cases.append((owner, name))
    return cases


TAKING_TOKEN = _taking_token()


def test_every_ported_method_and_fleet_operation_takes_token() -> None:
    """The sweep below covers the client's methods ported from HfApi and the fleet's operations (so it cannot
    silently become empty)."""
    owners = [owner for owner, _ in TAKING_TOKEN]
    assert owners.count("client") >= 42
    assert owners.count("fleet") >= 17


async def _call(method: Any, kwargs: dict[str, Any]) -> None:
    """Call with another token; await what a coroutine method returns (an iterator must raise when called)."""
    result = method(**kwargs, token=OTHER)
    if inspect.isawaitable(result):
        await result


@pytest.mark.anyio
@pytest.mark.parametrize(("owner", "name"), TAKING_TOKEN, ids=[f"{o}.{n}" for o, n in TAKING_TOKEN])
async def test_every_method_taking_token_refuses_another_before_sending(
    owner: str, name: str, tmp_path: Path
) -> None:
    """Each client method and fleet operation taking `token`, given another token, raises a ValueError naming
    `token` (at call time for the iterators) and sends nothing."""
    transport = CountingHub(make_hub())
    required = {**REQUIRED, "folder_path": tmp_path}
    async with new_client(transport) as client:
        target: Any = client if owner == "client" else client.fleet(["alice/demo", "alice/other"])
        signature = inspect.signature(getattr(type(target), name))
        kwargs = {
            arg: required[arg]
            for arg, parameter in signature.parameters.items()
            if arg not in ("self", "token") and parameter.default is inspect.Parameter.empty
        }
        with pytest.raises(ValueError, match=NAMES_TOKEN) as caught:
            await _call(getattr(target, name), kwargs)
    assert_refused(caught.value, transport)
