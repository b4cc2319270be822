"""The simulated Hub's commit-to-build delay and the failures a deploy can meet, in virtual time: a commit's
build starts only after `commit_to_build` (the previous state shows until then), an empty commit builds
nothing, and each failure class (build, app start, configuration, platform) can be produced."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest
from _hubsim_raw import ALICE, commit, read_log, runtime

from aiospaces.hubsim import SimulatedHub
from aiospaces.hubsim._builds import dockerfile_error, plan_build

GRADIO_APP = "import gradio as gr\n\ngr.Interface(lambda x: x, 'text', 'text').launch()\n"


@pytest.fixture
def hub() -> SimulatedHub:
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice")
    hub.set_durations(build=30, start=10, hardware_switch=60, commit_to_build=8)
    return hub


@pytest.fixture
async def client(hub: SimulatedHub) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=hub.transport(), base_url="http://hub.test", headers=ALICE) as c:
        yield c


async def stages_over(
    client: httpx2.AsyncClient, hub: SimulatedHub, repo_id: str, seconds: int
) -> list[tuple[str, str | None]]:
    """(stage, current hardware) each time it changes, reading once per hub second."""
    seen: list[tuple[str, str | None]] = []
    for _ in range(seconds):
        rt = await runtime(client, repo_id)
        entry = (rt["stage"], rt["hardware"]["current"])
        if not seen or seen[-1] != entry:
            seen.append(entry)
        hub.advance(1)
    return seen


@pytest.mark.anyio
async def test_commit_shows_the_previous_state_until_its_build_starts(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """A commit to a running Space: RUNNING for `commit_to_build`, then RUNNING_BUILDING (old app serving),
    RUNNING_APP_STARTING, RUNNING — and the build log is the new commit's."""
    hub.create_space("alice/live")
    first = hub.git.head(("space", "alice/live"))
    assert first is not None
    sha = await commit(client, "alice/live", {"app.py": GRADIO_APP + "# v2\n"})
    hub.advance(7.5)
    assert (await runtime(client, "alice/live"))["stage"] == "RUNNING"
    # Nothing of the commit built yet: the build log is still the one of the build that runs.
    assert f"Commit SHA: {first[:7]}" in (await read_log(client, "alice/live", "build"))[0]
    hub.advance(0.5)
    assert (await stages_over(client, hub, "alice/live", 45)) == [
        ("RUNNING_BUILDING", "cpu-basic"),
        ("RUNNING_APP_STARTING", "cpu-basic"),
        ("RUNNING", "cpu-basic"),
    ]
    assert f"Commit SHA: {sha[:7]}" in (await read_log(client, "alice/live", "build"))[0]


