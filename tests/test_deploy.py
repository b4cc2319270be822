"""Verified deploy against the simulated Hub, in virtual time: a commit fences later waits (the previous
build, still RUNNING while the new one is scheduled, is never taken for the new code), `deploy` returns once
the new commit runs or raises `SpaceFailedError` with the failure class and the failing phase's log tail, and
a fleet deploy reports each Space."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from aiospaces import (
    DeployEvent,
    FailureClass,
    PollPolicy,
    SpaceFailedError,
    SpacesClient,
    WaitTimeoutError,
)
from aiospaces._deploy import _Timeline
from aiospaces.hubsim import SimulatedHub
from aiospaces.testing import SimulatedHubClient, VirtualClock

pytestmark = pytest.mark.anyio

APP = "import gradio as gr\n\ngr.Interface(lambda x: x, 'text', 'text').launch()\n"
COMMIT_TO_BUILD = 20.0  # longer than the first poll interval of every wait (PollPolicy.fast_interval)


def write_app(folder: Path, files: dict[str, str] | None = None) -> Path:
    """A Space folder with a working gradio app (plus `files`)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path, content in {"app.py": APP, "requirements.txt": "numpy>=1.26\n", **(files or {})}.items():
        (folder / path).write_text(content)
    return folder


def built_commit(hub: SimulatedHub, repo_id: str) -> str:
    """The commit id the Space's current build log says it builds ("" before any build)."""
    log = hub.space_state(repo_id).build_log
    return log[0][1] if log else ""


@pytest.fixture
async def env() -> SimulatedHubClient:
    env = SimulatedHubClient()
    env.hub.set_durations(build=40, start=10, commit_to_build=COMMIT_TO_BUILD)
    env.hub.create_space("alice/app", files={"app.py": APP + "# v1\n"})
    return env


def test_the_commit_delay_is_longer_than_the_first_poll() -> None:
    """The tests below model a Hub slower than the client's first poll: otherwise they would prove nothing."""
    assert PollPolicy().fast_interval < COMMIT_TO_BUILD


async def test_a_plain_wait_after_an_upload_returns_the_old_build(
    env: SimulatedHubClient, tmp_path: Path
) -> None:
    """A wait that knows nothing of the commit (another client's) sees RUNNING at once: the previous build,
    whose build log does not mention the new commit; the uploading client's own wait does not return it."""
    folder = write_app(tmp_path / "app", {"app.py": APP + "# v2\n"})
    info = await env.client.upload_folder(repo_id="alice/app", folder_path=folder, repo_type="space")
    async with SpacesClient(
        token=env.token, endpoint="https://hub.test", transport=env.hub.transport(), clock=env.clock
    ) as other:
        stale = await other.wait_until_running("alice/app", timeout=900)
    assert stale.stage == "RUNNING"
    assert info.oid[:7] not in built_commit(env.hub, "alice/app")  # the old build answered
    runtime = await env.client.wait_until_running("alice/app", timeout=900)
    assert runtime.stage == "RUNNING"
    assert info.oid[:7] in built_commit(env.hub, "alice/app")
    assert env.hub.space_stage("alice/app") == "RUNNING"


async def test_wait_until_running_after_upload_file_waits_for_the_new_build(env: SimulatedHubClient) -> None:
    """`upload_file` then `wait_until_running` on the same client returns only once the new commit runs."""
    info = await env.client.upload_file(
        path_or_fileobj=(APP + "# v3\n").encode(),
        path_in_repo="app.py",
        repo_id="alice/app",
        repo_type="space",
    )
    seen: list[str] = []
    await env.client.wait_until_running("alice/app", timeout=900, on_change=lambda c: seen.append(c.stage))
    assert seen == ["RUNNING_BUILDING", "RUNNING_APP_STARTING", "RUNNING"]
    assert info.oid[:7] in built_commit(env.hub, "alice/app")


async def test_deploy_returns_once_the_new_commit_runs(env: SimulatedHubClient, tmp_path: Path) -> None:
    """`deploy` uploads, waits past the stale RUNNING and returns the new commit running, with the build and
    start durations it observed and one event per phase."""
    events: list[DeployEvent] = []
    folder = write_app(tmp_path / "app", {"app.py": APP + "# v2\n"})
    result = await env.client.deploy("alice/app", folder, on_event=events.append, timeout=900)
    assert result.changed
    assert result.files_changed == 2
    assert result.commit == env.hub.git.head(("space", "alice/app"))
    assert result.commit[:7] in built_commit(env.hub, "alice/app")
    assert (result.runtime.stage, result.hardware) == ("RUNNING", "cpu-basic")
    assert result.build_seconds is not None
    assert 30 <= result.build_seconds <= 50
    assert result.start_seconds is not None
    assert 0 < result.start_seconds <= 20
    assert result.total_seconds >= COMMIT_TO_BUILD + 40 + 10
    assert [e.phase for e in events] == ["uploaded", "building", "starting", "running"]
    assert events[0].detail == {"commit": result.commit, "files": 2}


