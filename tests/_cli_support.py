"""What the in-process CLI tests share: running `aiospaces` against a simulated Hub in virtual time, checking
that nothing secret or crashed reached the output, and reading the JSON events it printed."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import attrs

from aiospaces import SpacesClient
from aiospaces.cli import run
from aiospaces.hubsim import SimulatedHub
from aiospaces.testing import VirtualClock

APP_PY = "import gradio as gr\n\ngr.Interface(fn=lambda s: s, inputs='text', outputs='text').launch()\n"


@attrs.frozen
class Result:
    """What one command returned and printed."""

    code: int
    out: str
    err: str

    def events(self) -> list[dict[str, Any]]:
        """The `--json` events, one per line of standard output."""
        return [json.loads(line) for line in self.out.splitlines()]

    def results(self) -> dict[str, dict[str, Any]]:
        """The `result` events, by Space."""
        return {event["repo_id"]: event for event in self.events() if event["event"] == "result"}


async def run_cli(
    hub: SimulatedHub,
    clock: VirtualClock,
    token: str,
    *argv: str,
    stdin: io.StringIO | None = None,
    stdout: io.StringIO | None = None,
    secrets: Sequence[str] = (),
    log_tail_marker: str | None = None,
) -> Result:
    """Run `aiospaces --token TOKEN ARGV...` in-process on the hub's transport and the virtual clock.

    Checks what every command promises: neither the token nor any of `secrets` is printed, and no Python
    traceback reaches standard error (outside a Hub log tail, which starts at `log_tail_marker` and may quote
    an app's own traceback). A `stdout` given is used as is, with the CLI choosing its own rendering;
    otherwise output is plain text.
    """
    out, err = stdout if stdout is not None else io.StringIO(), io.StringIO()
    code = await run(
        ["--token", token, *argv],
        stdout=out,
        stderr=err,
        stdin=stdin if stdin is not None else io.StringIO(""),
        transport=hub.transport(),
        clock=clock,
        fancy=None if stdout is not None else False,
    )
    printed = out.getvalue() + err.getvalue()
    for secret in (token, *secrets):
        assert secret not in printed
    own = err.getvalue() if log_tail_marker is None else err.getvalue().split(log_tail_marker, 1)[0]
    assert "Traceback (most recent call last)" not in own
    return Result(code, out.getvalue(), err.getvalue())


async def make_spaces(
    hub: SimulatedHub,
    clock: VirtualClock,
    token: str,
    names: Sequence[str],
    *,
    requirements: str = "gradio\n",
) -> list[str]:
    """Create Spaces of alice with an app and requirements through the client (their builds start)."""
    repo_ids = [f"alice/{name}" for name in names]
    async with SpacesClient(token=token, transport=hub.transport(), clock=clock) as client:
        for repo_id in repo_ids:
            await client.create_repo(repo_id, repo_type="space", space_sdk="gradio")
            await client.upload_file(
                path_or_fileobj=requirements.encode(),
                path_in_repo="requirements.txt",
                repo_id=repo_id,
                repo_type="space",
            )
            await client.upload_file(
                path_or_fileobj=APP_PY.encode(), path_in_repo="app.py", repo_id=repo_id, repo_type="space"
            )
    return repo_ids
