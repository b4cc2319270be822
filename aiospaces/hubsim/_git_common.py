"""What the file routes need from the hub (`GitHost`) and the helpers they share (errors, URLs)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol
from urllib.parse import quote, unquote

from ._git_objects import (
    EntryNotFound,
    MissingLFSObject,
    ParentMismatch,
    RepoKey,
    RepoNotFound,
    RevisionNotFound,
)
from ._git_store import GitStore
from ._http import HubError, SimRequest

# URL prefix of each repo type in non-API routes (resolve, LFS), hub-api.md §1.1.
URL_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
PREFIX_TYPE = {"": "model", "datasets": "dataset", "spaces": "space"}
API_TYPE = {"models": "model", "datasets": "dataset", "spaces": "space"}

# A repo id in a path: `namespace/name`, or a canonical id without a namespace (`gpt2`), which the Hub
# routes like any other (huggingface_hub 2.4 `utils/_validators.py`, `validate_repo_id`: either `repo_name`
# or `namespace/repo_name`). The namespace is tried first, so `alice/demo/...` is never read as `alice`.
OPTIONAL_NS = r"(?:(?P<ns>[^/]+)/)?(?P<name>[^/]+)"
REPO_ID = r"(?P<repo_id>(?:[^/]+/)?[^/]+)"

# How the repo layer answers each error branch of huggingface_hub 2.4 `utils/_http.py` (`hf_raise_for_status`,
# evaluated in this order) and the texts `hf_api.py` matches:
# - `X-Error-Code: RevisionNotFound` (404 "Invalid rev id: X"): unknown revision, branch or tag.
# - `EntryNotFound` (404, with `X-Repo-Commit` on downloads): missing file or tree folder; a deletion of a
#   missing path says "A file with this name doesn't exist", which `create_commit` matches.
# - `GatedRepo` (401 anonymous, 403 otherwise): a gated repo's files and its `auth-check` (`_state.py`).
# - `X-Error-Message: Access to this resource is disabled.` (403): a disabled repo (`_state.py`).
# - `RepoNotFound` (404; 401 when anonymous): missing or invisible repo, canonical ids included; a bad token
#   is 401 "Invalid credentials in Authorization header", which the client keeps apart from RepoNotFound.
# - 400 (BadRequestError): malformed bodies, invalid names, refs and card metadata; 403 carries its message in
#   `X-Error-Message` (the client's "403 Forbidden: ..."); 409 for existing repos, branches and tags (the
#   `exist_ok` paths of `create_repo`, `create_branch`, `create_tag`); 412 for a moved `parent_commit`; 413
#   for oversized bodies; 416 with `Content-Range` for unsatisfiable ranges; 422 for paths leaving the repo;
#   429 with `RateLimit` headers (`_control.py`), whose `r=0` tells the client the quota is the reason.
# Bucket and job errors have no routes here.

# Hub messages (hub-api.md §3.1/§11.6). 412 text seen in the client's tests against staging.
MSG_REPO_NOT_FOUND = "Repository not found"
MSG_PARENT_MISMATCH = "The branch was updated since you opened this page. Please refresh and try again."


class GitHost(Protocol):
    """What the file routes need from the simulated Hub (implemented by `SimulatedHub`)."""

    @property
    def git(self) -> GitStore:
        """The hub's git store."""
        ...

    def now(self) -> float:
        """The hub's clock, in seconds."""
        ...

    def authorize_repo(self, req: SimRequest, repo_type: str, repo_id: str, *, write: bool) -> None:
        """Raise the Hub's `HubError` (401/403/404 RepoNotFound) unless the caller may read/write the repo."""
        ...

    def authorize_pull_request(self, req: SimRequest, repo_type: str, repo_id: str) -> None:
        """Raise the Hub's `HubError` unless the caller may open a pull request (read access suffices)."""
        ...

    def authorize_download(self, req: SimRequest, repo_type: str, repo_id: str) -> None:
        """Raise the Hub's `HubError` (GatedRepo) when the caller may see the repo but not its files."""
        ...

    def username_of(self, req: SimRequest) -> str | None:
        """The caller's user name (a commit's author), None when anonymous."""
        ...

    def after_commit(self, repo_type: str, repo_id: str, commit_sha: str) -> None:
        """Called after each successful commit on a repo's `main` branch (a Space rebuilds)."""
        ...


