"""The simulated Hub over a real socket (`hub.serve()`, `hubsim` main) and as an ASGI app."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx2
import pytest
from _serving import free_port

from aiospaces.hubsim import SimulatedHub, main

pytest.importorskip("uvicorn")

ALICE = {"authorization": "Bearer hf_alice"}


def test_serve_answers_on_127_0_0_1_and_streams_logs() -> None:
    """`hub.serve()` listens on 127.0.0.1, answers the API, and streams build logs until the build ends."""
    hub = SimulatedHub(speed=200)
    hub.add_user("alice", token="hf_alice")
    hub.create_space("alice/demo")
    hub.set_durations("alice/demo", build=60, start=10)
    with hub.serve() as url, httpx2.Client(base_url=url, headers=ALICE, timeout=30) as http:
        assert url.startswith("http://127.0.0.1:")
        r = http.get("/api/spaces/alice/demo/runtime")
        assert (r.status_code, r.json()["stage"]) == (200, "RUNNING")
        assert r.headers["x-powered-by"] == "huggingface-moon"
        assert "date" in r.headers
        assert http.post("/api/spaces/alice/demo/restart").json()["stage"] == "BUILDING"
        events = []
        with http.stream("GET", "/api/spaces/alice/demo/logs/build") as stream:
            for line in stream.iter_lines():
                if line.startswith("data: {"):
                    events.append(json.loads(line[6:])["data"])
        assert events[0].startswith("===== Build Queued")
        assert events[-1] == "DONE 0.6s\n"
        assert hub.space_stage("alice/demo") in ("APP_STARTING", "RUNNING")


def test_dropped_connection_over_socket_and_server_keeps_serving() -> None:
    """A drop fault cuts the connection (a transport error for the client); the next request is served."""
    hub = SimulatedHub(speed=1)
    hub.add_user("alice", token="hf_alice")
    hub.create_space("alice/demo")
    hub.add_fault("drop", route="GET /api/spaces/{id}/runtime", count=1)
    with hub.serve() as url, httpx2.Client(base_url=url, headers=ALICE, timeout=10) as http:
        with pytest.raises(httpx2.TransportError):
            http.get("/api/spaces/alice/demo/runtime")
        r = http.get("/api/spaces/alice/demo/runtime")
        assert r.status_code == 200
        r = http.post(
            "/api/spaces/alice/demo/hardware", content=b"{oops", headers={"content-type": "application/json"}
        )
        assert r.status_code == 400
        assert http.get("/api/whoami-v2").json()["name"] == "alice"
    assert hub.counters.server_errors == []


@pytest.mark.anyio
async def test_asgi_app_serves_requests() -> None:
    """`hub.asgi_app` is a working ASGI application."""
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice")
    hub.create_space("alice/demo")
    transport = httpx2.ASGITransport(app=hub.asgi_app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://asgi.test", headers=ALICE) as client:
        r = await client.get("/api/spaces/alice/demo/runtime")
        assert (r.status_code, r.json()["stage"]) == (200, "RUNNING")
        body = {"name": "fresh", "type": "space", "sdk": "gradio"}
        r = await client.post("/api/repos/create", json=body)
        assert (r.status_code, r.json()["url"]) == (200, "http://asgi.test/spaces/alice/fresh")
        assert hub.repo_exists("alice/fresh")
        r = await client.post("/api/repos/create", json=body)
        assert (r.status_code, r.json()["url"]) == (409, "http://asgi.test/spaces/alice/fresh")
        hub.crash("alice/demo", ["boom"])  # a failed Space's log stream ends after the replay
        r = await client.get("/api/spaces/alice/demo/logs/run")
        assert r.headers["content-type"] == "text/event-stream"
        assert "Running on local URL" in r.text
        assert '"data": "boom\\n"' in r.text


def test_main_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    """`hubsim` exits with a usage error on a bad speed, a token without user, or a bad user name."""
    for argv in (["--speed", "0"], ["--token", "hf_x"], ["--user", "bad name!"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
    assert "hf_x" not in capsys.readouterr().err


def test_main_serves_until_interrupted() -> None:
    """`hubsim --port P --user alice --token hf_alice --speed 60` serves until Ctrl-C, then exits 0."""
    port = free_port()
    code = (
        "import sys; from aiospaces.hubsim import main; "
        f"sys.exit(main(['--host', '127.0.0.1', '--port', '{port}', '--user', 'alice', '--token', 'hf_alice',"
        " '--speed', '60']))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stderr=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx2.get(f"http://127.0.0.1:{port}/api/whoami-v2", headers=ALICE, timeout=2)
                break
            except httpx2.TransportError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert r.json()["name"] == "alice"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        err = proc.stderr.read() if proc.stderr else ""
        assert "hf_alice" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
