"""No token and no secret value ever appears in a log record, a repr or an error message — not even when the
server echoes them back, when calls are retried, or when they fail."""

from __future__ import annotations

import json
import logging
import traceback
import warnings

import httpx2
import pytest

from aiospaces import FleetError, SpacesClient, errors
from aiospaces._wire import secrets_list
from aiospaces.hubsim._hub import SimulatedHub
from aiospaces.testing import VirtualClock

TOKEN = "hf_TOKENsentinel_4f9a2c71d0"
SECRET = "sv-SECRETsentinel-8b3e55"
ENDPOINT = "https://hub.local"


class Collector:
    """Gathers every text an attacker or a log reader could see."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def error(self, exc: BaseException) -> None:
        self.texts.append(str(exc))
        self.texts.append(repr(exc))
        self.texts.append("".join(traceback.format_exception(exc)))
        for name in ("server_message", "url", "existing_url"):
            value = getattr(exc, name, None)
            if value is not None:
                self.texts.append(str(value))

    def obj(self, value: object) -> None:
        self.texts.append(repr(value))
        self.texts.append(str(value))

    def leaks(self) -> list[str]:
        return [text for text in self.texts if TOKEN in text or SECRET in text]


def echoing_server(request: httpx2.Request) -> httpx2.Response:
    """A hostile/buggy server that echoes the Authorization header and the body in its error messages."""
    echo = f"{request.headers.get('authorization')} {request.content.decode(errors='replace')}"
    if request.url.path.endswith("/secrets"):
        return httpx2.Response(
            500, json={"error": f"could not store {echo}"}, headers={"X-Error-Message": echo}
        )
    if request.url.path == "/api/repos/create":
        return httpx2.Response(400, json={"error": f"bad payload {echo}"})
    return httpx2.Response(401, json={"error": f"Invalid token {echo}"})


@pytest.mark.anyio
async def test_no_token_or_secret_in_logs_reprs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    """Against the simulator (with faults) and an echoing server, every log record, repr and error is
    clean."""
    caplog.set_level(logging.DEBUG)
    seen = Collector()
    clock = VirtualClock()
    hub = SimulatedHub(clock=clock, seed=3)
    hub.add_user("alice", token=TOKEN)
    hub.create_space("alice/demo")
    hub.add_fault("error", route="POST /api/spaces/{id}/secrets", count=2, status=503)
    hub.add_fault("drop", route="POST /api/spaces/{id}/secrets", count=1, after=True)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with SpacesClient(
            token=TOKEN, endpoint=ENDPOINT, transport=hub.transport(), clock=clock
        ) as client:
            seen.obj(client)
            seen.obj(client._session.config)
            seen.obj(client.rate_limit)
            await client.add_space_secret("alice/demo", "API_KEY", SECRET)
            report = await client.fleet(["alice/demo", "alice/missing"]).add_space_secret("K2", SECRET)
            seen.obj(report)
            for outcome in report:
                seen.obj(outcome)
            with pytest.raises(FleetError) as group:
                report.raise_on_failure()
            seen.error(group.value)
            seen.obj(await client.get_space_secrets("alice/demo"))
            await client.create_repo(
                "alice/with-secrets",
                repo_type="space",
                space_sdk="gradio",
                space_secrets=[{"key": "S", "value": SECRET}],
            )

        echo = SpacesClient(
            token=TOKEN,
            endpoint=ENDPOINT,
            transport=httpx2.MockTransport(echoing_server),
            clock=VirtualClock(),
        )
        async with echo:
            with pytest.raises(errors.ServerError) as server_error:
                await echo.add_space_secret("alice/demo", "API_KEY", SECRET)
            seen.error(server_error.value)
            with pytest.raises(errors.BadRequestError) as bad_request:
                await echo.create_repo(
                    "alice/x",
                    repo_type="space",
                    space_sdk="gradio",
                    space_secrets=[{"key": "S", "value": SECRET}],
                )
            seen.error(bad_request.value)
            with pytest.raises(errors.AuthenticationError) as auth_error:
                await echo.get_space_runtime("alice/demo")
            seen.error(auth_error.value)

    assert hub.space_state("alice/demo").secrets["API_KEY"].value == SECRET  # the secret did reach the Hub
    assert json.loads(json.dumps(hub.counters.faults)) == {"error": 2, "drop": 1}
    for record in caplog.records:
        seen.texts.append(record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            seen.error(record.exc_info[1])
    seen.texts.extend(str(w.message) for w in caught)
    assert any("retrying" in text for text in seen.texts)  # the retries were logged, so logs were captured
    assert seen.leaks() == []


def test_repr_of_a_client_built_from_the_environment_hides_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """A token read from HF_TOKEN is not in the client's repr either."""
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    client = SpacesClient()
    assert TOKEN not in repr(client)
    assert "token_source='env'" in repr(client)


