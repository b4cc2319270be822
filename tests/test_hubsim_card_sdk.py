"""A Space card's `sdk` as the simulated Hub's card validation (`POST /api/validate-yaml`) judges it.

An unknown `sdk` in a Space README is refused before the upload, worded as the Hub words a value outside its
list; each SDK a Space can be created with passes; models and datasets may carry an `sdk` key, as they may
carry any other Space key. The official client (2.4) runs in a subprocess against `hub.serve()` on 127.0.0.1
(it reads its configuration from the environment at import time); aiospaces runs in process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from aiospaces.hubsim import SimulatedHub, plan_build
from aiospaces.testing import SimulatedHubClient

SDKS = ["gradio", "streamlit", "docker", "static"]
SDK_ERROR = '"sdk" must be one of [gradio, streamlit, docker, static]'


def run_client(url: str, home: Path, script: str) -> dict[str, Any]:
    """Run `script` with the official client pointed at `url` as alice; its last output line is JSON."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))},
        "HF_ENDPOINT": url,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HOME": str(home),
        "HF_TOKEN": "hf_alice",
    }
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


OFFICIAL_CLIENT_SCRIPT = """
    import json, warnings
    from huggingface_hub import HfApi, RepoCard

    api, out = HfApi(), {}

    def upload(name, content, repo_id, repo_type):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                api.upload_file(
                    path_or_fileobj=content.encode(), path_in_repo="README.md", repo_id=repo_id,
                    repo_type=repo_type,
                )
                out[name] = [None]
            except ValueError as exc:
                out[name] = [str(exc)]
        out[name].append([str(w.message) for w in caught if "metadata" in str(w.message)])

    upload("unknown", "---\\ntitle: x\\nsdk: cobol\\n---\\n", "alice/demo", "space")
    upload("capitalised", "---\\nsdk: Gradio\\n---\\n", "alice/demo", "space")
    for sdk in ["gradio", "streamlit", "docker", "static"]:
        upload(sdk, f"---\\ntitle: x\\nsdk: {sdk}\\n---\\n", "alice/demo", "space")
    upload("quoted", "---\\nsdk: 'docker'\\n---\\n", "alice/demo", "space")
    upload("model", "---\\nsdk: cobol\\n---\\n", "alice/model", "model")
    upload("dataset", "---\\nsdk: cobol\\n---\\n", "alice/data", "dataset")
    out["space_readme"] = open(api.hf_hub_download("alice/demo", "README.md", repo_type="space")).read()
    card = RepoCard("---\\nsdk: cobol\\n---\\n")
    try:
        card.validate(repo_type="space")
        out["card_space"] = None
    except ValueError as exc:
        out["card_space"] = str(exc)
    card.validate(repo_type="model")
    print(json.dumps(out))
"""


def test_the_official_client_is_refused_an_unknown_sdk_only_on_a_space(tmp_path: Path) -> None:
    """The official client raises "Invalid metadata in README.md" naming `sdk` for an unknown sdk in a Space
    README and lands nothing; each known sdk lands; a model's or dataset's `sdk` key is not refused."""
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice")
    hub.create_space("alice/demo", sdk="gradio")
    hub.create_repo("alice/model")
    hub.create_repo("alice/data", repo_type="dataset")
    with hub.serve() as url:
        out = run_client(url, tmp_path / "home", OFFICIAL_CLIENT_SCRIPT)
    # huggingface_hub 2.4 `hf_api.py` (`_validate_yaml`): a 400's `errors[].message` lines become the
    # ValueError, each after "- ", before anything is uploaded.
    error, warned = out["unknown"]
    assert error == f"Invalid metadata in README.md.\n- {SDK_ERROR}"
    assert warned == []
    assert out["capitalised"][0] == f"Invalid metadata in README.md.\n- {SDK_ERROR}"
    for sdk in SDKS:
        assert out[sdk] == [None, []], sdk
    assert out["quoted"] == [None, []]
    assert out["model"] == [None, []]
    assert out["dataset"] == [None, []]
    # The refused uploads left nothing: the Space's README is the last accepted one.
    assert out["space_readme"] == "---\nsdk: 'docker'\n---\n"
    assert hub.git.read_file(("model", "alice/model"), "README.md") == b"---\nsdk: cobol\n---\n"
    # `RepoCard.validate` raises the 400's text as it is: the JSON answer.
    assert json.loads(out["card_space"])["errors"] == [{"message": SDK_ERROR}]


# ---------------------------------------------------------------------------------- the route itself
@pytest.fixture
def hub() -> SimulatedHub:
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice")
    return hub


@pytest.fixture
async def client(hub: SimulatedHub) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=hub.transport(), base_url="http://hub.test") as c:
        yield c


async def validate(client: httpx2.AsyncClient, content: str, repo_type: str = "space") -> httpx2.Response:
    """The Hub's answer to card validation of `content` for a repo of `repo_type`."""
    return await client.post("/api/validate-yaml", json={"content": content, "repoType": repo_type})


