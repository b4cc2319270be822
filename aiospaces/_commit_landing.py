"""Whether a commit whose answer never arrived is in the repo: the pure part (no I/O).

A commit request is not idempotent: sent twice, it makes two commits. When its answer is lost (a dropped
connection, a timeout, a proxy's 5xx) it may or may not have been applied, so before sending it again the
client reads the branch and looks for it. It is there when a commit newer than the head read before sending
(the preupload answer's `commitOid`, the caller's `parent_commit`, or `GET …/revision/{rev}`) has its title
and a tree holding its operations: every added file with the content sent (the git blob sha-1 of a regular
file or the sha-256 of an LFS file, as `paths-info` reports them) and every deleted path absent. With
`parent_commit` only the commit right after it can be it, as the Hub refuses (412) any other. Others may
commit to the branch meanwhile, before or after it: the history is walked from the head down to that base, and
each commit with the same title is checked at its own sha, never at the head, whose tree may already hold
someone else's change.

What the lookup cannot see: an attempt the Hub is still applying when the branch is read (a gateway timeout
in front of a slow commit). So a resend names a parent: the caller's `parent_commit`, or else the head the
lookup read; if the earlier attempt lands first, the resend is refused (412) and the next lookup finds it.
Only when the caller gave no `parent_commit` (the first attempt then carries no condition) and the resend is
applied before that slow first attempt can the commit land twice.

Wire shapes (hub-api.md §11.3, §11.7; huggingface_hub 2.4 `list_repo_commits`, `get_paths_info`,
`list_repo_refs`): the commit listing is `[{"id", "title", "message", "authors", "date"}]`, newest first
(first-parent order), `Link`-paginated; paths-info is a list of `{"type", "path", "oid", "lfs"?: {"oid"}}`
leaving out unknown paths; refs with `include_prs=1` add `"pullRequests": [{"name", "ref", "targetCommit"}]`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from . import errors
from ._commit_models import COMMIT_HASH_RE, CommitOperation, CommitOperationAdd, CommitOperationDelete

# At most this many paths per `paths-info` request (huggingface_hub `_commit_api.FETCH_LFS_BATCH_SIZE`; the
# Hub accepts up to 1,000).
PATHS_INFO_BATCH = 500
# Pages of the commit listing read while looking for the base; a commit buried deeper than that under other
# people's commits is not looked for (the resend then decides, as it would without the lookup).
MAX_HISTORY_PAGES = 20


@attrs.frozen
class CommitEntry:
    """One commit of the Hub's commit listing."""

    id: str
    title: str


@attrs.frozen
class Expected:
    """What a repo holds after a commit: its additions' ids and the paths it removed.

    Attributes:
        present: path → the ids the Hub may report for it (git blob sha-1, or sha-256 for an LFS file).
        absent: paths (files or folders) that must not exist.
    """

    present: Mapping[str, frozenset[str]]
    absent: frozenset[str]

    @property
    def paths(self) -> list[str]:
        """Every path to ask `paths-info` about, sorted."""
        return sorted({*self.present, *self.absent})


def expected_state(operations: Sequence[CommitOperation]) -> Expected:
    """The state `operations` leave their paths in, applied in order as the Hub applies NDJSON lines.

    Additions the Hub said it ignores (`shouldIgnore`) are not in the commit. A deleted folder is expected
    absent only if no later addition of the same commit lands inside it.
    """
    present: dict[str, frozenset[str]] = {}
    absent: set[str] = set()
    for op in operations:
        if isinstance(op, CommitOperationDelete):
            path = op.path_in_repo.rstrip("/")
            absent.add(path)
            prefix = path + "/"
            for added in [p for p in present if p == path or p.startswith(prefix)]:
                del present[added]
        elif isinstance(op, CommitOperationAdd) and not op._should_ignore:
            info = op.upload_info
            present[op.path_in_repo] = frozenset({info.sha1, info.sha256})
            absent.discard(op.path_in_repo)
    # A folder that received a file again exists: only its other files are gone (not checked).
    absent = {a for a in absent if not any(p.startswith(a + "/") for p in present)}
    return Expected(present=present, absent=frozenset(absent))


