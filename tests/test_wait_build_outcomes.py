"""Failures produced through the public API alone (the Space's files) surface from `wait_until_running` as
`SpaceFailedError` with the stage, the Hub's message and the relevant log tail."""

from __future__ import annotations

import pytest

from aiospaces.errors import SpaceFailedError
from aiospaces.testing import SimulatedHubClient

pytestmark = pytest.mark.anyio

GOOD_APP = b"import gradio as gr\n\ngr.Interface(lambda x: x, 'text', 'text').launch()\n"


async def _failure_after_upload(files: dict[str, bytes]) -> SpaceFailedError:
    async with SimulatedHubClient() as env:
        client = env.client
        await client.create_repo("alice/app", repo_type="space", space_sdk="gradio")
        for path, content in files.items():
            await client.upload_file(
                path_or_fileobj=content, path_in_repo=path, repo_id="alice/app", repo_type="space"
            )
        with pytest.raises(SpaceFailedError) as caught:
            await client.wait_until_running("alice/app", timeout=900)
        assert env.hub.counters.in_flight == 0
        return caught.value


async def test_bad_requirement_is_a_build_error_naming_the_line() -> None:
    """An invalid requirements.txt line ends in BUILD_ERROR whose build-log tail names the line."""
    error = await _failure_after_upload({"requirements.txt": b"numpy\ntorch==>1\n", "app.py": GOOD_APP})
    assert error.stage == "BUILD_ERROR"
    assert any("torch==>1" in line for line in error.log_tail)
    assert "torch==>1" in str(error)


async def test_app_that_does_not_compile_is_a_runtime_error_with_traceback() -> None:
    """An app.py that does not compile ends in RUNTIME_ERROR whose run-log tail has the traceback."""
    error = await _failure_after_upload({"app.py": b"def broken(:\n    pass\n"})
    assert error.stage == "RUNTIME_ERROR"
    assert any("SyntaxError" in line for line in error.log_tail)


async def test_unknown_sdk_is_refused_before_the_upload() -> None:
    """README front matter with an unknown sdk is refused by the Hub's card validation: ValueError naming
    `sdk`, and nothing is committed."""
    async with SimulatedHubClient() as env:
        await env.client.create_repo("alice/app", repo_type="space", space_sdk="gradio")
        head = env.hub.git.head(("space", "alice/app"))
        with pytest.raises(ValueError, match=r'"sdk" must be one of \[gradio, streamlit, docker, static\]'):
            await env.client.upload_file(
                path_or_fileobj=b"---\ntitle: x\nsdk: cobol\n---\n",
                path_in_repo="README.md",
                repo_id="alice/app",
                repo_type="space",
            )
        assert env.hub.git.head(("space", "alice/app")) == head
        assert b"cobol" not in env.hub.git.read_file(("space", "alice/app"), "README.md")


async def test_an_app_file_not_in_the_space_is_no_app_file() -> None:
    """README front matter naming an `app_file` the Space lacks passes card validation, then the build ends in
    NO_APP_FILE."""
    readme = b"---\ntitle: x\nsdk: gradio\napp_file: main.py\n---\n"
    error = await _failure_after_upload({"app.py": GOOD_APP, "README.md": readme})
    assert error.stage == "NO_APP_FILE"


async def test_no_app_file() -> None:
    """A Space without its app file is NO_APP_FILE, raised at once."""
    error = await _failure_after_upload({"notes.txt": b"hello\n"})
    assert error.stage == "NO_APP_FILE"