@pytest.mark.anyio
async def test_a_failed_space_keeps_its_failure_until_the_new_build_starts(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """A Space in BUILD_ERROR still shows BUILD_ERROR right after a fixing commit, then BUILDING → RUNNING."""
    hub.create_space("alice/broken", stage="BUILD_ERROR")
    await commit(client, "alice/broken", {"app.py": GRADIO_APP + "# fixed\n"})
    assert (await stages_over(client, hub, "alice/broken", 50)) == [
        ("BUILD_ERROR", None),
        ("BUILDING", None),
        ("APP_STARTING", "cpu-basic"),
        ("RUNNING", "cpu-basic"),
    ]


@pytest.mark.anyio
async def test_a_commit_that_changes_nothing_builds_nothing(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """Committing a file with the content it already has leaves the Space RUNNING with no new build."""
    hub.create_space("alice/live", files={"app.py": GRADIO_APP})
    builds = hub.counters.actions["build"]
    await commit(client, "alice/live", {"app.py": GRADIO_APP})
    assert (await stages_over(client, hub, "alice/live", 30)) == [("RUNNING", "cpu-basic")]
    assert hub.counters.actions["build"] == builds


@pytest.mark.anyio
async def test_a_readme_only_commit_rebuilds(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """The README holds the Space's configuration: changing only it rebuilds the Space."""
    hub.create_space("alice/live")
    readme = (await client.get("/spaces/alice/live/resolve/main/README.md")).text
    await commit(client, "alice/live", {"README.md": readme.replace("pinned: false", "pinned: true")})
    stages = [stage for stage, _ in await stages_over(client, hub, "alice/live", 60)]
    assert stages == ["RUNNING", "RUNNING_BUILDING", "RUNNING_APP_STARTING", "RUNNING"]


@pytest.mark.anyio
async def test_a_second_commit_before_the_build_starts_replaces_it(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """Two quick commits give one build, of the second commit, starting `commit_to_build` after it."""
    hub.create_space("alice/live")
    builds = hub.counters.actions["build"]
    await commit(client, "alice/live", {"app.py": GRADIO_APP + "# v2\n"})
    hub.advance(5)
    second = await commit(client, "alice/live", {"app.py": GRADIO_APP + "# v3\n"})
    hub.advance(7)
    assert (await runtime(client, "alice/live"))["stage"] == "RUNNING"  # 12 s after the first commit
    hub.advance(1)
    assert (await runtime(client, "alice/live"))["stage"] == "RUNNING_BUILDING"
    assert f"Commit SHA: {second[:7]}" in (await read_log(client, "alice/live", "build"))[0]
    assert hub.counters.actions["build"] == builds + 2  # both commits asked; one build ran
    hub.advance(45)
    assert (await runtime(client, "alice/live"))["stage"] == "RUNNING"


@pytest.mark.anyio
async def test_a_hardware_request_during_the_delay_keeps_the_queued_build(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """Hardware requested right after a commit: the Space restarts once, with the commit's build, and the new
    code runs on the new hardware (never the old code on it, even when a switch alone would be quicker)."""
    hub.create_space("alice/gpu")
    hub.set_durations("alice/gpu", hardware_switch=5)  # shorter than the commit's wait for its build
    sha = await commit(client, "alice/gpu", {"app.py": GRADIO_APP + "# v2\n"})
    r = await client.post("/api/spaces/alice/gpu/hardware", json={"flavor": "t4-medium"})
    assert r.json()["hardware"] == {"current": "cpu-basic", "requested": "t4-medium"}
    seen = await stages_over(client, hub, "alice/gpu", 60)
    assert seen == [
        ("RUNNING_BUILDING", "cpu-basic"),
        ("RUNNING_APP_STARTING", "cpu-basic"),
        ("RUNNING", "t4-medium"),
    ]
    assert f"Commit SHA: {sha[:7]}" in (await read_log(client, "alice/gpu", "build"))[0]


@pytest.mark.anyio
async def test_restart_during_the_delay_builds_the_new_files_at_once(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """A restart after a commit builds the current files right away; the queued build does not run again."""
    hub.create_space("alice/live")
    sha = await commit(client, "alice/live", {"app.py": GRADIO_APP + "# v2\n"})
    assert (await client.post("/api/spaces/alice/live/restart")).json()["stage"] == "BUILDING"
    stages = [stage for stage, _ in await stages_over(client, hub, "alice/live", 60)]
    assert stages == ["BUILDING", "APP_STARTING", "RUNNING"]
    assert f"Commit SHA: {sha[:7]}" in (await read_log(client, "alice/live", "build"))[0]


@pytest.mark.anyio
async def test_zero_delay_builds_in_the_commits_instant(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """`set_durations(commit_to_build=0)`: the first read after the commit already shows the build."""
    hub.create_space("alice/live")
    hub.set_durations("alice/live", commit_to_build=0)
    await commit(client, "alice/live", {"app.py": GRADIO_APP + "# v2\n"})
    assert (await runtime(client, "alice/live"))["stage"] == "RUNNING_BUILDING"


def test_set_durations_rejects_a_negative_commit_delay() -> None:
    """A negative commit_to_build is refused with a ValueError naming it."""
    hub = SimulatedHub(clock="manual")
    with pytest.raises(ValueError, match="commit_to_build"):
        hub.set_durations(commit_to_build=-1)


# ------------------------------------------------------------------------------------ failure classes
@pytest.mark.anyio
async def test_a_dockerfile_typo_is_a_build_error_naming_the_line(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """A Docker Space whose Dockerfile has an unknown instruction ends in BUILD_ERROR; the build log says
    which line, as BuildKit does."""
    hub.create_space("alice/box", sdk="docker")
    await commit(client, "alice/box", {"Dockerfile": "FROM python:3.11\nRUNN pip install flask\n"})
    hub.advance(8 + 30)
    rt = await runtime(client, "alice/box")
    assert (rt["stage"], rt["errorMessage"]) == ("BUILD_ERROR", "Build failed with exit code: 1")
    log = await read_log(client, "alice/box", "build")
    assert log[-1] == "ERROR: failed to solve: dockerfile parse error on line 2: unknown instruction: RUNN\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('FROM python:3.11\nRUN pip install x\nCMD ["x"]\n', None),
        ("# syntax=docker/dockerfile:1\nARG V=3\nFROM python:$V\nrun echo \\\n  done\n", None),
        ("FROM python\nCOPYY . .\n", "dockerfile parse error on line 2: unknown instruction: COPYY"),
        ("RUN echo\nFROM python\n", "no build stage in current context"),
        ("", "no build stage in current context"),
    ],
)
def test_dockerfile_check_table(text: str, problem: str | None) -> None:
    """The Dockerfile check accepts known instructions (any case, continuations) and names the bad line."""
    assert dockerfile_error(text) == problem


def test_plan_build_docker_outcomes() -> None:
    """plan_build: a valid Dockerfile runs, a broken one is a BUILD_ERROR."""
    good = plan_build({"Dockerfile": b"FROM python:3.11\nCMD python -m http.server\n"}, "docker")
    bad = plan_build({"Dockerfile": b"FROM python:3.11\nXYZ\n"}, "docker")
    assert (good.outcome, bad.outcome) == ("RUNNING", "BUILD_ERROR")


@pytest.mark.anyio
async def test_fail_next_build_at_start_is_an_app_crash_with_run_log(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """phase="start": the build succeeds (normal build log), then RUNTIME_ERROR with the given run log."""
    hub.create_space("alice/app")
    hub.fail_next_build(
        "alice/app",
        ["Traceback (most recent call last):", "KeyError: 'API_KEY'"],
        message="Exit code: 1. Reason: KeyError: 'API_KEY'",
        phase="start",
    )
    await commit(client, "alice/app", {"app.py": GRADIO_APP + "# v2\n"})
    stages = [stage for stage, _ in await stages_over(client, hub, "alice/app", 60)]
    assert stages == ["RUNNING", "RUNNING_BUILDING", "RUNNING_APP_STARTING", "RUNTIME_ERROR"]
    rt = await runtime(client, "alice/app")
    assert rt["errorMessage"] == "Exit code: 1. Reason: KeyError: 'API_KEY'"
    assert (await read_log(client, "alice/app", "run"))[-1] == "KeyError: 'API_KEY'\n"
    assert (await read_log(client, "alice/app", "build"))[-1] == "DONE 0.6s\n"  # the build went through


@pytest.mark.anyio
async def test_fail_next_build_at_scheduling_is_a_platform_error(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """phase="schedule": after the build, RUNTIME_ERROR with the Hub's scheduling message, no app output."""
    hub.create_space("alice/gpu", hardware="a10g-large")
    hub.fail_next_build("alice/gpu", phase="schedule")
    await commit(client, "alice/gpu", {"app.py": GRADIO_APP + "# v2\n"})
    hub.advance(8 + 30 + 10)
    rt = await runtime(client, "alice/gpu")
    assert (rt["stage"], rt["errorMessage"]) == (
        "RUNTIME_ERROR",
        "Scheduling failure: not enough hardware capacity",
    )
    assert [line for line in await read_log(client, "alice/gpu", "run") if line.strip()] == [
        line for line in await read_log(client, "alice/gpu", "run") if line.startswith("===== Application")
    ]


@pytest.mark.anyio
async def test_fail_next_build_as_config_error(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """phase="config": CONFIG_ERROR as soon as the build would start, with the given message."""
    hub.create_space("alice/cfg")
    message = "Invalid README.md metadata: bad 'app_port'"
    hub.fail_next_build("alice/cfg", phase="config", message=message)
    await commit(client, "alice/cfg", {"app.py": GRADIO_APP + "# v2\n"})
    seen = await stages_over(client, hub, "alice/cfg", 12)
    assert seen == [("RUNNING", "cpu-basic"), ("CONFIG_ERROR", None)]
    assert (await runtime(client, "alice/cfg"))["errorMessage"] == message


def test_fail_next_build_rejects_an_unknown_phase() -> None:
    """An unknown phase is refused with a ValueError naming the argument."""
    hub = SimulatedHub(clock="manual")
    hub.create_space("alice/app")
    with pytest.raises(ValueError, match="phase"):
        hub.fail_next_build("alice/app", phase="deploy")