def tree_holds(entries: Iterable[Mapping[str, Any]], expected: Expected) -> bool:
    """Whether the `paths-info` entries of a commit show every expected file and none of the absent paths."""
    seen: dict[str, set[str]] = {}
    for entry in entries:
        path = entry.get("path")
        if not isinstance(path, str):
            continue
        ids: set[str] = set()
        if entry.get("type") == "file":
            oid = entry.get("oid")
            if isinstance(oid, str):
                ids.add(oid)
            lfs = entry.get("lfs")
            if isinstance(lfs, Mapping) and isinstance(lfs.get("oid"), str):
                ids.add(lfs["oid"])
        seen[path.strip("/")] = ids
    if any(path in seen for path in expected.absent):
        return False
    return all(path in seen and seen[path] & ids for path, ids in expected.present.items())


def parse_commits_page(payload: object, repo_id: str) -> list[CommitEntry]:
    """The entries of one page of `GET /api/{type}s/{id}/commits/{rev}` of `repo_id`."""
    if not isinstance(payload, list):
        raise errors.UnexpectedResponseError(
            f"malformed commit listing of {repo_id} from the Hub: not a list"
        )
    entries: list[CommitEntry] = []
    for item in payload:
        if not (isinstance(item, dict) and isinstance(item.get("id"), str)):
            raise errors.UnexpectedResponseError(
                f"malformed commit listing of {repo_id} from the Hub: {item!r:.200}"
            )
        title = item.get("title")
        entries.append(CommitEntry(id=item["id"], title=title if isinstance(title, str) else ""))
    return entries


def base_index(history: Sequence[CommitEntry], base: str) -> int | None:
    """Where the base commit (a full sha or a prefix of one) is in a newest-first history, if it is."""
    base = base.lower()
    for index, entry in enumerate(history):
        if entry.id.lower().startswith(base):
            return index
    return None


def title_matches(title: str, summary: str) -> bool:
    """Whether a listed commit title is this commit's summary (the Hub may keep only its first line)."""
    title, summary = title.strip(), summary.strip()
    return title == summary or title == summary.splitlines()[0].strip()


def landing_candidates(
    history: Sequence[CommitEntry], base: str, summary: str, *, exact_parent: bool
) -> list[str] | None:
    """Shas of the commits after `base` that may be this one, oldest first; None if `base` is not listed.

    Args:
        history: the branch's commits, newest first, down to the base at least.
        base: the head read before sending (or the caller's `parent_commit`).
        summary: the commit's title.
        exact_parent: the commit was sent with `parent_commit` = `base`, so only the commit right after the
            base can be it.
    """
    index = base_index(history, base)
    if index is None:
        return None
    after = history[:index]
    if exact_parent:
        after = after[-1:]
    return [entry.id for entry in reversed(after) if title_matches(entry.title, summary)]


def preupload_head(payload: object) -> str | None:
    """The branch head the preupload answer names (`commitOid`), if it names a well-formed one."""
    head = payload.get("commitOid") if isinstance(payload, dict) else None
    return head if isinstance(head, str) and COMMIT_HASH_RE.fullmatch(head) else None


def pull_request_refs(payload: object) -> dict[int, str]:
    """Pull request number → head commit, from `GET /api/{type}s/{id}/refs?include_prs=1`."""
    items = payload.get("pullRequests") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise errors.UnexpectedResponseError("malformed refs answer from the Hub: no 'pullRequests' list")
    refs: dict[int, str] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        name, target = item.get("name"), item.get("targetCommit")
        if isinstance(name, str) and name.isdigit() and isinstance(target, str):
            refs[int(name)] = target
    return refs
