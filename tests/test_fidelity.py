"""Fidelity: for every request in the Hub recordings, the simulator answers with the same status and the same
JSON shape (keys and value types, recursively).

The recordings (`tests/fixtures/recordings/*.json`, real traffic against huggingface.co) are replayed in order
against a fresh in-process simulator, with the recorded user `user` mapped to a simulated user of that name.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest

from aiospaces.hubsim import SimulatedHub

RECORDINGS = {
    p.stem: json.loads(p.read_text())
    for p in sorted((Path(__file__).parent / "fixtures" / "recordings").glob("*.json"))
}
TOKEN = "hf_user_token"
# Headers whose presence must match the recording, with the form their value must have (None: any value).
API_HEADERS = {
    "x-error-code": None,
    "x-powered-by": r"huggingface-moon",
    "x-request-id": r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};.+",  # echoes the client's trace id (§1.3)
    "etag": r'W/"[0-9a-f]+-[A-Za-z0-9+/]{27}"',  # weak ETag on every API body (recordings)
}


def shape(value: Any) -> Any:
    """A JSON value's structure: dict keys and value types, recursively (list items position by position)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(item) for item in value]
    return type(value).__name__


def _media_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def _seeded_hub(recording: dict[str, Any]) -> SimulatedHub:
    hub = SimulatedHub(clock="manual")
    hub.add_user("user", token=TOKEN)
    hub.add_user("victor", token="hf_victor")
    # recording test_static_space_runtime reads someone else's public static Space.
    hub.create_space("victor/static-space", sdk="static")
    first = recording["interactions"][0]
    if first["uri"].endswith("/api/repos/create") and first["status"] == 409:
        # The recording starts with the Space already there (left over by an earlier run on the real Hub).
        hub.create_space("user/tmp_test_space", private=True, files={})
    return hub


def _request_of(interaction: dict[str, Any], number: int) -> tuple[str, str, dict[str, str], bytes | None]:
    """Method, path with query, headers and body of a recorded request, as the official client sent it."""
    url = urlsplit(interaction["uri"])
    # The client sends a trace id per request, which the Hub echoes in X-Request-Id (hub-api.md §1.3).
    headers = {"authorization": f"Bearer {TOKEN}", "x-amzn-trace-id": f"trace-{number}"}
    if interaction["request_content_type"]:
        headers["content-type"] = interaction["request_content_type"]
    body = interaction["request_body"]
    path = url.path + (f"?{url.query}" if url.query else "")
    return interaction["method"], path, headers, body.encode() if body is not None else None


def _mismatches(number: int, interaction: dict[str, Any], response: httpx2.Response) -> list[str]:
    """How the simulator's answer differs from the recorded one (status, content type, headers, shape)."""
    where = f"#{number} {interaction['method']} {urlsplit(interaction['uri']).path}"
    if response.status_code != interaction["status"]:
        return [f"{where}: status {response.status_code} != {interaction['status']}"]
    recorded_type = _media_type(interaction["response_headers"].get("Content-Type"))
    if _media_type(response.headers.get("content-type")) != recorded_type:
        return [f"{where}: content type {response.headers.get('content-type')} != {recorded_type}"]
    found = []
    recorded_headers = {k.lower(): v for k, v in interaction["response_headers"].items()}
    for name in sorted(API_HEADERS):
        pattern = API_HEADERS[name]
        recorded_value, value = recorded_headers.get(name), response.headers.get(name)
        if (recorded_value is None) != (value is None):
            found.append(f"{where}: header {name} {value!r}, recorded {recorded_value!r}")
        elif value is not None and pattern is not None and not re.fullmatch(pattern, value):
            found.append(f"{where}: header {name} {value!r} is not in the Hub's form")
    if not response.headers.get("x-request-id", "").endswith(f";trace-{number}"):
        found.append(
            f"{where}: X-Request-Id {response.headers.get('x-request-id')!r} does not echo the trace id"
        )
    if recorded_type == "application/json":
        expected = shape(json.loads(interaction["response_body"]))
        actual = shape(response.json())
        if actual != expected:
            found.append(f"{where}: shape {actual} != {expected}")
    elif response.text != interaction["response_body"]:
        found.append(f"{where}: body {response.text!r} != {interaction['response_body']!r}")
    return found


@pytest.mark.anyio
@pytest.mark.parametrize("name", sorted(RECORDINGS))
async def test_recording_replays_with_same_status_and_shape(name: str) -> None:
    """Every recorded request gets the recorded status, content type, API headers and JSON shape."""
    recording = RECORDINGS[name]
    hub = _seeded_hub(recording)
    mismatches: list[str] = []
    async with httpx2.AsyncClient(transport=hub.transport(), base_url="https://huggingface.co") as client:
        for number, interaction in enumerate(recording["interactions"]):
            method, path, headers, body = _request_of(interaction, number)
            response = await client.request(method, path, headers=headers, content=body)
            hub.advance(1.0)
            mismatches += _mismatches(number, interaction, response)
    assert mismatches == []
    assert hub.counters.unknown_routes == []
    assert hub.counters.server_errors == []


@pytest.mark.parametrize("name", sorted(RECORDINGS))
def test_recording_replays_the_same_over_a_socket(name: str) -> None:
    """Over a real socket (uvicorn) every recorded request still gets the recorded status, headers, shape."""
    pytest.importorskip("uvicorn")
    recording = RECORDINGS[name]
    hub = _seeded_hub(recording)
    mismatches: list[str] = []
    with hub.serve() as url, httpx2.Client(base_url=url, timeout=30) as client:
        for number, interaction in enumerate(recording["interactions"]):
            method, path, headers, body = _request_of(interaction, number)
            response = client.request(method, path, headers=headers, content=body)
            hub.advance(1.0)
            mismatches += _mismatches(number, interaction, response)
    assert mismatches == []
    assert hub.counters.unknown_routes == []
    assert hub.counters.server_errors == []


def test_shape_tells_types_and_keys_apart() -> None:
    """The shape comparison distinguishes a missing key, an extra key, null vs string, and int vs bool."""
    base = {"stage": "RUNNING", "hardware": {"current": None}, "gcTimeout": 1, "devMode": False}
    assert shape(base) == shape(
        {"stage": "X", "hardware": {"current": None}, "gcTimeout": 2, "devMode": True}
    )
    assert shape(base) != shape(
        {"stage": "RUNNING", "hardware": {"current": "cpu"}, "gcTimeout": 1, "devMode": 0}
    )
    assert shape(base) != shape({**base, "extra": 1})
    assert shape(base) != shape({"stage": "RUNNING", "hardware": {}, "gcTimeout": 1, "devMode": False})