def repo_key(repo_type: str, ns: str | None, name: str) -> RepoKey:
    """The store key of a repo id matched by `OPTIONAL_NS`."""
    return (repo_type, f"{ns}/{name}" if ns else name)


def repo_not_found() -> HubError:
    """404 `RepoNotFound` (hub-api.md §14 item 2: always send the code, the 401 fallback needs https)."""
    return HubError(404, MSG_REPO_NOT_FOUND, error_code="RepoNotFound")


def revision_not_found(revision: str) -> HubError:
    """404 `RevisionNotFound` with the Hub's text."""
    return HubError(404, f"Invalid rev id: {revision}", error_code="RevisionNotFound")


def entry_not_found(message: str = "Entry not found", commit: str | None = None) -> HubError:
    """404 `EntryNotFound`; `X-Repo-Commit` lets the client cache the non-existence (hub-api.md §12.2)."""
    headers = [("X-Repo-Commit", commit)] if commit else []
    return HubError(404, message, error_code="EntryNotFound", headers=headers)


@contextmanager
def store_errors(revision: str | None = None) -> Iterator[None]:
    """Turn the store's exceptions into the Hub's HTTP errors."""
    try:
        yield
    except RepoNotFound:
        raise repo_not_found() from None
    except RevisionNotFound as exc:
        raise revision_not_found(str(exc.args[0]) if exc.args else revision or "") from None
    except ParentMismatch:
        raise HubError(412, MSG_PARENT_MISMATCH) from None
    except EntryNotFound as exc:
        raise entry_not_found(f"A file with this name doesn't exist: {exc.args[0]}") from None
    except MissingLFSObject as exc:
        # [inferred] the Hub's git server rejects pointers to objects it does not hold with this text.
        raise HubError(
            400,
            "Your push was rejected because an LFS pointer pointed to a file that does not exist. "
            f"Offending object: {exc.oid}",
        ) from None


def check_repo(
    host: GitHost, req: SimRequest, key: RepoKey, *, write: bool, pull_request: bool = False
) -> None:
    """Authorize the caller, then make sure the store holds the repo.

    With `pull_request`, the caller writes to a new `refs/pr/N` only: reading the repo is enough.
    """
    if pull_request:
        host.authorize_pull_request(req, key[0], key[1])
    else:
        host.authorize_repo(req, key[0], key[1], write=write)
    if not host.git.has_repo(key):
        raise repo_not_found()


def repo_url(req: SimRequest, key: RepoKey) -> str:
    """The repo's web URL on this server (`{base}/spaces/ns/name`)."""
    return f"{req.base_url}/{URL_PREFIX[key[0]]}{key[1]}"


_REF_KINDS = ("pr", "heads", "tags")


def raw_tail(req: SimRequest, skip: int) -> tuple[str, str] | None:
    """(revision, rest) from the raw path after its first `skip` segments, both percent-decoded.

    The revision is one raw segment (the client quotes it with no safe characters, so `refs%2Fpr%2F1` stays
    one segment, hub-api.md §1.2); the rest is everything after it (a file or folder path).
    """
    segments = req.raw_path.split("?", 1)[0].split("/")[1:]
    if len(segments) <= skip or not segments[skip]:
        return None
    width = 1
    # An unquoted `refs/pr/1` (or `refs/heads/x`, `refs/tags/x`) spans three segments; take it whole.
    if segments[skip] == "refs" and len(segments) > skip + 2 and segments[skip + 1] in _REF_KINDS:
        width = 3
    revision = unquote("/".join(segments[skip : skip + width]))
    return revision, unquote("/".join(segments[skip + width :]))


def quote_path(path: str) -> str:
    """Percent-encode a repo path for a URL, keeping `/`."""
    return quote(path, safe="/")