@pytest.mark.anyio
@pytest.mark.parametrize("value", ["cobol", "", "[gradio]", "gradio-4", "GRADIO", "cobol  # not gradio"])
async def test_a_space_card_sdk_outside_the_list_is_a_400_naming_it(
    client: httpx2.AsyncClient, value: str
) -> None:
    """Any `sdk` value that is not one of the four SDKs, empty or a list included, gets a 400 whose one error
    names `sdk` and the SDKs, in JSON (the client parses the body whatever the status)."""
    r = await validate(client, f"---\ntitle: x\nsdk: {value}\n---\n")
    assert r.status_code == 400
    assert r.json()["errors"] == [{"message": SDK_ERROR}]
    assert r.json()["warnings"] == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    "line",
    [
        "sdk: gradio",
        "sdk: streamlit",
        "sdk: docker",
        "sdk: static",
        'sdk: "gradio"',
        "sdk: docker  # see Dockerfile",
    ],
)
async def test_each_known_space_sdk_is_valid(client: httpx2.AsyncClient, line: str) -> None:
    """Each SDK a Space can be created with, bare, quoted or followed by a YAML comment, passes with no error
    and no warning."""
    r = await validate(client, f"---\ntitle: x\n{line}\napp_file: app.py\n---\n")
    assert (r.status_code, r.json()) == (200, {"errors": [], "warnings": []})


@pytest.mark.anyio
@pytest.mark.parametrize("repo_type", ["model", "dataset"])
async def test_an_sdk_key_on_a_model_or_dataset_card_is_ignored(
    client: httpx2.AsyncClient, repo_type: str
) -> None:
    """A model or dataset card's `sdk` is not a Space key there: passed like the other Space keys."""
    r = await validate(client, "---\nsdk: cobol\ncolorFrom: mauve\n---\n", repo_type)
    assert (r.status_code, r.json()) == (200, {"errors": [], "warnings": []})


@pytest.mark.anyio
async def test_an_unknown_sdk_is_listed_with_the_cards_other_errors(client: httpx2.AsyncClient) -> None:
    """A Space card with several refused keys lists each, the sdk's among them."""
    r = await validate(client, "---\nsdk: cobol\ncolorFrom: mauve\napp_port: http\n---\n")
    assert r.status_code == 400
    messages = [e["message"] for e in r.json()["errors"]]
    assert SDK_ERROR in messages
    assert '"app_port" must be a number' in messages
    assert any(m.startswith('"colorFrom" must be one of') for m in messages)


@pytest.mark.parametrize(
    ("readme", "outcome", "sdk"),
    [
        (b"---\nsdk: static  # a plain site\n---\n", "RUNNING", "static"),
        (b"---\nsdk: 'docker' # quoted\n---\n", "NO_APP_FILE", "docker"),
        (b"---\nsdk: cobol # gradio\n---\n", "CONFIG_ERROR", "cobol"),
    ],
)
def test_the_build_reads_the_sdk_the_validation_judged(readme: bytes, outcome: str, sdk: str) -> None:
    """A README's `sdk` means the same to the build as to card validation: a trailing YAML comment is no part
    of it, so a card that passes builds with its SDK and an unknown one is a configuration error."""
    plan = plan_build({"README.md": readme, "app.py": b"print(1)\n"}, "gradio")
    assert (plan.outcome, plan.sdk) == (outcome, sdk)


# ---------------------------------------------------------------------------------- aiospaces' own path
@pytest.mark.anyio
async def test_aiospaces_refuses_an_unknown_sdk_before_uploading_and_builds_known_ones() -> None:
    """aiospaces validates a README like the official client: an unknown sdk is a ValueError naming `sdk`
    (each refused key said once) with nothing landed, a model may carry `sdk`, and a known sdk's Space builds
    and runs."""
    async with SimulatedHubClient() as env:
        client = env.client
        await client.create_repo("alice/app", repo_type="space", space_sdk="gradio")
        await client.create_repo("alice/model")
        head = env.hub.git.head(("space", "alice/app"))
        with pytest.raises(ValueError, match=r"^Invalid metadata in README.md: ") as caught:
            await client.upload_file(
                path_or_fileobj=b"---\nsdk: cobol\ncolorTo: mauve\n---\n",
                path_in_repo="README.md",
                repo_id="alice/app",
                repo_type="space",
            )
        assert str(caught.value).splitlines() == [
            f"Invalid metadata in README.md: {SDK_ERROR}",
            '"colorTo" must be one of [red, yellow, green, blue, indigo, purple, pink, gray]',
        ]
        assert env.hub.git.head(("space", "alice/app")) == head
        await client.upload_file(
            path_or_fileobj=b"---\nsdk: cobol\n---\n", path_in_repo="README.md", repo_id="alice/model"
        )
        await client.upload_file(
            path_or_fileobj=b"---\nsdk: static\n---\n",
            path_in_repo="README.md",
            repo_id="alice/app",
            repo_type="space",
        )
        runtime = await client.wait_until_running("alice/app", timeout=900)
        assert runtime.stage == "RUNNING"
        assert env.hub.space_state("alice/app").sdk == "static"