async def test_deploy_of_an_unchanged_folder_returns_at_once(env: SimulatedHubClient, tmp_path: Path) -> None:
    """Deploying the same folder again commits nothing, triggers no build and says so (changed=False)."""
    folder = write_app(tmp_path / "app")
    first = await env.client.deploy("alice/app", folder, timeout=900)
    builds = env.hub.counters.actions["build"]
    started = env.clock.now()
    events: list[DeployEvent] = []
    again = await env.client.deploy("alice/app", folder, timeout=900, on_event=events.append)
    assert (again.changed, again.files_changed, again.commit) == (False, 0, first.commit)
    assert env.clock.now() == started  # no wait at all
    assert env.hub.counters.actions["build"] == builds
    assert [e.phase for e in events] == ["unchanged"]


async def test_deploy_on_hardware_runs_the_new_code_on_it(env: SimulatedHubClient, tmp_path: Path) -> None:
    """`deploy(hardware=...)`: the new commit ends up running on the requested flavor."""
    folder = write_app(tmp_path / "app", {"app.py": APP + "# gpu\n"})
    result = await env.client.deploy("alice/app", folder, hardware="t4-small", timeout=900)
    assert (result.runtime.stage, result.hardware, result.runtime.requested_hardware) == (
        "RUNNING",
        "t4-small",
        "t4-small",
    )
    assert result.commit[:7] in built_commit(env.hub, "alice/app")


async def test_deploy_times_out_with_the_last_runtime(env: SimulatedHubClient, tmp_path: Path) -> None:
    """A deadline shorter than the build raises WaitTimeoutError carrying the last runtime seen."""
    folder = write_app(tmp_path / "app", {"app.py": APP + "# slow\n"})
    with pytest.raises(WaitTimeoutError) as caught:
        await env.client.deploy("alice/app", folder, timeout=30)
    assert caught.value.runtime is not None
    assert caught.value.runtime.stage == "RUNNING_BUILDING"


async def test_deploy_rejects_bad_arguments_before_any_request(
    env: SimulatedHubClient, tmp_path: Path
) -> None:
    """Bad arguments raise ValueError/TypeError naming the argument, and nothing reaches the Hub."""
    folder = write_app(tmp_path / "app")
    before = sum(env.hub.counters.requests.values())
    with pytest.raises(ValueError, match="repo_id"):
        await env.client.deploy("not a repo", folder)
    with pytest.raises(ValueError, match="folder_path"):
        await env.client.deploy("alice/app", tmp_path / "missing")
    with pytest.raises(TypeError, match="folder_path"):
        await env.client.deploy("alice/app", 42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout"):
        await env.client.deploy("alice/app", folder, timeout=-1)
    with pytest.raises(TypeError, match="hardware"):
        await env.client.deploy("alice/app", folder, hardware=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="on_event"):
        await env.client.deploy("alice/app", folder, on_event="print")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="folder_path"):
        await env.client.fleet(["alice/app"]).deploy(tmp_path / "missing")
    assert sum(env.hub.counters.requests.values()) == before


# ---------------------------------------------------------------------------------- failure classes
async def _failed_deploy(
    env: SimulatedHubClient, folder: Path, **deploy_options: object
) -> tuple[SpaceFailedError, str]:
    with pytest.raises(SpaceFailedError) as caught:
        await env.client.deploy("alice/app", folder, timeout=900, **deploy_options)  # type: ignore[arg-type]
    head = env.hub.git.head(("space", "alice/app"))
    assert head is not None
    assert env.hub.counters.in_flight == 0
    return caught.value, head


async def test_a_bad_requirement_is_a_build_failure(env: SimulatedHubClient, tmp_path: Path) -> None:
    """An invalid requirements.txt line: BUILD_ERROR, class build, the build log tail names the line, and the
    error carries the commit."""
    folder = write_app(tmp_path / "app", {"requirements.txt": "numpy\ntorch==>1\n"})
    error, head = await _failed_deploy(env, folder)
    assert (error.stage, error.failure_class, error.commit) == ("BUILD_ERROR", FailureClass.BUILD, head)
    assert error.error_message == "Build failed with exit code: 1"
    assert any("Invalid requirement: 'torch==>1'" in line for line in error.log_tail)