@pytest.mark.anyio
async def test_argument_errors_never_echo_secret_values() -> None:
    """Bad secrets arguments are reported without the secret value, before any request."""
    seen = Collector()
    client = SpacesClient(token=TOKEN, endpoint=ENDPOINT, transport=httpx2.MockTransport(echoing_server))
    async with client:
        with pytest.raises(ValueError, match="key") as bad_key:
            await client.add_space_secret("alice/demo", "BAD KEY", SECRET)
        seen.error(bad_key.value)
        with pytest.raises(ValueError, match="space_secrets") as bad_list:
            await client.create_repo(
                "alice/x", repo_type="space", space_sdk="gradio", space_secrets=[{"key": "", "value": SECRET}]
            )
        seen.error(bad_list.value)
    with pytest.raises(TypeError, match="value") as bad_value:
        secrets_list([{"key": "K", "value": 123}], arg="space_secrets")
    seen.error(bad_value.value)
    assert len(seen.texts) > 0
    assert seen.leaks() == []


@pytest.mark.anyio
async def test_token_is_sent_to_the_hub_but_never_to_another_host() -> None:
    """A request to a pre-signed storage URL on another host carries no Hub token, and an error about it
    never shows that URL's query string (its signature)."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        if request.url.host == "storage.test":
            return httpx2.Response(403, text="denied")
        return httpx2.Response(200, json={})

    async with SpacesClient(
        token=TOKEN, endpoint="http://hub.test", transport=httpx2.MockTransport(handler)
    ) as client:
        await client._session.request("GET", "/api/whoami-v2", idempotent=True)
        with pytest.raises(errors.HubHTTPError) as caught:
            await client._session.request(
                "PUT", "http://storage.test/bucket/obj?X-Amz-Signature=sig123", content=b"x", idempotent=True
            )
    hub_request, storage_request = seen
    assert hub_request.headers["authorization"] == f"Bearer {TOKEN}"
    assert "authorization" not in storage_request.headers
    assert "sig123" not in str(caught.value)
    assert "sig123" not in caught.value.url


@pytest.mark.anyio
async def test_token_is_not_forwarded_through_a_redirect_to_another_host_or_to_plain_http() -> None:
    """A Hub answer redirecting to another host, or from https to http on the same host, is followed without
    the token; a redirect within the Hub's origin keeps it."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        if request.url.path == "/api/spaces/a/b/runtime":
            return httpx2.Response(302, headers={"Location": "https://cdn.test/runtime.json"})
        if request.url.path == "/api/spaces/a/c/runtime":
            return httpx2.Response(302, headers={"Location": "http://hub.test/plain"})
        if request.url.path == "/api/spaces/a/d/runtime":
            return httpx2.Response(307, headers={"Location": "/api/spaces/a/e/runtime"})
        runtime = {"stage": "RUNNING", "hardware": {"current": None, "requested": None}}
        return httpx2.Response(200, json=runtime)

    async with SpacesClient(
        token=TOKEN,
        endpoint="https://hub.test",
        transport=httpx2.MockTransport(handler),
        clock=VirtualClock(),
    ) as client:
        for repo_id in ("a/b", "a/c", "a/d"):
            await client.get_space_runtime(repo_id)
    auth = {str(r.url): r.headers.get("authorization") for r in seen}
    assert auth["https://cdn.test/runtime.json"] is None
    assert auth["http://hub.test/plain"] is None
    assert auth["https://hub.test/api/spaces/a/e/runtime"] == f"Bearer {TOKEN}"
    assert all(TOKEN not in str(r.url) for r in seen)
