"""What the simulated Hub knows about accounts and repos, and the Hub's naming rules for them."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Literal

import attrs

from ._git_objects import DEFAULT_GITATTRIBUTES
from ._space import SpaceState

Role = Literal["read", "write"]


@attrs.define
class User:
    """A simulated user (or organization, `is_org=True`)."""

    name: str
    orgs: tuple[str, ...] = ()
    is_org: bool = False
    is_pro: bool = True
    object_id: str = attrs.field(factory=lambda: secrets.token_hex(12))
    fullname: str | None = None  # the display name `whoami` shows (the name itself when unset)
    private_repos_by_default: bool = False  # an org's setting: new repos are private unless told otherwise


@attrs.define
class TokenInfo:
    """One access token: its owner, role and display name (never the token itself in reprs)."""

    user: User
    role: Role
    display_name: str


@attrs.define
class RepoRecord:
    """A repo's metadata (its files are in the `GitStore`)."""

    repo_type: str
    repo_id: str
    object_id: str
    created_at: float
    visibility: str = "public"
    gated: bool | str = False
    disabled: bool = False
    likes: int = 0
    space: SpaceState | None = None

    @property
    def key(self) -> tuple[str, str]:
        """The `GitStore` key."""
        return (self.repo_type, self.repo_id)

    @property
    def namespace(self) -> str:
        """Owner part of the id."""
        return self.repo_id.split("/", 1)[0]

    @property
    def private(self) -> bool:
        """`private` as the API reports it (protected Spaces are public in listings)."""
        return self.visibility == "private"

    @property
    def tags(self) -> list[str]:
        """The tags the Hub derives for the repo: a Space's SDK, then its region."""
        return [self.space.sdk, "region:us"] if self.space is not None else ["region:us"]


# huggingface_hub 2.4 `utils/_validators.py` (`REPO_ID_REGEX`, `validate_repo_id`, after the Hub's own
# rule): ASCII letters, digits, `-`, `_` and `.`; only `-` and `.` may not start or end a name (`_` is a
# word character, e.g. the client's test user `__DUMMY_TRANSFORMERS_USER__`).
_NAME_RE = re.compile(r"^(?!.*(?:--|\.\.))[A-Za-z0-9_](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?$")


def valid_repo_name(name: str) -> bool:
    """The Hub's rule for a repo name or namespace (letters, digits, `-_.`, ≤ 96 chars, no `--`/`..`)."""
    return bool(_NAME_RE.match(name)) and not name.endswith(".git")


def valid_repo_id(repo_id: str) -> bool:
    """Whether `repo_id` is `namespace/name` with both parts valid."""
    parts = repo_id.split("/")
    return len(parts) == 2 and all(valid_repo_name(part) for part in parts)


def check_repo_id(repo_id: object, *, argument: str = "repo_id") -> str:
    """Validate a `namespace/name` repo id for the seeding helpers (ValueError/TypeError naming it)."""
    if not isinstance(repo_id, str):
        raise TypeError(f"{argument} must be a str, got {type(repo_id).__name__}")
    if not valid_repo_id(repo_id):
        raise ValueError(f"{argument} must look like 'namespace/name', got {repo_id!r}")
    return repo_id


def subdomain_of(repo_id: str) -> str:
    """`alice/My_space.v2` → `alice-my-space-v2`: the Space's subdomain.

    Recording test_space_runtime: `user/tmp_test_space` → `user-tmp-test-space`.
    """
    return re.sub(r"[^a-z0-9]+", "-", repo_id.lower()).strip("-")


def default_space_files(repo_id: str, sdk: str) -> dict[str, bytes]:
    """The files the Hub writes into a new Space (`.gitattributes` and a README with front matter)."""
    name = repo_id.split("/", 1)[1]
    lines = ["---", f"title: {name}", "emoji: 🚀", "colorFrom: blue", "colorTo: purple", f"sdk: {sdk}"]
    if sdk == "gradio":
        lines += ["sdk_version: 5.49.1", "app_file: app.py"]
    elif sdk == "streamlit":
        lines += ["sdk_version: 1.50.0", "app_file: app.py"]
    elif sdk == "docker":
        lines += ["app_port: 7860"]
    lines += [
        "pinned: false",
        "---",
        "",
        "Check out the configuration reference at https://huggingface.co/docs/hub/spaces-config-reference",
        "",
    ]
    return {".gitattributes": DEFAULT_GITATTRIBUTES.encode(), "README.md": "\n".join(lines).encode()}


def sample_app_files(sdk: str) -> dict[str, bytes]:
    """A minimal working app for each SDK (what the seeding helper adds when no files are given)."""
    if sdk == "gradio":
        code = (
            "import gradio as gr\n\n\ndef greet(name):\n    return 'Hello ' + name + '!'\n\n\n"
            "gr.Interface(fn=greet, inputs='text', outputs='text').launch()\n"
        )
        return {"app.py": code.encode()}
    if sdk == "streamlit":
        return {"app.py": b"import streamlit as st\n\nst.write('Hello world')\n"}
    if sdk == "docker":
        return {"Dockerfile": b'FROM python:3.11\nCMD ["python", "-m", "http.server", "7860"]\n'}
    return {"index.html": b"<!doctype html><html><body><h1>Hello</h1></body></html>\n"}


def as_bytes(files: Mapping[str, bytes | str] | None) -> dict[str, bytes]:
    """Seeding files as bytes (str content is UTF-8 encoded); TypeError naming the bad entry."""
    out: dict[str, bytes] = {}
    for path, content in (files or {}).items():
        if not isinstance(path, str):
            raise TypeError("files keys must be str paths")
        if isinstance(content, str):
            out[path] = content.encode()
        elif isinstance(content, bytes | bytearray):
            out[path] = bytes(content)
        else:
            raise TypeError(f"files[{path!r}] must be bytes or str")
    return out