async def test_a_dockerfile_typo_is_a_build_failure(tmp_path: Path) -> None:
    """A Dockerfile with an unknown instruction: BUILD_ERROR, class build, the BuildKit error in the tail."""
    env = SimulatedHubClient()
    env.hub.set_durations(commit_to_build=COMMIT_TO_BUILD)
    env.hub.create_space("alice/app", sdk="docker")
    folder = tmp_path / "box"
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM python:3.11\nRUNN pip install flask\n")
    error, _ = await _failed_deploy(env, folder)
    assert (error.stage, error.failure_class) == ("BUILD_ERROR", FailureClass.BUILD)
    assert error.log_tail[-1].endswith("unknown instruction: RUNN")


async def test_an_app_that_crashes_at_start_is_an_app_failure(
    env: SimulatedHubClient, tmp_path: Path
) -> None:
    """An app.py that does not compile: RUNTIME_ERROR, class app, the run log tail holds the traceback."""
    folder = write_app(tmp_path / "app", {"app.py": "def broken(:\n    pass\n"})
    error, head = await _failed_deploy(env, folder)
    assert (error.stage, error.failure_class, error.commit) == ("RUNTIME_ERROR", FailureClass.APP, head)
    assert any("SyntaxError" in line for line in error.log_tail)
    assert not any("pip install" in line for line in error.log_tail)  # the run log, not the build log


async def test_an_app_file_the_folder_lacks_is_a_config_failure(
    env: SimulatedHubClient, tmp_path: Path
) -> None:
    """README front matter naming an `app_file` that is not uploaded: NO_APP_FILE, class config, with the
    commit (card validation cannot see it: the name is a valid string)."""
    readme = "---\ntitle: x\nsdk: gradio\napp_file: main.py\n---\n"
    folder = write_app(tmp_path / "app", {"README.md": readme})
    error, head = await _failed_deploy(env, folder)
    assert (error.stage, error.failure_class, error.commit) == ("NO_APP_FILE", FailureClass.CONFIG, head)


async def test_a_space_readme_with_an_unknown_sdk_is_a_config_failure(tmp_path: Path) -> None:
    """A Space whose own README (committed without card validation) names an unknown sdk: deploying new app
    code ends in CONFIG_ERROR, class config, with the Hub's message naming the sdk."""
    env = SimulatedHubClient()
    env.hub.set_durations(commit_to_build=COMMIT_TO_BUILD)
    env.hub.create_space("alice/app", files={"README.md": "---\nsdk: cobol\n---\n", "app.py": APP})
    folder = write_app(tmp_path / "app", {"app.py": APP + "# v2\n"})
    error, head = await _failed_deploy(env, folder)
    assert (error.stage, error.failure_class, error.commit) == ("CONFIG_ERROR", FailureClass.CONFIG, head)
    assert error.error_message is not None
    assert "cobol" in error.error_message


async def test_an_unknown_sdk_in_the_folder_is_refused_before_the_upload(
    env: SimulatedHubClient, tmp_path: Path
) -> None:
    """A folder README naming an unknown sdk: `deploy` raises ValueError naming `sdk` and uploads nothing, so
    the Space keeps its commit and keeps running."""
    head = env.hub.git.head(("space", "alice/app"))
    folder = write_app(tmp_path / "app", {"README.md": "---\ntitle: x\nsdk: cobol\n---\n"})
    with pytest.raises(ValueError, match=r'Invalid metadata in README.md: "sdk" must be one of \[gradio, '):
        await env.client.deploy("alice/app", folder, timeout=900)
    assert env.hub.git.head(("space", "alice/app")) == head
    assert env.hub.space_stage("alice/app") == "RUNNING"
    assert env.hub.counters.in_flight == 0


async def test_no_capacity_for_the_hardware_is_a_platform_failure(
    env: SimulatedHubClient, tmp_path: Path
) -> None:
    """The Hub cannot schedule the Space: RUNTIME_ERROR with its scheduling message, class platform."""
    env.hub.fail_next_build("alice/app", phase="schedule")
    folder = write_app(tmp_path / "app", {"app.py": APP + "# v2\n"})
    error, head = await _failed_deploy(env, folder)
    assert (error.stage, error.failure_class, error.commit) == ("RUNTIME_ERROR", FailureClass.PLATFORM, head)
    assert error.error_message == "Scheduling failure: not enough hardware capacity"
    assert "platform" in str(error.failure_class)


