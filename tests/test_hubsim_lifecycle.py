"""The simulated Space lifecycle, in virtual time: builds, hardware switches, pause/restart, sleep, settings,
test controls, and build outcomes decided from the Space's files."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from _hubsim_raw import ALICE, commit, read_log, runtime

from aiospaces.hubsim import SimulatedHub, plan_build
from aiospaces.hubsim._builds import invalid_requirement


@pytest.fixture
def hub() -> SimulatedHub:
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice")
    hub.set_durations(build=30, start=10, hardware_switch=60, wake=5, commit_to_build=5)
    return hub


@pytest.fixture
async def client(hub: SimulatedHub) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=hub.transport(), base_url="http://hub.test", headers=ALICE) as c:
        yield c


async def create_via_api(client: httpx2.AsyncClient, name: str, **extra: Any) -> None:
    body = {"name": name, "organization": None, "type": "space", "sdk": "gradio", **extra}
    assert (await client.post("/api/repos/create", json=body)).status_code == 200


GRADIO_APP = "import gradio as gr\n\ngr.Interface(lambda x: x, 'text', 'text').launch()\n"


# ------------------------------------------------------------------------------------------- builds
@pytest.mark.anyio
async def test_commit_builds_then_starts_then_runs(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """After a commit: the previous state until the build starts, then BUILDING (no hardware) →
    APP_STARTING → RUNNING on the requested hardware."""
    await create_via_api(client, "demo")
    assert (await runtime(client, "alice/demo"))["stage"] == "NO_APP_FILE"
    await commit(client, "alice/demo", {"app.py": GRADIO_APP})
    seen = []
    for _ in range(50):
        rt = await runtime(client, "alice/demo")
        if not seen or seen[-1][0] != rt["stage"]:
            seen.append((rt["stage"], rt["hardware"]["current"]))
        hub.advance(1)
    assert seen == [
        ("NO_APP_FILE", None),
        ("BUILDING", None),
        ("APP_STARTING", "cpu-basic"),
        ("RUNNING", "cpu-basic"),
    ]
    assert hub.counters.actions["build"] == 2  # creation (NO_APP_FILE right away) and the commit


@pytest.mark.anyio
async def test_commit_to_running_space_keeps_serving(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """A commit to a running Space goes RUNNING_BUILDING → RUNNING_APP_STARTING → RUNNING, never unserved."""
    hub.create_space("alice/live")
    await commit(client, "alice/live", {"app.py": GRADIO_APP + "# v2\n"})
    hub.advance(5)  # the build starts `commit_to_build` after the commit
    stages = []
    for _ in range(45):
        rt = await runtime(client, "alice/live")
        assert rt["hardware"]["current"] == "cpu-basic"
        if not stages or stages[-1] != rt["stage"]:
            stages.append(rt["stage"])
        hub.advance(1)
    assert stages == ["RUNNING_BUILDING", "RUNNING_APP_STARTING", "RUNNING"]


@pytest.mark.anyio
async def test_hardware_request_switches_after_the_configured_time(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """requested_hardware changes at once; the old hardware runs (RUNNING_BUILDING) until the switch."""
    hub.create_space("alice/gpu")
    hub.set_durations("alice/gpu", hardware_switch=120)
    r = await client.post(
        "/api/spaces/alice/gpu/hardware", json={"flavor": "t4-medium", "sleepTimeSeconds": 900}
    )
    assert r.json()["stage"] == "RUNNING_BUILDING"
    assert r.json()["hardware"] == {"current": "cpu-basic", "requested": "t4-medium"}
    assert r.json()["gcTimeout"] == 900
    hub.advance(119)
    assert (await runtime(client, "alice/gpu"))["hardware"]["current"] == "cpu-basic"
    hub.advance(1)
    rt = await runtime(client, "alice/gpu")
    assert (rt["stage"], rt["hardware"]) == ("RUNNING", {"current": "t4-medium", "requested": "t4-medium"})


@pytest.mark.anyio
async def test_requesting_the_running_hardware_back_cancels_a_switch(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """Asking for the hardware still running during a switch cancels it: RUNNING on that hardware at once."""
    hub.create_space("alice/gpu")
    await client.post("/api/spaces/alice/gpu/hardware", json={"flavor": "t4-medium"})
    hub.advance(10)
    r = await client.post("/api/spaces/alice/gpu/hardware", json={"flavor": "cpu-basic"})
    assert (r.json()["stage"], r.json()["hardware"]["current"]) == ("RUNNING", "cpu-basic")
    hub.advance(600)
    assert (await runtime(client, "alice/gpu"))["hardware"] == {
        "current": "cpu-basic",
        "requested": "cpu-basic",
    }


@pytest.mark.anyio
async def test_pause_and_restart(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """Pause stops the Space (no hardware) until a restart, even across commits; restart rebuilds (§8.2)."""
    hub.create_space("alice/demo", hardware="t4-small")
    r = await client.post("/api/spaces/alice/demo/pause")
    assert (r.json()["stage"], r.json()["hardware"]["current"]) == ("PAUSED", None)
    await commit(client, "alice/demo", {"app.py": GRADIO_APP})
    hub.advance(3600)
    assert (await runtime(client, "alice/demo"))["stage"] == "PAUSED"
    r = await client.post("/api/spaces/alice/demo/restart")
    assert (r.json()["stage"], r.json()["hardware"]["current"]) == ("BUILDING", None)
    hub.advance(40)
    rt = await runtime(client, "alice/demo")
    assert (rt["stage"], rt["hardware"]["current"]) == ("RUNNING", "t4-small")
    r = await client.post("/api/spaces/alice/demo/restart", params={"factory": "true"})
    assert r.json()["stage"] == "BUILDING"
    assert hub.counters.actions["factory_reboot"] == 1
    assert hub.counters.actions["restart"] == 1


@pytest.mark.anyio
async def test_cpu_basic_sleeps_after_48_hours_without_traffic(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """cpu-basic sleeps (STOPPED) after 172800 s idle; traffic delays it; a visitor wakes it (§8.3)."""
    hub.create_space("alice/free")
    assert (await runtime(client, "alice/free"))["gcTimeout"] == 172800
    hub.advance(172000)
    hub.visit("alice/free")
    hub.advance(172000)
    assert (await runtime(client, "alice/free"))["stage"] == "RUNNING"
    hub.advance(1000)
    rt = await runtime(client, "alice/free")
    assert (rt["stage"], rt["hardware"]["current"]) == ("STOPPED", None)
    hub.visit("alice/free")
    assert (await runtime(client, "alice/free"))["stage"] == "APP_STARTING"
    hub.advance(5)
    assert (await runtime(client, "alice/free"))["stage"] == "RUNNING"


@pytest.mark.anyio
async def test_upgraded_hardware_sleeps_only_with_a_sleep_time(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """Upgraded hardware never sleeps by default; with a sleep time it stops after that much idle time."""
    hub.create_space("alice/gpu", hardware="t4-small")
    assert (await runtime(client, "alice/gpu"))["gcTimeout"] is None
    hub.advance(10 * 86400)
    assert (await runtime(client, "alice/gpu"))["stage"] == "RUNNING"
    r = await client.post("/api/spaces/alice/gpu/sleeptime", json={"seconds": 600})
    assert r.json()["gcTimeout"] == 600
    hub.visit("alice/gpu")
    hub.advance(601)
    assert (await runtime(client, "alice/gpu"))["stage"] == "STOPPED"
    r = await client.post("/api/spaces/alice/gpu/sleeptime", json={"seconds": -1})
    assert r.json()["gcTimeout"] == -1


@pytest.mark.anyio
async def test_storage_upgrades_only_and_deletes(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """Storage tiers go up, not down (400) until deleted; deleting without storage is a 400 (§8.4)."""
    hub.create_space("alice/demo")
    url = "/api/spaces/alice/demo/storage"
    assert (await client.post(url, json={"tier": "medium"})).json()["storage"] == "medium"
    r = await client.post(url, json={"tier": "small"})
    assert r.status_code == 400
    assert "downgrade" in r.json()["error"]
    assert (await client.post(url, json={"tier": "large"})).json()["storage"] == "large"
    assert (await client.delete(url)).json()["storage"] is None
    assert (await client.delete(url)).status_code == 400
    assert (await client.post(url, json={"tier": "small"})).json()["storage"] == "small"


@pytest.mark.anyio
async def test_volumes_replace_and_delete(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """PUT volumes replaces the list (repos forced read-only), DELETE clears it, then 400 (§8.5)."""
    hub.create_space("alice/demo")
    url = "/api/spaces/alice/demo/volumes"
    one = [{"type": "bucket", "source": "alice/b", "mountPath": "/data"}]
    two = [
        {"source": "alice/model", "mountPath": "/model", "revision": "v1", "readOnly": False, "path": "sub"}
    ]
    assert (await client.put(url, json={"volumes": one})).status_code == 200
    r = await client.put(url, json={"volumes": two})
    assert r.json()["volumes"] == [
        {
            "type": "model",
            "source": "alice/model",
            "mountPath": "/model",
            "revision": "v1",
            "readOnly": True,
            "path": "sub",
        }
    ]
    assert (await client.delete(url)).status_code == 200
    assert "volumes" not in await runtime(client, "alice/demo")
    assert (await client.delete(url)).status_code == 400
    bad = [
        {"type": "bucket", "source": "a/b", "mountPath": "/x"},
        {"type": "bucket", "source": "a/c", "mountPath": "/x"},
    ]
    assert (await client.put(url, json={"volumes": bad})).status_code == 400


@pytest.mark.anyio
async def test_dev_mode_and_pro_plan(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """Dev mode toggles devMode; a user without PRO gets a 403 (hub-api.md §8.2)."""
    hub.create_space("alice/demo")
    url = "/api/spaces/alice/demo/dev-mode"
    assert (await client.post(url, json={"enabled": True})).json()["devMode"] is True
    assert (await client.post(url, json={"enabled": False})).json()["devMode"] is False
    hub.add_user("free", token="hf_free", pro=False)
    hub.create_space("free/demo")
    r = await client.post(
        "/api/spaces/free/demo/dev-mode", json={"enabled": True}, headers={"authorization": "Bearer hf_free"}
    )
    assert r.status_code == 403


@pytest.mark.anyio
async def test_static_spaces_always_run_and_refuse_lifecycle_calls(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """A static Space is RUNNING without hardware; pause/restart/dev-mode/volumes/hardware are 400s."""
    await create_via_api(client, "site", sdk="static")
    rt = await runtime(client, "alice/site")
    # recording test_static_space_runtime
    assert rt == {"stage": "RUNNING", "hardware": {"current": None, "requested": None}, "storage": None,
                  "replicas": {"requested": 1, "current": 1}}  # fmt: skip
    for method, suffix, body in [
        ("POST", "pause", None),
        ("POST", "restart", None),
        ("POST", "dev-mode", {"enabled": True}),
        ("PUT", "volumes", {"volumes": [{"source": "a/b", "mountPath": "/d"}]}),
        ("POST", "hardware", {"flavor": "t4-small"}),
    ]:
        r = await client.request(method, f"/api/spaces/alice/site/{suffix}", json=body)
        assert r.status_code == 400, suffix
    await commit(client, "alice/site", {"index.html": "<h1>hi</h1>"})
    assert (await runtime(client, "alice/site"))["stage"] == "RUNNING"


# ------------------------------------------------------------------------------------- test controls
@pytest.mark.anyio
async def test_fail_next_build_with_logs(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """fail_next_build makes only the next build end in BUILD_ERROR, with the given build log lines."""
    hub.create_space("alice/demo")
    hub.fail_next_build(
        "alice/demo", ["Step 3/7: RUN make", "make: *** [all] Error 2"], message="Build failed"
    )
    await client.post("/api/spaces/alice/demo/restart")
    hub.advance(30)
    rt = await runtime(client, "alice/demo")
    assert (rt["stage"], rt["errorMessage"], rt["hardware"]["current"]) == (
        "BUILD_ERROR",
        "Build failed",
        None,
    )
    assert (await read_log(client, "alice/demo", "build"))[-1] == "make: *** [all] Error 2\n"
    await client.post("/api/spaces/alice/demo/restart")
    hub.advance(40)
    assert (await runtime(client, "alice/demo"))["stage"] == "RUNNING"


@pytest.mark.anyio
async def test_crash_sets_runtime_error_with_run_logs(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """crash() turns a running Space into RUNTIME_ERROR and appends its lines to the run log."""
    hub.create_space("alice/demo")
    hub.crash("alice/demo", ["Traceback (most recent call last):", "MemoryError"])
    rt = await runtime(client, "alice/demo")
    assert (rt["stage"], rt["hardware"]["current"]) == ("RUNTIME_ERROR", None)
    assert "errorMessage" in rt
    assert (await read_log(client, "alice/demo", "run"))[-2:] == [
        "Traceback (most recent call last):\n",
        "MemoryError\n",
    ]


@pytest.mark.anyio
async def test_per_space_durations_override_defaults(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """set_durations on one Space changes only its build time."""
    hub.create_space("alice/slow", stage=None)
    hub.create_space("alice/fast", stage=None)
    hub.set_durations("alice/slow", build=600)
    await client.post("/api/spaces/alice/slow/restart")
    await client.post("/api/spaces/alice/fast/restart")
    hub.advance(45)
    assert (await runtime(client, "alice/fast"))["stage"] == "RUNNING"
    assert (await runtime(client, "alice/slow"))["stage"] == "BUILDING"
    hub.advance(600)
    assert (await runtime(client, "alice/slow"))["stage"] == "RUNNING"


def test_seeding_helpers_validate_arguments() -> None:
    """create_space and set_durations reject bad arguments with errors naming them."""
    hub = SimulatedHub(clock="manual")
    with pytest.raises(ValueError, match="repo_id"):
        hub.create_space("no-slash")
    with pytest.raises(ValueError, match="sdk"):
        hub.create_space("a/b", sdk="flask")
    with pytest.raises(ValueError, match="hardware"):
        hub.create_space("a/b", hardware="gpu")
    with pytest.raises(ValueError, match="build"):
        hub.set_durations(build=-1)
    with pytest.raises(TypeError, match="cannot be advanced"):
        SimulatedHub().advance(1)


def test_seeding_many_spaces_is_fast_and_direct() -> None:
    """create_space seeds hundreds of Spaces in any stage without HTTP."""
    hub = SimulatedHub(clock="manual")
    for i in range(300):
        hub.create_space(f"org/s{i}", stage="PAUSED" if i % 2 else "RUNNING")
    assert len(hub.list_repo_ids()) == 300
    assert hub.space_stage("org/s1") == "PAUSED"
    assert hub.space_stage("org/s2") == "RUNNING"
    assert hub.counters.total_requests == 0


# --------------------------------------------------------------------------- build outcome from files
@pytest.mark.anyio
@pytest.mark.parametrize(
    ("files", "stage"),
    [
        ({"main.py": GRADIO_APP}, "NO_APP_FILE"),
        # The commit endpoint takes a card that `POST /api/validate-yaml` refuses; the build cannot use it.
        ({"README.md": "---\nsdk: flask\n---\n", "app.py": GRADIO_APP}, "CONFIG_ERROR"),
        ({"app.py": GRADIO_APP, "requirements.txt": "numpy\ntorch==>1\n"}, "BUILD_ERROR"),
        ({"app.py": "def broken(:\n    pass\n"}, "RUNTIME_ERROR"),
        ({"README.md": "---\nsdk: gradio\napp_file: main.py\n---\n", "main.py": GRADIO_APP}, "RUNNING"),
        ({"README.md": "---\nsdk: docker\n---\n", "app.py": GRADIO_APP}, "NO_APP_FILE"),
    ],
)
async def test_build_outcome_decided_from_files(
    client: httpx2.AsyncClient, hub: SimulatedHub, files: dict[str, str], stage: str
) -> None:
    """The stage a commit leads to follows from the committed files, as on the real Hub."""
    await create_via_api(client, "demo")
    await commit(client, "alice/demo", files)
    hub.advance(100)
    assert (await runtime(client, "alice/demo"))["stage"] == stage


@pytest.mark.anyio
async def test_invalid_requirement_gives_pip_like_build_log(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """A bad requirements.txt line → BUILD_ERROR whose build log names the line as pip does."""
    await create_via_api(client, "demo")
    await commit(client, "alice/demo", {"app.py": GRADIO_APP, "requirements.txt": "gradio\n\ntorch==>1\n"})
    hub.advance(5 + 30)  # the build starts 5 s after the commit
    rt = await runtime(client, "alice/demo")
    assert rt["stage"] == "BUILD_ERROR"
    assert rt["errorMessage"] == "Build failed with exit code: 1"
    log = "".join(await read_log(client, "alice/demo", "build"))
    assert "ERROR: Invalid requirement: 'torch==>1'" in log
    assert "(from line 3 of requirements.txt)" in log


@pytest.mark.anyio
async def test_app_that_does_not_compile_shows_traceback(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """An app.py with a syntax error builds, then fails (RUNTIME_ERROR) with the traceback in the run log."""
    await create_via_api(client, "demo")
    await commit(client, "alice/demo", {"app.py": "import gradio as gr\n\nx = (1,\n"})
    hub.advance(5 + 30)  # the build starts 5 s after the commit
    assert (await runtime(client, "alice/demo"))["stage"] == "APP_STARTING"
    hub.advance(10)
    rt = await runtime(client, "alice/demo")
    assert rt["stage"] == "RUNTIME_ERROR"
    assert "SyntaxError" in rt["errorMessage"]
    run_log = "".join(await read_log(client, "alice/demo", "run"))
    assert "Traceback (most recent call last):" in run_log
    assert 'File "/home/user/app/app.py", line 3' in run_log
    assert "SyntaxError" in run_log


def test_plan_build_rules() -> None:
    """plan_build: static always runs; README sdk wins; unknown sdk is a config error; valid apps run."""
    assert plan_build({}, "static").outcome == "RUNNING"
    assert plan_build({"app.py": b"print(1)\n"}, "gradio").outcome == "RUNNING"
    assert plan_build({"README.md": b"---\nsdk: static\n---\n"}, "gradio").outcome == "RUNNING"
    assert plan_build({"Dockerfile": b"FROM x\n"}, "docker").outcome == "RUNNING"
    assert plan_build({"README.md": b"---\nsdk: [\n"}, "gradio").outcome == "CONFIG_ERROR"


@pytest.mark.parametrize(
    ("line", "valid"),
    [
        ("torch", True),
        ("torch==2.1.0", True),
        ("torch>=2,<3", True),
        ("uvicorn[standard]~=0.30", True),
        ("numpy; python_version >= '3.9'", True),
        ("pkg @ https://example.com/pkg.whl", True),
        ("git+https://github.com/a/b.git", True),
        ("-r other.txt", True),
        ("# comment", True),
        ("", True),
        ("torch==>1", False),
        ("==1.0", False),
        ("torch 1.0", False),
        ("torch=1", False),
    ],
)
def test_requirement_validation_table(line: str, valid: bool) -> None:
    """Requirement lines are accepted or rejected as pip would."""
    assert (invalid_requirement(line) is None) is valid