async def test_a_failure_from_before_the_commit_is_not_reported(
    env: SimulatedHubClient, tmp_path: Path
) -> None:
    """A Space still in BUILD_ERROR from an earlier commit: deploying a fix waits for the new build instead of
    reporting the old failure, and returns the fix running."""
    env.hub.create_space("alice/broken", stage="BUILD_ERROR")
    folder = write_app(tmp_path / "app", {"app.py": APP + "# fixed\n"})
    result = await env.client.deploy("alice/broken", folder, timeout=900)
    assert result.runtime.stage == "RUNNING"
    assert result.commit[:7] in built_commit(env.hub, "alice/broken")


# ---------------------------------------------------------------------------------------- fleets
async def test_fleet_deploy_of_50_spaces_reports_each_failure_class(tmp_path: Path) -> None:
    """One folder to 50 Spaces where 3 fail in different ways: the report names each failure's class, and
    the 47 others run the new commit."""
    env = SimulatedHubClient(max_concurrency=64)
    env.hub.set_durations(build=40, start=10, commit_to_build=COMMIT_TO_BUILD)
    ids = [f"alice/space-{i:02d}" for i in range(50)]
    for repo_id in ids:
        if repo_id == "alice/space-33":
            # This Space's own README (not in the deployed folder) is broken: its rebuild stops there.
            env.hub.create_space(repo_id, files={"README.md": "---\nsdk: cobol\n---\n", "app.py": APP})
        else:
            env.hub.create_space(repo_id, files={"app.py": APP + "# v1\n"})
    # A dependency this Space's image cannot get, and no machine for that one.
    env.hub.fail_next_build(
        "alice/space-07", ["ERROR: No matching distribution found for torch==9.9"], phase="build"
    )
    env.hub.fail_next_build("alice/space-21", phase="schedule")
    folder = write_app(tmp_path / "app", {"app.py": APP + "# v2\n"})
    async with env:
        report = await env.client.fleet(ids, concurrency=64).deploy(folder, timeout=900)
    classes = {o.repo_id: getattr(o.error, "failure_class", None) for o in report.failed}
    assert classes == {
        "alice/space-07": FailureClass.BUILD,
        "alice/space-21": FailureClass.PLATFORM,
        "alice/space-33": FailureClass.CONFIG,
    }
    errors = report.errors
    assert isinstance(errors["alice/space-07"], SpaceFailedError)
    assert errors["alice/space-07"].log_tail[-1] == "ERROR: No matching distribution found for torch==9.9"
    assert isinstance(errors["alice/space-21"], SpaceFailedError)
    assert errors["alice/space-21"].error_message == "Scheduling failure: not enough hardware capacity"
    assert isinstance(errors["alice/space-33"], SpaceFailedError)
    assert errors["alice/space-33"].error_message is not None
    assert "cobol" in errors["alice/space-33"].error_message
    assert len(report.succeeded) == 47
    for outcome in report.succeeded:
        assert outcome.result is not None
        assert outcome.result.runtime.stage == "RUNNING"
        assert outcome.result.commit == env.hub.git.head(("space", outcome.repo_id))
        assert outcome.result.commit[:7] in built_commit(env.hub, outcome.repo_id)
        assert env.hub.space_stage(outcome.repo_id) == "RUNNING"


def test_the_timeline_measures_a_start_seen_at_time_zero() -> None:
    """Build and start durations come from the stages the wait saw, even when one was seen at clock time 0."""
    events: list[DeployEvent] = []
    timeline = _Timeline("alice/app", VirtualClock(), 0.0, events.append)
    for stage, when in (("APP_STARTING", 0.0), ("RUNNING", 7.5)):
        timeline.observe(SimpleNamespace(stage=stage, when=when))  # type: ignore[arg-type]
    assert (timeline.build_seconds, timeline.start_seconds) == (None, 7.5)
    assert [e.phase for e in events] == ["starting"]


async def test_a_static_space_is_taken_as_deployed_after_the_grace(tmp_path: Path) -> None:
    """A static Space shows RUNNING before and after its rebuild: deploy returns once the commit fence's
    grace has passed, not on the first (possibly stale) RUNNING."""
    env = SimulatedHubClient()
    env.hub.create_space("alice/site", sdk="static")
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<h1>v2</h1>\n")
    async with env:
        result = await env.client.deploy("alice/site", site, timeout=600)
    assert (result.changed, result.runtime.stage) == (True, "RUNNING")
    assert result.total_seconds > 60
